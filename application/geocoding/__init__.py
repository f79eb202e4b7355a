"""Geocoding in the background: which addresses need coordinates, and getting them.

``requests.py`` queues every address a customer or an order brings;
``processor.py`` drains the queue through the configured geocoder;
``policy.py`` says how patiently a failing service is asked again.
"""

from application.geocoding.policy import GeocodingStats, RetryPolicy, outcome_label
from application.geocoding.processor import GeocodingProcessor
from application.geocoding.requests import GeocodingRequests
from application.ports.geocoding import GeocodingMonitor, GeocodingSnapshot, QueuedAddress

__all__ = [
    "GeocodingMonitor",
    "GeocodingProcessor",
    "GeocodingRequests",
    "GeocodingSnapshot",
    "GeocodingStats",
    "QueuedAddress",
    "RetryPolicy",
    "outcome_label",
]
