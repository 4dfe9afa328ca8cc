"""One transaction for a governance change and its audit records.

An approval and the audit record that says who gave it must land together or not at all: a crash
between two commits could leave an approval nobody can account for, or a record of a resume that
never happened. ``SharedTransaction`` opens one transaction on the engine, takes the write locks
the governance store and the audit log take on their own (in one fixed order, so two processes
never wait on each other crosswise), and lends that connection to both for as long as it lasts.
Outside it, each adapter runs its own short transactions as before.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine

from mios.errors import StorageError
from mios.persistence.engine import STORAGE_ERRORS, safe_url
from mios.persistence.engine import reason as failure_reason

#: Advisory locks of the audit log and of the governance store (see their modules), in the one
#: order every shared transaction takes them.
_LOCKS = (772003, 772004)


class SharedTransaction:
    """Lends one connection, per thread, to every adapter built with it."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._local = threading.local()

    @property
    def connection(self) -> Connection | None:
        """The connection of the transaction this thread is inside, if any."""
        return getattr(self._local, "connection", None)

    @contextmanager
    def __call__(self) -> Iterator[None]:
        if self.connection is not None:
            yield  # already inside: the outer transaction commits everything
            return
        try:
            with self._engine.begin() as conn:
                if conn.dialect.name == "sqlite":
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                elif conn.dialect.name == "postgresql":
                    for lock in _LOCKS:
                        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({lock})")
                self._local.connection = conn
                try:
                    yield
                finally:
                    self._local.connection = None
        except STORAGE_ERRORS as exc:
            where = safe_url(str(self._engine.url))
            raise StorageError(
                f"a governance change in {where} failed: {failure_reason(exc)}"
            ) from exc
