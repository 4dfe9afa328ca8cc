"""Build the database engine and bring its schema to the newest migration.

SQLite (the default) runs in WAL mode so readers never block the writer; PostgreSQL is used
when a URL is given (``postgresql+psycopg://``). Connection failures become ``StorageError``
with the password masked.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.util import CommandError
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from mios.errors import StorageError

MIGRATIONS = Path(__file__).parent / "migrations"


#: Errors raised by the drivers themselves, where mios talks to a driver directly.
DRIVER_ERRORS: tuple[type[Exception], ...]
try:
    import psycopg

    DRIVER_ERRORS = (sqlite3.Error, psycopg.Error)
except ImportError:  # the postgres extra is not installed
    DRIVER_ERRORS = (sqlite3.Error,)
#: Everything a database can raise at mios, through SQLAlchemy or from a driver directly.
STORAGE_ERRORS: tuple[type[Exception], ...] = (SQLAlchemyError, *DRIVER_ERRORS)


#: Query parameters that carry secrets in libpq and psycopg connection strings.
_SECRET_PARAMETERS = frozenset({"password", "sslpassword", "passfile", "sslkey"})


def safe_url(url: str) -> str:
    """The URL with every password hidden (user part and query string), for messages."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return "<unparseable database URL>"
    hidden = {k: "***" for k in parsed.query if k.lower() in _SECRET_PARAMETERS}
    return parsed.update_query_dict(hidden).render_as_string(hide_password=True)


def create_database_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:  # ValueError: a port that is not a number
        raise StorageError(f"not a database URL: {safe_url(url)}") from exc
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    try:
        if parsed.get_backend_name() == "sqlite":
            engine = create_engine(parsed, connect_args={"timeout": 30})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(parsed, pool_pre_ping=True)
    except NoSuchModuleError as exc:
        raise StorageError(
            f"no driver for {parsed.drivername}; for PostgreSQL: pip install 'mios[postgres]'"
        ) from exc
    except ImportError as exc:
        raise StorageError(
            f"the driver for {parsed.drivername} is not installed ({exc.name}); "
            "for PostgreSQL: pip install 'mios[postgres]'"
        ) from exc
    return engine


def _sqlite_pragmas(connection: sqlite3.Connection, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints; WAL keeps it safe
    cursor.execute("PRAGMA foreign_keys=ON")
    # 64 MB of page cache (the default is 2 MB): large imports touch many index pages.
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


def migrate(engine: Engine) -> None:
    """Upgrade the schema to the newest migration (a no-op when it is already there)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Several workers may start at once; one migrates, the others wait for it.
                connection.execute(text("SELECT pg_advisory_xact_lock(772001)"))
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except CommandError as exc:
        # Typically a revision this release does not know: a newer mios migrated the database.
        raise StorageError(
            f"the database {safe_url(str(engine.url))} has a schema this version of mios does "
            f"not know ({exc}); upgrade mios"
        ) from exc
    except STORAGE_ERRORS as exc:
        raise StorageError(f"cannot reach {safe_url(str(engine.url))}: {reason(exc)}") from exc


def check_connection(engine: Engine) -> None:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        raise StorageError(f"cannot reach {safe_url(str(engine.url))}: {reason(exc)}") from exc


def reason(exc: BaseException) -> str:
    """The driver's first line about what went wrong."""
    original = getattr(exc, "orig", None)
    message = str(original if original is not None else exc).strip().splitlines()
    return message[0] if message else type(exc).__name__
