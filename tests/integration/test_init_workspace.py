"""``init_workspace`` against real databases: one context per database, no half-made folders."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from mios.bootstrap import open_context_store
from mios.config import Settings
from mios.context.service import init_workspace
from mios.context.store import ContextStore
from mios.errors import ContextError, StorageError


def test_two_inits_racing_for_one_database_leave_one_context(pg_url: str, tmp_path: Path) -> None:
    settings = Settings(database_url=pg_url)
    outcomes: dict[str, BaseException | None] = {}

    def init(name: str) -> None:
        try:
            init_workspace(
                tmp_path / name,
                lambda root: open_context_store(root, settings),
                actor="test",
                customers=50,
            )
            outcomes[name] = None
        except BaseException as exc:  # reported below
            outcomes[name] = exc

    threads = [threading.Thread(target=init, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [name for name, error in outcomes.items() if error is None]
    losers = [error for error in outcomes.values() if error is not None]
    assert len(winners) == 1
    assert len(losers) == 1
    assert isinstance(losers[0], ContextError)
    assert "already holds a context" in str(losers[0])
    assert sorted(p.name for p in tmp_path.iterdir()) == winners  # the loser left nothing
    store = open_context_store(tmp_path / winners[0], settings)
    assert [r.version for r in store.changes()] == [1]
    store.close()


class _FailingStore:
    """Wraps a real store; its write fails as a database that went away would."""

    def __init__(self, inner: ContextStore) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    def write(self, *args: object, **kwargs: object) -> object:
        raise StorageError("writing to the database failed: connection lost")


def test_a_failed_context_write_takes_the_new_folder_away(tmp_path: Path) -> None:
    target = tmp_path / "w"
    with pytest.raises(StorageError):
        init_workspace(
            target,
            lambda root: _FailingStore(open_context_store(root, Settings())),  # type: ignore[arg-type,return-value]
            actor="test",
            customers=20,
        )
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_into_an_existing_empty_folder_empties_it_again(tmp_path: Path) -> None:
    target = tmp_path / "mine"
    target.mkdir()
    with pytest.raises(StorageError):
        init_workspace(
            target,
            lambda root: _FailingStore(open_context_store(root, Settings())),  # type: ignore[arg-type,return-value]
            actor="test",
            customers=20,
        )
    assert target.is_dir()
    assert list(target.iterdir()) == []
    assert [p.name for p in tmp_path.iterdir()] == ["mine"]
