"""Sensitive audiences (minors, health, financial hardship): people, by default legal, approve
any action aimed at them.

An audience is sensitive when its segment is marked ``sensitive``, or when any customer it
reaches (listed by id, or a member of an ordinary segment) falls in a sensitive segment: a minor
among "new customers" is still a minor. Each sensitive segment's mask is computed once per
customer table; the overlap is a gather of the reached rows.
"""

from __future__ import annotations

import numpy as np

from mios.domain.action import Action
from mios.domain.governance import Finding, FindingSeverity
from mios.governance.audience import segment_mask
from mios.governance.checkers.reach import reached
from mios.governance.review_context import Check, Requirement, ReviewContext


class SensitiveAudienceChecker:
    id: str = "sensitive-audience"

    def check(self, action: Action, context: ReviewContext) -> Check:
        audience = action.audience
        sensitive = [s for s in context.workspace.segments if s.sensitive]
        if audience is None or not sensitive:
            return Check()
        hit = [s.id for s in sensitive if s.id == audience.segment_id]
        rows = reached(action, context).positions
        if len(rows):
            customers = context.customers
            hit += [
                s.id
                for s in sensitive
                if s.id not in hit and np.any(segment_mask(s, customers)[rows])
            ]
        if not hit:
            return Check()
        roles = frozenset(context.workspace.guardrails.approvals.sensitive_audience_roles)
        named = ", ".join(sorted(hit))
        who = ", ".join(sorted(roles))
        finding = Finding(
            "sensitive-audience/approval",
            f"the audience reaches sensitive segment(s) {named}; {who} must approve",
            FindingSeverity.APPROVE,
            value=named,
        )
        return Check((finding,), (Requirement("sensitive-audience/approval", roles, 1),))
