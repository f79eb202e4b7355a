"""Every port of the application is declared in ``application/ports/``.

A Protocol declared beside a use case is a port someone will not find; the
architecture map says where they are, and this keeps the map true.
"""

from __future__ import annotations

import ast
from pathlib import Path

APPLICATION = Path(__file__).parents[2] / "application"


def protocols_in(path: Path) -> list[str]:
    """The classes in ``path`` that list ``Protocol`` (or ``Protocol[...]``) among their bases."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ClassDef):
            bases = [b.value if isinstance(b, ast.Subscript) else b for b in node.bases]
            if any(isinstance(b, ast.Name) and b.id == "Protocol" for b in bases):
                found.append(node.name)
    return found


def test_the_walk_finds_the_ports_where_they_are() -> None:
    assert "TrackedView" in protocols_in(APPLICATION / "ports" / "read_models.py")
    assert "IdempotencyStore" in protocols_in(APPLICATION / "ports" / "idempotency.py")


def test_no_protocol_is_declared_outside_application_ports() -> None:
    outside = {
        str(path.relative_to(APPLICATION)): names
        for path in sorted(APPLICATION.rglob("*.py"))
        if "ports" not in path.relative_to(APPLICATION).parts and (names := protocols_in(path))
    }

    assert outside == {}
