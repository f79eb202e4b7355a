"""Customers: one, and a page of them."""

from __future__ import annotations

from typing import Any

from application.paging import Page
from application.read_models import CustomerRow


def present_customer(customer: CustomerRow) -> dict[str, Any]:
    return {
        "customerId": customer.customer_id,
        "name": customer.name,
        "contact": customer.contact,
        "address": customer.address,
        "createdAt": customer.created_at,
    }


def present_customers_page(page: Page[CustomerRow]) -> dict[str, Any]:
    return {"customers": [present_customer(c) for c in page.items], "nextCursor": page.next_cursor}
