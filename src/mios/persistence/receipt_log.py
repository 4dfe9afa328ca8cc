"""``SqlReceiptLog``: the ``ReceiptLog`` on the ``receipts`` table, SQLite or PostgreSQL.

The idempotency key is the table's primary key, and that is the whole guard: a ``put`` is one
``INSERT`` in its own transaction, so of two processes recording the same key one commits and
the other gets an integrity error, turned into the ``ChannelError`` the port promises. Nothing
is read before writing, so there is no window between a check and an insert.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from mios.channels.port import Receipt
from mios.channels.receipts import already_recorded, check_receipt
from mios.domain.channel import ChannelName
from mios.errors import StorageError
from mios.persistence.engine import STORAGE_ERRORS, safe_url
from mios.persistence.engine import reason as failure_reason
from mios.persistence.tables import receipts

_COLUMNS = (
    receipts.c.action_id,
    receipts.c.idempotency_key,
    receipts.c.channel,
    receipts.c.accepted,
    receipts.c.external_id,
    receipts.c.note,
    receipts.c.held_out,
)


class SqlReceiptLog:
    """Receipts that outlive the process: a new one answers a retry with the first receipt."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def get(self, key: str, /) -> Receipt | None:
        query = select(*_COLUMNS).where(receipts.c.idempotency_key == key)
        try:
            with self._engine.connect() as conn:
                row = conn.execute(query).first()
        except STORAGE_ERRORS as exc:
            raise self._failed("reading", exc) from exc
        if row is None:
            return None
        action_id, idempotency_key, channel, accepted, external_id, note, held_out = row
        return Receipt(
            action_id=action_id,
            idempotency_key=idempotency_key,
            channel=ChannelName(channel),
            accepted=accepted,
            external_id=external_id,
            note=note,
            held_out=held_out,
        )

    def put(self, receipt: Receipt, at: datetime) -> None:
        receipt, at = check_receipt(receipt, at)
        row = {
            "idempotency_key": receipt.idempotency_key,
            "action_id": receipt.action_id,
            "channel": receipt.channel.value,
            "accepted": receipt.accepted,
            "external_id": receipt.external_id,
            "note": receipt.note,
            "held_out": receipt.held_out,
            "at": at,
        }
        try:
            with self._engine.begin() as conn:
                conn.execute(insert(receipts).values(row))
        except IntegrityError as exc:
            raise already_recorded(receipt.idempotency_key) from exc
        except STORAGE_ERRORS as exc:
            raise self._failed("writing", exc) from exc

    def _failed(self, doing: str, exc: BaseException) -> StorageError:
        where = safe_url(str(self._engine.url))
        return StorageError(f"{doing} receipts in {where} failed: {failure_reason(exc)}")
