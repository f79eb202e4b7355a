"""Load the webhook with mixed traffic, then prove nothing acknowledged was lost.

Run from the repository root:

    python bench/loadgen.py --store postgres --requests 5000 --concurrency 64
    python bench/loadgen.py --store sqlite --requests 600 --concurrency 32 --json-out var/load.json
    python bench/loadgen.py --store postgres --kill-every 0.5      # with connection faults

It starts ``wms-intake serve`` as a subprocess on a fresh database (a new
PostgreSQL schema, dropped afterwards, or a temporary SQLite file) and drives
it from this process over HTTP on 127.0.0.1: creates, updates, exact repeats,
bursts of concurrent requests on the same hot ids, batches with a repeated
id, a batch at the documented item limit, and invalid batches of every kind
(validation, plannedDate, unknown customer, bad JSON, bad shape, wrong media
type, too many items). Sending is bounded by ``--requests`` and
``--max-seconds``.

Then it reconciles what the service acknowledged with what it stored:

- every 200 has exactly one accepted delivery record, and every order it
  acknowledged is in the event store and in the read model (through the API)
  with the values of the last acknowledged write, in commit order;
- the ``created`` flag of every acknowledged item matches that commit order;
- no refused batch (4xx, 503) left any event other than its rejection record,
  and no order that only refused batches named exists;
- ``lastReceivedAt`` equals the latest accepted delivery's receipt time and
  lies within the client's window of the last acknowledged request.

Figures are printed as JSON (and written to ``--json-out``); the exit status
is 0 only when every check passed and, without injected faults, no request
got a 5xx.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import orjson

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from application.timestamps import iso, parse_iso  # noqa: E402
from bench.bench_tenant import BenchTenant  # noqa: E402
from bench.reports import emit_report  # noqa: E402
from domain.customer import Customer  # noqa: E402
from domain.ids import order_id  # noqa: E402
from infrastructure.settings import Settings  # noqa: E402
from interfaces.container import Container, build_container  # noqa: E402

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
#: Every tenant's hot orders: bursts of concurrent requests race on these.
HOT_ORDER_IDS = [f"hot-{i:02d}" for i in range(16)]
ADDRESSES = 24
HANDLING_TAGS = ("fragile", "timed_slot", "tail_lift", "two_person", "hazmat")
FIELDS = ("deliveryAddress", "totalWeight", "volume", "palletCount", "specialHandling", "plannedDate")
#: Wire name -> read-model (API) name and event-store (domain) name.
DOMAIN_NAME = {
    "customerId": "customer_id",
    "deliveryAddress": "delivery_address",
    "totalWeight": "total_weight",
    "volume": "volume",
    "palletCount": "pallet_count",
    "specialHandling": "special_handling",
    "plannedDate": "planned_date",
}
ORDER_TOPICS = ("wms-intake:OrderCreated", "wms-intake:OrderUpdated")
#: What the reconciliation counts; every one must end at 0.
RECONCILIATION_CHECKS = (
    "ordersLost",
    "eventStoreMismatch",
    "readModelMismatch",
    "unexpectedOrders",
    "createdFlagMismatch",
    "acknowledgedWithoutDelivery",
    "processedCountMismatch",
    "duplicateDelivery",
    "refusedLeftATrace",
    "lastReceivedAtMismatch",
    "unexpectedStatus",
)
ACCEPTED_TOPIC = "wms-intake:DeliveryAccepted"
REJECTED_TOPIC = "wms-intake:DeliveryRejected"
RECORDED_REJECTIONS = (400, 413, 422)
#: The request ids this generator sends: fixed length, so one never contains another.
REQUEST_ID = re.compile(rb"lg[0-9]{7}[0-9a-f]{12}")


# ---------------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """``wms-intake serve`` in a subprocess on 127.0.0.1, logging to a file."""

    def __init__(self, database_url: str, log_path: Path, env: dict[str, str] | None = None) -> None:
        self.database_url = database_url
        self.log_path = log_path
        self.extra_env = env or {}
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, ready_within: float = 60.0) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("WMS_INTAKE_")} | {
            "WMS_INTAKE_DATABASE_URL": self.database_url,
            **self.extra_env,
        }
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "interfaces.cli",
                    "serve",
                    "--processes",
                    "1",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                ],
                cwd=REPO_ROOT,
                env=env,
                stdout=log,
                stderr=log,
            )
        self.wait_ready(ready_within)

    def wait_ready(self, within: float) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    sock.sendall(b"GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                    if sock.recv(64).startswith(b"HTTP/1.1 200"):
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the server was not ready within {within}s:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as when the machine loses power."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(30)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.kill()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class Database:
    """A fresh database for one run: a new PostgreSQL schema or a SQLite file."""

    store: str
    url: str
    schema: str | None
    admin_url: str | None

    @classmethod
    def fresh(cls, store: str, postgres_url: str, workdir: Path) -> Database:
        if store == "sqlite":
            return cls("sqlite", f"sqlite:///{workdir / 'load.sqlite3'}", None, None)
        import psycopg

        schema = f"lg_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        separator = "&" if "?" in postgres_url else "?"
        return cls("postgres", f"{postgres_url}{separator}schema={schema}", schema, postgres_url)

    def drop(self) -> None:
        if self.schema is None or self.admin_url is None:
            return
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')


class BackendKiller(threading.Thread):
    """Fault injection: every ``interval`` seconds, terminate one busy backend of the schema."""

    def __init__(self, admin_url: str, schema: str, interval: float) -> None:
        super().__init__(name="backend-killer", daemon=True)
        self.admin_url = admin_url
        self.schema = schema
        self.interval = interval
        self.kills = 0
        self._stop = threading.Event()

    def run(self) -> None:
        import psycopg

        rng = random.Random(7)
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            while not self._stop.wait(self.interval):
                rows = conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
                    "AND state <> 'idle' AND position(%s in query) > 0",
                    (f'"{self.schema}".',),
                ).fetchall()
                if rows:
                    conn.execute("SELECT pg_terminate_backend(%s)", (rng.choice(rows)[0],))
                    self.kills += 1

    def stop(self) -> None:
        self._stop.set()
        self.join(10)


# ---------------------------------------------------------------------- the workload


@dataclass
class Tenant(BenchTenant):
    customer_id: str = ""
    addresses: list[str] = field(default_factory=list)
    known_ids: list[str] = field(default_factory=list)


@dataclass
class Planned:
    """One request to send. ``items`` is what the service will read (None: not a batch)."""

    seq: int
    kind: str
    tenant: int
    body: bytes
    items: list[dict[str, Any]] | None
    expect: str  # "ok" or "reject"
    content_type: str = "application/json"


@dataclass
class Outcome:
    planned: Planned
    request_id: str
    status: int | None = None
    body: Any = None
    retry_after: str | None = None
    started: datetime | None = None
    finished: datetime | None = None
    error: str | None = None
    seconds: float = 0.0


class Workload:
    """A seeded, reproducible mix of requests over a few tenants."""

    KINDS = (
        ("create", 22),
        ("update", 20),
        ("hot", 7),
        ("repeat", 8),
        ("invalid", 18),
        ("named_customer", 6),
        ("repeated_in_batch", 5),
        ("single_object", 5),
    )

    def __init__(self, rng: random.Random, tenants: list[Tenant], big_batch: int, max_items: int) -> None:
        self.rng = rng
        self.tenants = tenants
        self.big_batch = big_batch
        self.max_items = max_items
        self.counter = 0
        self.sent_valid: list[Planned] = []
        self.sent_any: list[Planned] = []

    def plan(self, count: int) -> list[Planned]:
        planned: list[Planned] = []
        # Once each, at fixed points of the run: the documented item limit,
        # one item over it, and empty batches.
        specials = sorted(
            [(count // 5, "empty"), (count // 3, "too_many"), (count // 2, "big"), ((4 * count) // 5, "empty")]
        )
        kinds, weights = zip(*self.KINDS, strict=True)
        while len(planned) < count:
            seq = len(planned)
            if specials and seq >= specials[0][0]:
                planned.append(self._one(seq, specials.pop(0)[1]))
                continue
            kind = self.rng.choices(kinds, weights)[0]
            if kind == "hot":
                # A burst on the same hot ids: sent back to back, so they race.
                tenant = self.rng.choice(self.tenants)
                ids = self.rng.sample(HOT_ORDER_IDS, self.rng.randint(1, 4))
                for _ in range(min(self.rng.randint(3, 6), count - len(planned))):
                    planned.append(
                        self._valid(len(planned), "hot", tenant, [self._item(tenant, i, update=True) for i in ids])
                    )
                continue
            planned.append(self._one(seq, kind))
        return planned

    # -------------------------------------------------------------- kinds

    def _one(self, seq: int, kind: str) -> Planned:
        tenant = self.rng.choice(self.tenants)
        if kind == "create" or (kind in ("update", "repeat") and not self.sent_valid):
            items = [self._item(tenant, self._new_id(tenant), update=False) for _ in range(self.rng.randint(1, 20))]
            return self._valid(seq, "create", tenant, items)
        if kind == "update":
            ids = self.rng.sample(tenant.known_ids, min(len(tenant.known_ids), self.rng.randint(1, 20))) or [
                self._new_id(tenant)
            ]
            return self._valid(seq, "update", tenant, [self._item(tenant, i, update=True) for i in ids])
        if kind == "repeat":
            original = self.rng.choice(self.sent_any)
            repeat = Planned(
                seq, "repeat", original.tenant, original.body, original.items, original.expect, original.content_type
            )
            self.sent_any.append(repeat)
            return repeat
        if kind == "named_customer":
            ids = [self._new_id(tenant) for _ in range(self.rng.randint(1, 5))] + self.rng.sample(
                tenant.known_ids, min(2, len(tenant.known_ids))
            )
            items = []
            for i in ids:
                item = self._item(tenant, i, update=True)
                item["customerId"] = tenant.customer_id
                if self.rng.random() < 0.5:
                    item.pop("deliveryAddress", None)
                items.append(item)
            return self._valid(seq, "named_customer", tenant, items)
        if kind == "repeated_in_batch":
            ext = self.rng.choice([*tenant.known_ids, self._new_id(tenant)])
            items = [self._item(tenant, ext, update=True) for _ in range(self.rng.randint(2, 4))]
            return self._valid(seq, "repeated_in_batch", tenant, items)
        if kind == "single_object":
            item = self._item(tenant, self._new_id(tenant), update=False)
            planned = Planned(seq, "single_object", tenant.index, orjson.dumps(item), [item], "ok")
            self._remember(planned)
            return planned
        if kind == "big":
            items = [self._item(tenant, self._new_id(tenant), update=False) for _ in range(self.big_batch)]
            return self._valid(seq, "big", tenant, items)
        if kind == "empty":
            return self._valid(seq, "empty", tenant, [])
        if kind == "too_many":
            items = [
                {"externalOrderId": f"poison-{self._next()}", "deliveryAddress": "1 Poison Lane"}
                for _ in range(self.max_items + 1)
            ]
            return self._rejected(seq, "too_many", tenant, orjson.dumps(items), items)
        return self._invalid(seq, tenant)

    def _invalid(self, seq: int, tenant: Tenant) -> Planned:
        # Good-looking items (new poison ids and known ids with poison values)
        # around one bad item: the batch must leave no trace at all.
        good = [
            {
                "externalOrderId": f"poison-{self._next()}",
                "deliveryAddress": "13 Poison Lane, Leeds LS1 1AA",
                "totalWeight": 666.0,
            }
            for _ in range(self.rng.randint(0, 4))
        ] + [
            {"externalOrderId": i, "deliveryAddress": "13 Poison Lane, Leeds LS1 1AA", "totalWeight": 666.0}
            for i in self.rng.sample(tenant.known_ids, min(len(tenant.known_ids), self.rng.randint(0, 3)))
        ]
        variant = self.rng.choice(
            (
                "missing_id",
                "negative",
                "wrong_type",
                "planned_date",
                "unknown_customer",
                "no_address",
                "json",
                "shape",
                "media",
            )
        )
        bad: dict[str, Any] = {"externalOrderId": f"poison-{self._next()}", "deliveryAddress": "13 Poison Lane"}
        if variant == "missing_id":
            del bad["externalOrderId"]
        elif variant == "negative":
            bad["totalWeight"] = -1.5
        elif variant == "wrong_type":
            bad["palletCount"] = "three"
        elif variant == "planned_date":
            bad["plannedDate"] = self.rng.choice(("2025-02-30", "22/02/2025", "20250222", 20250222))
        elif variant == "unknown_customer":
            bad["customerId"] = str(uuid.uuid4())
        elif variant == "no_address":
            del bad["deliveryAddress"]
        items = good[:]
        items.insert(self.rng.randint(0, len(items)), bad)
        body = orjson.dumps(items)
        if variant == "json":
            body = body[: max(1, len(body) - 3)]
        elif variant == "shape":
            body = orjson.dumps([*items, "not an order"]) if self.rng.random() < 0.5 else b'"orders"'
        planned = self._rejected(seq, f"invalid:{variant}", tenant, body, items)
        if variant == "media":
            planned.content_type = "application/xml"
        return planned

    # -------------------------------------------------------------- items

    def _item(self, tenant: Tenant, ext: str, *, update: bool) -> dict[str, Any]:
        rng = self.rng
        item: dict[str, Any] = {"externalOrderId": ext, "deliveryAddress": rng.choice(tenant.addresses)}
        if not update and rng.random() < 0.3:
            item["customerName"] = f"Customer {rng.randint(1, 99)}"
        values = {
            "totalWeight": round(rng.uniform(0.1, 800.0), 2),
            "volume": round(rng.uniform(0.01, 40.0), 3),
            "palletCount": rng.randint(0, 30),
            "specialHandling": rng.sample(HANDLING_TAGS, rng.randint(0, 2)),
            "plannedDate": (date(2025, 3, 1) + timedelta(days=rng.randint(0, 27))).isoformat(),
        }
        for name, value in values.items():
            roll = rng.random()
            if roll < (0.5 if update else 0.7):
                item[name] = value
            elif update and roll < 0.6:
                item[name] = None  # null clears
        return item

    def _valid(self, seq: int, kind: str, tenant: Tenant, items: list[dict[str, Any]]) -> Planned:
        planned = Planned(seq, kind, tenant.index, orjson.dumps(items), items, "ok")
        self._remember(planned)
        return planned

    def _rejected(self, seq: int, kind: str, tenant: Tenant, body: bytes, items: list[dict[str, Any]]) -> Planned:
        planned = Planned(seq, kind, tenant.index, body, items, "reject")
        self.sent_any.append(planned)
        return planned

    def _remember(self, planned: Planned) -> None:
        self.sent_valid.append(planned)
        self.sent_any.append(planned)
        tenant = self.tenants[planned.tenant]
        known = set(tenant.known_ids)
        for item in planned.items or ():
            if item["externalOrderId"] not in known:
                tenant.known_ids.append(item["externalOrderId"])
                known.add(item["externalOrderId"])

    def _new_id(self, tenant: Tenant) -> str:
        return f"ORD-{tenant.index}-{self._next():07d}"

    def _next(self) -> int:
        self.counter += 1
        return self.counter


# ---------------------------------------------------------------------- sending


async def send_all(
    base_url: str,
    tenants: list[Tenant],
    planned: list[Planned],
    concurrency: int,
    max_seconds: float,
    request_timeout: float,
) -> tuple[list[Outcome], int, float]:
    """Send with at most ``concurrency`` requests in flight, until done or the deadline."""
    queue: asyncio.Queue[Planned] = asyncio.Queue()
    for p in planned:
        queue.put_nowait(p)
    outcomes: list[Outcome] = []
    deadline = time.monotonic() + max_seconds
    timeout = aiohttp.ClientTimeout(total=request_timeout)
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    started = time.perf_counter()
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def worker() -> None:
            while time.monotonic() < deadline:
                try:
                    p = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                outcomes.append(await send_one(session, base_url, tenants[p.tenant], p))

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return outcomes, queue.qsize(), time.perf_counter() - started


async def send_one(session: aiohttp.ClientSession, base_url: str, tenant: Tenant, p: Planned) -> Outcome:
    # Fixed-length, unique request ids: one never contains another.
    outcome = Outcome(p, request_id=f"lg{p.seq:07d}{secrets.token_hex(6)}")
    headers = {
        "Authorization": f"Bearer {tenant.secret}",
        "Content-Type": p.content_type,
        "X-Request-Id": outcome.request_id,
    }
    outcome.started = datetime.now(UTC)
    clock = time.perf_counter()
    try:
        async with session.post(
            f"{base_url}/api/integrations/wms/{tenant.tenant_id}", data=p.body, headers=headers
        ) as response:
            outcome.status = response.status
            outcome.retry_after = response.headers.get("Retry-After")
            raw = await response.read()
            outcome.body = orjson.loads(raw) if raw else None
    except (TimeoutError, aiohttp.ClientError, orjson.JSONDecodeError) as error:
        outcome.error = f"{type(error).__name__}: {error}"
    outcome.seconds = time.perf_counter() - clock
    outcome.finished = datetime.now(UTC)
    return outcome


# ---------------------------------------------------------------------- setting up


def create_tenants(container: Container, count: int, rng: random.Random) -> list[Tenant]:
    tenants = []
    for index in range(count):
        created = container.use_cases.create_tenant(f"Load tenant {index}")
        tenant = Tenant(index, str(created.tenant_id), created.admin_api_key)
        tenant.addresses = [
            f"{rng.randint(1, 300)} {rng.choice(('High', 'Station', 'Mill', 'Church'))} Street, "
            f"{rng.choice(('London SW1A 1AA', 'Leeds LS1 4AP', 'Bristol BS1 5TR', 'York YO1 7HH'))}"
            for _ in range(ADDRESSES)
        ]
        tenants.append(tenant)
    return tenants


async def connect_webhooks(base_url: str, tenants: list[Tenant]) -> None:
    async with aiohttp.ClientSession() as session:
        for tenant in tenants:
            auth = {"Authorization": f"Bearer {tenant.admin_key}"}
            prefix = f"{base_url}/api/tenants/{tenant.tenant_id}"
            async with session.post(f"{prefix}/integrations/wms/webhook", headers=auth) as response:
                if response.status != 201:
                    raise RuntimeError(f"Connect WMS failed: {response.status} {await response.text()}")
                tenant.secret = (await response.json())["secret"]
            customer = {"name": "Named Customer Ltd", "address": f"1 Named Road, Hull HU1 {tenant.index}AA"}
            async with session.post(f"{prefix}/customers", json=customer, headers=auth) as response:
                if response.status != 201:
                    raise RuntimeError(f"creating a customer failed: {response.status} {await response.text()}")
                tenant.customer_id = (await response.json())["customerId"]


# ---------------------------------------------------------------------- reconciling


@dataclass
class StoreScan:
    """What the event store holds, read notification by notification."""

    accepted: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))
    rejected: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)  # order id -> state
    events: int = 0
    raw_states: list[tuple[str, bytes]] = field(default_factory=list)  # (topic, state) of non-rejection events


def scan_store(container: Container) -> StoreScan:
    scan = StoreScan()
    recorder, mapper = container.use_cases.recorder, container.use_cases.mapper
    position = 0
    while True:
        page = recorder.select_notifications(start=position, limit=5000, inclusive_of_start=False)
        if not page:
            return scan
        for n in page:
            scan.events += 1
            position = n.id
            if n.topic == REJECTED_TOPIC:
                event = mapper.to_domain_event(n)
                scan.rejected[event.request_id].append(event.status)
                continue
            scan.raw_states.append((n.topic, bytes(n.state)))
            if n.topic == ACCEPTED_TOPIC:
                event = mapper.to_domain_event(n)
                scan.accepted[event.request_id].append((n.id, event.tenant_id, event.processed, event.received_at))
            elif n.topic in ORDER_TOPICS:
                event = mapper.to_domain_event(n)
                oid = str(event.originator_id)
                if n.topic == ORDER_TOPICS[0]:
                    scan.orders[oid] = {
                        "tenant_id": event.tenant_id,
                        "external_order_id": event.external_order_id,
                        "details": dict(event.details),
                        "version": event.originator_version,
                    }
                else:
                    scan.orders[oid]["details"].update(event.changes)
                    scan.orders[oid]["version"] = event.originator_version
            elif n.topic.startswith("wms-intake:Order"):
                # Other order events (e.g. geocoding) move the version only.
                event = mapper.to_domain_event(n)
                if str(event.originator_id) in scan.orders:
                    scan.orders[str(event.originator_id)]["version"] = event.originator_version


def wait_for_projections(container: Container, within: float) -> None:
    deadline = time.monotonic() + within
    while any(container.projection_lags().values()):
        if time.monotonic() > deadline:
            raise RuntimeError(f"read models still behind after {within}s: {container.projection_lags()}")
        time.sleep(0.1)


async def read_models(
    base_url: str, tenants: list[Tenant]
) -> tuple[dict[tuple[int, str], dict[str, Any]], dict[int, Any]]:
    """Every order and the integration status of every tenant, through the API."""
    orders: dict[tuple[int, str], dict[str, Any]] = {}
    status: dict[int, Any] = {}
    async with aiohttp.ClientSession() as session:
        for tenant in tenants:
            auth = {"Authorization": f"Bearer {tenant.admin_key}"}
            prefix = f"{base_url}/api/tenants/{tenant.tenant_id}"
            cursor: str | None = None
            while True:
                query = "?limit=1000" + (f"&cursor={cursor}" if cursor else "")
                async with session.get(f"{prefix}/orders{query}", headers=auth) as response:
                    if response.status != 200:
                        raise RuntimeError(f"listing orders failed: {response.status}")
                    page = await response.json()
                for order in page["orders"]:
                    orders[(tenant.index, order["externalOrderId"])] = order
                cursor = page["nextCursor"]
                if not cursor:
                    break
            async with session.get(f"{prefix}/integrations", headers=auth) as response:
                status[tenant.index] = (await response.json())["webhook"]
    return orders, status


class Reconciliation:
    def __init__(self, tenants: list[Tenant], outcomes: list[Outcome], scan: StoreScan) -> None:
        self.tenants = tenants
        self.outcomes = outcomes
        self.scan = scan
        self.failures: list[str] = []
        self.counts: Counter[str] = Counter()

    def fail(self, kind: str, message: str) -> None:
        self.counts[kind] += 1
        if len(self.failures) < 30:
            self.failures.append(f"{kind}: {message}")

    def run(self, api_orders: dict[tuple[int, str], dict[str, Any]], status: dict[int, Any]) -> dict[str, Any]:
        committed = self._check_deliveries()
        expected, created_flags = self._reference(committed)
        self._check_created_flags(committed, created_flags)
        checked = self._check_orders(expected, api_orders)
        traces = self._check_refusals()
        self._check_last_received(committed, status)
        return {
            "ordersChecked": checked,
            "acknowledgedItems": sum(len(o.planned.items or ()) for o in committed if o.status == 200),
            "committedBatches": len(committed),
            "refusedBatchesChecked": traces,
            **{name: self.counts[name] for name in RECONCILIATION_CHECKS},
        }

    def _check_deliveries(self) -> list[Outcome]:
        """The batches that committed, in commit order (their delivery's notification id)."""
        committed: list[tuple[int, Outcome]] = []
        for outcome in self.outcomes:
            records = self.scan.accepted.get(outcome.request_id, [])
            if len(records) > 1:
                self.fail("duplicateDelivery", outcome.request_id)
            if outcome.status == 200:
                if not records:
                    self.fail("acknowledgedWithoutDelivery", outcome.request_id)
                    continue
                if records[0][2] != len(outcome.planned.items or ()):
                    self.fail("processedCountMismatch", f"{outcome.request_id} recorded {records[0][2]} processed")
            elif outcome.status is not None and records:
                self.fail("refusedLeftATrace", f"{outcome.request_id} ({outcome.status}) has an accepted delivery")
                continue
            if records:
                committed.append((records[0][0], outcome))
        committed.sort(key=lambda pair: pair[0])
        return [outcome for _, outcome in committed]

    def _reference(
        self, committed: list[Outcome]
    ) -> tuple[dict[tuple[int, str], dict[str, Any]], dict[str, list[bool]]]:
        """The documented semantics, replayed in commit order: present overwrites,
        absent keeps, null clears; the first write of an id creates it."""
        state: dict[tuple[int, str], dict[str, Any]] = {}
        created: dict[str, list[bool]] = {}
        for outcome in committed:
            tenant = self.tenants[outcome.planned.tenant]
            flags = []
            for item in outcome.planned.items or ():
                key = (tenant.index, str(item["externalOrderId"]))
                customer = item.get("customerId") or str(
                    Customer.id_for(uuid.UUID(tenant.tenant_id), item["deliveryAddress"])
                )
                patch = {DOMAIN_NAME[name]: item[name] for name in FIELDS if name in item}
                patch["customer_id"] = customer
                flags.append(key not in state)
                state.setdefault(key, {name: None for name in DOMAIN_NAME.values()}).update(patch)
            created[outcome.request_id] = flags
        return state, created

    def _check_created_flags(self, committed: list[Outcome], flags: dict[str, list[bool]]) -> None:
        for outcome in committed:
            if outcome.status != 200:
                continue
            tenant = self.tenants[outcome.planned.tenant]
            got = outcome.body["orders"]
            want = [
                {
                    "externalOrderId": str(item["externalOrderId"]),
                    "orderId": str(order_id(uuid.UUID(tenant.tenant_id), str(item["externalOrderId"]))),
                    "created": flag,
                }
                for item, flag in zip(outcome.planned.items or (), flags[outcome.request_id], strict=False)
            ]
            if got != want:
                self.fail("createdFlagMismatch", f"{outcome.request_id}: got {got[:3]}..., want {want[:3]}...")

    def _check_orders(
        self, expected: dict[tuple[int, str], dict[str, Any]], api_orders: dict[tuple[int, str], dict[str, Any]]
    ) -> int:
        by_id = {(self._tenant_index(o["tenant_id"]), o["external_order_id"]): o for o in self.scan.orders.values()}
        for key, want in expected.items():
            stored = by_id.get(key)
            shown = api_orders.get(key)
            if stored is None or shown is None:
                self.fail(
                    "ordersLost",
                    f"{key}: event store {'yes' if stored else 'no'}, read model {'yes' if shown else 'no'}",
                )
                continue
            if stored["details"] != want:
                self.fail("eventStoreMismatch", f"{key}: stored {stored['details']}, want {want}")
            wire = {name: shown[name] for name in DOMAIN_NAME}
            if {DOMAIN_NAME[k]: v for k, v in wire.items()} != want or shown["version"] != stored["version"]:
                self.fail(
                    "readModelMismatch", f"{key}: shown {wire} v{shown['version']}, want {want} v{stored['version']}"
                )
        for key in set(by_id) | set(api_orders):
            if key not in expected:
                self.fail("unexpectedOrders", f"{key} exists but no committed batch named it")
        return len(expected)

    def _check_refusals(self) -> int:
        """A refused batch leaves at most its rejection record: no order, no customer, no delivery."""
        refused = {
            o.request_id.encode(): o
            for o in self.outcomes
            if o.status is not None and o.status != 200 and o.request_id not in self.scan.accepted
        }
        for topic, state in self.scan.raw_states:
            for rid in REQUEST_ID.findall(state):
                if rid in refused:
                    self.fail("refusedLeftATrace", f"{rid.decode()} ({refused[rid].status}) in a {topic} event")
        for rid, outcome in refused.items():
            recorded = self.scan.rejected.get(rid.decode(), [])
            if outcome.status in RECORDED_REJECTIONS and recorded != [outcome.status]:
                self.fail("refusedLeftATrace", f"{rid.decode()}: delivery log has {recorded}, want [{outcome.status}]")
            if outcome.status not in RECORDED_REJECTIONS and recorded:
                self.fail("refusedLeftATrace", f"{rid.decode()} ({outcome.status}) is in the delivery log")
        return len(refused)

    def _check_last_received(self, committed: list[Outcome], status: dict[int, Any]) -> None:
        for tenant in self.tenants:
            moments = [
                record[3]
                for records in self.scan.accepted.values()
                for record in records
                if record[1] == tenant.tenant_id
            ]
            shown = status[tenant.index]["lastReceivedAt"]
            want = iso(max(moments)) if moments else None
            if shown != want:
                self.fail("lastReceivedAtMismatch", f"tenant {tenant.index}: shown {shown}, latest accepted {want}")
                continue
            mine = [o for o in committed if o.planned.tenant == tenant.index]
            if mine and shown is not None:
                moment = parse_iso(shown)
                latest_start = max(o.started for o in mine if o.started)
                latest_end = max(o.finished for o in mine if o.finished)
                if not latest_start <= moment <= latest_end:
                    self.fail(
                        "lastReceivedAtMismatch",
                        f"tenant {tenant.index}: {shown} outside the window of the last committed request "
                        f"[{iso(latest_start)}, {iso(latest_end)}]",
                    )

    def check_statuses(self) -> None:
        for o in self.outcomes:
            if o.status is None or o.status >= 500 or o.status == 429:
                continue
            if (o.planned.expect == "ok") != (o.status == 200):
                self.fail("unexpectedStatus", f"{o.request_id} {o.planned.kind} got {o.status}: {str(o.body)[:200]}")

    def _tenant_index(self, tenant_id: str) -> int:
        for tenant in self.tenants:
            if tenant.tenant_id == tenant_id:
                return tenant.index
        return -1


# ---------------------------------------------------------------------- figures


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def figures(outcomes: list[Outcome], not_sent: int, seconds: float, kills: int) -> dict[str, Any]:
    statuses = Counter(o.status for o in outcomes)
    acknowledged = [o for o in outcomes if o.status == 200]
    errors = [o for o in outcomes if o.status is not None and o.status >= 500]
    latencies = [o.seconds * 1000 for o in outcomes if o.status is not None]
    return {
        "sent": len(outcomes),
        "notSentBeforeDeadline": not_sent,
        "acknowledged": len(acknowledged),
        "rejected": {
            str(s): n for s, n in sorted(statuses.items(), key=lambda p: p[0] or 0) if s is not None and 400 <= s < 500
        },
        "5xx": {str(s): n for s, n in sorted(statuses.items(), key=lambda p: p[0] or 0) if s is not None and s >= 500},
        "5xxWithoutRetryAfter": sum(1 for o in errors if o.status != 503 or not o.retry_after),
        "noAnswer": sum(1 for o in outcomes if o.status is None),
        "ordersAcknowledged": sum(len(o.planned.items or ()) for o in acknowledged),
        "faultsInjected": kills,
        "seconds": round(seconds, 2),
        "requestsPerSecond": round(len(outcomes) / seconds, 1) if seconds else 0.0,
        "ordersPerSecond": round(sum(len(o.planned.items or ()) for o in acknowledged) / seconds, 1)
        if seconds
        else 0.0,
        "latencyMs": {
            "p50": round(percentile(latencies, 0.50), 1),
            "p95": round(percentile(latencies, 0.95), 1),
            "p99": round(percentile(latencies, 0.99), 1),
            "max": round(max(latencies, default=0.0), 1),
            "mean": round(statistics.fmean(latencies), 1) if latencies else 0.0,
        },
        "kinds": dict(Counter(o.planned.kind.split(":")[0] for o in outcomes)),
    }


# ---------------------------------------------------------------------- main


def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="wms-intake-load-") as tmp:
        workdir = Path(tmp)
        database = Database.fresh(args.store, args.postgres_url, workdir)
        server: ServerProcess | None = None
        container: Container | None = None
        try:
            settings = Settings(database_url=database.url, db_pool_size=2, db_max_overflow=2, worker_threads=2)
            container = build_container(settings)  # creates the tables before the server starts
            tenants = create_tenants(container, args.tenants, rng)
            server_env = dict(pair.split("=", 1) for pair in args.server_env)
            server = ServerProcess(database.url, workdir / "server.log", env=server_env)
            server.start()
            asyncio.run(connect_webhooks(server.base_url, tenants))
            planned = Workload(rng, tenants, args.big_batch, args.max_items).plan(args.requests)
            killer = None
            if args.kill_every and database.schema and database.admin_url:
                killer = BackendKiller(database.admin_url, database.schema, args.kill_every)
                killer.start()
            try:
                outcomes, not_sent, seconds = asyncio.run(
                    send_all(
                        server.base_url, tenants, planned, args.concurrency, args.max_seconds, args.request_timeout
                    )
                )
            finally:
                if killer is not None:
                    killer.stop()
            kills = killer.kills if killer is not None else 0
            report: dict[str, Any] = {
                "store": args.store,
                "concurrency": args.concurrency,
                "tenants": args.tenants,
                "seed": args.seed,
                **figures(outcomes, not_sent, seconds, kills),
            }
            wait_for_projections(container, args.settle_seconds)
            scan = scan_store(container)
            api_orders, status = asyncio.run(read_models(server.base_url, tenants))
            reconciliation = Reconciliation(tenants, outcomes, scan)
            reconciliation.check_statuses()
            report["reconciliation"] = reconciliation.run(api_orders, status)
            report["eventsInStore"] = scan.events
            report["failures"] = reconciliation.failures
            fivexx = sum(report["5xx"].values())
            report["ok"] = (
                not reconciliation.failures
                and report["noAnswer"] == 0
                and (fivexx == 0 if kills == 0 else report["5xxWithoutRetryAfter"] == 0)
            )
            if not report["ok"]:
                report["serverLogTail"] = server.log_tail()
            return report
        finally:
            if server is not None:
                server.stop()
            if container is not None:
                container.close()
            if not args.keep:
                database.drop()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--postgres-url", default=os.environ.get("WMS_INTAKE_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    parser.add_argument("--requests", type=int, default=5000, help="requests to send (upper bound)")
    parser.add_argument("--concurrency", type=int, default=64, help="requests in flight at most")
    parser.add_argument("--tenants", type=int, default=4)
    parser.add_argument("--max-seconds", type=float, default=300.0, help="stop sending after this long")
    parser.add_argument("--request-timeout", type=float, default=120.0)
    parser.add_argument("--settle-seconds", type=float, default=120.0, help="how long read models may take to catch up")
    parser.add_argument(
        "--big-batch", type=int, default=10_000, help="items of the one large batch (the documented limit)"
    )
    parser.add_argument("--max-items", type=int, default=10_000, help="the server's WMS_INTAKE_MAX_BATCH_ITEMS")
    parser.add_argument(
        "--kill-every", type=float, default=0.0, help="PostgreSQL only: terminate a busy backend every N seconds"
    )
    parser.add_argument("--server-env", action="append", default=[], metavar="KEY=VALUE", help="extra server setting")
    parser.add_argument("--seed", type=int, default=20250222)
    parser.add_argument("--json-out", type=Path, help="also write the figures here")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL schema afterwards")
    args = parser.parse_args(argv)
    if args.big_batch > args.max_items:
        parser.error("--big-batch must not exceed --max-items")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report = run(args)
    return emit_report(report, args.json_out)


if __name__ == "__main__":
    raise SystemExit(main())
