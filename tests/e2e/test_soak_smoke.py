"""The soak's smoke run (``bench/soak.py --seconds 20``), so it never rots.

A short run of the real thing: a private PostgreSQL cluster, ``serve`` and
``worker`` as subprocesses, mixed traffic at half the measured capacity, and
PostgreSQL restarted in the middle. What must hold at any length holds here:
no 5xx and no unanswered request outside the restart window, and the
reconciliation finds every acknowledged order with its posted values and no
order only refused requests named. RSS growth needs a warm-up a smoke run
doesn't have: it is reported, not judged.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[2]


def test_a_short_soak_with_a_postgresql_restart_loses_nothing_and_has_no_5xx_outside_the_restart(
    tmp_path: Path,
) -> None:
    out = tmp_path / "soak.json"
    completed = subprocess.run(
        [
            sys.executable,
            "bench/soak.py",
            "--seconds",
            "20",
            "--calibrate-seconds",
            "3",
            "--no-rss-check",
            "--json-out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert out.exists(), completed.stderr[-3000:]
    report = orjson.loads(out.read_bytes())
    report.pop("samples")
    assert completed.returncode == 0, report
    assert report["restartWindowSeconds"] is not None
    assert report["fiveXxOutsideRestartWindow"] == {}
    assert report["reconciliation"]["failures"] == []
    assert report["reconciliation"]["counts"]["ordersChecked"] > 0
    assert set(report["rss"]) == {"serve", "worker"}
    assert report["readModel"]["visibleAfterMs"]["p50"] is not None
    kinds = {status for status in report["statuses"]}
    assert {"200", "201", "400"} <= kinds, report["statuses"]
