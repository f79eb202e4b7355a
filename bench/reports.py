"""The end of a load tool's run: its report as JSON on stdout and, when asked,
in a file; the exit status says whether every check held."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson


def emit_report(report: dict[str, Any], json_out: Path | None) -> int:
    text = orjson.dumps(report, option=orjson.OPT_INDENT_2).decode()
    print(text)
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(text + "\n")
    return 0 if report["ok"] else 1
