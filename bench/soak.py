"""A bounded soak: mixed traffic at about half capacity, PostgreSQL restarted once.

Run from the repository root:

    .venv/bin/python bench/soak.py --minutes 20 --json-out var/soak.json
    .venv/bin/python bench/soak.py --seconds 30          # the smoke CI runs

It needs PostgreSQL's server programs (``initdb``, ``pg_ctl``; Debian puts
them under ``/usr/lib/postgresql/<version>/bin``). It creates a PostgreSQL
cluster of its own in a temporary directory on a free port (as the
``postgres`` user when run as root), so restarting it disturbs no other user
of the machine, and removes it at the end.

Layout: ``wms-intake serve --no-worker`` answering requests and one
``wms-intake worker`` for the read models, geocoding and pulls, as in
production. A fake WMS (an HTTP server in this process, on 127.0.0.1) serves
the pulled orders.

1. Calibration: the mix below, closed loop at a fixed concurrency, measures
   the operations per second the service sustains.
2. The soak: the same mix, open loop at ``--load`` (default half) of that
   rate: webhook singles and batches, invalid batches, "Sync now" pulls,
   order reads by external id, Planning's list, history, "as of", dashboard
   sign-in/session/sign-out. Midway, PostgreSQL is restarted (``pg_ctl
   restart -m fast``). A write that gets no definite answer (a 5xx, a
   dropped connection) is sent again, unchanged, until it gets one; no two
   writes to one order are ever in flight together, so the last acknowledged
   values of every order are known.
3. Every ``--sample-seconds``: RSS of both processes, the read models' lag in
   events (``/metrics``), and the time a just-acknowledged order takes to be
   readable.
4. Reconciliation: every acknowledged order is readable through the API with
   the values last posted; no order that only refused requests named exists;
   the tenant's orders are exactly the acknowledged ones.

The figures are printed as JSON (and written to ``--json-out``). The exit
status is 0 only when the reconciliation found nothing, no request outside
the restart window got a 5xx or no answer, and RSS grew at most
``--max-rss-growth`` between the end of the warm-up and the end of the run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import glob
import os
import pwd
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from aiohttp import web

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bench.bench_tenant import BenchTenant  # noqa: E402
from bench.cli_runner import cli_argv, wms_cli  # noqa: E402
from bench.reports import emit_report  # noqa: E402
from bench.stopping import stop_process  # noqa: E402

LAG_METRIC = re.compile(r'^wms_intake_projection_lag_events\{projection="([^"]+)"\} ([0-9.e+]+)$', re.M)
ADDRESSES = (
    "10 High Street, London SW1A 1AA",
    "3 Station Road, Leeds LS1 4AP",
    "22 Mill Lane, Bristol BS1 5TR",
    "7 Church Street, York YO1 7HH",
    "41 Quay Street, Manchester M3 3JE",
    "5 Castle Street, Edinburgh EH2 3AH",
)
HANDLING = ("fragile", "timed_slot", "tail_lift", "two_person")
#: The mix: operation -> weight.
MIX = (
    ("webhook_single", 34),
    ("webhook_batch", 8),
    ("webhook_invalid", 5),
    ("pull_sync", 3),
    ("read_order", 18),
    ("list_orders", 10),
    ("history", 10),
    ("as_of", 6),
    ("sign_in", 6),
)
WRITES = {"webhook_single", "webhook_batch", "pull_sync"}
BATCH_SIZE = 20
PULL_SIZE = 5


def progress(message: str) -> None:
    print(f"[soak {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _die_with_parent() -> None:
    # Linux: a child gets SIGTERM when the soak dies, even by SIGKILL.
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGTERM)


# ---------------------------------------------------------------------- a private PostgreSQL


def postgres_bin(name: str, explicit: str | None) -> str:
    if explicit:
        return str(Path(explicit) / name)
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return found[-1]
    on_path = shutil.which(name)
    if on_path:
        return on_path
    raise RuntimeError(f"{name} not found: install PostgreSQL's server programs or pass --pg-bin")


class PrivatePostgres:
    """A throwaway cluster on 127.0.0.1:<port>; ``restart`` is a real server restart."""

    def __init__(self, bin_dir: str | None) -> None:
        self.bin_dir = bin_dir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="wms-intake-soak-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self._as_postgres: list[str] = []
        if os.geteuid() == 0:
            # initdb refuses to run as root: the cluster belongs to the postgres user.
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self._as_postgres = ["runuser", "-u", "postgres", "--"]

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, argv: list[str], timeout: float = 120) -> None:
        completed = subprocess.run(
            [*self._as_postgres, *argv], capture_output=True, timeout=timeout, check=False, cwd=self.root
        )
        if completed.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed: {completed.stderr.decode(errors='replace')[-2000:]}")

    def _pg_ctl(self, *action: str) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=60 -c shared_buffers=64MB"
        )
        self._run(
            [
                postgres_bin("pg_ctl", self.bin_dir),
                "-D",
                str(self.data),
                "-l",
                str(self.log),
                "-o",
                options,
                "-w",
                *action,
            ]
        )

    def start(self) -> None:
        self._run(
            [
                postgres_bin("initdb", self.bin_dir),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-instructions",
                "--no-sync",
            ]
        )
        self._pg_ctl("start")

    def restart(self) -> None:
        self._pg_ctl("-m", "fast", "restart")

    def remove(self) -> None:
        with contextlib.suppress(Exception):
            if (self.data / "postmaster.pid").exists():
                self._run([postgres_bin("pg_ctl", self.bin_dir), "-D", str(self.data), "-m", "immediate", "-w", "stop"])
        shutil.rmtree(self.root, ignore_errors=True)


# ---------------------------------------------------------------------- the service


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def rss(self) -> int:
        try:
            for line in Path(f"/proc/{self.popen.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self) -> None:
        stop_process(self.popen)


def service_env(database_url: str, workdir: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("WMS_INTAKE_")}
    existing = os.environ.get("PYTHONPATH")
    return base | {
        "PYTHONPATH": f"{REPO_ROOT}{os.pathsep}{existing}" if existing else str(REPO_ROOT),
        "WMS_INTAKE_DATABASE_URL": database_url,
        "WMS_INTAKE_RATE_LIMIT_PER_SECOND": "0",
        "WMS_INTAKE_PULL_ALLOW_PRIVATE": "true",
        "WMS_INTAKE_SECRET_KEY": secrets.token_urlsafe(40),
        "WMS_INTAKE_LOG_LEVEL": "WARNING",
    }


def start_process(name: str, argv: list[str], env: dict[str, str], workdir: Path) -> Process:
    log = workdir / f"{name}.log"
    with log.open("wb") as sink:
        popen = subprocess.Popen(
            cli_argv(argv), env=env, cwd=workdir, stdout=sink, stderr=sink, preexec_fn=_die_with_parent
        )
    return Process(name, popen, log)


# ---------------------------------------------------------------------- the workload


@dataclass
class Tenant(BenchTenant):
    pull_id: str = ""
    pull_secret: str = ""
    #: Acknowledged external ids in the order first acknowledged (to pick from).
    known: list[str] = field(default_factory=list)
    #: external id -> the values last acknowledged (as JSON: a long soak acknowledges many).
    acked: dict[str, bytes] = field(default_factory=dict)
    #: external ids only refused requests named.
    refused: set[str] = field(default_factory=set)
    busy: set[str] = field(default_factory=set)
    next_id: int = 0
    #: What the fake WMS serves on the next pull, and whether a sync of it is running.
    pull_items: list[dict[str, Any]] = field(default_factory=list)
    pull_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    order_ids: dict[str, str] = field(default_factory=dict)  # external id -> order id


@dataclass
class Sample:
    at: float
    ops: int
    rss: dict[str, int]
    lag_events: dict[str, float]
    visible_after: float | None


@dataclass
class Result:
    op: str
    started: float
    ended: float
    status: int | None  # None: no answer


class Soak:
    def __init__(self, args: argparse.Namespace, base_url: str, wms_url: str, tenants: list[Tenant]) -> None:
        self.args = args
        self.base = base_url
        self.wms_url = wms_url
        self.tenants = tenants
        self.rng = random.Random(args.seed)
        self.results: list[Result] = []
        self.ops, self.weights = zip(*MIX, strict=True)
        self.session: aiohttp.ClientSession | None = None
        self.stop_at = 0.0
        self.in_flight = 0
        self.skipped = 0
        self.retries = 0

    # -------------------------------------------------------------- values

    def values(self, ext: str) -> dict[str, Any]:
        rng = self.rng
        return {
            "externalOrderId": ext,
            "deliveryAddress": rng.choice(ADDRESSES),
            "totalWeight": round(rng.uniform(0.5, 900.0), 2),
            "volume": round(rng.uniform(0.01, 30.0), 3),
            "palletCount": rng.randint(0, 24),
            "specialHandling": rng.sample(HANDLING, rng.randint(0, 2)),
            "plannedDate": (date(2026, 1, 5) + timedelta(days=rng.randint(0, 13))).isoformat(),
        }

    def pick_ids(self, tenant: Tenant, count: int) -> list[str]:
        """Ids no other write has in flight: some new, some already acknowledged (updates)."""
        updates = round(count * self.rng.random()) if tenant.known else 0
        chosen: list[str] = []
        for _ in range(updates * 2):
            ext = self.rng.choice(tenant.known)
            if ext not in tenant.busy and ext not in chosen:
                chosen.append(ext)
                if len(chosen) == updates:
                    break
        while len(chosen) < count:
            tenant.next_id += 1
            chosen.append(f"s{tenant.index}-{tenant.next_id:07d}")
        tenant.busy.update(chosen)
        return chosen

    def acknowledge(self, tenant: Tenant, items: list[dict[str, Any]], answers: list[dict[str, Any]]) -> None:
        for item, answer in zip(items, answers, strict=True):
            ext = item["externalOrderId"]
            if ext not in tenant.acked:
                tenant.known.append(ext)
            tenant.acked[ext] = orjson.dumps(item)
            tenant.order_ids[ext] = answer["orderId"]

    # -------------------------------------------------------------- requests

    async def call(
        self,
        op: str,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        url: str | None = None,
    ) -> tuple[int | None, Any, dict[str, str]]:
        assert self.session is not None
        started = time.monotonic()
        status: int | None = None
        payload: Any = None
        response_headers: dict[str, str] = {}
        try:
            async with self.session.request(
                method, url or f"{self.base}{path}", headers=headers, data=body
            ) as response:
                status = response.status
                raw = await response.read()
                response_headers = dict(response.headers)
                with contextlib.suppress(orjson.JSONDecodeError):
                    payload = orjson.loads(raw) if raw else None
        except (TimeoutError, aiohttp.ClientError):
            status = None
        self.results.append(Result(op, started, time.monotonic(), status))
        return status, payload, response_headers

    async def until_definite(
        self, op: str, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, Any]:
        """Send until the answer is definite (not 5xx, not dropped); the body never changes."""
        while True:
            status, payload, _ = await self.call(op, method, path, headers=headers, body=body)
            if status is not None and status < 500:
                return status, payload
            self.retries += 1
            await asyncio.sleep(0.5)

    def webhook_headers(self, tenant: Tenant) -> dict[str, str]:
        return {"Authorization": f"Bearer {tenant.secret}", "Content-Type": "application/json"}

    def admin(self, tenant: Tenant) -> dict[str, str]:
        return {"Authorization": f"Bearer {tenant.admin_key}"}

    async def run_op(self, op: str) -> None:
        self.in_flight += 1
        try:
            await getattr(self, op)(self.rng.choice(self.tenants))
        finally:
            self.in_flight -= 1

    async def webhook_single(self, tenant: Tenant) -> None:
        await self._write(tenant, self.pick_ids(tenant, 1), single=True)

    async def webhook_batch(self, tenant: Tenant) -> None:
        await self._write(tenant, self.pick_ids(tenant, BATCH_SIZE), single=False)

    async def _write(self, tenant: Tenant, ids: list[str], single: bool) -> None:
        items = [self.values(ext) for ext in ids]
        body = orjson.dumps(items[0] if single else items)
        op = "webhook_single" if single else "webhook_batch"
        try:
            status, payload = await self.until_definite(
                op, "POST", f"/api/integrations/wms/{tenant.tenant_id}", self.webhook_headers(tenant), body
            )
            if status == 200:
                self.acknowledge(tenant, items, payload["orders"])
        finally:
            tenant.busy.difference_update(ids)

    async def webhook_invalid(self, tenant: Tenant) -> None:
        # Ids of their own, never acknowledged: they must never exist.
        tenant.next_id += 1
        ext = f"bad{tenant.index}-{tenant.next_id:07d}"
        good = self.values(f"bad{tenant.index}-{tenant.next_id:07d}-ok")
        broken = self.values(ext) | {"totalWeight": "heavy", "plannedDate": "2026-02-30"}
        tenant.refused.update({ext, good["externalOrderId"]})
        body = orjson.dumps([good, broken])
        await self.until_definite(
            "webhook_invalid", "POST", f"/api/integrations/wms/{tenant.tenant_id}", self.webhook_headers(tenant), body
        )

    async def pull_sync(self, tenant: Tenant) -> None:
        if tenant.pull_lock.locked():
            return
        async with tenant.pull_lock:
            ids = self.pick_ids(tenant, PULL_SIZE)
            try:
                tenant.pull_items = [self.values(ext) for ext in ids]
                path = f"/api/tenants/{tenant.tenant_id}/integrations/wms/pull-endpoints/{tenant.pull_id}/sync"
                while True:
                    status, payload = await self.until_definite("pull_sync", "POST", path, self.admin(tenant), b"")
                    if status == 200:
                        self.acknowledge(tenant, tenant.pull_items, payload["orders"])
                        return
                    # 502: the pull itself failed (e.g. the WMS call timed out); the
                    # sync stored nothing, so the same items may be pulled again.
                    self.retries += 1
                    await asyncio.sleep(0.5)
            finally:
                tenant.busy.difference_update(ids)

    async def read_order(self, tenant: Tenant) -> None:
        ext = self._known(tenant) or "none"
        await self.tenant_read("read_order", tenant, f"/orders/by-external-id/{ext}")

    async def list_orders(self, tenant: Tenant) -> None:
        day = (date(2026, 1, 5) + timedelta(days=self.rng.randint(0, 13))).isoformat()
        await self.tenant_read("list_orders", tenant, f"/orders?plannedDate={day}&limit=100")

    async def history(self, tenant: Tenant) -> None:
        await self.tenant_read("history", tenant, f"/orders/{self._known_order(tenant)}/history")

    async def as_of(self, tenant: Tenant) -> None:
        await self.tenant_read("as_of", tenant, f"/orders/{self._known_order(tenant)}?asOfVersion=1")

    async def tenant_read(self, op: str, tenant: Tenant, path: str) -> None:
        """One GET of ``tenant``'s API (``path`` after ``/api/tenants/{id}``) with its admin key."""
        await self.call(op, "GET", f"/api/tenants/{tenant.tenant_id}{path}", headers=self.admin(tenant))

    async def sign_in(self, tenant: Tenant) -> None:
        # A browser of its own: the session cookie lives only for this sign-in.
        # aiohttp keeps cookies of an IP-address host only when told to.
        jar = aiohttp.CookieJar(unsafe=True)
        timeout = aiohttp.ClientTimeout(total=self.args.request_timeout)
        async with aiohttp.ClientSession(timeout=timeout, cookie_jar=jar) as browser:
            started = time.monotonic()
            try:
                async with browser.post(f"{self.base}/dashboard/session", json={"apiKey": tenant.admin_key}) as r:
                    status = r.status
                    body = orjson.loads(await r.read()) if status == 201 else None
                self.results.append(Result("sign_in", started, time.monotonic(), status))
                if body is None:
                    return
                started = time.monotonic()
                async with browser.get(f"{self.base}/api/tenants/{tenant.tenant_id}/integrations") as r:
                    await r.read()
                    self.results.append(Result("sign_in", started, time.monotonic(), r.status))
                started = time.monotonic()
                async with browser.delete(
                    f"{self.base}/dashboard/session", headers={"X-CSRF-Token": body["csrfToken"]}
                ) as r:
                    await r.read()
                    self.results.append(Result("sign_in", started, time.monotonic(), r.status))
            except (TimeoutError, aiohttp.ClientError):
                self.results.append(Result("sign_in", started, time.monotonic(), None))

    def _known(self, tenant: Tenant) -> str | None:
        return self.rng.choice(tenant.known) if tenant.known else None

    def _known_order(self, tenant: Tenant) -> str:
        ext = self._known(tenant)
        return (
            tenant.order_ids.get(ext, "00000000-0000-0000-0000-000000000000")
            if ext
            else "00000000-0000-0000-0000-000000000000"
        )

    # -------------------------------------------------------------- driving

    async def closed_loop(self, seconds: float, concurrency: int) -> float:
        """Operations per second at ``concurrency`` in flight (the calibration)."""
        count = 0
        deadline = time.monotonic() + seconds
        started = time.monotonic()

        async def worker() -> None:
            nonlocal count
            while time.monotonic() < deadline:
                await self.run_op(self.rng.choices(self.ops, self.weights)[0])
                count += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return count / (time.monotonic() - started)

    async def open_loop(self, rate: float, seconds: float, max_in_flight: int) -> int:
        """Start operations at ``rate`` per second (Poisson arrivals) for ``seconds``."""
        tasks: set[asyncio.Task[None]] = set()
        sent = 0
        deadline = time.monotonic() + seconds
        next_at = time.monotonic()
        while next_at < deadline:
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            next_at += self.rng.expovariate(rate)
            if self.in_flight >= max_in_flight:
                self.skipped += 1
                continue
            task = asyncio.create_task(self.run_op(self.rng.choices(self.ops, self.weights)[0]))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            sent += 1
        if tasks:
            await asyncio.wait(tasks, timeout=self.args.drain_seconds)
        return sent

    async def visibility(self, tenant: Tenant, within: float = 30.0) -> float | None:
        """Seconds from a webhook's 200 until the order reads back (None: not measured)."""
        tenant.next_id += 1
        ext = f"probe{tenant.index}-{tenant.next_id:07d}"
        tenant.busy.add(ext)
        item = self.values(ext)
        path = f"/api/integrations/wms/{tenant.tenant_id}"
        status, payload, _ = await self.call(
            "probe", "POST", path, headers=self.webhook_headers(tenant), body=orjson.dumps(item)
        )
        definite = status is not None and status < 500
        if not definite:
            # Stored or not? Settle it by sending it again until the answer is definite.
            status, payload = await self.until_definite(
                "probe", "POST", path, self.webhook_headers(tenant), orjson.dumps(item)
            )
        tenant.busy.discard(ext)
        if status != 200:
            tenant.refused.add(ext)
            return None
        acked_at = time.monotonic()
        self.acknowledge(tenant, [item], payload["orders"])
        if not definite:
            return None
        read = f"/api/tenants/{tenant.tenant_id}/orders/by-external-id/{ext}"
        while time.monotonic() - acked_at < within:
            status, _, _ = await self.call("probe_read", "GET", read, headers=self.admin(tenant))
            if status == 200:
                return time.monotonic() - acked_at
            await asyncio.sleep(0.01)
        return None


