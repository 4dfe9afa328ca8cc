"""Sensitive audiences (minors, health, financial hardship): people, by default legal, approve
any action aimed at them.

An audience is sensitive when its segment is marked ``sensitive``, or when a customer it lists
by id falls in a sensitive segment. Members of an ordinary segment are not checked against the
sensitive ones: the segment's author decided who is in it, and that segment is reviewed itself.
"""

from __future__ import annotations

import numpy as np

from mios.domain.action import Action
from mios.domain.governance import Finding, FindingSeverity
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
        if audience.customer_ids:
            if audience.segment_id is None:
                rows = reached(action, context).positions  # the listed customers, no others
            else:
                found = context.customers.positions(audience.customer_ids)
                rows = found[found >= 0]
            # Segment rules look at one row at a time, so the listed rows alone give the answer.
            listed = context.customers.take(rows)
            hit += [s.id for s in sensitive if s.id not in hit and np.any(s.mask(listed))]
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
