"""The OpenAPI document itself: a Redocly lint, an example for every body,
named operationIds, links that lead somewhere, and the rules it states.

(``test_openapi.py`` checks the live server against the document, and
``test_schemathesis_run.py`` runs every schemathesis check on it.)
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema_rs
import orjson
import pytest

from interfaces.http.openapi import openapi_document
from interfaces.http.routes import ROUTES
from tests.support.processes import ROOT

REDOCLY_VERSION = "2.77.0"
REDOCLY = ROOT / ".venv" / f"redocly-{REDOCLY_VERSION}" / "node_modules" / ".bin" / "redocly"
CONFIG = Path(__file__).with_name("redocly.yaml")


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return openapi_document(ROUTES, "http://127.0.0.1:8080")


def _redocly() -> str:
    """The pinned ``@redocly/cli``, installed with npm beside the virtualenv on first use."""
    if not REDOCLY.exists():
        npm = shutil.which("npm")
        if npm is None:
            lint_off = os.environ.get("WMS_INTAKE_TEST_REDOCLY", "on").lower() in ("off", "0", "no")
            if lint_off and not os.environ.get("CI"):
                pytest.skip("npm is not installed (WMS_INTAKE_TEST_REDOCLY=off)")
            pytest.fail("the Redocly lint needs npm (apt-get install npm)")
        installed = subprocess.run(
            [
                npm,
                "install",
                "--prefix",
                str(REDOCLY.parents[2]),
                "--no-audit",
                "--no-fund",
                "--loglevel",
                "error",
                f"@redocly/cli@{REDOCLY_VERSION}",
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert installed.returncode == 0, installed.stdout + installed.stderr
    return str(REDOCLY)


def test_redocly_lint_passes(document: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "openapi.json"
    path.write_bytes(orjson.dumps(document))
    linted = subprocess.run(
        [_redocly(), "lint", str(path), "--config", str(CONFIG), "--format", "stylish"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "REDOCLY_TELEMETRY": "off", "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true"},
    )
    assert linted.returncode == 0, linted.stdout + linted.stderr
    assert "warning" not in linted.stdout.lower().replace("deprecation warning", ""), linted.stdout


def _bodies(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(where, media type object) of every request and response body."""
    found = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for media_type, media in operation.get("requestBody", {}).get("content", {}).items():
                found.append((f"{method.upper()} {path} request {media_type}", media))
            for status, response in operation["responses"].items():
                for media_type, media in response.get("content", {}).items():
                    found.append((f"{method.upper()} {path} {status} {media_type}", media))
    return found


def test_every_body_has_examples_valid_against_its_schema(document: dict[str, Any]) -> None:
    bodies = _bodies(document)
    assert len(bodies) > 100
    for where, media in bodies:
        assert media.get("examples"), f"{where} has no example"
        # The schema's $refs point into the document's components: validate with them at the root.
        schema = {**media["schema"], "components": document["components"]}
        validator = jsonschema_rs.Draft202012Validator(schema, validate_formats=True)
        for name, example in media["examples"].items():
            errors = [e.message for e in validator.iter_errors(example["value"])]
            assert errors == [], (where, name, errors)


def test_the_public_documentation_examples_are_the_webhook_examples(document: dict[str, Any]) -> None:
    webhook = document["paths"]["/api/integrations/wms/{tenantId}"]["post"]
    examples = webhook["requestBody"]["content"]["application/json"]["examples"]
    assert examples["single"]["value"]["externalOrderId"] == "WMS-ORD-001"
    assert [o["externalOrderId"] for o in examples["batch"]["value"]] == ["WMS-ORD-001", "WMS-ORD-002"]
    assert examples["curl"]["value"]["deliveryAddress"] == "10 High St, London SW1A 1AA"
    assert document["servers"] == [{"url": "http://127.0.0.1:8080", "description": "this service"}]


def test_operation_ids_are_unique_names(document: dict[str, Any]) -> None:
    ids = [op["operationId"] for ops in document["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids)) == len(ROUTES)
    assert all(re.fullmatch(r"[a-z]+(?:[A-Z][a-z]+)*", i) for i in ids), ids
    assert {
        "receiveOrders",
        "connectWebhook",
        "regenerateWebhookSecret",
        "listOrders",
        "getOrderHistory",
        "getOrder",
        "getOrderByExternalId",
        "addPullEndpoint",
        "syncPullEndpoint",
        "issueApiKey",
        "createCustomer",
    } <= set(ids)


def test_every_creating_operation_links_to_the_operations_that_use_its_ids(document: dict[str, Any]) -> None:
    operations = {op["operationId"]: (path, op) for path, ops in document["paths"].items() for op in ops.values()}

    def links(operation_id: str) -> dict[str, Any]:
        _, operation = operations[operation_id]
        return next(r["links"] for r in operation["responses"].values() if "links" in r)

    expected = {
        "receiveOrders": {"getOrder", "getOrderHistory", "getOrderByExternalId"},
        "syncPullEndpoint": {"getOrder", "getOrderHistory", "getOrderByExternalId"},
        "addPullEndpoint": {
            "changePullEndpoint",
            "removePullEndpoint",
            "regeneratePullEndpointSecret",
            "syncPullEndpoint",
        },
        "issueApiKey": {"revokeApiKey"},
        "createCustomer": {"getCustomer"},
        "connectWebhook": {"receiveOrders", "setWebhookActive", "regenerateWebhookSecret"},
    }
    for source, targets in expected.items():
        found = links(source)
        assert {link["operationId"] for link in found.values()} == targets, source
        for link in found.values():
            target_path, _ = operations[link["operationId"]]
            # Every path parameter of the target is filled, from this response or request.
            assert set(link["parameters"]) == set(re.findall(r"{(\w+)}", target_path)), (source, link)
    webhook = links("receiveOrders")
    assert webhook["order"]["parameters"]["orderId"] == "$response.body#/orders/0/orderId"
    assert webhook["orderByExternalId"]["parameters"]["externalOrderId"] == "$response.body#/orders/0/externalOrderId"


def test_every_operation_with_credentials_documents_its_4xx(document: dict[str, Any]) -> None:
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if operation["security"]:
                assert "401" in operation["responses"], (method, path)


def test_the_rules_the_server_enforces_are_in_the_schema(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    # deliveryAddress or customerId: two whole schemas, one requiring each
    assert [b["$ref"].rsplit("/", 1)[1] for b in schemas["WebhookOrder"]["anyOf"]] == [
        "WebhookOrderByAddress",
        "WebhookOrderByCustomer",
    ]
    assert "deliveryAddress" in schemas["WebhookOrderByAddress"]["required"]
    assert "customerId" in schemas["WebhookOrderByCustomer"]["required"]
    # a pull URL: the domain's own pattern
    url = schemas["AddPullEndpoint"]["properties"]["url"]
    assert re.fullmatch(url["pattern"].strip("^$"), "https://wms.acme.example/orders")
    assert not re.fullmatch(url["pattern"].strip("^$"), "0")
    change = schemas["ChangePullEndpoint"]
    assert change["minProperties"] == 1 and change["properties"]["url"]["type"] == "string"
    # asOfVersion / asOf: said in words; the cursor: opaque
    get_order = document["paths"]["/api/tenants/{tenantId}/orders/{orderId}"]["get"]
    assert "mutually exclusive" in get_order["description"]
    cursor = next(
        p for p in document["paths"]["/api/tenants/{tenantId}/orders"]["get"]["parameters"] if p["name"] == "cursor"
    )
    assert cursor["description"].startswith("Opaque")
    # closed response bodies
    assert schemas["OrderBody"]["additionalProperties"] is False
