"""What the command says when it cannot start, and what ``serve`` says when it does.

Policy: a failure an operator can fix gets one line saying what is wrong and
how to fix it, no traceback (``--debug`` shows it). Exit code 2 means the
configuration is wrong (a setting, a database or user that doesn't exist, a
missing directory); 1 means the configuration may be right but something at
run time is not (the database is down, the port is taken).
"""

from __future__ import annotations

import errno
import os
import sqlite3
from urllib.parse import urlsplit, urlunsplit

import psycopg
from eventsourcing.persistence import PersistenceError
from pydantic import ValidationError

from infrastructure.secret_cipher import SecretCipherError
from infrastructure.settings import Settings, SettingsError

CONFIGURATION = 2
RUNTIME = 1
SETTINGS_HELP = "every setting and its default: docs/operations.md"


class StartupError(Exception):
    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


def load_settings() -> Settings:
    """The settings from the environment, or a StartupError naming the bad variable."""
    try:
        return Settings()
    except ValidationError as error:
        problem = error.errors()[0]
        field = str(problem["loc"][0]) if problem["loc"] else ""
        variable = f"WMS_INTAKE_{field.upper()}"
        given = os.environ.get(variable)
        shown = "" if given is None else f"={given!r}"
        if field in ("database_url", "secret_key", "geocoder_api_key"):
            shown = ""  # may hold a password or a key
        message = str(problem["msg"]).removeprefix("Value error, ")
        raise StartupError(f"invalid setting {variable}{shown}: {message} ({SETTINGS_HELP})", CONFIGURATION) from None


def explain(error: BaseException, settings: Settings | None, port: int | None = None) -> StartupError | None:
    """The one-line explanation of a start-up failure; None: not one we know."""
    if isinstance(error, StartupError):
        return error
    if isinstance(error, SettingsError):
        return StartupError(str(error), CONFIGURATION)
    if isinstance(error, SecretCipherError):
        return StartupError(f"{error} (see 'Keys and rotation' in docs/operations.md)", CONFIGURATION)
    store = safe_store(settings) if settings is not None else "the database"
    postgres = settings is not None and settings.is_postgres
    if isinstance(error, psycopg.OperationalError) or (postgres and isinstance(error, PersistenceError)):
        detail = _last_line(str(error))
        if "does not exist" in detail or "authentication failed" in detail:
            return StartupError(
                f"cannot use {store}: {detail}; create it, or fix WMS_INTAKE_DATABASE_URL", CONFIGURATION
            )
        return StartupError(
            f"cannot reach {store}: {detail}; start PostgreSQL there, or fix WMS_INTAKE_DATABASE_URL", RUNTIME
        )
    if isinstance(error, (sqlite3.Error, PersistenceError)) and settings is not None and not settings.is_postgres:
        return StartupError(
            f"cannot open {store}: {error}; WMS_INTAKE_DATABASE_URL must name a SQLite file (or a new one) "
            "in a writable directory",
            CONFIGURATION,
        )
    if isinstance(error, OSError) and error.errno == errno.EADDRINUSE:
        return StartupError(
            f"port {port} is already in use: stop the process using it, or choose another with --port", RUNTIME
        )
    return None


def safe_store(settings: Settings) -> str:
    """The store, as can be shown and logged: never a password."""
    if not settings.is_postgres:
        return f"SQLite {settings.sqlite_path.resolve()}"
    url = urlsplit(settings.database_url)
    host = url.hostname or "127.0.0.1"
    netloc = f"{url.username + '@' if url.username else ''}{host}:{url.port or 5432}"
    return "PostgreSQL " + urlunsplit(("postgresql", netloc, url.path, url.query, ""))


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    found = lines[0] if lines else text
    return found.rsplit("failed: ", 1)[-1].replace("FATAL:  ", "")
