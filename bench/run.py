"""The ingest benchmark: our service against reference figures from the same run.

    bin/bench [--store postgres|sqlite|both] [--quick] [--out FILE.json] [--load-tool auto|wrk|python]
              [--topology embedded|split|production|all] [--processes N] [--no-scaling]

For each store it starts the service as a subprocess (``python -m interfaces.cli
serve``) on a fresh PostgreSQL schema or a temporary SQLite file, with the
per-tenant rate limit off, creates a tenant with the CLI, connects the webhook
through the API, and drives it from a separate process (``bench/load_client.py``,
which uses wrk when asked or found). It measures:

- single-order webhook requests/s and p50/p99 latency at 1, 8 and 32 connections;
- orders/s for sequential batches of 1, 100, 1,000 and 10,000 orders, new and updates;
- read-model lag: from the last 200 of a phase until ``/metrics`` shows every
  projection caught up, and the most events behind seen during the phase;
- peak RSS of the server during the 10,000-order batches (``/proc/<pid>/status``);
- ``wms-intake projections rebuild`` events/s per read model, after the load.

It does so for the embedded topology (one process) and, on PostgreSQL, again for
the production one (``serve --processes N``: N HTTP processes on one port and a
worker; N defaults to the cores). Then, per store, single-order webhooks at the
top concurrency with 1 and with 2 HTTP processes (each beside one worker), and
their ratio.

The references (``bench/references.py``) run in the same invocation and each of
our figures is printed with its ratio to the matching one and whether the target
of the "Performance" issue is met. The table goes to stdout (markdown), every
number to the JSON file. Every load is bounded: webhook phases by seconds (and
by requests with the asyncio client), batch phases by count. ``--quick`` shrinks
every size for the CI smoke run (its ratios mean little); ``--postgres-url``
names the database holding the scratch schemas (default: the test database).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import functools
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson
import psycopg

# Run as a script (bin/bench), so the repository root is put on the path by hand.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.cli_runner import wms_cli as run_cli
from bench.references import measure_references
from bench.stopping import stop_process

ROOT = Path(__file__).resolve().parent.parent

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
LOAD_CLIENT = ROOT / "bench" / "load_client.py"
LAG_METRIC = re.compile(r'^wms_intake_projection_lag_events\{projection="([^"]+)"\} ([0-9.e+]+)$', re.M)
CAUGHT_UP_TIMEOUT = 60.0  # the load client's LAG_TIMEOUT
MB = 1_000_000
_T0 = time.monotonic()


def progress(message: str) -> None:
    """One line on stderr per phase, so a long run shows where it is."""
    sys.stderr.write(f"[{time.monotonic() - _T0:6.1f}s] {message}\n")
    sys.stderr.flush()


@dataclass(frozen=True)
class Plan:
    """How much load each phase sends (upper bounds: count and seconds)."""

    name: str
    concurrencies: list[int]
    webhook_seconds: float
    webhook_max_requests: int
    batch_counts: dict[int, int]  # batch size -> batches sent one after another
    ratio_size: int  # the batch size the targets are stated for
    big_size: int  # the batch during which server RSS is sampled


FULL = Plan("full", [1, 8, 32], 5.0, 50_000, {1: 200, 100: 30, 1000: 10, 10_000: 2}, 1000, 10_000)
QUICK = Plan("quick", [1, 32], 0.5, 60, {1: 3, 100: 2, 1000: 1}, 100, 1000)


# --------------------------------------------------------------------- processes


@dataclass
class Server:
    """A server subprocess listening on 127.0.0.1."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def http(method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


