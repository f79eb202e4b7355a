"""The load driver of the benchmark: a separate process that prints one JSON result.

Two modes, both bounded in count and time:

``webhook``  single-order POSTs, each with a new ``externalOrderId``, from C
             connections, for at most ``--duration`` seconds and ``--max-requests``
             requests. ``--tool wrk`` hands the load to wrk (a Lua script makes
             the bodies; latency percentiles are wrk's); ``--tool python`` uses an
             asyncio + aiohttp client (percentiles over every request).
``batches``  ``--count`` JSON arrays of ``--size`` orders, sent one after another
             on one connection (``--update`` resends the same ids with changed
             fields). Bodies are built before the clock starts.

``--lag-url`` (the service's ``/metrics``): after the last response, poll it
until every ``wms_intake_projection_lag_events`` is 0 and report the seconds
from the last response to that moment (``lagSeconds``), polling from this
process so nothing else sits between the two.

The ``Authorization`` header value comes from the ``BENCH_AUTHORIZATION``
environment variable, so no secret shows in a process list. Run from the
repository root: ``python bench/load_client.py webhook --url URL ...``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import orjson

AUTH_ENV = "BENCH_AUTHORIZATION"
LAG_METRIC = re.compile(rb'^wms_intake_projection_lag_events\{projection="[^"]+"\} ([0-9.e+]+)$', re.M)
LAG_TIMEOUT = 60.0

# One order as a WMS sends it. Addresses cycle over 200 streets so customers
# are both created and reused; the update variant changes weight and pallets.
ORDER_TEMPLATE = (
    '{"externalOrderId":"%s","deliveryAddress":"%d High Street, London SW1A 1AA",'
    '"customerName":"Bench Customer %d","customerContact":"deliveries@example.com",'
    '"totalWeight":%d.5,"palletCount":%d,"plannedDate":"2025-03-%02d","specialHandling":["fragile"]}'
)


def order_fields(n: int, update: bool) -> tuple[int, int, int, int, int]:
    """Street number, customer number, weight, pallets and day of order number ``n``."""
    street = n % 200 + 1
    return street, street, n % 50 + 1 + (100 if update else 0), n % 5 + 1 + (10 if update else 0), n % 28 + 1


def order_body(external_id: str, n: int, update: bool = False) -> str:
    return ORDER_TEMPLATE % ((external_id, *order_fields(n, update)))


def batch_body(prefix: str, batch: int, size: int, update: bool) -> bytes:
    items = (order_body(f"{prefix}-{batch}-{i}", batch * size + i, update) for i in range(size))
    return ("[" + ",".join(items) + "]").encode()


def percentile(sorted_values: list[float], share: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return 0.0
    rank = max(1, round(share * len(sorted_values) + 0.5))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def _headers() -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if os.environ.get(AUTH_ENV):
        headers["Authorization"] = os.environ[AUTH_ENV]
    return headers


# --------------------------------------------------------------------- webhook, Python client


async def webhook_python(url: str, concurrency: int, duration: float, max_requests: int, prefix: str) -> dict[str, Any]:
    headers = _headers()
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    issued = 0
    last_response = 0.0

    async def worker(session: aiohttp.ClientSession, deadline: float) -> None:
        nonlocal issued, last_response
        while issued < max_requests and time.monotonic() < deadline:
            n = issued
            issued += 1
            body = order_body(f"{prefix}-{n}", n)
            started = time.perf_counter()
            try:
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    status = str(response.status)
            except (TimeoutError, aiohttp.ClientError) as error:
                status = type(error).__name__
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1
            last_response = time.monotonic()

    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    timeout = aiohttp.ClientTimeout(total=max(30.0, duration * 2))
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        started = time.perf_counter()
        deadline = time.monotonic() + duration
        await asyncio.gather(*(worker(session, deadline) for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    latencies.sort()
    ok = statuses.get("200", 0)
    return {
        "tool": "python",
        "concurrency": concurrency,
        "requests": len(latencies),
        "ok": ok,
        "errors": len(latencies) - ok,
        "statuses": statuses,
        "seconds": round(seconds, 4),
        "requestsPerSecond": round(len(latencies) / seconds, 1) if seconds else 0.0,
        "p50Ms": round(percentile(latencies, 0.50) * 1000, 3),
        "p90Ms": round(percentile(latencies, 0.90) * 1000, 3),
        "p99Ms": round(percentile(latencies, 0.99) * 1000, 3),
        "maxMs": round(latencies[-1] * 1000, 3) if latencies else 0.0,
        "lastResponseMonotonic": last_response,
    }


# --------------------------------------------------------------------- webhook, wrk

# Each wrk thread numbers its own requests; ids stay unique across threads.
# The body is the same template as ORDER_TEMPLATE, filled with the same numbers.
WRK_SCRIPT = r"""
local prefix = os.getenv("BENCH_PREFIX")
local auth = os.getenv("BENCH_AUTHORIZATION")
local template = [[%s]]
local threads = {}
local counter = 0

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  if auth and auth ~= "" then wrk.headers["Authorization"] = auth end
end

