"""The ``wms-intake`` command."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from application.errors import InvalidRequestError, NotFoundError
from application.operator import OperatorCommands
from domain.roles import Role
from infrastructure.malloc_arenas import limit_malloc_arenas
from infrastructure.settings import Settings
from interfaces.container import build_container
from interfaces.http.presenters.history import present_history
from interfaces.http.presenters.keys import present_key_list
from interfaces.logging_setup import configure_logging
from interfaces.startup import RUNTIME, StartupError, explain, load_settings, safe_store
from interfaces.supervisor import DRAIN_SECONDS, MULTIPROC_ENV, default_processes, run_supervisor, share_rate_limit

#: The read models ``projections rebuild`` knows, in the order it rebuilds them.
READ_MODELS = ("orders", "integrations", "deliveries", "pull_endpoints")
ROLES = tuple(role.value for role in Role)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    settings: Settings | None = None
    try:
        settings = load_settings()
        configure_logging(settings.log_level)
        return int(args.run(args, settings) or 0)
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # the one place a failure becomes an exit code
        if args.debug:
            raise
        known = explain(error, settings, getattr(args, "port", None))
        if known is None:
            logging.getLogger("wms_intake").debug("failed", exc_info=True)
            known = StartupError(f"{type(error).__name__}: {error} (run with --debug for the traceback)", RUNTIME)
        sys.stderr.write(f"wms-intake: {known.message}\n")
        return known.exit_code


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default (and no "default: None" for those without one)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default in (None, False, argparse.SUPPRESS) or action.required:
            return action.help or ""
        return super()._get_help_string(action) or ""


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show the traceback of a failure"
    )
    parser = argparse.ArgumentParser(
        prog="wms-intake",
        description="Order intake from WMS / e-commerce / TMS systems (webhook and pull). "
        "Settings come from WMS_INTAKE_* environment variables (docs/operations.md lists them). "
        "Exit codes: 0 ok, 1 a run-time failure, 2 a configuration error.",
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("--debug", action="store_true", help="show the traceback of a failure")
    commands = parser.add_subparsers(title="commands")

    def command(parent: Any, name: str, help: str) -> argparse.ArgumentParser:
        return parent.add_parser(name, help=help, description=help, parents=[common], formatter_class=_HelpFormatter)

    def group(name: str, help: str) -> Any:
        return commands.add_parser(name, help=help, description=help).add_subparsers(title=name)

    serve = command(commands, "serve", "run the HTTP service (and, unless --no-worker, the background work)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8080, help="port to listen on")
    serve.add_argument(
        "--no-worker",
        action="store_true",
        help="no background work in this process (run 'wms-intake worker' beside it)",
    )
    serve.add_argument(
        "--processes",
        type=int,
        default=None,
        help="HTTP processes on the one port, plus one worker for the background work "
        "(default: the number of cores on PostgreSQL, 1 on SQLite; 1: one process does everything)",
    )
    # Set by ``serve --processes N`` on its children (not for people).
    serve.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)
    serve.add_argument("--quiet", action="store_true", help=argparse.SUPPRESS)
    serve.add_argument("--share-of", type=int, default=1, help=argparse.SUPPRESS)
    serve.set_defaults(run=_serve)

    worker = command(commands, "worker", "run the background work only (read models, geocoding, scheduled pulls)")
    worker.add_argument(
        "--metrics-port", type=int, default=0, help="serve this process's Prometheus metrics on this port (0: off)"
    )
    worker.add_argument("--metrics-host", default="127.0.0.1", help="address of the metrics port")
    worker.set_defaults(run=_worker)

    tenants = group("tenants", "manage tenants")
    create = command(tenants, "create", "create a tenant; prints its id and admin API key (shown once)")
    create.add_argument("--name", required=True, help="the tenant's name")
    create.set_defaults(run=_create_tenant)
    listing = command(tenants, "list", "every tenant: id, name, created, active API keys (JSON)")
    listing.set_defaults(run=_list_tenants)

    keys = group("api-keys", "manage a tenant's API keys (the way back in for an admin who lost the key)")
    issue = command(keys, "create", "issue an API key; prints it once")
    issue.add_argument("--tenant", required=True, help="the tenant's id")
    issue.add_argument("--role", choices=ROLES, default="admin", help="what the key may do")
    issue.add_argument("--name", default=None, help='what to call it, e.g. "Planner tablet"')
    issue.set_defaults(run=_create_api_key)
    key_list = command(keys, "list", "a tenant's API keys (never the keys themselves)")
    key_list.add_argument("--tenant", required=True, help="the tenant's id")
    key_list.set_defaults(run=_list_api_keys)
    revoke = command(keys, "revoke", "revoke an API key (its dashboard sessions end at once)")
    revoke.add_argument("--tenant", required=True, help="the tenant's id")
    revoke.add_argument("key_id", help="the key's id, as 'api-keys list' shows it")
    revoke.set_defaults(run=_revoke_api_key)

    projections = group("projections", "manage read models")
    rebuild = command(projections, "rebuild", "drop read models and rebuild them from the event store")
    rebuild.add_argument("name", nargs="?", choices=READ_MODELS, help="one read model (default: all)")
    rebuild.set_defaults(run=_rebuild)

    orders = group("orders", "inspect orders")
    history = command(orders, "history", "an order's audit trail as JSON, by its id or its external id")
    history.add_argument("tenant_id", help="the tenant's id")
    history.add_argument("order_id", nargs="?", help="the order's id (or give --external-id)")
    history.add_argument("--external-id", help="the order's externalOrderId, as the WMS sent it")
    history.set_defaults(run=_history)
    return parser


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _print(document: Any) -> None:
    sys.stdout.write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n")


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from aiohttp import web

    from interfaces.http.app import create_app

    processes = args.processes if args.processes is not None else default_processes(settings.is_postgres)
    if processes < 1:
        sys.stderr.write("wms-intake: --processes must be at least 1\n")
        return 2
    if not args.reuse_port:
        _check_port(args.host, args.port)
    if processes > 1:
        return _supervise(args, settings, processes)
    limit_malloc_arenas()
    share_rate_limit(settings, args.share_of)
    container = build_container(settings)
    try:
        banner = _banner(args, settings, container)
    except BaseException:
        container.close()
        raise
    app = create_app(container, run_background=not args.no_worker, owns_container=True)
    # A connection that sends no complete request (idle, or headers trickled)
    # is closed after the client timeout.
    web.run_app(
        app,
        host=args.host,
        port=args.port,
        access_log=None,
        print=None if args.quiet else _announce(banner),
        keepalive_timeout=settings.client_timeout_seconds,
        reuse_port=args.reuse_port or None,
        # SIGTERM: stop accepting, let the requests in flight finish (up to this long), then exit.
        shutdown_timeout=DRAIN_SECONDS - 10,
    )
    return 0


def _supervise(args: argparse.Namespace, settings: Settings, processes: int) -> int:
    """N HTTP processes on one port and one worker, supervised by this process."""
    # The tables are made once here, before the children start.
    container = build_container(settings)
    try:
        banner = _banner(args, settings, container, processes)
    finally:
        container.close()
    return run_supervisor(
        host=args.host, port=args.port, processes=processes, with_worker=not args.no_worker, banner=banner, say=_say
    )


def _check_port(host: str, port: int) -> None:
    """Fail before opening the store when the port is taken (the message says so)."""
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))


def _banner(args: argparse.Namespace, settings: Settings, container: Any, processes: int = 1) -> list[str]:
    url = f"http://{args.host}:{args.port}"
    if processes > 1:
        topology = f"{processes} HTTP processes on one port" + (
            ", no worker (--no-worker): run 'wms-intake worker' for the background work"
            if args.no_worker
            else " and one worker process for read models, geocoding and scheduled pulls"
        )
    elif args.no_worker:
        topology = "requests only (--no-worker): run 'wms-intake worker' for read models, geocoding and scheduled pulls"
    else:
        topology = "one process: requests and background work (read models, geocoding, scheduled pulls)"
    lines = [
        f"wms-intake listening on {url}",
        f"  dashboard: {url}/dashboard/",
        f"  store:     {safe_store(settings)}",
        f"  topology:  {topology}",
    ]
    if not OperatorCommands(container.use_cases).list_tenants():
        lines.append("  next step: no tenant yet; create one with: wms-intake tenants create --name NAME")
    return lines


def _announce(lines: list[str]) -> Any:
    def announce(_: str) -> None:
        sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()

    return announce


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    import signal
    import threading

    limit_malloc_arenas()
    container = build_container(settings)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    if args.metrics_port:
        _serve_worker_metrics(container, args.metrics_host, args.metrics_port)
    elif os.environ.get(MULTIPROC_ENV):
        # Under ``serve --processes N``: the batches of scheduled pulls are counted
        # in the shared metrics directory, which every HTTP process's /metrics sums.
        from interfaces.http.metrics import Metrics

        Metrics().count_batches_of(container.use_cases)
    container.start_background()
    sys.stderr.write(f"wms-intake worker running on {safe_store(settings)}\n")
    stop.wait()
    container.close()
    return 0


def _serve_worker_metrics(container: Any, host: str, port: int) -> None:
    """The worker's own /metrics: the batches its scheduled pulls store, and lags."""
    from prometheus_client import start_http_server

    from interfaces.http.metrics import Metrics

    metrics = Metrics()
    metrics.count_batches_of(container.use_cases)
    metrics.lags_from(container.projection_lags)
    start_http_server(port, addr=host, registry=metrics.registry)


