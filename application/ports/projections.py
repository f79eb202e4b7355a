"""What following the event store into a read model needs: a projection, an upgrade."""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

W_contra = TypeVar("W_contra", contravariant=True)


class Projection(Protocol[W_contra]):
    """How events change one read model: the topics it needs, and what each does."""

    name: str
    topics: frozenset[str]

    def process(self, event: Any, writer: W_contra) -> None: ...


class ReadModelUpgrade(Protocol):
    """Builds a read model's new version beside the old one, then swaps it in."""

    def pending(self) -> bool: ...

    def newer_in_store(self) -> bool: ...

    def step(self) -> int: ...

    def run(self) -> None: ...