function request()
  counter = counter + 1
  local n = tid * 10000000 + counter
  local street = n %% 200 + 1
  local body = string.format(template, prefix .. "-" .. tid .. "-" .. counter,
    street, street, n %% 50 + 1, n %% 5 + 1, n %% 28 + 1)
  return wrk.format(nil, nil, nil, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%%d,"durationUs":%%d,"p50Us":%%d,"p90Us":%%d,"p99Us":%%d,"maxUs":%%d,' ..
    '"connect":%%d,"read":%%d,"write":%%d,"status":%%d,"timeout":%%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def webhook_wrk(url: str, concurrency: int, duration: float, prefix: str) -> dict[str, Any]:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed (apt-get install wrk), use --tool python")
    threads = min(concurrency, os.cpu_count() or 1, 2)
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as scratch:
        script = Path(scratch) / "orders.lua"
        script.write_text(WRK_SCRIPT % ORDER_TEMPLATE)
        env = dict(os.environ, BENCH_PREFIX=prefix)
        completed = subprocess.run(
            [
                wrk,
                f"-t{threads}",
                f"-c{concurrency}",
                f"-d{max(1, round(duration))}s",
                "--timeout",
                "30s",
                "-s",
                str(script),
                url,
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=duration + 60,
            check=False,
        )
        finished = time.monotonic()
    if completed.returncode != 0:
        raise SystemExit(f"wrk failed ({completed.returncode}): {completed.stderr.strip()}")
    summary = orjson.loads(completed.stdout.strip().splitlines()[-1])
    socket_errors = summary["connect"] + summary["read"] + summary["write"] + summary["timeout"]
    errors = summary["status"] + socket_errors
    seconds = summary["durationUs"] / 1e6
    return {
        "tool": "wrk",
        "concurrency": concurrency,
        "requests": summary["requests"],
        "ok": summary["requests"] - summary["status"],
        "errors": errors,
        "statuses": {"non2xx3xx": summary["status"], "socketErrors": socket_errors},
        "seconds": round(seconds, 4),
        "requestsPerSecond": round(summary["requests"] / seconds, 1) if seconds else 0.0,
        "p50Ms": round(summary["p50Us"] / 1000, 3),
        "p90Ms": round(summary["p90Us"] / 1000, 3),
        "p99Ms": round(summary["p99Us"] / 1000, 3),
        "maxMs": round(summary["maxUs"] / 1000, 3),
        # wrk stops at its deadline; its exit is the closest to the last response.
        "lastResponseMonotonic": finished,
    }


# --------------------------------------------------------------------- batches


async def batches(url: str, size: int, count: int, prefix: str, update: bool) -> dict[str, Any]:
    bodies = [batch_body(prefix, b, size, update) for b in range(count)]
    headers = _headers()
    seconds_each: list[float] = []
    statuses: dict[str, int] = {}
    mismatches = 0
    last_response = 0.0
    connector = aiohttp.TCPConnector(limit=1)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=300)) as session:
        for body in bodies:
            started = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as response:
                reply = await response.read()
                status = response.status
            seconds_each.append(time.perf_counter() - started)
            last_response = time.monotonic()
            statuses[str(status)] = statuses.get(str(status), 0) + 1
            if status == 200 and orjson.loads(reply).get("processed") != size:
                mismatches += 1
    total = sum(seconds_each)
    ok = statuses.get("200", 0)
    ordered = sorted(seconds_each)
    return {
        "size": size,
        "kind": "update" if update else "new",
        "batches": count,
        "orders": size * count,
        "ok": ok,
        "errors": count - ok + mismatches,
        "statuses": statuses,
        "bodyBytes": len(bodies[0]),
        "seconds": round(total, 4),
        "ordersPerSecond": round(size * count / total, 1) if total else 0.0,
        "msPerBatchP50": round(percentile(ordered, 0.5) * 1000, 3),
        "msPerBatchMax": round(ordered[-1] * 1000, 3),
        "lastResponseMonotonic": last_response,
    }