# ---------------------------------------------------------------------- the fake WMS


async def start_fake_wms(tenants: dict[str, Tenant]) -> tuple[web.AppRunner, str]:
    async def orders(request: web.Request) -> web.Response:
        tenant = tenants[request.match_info["index"]]
        if request.headers.get("Authorization") != f"Bearer {tenant.pull_secret}":
            return web.json_response({"error": "unauthorized"}, status=401)
        return web.Response(body=orjson.dumps(tenant.pull_items), content_type="application/json")

    app = web.Application()
    app.router.add_get("/wms/{index}/orders", orders)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


# ---------------------------------------------------------------------- figures


def in_window(result: Result, window: tuple[float, float] | None) -> bool:
    return window is not None and result.ended >= window[0] and result.started <= window[1]


def summarise_rss(samples: list[Sample], warm_until: float, end: float) -> dict[str, Any]:
    """Per process: median RSS of the first minute after warm-up, of the last minute, growth."""
    out: dict[str, Any] = {}
    names = sorted({name for s in samples for name in s.rss})
    span = min(60.0, max(5.0, (end - warm_until) / 4))
    for name in names:
        first = [s.rss[name] for s in samples if warm_until <= s.at <= warm_until + span and s.rss.get(name)]
        last = [s.rss[name] for s in samples if s.at >= end - span and s.rss.get(name)]
        every = [s.rss[name] for s in samples if s.rss.get(name)]
        if not first or not last:
            continue
        base, final = statistics.median(first), statistics.median(last)
        out[name] = {
            "afterWarmUpMiB": round(base / 2**20, 1),
            "endMiB": round(final / 2**20, 1),
            "peakMiB": round(max(every) / 2**20, 1),
            "growth": round(final / base - 1, 4),
        }
    return out


