"""Orders (planning, lookup, history, "as of") and customers."""

from __future__ import annotations

import datetime as dt

from aiohttp import web

from application.errors import InvalidRequestError
from application.order_payload import is_calendar_date
from application.timestamps import parse_iso
from interfaces.http.auth import principal_of
from interfaces.http.keys import CONTAINER
from interfaces.http.offload import offload
from interfaces.http.paging import page_params
from interfaces.http.responses import json_response
from interfaces.http.schemas import CreateCustomer, parse_body



async def list_orders(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    limit, cursor = page_params(request)
    planned = request.query.get("plannedDate")
    if planned is not None and not is_calendar_date(planned):
        raise InvalidRequestError("plannedDate must be a real calendar date in YYYY-MM-DD format")
    page = await offload(
        request, request.app[CONTAINER].queries.orders_page, principal, planned, limit, cursor
    )
    return json_response({"orders": list(page.items), "nextCursor": page.next_cursor})


async def get_order(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    container = request.app[CONTAINER]
    order_id = request.match_info["orderId"]
    version, as_of = _as_of_params(request)
    if version is None and as_of is None:
        order = await offload(request, container.queries.order, principal, order_id)
    else:
        order = await offload(request, container.app.order_as_of, principal, order_id, version, as_of)
    return json_response(order)


async def get_order_by_external_id(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    order = await offload(
        request,
        request.app[CONTAINER].queries.order_by_external_id,
        principal,
        request.match_info["externalOrderId"],
    )
    return json_response(order)


async def order_history(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    history = await offload(
        request, request.app[CONTAINER].app.order_history, principal, request.match_info["orderId"]
    )
    return json_response(history)


async def create_customer(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    body = await parse_body(request, CreateCustomer)
    customer = await offload(
        request, request.app[CONTAINER].app.create_customer, principal, body.name, body.address, body.contact
    )
    return json_response(customer, status=201)


async def list_customers(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    limit, cursor = page_params(request)
    search = request.query.get("q") or None
    page = await offload(
        request, request.app[CONTAINER].queries.customers_page, principal, search, limit, cursor
    )
    return json_response({"customers": list(page.items), "nextCursor": page.next_cursor})


async def get_customer(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    customer = await offload(
        request, request.app[CONTAINER].queries.customer, principal, request.match_info["customerId"]
    )
    return json_response(customer)


def _as_of_params(request: web.Request) -> tuple[int | None, dt.datetime | None]:
    raw_version = request.query.get("asOfVersion")
    raw_moment = request.query.get("asOf")
    if raw_version is not None and raw_moment is not None:
        raise InvalidRequestError("give asOfVersion or asOf, not both")
    version = None
    if raw_version is not None:
        if not (raw_version.isascii() and raw_version.isdigit()) or not 1 <= int(raw_version) <= 2**31:
            raise InvalidRequestError("asOfVersion must be a whole number from 1")
        version = int(raw_version)
    moment = None
    if raw_moment is not None:
        try:
            moment = parse_iso(raw_moment)
        except ValueError:
            raise InvalidRequestError("asOf must be an ISO 8601 timestamp") from None
    return version, moment
