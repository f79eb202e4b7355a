"""Customers: one, and a page of them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from application.read_models import CustomerRow, Page


def present_customer(customer: CustomerRow) -> dict[str, Any]:
    return {
        "customerId": customer.customer_id,
        "name": customer.name,
        "contact": customer.contact,
        "address": customer.address,
        "createdAt": customer.created_at,
    }


def present_created_customer(customer: Mapping[str, Any]) -> dict[str, Any]:
    """The 201 of a new customer. The use case answers with the wire names
    already; this keeps to the documented keys."""
    return {name: customer[name] for name in ("customerId", "name", "contact", "address", "createdAt")}


def present_customers_page(page: Page[CustomerRow]) -> dict[str, Any]:
    return {"customers": [present_customer(c) for c in page.items], "nextCursor": page.next_cursor}
