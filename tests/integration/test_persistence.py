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
    assert revision == _newest_revision()


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


def test_a_password_in_the_query_string_is_hidden_too() -> None:
    url = "postgresql://u@h:5432/db?password=s3cretpw&sslmode=require"
    assert "s3cretpw" not in safe_url(url)
    assert "sslmode=require" in safe_url(url)


def test_a_port_that_is_not_a_number_is_a_storage_error() -> None:
    with pytest.raises(StorageError, match="not a database URL"):
        create_database_engine("postgresql://u:pw@h:abc/x")


def test_a_schema_from_a_newer_release_says_to_upgrade(database_url: str) -> None:
    engine = create_database_engine(database_url)
    migrate(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(StorageError, match="upgrade mios"):
        migrate(engine)
    engine.dispose()


def test_a_failing_read_is_a_storage_error(sqlite_url: str) -> None:
    from mios.context.store import ContextChange
    from mios.persistence.context_store import SqlContextStore
    from tests.support.workspaces import minimal_spec

    engine = create_database_engine(sqlite_url)
    migrate(engine)
    store = SqlContextStore(engine)
    store.write(ContextChange(workspace=minimal_spec()), actor="a", reason="b")
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE context_documents"))
    with pytest.raises(StorageError, match="reading from"):
        store.snapshot()
    store.close()


def test_a_row_postgresql_refuses_is_a_storage_error_and_writes_nothing(pg_url: str) -> None:
    """The CSV reader already refuses over-long values; this is the store's own last line."""
    from dataclasses import replace

    from mios.context.store import ContextChange
    from mios.domain.categorical import Categorical
    from mios.persistence.context_store import SqlContextStore
    from tests.support.workspaces import minimal_spec, random_customers

    engine = create_database_engine(pg_url)
    migrate(engine)
    store = SqlContextStore(engine)
    store.write(ContextChange(workspace=minimal_spec()), actor="a", reason="b")
    customers = random_customers(3)
    wide = replace(customers, region=Categorical.from_strings(["R" * 40] * 3))
    with pytest.raises(StorageError, match="writing to"):
        store.write(ContextChange(customers=wide), actor="a", reason="too wide")
    assert store.head() == 1
    store.close()


def test_a_data_folder_that_is_a_file_is_bad_input(tmp_path: Path) -> None:
    from mios.errors import WorkspaceError

    (tmp_path / ".mios").write_text("not a folder")
    with pytest.raises(WorkspaceError, match="cannot keep the context database here"):
        open_context_store(tmp_path, Settings())


def test_a_bulk_insert_rebuilds_the_indexes_and_a_failed_one_keeps_them(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mios.context.store import ContextChange
    from mios.persistence import context_store
    from mios.persistence.context_store import SqlContextStore
    from tests.support.workspaces import minimal_spec, random_customers

    monkeypatch.setattr(context_store, "REBUILD_INDEXES_AT", 10)
    engine = create_database_engine(sqlite_url)
    migrate(engine)
    store = SqlContextStore(engine, materialize_at=1)
    store.write(
        ContextChange(workspace=minimal_spec(), customers=random_customers(50)),
        actor="a",
        reason="bulk",
    )

    def schema_diff() -> list[object]:
        with engine.connect() as conn:
            return list(compare_metadata(MigrationContext.configure(conn), metadata))

    assert schema_diff() == []
    assert store.snapshot().customers().equals(random_customers(50))

    def broken_pack(_table: object) -> bytes:
        raise OSError("disk full")

    # Fails after the rows went in and the indexes were dropped: everything rolls back.
    monkeypatch.setattr(context_store, "pack", broken_pack)
    with pytest.raises(OSError, match="disk full"):
        store.write(
            ContextChange(customers=random_customers(20, prefix="N")), actor="a", reason="fails"
        )
    assert schema_diff() == []
    assert store.head() == 1
    store.close()


def _newest_revision() -> str:
    """The head of the migration scripts, read from them, so a new migration needs no edit here."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from mios.persistence.engine import MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head
