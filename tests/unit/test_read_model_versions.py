"""A read model's shape never changes without a new version.

``CREATE TABLE IF NOT EXISTS`` keeps an existing table as it is: a changed
``ddl()`` under the same version would leave every existing store with the
old shape. So each read model's DDL is pinned to its version here. When this
test fails: raise the read model's ``version`` (the service then rebuilds it
beside the old tables and swaps it in on start) and pin the new fingerprint.
A change of what the projection writes, with the same DDL, needs a new
version too (nothing can notice that one for you).
"""

from __future__ import annotations

import hashlib

import pytest

from infrastructure.read_models.deliveries_view import SqlDeliveriesView
from infrastructure.read_models.integrations_view import SqlIntegrationsView
from infrastructure.read_models.orders_view import SqlOrdersView
from infrastructure.read_models.pull_endpoints_view import SqlPullEndpointsView
from infrastructure.read_models.tracked_view import SqlTrackedView
from infrastructure.sql import Database

PINNED = {
    "orders": (2, "eda1d0be6d59b70a"),
    "integrations": (2, "f74f650a6cde7af2"),
    "deliveries": (2, "bddc8d4f477a2f1e"),
    "pull_endpoints": (1, "073fcb8de4db068f"),
}


@pytest.mark.parametrize("view_class", [SqlOrdersView, SqlIntegrationsView, SqlDeliveriesView, SqlPullEndpointsView])
def test_each_read_model_shape_is_pinned_to_its_version(view_class: type[SqlTrackedView]) -> None:
    view = view_class(Database(None, "sqlite"))
    fingerprint = hashlib.sha256("\n".join(view.ddl()).encode()).hexdigest()[:16]
    assert (view.version, fingerprint) == PINNED[view.name], (
        f"the DDL of read model {view.name!r} changed: raise its version and pin ({view.version + 1}, {fingerprint!r})"
        if fingerprint != PINNED[view.name][1]
        else f"pin the new version of {view.name!r}: ({view.version}, {fingerprint!r})"
    )
