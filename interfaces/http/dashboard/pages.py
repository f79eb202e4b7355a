"""The dashboard's pages and who may open each.

Policy: a page is open to exactly the roles whose API calls it makes are
allowed (the API's own grants table decides), so nobody is shown a page whose
data they would be refused. Planning is the planners' (and admins') page: the
auditors reach orders through the order page instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from application.commands import Principal
from domain.roles import GRANTS, Permission, Role
from interfaces.http.dashboard.layout import render_page

STATIC_DIR = Path(__file__).parent / "static"


def _roles_with(permission: Permission) -> frozenset[Role]:
    return frozenset(role for role, granted in GRANTS.items() if permission in granted)


@dataclass(frozen=True)
class DashboardPage:
    name: str
    title: str
    roles: frozenset[Role]
    #: Listed in the navigation (an order's own page is reached from the lists).
    nav: bool = True
    #: Vendor files the page needs besides the dashboard's own stylesheet and script.
    stylesheets: tuple[str, ...] = ()
    scripts: tuple[str, ...] = ()
    #: The whole page, put together once from its file in ``pages/`` and the layout.
    html: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        html = render_page(self.name, self.title, stylesheets=self.stylesheets, scripts=self.scripts)
        object.__setattr__(self, "html", html)

    @property
    def path(self) -> str:
        return f"/dashboard/{self.name}"

    def allows(self, principal: Principal) -> bool:
        return principal.role in self.roles


#: In the order of the navigation; the first page a role may open is its home.
PAGES: tuple[DashboardPage, ...] = (
    DashboardPage("integrations", "Settings → Integrations", _roles_with(Permission.MANAGE_INTEGRATIONS)),
    DashboardPage("api-keys", "API keys", _roles_with(Permission.MANAGE_API_KEYS)),
    DashboardPage(
        "planning",
        "Planning",
        frozenset({Role.ADMIN, Role.PLANNER}) & _roles_with(Permission.READ_ORDERS),
        stylesheets=(
            "/dashboard/static/vendor/leaflet/leaflet.css",
            "/dashboard/static/vendor/leaflet.markercluster/MarkerCluster.css",
        ),
        scripts=(
            "/dashboard/static/vendor/leaflet/leaflet.js",
            "/dashboard/static/vendor/leaflet.markercluster/leaflet.markercluster.js",
            "/dashboard/static/vendor/topojson-client/topojson-client.min.js",
        ),
    ),
    DashboardPage("orders", "Orders", _roles_with(Permission.READ_ORDERS)),
    DashboardPage("order", "Order", _roles_with(Permission.READ_ORDERS), nav=False),
)

BY_NAME = {page.name: page for page in PAGES}
SIGN_IN_HTML = render_page("sign-in", "Sign in", signed_in=False)
FORBIDDEN_HTML = render_page("forbidden", "Not available for your role")


def pages_for(principal: Principal) -> list[DashboardPage]:
    return [page for page in PAGES if page.allows(principal)]


def home_of(principal: Principal) -> str:
    allowed = [page for page in pages_for(principal) if page.nav]
    return allowed[0].path if allowed else "/dashboard/"
