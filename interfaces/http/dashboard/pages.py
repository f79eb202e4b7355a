"""The dashboard's pages and who may open each.

Policy: a page is open to exactly the roles whose API calls it makes are
allowed (the API's own grants table decides), so nobody is shown a page whose
data they would be refused. Planning is the planners' (and admins') page: the
auditors reach orders through the order page instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from application.commands import Principal
from domain.roles import GRANTS, Permission, Role

PAGES_DIR = Path(__file__).parent / "pages"
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

    @property
    def path(self) -> str:
        return f"/dashboard/{self.name}"

    @property
    def file(self) -> Path:
        return PAGES_DIR / f"{self.name}.html"

    def allows(self, principal: Principal) -> bool:
        return principal.role in self.roles


#: In the order of the navigation; the first page a role may open is its home.
PAGES: tuple[DashboardPage, ...] = (
    DashboardPage(
        "integrations", "Settings → Integrations", _roles_with(Permission.MANAGE_INTEGRATIONS)
    ),
    DashboardPage("api-keys", "API keys", _roles_with(Permission.MANAGE_API_KEYS)),
    DashboardPage(
        "planning",
        "Planning",
        frozenset({Role.ADMIN, Role.PLANNER}) & _roles_with(Permission.READ_ORDERS),
    ),
    DashboardPage("orders", "Orders", _roles_with(Permission.READ_ORDERS)),
    DashboardPage("order", "Order", _roles_with(Permission.READ_ORDERS), nav=False),
)

BY_NAME = {page.name: page for page in PAGES}
SIGN_IN_FILE = PAGES_DIR / "sign-in.html"
FORBIDDEN_FILE = PAGES_DIR / "forbidden.html"


def pages_for(principal: Principal) -> list[DashboardPage]:
    return [page for page in PAGES if page.allows(principal)]


def home_of(principal: Principal) -> str:
    allowed = [page for page in pages_for(principal) if page.nav]
    return allowed[0].path if allowed else "/dashboard/"
