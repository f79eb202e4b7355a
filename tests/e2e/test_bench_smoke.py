"""The benchmark's smoke run (``bench/run.py --quick``), so it never rots.

It starts the real service and the reference servers as subprocesses and drives
them over 127.0.0.1 with tiny loads. Only the shape and sanity of the report are
checked: every figure present and positive, no failed request. No timing
thresholds: the figures depend on the machine.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[2]
TABLE_HEADER = "| measure | ours | reference | ratio | target | met |"


def run_quick_bench(store: str, out: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    # SQLite drives the webhook with the asyncio client, PostgreSQL with wrk when
    # installed: both load paths stay exercised.
    tool = "python" if store == "sqlite" else "auto"
    completed = subprocess.run(
        [sys.executable, "bench/run.py", "--quick", "--store", store, "--load-tool", tool, "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        # The run starts a dozen servers (embedded, production, 1 and 2 HTTP processes):
        # room for a loaded machine.
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed, orjson.loads(out.read_bytes())


def assert_positive(record: dict[str, Any], *keys: str) -> None:
    for key in keys:
        assert isinstance(record[key], (int, float)) and record[key] > 0, (key, record)


def assert_webhook_runs(runs: list[dict[str, Any]], concurrencies: list[int]) -> None:
    assert [r["concurrency"] for r in runs] == concurrencies
    for run in runs:
        assert_positive(run, "requests", "ok", "seconds", "requestsPerSecond", "p50Ms", "p99Ms")
        assert run["errors"] == 0, run
        assert run["p50Ms"] <= run["p99Ms"]


def assert_batch_runs(runs: list[dict[str, Any]], sizes: list[int], kinds: tuple[str, ...]) -> None:
    assert sorted((r["size"], r["kind"]) for r in runs) == sorted((s, k) for s in sizes for k in kinds)
    for run in runs:
        assert_positive(run, "orders", "ok", "seconds", "ordersPerSecond", "msPerBatchP50")
        assert run["errors"] == 0 and run["ok"] == run["batches"], run


def test_the_quick_benchmark_reports_every_figure_of_the_store_and_its_references(store: str, tmp_path: Path) -> None:
    completed, report = run_quick_bench(store, tmp_path / "bench.json")

    plan = report["meta"]["planDetail"]
    concurrencies = plan["concurrencies"]
    sizes = [int(size) for size in plan["batch_counts"]]
    assert report["meta"]["plan"] == "quick" and report["meta"]["stores"] == [store]

    references = report["references"]
    assert_webhook_runs(references["bareAiohttp"]["webhook"], concurrencies)
    if store == "postgres":
        assert_webhook_runs(references["psycopgInsertPerRequest"]["webhook"], concurrencies)
        assert_batch_runs(references["psycopgCopyBatch"]["batches"], sizes, ("new",))
    else:
        assert_batch_runs(references["sqlite3Batch"]["batches"], sizes, ("new",))

    ours = report["stores"][store]
    assert_webhook_runs(ours["webhook"], concurrencies)
    assert_batch_runs(ours["batches"], sizes, ("new", "update"))
    assert len(ours["lag"]) == len(concurrencies) + 2 * len(sizes)
    for lag in ours["lag"]:
        assert lag["caughtUp"] is True, lag
        assert_positive(lag, "lagSeconds")
    assert ours["peakRss"]["batchSize"] == plan["big_size"]
    assert_positive(ours["peakRss"], "peakRssBytes", "vmHwmBytes")
    # No order between the two: the kernel's high-water mark is not raised
    # when memory is returned with madvise, so a sample can exceed it.
    assert {"orders", "integrations", "deliveries"} <= set(ours["rebuild"])
    for rebuilt in ours["rebuild"].values():
        assert_positive(rebuilt, "events", "seconds", "eventsPerSecond")
    assert ours["targets"] and all({"ratio", "target", "met"} <= set(t) for t in ours["targets"])
    assert ours["topology"] == "embedded"

    # On PostgreSQL the production topology (N HTTP processes and a worker) is measured beside it.
    if store == "postgres":
        production = ours["production"]
        assert production["topology"] == "production" and production["processes"] >= 1
        assert_webhook_runs(production["webhook"], concurrencies)
        assert_batch_runs(production["batches"], sizes, ("new", "update"))
        assert_positive(production["peakRss"], "peakRssBytes", "vmHwmBytes")
        assert "production topology: `serve --processes" in completed.stdout
    else:
        assert "production" not in ours
    # 1 and 2 HTTP processes at the top concurrency, and their ratio, on both stores.
    scaling = ours["scaling"]
    assert scaling["concurrency"] == max(concurrencies)
    assert_webhook_runs([scaling["oneProcess"]], [scaling["concurrency"]])
    assert_webhook_runs([scaling["twoProcesses"]], [scaling["concurrency"]])
    assert scaling["ratio"] > 0
    assert "2 HTTP processes + worker" in completed.stdout

    assert TABLE_HEADER in completed.stdout
    assert "### References (same run)" in completed.stdout
