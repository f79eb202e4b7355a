"""Read models are rebuildable: replaying the event store from position 0 gives the same rows.

A seeded random workload goes through the application on SQLite and
PostgreSQL (creates, updates, repeated items, rejected batches, webhook
deactivate/reactivate/regenerate, customers, pull endpoints and failed
syncs). Every view is caught up and dumped, then dropped and rebuilt, in
this process and by ``wms-intake projections rebuild`` in another; the
rebuilt tables must be identical.
"""

from __future__ import annotations

import asyncio
import math
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any
from uuid import UUID

import orjson

from application.commands import Principal, ReceiveBatch
from application.errors import PayloadRejectedError, UpstreamError
from application.pull.results import PullEndpointChange
from infrastructure.settings import Settings
from interfaces.container import Container, build_container
from tests.support.settings import make_settings

SEED = 20261127
ROOT = Path(__file__).parents[2]
Dump = dict[str, dict[str, list[str]]]


def dump_all(container: Container) -> Dump:
    """Every row of every view, each row as canonical JSON, sorted (row order is no part of a view)."""
    return {
        name: {
            table: sorted(orjson.dumps(row, option=orjson.OPT_SORT_KEYS, default=str).decode() for row in rows)
            for table, rows in view.dump().items()
        }
        for name, view in container.views.items()
    }


class Workload:
    """Random but repeatable traffic from a few tenants, straight into the application."""

    def __init__(self, container: Container, rng: random.Random) -> None:
        self.container = container
        self.app = container.use_cases
        self.rng = rng
        self.admins: list[Principal] = []
        self.customers: dict[UUID, list[str]] = {}
        self.endpoints: dict[UUID, list[str]] = {}
        self.batches = 0

    def tenants(self, count: int) -> None:
        for number in range(count):
            created = self.app.create_tenant(f"Tenant {number}")
            admin = self.app.authenticate(str(created.tenant_id), created.admin_api_key)
            self.app.connect_webhook(admin)
            self.admins.append(admin)
            self.customers[admin.tenant_id] = []
            self.endpoints[admin.tenant_id] = []

    def item(self) -> dict[str, Any]:
        rng = self.rng
        item: dict[str, Any] = {"externalOrderId": f"R-{rng.randrange(40)}"}
        if rng.random() < 0.7:
            item["deliveryAddress"] = f"{rng.randrange(12)} Random Road, Leeds LS{rng.randrange(1, 9)} 1AA"
            if rng.random() < 0.3:
                item["customerName"] = rng.choice(["Acme", "Bolt", "Crane"])
        else:
            item["customerId"] = "will be set"
        for name, value in (
            ("totalWeight", lambda: round(rng.uniform(0, 500), 2)),
            ("volume", lambda: rng.choice([None, 1.5, 2.25])),
            ("palletCount", lambda: rng.randrange(6)),
            ("specialHandling", lambda: rng.choice([None, ["fragile"], ["fragile", "timed_slot"]])),
            ("plannedDate", lambda: rng.choice([None, "2025-02-22", "2025-02-23", "2025-03-01"])),
        ):
            if rng.random() < 0.5:
                item[name] = value()
        return item

    def batch(self, admin: Principal) -> None:
        rng = self.rng
        items = [self.item() for _ in range(rng.randrange(1, 15))]
        if rng.random() < 0.5 and items:
            items.append(dict(items[0]))  # the same order twice in one batch
        for item in items:
            if item.get("customerId") == "will be set":
                known = self.customers[admin.tenant_id]
                if known and rng.random() < 0.9:
                    item["customerId"] = rng.choice(known)
                else:
                    item["customerId"] = str(UUID(int=rng.getrandbits(128)))  # unknown: a 400
        spoil = rng.random()
        if spoil < 0.08:
            items[0]["plannedDate"] = "2025-02-30"  # 422
        elif spoil < 0.14:
            items[-1] = {"deliveryAddress": "no id"}  # 400
        body = orjson.dumps(items if len(items) > 1 or rng.random() < 0.5 else items[0])
        if spoil > 0.97:
            body = body[:-1]  # invalid JSON
        self.batches += 1
        channel = rng.choice(["webhook", "webhook", "pull"])
        try:
            self.app.receive_batch(
                ReceiveBatch(
                    tenant_id=admin.tenant_id,
                    body=body,
                    body_size=len(body),
                    channel=channel,
                    request_id=f"req-{self.batches:05d}",
                    received_at=self.app.clock.now(),
                    max_items=self.rng.choice([5, 100]),
                    max_body_bytes=100_000,
                )
            )
        except PayloadRejectedError:
            pass  # recorded in the delivery log: that is part of what is rebuilt

    def admin_action(self, admin: Principal) -> None:
        rng, app, pull = self.rng, self.app, self.container.pull
        action = rng.randrange(7)
        if action == 0:
            app.set_webhook_active(admin, rng.random() < 0.5)
        elif action == 1:
            app.regenerate_webhook_secret(admin)
        elif action == 2:
            address = f"{rng.randrange(12)} Random Road, Leeds LS{rng.randrange(1, 9)} 1AA"
            try:
                customer = app.create_customer(admin, rng.choice(["Dyno", "Eagle"]), address, None)
                self.customers[admin.tenant_id].append(customer.customer_id)
            except Exception:
                pass
        elif action == 3:
            added = pull.add_endpoint(
                admin, "http://127.0.0.1:9/orders", rng.choice(["GET", "POST"]), rng.choice([None, 15, 60])
            )
            self.endpoints[admin.tenant_id].append(str(added.endpoint_id))
        elif action == 4 and self.endpoints[admin.tenant_id]:
            endpoint = rng.choice(self.endpoints[admin.tenant_id])
            change = PullEndpointChange(
                url=f"http://127.0.0.1:9/o{rng.randrange(3)}",
                interval_given=True,
                interval_minutes=rng.choice([None, 30]),
            )
            pull.change_endpoint(admin, endpoint, change)
        elif action == 5 and self.endpoints[admin.tenant_id]:
            endpoint = self.endpoints[admin.tenant_id].pop()
            if rng.random() < 0.5:
                # Nothing listens on port 9: a failed attempt is recorded.
                try:
                    asyncio.run(pull.sync_now(admin, endpoint, f"sync-{self.batches}"))
                except UpstreamError:
                    pass
                self.endpoints[admin.tenant_id].append(endpoint)
            else:
                pull.remove_endpoint(admin, endpoint)
        elif action == 6:
            key = app.issue_api_key(admin, rng.choice(["planner", "auditor"]))
            if rng.random() < 0.5:
                app.revoke_api_key(admin, key.key_id)

    def run(self, steps: int) -> None:
        for _ in range(steps):
            admin = self.rng.choice(self.admins)
            if self.rng.random() < 0.8:
                self.batch(admin)
            else:
                self.admin_action(admin)


