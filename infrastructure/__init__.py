"""Adapters: settings, persistence on SQLite and PostgreSQL, read-model tables,
outbound HTTP (pull, geocoding) and secret encryption."""