async def reconcile(soak: Soak) -> dict[str, Any]:
    """Every acknowledged order reads back with its last posted values; nothing else exists."""
    counts: Counter[str] = Counter()
    failures: list[str] = []
    fields = ("deliveryAddress", "totalWeight", "volume", "palletCount", "specialHandling", "plannedDate")
    assert soak.session is not None
    for tenant in soak.tenants:
        stored: dict[str, dict[str, Any]] = {}
        cursor: str | None = None
        while True:
            query = "?limit=1000" + (f"&cursor={cursor}" if cursor else "")
            status, page, _ = await soak.call(
                "reconcile", "GET", f"/api/tenants/{tenant.tenant_id}/orders{query}", headers=soak.admin(tenant)
            )
            if status != 200:
                raise RuntimeError(f"listing orders answered {status}")
            for order in page["orders"]:
                stored[order["externalOrderId"]] = order
            cursor = page["nextCursor"]
            if not cursor:
                break
        for ext, raw in tenant.acked.items():
            posted = orjson.loads(raw)
            found = stored.get(ext)
            if found is None:
                counts["acknowledgedButMissing"] += 1
                failures.append(f"missing {ext}")
                continue
            wrong = [f for f in fields if found.get(f) != posted[f]]
            if wrong:
                counts["acknowledgedWithOtherValues"] += 1
                failures.append(f"{ext}: {wrong}")
        for ext in stored:
            if ext in tenant.refused:
                counts["refusedButStored"] += 1
                failures.append(f"refused {ext} stored")
            elif ext not in tenant.acked:
                counts["storedButNeverAcknowledged"] += 1
                failures.append(f"unexpected {ext}")
        counts["ordersChecked"] += len(tenant.acked)
    return {"counts": dict(counts), "failures": failures[:20]}


