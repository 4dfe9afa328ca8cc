"""Who an action reaches, resolved once per review, and findings about those customers.

Four checkers need the audience's rows, and the ``Checker`` protocol hands each only the
action and the context; resolving an audience of a million customers four times would cost
more than every other check together. The checkers of one review run one after another on the
same two objects, so the last answer is kept and reused while both are the same objects.

A finding names the count and at most ``EXAMPLES`` ids, so a verdict stays small enough to
read and to keep in the audit trail.
"""

from __future__ import annotations

from mios.domain.action import Action
from mios.domain.governance import Finding, FindingSeverity
from mios.governance.audience import Recipients, recipients
from mios.governance.review_context import ReviewContext
from mios.types import IntArray, StrArray

EXAMPLES = 5


class _LastReach:
    """One entry; it holds its action and context, so their identities cannot be reused."""

    entry: tuple[Action, ReviewContext, Recipients] | None = None

    def of(self, action: Action, context: ReviewContext) -> Recipients:
        entry = self.entry  # one read: another thread may replace it meanwhile
        if entry is not None and entry[0] is action and entry[1] is context:
            return entry[2]
        found = recipients(action, context.workspace, context.customers)
        self.entry = (action, context, found)
        return found


_LAST = _LastReach()


def reached(action: Action, context: ReviewContext) -> Recipients:
    """``mios.governance.audience.recipients`` of the action, shared by one review's checkers."""
    return _LAST.of(action, context)


def about_customers(rule_id: str, what: str, ids: StrArray, rows: IntArray) -> Finding:
    """A deny finding: "<n> customer(s) <what>", with the first ids of ``ids[rows]``."""
    count = len(rows)
    noun = "customer" if count == 1 else "customers"
    return Finding(
        rule_id,
        f"{count:,} {noun} {what}",
        FindingSeverity.DENY,
        value=", ".join(ids[rows[:EXAMPLES]].tolist()),
    )
