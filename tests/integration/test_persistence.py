"""The schema, the engine and their failures, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from mios.bootstrap import open_context_store
from mios.config import Settings
from mios.errors import StorageError
from mios.persistence.engine import check_connection, create_database_engine, migrate, safe_url
from mios.persistence.tables import metadata


def test_migrations_build_exactly_the_tables_the_code_queries(database_url: str) -> None:
    engine = create_database_engine(database_url)
    migrate(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    assert diff == []


def test_migrating_twice_changes_nothing(database_url: str) -> None:
    engine = create_database_engine(database_url)
    migrate(engine)
    migrate(engine)
    with engine.connect() as conn:
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    engine.dispose()
    assert revision == "0001"


def test_sqlite_runs_in_wal_mode(sqlite_url: str) -> None:
    engine = create_database_engine(sqlite_url)
    with engine.connect() as conn:
        mode = conn.execute(text("PRAGMA journal_mode")).scalar_one()
    engine.dispose()
    assert mode == "wal"


def test_the_default_database_lives_inside_the_workspace(tmp_path: Path) -> None:
    store = open_context_store(tmp_path, Settings())
    store.close()
    assert (tmp_path / ".mios" / "mios.db").is_file()


def test_a_database_that_does_not_answer_is_a_storage_error() -> None:
    engine = create_database_engine("postgresql+psycopg://mios:s3cret@127.0.0.1:1/nothing")
    with pytest.raises(StorageError) as caught:
        check_connection(engine)
    assert "127.0.0.1:1" in str(caught.value)
    assert "s3cret" not in str(caught.value)
    with pytest.raises(StorageError):
        migrate(engine)


@pytest.mark.parametrize(
    ("url", "message"),
    [("not a url", "not a database URL"), ("nosuchdb://x/y", "no driver")],
)
def test_unusable_urls_are_storage_errors(url: str, message: str) -> None:
    with pytest.raises(StorageError, match=message):
        create_database_engine(url)


def test_passwords_never_appear_in_messages() -> None:
    assert "hunter2" not in safe_url("postgresql+psycopg://u:hunter2@db:5432/x")
    assert safe_url("postgresql+psycopg://u:hunter2@db:5432/x").startswith("postgresql+psycopg")
