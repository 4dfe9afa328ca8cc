"""Time inside mios is timezone-aware UTC; naive datetimes are refused at the domain's door.

A naive datetime is ambiguous (whose local time?), and quiet hours, approval expiry and the audit
log all compare instants, so a silent guess would be a governance bug. Aware values in another
offset are converted to UTC, so equal instants compare, sort and hash equal.
"""

from __future__ import annotations

from datetime import UTC, datetime

from mios.errors import DomainError


def require_utc(value: datetime, field: str) -> datetime:
    """``value`` in UTC; ``DomainError`` naming ``field`` if it is naive or not a datetime."""
    if not isinstance(value, datetime):
        raise DomainError(f"{field} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise DomainError(f"{field} must be timezone-aware (UTC), got naive {value.isoformat()}")
    return value.astimezone(UTC)
