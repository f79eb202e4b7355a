"""The ``wms-intake`` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

import orjson

from infrastructure.malloc_arenas import limit_malloc_arenas
from infrastructure.settings import Settings
from interfaces.container import build_container
from interfaces.logging_setup import configure_logging


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    settings = Settings()
    configure_logging(settings.log_level)
    return int(args.run(args, settings) or 0)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wms-intake",
        description="Order intake from WMS / e-commerce / TMS systems (webhook and pull). "
        "Settings come from WMS_INTAKE_* environment variables.",
    )
    commands = parser.add_subparsers(title="commands")

    serve = commands.add_parser("serve", help="run the HTTP service (and background work)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--no-worker", action="store_true", help="no background work in this process")
    serve.set_defaults(run=_serve)

    worker = commands.add_parser("worker", help="run background work only (projections, ...)")
    worker.set_defaults(run=_worker)

    tenants = commands.add_parser("tenants", help="manage tenants").add_subparsers(title="tenants")
    create = tenants.add_parser("create", help="create a tenant; prints its id and admin API key (shown once)")
    create.add_argument("--name", required=True)
    create.set_defaults(run=_create_tenant)

    projections = commands.add_parser("projections", help="manage read models").add_subparsers(title="projections")
    rebuild = projections.add_parser("rebuild", help="drop read models and rebuild them from the event store")
    rebuild.add_argument("name", nargs="?", help="one read model (default: all)")
    rebuild.set_defaults(run=_rebuild)

    orders = commands.add_parser("orders", help="inspect orders").add_subparsers(title="orders")
    history = orders.add_parser("history", help="an order's audit trail as JSON")
    history.add_argument("tenant_id")
    history.add_argument("order_id")
    history.set_defaults(run=_history)
    return parser


def _print(document: Any) -> None:
    sys.stdout.write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n")


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from aiohttp import web

    from interfaces.http.app import create_app

    limit_malloc_arenas()
    container = build_container(settings)
    app = create_app(container, run_background=not args.no_worker, owns_container=True)
    # A connection that sends no complete request (idle, or headers trickled)
    # is closed after the client timeout.
    web.run_app(
        app,
        host=args.host,
        port=args.port,
        access_log=None,
        print=_announce(args),
        keepalive_timeout=settings.client_timeout_seconds,
    )
    return 0


def _announce(args: argparse.Namespace) -> Any:
    def announce(_: str) -> None:
        sys.stderr.write(f"wms-intake listening on http://{args.host}:{args.port}\n")

    return announce


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    import signal
    import threading

    limit_malloc_arenas()
    container = build_container(settings)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    container.start_background()
    sys.stderr.write("wms-intake worker running\n")
    stop.wait()
    container.close()
    return 0


def _create_tenant(args: argparse.Namespace, settings: Settings) -> int:
    container = build_container(settings)
    try:
        created = container.app.create_tenant(args.name)
    finally:
        container.close()
    _print({"tenantId": str(created.tenant_id), "adminApiKey": created.admin_api_key})
    return 0


def _rebuild(args: argparse.Namespace, settings: Settings) -> int:
    container = build_container(settings)
    try:
        names = [args.name] if args.name else list(container.followers)
        unknown = [n for n in names if n not in container.followers]
        if unknown:
            sys.stderr.write(f"unknown read model {unknown[0]!r}; known: {', '.join(container.followers)}\n")
            return 2
        report = {}
        for name in names:
            report[name] = container.rebuild(name)
        _print({"rebuilt": report})
    finally:
        container.close()
    return 0


def _history(args: argparse.Namespace, settings: Settings) -> int:
    from application.errors import NotFoundError

    container = build_container(settings)
    try:
        _print(container.app.order_history_for_operator(args.tenant_id, args.order_id))
    except NotFoundError as error:
        sys.stderr.write(f"{error}\n")
        return 1
    finally:
        container.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
