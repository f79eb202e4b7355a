"""docs/architecture.md's package map names only what exists in the tree.

A newcomer finds their way by that map, so a package that moves or goes must
take its line in the map with it. A path ending in ``/`` names a package; any
other may be a module or a package (``application/audit`` is ``audit.py`` or
``audit/``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "architecture.md"

#: Named by the map for the layout the tree is being moved to; each flips to a
#: failure (strict xfail) as soon as it exists, and is then taken off this list.
NOT_YET_THERE: set[str] = set()


def mapped_paths() -> list[str]:
    """The first column of every row of the table under ``## Map``."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Map", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([^`]+)` \|", section, flags=re.MULTILINE)


def exists(path: str) -> bool:
    target = ROOT / path.rstrip("/")
    if path.endswith("/"):
        return target.is_dir()
    return target.exists() or target.with_suffix(".py").is_file()


def test_the_map_names_the_layers() -> None:
    paths = mapped_paths()
    for layer in ("domain/", "application/ports/", "interfaces/container.py", "tests/"):
        assert layer in paths
    assert len(paths) == len(set(paths)), "a path is mapped twice"
    assert NOT_YET_THERE <= set(paths), "a path waiting for the restructuring left the map"


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(path, marks=pytest.mark.xfail(strict=True, reason="restructuring in progress"))
        if path in NOT_YET_THERE
        else path
        for path in mapped_paths()
    ],
)
def test_every_mapped_path_exists(path: str) -> None:
    assert exists(path), f"docs/architecture.md maps {path}, which is not in the tree"
