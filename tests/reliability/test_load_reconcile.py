"""The load generator in a small configuration: mixed traffic, then a full reconciliation.

``bench/loadgen.py`` runs in its own process and starts ``wms-intake serve``
in another, on a fresh database; this test only reads its figures. The full
size (thousands of requests at concurrency 64) is run by hand, see
``docs/guarantees.md``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson

from bench.loadgen import RECONCILIATION_CHECKS
from tests.support.settings import POSTGRES_URL

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_mixed_concurrent_traffic_loses_nothing_and_leaves_no_trace_of_refusals(store: str, tmp_path: Path) -> None:
    figures_path = tmp_path / "figures.json"
    completed = subprocess.run(
        [
            sys.executable,
            "bench/loadgen.py",
            "--store",
            store,
            "--postgres-url",
            POSTGRES_URL,
            "--requests",
            "600",
            "--concurrency",
            "32",
            "--tenants",
            "3",
            "--big-batch",
            "2000",
            "--max-seconds",
            "90",
            "--seed",
            "7",
            # Geocoding is not under test and would compete for the CPU.
            "--server-env",
            "WMS_INTAKE_GEOCODER=none",
            "--json-out",
            str(figures_path),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert figures_path.exists(), completed.stderr[-3000:]
    figures = orjson.loads(figures_path.read_bytes())
    report = {k: v for k, v in figures.items() if k != "serverLogTail"}
    assert completed.returncode == 0 and figures["ok"], report

    reconciled = figures["reconciliation"]
    assert figures["sent"] == 600 and figures["noAnswer"] == 0
    assert figures["5xx"] == {}, "no 5xx at the documented limits"
    assert figures["acknowledged"] > 300 and reconciled["ordersChecked"] > 1000
    assert {"400", "413", "415", "422"} <= set(figures["rejected"]), figures["rejected"]
    for check in RECONCILIATION_CHECKS:
        assert reconciled[check] == 0, (check, figures["failures"])
    assert reconciled["refusedBatchesChecked"] == sum(figures["rejected"].values())
