"""Orders (planning, lookup, history, "as of") and customers."""

from __future__ import annotations

import datetime as dt

from aiohttp import web

from application.errors import InvalidRequestError
from application.order_payload import is_calendar_date
from application.read_models import OrderFilter
from application.timestamps import parse_iso
from interfaces.http.auth import principal_of
from interfaces.http.keys import CONTAINER
from interfaces.http.offload import offload
from interfaces.http.paging import page_params
from interfaces.http.positions import consistent_reads, min_position, with_position
from interfaces.http.presenters.customers import present_customer, present_customers_page
from interfaces.http.presenters.history import present_history
from interfaces.http.presenters.orders import present_order, present_orders_page, present_planned_dates
from interfaces.http.responses import json_response
from interfaces.http.schemas import CreateCustomer, parse_body

#: ``?plannedDate=none``: the orders that have no planned date.
NO_DATE = "none"
MAX_SEARCH = 255


async def list_orders(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    limit, cursor = page_params(request)
    planned = request.query.get("plannedDate")
    undated = planned == NO_DATE
    if undated:
        planned = None
    elif planned is not None and not is_calendar_date(planned):
        raise InvalidRequestError('plannedDate must be a real calendar date in YYYY-MM-DD format, or "none"')
    search = request.query.get("search") or None
    if search is not None and (len(search) > MAX_SEARCH or "\x00" in search):
        raise InvalidRequestError(f"search must be at most {MAX_SEARCH} characters, without NUL")
    page = await consistent_reads(request).orders_page(
        principal, OrderFilter(planned, search, undated), limit, cursor, min_position(request)
    )
    return json_response(present_orders_page(page))


async def planned_dates(request: web.Request) -> web.Response:
    """The dates that have orders, from ``since`` (default: every date) on, with their counts."""
    principal = await principal_of(request)
    limit, _ = page_params(request)
    since = request.query.get("since")
    if since is not None and not is_calendar_date(since):
        raise InvalidRequestError("since must be a real calendar date in YYYY-MM-DD format")
    dates = await offload(request, request.app[CONTAINER].queries.planned_dates, principal, since, limit)
    return json_response(present_planned_dates(dates))


async def get_order(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    container = request.app[CONTAINER]
    order_id = request.match_info["orderId"]
    version, as_of = _as_of_params(request)
    if version is None and as_of is None:
        order = await consistent_reads(request).order(principal, order_id)
    else:
        order = await offload(request, container.use_cases.order_as_of, principal, order_id, version, as_of)
    return json_response(present_order(order))


async def get_order_by_external_id(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    order = await consistent_reads(request).order_by_external_id(principal, request.match_info["externalOrderId"])
    return json_response(present_order(order))


async def order_history(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    history = await offload(
        request, request.app[CONTAINER].use_cases.order_history, principal, request.match_info["orderId"]
    )
    return json_response(present_history(history))


async def create_customer(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    body = await parse_body(request, CreateCustomer)
    customer = await offload(
        request, request.app[CONTAINER].use_cases.create_customer, principal, body.name, body.address, body.contact
    )
    return json_response(await with_position(request, present_customer(customer)), status=201)


async def list_customers(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    limit, cursor = page_params(request)
    search = request.query.get("q") or None
    page = await offload(request, request.app[CONTAINER].queries.customers_page, principal, search, limit, cursor)
    return json_response(present_customers_page(page))


async def get_customer(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    customer = await consistent_reads(request).customer(principal, request.match_info["customerId"])
    return json_response(present_customer(customer))


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
