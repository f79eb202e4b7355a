"""Dashboard sign-in over real HTTP, on SQLite and PostgreSQL.

An API key is exchanged for a server-side session (HttpOnly, SameSite=Strict
cookie; Secure over https); the session acts exactly as its key (same roles,
same 404 across tenants) and ends with sign-out, expiry or the key's
revocation; every state-changing request it makes needs the CSRF token and
this service's own origin.
"""

from __future__ import annotations

import fnmatch
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from application.dashboard_sessions import DashboardSessions
from application.errors import UnauthorizedError
from infrastructure.sessions import SqlSessionStore
from interfaces.container import Container, build_container
from interfaces.http.app import create_app
from interfaces.http.dashboard.session_auth import SESSION_COOKIE
from tests.support.http import TenantKeys
from tests.support.settings import make_settings


@dataclass
class Session:
    cookie: str
    body: dict[str, Any]
    set_cookie: str

    def headers(self, *, csrf: bool = False, origin: str | None = None) -> dict[str, str]:
        headers = {"Cookie": f"{SESSION_COOKIE}={self.cookie}"}
        if csrf:
            headers["X-CSRF-Token"] = self.body["csrfToken"]
        if origin:
            headers["Origin"] = origin
        return headers


def origin_of(client: TestClient) -> str:
    return str(client.make_url("")).rstrip("/")


async def sign_in(client: TestClient, api_key: str) -> Session:
    response = await client.post("/dashboard/session", json={"apiKey": api_key}, headers={"Origin": origin_of(client)})
    assert response.status == 201, await response.text()
    raw = response.headers["Set-Cookie"]
    cookie = SimpleCookie(raw)[SESSION_COOKIE].value
    # Each test sends its cookies explicitly: the client's jar would mix sessions.
    client.session.cookie_jar.clear()
    return Session(cookie, await response.json(), raw)


async def issue_key(client: TestClient, tenant: TenantKeys, role: str) -> dict[str, Any]:
    response = await client.post(
        f"/api/tenants/{tenant.tenant_id}/api-keys", json={"role": role}, headers=tenant.auth()
    )
    assert response.status == 201
    return dict(await response.json())


async def test_signing_in_sets_an_httponly_strict_session_cookie_and_keeps_no_key(
    client: TestClient, tenant: TenantKeys, container: Container
) -> None:
    session = await sign_in(client, tenant.admin_key)
    attributes = session.set_cookie.lower()
    assert "httponly" in attributes and "samesite=strict" in attributes and "path=/" in attributes
    assert "secure" not in attributes.replace("samesite", "")  # plain http on 127.0.0.1
    assert session.body["tenantId"] == tenant.tenant_id and session.body["role"] == "admin"
    assert [page["name"] for page in session.body["pages"]] == [
        "integrations",
        "api-keys",
        "planning",
        "orders",
        "order",
    ]
    assert tenant.admin_key not in str(session.body)
    rows = container.db.query(f"SELECT * FROM {container.db.table('dashboard_sessions')}")
    assert len(rows) == 1
    stored = str(rows[0])
    assert session.cookie not in stored and tenant.admin_key not in stored


async def test_the_cookie_is_secure_when_the_service_is_reached_over_https(
    aiohttp_client: Any, database_url: str
) -> None:
    built = build_container(make_settings(database_url, public_url="https://intake.example"))
    try:
        client = await aiohttp_client(create_app(built, run_background=False))
        created = built.use_cases.create_tenant("Secure Ltd")
        response = await client.post("/dashboard/session", json={"apiKey": created.admin_api_key})
        assert response.status == 201
        assert "secure" in response.headers["Set-Cookie"].lower().replace("samesite", "")
    finally:
        built.close()


async def test_a_wrong_key_a_form_post_or_a_foreign_origin_cannot_sign_in(
    client: TestClient, tenant: TenantKeys
) -> None:
    wrong = await client.post("/dashboard/session", json={"apiKey": tenant.admin_key + "x"})
    assert wrong.status == 401 and "Set-Cookie" not in wrong.headers
    form = await client.post("/dashboard/session", data={"apiKey": tenant.admin_key})
    assert form.status == 415
    foreign = await client.post(
        "/dashboard/session", json={"apiKey": tenant.admin_key}, headers={"Origin": "https://evil.example"}
    )
    assert foreign.status == 403
    empty = await client.post("/dashboard/session", json={"apiKey": ""})
    assert empty.status == 400


