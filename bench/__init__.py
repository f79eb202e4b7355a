"""Benchmarks of the service (run from the repository root; see the README)."""
