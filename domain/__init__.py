"""The order-intake domain: aggregates, their events, value objects and errors.

Imports only the standard library and ``eventsourcing.domain``.
"""
