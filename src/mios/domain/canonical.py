"""Canonical JSON: one text per value, so equal content always hashes to the same digest.

Approvals bind to a content hash and the audit log chains hashes, so the encoding must not depend
on dict order, on how an amount was written (``10`` and ``10.00`` are the same money), or on the
offset a datetime carried. The rules: keys sorted, separators ``(",", ":")``, enums by value,
Decimals as their shortest plain string, datetimes as UTC ISO 8601, tuples as lists, sets sorted,
dataclasses as objects of their fields. Anything else is refused rather than guessed at.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from mios.errors import DomainError


def canonical_json(value: object) -> str:
    """The canonical JSON text of ``value``; ``DomainError`` if it holds something un-encodable."""
    return json.dumps(
        _plain(value),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )


def sha256_hex(text: str) -> str:
    """SHA-256 of ``text`` as UTF-8, in lowercase hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def canonical_hash(value: object) -> str:
    """SHA-256 hex of the canonical JSON of ``value``."""
    return sha256_hex(canonical_json(value))


def _plain(value: object) -> Any:
    # Enum before str and int: a StrEnum is a str, and its value is what must be stable.
    if isinstance(value, Enum):
        return _plain(value.value)
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise DomainError(f"cannot encode a non-finite number: {value!r}")
        return value
    if isinstance(value, Decimal):
        return _decimal_text(value)
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise DomainError(f"cannot encode a naive datetime: {value.isoformat()}")
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {_key(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, set | frozenset):
        items = [_plain(item) for item in value]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
    raise DomainError(f"cannot encode {type(value).__name__} as canonical JSON")


def _key(key: object) -> str:
    if isinstance(key, Enum):
        key = key.value
    if not isinstance(key, str):
        raise DomainError(f"canonical JSON keys must be strings, got {key!r}")
    return key


def _decimal_text(value: Decimal) -> str:
    if not value.is_finite():
        raise DomainError(f"cannot encode a non-finite number: {value}")
    if value == 0:
        return "0"  # -0 and 0E-2 are the same amount as 0
    return format(value.normalize(), "f")