# ---------------------------------------------------------------------- main


async def drive(
    args: argparse.Namespace,
    pg: PrivatePostgres,
    serve: Process,
    worker: Process,
    base: str,
    env: dict[str, str],
    workdir: Path,
) -> dict[str, Any]:
    created = await asyncio.gather(
        *(
            asyncio.to_thread(wms_cli, ["tenants", "create", "--name", f"Soak tenant {index}"], env, workdir, 120)
            for index in range(args.tenants)
        )
    )
    tenants = [Tenant(index, c["tenantId"], c["adminApiKey"]) for index, c in enumerate(created)]
    by_index = {str(t.index): t for t in tenants}
    wms_runner, wms_url = await start_fake_wms(by_index)
    timeout = aiohttp.ClientTimeout(total=args.request_timeout)
    connector = aiohttp.TCPConnector(limit=args.max_in_flight + 8)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        soak = Soak(args, base, wms_url, tenants)
        soak.session = session
        for tenant in tenants:
            status, body, _ = await soak.call(
                "setup", "POST", f"/api/tenants/{tenant.tenant_id}/integrations/wms/webhook", headers=soak.admin(tenant)
            )
            if status != 201:
                raise RuntimeError(f"Connect WMS answered {status}")
            tenant.secret = body["secret"]
            status, body, _ = await soak.call(
                "setup",
                "POST",
                f"/api/tenants/{tenant.tenant_id}/integrations/wms/pull-endpoints",
                headers=soak.admin(tenant) | {"Content-Type": "application/json"},
                body=orjson.dumps({"url": f"{wms_url}/wms/{tenant.index}/orders", "method": "GET"}),
            )
            if status != 201:
                raise RuntimeError(f"adding a pull endpoint answered {status}: {body}")
            tenant.pull_id = body["id"]
            tenant.pull_secret = body["secret"]

        progress(f"calibrating for {args.calibrate_seconds:g}s at concurrency {args.calibrate_concurrency}")
        capacity = await soak.closed_loop(args.calibrate_seconds, args.calibrate_concurrency)
        rate = max(1.0, capacity * args.load)
        progress(f"capacity {capacity:.1f} ops/s; soaking at {rate:.1f} ops/s for {args.duration:g}s")
        calibration_results = len(soak.results)

        samples: list[Sample] = []
        window: list[float] = []
        begin = time.monotonic()
        ops_before = len(soak.results)

        stop_sampling = asyncio.Event()

        async def sampler() -> None:
            nonlocal ops_before
            turn = 0
            while not stop_sampling.is_set():
                at = time.monotonic() - begin
                lags: dict[str, float] = {}
                with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
                    async with session.get(f"{base}/metrics") as r:
                        if r.status == 200:
                            lags = {k: float(v) for k, v in LAG_METRIC.findall(await r.text())}
                visible = await soak.visibility(tenants[turn % len(tenants)])
                turn += 1
                samples.append(
                    Sample(
                        at,
                        len(soak.results) - ops_before,
                        {"serve": serve.rss(), "worker": worker.rss()},
                        lags,
                        visible,
                    )
                )
                ops_before = len(soak.results)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop_sampling.wait(), args.sample_seconds)

        async def restarter() -> None:
            await asyncio.sleep(args.duration * args.restart_at)
            progress("restarting PostgreSQL")
            window.append(time.monotonic())
            await asyncio.to_thread(pg.restart)
            # Recovered: the service says ready again.
            while True:
                with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
                    async with session.get(f"{base}/readyz") as r:
                        if r.status == 200:
                            break
                await asyncio.sleep(0.05)
            window.append(time.monotonic())
            progress(f"PostgreSQL restarted; service ready after {window[1] - window[0]:.1f}s")

        sampling = asyncio.create_task(sampler())
        restarting = asyncio.create_task(restarter())
        sent = await soak.open_loop(rate, args.duration, args.max_in_flight)
        await restarting
        stop_sampling.set()
        await sampling
        end = time.monotonic() - begin

        # Read models catch up, then the reconciliation.
        settle_deadline = time.monotonic() + args.settle_seconds
        while True:
            async with session.get(f"{base}/metrics") as r:
                lags = {k: float(v) for k, v in LAG_METRIC.findall(await r.text())}
            if lags and not any(lags.values()):
                break
            if time.monotonic() > settle_deadline:
                raise RuntimeError(f"read models still behind after {args.settle_seconds}s: {lags}")
            await asyncio.sleep(0.2)
        reconciliation = await reconcile(soak)
    await wms_runner.cleanup()

    grace = args.restart_grace
    restart_window = (window[0] - 1.0, window[1] + grace) if len(window) == 2 else None
    measured = soak.results[calibration_results:]
    status_counts: Counter[str] = Counter()
    outside: Counter[str] = Counter()
    inside: Counter[str] = Counter()
    for r in measured:
        if r.op == "reconcile":
            continue
        key = "noAnswer" if r.status is None else str(r.status)
        status_counts[key] += 1
        if r.status is None or r.status >= 500:
            (inside if in_window(r, restart_window) else outside)[f"{r.op}:{key}"] += 1
    warm_until = min(args.warm_up_seconds, end / 4)
    rss = summarise_rss(samples, warm_until, end)
    lag_series = [
        {
            "at": round(s.at, 1),
            "lagEvents": max(s.lag_events.values(), default=None),
            "visibleAfterMs": None if s.visible_after is None else round(s.visible_after * 1000, 1),
            "rssMiB": {k: round(v / 2**20, 1) for k, v in s.rss.items()},
            "opsSinceLast": s.ops,
        }
        for s in samples
    ]
    visible = sorted(
        s.visible_after
        for s in samples
        if s.visible_after is not None
        and not (restart_window and restart_window[0] - begin <= s.at <= restart_window[1] - begin)
    )
    report: dict[str, Any] = {
        "seconds": round(end, 1),
        "capacityOpsPerSecond": round(capacity, 1),
        "targetOpsPerSecond": round(rate, 1),
        "operationsStarted": sent,
        "operationsSkipped": soak.skipped,
        "requests": len(measured),
        "retriedWrites": soak.retries,
        "statuses": dict(sorted(status_counts.items())),
        "restartWindowSeconds": None
        if restart_window is None
        else [round(restart_window[0] - begin, 1), round(restart_window[1] - begin, 1)],
        "fiveXxOutsideRestartWindow": dict(outside),
        "fiveXxInsideRestartWindow": dict(inside),
        "rss": rss,
        "readModel": {
            "maxLagEvents": max((v for s in samples for v in s.lag_events.values()), default=None),
            "visibleAfterMs": {
                "p50": round(statistics.median(visible) * 1000, 1) if visible else None,
                "p99": round(visible[min(len(visible) - 1, int(len(visible) * 0.99))] * 1000, 1) if visible else None,
                "max": round(visible[-1] * 1000, 1) if visible else None,
            },
        },
        "reconciliation": reconciliation,
        "samples": lag_series,
    }
    rss_ok = all(p["growth"] <= args.max_rss_growth for p in rss.values()) if args.check_rss else True
    report["ok"] = not outside and not reconciliation["failures"] and rss_ok and restart_window is not None
    return report


