"""Quiet hours: no SMS or push reaches a customer while it is night where they are.

Local time is worked out once per distinct time zone in the audience, not per customer. A
customer without a time zone is taken to live in the workspace's. The window is half-open, as
``QuietHours.contains`` defines it: with 22:00-08:00, 21:59 is fine and 22:00 is not.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import numpy as np

from mios.domain.action import Action
from mios.domain.categorical import MISSING
from mios.domain.channel import ChannelName
from mios.domain.proposal import ActionKind
from mios.governance.checkers.reach import about_customers, reached
from mios.governance.review_context import Check, ReviewContext

_CHANNELS = frozenset({ChannelName.SMS, ChannelName.PUSH})


class QuietHoursChecker:
    id: str = "quiet-hours"

    def check(self, action: Action, context: ReviewContext) -> Check:
        workspace = context.workspace
        if action.kind is not ActionKind.SEND_MESSAGE or action.channel not in _CHANNELS:
            return Check()
        config = next((c for c in workspace.channels if c.name == action.channel), None)
        window = None if config is None else config.quiet_hours
        if window is None:
            return Check()
        table = context.customers
        rows = reached(action, context).positions
        zones, which = np.unique(table.time_zone.codes[rows], return_inverse=True)
        names = table.time_zone.categories
        quiet = np.asarray(
            [
                window.contains(
                    context.now.astimezone(
                        ZoneInfo(workspace.time_zone if code == MISSING else names[code])
                    ).time()
                )
                for code in zones.tolist()
            ],
            dtype=np.bool_,
        )
        hit = quiet[which]
        if not hit.any():
            return Check()
        hours = f"{window.start:%H:%M}-{window.end:%H:%M}"
        return Check(
            (
                about_customers(
                    "quiet-hours/local-time",
                    f"in {action.channel} quiet hours ({hours} their local time) now",
                    table.ids,
                    rows[hit],
                ),
            )
        )
