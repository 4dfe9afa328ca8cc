"""What a policy condition reads: ``action`` and ``context``, as plain CEL maps.

Fields that an action lacks are left out rather than set to null, so a rule tests them with
``has(action.content.offer_id)``; ``action.audience`` is always there (size 0 for an action that
reaches nobody), so audience rules need no guard. Money is a double in ``amount`` beside its
``currency``.

    action.id, .kind, .channel, .version, .proposal_id, .parameters
    action.audience.segment_id, .estimated_size, .size, .customers_listed, .without_consent,
        .suppressed, .unknown_customers, .sensitive, .eu_legitimate_interest
    action.content.subject, .body, .headline, .claims, .angle, .offer_id
    action.spend.amount, .currency
    context.brand.name, .banned_terms, .claims (ids), context.approved_claims (ids)
    context.sensitive_segments, context.segments
    context.budgets[channel].amount, .currency, .period, .max_change_pct
    context.offers[id].type, .discount_pct, .margin
    context.channels, context.currency, context.time_zone
    now (the review time, a timestamp)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mios.domain.action import Action
from mios.domain.channel import CONSENT_CHANNELS
from mios.domain.customer import (
    BASIS_CODES,
    CONSENT_CODES,
    ConsentStatus,
    LawfulBasis,
)
from mios.domain.customer_table import CustomerTable, consent_column
from mios.domain.proposal import Audience
from mios.domain.workspace import Workspace
from mios.governance.audience import Recipients, in_eu

Facts = dict[str, Any]
_LEGITIMATE_INTEREST = BASIS_CODES.index(LawfulBasis.LEGITIMATE_INTEREST)
_GRANTED = CONSENT_CODES.index(ConsentStatus.GRANTED)


def action_facts(
    action: Action, recipients: Recipients, workspace: Workspace, customers: CustomerTable
) -> Facts:
    facts: Facts = {
        "id": action.id,
        "kind": str(action.kind),
        "version": action.version,
        "proposal_id": action.proposal_id,
        "parameters": dict(action.parameters),
    }
    if action.channel is not None:
        facts["channel"] = str(action.channel)
    facts["audience"] = _audience(action, recipients, workspace, customers)
    if action.content is not None:
        content = action.content
        facts["content"] = _present(
            {
                "subject": content.subject,
                "body": content.body,
                "headline": content.headline,
                "claims": list(content.claims),
                "angle": content.angle,
                "offer_id": content.offer_id,
            }
        )
    if action.spend is not None:
        facts["spend"] = {
            "amount": float(action.spend.amount),
            "currency": action.spend.currency,
        }
    return facts


def context_facts(workspace: Workspace) -> Facts:
    """The workspace as rules read it; it changes only with the workspace, so it is converted
    for the evaluator once (the review time is the separate variable ``now``)."""
    brand = workspace.brand
    return {
        "brand": {
            "name": brand.name,
            "banned_terms": list(brand.banned_terms),
            "claims": [c.id for c in brand.claims],
        },
        "approved_claims": [c.id for c in brand.claims if c.substantiation_id.strip()],
        "sensitive_segments": [s.id for s in workspace.segments if s.sensitive],
        "segments": [s.id for s in workspace.segments],
        "budgets": {
            str(b.channel): _present(
                {
                    "amount": float(b.amount.amount),
                    "currency": b.amount.currency,
                    "period": str(b.period),
                    "max_change_pct": b.max_change_pct,
                }
            )
            for b in workspace.budgets
        },
        "offers": {
            o.id: {"type": o.type, "discount_pct": float(o.discount_pct), "margin": o.margin}
            for o in workspace.offers
        },
        "channels": [str(c.name) for c in workspace.channels if c.enabled],
        "currency": workspace.currency,
        "time_zone": workspace.time_zone,
    }


def _audience(
    action: Action, recipients: Recipients, workspace: Workspace, customers: CustomerTable
) -> Facts:
    audience = action.audience or Audience(estimated_size=0)
    rows = recipients.positions
    facts: Facts = {
        "size": len(rows) if audience.is_addressed else int(audience.estimated_size or 0),
        "customers_listed": len(audience.customer_ids),
        "unknown_customers": len(recipients.unknown_ids),
        "suppressed": int(np.count_nonzero(customers.suppressed[rows])) if len(rows) else 0,
        "sensitive": any(s.sensitive and s.id == audience.segment_id for s in workspace.segments),
        "without_consent": 0,
    }
    channel = action.channel
    facts["eu_legitimate_interest"] = 0
    if channel is not None and channel in CONSENT_CHANNELS and len(rows):
        # Only the recipients' rows are read: a whole-table pass per action would cost more
        # than every rule together.
        column = consent_column(channel)
        granted = customers.consent_status[rows, column] == _GRANTED
        facts["without_consent"] = int(np.count_nonzero(~granted))
        eu = in_eu(customers, rows)
        on_interest = customers.consent_basis[rows, column] == _LEGITIMATE_INTEREST
        facts["eu_legitimate_interest"] = int(np.count_nonzero(eu & on_interest))
    if audience.segment_id is not None:
        facts["segment_id"] = audience.segment_id
    if audience.estimated_size is not None:
        facts["estimated_size"] = audience.estimated_size
    return facts


def _present(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}
