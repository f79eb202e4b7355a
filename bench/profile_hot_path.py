"""Profile the two hot paths of the service with py-spy and print a short summary.

    python bench/profile_hot_path.py --store postgres --out bench/profiles/NAME.txt

It starts ``wms-intake serve --processes 1 --no-worker`` on a scratch
database (a worker beside it does the read models, as in production), then
samples the server process with ``py-spy record`` while the load client sends

- ``batches``: 1,000-order batches, new orders then the same orders updated;
- ``webhook``: single-order requests from 32 connections.

By default only the thread holding the GIL is sampled (``--all-threads``:
every thread). The summary lists, per phase, the 25 functions with the most samples on the
stack (inclusive) and the 25 with the most samples at the top of it (self).
py-spy is not a dependency of the service: ``pip install py-spy`` first.
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import (  # noqa: E402 - run as a script: the repository root is put on the path first
    DEFAULT_POSTGRES_URL,
    FULL,
    Harness,
    _connect_webhook,
    background_worker,
    scratch_database,
    serve_argv,
)

TOP = 25


def _py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(found).exists():
        raise SystemExit("py-spy is not installed: pip install py-spy")
    return found


def _record(pid: int, out: Path, gil: bool) -> subprocess.Popen[bytes]:
    # --nonblocking: the server is not paused per sample, so the load sees its real speed.
    # --gil: only the thread running Python code is sampled, so threads waiting
    # (for the database, for a lock) don't hide where the interpreter's time goes.
    return subprocess.Popen(
        [
            _py_spy(),
            "record",
            "--pid",
            str(pid),
            "--rate",
            "250",
            "--format",
            "raw",
            "--nonblocking",
            *(["--gil"] if gil else []),
            "--output",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _stop(recorder: subprocess.Popen[bytes]) -> None:
    recorder.send_signal(signal.SIGINT)  # py-spy writes its output on Ctrl-C
    recorder.wait(60)


def summarise(raw: Path, title: str) -> str:
    """The functions most often on the stack and at its top, as shares of all samples."""
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = [_short(frame) for frame in stack.split(";")]
        if frames and frames[0].startswith("process "):
            frames = frames[1:]
        if frames and frames[0].startswith("thread "):
            frames = frames[1:]
        if not frames:
            continue
        total += count
        for frame in set(frames):
            inclusive[frame] += count
        own[frames[-1]] += count
    lines = [f"## {title}: {total} samples", "", "inclusive (on the stack):"]
    lines += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in inclusive.most_common(TOP)]
    lines += ["", "self (top of the stack):"]
    lines += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in own.most_common(TOP)]
    return "\n".join(lines) + "\n"


def _short(frame: str) -> str:
    # "function (path/to/module.py:123)" -> "function (module.py)": lines move with every edit.
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rpartition(":")[0] or where.rstrip(")")
    parts = Path(path).parts
    if "site-packages" in parts:
        parts = parts[parts.index("site-packages") + 1 :]
    elif str(ROOT) in path:
        parts = Path(path).relative_to(ROOT).parts
    else:
        parts = parts[-2:]
    return f"{name} ({'/'.join(parts)})" if parts else name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--postgres-url", default=os.environ.get("WMS_INTAKE_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    parser.add_argument("--batches", type=int, default=10, help="1,000-order batches per phase")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--all-threads", action="store_true", help="sample every thread, waiting or not")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="wms-profile-") as scratch_dir:
        scratch = Path(scratch_dir)
        harness = Harness(scratch, "python", FULL)
        sampled = "every thread" if args.all_threads else "the thread holding the GIL"
        sections = [f"# py-spy profile of the server ({sampled}), {args.store}, serve --processes 1 --no-worker", ""]
        with scratch_database(args.store, args.postgres_url, scratch) as database_url:
            env = {"WMS_INTAKE_DATABASE_URL": database_url, "WMS_INTAKE_RATE_LIMIT_PER_SECOND": "0"}
            with (
                background_worker(env, scratch, True),
                harness.serving(serve_argv("split", 1), env, f"profile-{args.store}") as server,
            ):
                url, auth = _connect_webhook(server, env, scratch)
                harness.batch_load(url, 10, 3, "warmup", False, auth)
                phases = [
                    (
                        "1,000-order batches, new then updated",
                        lambda: [
                            harness.batch_load(url, 1000, args.batches, "p", update, auth) for update in (False, True)
                        ],
                    ),
                    ("single-order webhook, 32 connections", lambda: harness.webhook_load(url, 32, "w", auth)),
                ]
                for title, load in phases:
                    raw = scratch / f"{len(sections)}.raw"
                    recorder = _record(server.pid, raw, gil=not args.all_threads)
                    time.sleep(1.0)  # py-spy attaches
                    figures = load()
                    _stop(recorder)
                    sections.append(summarise(raw, title))
                    sections.append(f"load: {_figures(figures)}\n")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(sections))
    print(args.out.read_text())
    return 0


def _figures(figures: object) -> str:
    runs = figures if isinstance(figures, list) else [figures]
    keep = ("kind", "ordersPerSecond", "msPerBatchP50", "requestsPerSecond", "p99Ms")
    return "; ".join(", ".join(f"{k}={r[k]}" for k in keep if k in r) for r in runs if isinstance(r, dict))


if __name__ == "__main__":
    raise SystemExit(main())
