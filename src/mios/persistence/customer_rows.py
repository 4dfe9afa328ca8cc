"""Customers between columns and rows: to rows for bulk insert, from rows for small deltas, and
to one compressed columnar blob for fast loading. Row building is vectorized per column."""

from __future__ import annotations

import io
import json
import zlib
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from mios.domain.categorical import Categorical
from mios.domain.channel import CONSENT_CHANNELS
from mios.domain.customer import BASIS_CODES, CONSENT_CODES
from mios.domain.customer_table import CustomerTable
from mios.persistence.tables import CUSTOMER_COLUMNS
from mios.types import FloatArray

BATCH_ROWS = 50_000
_STATUS_TEXT = np.asarray([s.value for s in CONSENT_CODES], dtype=object)
_BASIS_TEXT = np.asarray([b.value for b in BASIS_CODES], dtype=object)
_STATUS_CODE = {s.value: i for i, s in enumerate(CONSENT_CODES)}
_BASIS_CODE = {b.value: i for i, b in enumerate(BASIS_CODES)}
_NAT = np.datetime64("NaT")


def row_batches(table: CustomerTable, version: int) -> Iterator[list[tuple[Any, ...]]]:
    """Rows in ``CUSTOMER_COLUMNS`` order, ``BATCH_ROWS`` at a time, valid from ``version``."""
    for start in range(0, len(table), BATCH_ROWS):
        part = table.take(np.arange(start, min(start + BATCH_ROWS, len(table))))
        yield _rows(part, version)


def _rows(part: CustomerTable, version: int) -> list[tuple[Any, ...]]:
    n = len(part)
    reason = part.suppression_reason.strings("\0").astype(object)
    reason[reason == "\0"] = None
    columns: list[Sequence[Any]] = [
        part.ids.tolist(),
        [version] * n,
        [None] * n,
        part.region.strings().tolist(),
        part.country.strings().tolist(),
        part.time_zone.strings().tolist(),
        part.suppressed.tolist(),
        reason.tolist(),
    ]
    for j in range(len(CONSENT_CHANNELS)):
        stamps = part.consent_at[:, j]
        seconds = stamps.astype("int64").astype(object)
        seconds[np.isnat(stamps)] = None
        columns += [
            _STATUS_TEXT[part.consent_status[:, j]].tolist(),
            _BASIS_TEXT[part.consent_basis[:, j]].tolist(),
            seconds.tolist(),
        ]
    columns.append(attributes_json(part))
    assert len(columns) == len(CUSTOMER_COLUMNS)
    return list(zip(*columns, strict=True))


def attributes_json(table: CustomerTable) -> list[str]:
    """One JSON object per customer: values are encoded per column (text once per category,
    numbers by NumPy), then each row fills one ``%`` template."""
    names = table.attribute_names
    if not names:
        return ["{}"] * len(table)
    template = "{" + ",".join(json.dumps(name) + ":%s" for name in names) + "}"
    columns: list[list[str]] = []
    for name in names:
        column = table.attribute(name)
        if isinstance(column, Categorical):
            encoded = np.asarray([json.dumps(c) for c in column.categories] + ["null"], object)
            columns.append(encoded[column.codes].tolist())
        else:
            columns.append(_numbers_json(column))
    return [template % values for values in zip(*columns, strict=True)]


_EXACT_INTEGERS = 2.0**53


def _numbers_json(column: FloatArray) -> list[str]:
    """JSON numbers, ``null`` where missing. Whole numbers (counts, days) skip the costly
    shortest-float formatting: they are written as integers and read back as the same float."""
    missing = np.isnan(column)
    filled = np.where(missing, 0.0, column)
    if np.all((filled == np.floor(filled)) & (np.abs(filled) < _EXACT_INTEGERS)):
        values: list[str] = filled.astype(np.int64).astype(np.str_).tolist()
    else:
        values = filled.astype(np.str_).tolist()
    for i in np.flatnonzero(missing).tolist():
        values[i] = "null"
    return values


def table_from_rows(rows: Sequence[Sequence[Any]]) -> CustomerTable:
    """Rows in ``CUSTOMER_COLUMNS`` order back to columns (for deltas: small row counts)."""
    n = len(rows)
    by_name = {name: i for i, name in enumerate(CUSTOMER_COLUMNS)}

    def column(name: str) -> list[Any]:
        i = by_name[name]
        return [row[i] for row in rows]

    k = len(CONSENT_CHANNELS)
    status = np.zeros((n, k), dtype=np.int8)
    basis = np.zeros((n, k), dtype=np.int8)
    stamps = np.full((n, k), _NAT, dtype="datetime64[s]")
    for j, channel in enumerate(CONSENT_CHANNELS):
        status[:, j] = [_STATUS_CODE[v] for v in column(f"consent_{channel}")]
        basis[:, j] = [_BASIS_CODE[v] for v in column(f"basis_{channel}")]
        seconds = column(f"consented_at_{channel}")
        stamps[:, j] = [_NAT if s is None else np.datetime64(int(s), "s") for s in seconds]
    decoded = [json.loads(text) for text in column("attributes")]
    names = sorted({name for attrs in decoded for name in attrs})
    numeric: dict[str, FloatArray] = {}
    categorical: dict[str, Categorical] = {}
    for name in names:
        values = [attrs.get(name) for attrs in decoded]
        if any(isinstance(v, str) for v in values):
            text = ["" if v is None else str(v) for v in values]
            categorical[name] = Categorical.from_strings(text)
        else:
            numeric[name] = np.asarray([np.nan if v is None else v for v in values], np.float64)
    return CustomerTable(
        ids=np.asarray(column("customer_id"), dtype=np.str_),
        region=Categorical.from_strings(column("region")),
        country=Categorical.from_strings(column("country")),
        time_zone=Categorical.from_strings(column("time_zone")),
        suppressed=np.asarray(column("suppressed"), dtype=np.bool_),
        suppression_reason=Categorical.from_strings(
            [r or "" for r in column("suppression_reason")]
        ),
        consent_status=status,
        consent_basis=basis,
        consent_at=stamps,
        numeric=numeric,
        categorical=categorical,
    )


def pack(table: CustomerTable) -> bytes:
    """Columns to one blob: ``.npz`` bytes, deflated fast (level 1 keeps loads quick)."""
    buffer = io.BytesIO()
    np.savez(buffer, allow_pickle=False, **table.to_arrays())
    return zlib.compress(buffer.getvalue(), level=1)


def unpack(payload: bytes) -> CustomerTable:
    with np.load(io.BytesIO(zlib.decompress(payload)), allow_pickle=False) as arrays:
        return CustomerTable.from_arrays({name: arrays[name] for name in arrays.files})