async def test_the_session_calls_the_api_as_its_key_and_changes_need_the_csrf_token_and_own_origin(
    client: TestClient, tenant: TenantKeys
) -> None:
    session = await sign_in(client, tenant.admin_key)
    connect = f"/api/tenants/{tenant.tenant_id}/integrations/wms/webhook"
    status = await client.get(f"/api/tenants/{tenant.tenant_id}/integrations", headers=session.headers())
    assert status.status == 200

    no_token = await client.post(connect, headers=session.headers())
    assert no_token.status == 403
    wrong_token = await client.post(connect, headers={**session.headers(), "X-CSRF-Token": "0" * 64})
    assert wrong_token.status == 403
    foreign = await client.post(connect, headers=session.headers(csrf=True, origin="https://evil.example"))
    assert foreign.status == 403
    foreign_referer = await client.post(
        connect, headers={**session.headers(csrf=True), "Referer": "https://evil.example/page"}
    )
    assert foreign_referer.status == 403

    connected = await client.post(connect, headers=session.headers(csrf=True, origin=origin_of(client)))
    assert connected.status == 201, await connected.text()
    assert (await connected.json())["secret"].startswith("whs_")


async def test_a_session_of_one_tenant_gets_404_on_another_tenants_routes(
    client: TestClient, tenant: TenantKeys, make_tenant: Callable[[str], TenantKeys]
) -> None:
    other = make_tenant("Other Ltd")
    session = await sign_in(client, tenant.admin_key)
    response = await client.get(f"/api/tenants/{other.tenant_id}/integrations", headers=session.headers())
    assert response.status == 404
    bad_id = await client.get("/api/tenants/not-a-uuid/orders", headers=session.headers())
    assert bad_id.status == 404


@pytest.mark.parametrize(
    ("role", "allowed"), [("planner", {"planning", "orders", "order"}), ("auditor", {"orders", "order"})]
)
async def test_pages_open_to_exactly_the_roles_the_api_allows(
    client: TestClient, tenant: TenantKeys, role: str, allowed: set[str]
) -> None:
    key = await issue_key(client, tenant, role)
    session = await sign_in(client, key["apiKey"])
    assert {page["name"] for page in session.body["pages"]} == allowed
    for page in ("integrations", "api-keys", "planning", "orders", "order"):
        response = await client.get(f"/dashboard/{page}", headers=session.headers(), allow_redirects=False)
        assert response.status == (200 if page in allowed else 403), page
        assert response.content_type == "text/html"
    integrations = await client.get(f"/api/tenants/{tenant.tenant_id}/integrations", headers=session.headers())
    assert integrations.status == 403


