"""Reads that see what was written: by id at once, lists from a given position.

Writes go to the event store; read models follow it a little later (usually
milliseconds, at most the read-model lag under load). A client that has just
had a 200/201 must still see its write, from any process:

* **By id** (an order by id or external id, a customer): the read waits until
  the read model has applied the last event of *that* aggregate, found in the
  event store by its id (one indexed query). An id the event store has never
  seen is a 404 at once; a recently written one waits only for its own events,
  never for unrelated traffic.
* **Admin lists** (integration status, pull endpoints): small and rarely read,
  so they wait for the read model to reach the event store's position at the
  start of the read: everything written before it shows.
* **Other lists** (orders for planning, the delivery log) may lag; a client
  passes back the position of its write (``after``) and the read waits until
  the read model has reached it.

Every wait is bounded (``timeout``): past it the read fails with
``ReadModelBehindError`` (503 with ``Retry-After``) instead of answering stale.
A position beyond anything the event store holds was never a write's
position: ``InvalidRequestError`` (400).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import KW_ONLY, dataclass, field
from typing import TypeVar
from uuid import UUID

from application.commands import Principal
from application.errors import InvalidRequestError, NotFoundError, ServiceUnavailableError
from application.paging import Page
from application.ports.blocking import BlockingRunner
from application.ports.positions import EventPositions, ViewPosition
from application.principals import require as _require
from application.queries import IntakeQueries
from application.read_models import CustomerRow, DeliveryRow, IntegrationStatus, OrderFilter, OrderView, PullEndpointRow
from domain.ids import order_id as order_id_for
from domain.roles import Permission

T = TypeVar("T")

#: Positions are notification ids: PostgreSQL ``bigint``.
MAX_POSITION = 2**63 - 1


class ReadModelBehindError(ServiceUnavailableError):
    """The read model did not reach the position asked for within the bound."""


@dataclass(eq=False)
class ConsistentReads:
    """The read-side use cases that must reflect earlier writes (see the module doc)."""

    queries: IntakeQueries
    positions: EventPositions
    views: Mapping[str, ViewPosition]
    run: BlockingRunner
    _: KW_ONLY
    timeout: float
    #: A view's name -> what wakes its follower at once (none: it is polled).
    wake: Mapping[str, Callable[[], None]] = field(default_factory=dict)

    # ------------------------------------------------------------------ waiting

    async def reach(self, names: tuple[str, ...], position: int | None) -> None:
        """Return once every named read model has applied ``position``.

        Polls the read models' positions (each one indexed row) with a short,
        growing pause; wakes this process's followers first, in case it is the
        one following them. Raises ReadModelBehindError past the bound.
        """
        if not position:
            return
        deadline = time.monotonic() + self.timeout
        pause = 0.002
        checked_store = False
        while True:
            behind = await self.run(lambda: [n for n in names if self.views[n].position() < position])
            if not behind:
                return
            if not checked_store:
                checked_store = True
                if position > await self.run(self.positions.latest):
                    raise InvalidRequestError(
                        "the position is beyond the event store: pass the X-Event-Position of a write"
                    )
                for name in behind:
                    wake = self.wake.get(name)
                    if wake is not None:
                        wake()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ReadModelBehindError(
                    f"the read model ({', '.join(behind)}) has not reached position {position} yet; retry",
                    retry_after=max(1, math.ceil(self.timeout / 5)),
                )
            await asyncio.sleep(min(pause, remaining))
            pause = min(pause * 2, 0.05)

    async def _latest_of(self, *aggregate_ids: UUID) -> int | None:
        return await self.run(lambda: self.positions.latest_of(aggregate_ids))

    # ------------------------------------------------------------------ by id

    async def order(self, principal: Principal, order_id: str) -> OrderView:
        _require(principal, Permission.READ_ORDERS)
        oid = _id_of(order_id, "Order")
        return await self._order(oid, lambda: self.queries.order(principal, order_id))

    async def order_by_external_id(self, principal: Principal, external_id: str) -> OrderView:
        _require(principal, Permission.READ_ORDERS)
        oid = order_id_for(principal.tenant_id, external_id)
        return await self._order(oid, lambda: self.queries.order_by_external_id(principal, external_id))

    async def _order(self, oid: UUID, read: Callable[[], OrderView]) -> OrderView:
        position = await self._latest_of(oid)
        if position is None:
            raise NotFoundError("Order not found")
        await self.reach(("orders",), position)
        found = await self.run(read)
        # The order's customer may have been created after the order's own
        # events (a batch that moved the order to a new address): its name
        # shows once the read model has that customer too.
        if found.customer_name is None and found.customer_id:
            customer_position = await self._latest_of(UUID(found.customer_id))
            if customer_position is not None and customer_position > position:
                await self.reach(("orders",), customer_position)
                found = await self.run(read)
        return found

    async def customer(self, principal: Principal, customer_id: str) -> CustomerRow:
        _require(principal, Permission.MANAGE_CUSTOMERS)
        position = await self._latest_of(_id_of(customer_id, "Customer"))
        if position is None:
            raise NotFoundError("Customer not found")
        await self.reach(("orders",), position)
        return await self.run(lambda: self.queries.customer(principal, customer_id))

    # ------------------------------------------------------------------ lists

    async def integration_status(
        self, principal: Principal, webhook_url: str, after: int | None = None
    ) -> IntegrationStatus:
        _require(principal, Permission.MANAGE_INTEGRATIONS)
        await self.reach(("integrations", "pull_endpoints"), await self._now_or(after))
        return await self.run(lambda: self.queries.integration_status(principal, webhook_url))

    async def pull_endpoints(
        self, principal: Principal, list_endpoints: Callable[[], list[PullEndpointRow]], after: int | None = None
    ) -> list[PullEndpointRow]:
        _require(principal, Permission.MANAGE_INTEGRATIONS)
        await self.reach(("pull_endpoints",), await self._now_or(after))
        return await self.run(list_endpoints)

    async def orders_page(
        self, principal: Principal, which: OrderFilter, limit: int, cursor: str | None, after: int | None
    ) -> Page[OrderView]:
        _require(principal, Permission.READ_ORDERS)
        await self.reach(("orders",), after)
        return await self.run(lambda: self.queries.orders_page(principal, which, limit, cursor))

    async def deliveries_page(
        self, principal: Principal, limit: int, cursor: str | None, after: int | None
    ) -> Page[DeliveryRow]:
        _require(principal, Permission.MANAGE_INTEGRATIONS)
        await self.reach(("deliveries",), after)
        return await self.run(lambda: self.queries.deliveries_page(principal, limit, cursor))

    async def _now_or(self, after: int | None) -> int:
        return max(after or 0, await self.run(self.positions.latest))


def _id_of(text: str, what: str) -> UUID:
    """An id from a URL; one that is no UUID names nothing (NotFound, as for an unknown id)."""
    try:
        return UUID(text)
    except ValueError:
        raise NotFoundError(f"{what} not found") from None
