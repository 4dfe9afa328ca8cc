"""The composition root: the only place that builds engines and stores. The CLI, the API and
tests get their parts from here, and override any of them by passing their own."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

from mios.config import DATA_DIR, Settings
from mios.errors import WorkspaceError
from mios.persistence.context_store import SqlContextStore
from mios.persistence.engine import create_database_engine, migrate


def settings_from_environment(environ: Mapping[str, str] | None = None) -> Settings:
    return Settings.from_mapping(os.environ if environ is None else environ)  # noqa: TID251


def utc_now() -> datetime:
    return datetime.now(UTC)


def open_context_store(
    workspace: Path,
    settings: Settings,
    *,
    clock: Callable[[], datetime] = utc_now,
) -> SqlContextStore:
    """The workspace's context store, migrated to the newest schema. SQLite lives in
    ``<workspace>/.mios/``; a configured database URL wins."""
    if settings.uses_workspace_file():
        data = workspace / DATA_DIR
        try:
            data.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WorkspaceError.at(
                f"cannot keep the context database here: {exc.strerror or exc}", file=str(data)
            ) from exc
    engine = create_database_engine(settings.database_url_for(workspace))
    try:
        migrate(engine)
    except BaseException:
        engine.dispose()
        raise
    return SqlContextStore(engine, clock=clock)