class Harness:
    """Starts servers in a scratch directory and runs the load client (the ``Driver``
    that ``bench/references.py`` uses too)."""

    def __init__(self, scratch: Path, load_tool: str, plan: Plan) -> None:
        self.scratch = scratch
        self.load_tool = load_tool
        self.plan = plan

    @contextlib.contextmanager
    def serving(self, argv: list[str], env: dict[str, str], name: str) -> Iterator[Server]:
        port = free_port()
        log = self.scratch / f"{name}-{port}.log"
        full_env = {**os.environ, "PYTHONPATH": _pythonpath(), **env}
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [*argv, "--port", str(port)],
                env=full_env,
                cwd=self.scratch,
                stdout=sink,
                stderr=sink,
                preexec_fn=_die_with_parent,  # no helper thread runs while servers start
            )
        server = Server(name, process, port, log)
        try:
            _wait_healthy(server)
            progress(f"{name} listening on 127.0.0.1:{port}")
            yield server
        finally:
            _stop(server)
            progress(f"{name} stopped")

    def webhook_load(
        self, url: str, concurrency: int, prefix: str, auth: str | None, lag_url: str | None = None
    ) -> dict[str, Any]:
        plan = self.plan
        argv = [
            "webhook",
            "--url",
            url,
            "--concurrency",
            str(concurrency),
            "--prefix",
            prefix,
            "--duration",
            str(plan.webhook_seconds),
            "--max-requests",
            str(plan.webhook_max_requests),
            "--tool",
            self.load_tool,
        ]
        return self._load(argv + (["--lag-url", lag_url] if lag_url else []), auth, plan.webhook_seconds + 120)

    def batch_load(
        self, url: str, size: int, count: int, prefix: str, update: bool, auth: str | None, lag_url: str | None = None
    ) -> dict[str, Any]:
        argv = ["batches", "--url", url, "--size", str(size), "--count", str(count), "--prefix", prefix]
        argv += (["--update"] if update else []) + (["--lag-url", lag_url] if lag_url else [])
        return self._load(argv, auth, 600)

    def _load(self, argv: list[str], auth: str | None, timeout: float) -> dict[str, Any]:
        progress(" ".join(a for a in argv if not a.startswith("http")))
        env = {**os.environ, "PYTHONPATH": _pythonpath()}
        env.pop("BENCH_AUTHORIZATION", None)
        if auth:
            env["BENCH_AUTHORIZATION"] = auth
        completed = subprocess.run(
            [sys.executable, str(LOAD_CLIENT), *argv], env=env, capture_output=True, timeout=timeout, check=False
        )
        if completed.returncode != 0:
            raise RuntimeError(f"load client {argv[0]} failed: {completed.stderr.decode(errors='replace')[-2000:]}")
        result: dict[str, Any] = orjson.loads(completed.stdout.splitlines()[-1])
        # A reading of the machine's monotonic clock: used by the client for the lag, meaningless here.
        result.pop("lastResponseMonotonic", None)
        return result


def _die_with_parent() -> None:
    # Linux: the server gets SIGTERM if the benchmark dies, even by SIGKILL (a
    # test timeout), so no server outlives its run. Elsewhere: best effort.
    with contextlib.suppress(Exception):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _pythonpath() -> str:
    existing = os.environ.get("PYTHONPATH")
    return f"{ROOT}{os.pathsep}{existing}" if existing else str(ROOT)