async def caught_up(metrics_url: str, last_response: float) -> dict[str, Any]:
    """Poll ``/metrics`` until every read model has applied every event."""
    first: float | None = None
    deadline = time.monotonic() + LAG_TIMEOUT
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        while time.monotonic() < deadline:
            async with session.get(metrics_url) as response:
                lags = [float(v) for v in LAG_METRIC.findall(await response.read())]
            first = max(lags, default=0.0) if first is None else first
            if not any(lags):
                return {
                    "lagSeconds": round(max(0.0, time.monotonic() - last_response), 4),
                    "lagEventsAfterLastResponse": int(first),
                    "caughtUp": True,
                }
            await asyncio.sleep(0.005)
    return {"lagSeconds": None, "lagEventsAfterLastResponse": int(first or 0), "caughtUp": False}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    modes = parser.add_subparsers(dest="mode", required=True)
    hook = modes.add_parser("webhook", help="single-order requests from C connections")
    hook.add_argument("--url", required=True)
    hook.add_argument("--concurrency", type=int, default=32)
    hook.add_argument("--duration", type=float, default=5.0, help="seconds (upper bound)")
    hook.add_argument("--max-requests", type=int, default=50_000, help="upper bound (python tool)")
    hook.add_argument("--prefix", required=True, help="externalOrderId prefix, unique per run")
    hook.add_argument("--tool", choices=("python", "wrk"), default="python")
    hook.add_argument("--lag-url", help="the service's /metrics: measure read-model lag after the load")
    batch = modes.add_parser("batches", help="COUNT arrays of SIZE orders, one after another")
    batch.add_argument("--url", required=True)
    batch.add_argument("--size", type=int, required=True)
    batch.add_argument("--count", type=int, required=True)
    batch.add_argument("--prefix", required=True)
    batch.add_argument("--update", action="store_true", help="resend the same ids with changed fields")
    batch.add_argument("--lag-url", help="the service's /metrics: measure read-model lag after the load")
    args = parser.parse_args(argv)
    if args.mode == "webhook" and args.tool == "wrk":
        result = webhook_wrk(args.url, args.concurrency, args.duration, args.prefix)
    elif args.mode == "webhook":
        result = asyncio.run(webhook_python(args.url, args.concurrency, args.duration, args.max_requests, args.prefix))
    else:
        result = asyncio.run(batches(args.url, args.size, args.count, args.prefix, args.update))
    if args.lag_url:
        result["lag"] = asyncio.run(caught_up(args.lag_url, result["lastResponseMonotonic"]))
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
