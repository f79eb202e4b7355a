"""What a batch answers and what the delivery log keeps of it: pure functions of
a command and what was loaded for it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from application.batch import BatchKeys, unknown_customers
from application.commands import IngestOrders, IngestResult, OrderOutcome
from application.order_lines import OrderLine
from domain.pull_endpoint import PullEndpoint


def batch_result(
    command: IngestOrders, outcomes: list[OrderOutcome], indexes: tuple[int, ...], rejected: tuple[dict[str, Any], ...]
) -> IngestResult:
    """What a stored batch answers (now, or found stored by a retried attempt)."""
    return IngestResult(
        delivery_id=command.delivery_id,
        orders=tuple(outcomes),
        warnings=command.warnings,
        partial=command.partial,
        indexes=indexes,
        rejected=rejected,
    )


def without_unknown_customers(
    command: IngestOrders, keys: BatchKeys, loaded: Mapping[UUID, Aggregate]
) -> tuple[tuple[OrderLine, ...], tuple[int, ...], tuple[dict[str, Any], ...]]:
    """Partial acceptance: the lines whose customer exists, their indexes, and
    every refused item (those refused earlier and these), in request order."""
    problems = unknown_customers(command.tenant_id, command.lines, keys, loaded, command.indexes)
    if not problems:
        return command.lines, command.indexes, command.rejected
    bad = {problem["index"] for problem in problems}
    kept = [k for k, index in enumerate(command.indexes) if index not in bad]
    refused = [
        {
            "index": p["index"],
            "externalOrderId": p["externalOrderId"],
            "status": 400,
            "error": "Customer not found",
            "details": [p],
        }
        for p in problems
    ]
    return (
        tuple(command.lines[k] for k in kept),
        tuple(command.indexes[k] for k in kept),
        tuple(sorted((*command.rejected, *refused), key=lambda item: int(item["index"]))),
    )


MAX_LOGGED_PROBLEMS = 100


def bounded_error(error: dict[str, Any]) -> dict[str, Any]:
    """The error body as the delivery log keeps it: at most 100 listed problems.

    A 10,000-item batch can fail on every item; the caller gets the first
    1,000 problems, the log keeps enough to see what went wrong and says how
    many were left out (counting those the caller's answer left out too).
    """
    bounded = dict(error)
    details = bounded.get("details")
    if isinstance(details, list) and len(details) > MAX_LOGGED_PROBLEMS:
        bounded["details"] = details[:MAX_LOGGED_PROBLEMS]
        bounded["omitted"] = error.get("omitted", 0) + len(details) - MAX_LOGGED_PROBLEMS
    items = bounded.get("rejectedItems")
    if isinstance(items, list) and len(items) > MAX_LOGGED_PROBLEMS:
        bounded["rejectedItems"] = items[:MAX_LOGGED_PROBLEMS]
        bounded["omitted"] = len(items) - MAX_LOGGED_PROBLEMS
    field_errors = bounded.get("fieldErrors")
    if isinstance(field_errors, dict):
        messages = field_errors.get("plannedDate")
        if isinstance(messages, list) and len(messages) > MAX_LOGGED_PROBLEMS:
            bounded["fieldErrors"] = {"plannedDate": messages[:MAX_LOGGED_PROBLEMS]}
            bounded["omitted"] = error.get("omitted", 0) + len(messages) - MAX_LOGGED_PROBLEMS
    return bounded


def pulled_endpoint(command: IngestOrders, loaded: dict[UUID, Aggregate]) -> PullEndpoint | None:
    """The pull endpoint of a pulled batch, noting the batch: saved in the batch's own
    transaction, so a batch pulled earlier than one already stored is refused
    (``StalePullError``), whichever committed first."""
    if command.pulled is None:
        return None
    endpoint = loaded.get(command.pulled.endpoint_id)
    if not isinstance(endpoint, PullEndpoint):
        return None
    endpoint.store_pulled_batch(command.pulled.sync_started_at, str(command.delivery_id))
    return endpoint