def test_rebuilt_read_models_are_identical_to_the_live_ones(container: Container, settings: Settings) -> None:
    workload = Workload(container, random.Random(SEED))
    workload.tenants(3)
    workload.run(150)
    container.catch_up()
    live = dump_all(container)
    assert len(live["orders"]["rm_orders"]) > 20
    assert len(live["deliveries"]["rm_deliveries"]) == workload.batches
    statuses = {orjson.loads(row)["status"] for row in live["deliveries"]["rm_deliveries"]}
    assert {200, 400, 422} <= statuses
    latest = container.use_cases.recorder.max_notification_id()

    for name in container.views:
        report = container.rebuild(name)
        assert report["events"] == latest, name
        assert container.followers[name].lag() == 0
    assert dump_all(container) == live

    # Part of the workload again, then catch up on top of the rebuilt views: still what a live run gives.
    workload.run(30)
    container.catch_up()
    caught_up = dump_all(container)
    for name in container.views:
        container.rebuild(name)
    assert dump_all(container) == caught_up


def test_a_rebuild_applies_events_in_batches_of_one_transaction_each(database_url: str) -> None:
    container = build_container(make_settings(database_url, projection_batch_size=25))
    try:
        workload = Workload(container, random.Random(SEED + 1))
        workload.tenants(2)
        workload.run(60)
        container.catch_up()
        live = dump_all(container)
        follower, view = container.followers["orders"], container.views["orders"]
        view.reset()
        assert view.position() == 0
        positions = [0]
        while follower.step():
            positions.append(view.position())
        latest = container.use_cases.recorder.max_notification_id()
        # Each step is one transaction that moves the tracking position once, by at most a batch
        # of the events this view reads; the steps end exactly at the newest event.
        assert positions[-1] == latest and positions == sorted(positions)
        assert len(positions) - 1 <= math.ceil(latest / 25) + 1
        assert len(positions) > 2
        assert dump_all(container)["orders"] == live["orders"]
    finally:
        container.close()


def test_the_cli_rebuilds_every_read_model_or_one(container: Container, settings: Settings) -> None:
    workload = Workload(container, random.Random(SEED + 2))
    workload.tenants(2)
    workload.run(40)
    container.catch_up()
    live = dump_all(container)
    latest = container.use_cases.recorder.max_notification_id()
    env = {**os.environ, "WMS_INTAKE_DATABASE_URL": settings.database_url}
    command = [sys.executable, "-m", "interfaces.cli", "projections", "rebuild"]

    done = subprocess.run(command, env=env, capture_output=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    report = orjson.loads(done.stdout)["rebuilt"]
    assert set(report) == set(container.views)
    for name, measured in report.items():
        assert measured["events"] == latest, name
        assert measured["seconds"] >= 0 and measured["eventsPerSecond"] > 0
    assert dump_all(container) == live

    one = subprocess.run([*command, "orders"], env=env, capture_output=True, timeout=120, cwd=ROOT)
    assert one.returncode == 0 and set(orjson.loads(one.stdout)["rebuilt"]) == {"orders"}
    unknown = subprocess.run([*command, "nonsense"], env=env, capture_output=True, timeout=120, cwd=ROOT)
    assert unknown.returncode == 2 and b"invalid choice: 'nonsense'" in unknown.stderr
    assert dump_all(container) == live
