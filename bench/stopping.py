"""Stopping a child process the way every tool here does: a signal to shut
down cleanly, a grace period, then SIGKILL."""

from __future__ import annotations

import signal
import subprocess
from typing import Any


def stop_process(process: subprocess.Popen[Any], sig: int = signal.SIGINT, grace: float = 20.0) -> None:
    """Ask ``process`` to stop with ``sig``; kill it if it is still running after ``grace`` seconds."""
    if process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)
