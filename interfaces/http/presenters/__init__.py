"""Presenters: the one place response bodies are built.

Each module turns the typed results of one resource (rows of the read
models, results of the use cases) into the JSON body the API documents in
``interfaces/http/response_schemas.py``; handlers call a presenter and never
build a body themselves. Field names on the wire come from
``domain.order.FIELDS`` for orders.
"""
