"""What leaves mios about one action, as plain JSON values: the webhook body, the export record.

One shape for every connector that hands an action to another system, so a receiver written for
the webhook reads an export line too. Money is ``{"amount": "12.5", "currency": "EUR"}`` (the
amount a decimal string, never a float); enums are their values; absent fields are ``null``.
"""

from __future__ import annotations

import json
from typing import Any

from mios.domain.action import Action
from mios.domain.canonical import canonical_json


def action_payload(action: Action) -> dict[str, Any]:
    """The action as JSON-ready values, keyed as documented in ``docs/channels.md``."""
    fields = {
        "id": action.id,
        "idempotency_key": action.idempotency_key,
        "version": action.version,
        "kind": action.kind,
        "channel": action.channel,
        "audience": action.audience,
        "content": action.content,
        "spend": action.spend,
        "parameters": action.parameters,
    }
    plain: dict[str, Any] = json.loads(canonical_json(fields))
    return plain


def payload_json(action: Action) -> bytes:
    """``action_payload`` as canonical JSON bytes (sorted keys, no spaces, UTF-8), as signed."""
    return canonical_json(action_payload(action)).encode("utf-8")