def _create_tenant(args: argparse.Namespace, settings: Settings) -> int:
    container = build_container(settings)
    try:
        created = container.use_cases.create_tenant(args.name)
    finally:
        container.close()
    _print({"tenantId": str(created.tenant_id), "adminApiKey": created.admin_api_key})
    return 0


def _list_tenants(args: argparse.Namespace, settings: Settings) -> int:
    container = build_container(settings)
    try:
        _print({"tenants": OperatorCommands(container.use_cases).list_tenants()})
    finally:
        container.close()
    return 0


def _create_api_key(args: argparse.Namespace, settings: Settings) -> int:
    return _operate(
        settings, lambda ops: _issued(ops.issue_api_key(args.tenant, args.role, args.name)), _tenants_hint(args.tenant)
    )


def _issued(issued: Any) -> dict[str, Any]:
    return {"id": issued.key_id, "role": issued.role.value, "name": issued.name, "apiKey": issued.api_key}


def _list_api_keys(args: argparse.Namespace, settings: Settings) -> int:
    return _operate(settings, lambda ops: present_key_list(ops.list_api_keys(args.tenant)), _tenants_hint(args.tenant))


def _revoke_api_key(args: argparse.Namespace, settings: Settings) -> int:
    def revoke(ops: OperatorCommands) -> dict[str, Any]:
        ops.revoke_api_key(args.tenant, args.key_id)
        return {"revoked": args.key_id}

    return _operate(settings, revoke, _tenants_hint(args.tenant))


