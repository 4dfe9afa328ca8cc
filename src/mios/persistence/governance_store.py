"""``GovernanceStore`` on SQLAlchemy: SQLite or PostgreSQL, one code path.

Each save is one transaction and an upsert (``INSERT ... ON CONFLICT DO UPDATE``), so two
processes saving the same object never fail on each other: the later write wins, as in memory.
A request keeps the ``ordinal`` it got when it was first saved; new ordinals are handed out under
a write lock (SQLite ``BEGIN IMMEDIATE``, a PostgreSQL advisory lock) so two first saves at once
cannot take the same one. Reads decode fresh objects, so what a caller holds is always a copy.

A row that no longer decodes (changed outside mios) is a ``StorageError`` naming it, like every
failure of the database itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Row, Select, Table, delete, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from mios.domain.action import Action
from mios.domain.governance import ApprovalRequest, ApprovalStatus, Role
from mios.errors import DomainError, StorageError
from mios.governance.codec import (
    action_from_json,
    action_to_json,
    dumps,
    loads,
    pause_from_json,
    pause_to_json,
    request_from_json,
    request_to_json,
)
from mios.governance.people import TokenRecord, User
from mios.governance.store import PauseState
from mios.persistence.engine import STORAGE_ERRORS, safe_url
from mios.persistence.engine import reason as failure_reason
from mios.persistence.shared_transaction import SharedTransaction
from mios.persistence.tables import actions, api_tokens, approval_requests, governance_state, users

#: Key of the PostgreSQL advisory lock that hands out request ordinals (772001 is migrations',
#: 772002 the context store's, 772003 the audit log's).
_ORDINAL_LOCK = 772004
_PAUSE = "pause"
#: The statuses ``ApprovalRequest.is_open`` counts as open (a contract test holds them equal).
OPEN_STATUSES = (ApprovalStatus.PENDING.value, ApprovalStatus.ESCALATED.value)

T = TypeVar("T")


class SqlGovernanceStore:
    """``shared``: inside its transaction, every read and write uses that transaction's
    connection (and its locks), so a change commits together with its audit records."""

    def __init__(self, engine: Engine, shared: SharedTransaction | None = None) -> None:
        self._engine = engine
        self._shared = shared

    # -- people and tokens ----------------------------------------------------------------

    def save_user(self, user: User) -> None:
        row = {
            "id": user.id,
            "name": user.name,
            "roles": json.dumps(sorted(user.roles)),
            "created_at": user.created_at.astimezone(UTC),
            "active": user.active,
        }
        with self._writing(f"saving user {user.id}") as conn:
            _upsert(conn, users, row, ("id",))

    def user(self, user_id: str) -> User | None:
        found = self._rows(select(users).where(users.c.id == user_id), self._user)
        return found[0] if found else None

    def users(self) -> list[User]:
        return self._rows(select(users).order_by(users.c.created_at, users.c.id), self._user)

    def save_token(self, record: TokenRecord) -> None:
        row = {
            "digest": record.digest,
            "user_id": record.user_id,
            "created_at": record.created_at.astimezone(UTC),
            "revoked": record.revoked,
            "label": record.label,
        }
        # The digest is not a secret, but it names the credential: keep it out of messages.
        with self._writing(f"saving a token of user {record.user_id}") as conn:
            _upsert(conn, api_tokens, row, ("digest",))

    def token(self, digest: str) -> TokenRecord | None:
        found = self._rows(select(api_tokens).where(api_tokens.c.digest == digest), _token)
        return found[0] if found else None

    def tokens_of(self, user_id: str) -> list[TokenRecord]:
        query = (
            select(api_tokens)
            .where(api_tokens.c.user_id == user_id)
            .order_by(api_tokens.c.created_at, api_tokens.c.digest)
        )
        return self._rows(query, _token)

    # -- actions and requests -------------------------------------------------------------

    def save_action(self, action: Action) -> None:
        row = {
            "id": action.id,
            "version": action.version,
            "state": action.state.value,
            "body": dumps(action_to_json(action)),
        }
        with self._writing(f"saving action {action.id} version {action.version}") as conn:
            _upsert(conn, actions, row, ("id", "version"))

    def action(self, action_id: str, version: int | None = None) -> Action | None:
        query = select(actions.c.body).where(actions.c.id == action_id)
        if version is None:
            query = query.order_by(actions.c.version.desc()).limit(1)
        else:
            query = query.where(actions.c.version == version)
        found = self._rows(query, self._decoder("action", action_from_json))
        return found[0] if found else None

    def save_request(self, request: ApprovalRequest) -> None:
        row = {
            "id": request.id,
            "action_id": request.action_id,
            "status": request.status.value,
            "expires_at": request.expires_at.astimezone(UTC),
            "body": dumps(request_to_json(request)),
        }
        with self._writing(f"saving approval request {request.id}") as conn:
            if not self._lent():
                _lock_for_ordinals(conn)  # a shared transaction holds it already
            ordinal = conn.execute(
                select(approval_requests.c.ordinal).where(approval_requests.c.id == request.id)
            ).scalar()
            if ordinal is None:
                last = conn.execute(select(func.max(approval_requests.c.ordinal))).scalar()
                ordinal = (last or 0) + 1
            _upsert(conn, approval_requests, {**row, "ordinal": ordinal}, ("id",))

    def request(self, request_id: str) -> ApprovalRequest | None:
        query = select(approval_requests.c.body).where(approval_requests.c.id == request_id)
        found = self._rows(query, self._decoder("approval request", request_from_json))
        return found[0] if found else None

    def requests(self, *, open_only: bool = False) -> list[ApprovalRequest]:
        query = select(approval_requests.c.body).order_by(approval_requests.c.ordinal)
        if open_only:
            query = query.where(approval_requests.c.status.in_(OPEN_STATUSES))
        return self._rows(query, self._decoder("approval request", request_from_json))

    # -- the kill switch ------------------------------------------------------------------

    def pause_state(self) -> PauseState | None:
        query = select(governance_state.c.value).where(governance_state.c.key == _PAUSE)
        found = self._rows(query, self._decoder("pause state", pause_from_json))
        return found[0] if found else None

    def set_pause_state(self, state: PauseState | None) -> None:
        with self._writing("switching the kill switch") as conn:
            if state is None:
                conn.execute(delete(governance_state).where(governance_state.c.key == _PAUSE))
            else:
                row = {"key": _PAUSE, "value": dumps(pause_to_json(state))}
                _upsert(conn, governance_state, row, ("key",))

    # -- helpers --------------------------------------------------------------------------

    def _lent(self) -> Connection | None:
        return self._shared.connection if self._shared is not None else None

    def _rows(self, query: Select[Any], read: Callable[[Row[Any]], T]) -> list[T]:
        try:
            lent = self._lent()
            if lent is not None:
                rows = lent.execute(query).all()
            else:
                with self._engine.connect() as conn:
                    rows = conn.execute(query).all()
        except STORAGE_ERRORS as exc:
            raise StorageError(
                f"reading governance from {self._where()} failed: {failure_reason(exc)}"
            ) from exc
        return [read(row) for row in rows]

    @contextmanager
    def _writing(self, doing: str) -> Iterator[Connection]:
        lent = self._lent()
        if lent is not None:
            yield lent  # the shared transaction commits, and translates driver errors
            return
        try:
            with self._engine.begin() as conn:
                yield conn
        except STORAGE_ERRORS as exc:
            raise StorageError(f"{doing} in {self._where()} failed: {failure_reason(exc)}") from exc

    def _decoder(
        self, what: str, decode: Callable[[Mapping[str, Any]], T]
    ) -> Callable[[Row[Any]], T]:
        def read(row: Row[Any]) -> T:
            return self._unless_broken(what, lambda: decode(loads(row[0])))

        return read

    def _user(self, row: Row[Any]) -> User:
        def read() -> User:
            roles = frozenset(Role(r) for r in json.loads(row.roles))
            return User(row.id, row.name, roles, _utc(row.created_at), bool(row.active))

        return self._unless_broken(f"user {row.id}", read)

    def _unless_broken(self, what: str, read: Callable[[], T]) -> T:
        try:
            return read()
        except (DomainError, ValueError, TypeError) as exc:
            raise StorageError(
                f"a stored {what} in {self._where()} cannot be read ({exc}); it was changed "
                "outside mios"
            ) from exc

    def _where(self) -> str:
        return safe_url(str(self._engine.url))


def _token(row: Row[Any]) -> TokenRecord:
    return TokenRecord(row.digest, row.user_id, _utc(row.created_at), bool(row.revoked), row.label)


def _utc(value: datetime) -> datetime:
    """SQLite hands back the UTC time it was given without its zone; PostgreSQL an aware one."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _upsert(conn: Connection, table: Table, row: dict[str, Any], keys: Sequence[str]) -> None:
    """Insert ``row``, or update every other column of the row with the same ``keys``."""
    insert = sqlite_insert if conn.dialect.name == "sqlite" else postgresql_insert
    statement = insert(table).values(row)
    changes = {name: statement.excluded[name] for name in row if name not in keys}
    conn.execute(statement.on_conflict_do_update(index_elements=list(keys), set_=changes))


def _lock_for_ordinals(conn: Connection) -> None:
    """Taken before the highest ordinal is read; released at commit."""
    if conn.dialect.name == "sqlite":
        # A deferred transaction that read first fails (SQLITE_BUSY) when another process
        # wrote since; IMMEDIATE waits for the write lock instead.
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    elif conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_ORDINAL_LOCK})")