def _wait_healthy(server: Server, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited with {server.process.returncode}:\n{server.log_tail()}")
        try:
            if http("GET", server.url("/healthz"))[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{server.name} did not answer /healthz within {timeout:.0f}s:\n{server.log_tail()}")


def _stop(server: Server) -> None:
    stop_process(server.process)


def wms_cli(args: list[str], env: dict[str, str], cwd: Path) -> dict[str, Any]:
    """Run one ``wms-intake`` command (this checkout's) and return its JSON output."""
    progress(f"wms-intake {' '.join(args)}")
    return run_cli(args, {**os.environ, "PYTHONPATH": _pythonpath(), **env}, cwd, timeout=600)


# --------------------------------------------------------------------- observing the server


def projection_lags(server: Server) -> dict[str, float]:
    status, body = http("GET", server.url("/metrics"))
    if status != 200:
        raise RuntimeError(f"/metrics answered {status}")
    return {name: float(value) for name, value in LAG_METRIC.findall(body.decode())}


class Sampler:
    """A background thread taking a reading every ``interval`` seconds, keeping the maximum."""

    def __init__(self, read: Any, interval: float) -> None:
        self._read = read
        self._interval = interval
        self._stop = threading.Event()
        self.peak = 0.0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(Exception):
                self.peak = max(self.peak, float(self._read()))
            self._stop.wait(self._interval)


def proc_status_bytes(pid: int, key: str) -> int:
    """``VmRSS`` / ``VmHWM`` of a process, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    return 0


def process_tree(pid: int) -> list[int]:
    """``pid`` and its live descendants (``serve --processes N`` runs its work in children)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat = (entry / "stat").read_text()
                parents[int(entry.name)] = int(stat[stat.rindex(")") + 2 :].split()[1])
    tree, frontier = [pid], [pid]
    while frontier:
        frontier = [child for child, parent in parents.items() if parent in frontier]
        tree += frontier
    return tree


def largest_process_bytes(pids: list[int], key: str) -> int:
    """The largest ``key`` (VmRSS, VmHWM) among ``pids``: the targets are per process."""
    values = []
    for pid in pids:
        with contextlib.suppress(OSError):
            values.append(proc_status_bytes(pid, key))
    return max(values, default=0)


# --------------------------------------------------------------------- one store


@contextlib.contextmanager
def scratch_database(store: str, postgres_url: str, scratch: Path) -> Iterator[str]:
    """A fresh PostgreSQL schema or SQLite file, gone afterwards."""
    if store == "sqlite":
        yield f"sqlite:///{scratch / 'bench-intake.sqlite3'}"
        return
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        separator = "&" if "?" in postgres_url else "?"
        yield f"{postgres_url}{separator}schema={schema}"
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@contextlib.contextmanager
def background_worker(env: dict[str, str], workdir: Path, enabled: bool) -> Iterator[None]:
    """The split topology: background work (projections, geocoding, pulls) in
    its own ``wms-intake worker`` process, beside ``serve --no-worker``."""
    if not enabled:
        yield
        return
    log = workdir / "worker.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "interfaces.cli", "worker"],
            env={**os.environ, "PYTHONPATH": _pythonpath(), **env},
            cwd=workdir,
            stdout=sink,
            stderr=sink,
            preexec_fn=_die_with_parent,
        )
    try:
        yield
    finally:
        stop_process(process, signal.SIGTERM, grace=10)
        progress("wms-intake worker stopped")


def serve_argv(topology: str, processes: int) -> list[str]:
    """embedded: one process does everything; split: ``serve --no-worker`` (a worker
    beside it); production: ``serve --processes N`` (N HTTP processes and a worker)."""
    serve = [sys.executable, "-m", "interfaces.cli", "serve"]
    if topology == "production":
        return [*serve, "--processes", str(processes)]
    return [*serve, "--processes", "1", *(["--no-worker"] if topology == "split" else [])]


def measure_store(
    harness: Harness, store: str, plan: Plan, postgres_url: str, topology: str = "embedded", processes: int = 1
) -> dict[str, Any]:
    workdir = harness.scratch / f"{store}-{topology}"
    workdir.mkdir()
    result: dict[str, Any] = {"webhook": [], "batches": [], "lag": [], "topology": topology}
    if topology == "production":
        result["processes"] = processes
    with scratch_database(store, postgres_url, workdir) as database_url:
        env = {"WMS_INTAKE_DATABASE_URL": database_url, "WMS_INTAKE_RATE_LIMIT_PER_SECOND": "0"}
        store_harness = Harness(workdir, harness.load_tool, plan)
        split = topology == "split"
        with (
            background_worker(env, workdir, split),
            store_harness.serving(serve_argv(topology, processes), env, f"wms-intake-{store}-{topology}") as server,
        ):
            webhook_url, auth = _connect_webhook(server, env, workdir)
            metrics_url = server.url("/metrics")
            store_harness.batch_load(webhook_url, 10, 3, "warmup", False, auth, metrics_url)
            for concurrency in plan.concurrencies:
                with _lag_sampler(server) as behind:
                    run = store_harness.webhook_load(webhook_url, concurrency, f"w{concurrency}", auth, metrics_url)
                result["webhook"].append(run)
                _record_lag(result, f"webhook c={concurrency}", run, behind)
            for size, count in plan.batch_counts.items():
                for update in (False, True):
                    # RSS is sampled only around the big batches: a 5 ms poll costs CPU.
                    pids = process_tree(server.pid) if size == plan.big_size else []
                    rss = Sampler(functools.partial(largest_process_bytes, pids, "VmRSS"), 0.005)
                    with _lag_sampler(server) as behind, rss if size == plan.big_size else contextlib.nullcontext():
                        run = store_harness.batch_load(webhook_url, size, count, f"b{size}", update, auth, metrics_url)
                    if size == plan.big_size:
                        run["peakRssBytes"] = int(rss.peak)
                        run["vmHwmBytes"] = largest_process_bytes(pids, "VmHWM")
                    result["batches"].append(run)
                    _record_lag(result, f"batches of {size} {run['kind']}", run, behind)
        result["rebuild"] = wms_cli(["projections", "rebuild"], env, workdir)["rebuilt"]
    big = [b for b in result["batches"] if b["size"] == plan.big_size]
    result["peakRss"] = {
        "batchSize": plan.big_size,
        "peakRssBytes": max(b["peakRssBytes"] for b in big),
        "vmHwmBytes": max(b["vmHwmBytes"] for b in big),
    }
    big_new = next(lag for lag in result["lag"] if lag["phase"] == f"batches of {plan.big_size} new")
    result["liveCatchUp"] = {
        "phase": big_new["phase"],
        "events": big_new["lagEventsAfterLastResponse"],
        "seconds": big_new["lagSeconds"],
        "eventsPerSecond": (
            round(big_new["lagEventsAfterLastResponse"] / big_new["lagSeconds"], 1)
            if big_new["lagSeconds"] and big_new["lagEventsAfterLastResponse"]
            else None
        ),
    }
    return result


def measure_scaling(harness: Harness, store: str, plan: Plan, postgres_url: str) -> dict[str, Any]:
    """Single-order webhooks at the top concurrency with 1 and with 2 HTTP processes,
    each beside one worker (the same background work in both), on fresh databases."""
    top = max(plan.concurrencies)
    runs = {}
    for processes in (1, 2):
        workdir = harness.scratch / f"{store}-scaling-{processes}"
        workdir.mkdir()
        with scratch_database(store, postgres_url, workdir) as database_url:
            env = {"WMS_INTAKE_DATABASE_URL": database_url, "WMS_INTAKE_RATE_LIMIT_PER_SECOND": "0"}
            store_harness = Harness(workdir, harness.load_tool, plan)
            one = processes == 1
            topology = "split" if one else "production"
            with (
                background_worker(env, workdir, one),
                store_harness.serving(
                    serve_argv(topology, processes), env, f"wms-intake-{store}-{processes}-http"
                ) as server,
            ):
                webhook_url, auth = _connect_webhook(server, env, workdir)
                store_harness.batch_load(webhook_url, 10, 3, "warmup", False, auth, server.url("/metrics"))
                runs[processes] = store_harness.webhook_load(webhook_url, top, f"s{processes}", auth)
    one, two = runs[1]["requestsPerSecond"], runs[2]["requestsPerSecond"]
    return {
        "concurrency": top,
        "oneProcess": runs[1],
        "twoProcesses": runs[2],
        "ratio": round(two / one, 3) if one else None,
    }


def _connect_webhook(server: Server, env: dict[str, str], workdir: Path) -> tuple[str, str]:
    """A tenant from the CLI, then "Connect WMS" through the API as an admin would."""
    tenant = wms_cli(["tenants", "create", "--name", "Benchmark Deliveries"], env, workdir)
    status, body = http(
        "POST",
        server.url(f"/api/tenants/{tenant['tenantId']}/integrations/wms/webhook"),
        headers={"Authorization": f"Bearer {tenant['adminApiKey']}"},
    )
    if status != 201:
        raise RuntimeError(f"connecting the webhook answered {status}: {body[:500]!r}")
    connected = orjson.loads(body)
    return str(connected["webhookUrl"]), f"Bearer {connected['secret']}"


def _lag_sampler(server: Server) -> Sampler:
    return Sampler(lambda: max(projection_lags(server).values(), default=0), 0.25)


def _record_lag(result: dict[str, Any], phase: str, run: dict[str, Any], behind: Sampler) -> None:
    # The load client measured the lag itself, right after its last response.
    result["lag"].append({"phase": phase, "maxLagEventsDuringLoad": int(behind.peak), **run.pop("lag")})


# --------------------------------------------------------------------- targets and the table


@dataclass
class Row:
    measure: str
    ours: str
    reference: str = "—"
    ratio: float | None = None
    target: str = ""
    met: bool | None = None
    values: dict[str, Any] = field(default_factory=dict)


def _ratio(ours: float, reference: float | None) -> float | None:
    return round(ours / reference, 3) if reference else None


def _n(value: float) -> str:
    return f"{value:,.0f}"


def _webhook_figures(run: dict[str, Any]) -> str:
    figures = f"{_n(run['requestsPerSecond'])} req/s · p50 {run['p50Ms']:.1f} ms · p99 {run['p99Ms']:.1f} ms"
    return figures + _errors(run)


def _batch_figures(run: dict[str, Any]) -> str:
    return f"{_n(run['ordersPerSecond'])} orders/s · {run['msPerBatchP50']:.1f} ms/batch" + _errors(run)


def _errors(run: dict[str, Any]) -> str:
    return f" · {run['errors']} errors" if run["errors"] else ""


def _rate_row(
    measure: str, ours: str, run: dict[str, Any], reference: tuple[dict[str, Any] | None, str], key: str, unit: str
) -> Row:
    """A measured rate (``run[key]``) beside its reference's rate and their ratio."""
    ref, name = reference
    return Row(
        measure, ours, f"{_n(ref[key])} {unit} ({name})" if ref else "—", _ratio(run[key], ref[key] if ref else None)
    )


def store_rows(store: str, measured: dict[str, Any], refs: dict[str, Any], plan: Plan) -> list[Row]:
    rows: list[Row] = []
    if store == "postgres":
        hook_ref, hook_ref_name = refs.get("psycopgInsertPerRequest"), "INSERT per request"
        batch_ref, batch_ref_name = refs.get("psycopgCopyBatch"), "parse+validate+COPY"
    else:
        hook_ref, hook_ref_name = refs.get("bareAiohttp"), "bare aiohttp"
        batch_ref, batch_ref_name = refs.get("sqlite3Batch"), "parse+validate+sqlite3"
    hook_refs = {r["concurrency"]: r for r in (hook_ref or {}).get("webhook", [])}
    batch_refs = {r["size"]: r for r in (batch_ref or {}).get("batches", [])}
    top = max(plan.concurrencies)
    for run in measured["webhook"]:
        c = run["concurrency"]
        row = _rate_row(
            f"webhook, 1 order per request, {c} connection{'s' if c > 1 else ''}",
            _webhook_figures(run),
            run,
            (hook_refs.get(c), hook_ref_name),
            "requestsPerSecond",
            "req/s",
        )
        if store == "postgres" and c == top:
            row.target = "≥ 0.5 and p99 ≤ 50 ms"
            row.met = row.ratio is not None and row.ratio >= 0.5 and run["p99Ms"] <= 50 and not run["errors"]
        rows.append(row)
    for run in measured["batches"]:
        row = _rate_row(
            f"batches of {run['size']:,}, {run['kind']} orders",
            _batch_figures(run),
            run,
            (batch_refs.get(run["size"]), f"{batch_ref_name}, new"),
            "ordersPerSecond",
            "orders/s",
        )
        if run["size"] == plan.ratio_size:
            wanted = {("postgres", "new"): 1 / 3, ("postgres", "update"): 1 / 6, ("sqlite", "new"): 1 / 4}.get(
                (store, run["kind"])
            )
            if wanted is not None:
                row.target = f"≥ {wanted:.2f}"
                row.met = row.ratio is not None and row.ratio >= wanted and not run["errors"]
        if run["size"] == plan.big_size and run["kind"] == "new" and store == "postgres":
            row.target = "accepted whole (200, all processed)"
            row.met = run["errors"] == 0 and run["ok"] == run["batches"]
        rows.append(row)
    rss = measured["peakRss"]
    rows.append(
        Row(
            f"server peak RSS during {plan.big_size:,}-order batches",
            f"{rss['peakRssBytes'] / MB:,.0f} MB sampled (VmHWM {rss['vmHwmBytes'] / MB:,.0f} MB)",
            target="≤ 300 MB" if store == "postgres" else "",
            # The larger of the two: each can miss the other's peak.
            met=max(rss["peakRssBytes"], rss["vmHwmBytes"]) <= 300 * MB if store == "postgres" else None,
        )
    )
    for lag in measured["lag"]:
        seconds = lag["lagSeconds"]
        rows.append(
            Row(
                f"read-model lag after {lag['phase']}",
                (f"{seconds:.3f} s" if seconds is not None else f"not caught up in {CAUGHT_UP_TIMEOUT:.0f} s")
                + f" · max {lag['maxLagEventsDuringLoad']:,} events behind during load",
                target="≤ 1 s" if store == "postgres" else "",
                met=(seconds is not None and seconds <= 1.0) if store == "postgres" else None,
            )
        )
    rebuild = measured["rebuild"]
    slowest = min(r["eventsPerSecond"] for r in rebuild.values())
    rows.append(
        Row(
            "projections rebuild (events/s per read model)",
            " · ".join(f"{name} {_n(r['eventsPerSecond'])} ({r['events']:,} events)" for name, r in rebuild.items()),
            target="≥ 10,000 (slowest)" if store == "postgres" else "",
            met=slowest >= 10_000 if store == "postgres" else None,
        )
    )
    catch_up = measured["liveCatchUp"]
    rows.append(
        Row(
            f"live catch-up after {catch_up['phase']}",
            f"{_n(catch_up['eventsPerSecond'])} events/s ({catch_up['events']:,} events behind at the 200)"
            if catch_up["eventsPerSecond"]
            else "caught up by the 200",
            target="≥ 5,000" if store == "postgres" and catch_up["eventsPerSecond"] else "",
            met=catch_up["eventsPerSecond"] >= 5_000 if store == "postgres" and catch_up["eventsPerSecond"] else None,
        )
    )
    return rows


def scaling_rows(store: str, scaling: dict[str, Any]) -> list[Row]:
    c = scaling["concurrency"]

    def figure(run: dict[str, Any]) -> str:
        return f"{_n(run['requestsPerSecond'])} req/s · p50 {run['p50Ms']:.1f} ms · p99 {run['p99Ms']:.1f} ms" + (
            f" · {run['errors']} errors" if run["errors"] else ""
        )

    two = Row(
        f"webhook, {c} connections, 2 HTTP processes + worker",
        figure(scaling["twoProcesses"]),
        "1 HTTP process + worker (same run)",
        scaling["ratio"],
    )
    if store == "postgres":
        two.target = "≥ 1.3"
        two.met = scaling["ratio"] is not None and scaling["ratio"] >= 1.3 and not scaling["twoProcesses"]["errors"]
    return [Row(f"webhook, {c} connections, 1 HTTP process + worker", figure(scaling["oneProcess"])), two]


def reference_rows(refs: dict[str, Any]) -> list[Row]:
    names = {
        "bareAiohttp": "bare aiohttp POST, orjson parse, tiny reply",
        "psycopgInsertPerRequest": "same + one INSERT per request (psycopg pool of 16)",
        "psycopgCopyBatch": "JSON array: orjson + pydantic OrderItem + COPY, one commit (over HTTP)",
        "sqlite3Batch": "JSON array: orjson + pydantic OrderItem + sqlite3 executemany, one transaction (over HTTP)",
    }
    rows = []
    for key, measured in refs.items():
        for run in measured.get("webhook", []):
            rows.append(Row(f"{names[key]}, {run['concurrency']} conn.", _webhook_figures(run)))
        for run in measured.get("batches", []):
            rows.append(Row(f"{names[key]}, batches of {run['size']:,}", _batch_figures(run)))
    return rows


def section_title(store: str, topology: str, processes: int = 1) -> str:
    name = "PostgreSQL" if store == "postgres" else "SQLite"
    return {
        "embedded": f"{name}, embedded: one process (`serve --processes 1`)",
        "split": f"{name}, split: `serve --no-worker` + `worker`",
        "production": f"{name}, production topology: `serve --processes {processes}` ({processes} HTTP processes + worker)",
        "scaling": f"{name}, scaling: 1 and 2 HTTP processes",
    }[topology]


SECTION_TITLES: dict[str, str] = {}


def markdown(report: dict[str, Any], rows_by_store: dict[str, list[Row]], ref_rows: list[Row]) -> str:
    meta = report["meta"]
    lines = [
        f"## wms-intake benchmark ({meta['plan']}) — {meta['startedAt']}",
        "",
        f"Python {meta['python']} · {meta['cpus']} CPUs · load tool {meta['loadTool']} · "
        f"load average {meta['loadAverageBefore']} before, {meta['loadAverageAfter']} after · "
        f"{meta['seconds']:.0f} s in all.",
        "Client, servers and database share this machine's cores, and anything else running "
        "on it skews the figures: compare ratios from one run, not raw numbers across runs.",
        "",
        "### References (same run)",
        "",
        "| reference | figure |",
        "|---|---|",
        *(f"| {r.measure} | {r.ours} |" for r in ref_rows),
    ]
    for section, rows in rows_by_store.items():
        lines += [
            "",
            f"### {SECTION_TITLES.get(section, section)}",
            "",
            "| measure | ours | reference | ratio | target | met |",
            "|---|---|---|---|---|---|",
        ]
        for r in rows:
            met = "" if r.met is None else ("yes" if r.met else "**no**")
            ratio = f"{r.ratio:.2f}" if r.ratio is not None else ""
            lines.append(f"| {r.measure} | {r.ours} | {r.reference} | {ratio} | {r.target} | {met} |")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark the ingest path against same-run references.")
    parser.add_argument("--store", choices=("postgres", "sqlite", "both"), default="both")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (the CI smoke run)")
    parser.add_argument("--out", type=Path, help="results JSON (default bench/results/<timestamp>.json)")
    parser.add_argument(
        "--load-tool",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="webhook load: wrk if installed (auto), or the asyncio client",
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("WMS_INTAKE_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL),
        help="database where scratch schemas are created and dropped",
    )
    parser.add_argument(
        "--topology",
        choices=("embedded", "split", "production", "all"),
        default="all",
        help="embedded: one process does everything (serve --processes 1); "
        "split: serve --no-worker plus a separate worker process; "
        "production: serve --processes N (N HTTP processes plus a worker); "
        "all: embedded, and on PostgreSQL production too",
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=len(os.sched_getaffinity(0)),
        help="N of the production topology (default: the number of cores)",
    )
    parser.add_argument("--no-scaling", action="store_true", help="skip the 1-versus-2 HTTP processes comparison")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    stores = ["postgres", "sqlite"] if args.store == "both" else [args.store]
    load_tool = args.load_tool if args.load_tool != "auto" else ("wrk" if shutil.which("wrk") else "python")
    started_at = dt.datetime.now(dt.UTC)
    out = args.out or ROOT / "bench" / "results" / f"{started_at:%Y%m%dT%H%M%SZ}.json"
    started = time.monotonic()
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())

    with tempfile.TemporaryDirectory(prefix="wms-intake-bench-") as scratch_dir:
        scratch = Path(scratch_dir)
        harness = Harness(scratch, load_tool, plan)
        refs = measure_references(
            harness,
            concurrencies=plan.concurrencies,
            batch_counts={size: count for size, count in plan.batch_counts.items()},
            postgres_url=args.postgres_url if "postgres" in stores else None,
            sqlite_dir=scratch if "sqlite" in stores else None,
        )
        first = "embedded" if args.topology == "all" else args.topology
        measured = {
            store: measure_store(harness, store, plan, args.postgres_url, first, args.processes) for store in stores
        }
        for store in stores:
            if args.topology == "all" and store == "postgres":
                measured[store]["production"] = measure_store(
                    harness, store, plan, args.postgres_url, "production", args.processes
                )
            if not args.no_scaling:
                measured[store]["scaling"] = measure_scaling(harness, store, plan, args.postgres_url)

    rows_by_store: dict[str, list[Row]] = {}
    for store in stores:
        SECTION_TITLES[store] = section_title(store, first, args.processes)
        rows_by_store[store] = store_rows(store, measured[store], refs, plan)
        if "production" in measured[store]:
            key = f"{store}-production"
            SECTION_TITLES[key] = section_title(store, "production", args.processes)
            rows_by_store[key] = store_rows(store, measured[store]["production"], refs, plan)
        if "scaling" in measured[store]:
            key = f"{store}-scaling"
            SECTION_TITLES[key] = section_title(store, "scaling")
            rows_by_store[key] = scaling_rows(store, measured[store]["scaling"])
    report: dict[str, Any] = {
        "meta": {
            "startedAt": started_at.isoformat(timespec="seconds"),
            "plan": plan.name,
            "planDetail": asdict(plan),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "loadTool": load_tool,
            "stores": stores,
            "loadAverageBefore": load_before,
            "loadAverageAfter": " ".join(f"{x:.2f}" for x in os.getloadavg()),
            "seconds": round(time.monotonic() - started, 1),
        },
        "references": refs,
        "stores": {
            store: {
                **measured[store],
                "targets": [
                    {"measure": r.measure, "ratio": r.ratio, "target": r.target, "met": r.met}
                    for key, rows in rows_by_store.items()
                    if key == store or key.startswith(f"{store}-")
                    for r in rows
                    if r.target
                ],
            }
            for store in stores
        },
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS))
    sys.stdout.write(markdown(report, rows_by_store, reference_rows(refs)))
    sys.stdout.write(f"\nResults: {out}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