async def test_without_a_session_pages_send_the_browser_to_sign_in(client: TestClient) -> None:
    response = await client.get("/dashboard/planning?date=2025-02-22", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/dashboard/?next=%2Fdashboard%2Fplanning%3Fdate%3D2025-02-22"
    sign_in_page = await client.get("/dashboard/")
    assert sign_in_page.status == 200 and "Sign in" in await sign_in_page.text()
    api = await client.get("/dashboard/session")
    assert api.status == 401


async def test_a_signed_in_browser_goes_from_the_sign_in_page_to_its_home(
    client: TestClient, tenant: TenantKeys
) -> None:
    session = await sign_in(client, tenant.admin_key)
    response = await client.get("/dashboard/", headers=session.headers(), allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/dashboard/integrations"


async def test_revoking_the_key_ends_its_sessions_at_once(client: TestClient, tenant: TenantKeys) -> None:
    planner = await issue_key(client, tenant, "planner")
    session = await sign_in(client, planner["apiKey"])
    assert (await client.get("/dashboard/session", headers=session.headers())).status == 200
    revoked = await client.delete(f"/api/tenants/{tenant.tenant_id}/api-keys/{planner['id']}", headers=tenant.auth())
    assert revoked.status == 204
    assert (await client.get("/dashboard/session", headers=session.headers())).status == 401
    orders = await client.get(f"/api/tenants/{tenant.tenant_id}/orders", headers=session.headers())
    assert orders.status == 401
    page = await client.get("/dashboard/planning", headers=session.headers(), allow_redirects=False)
    assert page.status == 303


async def test_signing_out_needs_the_csrf_token_and_ends_the_session(client: TestClient, tenant: TenantKeys) -> None:
    session = await sign_in(client, tenant.admin_key)
    refused = await client.delete("/dashboard/session", headers=session.headers())
    assert refused.status == 403
    out = await client.delete("/dashboard/session", headers=session.headers(csrf=True, origin=origin_of(client)))
    assert out.status == 204
    assert f"{SESSION_COOKIE}=" in out.headers["Set-Cookie"] and "max-age=0" in out.headers["Set-Cookie"].lower()
    replayed = await client.get(f"/api/tenants/{tenant.tenant_id}/orders", headers=session.headers())
    assert replayed.status == 401


async def test_an_api_client_with_a_bearer_key_is_not_asked_for_csrf(client: TestClient, tenant: TenantKeys) -> None:
    session = await sign_in(client, tenant.admin_key)
    response = await client.post(
        f"/api/tenants/{tenant.tenant_id}/integrations/wms/webhook",
        headers={**tenant.auth(), "Cookie": f"{SESSION_COOKIE}={session.cookie}"},
    )
    assert response.status == 201


class MovableClock:
    def __init__(self) -> None:
        self.moment = datetime(2025, 2, 22, 8, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.moment


def test_sessions_expire_after_their_lifetime_and_are_swept(container: Container, tenant: TenantKeys) -> None:
    clock = MovableClock()
    store = SqlSessionStore(container.db)
    sessions = DashboardSessions(container.use_cases, store, clock, timedelta(hours=1))
    signed = sessions.sign_in(tenant.admin_key)
    clock.moment += timedelta(minutes=59)
    assert sessions.principal(signed.token, tenant.tenant_id).role.value == "admin"
    clock.moment += timedelta(minutes=2)
    with pytest.raises(UnauthorizedError):
        sessions.principal(signed.token, tenant.tenant_id)
    sessions.sign_in(tenant.admin_key)  # a sign-in sweeps the expired rows
    assert len(container.db.query(f"SELECT * FROM {container.db.table('dashboard_sessions')}")) == 1


async def test_dashboard_files_are_served_with_a_policy_that_allows_only_this_service(client: TestClient) -> None:
    for path in ("/dashboard/", "/dashboard/static/js/common.js", "/dashboard/static/vendor/leaflet/leaflet.js"):
        response = await client.get(path)
        assert response.status == 200, path
        policy = response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "connect-src 'self'" in policy
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    marker = await client.get("/dashboard/static/vendor/leaflet/images/marker-icon.png")
    assert marker.status == 200 and marker.content_type == "image/png"


def test_every_dashboard_file_ships_inside_the_package() -> None:
    """Each page, script, style, image and licence matches a package-data pattern of pyproject.toml."""
    project = Path(__file__).parents[2]
    root = project / "interfaces" / "http" / "dashboard"
    patterns = tomllib.loads((project / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    shipped = [*patterns.get("interfaces.http.dashboard", []), *patterns.get("*", [])]
    files = [
        path.relative_to(root).as_posix()
        for path in root.rglob("*")
        if path.is_file() and path.suffix != ".py" and "__pycache__" not in path.parts
    ]
    assert "static/vendor/leaflet/leaflet.js" in files and "static/vendor/leaflet/LICENSE" in files
    missing = [name for name in files if not any(_glob_matches(name, pattern) for pattern in shipped)]
    assert missing == []


def _glob_matches(name: str, pattern: str) -> bool:
    """setuptools' glob: ``*`` stays within one folder."""
    parts, wanted = name.split("/"), pattern.split("/")
    return len(parts) == len(wanted) and all(fnmatch.fnmatchcase(p, w) for p, w in zip(parts, wanted, strict=True))
