"""Read-model tables (SQLite and PostgreSQL), each tracked by its projection."""
