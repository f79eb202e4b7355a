"""The Location aggregate: an address is geocoded once per tenant."""

from __future__ import annotations

from uuid import UUID, uuid5

import pytest
from eventsourcing.application import Application

from domain.errors import InvalidValueError, LocationAlreadyResolvedError
from domain.ids import NAMESPACE, location_id
from domain.location import Location

TENANT = UUID("0b6a3f2e-1c1d-4f7e-9b0a-6d1f0a2b3c4d")
OTHER_TENANT = UUID("7d8e9f00-1111-4222-8333-944455566677")
ADDRESS = "10 High Street, London SW1A 1AA"


def test_the_location_id_is_uuid5_of_tenant_and_normalised_address() -> None:
    assert location_id(TENANT, "10 high street london sw1a 1aa") == uuid5(
        NAMESPACE, f"location:{TENANT}:10 high street london sw1a 1aa"
    )


def test_differently_formatted_addresses_name_one_location_per_tenant() -> None:
    same = Location.id_for(TENANT, "10 high street,  LONDON sw1a 1aa.")
    assert Location.of_address(TENANT, ADDRESS).id == same
    assert Location.id_for(OTHER_TENANT, ADDRESS) != same


def test_a_new_location_is_pending_and_needs_geocoding() -> None:
    location = Location.of_address(TENANT, ADDRESS)
    assert location.status == "pending" and location.needs_geocoding
    assert location.address == ADDRESS
    assert location.normalised_address == "10 high street london sw1a 1aa"


def test_an_empty_address_has_no_location() -> None:
    with pytest.raises(InvalidValueError):
        Location.of_address(TENANT, " ,. ")


def test_a_geocoded_location_is_ok_and_is_not_geocoded_again() -> None:
    location = Location.of_address(TENANT, ADDRESS)
    location.geocoded(51.501, -0.1416, "postcode", "offline-uk", "SW1A 1AA")
    assert (location.status, location.lat, location.lon) == ("ok", 51.501, -0.1416)
    assert location.precision == "postcode" and location.provider == "offline-uk"
    assert not location.needs_geocoding
    with pytest.raises(LocationAlreadyResolvedError):
        location.geocoded(51.0, 0.0, "postcode", "offline-uk", "SW1A 1AA")
    with pytest.raises(LocationAlreadyResolvedError):
        location.geocoding_failed("too late", retryable=False)


@pytest.mark.parametrize(
    ("lat", "lon"), [(90.5, 0.0), (-91.0, 0.0), (0.0, 180.5), (0.0, -181.0), (float("nan"), 0.0), (0.0, float("inf"))]
)
def test_coordinates_outside_wgs84_are_refused(lat: float, lon: float) -> None:
    location = Location.of_address(TENANT, ADDRESS)
    with pytest.raises(InvalidValueError):
        location.geocoded(lat, lon, "postcode", "offline-uk", "SW1A 1AA")
    assert location.status == "pending"


def test_a_result_names_its_precision_and_provider() -> None:
    location = Location.of_address(TENANT, ADDRESS)
    with pytest.raises(InvalidValueError):
        location.geocoded(51.5, -0.14, " ", "offline-uk", "SW1A 1AA")
    with pytest.raises(InvalidValueError):
        location.geocoding_failed("", retryable=True)


def test_a_permanent_failure_is_recorded_once() -> None:
    location = Location.of_address(TENANT, "Somewhere without a postcode")
    location.geocoding_failed("no UK postcode found in address", retryable=False)
    assert location.status == "failed" and not location.needs_geocoding
    with pytest.raises(LocationAlreadyResolvedError):
        location.geocoding_failed("again", retryable=False)


def test_a_retryable_failure_leaves_the_location_open_until_it_is_found() -> None:
    location = Location.of_address(TENANT, ADDRESS)
    location.geocoding_failed("service unavailable", retryable=True)
    assert location.status == "failed" and location.needs_geocoding
    location.geocoded(51.501, -0.1416, "building", "nominatim", "10, High Street, London")
    assert location.status == "ok" and location.failure is None


def test_events_carry_explicit_topics_and_replay_to_the_same_state() -> None:
    app = Application(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    location = Location.of_address(TENANT, ADDRESS)
    location.geocoding_failed("timed out", retryable=True)
    location.geocoded(51.501, -0.1416, "postcode", "offline-uk", "SW1A 1AA")
    app.save(location)
    topics = [n.topic for n in app.recorder.select_notifications(start=1, limit=10)]
    assert topics == ["wms-intake:LocationCreated", "wms-intake:GeocodingFailed", "wms-intake:Geocoded"]
    replayed = app.repository.get(location.id)
    assert (replayed.status, replayed.lat, replayed.lon, replayed.version) == ("ok", 51.501, -0.1416, 3)
