"""Events stored by version 2 stay readable: the second frozen fixture, loaded by today's code.

``tests/fixtures/events-v2.json`` (made once by ``make_events_v2.py``, never
regenerated) holds what version 2 stored: the event types it added (a webhook
secret rotated, a rotation window ended early, a pulled batch stored) and the
optional fields it added to version 1's events (an API key's name, a
delivery's warnings, the secret it used and its partly refused items, why
geocoding failed, an order's own coordinates, whether a sync moved the pull
cursor). Loaded into an empty store, they must give the same aggregates,
audit trail and read models they gave then.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import pytest

from application.commands import Principal
from application.errors import NotFoundError
from domain.ids import order_id
from domain.location import Location
from domain.order import Order
from domain.pull_endpoint import PullEndpoint
from domain.roles import Role
from domain.tenant import Tenant
from domain.webhook import WmsWebhook
from interfaces.container import Container
from interfaces.http.presenters.deliveries import present_delivery
from interfaces.http.presenters.history import present_history
from interfaces.http.presenters.integrations import present_integration_status
from interfaces.http.presenters.orders import present_order
from tests.support.stored_event_fixtures import FIXTURES, load_fixture

FIXTURE = FIXTURES / "events-v2.json"


def load(container: Container) -> list[dict[str, Any]]:
    return load_fixture(container, FIXTURE)


def only(events: list[dict[str, Any]], topic: str) -> list[dict[str, Any]]:
    return [e for e in events if e["topic"] == f"wms-intake:{topic}"]


def stamp(value: dict[str, str]) -> datetime:
    """A datetime as the store's transcoder wrote it into the event's state."""
    assert value["_type_"] == "datetime_iso"
    return datetime.fromisoformat(value["_data_"])


def test_version_2_events_load_into_the_same_states_histories_and_read_models(container: Container) -> None:
    events = load(container)
    app = container.use_cases
    # Every stored event decodes with today's classes (upcasting included).
    stored = app.recorder.select_notifications(start=0, limit=1000)
    assert len(stored) == len(events)
    for notification in stored:
        app.mapper.to_domain_event(notification)

    (tenant_id,) = {UUID(e["originatorId"]) for e in only(events, "TenantCreated")}
    tenant = app.repository.get(tenant_id)
    assert isinstance(tenant, Tenant) and tenant.name == "Harbourside Provisions Ltd"
    admin = Principal(tenant_id=tenant_id, key_id="operator", role=Role.ADMIN)
    # A key's name survives; the key issued with the tenant has none.
    assert [(k.role.value, k.name, k.revoked) for k in app.list_api_keys(admin)] == [
        ("admin", None, False),
        ("planner", "Planner tablet", False),
        ("auditor", "Old wall screen", True),
    ]

    # The webhook: rotated, window ended early, rotated again with a week's window left open.
    first_rotation, second_rotation = only(events, "WmsWebhookSecretRotated")
    assert len(only(events, "WmsWebhookPreviousSecretEnded")) == 1
    hook = app.repository.get(UUID(first_rotation["originatorId"]))
    assert isinstance(hook, WmsWebhook) and hook.active and hook.version == 7
    assert hook.secret_hash == second_rotation["state"]["secret_hash"]
    assert hook.previous_secret_hash == first_rotation["state"]["secret_hash"]
    until = stamp(second_rotation["state"]["previous_valid_until"])
    assert hook.previous_valid_until == until
    status = present_integration_status(container.queries.integration_status(admin, "http://example.test/hook"))
    assert status["webhook"]["active"] is True
    assert datetime.fromisoformat(status["webhook"]["previousSecretExpiresAt"]) == until

    # An order placed with the WMS's own coordinates, then moved by new ones.
    order = app.repository.get(order_id(tenant_id, "SO-2001"))
    assert isinstance(order, Order) and order.version == 2
    assert (order.details["latitude"], order.details["longitude"]) == (53.7398, -0.3342)
    placed = present_order(container.queries.order_by_external_id(admin, "SO-2001"))
    assert placed["location"] == {"lat": 53.7398, "lon": -0.3342, "precision": None, "status": "provided"}
    assert placed["palletCount"] == 4 and placed["version"] == 2
    history = present_history(app.order_history(admin, str(order.id)))
    assert [(e["type"], e["version"]) for e in history["events"]] == [("OrderCreated", 1), ("OrderUpdated", 2)]
    assert (history["events"][0]["changes"]["latitude"], history["events"][0]["changes"]["longitude"]) == (
        53.7405,
        -0.3351,
    )
    assert history["events"][1]["changes"] == {"latitude": 53.7398, "longitude": -0.3342, "palletCount": 4}

    # A geocoding failure keeps its cause: users are shown its words, not the geocoder's detail.
    (failed,) = only(events, "GeocodingFailed")
    location = app.repository.get(UUID(failed["originatorId"]))
    assert isinstance(location, Location) and location.status == "failed"
    assert location.failure_cause == "no_postcode" and location.failure == "no UK postcode found in address"
    farm = present_order(container.queries.order_by_external_id(admin, "SO-2003"))
    assert farm["location"]["status"] == "failed" and farm["location"]["reason"] == "no postcode found"
    assert present_order(container.queries.order_by_external_id(admin, "SO-2004"))["location"]["status"] == "ok"

    deliveries = {
        d["requestId"]: d for d in map(present_delivery, container.queries.deliveries_page(admin, 100, None).items)
    }
    assert sorted((r, d["channel"], d["status"], d["secretUsed"]) for r, d in deliveries.items()) == [
        ("req-fixture-v2-1", "webhook", 200, "previous"),
        ("req-fixture-v2-2", "webhook", 200, "current"),
        ("req-fixture-v2-3", "webhook", 200, "current"),
        ("req-fixture-v2-4", "webhook", 400, "previous"),
        ("req-fixture-v2-5", "pull", 200, None),
    ]
    assert deliveries["req-fixture-v2-1"]["warnings"] == [
        {"index": 1, "externalOrderId": "SO-2002", "field": "driverNote", "message": "unknown field, ignored"}
    ]
    partial = deliveries["req-fixture-v2-2"]
    assert partial["processed"] == 1 and partial["rejected"] == 1
    assert [(i["index"], i["externalOrderId"], i["status"]) for i in partial["rejectedItems"]] == [(1, "SO-2005", 422)]
    # Deliveries without warnings or refused items show neither.
    assert {"warnings", "rejected", "rejectedItems"}.isdisjoint(deliveries["req-fixture-v2-3"])
    # The refused item stored nothing.
    with pytest.raises(NotFoundError):
        container.queries.order_by_external_id(admin, "SO-2005")

    # The pull: a batch stored by the first sync; the failed one after it leaves the cursor there.
    (batch_stored,) = only(events, "PullEndpointBatchStored")
    first_sync, failed_sync = only(events, "PullEndpointSyncAttempted")
    assert (first_sync["state"]["advances_cursor"], failed_sync["state"]["advances_cursor"]) == (True, False)
    endpoint = app.repository.get(UUID(batch_stored["originatorId"]))
    assert isinstance(endpoint, PullEndpoint) and not endpoint.removed
    sync_started = stamp(batch_stored["state"]["sync_started_at"])
    assert endpoint.newest_stored_sync_start == sync_started == stamp(first_sync["state"]["started_at"])
    assert endpoint.last_success_started_at == sync_started
    assert endpoint.target_generation == 1 and endpoint.failures_in_a_row == 1
    assert batch_stored["state"]["delivery_id"] == deliveries["req-fixture-v2-5"]["deliveryId"]
    assert present_order(container.queries.order_by_external_id(admin, "PULL-2001"))["palletCount"] == 2
    (listed,) = status["pullEndpoints"]
    assert listed["id"] == str(endpoint.id) and listed["method"] == "POST" and listed["intervalMinutes"] == 15
    assert listed["lastSyncStatus"] == "failed" and listed["nextSyncAt"] is not None
    (retired,) = only(events, "PullEndpointRemoved")
    removed = app.repository.get(UUID(retired["originatorId"]))
    assert isinstance(removed, PullEndpoint) and removed.removed