def run(args: argparse.Namespace) -> dict[str, Any]:
    pg = PrivatePostgres(args.pg_bin)
    workdir = Path(tempfile.mkdtemp(prefix="wms-intake-soak-"))
    processes: list[Process] = []
    try:
        progress(f"starting a private PostgreSQL on 127.0.0.1:{pg.port}")
        pg.start()
        env = service_env(pg.url, workdir)
        port = free_port()
        serve = start_process(
            "serve",
            ["serve", "--processes", "1", "--no-worker", "--host", "127.0.0.1", "--port", str(port)],
            env,
            workdir,
        )
        processes.append(serve)
        worker = start_process("worker", ["worker"], env, workdir)
        processes.append(worker)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            if serve.popen.poll() is not None:
                raise RuntimeError(f"serve exited:\n{serve.tail()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                sock.sendall(b"GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                if sock.recv(64).startswith(b"HTTP/1.1 200"):
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"serve not ready within 60s:\n{serve.tail()}")
            time.sleep(0.1)
        report = asyncio.run(drive(args, pg, serve, worker, base, env, workdir))
        if not report["ok"]:
            report["serveLogTail"] = serve.tail()
            report["workerLogTail"] = worker.tail()
        return report
    finally:
        for process in processes:
            process.stop()
        pg.remove()
        shutil.rmtree(workdir, ignore_errors=True)


