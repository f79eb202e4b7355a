"""Thin handlers: parse, call the application off the loop, serialise."""
