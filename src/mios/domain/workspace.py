"""A workspace: one brand or business unit, with everything humans author about it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mios.domain.brand import Brand
from mios.domain.budget import Budget, BudgetLedger
from mios.domain.channel import ChannelConfig, ChannelName
from mios.domain.cycle import Playbook
from mios.domain.guardrails import Guardrails
from mios.domain.objective import Objective
from mios.domain.offer import Campaign, Offer
from mios.domain.policy import AutonomyMatrix, PolicyPack
from mios.domain.segment import Segment
from mios.errors import DomainError


@dataclass(frozen=True)
class AgentSetting:
    name: str
    enabled: bool = True
    settings: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Workspace:
    name: str
    currency: str
    time_zone: str
    brand: Brand
    objective: Objective
    budgets: tuple[Budget, ...]
    channels: tuple[ChannelConfig, ...]
    segments: tuple[Segment, ...] = ()
    offers: tuple[Offer, ...] = ()
    campaigns: tuple[Campaign, ...] = ()
    agents: tuple[AgentSetting, ...] = ()
    autonomy: AutonomyMatrix = field(default_factory=lambda: AutonomyMatrix({}))
    policies: tuple[PolicyPack, ...] = ()
    playbooks: tuple[Playbook, ...] = ()
    guardrails: Guardrails = field(default_factory=Guardrails)

    def __post_init__(self) -> None:
        _unique("segment", [s.id for s in self.segments])
        _unique("offer", [o.id for o in self.offers])
        _unique("campaign", [c.id for c in self.campaigns])
        _unique("channel", [c.name for c in self.channels])
        _unique("playbook", [p.name for p in self.playbooks])
        _unique("policy pack", [p.name for p in self.policies])
        configured = {c.name for c in self.channels}
        for budget in self.budgets:
            if budget.amount.currency != self.currency:
                raise DomainError(
                    f"budget {budget.channel} is in {budget.amount.currency}, "
                    f"the workspace in {self.currency}"
                )
            if budget.channel not in configured:
                raise DomainError(f"budget for {budget.channel}, which has no channel config")
        segment_ids = {s.id for s in self.segments}
        offer_ids = {o.id for o in self.offers}
        for offer in self.offers:
            for seg in offer.eligible_segments:
                if seg not in segment_ids:
                    raise DomainError(f"offer {offer.id} names unknown segment {seg!r}")
        for campaign in self.campaigns:
            for seg in campaign.segments:
                if seg not in segment_ids:
                    raise DomainError(f"campaign {campaign.id} names unknown segment {seg!r}")
            if campaign.offer_id and campaign.offer_id not in offer_ids:
                raise DomainError(f"campaign {campaign.id} names unknown offer")

    def channel(self, name: ChannelName) -> ChannelConfig:
        for config in self.channels:
            if config.name == name:
                return config
        raise DomainError(f"channel {name} is not configured in this workspace")

    def segment(self, segment_id: str) -> Segment:
        for segment in self.segments:
            if segment.id == segment_id:
                return segment
        raise DomainError(f"no segment {segment_id!r}")

    def offer(self, offer_id: str) -> Offer:
        for offer in self.offers:
            if offer.id == offer_id:
                return offer
        raise DomainError(f"no offer {offer_id!r}")

    def empty_ledger(self) -> BudgetLedger:
        return BudgetLedger.for_budgets(self.budgets)


def _unique(what: str, keys: list[Any]) -> None:
    seen: set[Any] = set()
    for key in keys:
        if key in seen:
            raise DomainError(f"{what} {key!r} is defined twice")
        seen.add(key)
