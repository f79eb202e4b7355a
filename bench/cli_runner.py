"""Running one ``wms-intake`` command the way every benchmark does: this
checkout's CLI in a child process, its JSON answer parsed, and the end of its
error output quoted when it fails."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson


def cli_argv(argv: list[str]) -> list[str]:
    """The command line of ``wms-intake <argv>`` (this checkout's, with this interpreter)."""
    return [sys.executable, "-m", "interfaces.cli", *argv]


def wms_cli(argv: list[str], env: dict[str, str], cwd: Path, timeout: float) -> dict[str, Any]:
    """Run ``wms-intake <argv>`` with exactly ``env`` and return its JSON output."""
    completed = subprocess.run(cli_argv(argv), env=env, cwd=cwd, capture_output=True, timeout=timeout, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"wms-intake {' '.join(argv)} failed: {completed.stderr.decode(errors='replace')[-2000:]}")
    result: dict[str, Any] = orjson.loads(completed.stdout)
    return result