def markdown(report: dict[str, Any]) -> str:
    """The run as a short markdown summary: the figures, then one row per minute."""
    rss = report["rss"]
    window = report["restartWindowSeconds"]
    lines = [
        f"- capacity {report['capacityOpsPerSecond']} ops/s measured, soaked at {report['targetOpsPerSecond']} ops/s "
        f"for {report['seconds']} s: {report['requests']} requests, statuses {report['statuses']}",
        f"- PostgreSQL restarted at {window[0] + 1:.0f} s; restart window (to ready + grace) {window[0]}–{window[1]} s; "
        f"5xx inside it: {sum(report['fiveXxInsideRestartWindow'].values())}, outside it: "
        f"{sum(report['fiveXxOutsideRestartWindow'].values())}; writes re-sent after no definite answer: {report['retriedWrites']}",
        "- RSS after warm-up → end (peak), growth: "
        + "; ".join(
            f"{name} {r['afterWarmUpMiB']} → {r['endMiB']} MiB ({r['peakMiB']}), {r['growth'] * 100:+.1f}%"
            for name, r in rss.items()
        ),
        f"- read model: lag at most {report['readModel']['maxLagEvents']} events; an acknowledged order readable after "
        f"p50 {report['readModel']['visibleAfterMs']['p50']} ms, p99 {report['readModel']['visibleAfterMs']['p99']} ms, "
        f"max {report['readModel']['visibleAfterMs']['max']} ms",
        f"- reconciliation: {report['reconciliation']['counts']}, failures {report['reconciliation']['failures'] or 'none'}",
        "",
        "| minute | serve RSS MiB | worker RSS MiB | max lag (events) | readable after (ms, max) | requests |",
        "|---|---|---|---|---|---|",
    ]
    by_minute: dict[int, list[dict[str, Any]]] = {}
    for sample in report["samples"]:
        by_minute.setdefault(int(sample["at"] // 60), []).append(sample)
    for minute, samples in sorted(by_minute.items()):
        lags = [s["lagEvents"] for s in samples if s["lagEvents"] is not None]
        visible = [s["visibleAfterMs"] for s in samples if s["visibleAfterMs"] is not None]
        lines.append(
            f"| {minute} | {samples[-1]['rssMiB'].get('serve')} | {samples[-1]['rssMiB'].get('worker')} | "
            f"{max(lags) if lags else '–'} | {max(visible) if visible else '–'} | {sum(s['opsSinceLast'] for s in samples)} |"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--minutes", type=float, help="length of the soak (after calibration)")
    length.add_argument("--seconds", type=float, help="the same, in seconds")
    parser.add_argument("--load", type=float, default=0.5, help="share of the measured capacity to send")
    parser.add_argument("--calibrate-seconds", type=float, default=None)
    parser.add_argument("--calibrate-concurrency", type=int, default=16)
    parser.add_argument("--max-in-flight", type=int, default=64)
    parser.add_argument("--tenants", type=int, default=3)
    parser.add_argument("--restart-at", type=float, default=0.5, help="when to restart PostgreSQL (share of the run)")
    parser.add_argument(
        "--restart-grace",
        type=float,
        default=5.0,
        help="seconds after the service is ready again still counted in the restart window",
    )
    parser.add_argument("--warm-up-seconds", type=float, default=180.0)
    parser.add_argument("--sample-seconds", type=float, default=None)
    parser.add_argument("--max-rss-growth", type=float, default=0.10)
    parser.add_argument(
        "--no-rss-check",
        dest="check_rss",
        action="store_false",
        help="report RSS without judging it (runs too short for a warm-up)",
    )
    parser.add_argument("--request-timeout", type=float, default=60.0)
    parser.add_argument("--drain-seconds", type=float, default=120.0)
    parser.add_argument("--settle-seconds", type=float, default=120.0)
    parser.add_argument("--pg-bin", help="directory of initdb and pg_ctl")
    parser.add_argument("--seed", type=int, default=20261204)
    parser.add_argument("--json-out", type=Path)
    parser.add_argument("--summarise", type=Path, metavar="JSON", help="print the markdown summary of an earlier run")
    args = parser.parse_args(argv)
    args.duration = (
        args.seconds if args.seconds is not None else 60 * (args.minutes if args.minutes is not None else 20)
    )
    if args.calibrate_seconds is None:
        args.calibrate_seconds = 30.0 if args.duration >= 300 else 4.0
    if args.sample_seconds is None:
        args.sample_seconds = 10.0 if args.duration >= 300 else 1.0
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.summarise:
        print(markdown(orjson.loads(args.summarise.read_bytes())))
        return 0
    report = run(args)
    with contextlib.suppress(Exception):
        progress("summary:\n" + markdown(report))
    return emit_report(report, args.json_out)


if __name__ == "__main__":
    raise SystemExit(main())
