"""Geocoding adapters; the offline UK postcode geocoder needs no network at run time."""
