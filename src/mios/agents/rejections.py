"""What people rejected, as the agents read it: the lifecycle records each rejection as a
learning (``mios.domain.outcome.rejection_id``); an agent proposes no more of the same kind, on
the same channel, for the same segment and offer, so people are not asked again what they
already refused."""

from __future__ import annotations

from mios.agents.protocol import AgentContext
from mios.domain.channel import ChannelName
from mios.domain.outcome import LearningStatus, rejection_of
from mios.domain.proposal import ActionKind

UNNAMED = "-"


def rejected_before(
    ctx: AgentContext,
    kind: ActionKind,
    channel: ChannelName | None,
    segment: str | None,
    offer: str | None,
) -> bool:
    """Whether people rejected this kind on this channel for this segment and offer."""
    wanted = (
        str(kind),
        str(channel) if channel else UNNAMED,
        segment or UNNAMED,
        offer or UNNAMED,
    )
    return any(
        rejection_of(learning.id) == wanted
        for learning in ctx.learnings
        if learning.status is not LearningStatus.REFUTED
    )
