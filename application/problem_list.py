"""How many problems a refusal lists: the first ``MAX_LISTED_PROBLEMS``, and a count of the rest.

A batch of 10,000 items each wrong in many fields would otherwise answer
with tens of megabytes built in seconds: the refusal would cost far more
than the request. With the cap, an error body stays under a fixed ceiling
(about half a megabyte) whatever was sent, and ``omitted`` says how many
more problems there were.
"""

from __future__ import annotations

from typing import Any

MAX_LISTED_PROBLEMS = 1000


class ProblemList:
    """Problems in the order found; keeps the first ``limit``, counts the others."""

    def __init__(self, limit: int = MAX_LISTED_PROBLEMS) -> None:
        self.limit = limit
        self.listed: list[Any] = []
        self.omitted = 0

    @property
    def full(self) -> bool:
        return len(self.listed) >= self.limit

    def add(self, problem: Any) -> None:
        if self.full:
            self.omitted += 1
        else:
            self.listed.append(problem)

    def skip(self, count: int) -> None:
        """``count`` more problems, not even built (the list is full)."""
        self.omitted += count

    def __bool__(self) -> bool:
        return bool(self.listed)

    def body(self, error: str, key: str = "details") -> dict[str, Any]:
        """The refusal's body: ``omitted`` appears only when some were left out."""
        body: dict[str, Any] = {"error": error, key: self.listed}
        if self.omitted:
            body["omitted"] = self.omitted
        return body