def _tenants_hint(tenant: str) -> Callable[[NotFoundError], str]:
    """A wrong tenant or key: say where the right ones are listed."""

    def say(error: NotFoundError) -> str:
        detail = "" if str(error) == "Not found" else f" ({error})"
        return f"not found{detail}; 'wms-intake tenants list' shows the tenants ({tenant!r} given)"

    return say


def _operate(
    settings: Settings, action: Callable[[OperatorCommands], Any], not_found: Callable[[NotFoundError], str] = str
) -> int:
    """Run one operator use case and print its answer. What is not found is one
    line and exit 1; a value the use case refuses, one line and exit 2."""
    container = build_container(settings)
    try:
        _print(action(OperatorCommands(container.use_cases)))
    except NotFoundError as error:
        sys.stderr.write(f"wms-intake: {not_found(error)}\n")
        return 1
    except InvalidRequestError as error:
        sys.stderr.write(f"wms-intake: {error}\n")
        return 2
    finally:
        container.close()
    return 0


def _rebuild(args: argparse.Namespace, settings: Settings) -> int:
    container = build_container(settings)
    try:
        names = [args.name] if args.name else list(container.followers)
        report = {}
        for name in names:
            report[name] = container.rebuild(name)
        _print({"rebuilt": report})
    finally:
        container.close()
    return 0


def _history(args: argparse.Namespace, settings: Settings) -> int:
    if (args.order_id is None) == (args.external_id is None):
        sys.stderr.write("wms-intake: name the order by its id or by --external-id (one of them)\n")
        return 2
    return _operate(
        settings, lambda ops: present_history(ops.order_history(args.tenant_id, args.order_id, args.external_id))
    )


if __name__ == "__main__":
    raise SystemExit(main())
