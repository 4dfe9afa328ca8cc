"""Validated workspace specs into domain objects (``build_workspace``), and segment rules from
their YAML form (``parse_rule``). The domain's own checks run as the objects are built."""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

from mios.context.spec import (
    ApproveEffectSpec,
    GuardrailsSpec,
    OfferSpec,
    PlaybookSpec,
    PolicyFileSpec,
    WorkspaceSpec,
)
from mios.domain.brand import Brand, Claim, PostalAddress, SenderIdentity, VoiceRules
from mios.domain.budget import Budget
from mios.domain.channel import ChannelConfig, ChannelName, QuietHours
from mios.domain.cycle import Playbook
from mios.domain.guardrails import (
    ApprovalRules,
    BudgetRules,
    ClaimRules,
    CommercialEmailRules,
    ContactCaps,
    ContactPolicy,
    Guardrails,
    PiiRules,
)
from mios.domain.money import Money
from mios.domain.objective import Guardrail, Objective
from mios.domain.offer import Campaign, Offer
from mios.domain.policy import AutonomyMatrix, AutonomyMode, PolicyEffect, PolicyPack, PolicyRule
from mios.domain.proposal import ActionKind, RiskTier
from mios.domain.segment import AllOf, AnyOf, Condition, Not, Operator, Rule, Segment
from mios.domain.workspace import AgentSetting, Workspace
from mios.errors import DomainError


def build_workspace(spec: WorkspaceSpec) -> Workspace:
    cfg = spec.config
    currency = cfg.workspace.currency

    def money(amount: Decimal) -> Money:
        return Money(amount, currency)

    brand = Brand(
        name=cfg.brand.name,
        sender=SenderIdentity(
            name=cfg.brand.sender.name,
            email=cfg.brand.sender.email,
            reply_to=cfg.brand.sender.reply_to,
            postal_address=PostalAddress(**cfg.brand.sender.postal_address.model_dump()),
        ),
        voice=VoiceRules(
            tone=tuple(cfg.brand.voice.tone),
            do=tuple(cfg.brand.voice.do),
            dont=tuple(cfg.brand.voice.dont),
            reading_level_max=cfg.brand.voice.reading_level_max,
            max_exclamation_marks=cfg.brand.voice.max_exclamation_marks,
        ),
        banned_terms=tuple(cfg.brand.banned_terms),
        claims=tuple(
            Claim(c.id, c.text, c.substantiation, tuple(ch.value for ch in c.channels))
            for c in cfg.brand.claims
        ),
        required_disclaimers=dict(cfg.brand.disclaimers),
    )
    objective = Objective(
        primary_kpi=cfg.objective.primary_kpi,
        target=cfg.objective.target,
        horizon_days=cfg.objective.horizon_days,
        guardrails=tuple(Guardrail(g.kpi, g.max, g.min) for g in cfg.objective.guardrails),
    )
    autonomy_entries: dict[tuple[ActionKind, RiskTier], AutonomyMode] = {}
    for rule in cfg.autonomy.rules:
        tiers = list(RiskTier) if rule.risk == "any" else [RiskTier(rule.risk)]
        for tier in tiers:
            autonomy_entries[(rule.kind, tier)] = rule.mode
    return Workspace(
        name=cfg.workspace.name,
        currency=currency,
        time_zone=cfg.workspace.time_zone,
        brand=brand,
        objective=objective,
        budgets=tuple(
            Budget(channel, b.period, money(b.amount), b.max_change_pct)
            for channel, b in cfg.budgets.items()
        ),
        channels=tuple(
            ChannelConfig(
                name=name,
                connector=c.connector,
                enabled=c.enabled,
                daily_capacity=c.daily_capacity,
                cost_per_contact=None if c.cost_per_contact is None else money(c.cost_per_contact),
                quiet_hours=None
                if c.quiet_hours is None
                else QuietHours(c.quiet_hours.start, c.quiet_hours.end),
                settings=dict(c.settings),
            )
            for name, c in cfg.channels.items()
        ),
        segments=tuple(
            Segment(
                s.id, s.name, parse_rule(s.rule, f"segments[{i}].rule"), s.description, s.sensitive
            )
            for i, s in enumerate(cfg.segments)
        ),
        offers=tuple(offer(o, currency) for o in spec.offers),
        campaigns=tuple(
            Campaign(
                id=c.id,
                name=c.name,
                status=c.status,
                segments=tuple(c.segments),
                channels=tuple(c.channels),
                start=c.start,
                end=c.end,
                offer_id=c.offer,
                budget=None if c.budget is None else money(c.budget),
            )
            for c in cfg.campaigns
        ),
        agents=tuple(AgentSetting(n, a.enabled, dict(a.settings)) for n, a in cfg.agents.items()),
        autonomy=AutonomyMatrix(autonomy_entries, cfg.autonomy.default),
        policies=tuple(policy_pack(p) for p in spec.policies.values()),
        playbooks=tuple(playbook(p) for p in spec.playbooks.values()),
        guardrails=guardrails(cfg.governance),
    )


def offer(spec: OfferSpec, currency: str) -> Offer:
    return Offer(
        id=spec.id,
        name=spec.name,
        type=spec.type,
        margin=spec.margin,
        average_order_value=Money(spec.average_order_value, currency),
        discount_pct=spec.discount_pct,
        valid_from=spec.valid_from,
        valid_until=spec.valid_until,
        eligible_segments=tuple(spec.eligible_segments),
        channels=tuple(spec.channels),
    )


def guardrails(spec: GuardrailsSpec) -> Guardrails:
    contact, budget, approvals = spec.contact, spec.budget, spec.approvals
    return Guardrails(
        contact=ContactPolicy(
            per_channel={
                ChannelName(name): ContactCaps(caps.day, caps.week)
                for name, caps in contact.per_channel.items()
            },
            all_channels=ContactCaps(contact.all_channels.day, contact.all_channels.week),
            cooldown_after_unsubscribe_days=contact.cooldown_after_unsubscribe_days,
            ignored_messages_before_cooldown=contact.ignored_messages_before_cooldown,
            cooldown_after_ignored_days=contact.cooldown_after_ignored_days,
        ),
        commercial_email=CommercialEmailRules(**spec.commercial_email.model_dump()),
        pii=PiiRules(tuple(spec.pii.entities), tuple(spec.pii.allowed_values)),
        claims=ClaimRules(spec.claims.similarity),
        budget=BudgetRules(budget.per_action_max, dict(budget.daily_max), dict(budget.cycle_max)),
        approvals=ApprovalRules(
            approvals.ttl_hours,
            tuple(approvals.escalate_to),
            tuple(approvals.sensitive_audience_roles),
        ),
    )


def policy_pack(spec: PolicyFileSpec) -> PolicyPack:
    rules = []
    for r in spec.rules:
        if isinstance(r.effect, ApproveEffectSpec):
            effect, roles, quorum = (
                PolicyEffect.APPROVE,
                tuple(r.effect.approve.roles),
                r.effect.approve.quorum,
            )
        else:
            effect, roles, quorum = PolicyEffect(r.effect), (), 0
        rules.append(
            PolicyRule(
                id=r.id,
                description=r.description,
                applies_to=frozenset(r.applies_to),
                condition=r.when,
                effect=effect,
                message=r.message,
                roles=roles,
                quorum=quorum,
            )
        )
    return PolicyPack(spec.pack, tuple(rules))


def playbook(spec: PlaybookSpec) -> Playbook:
    return Playbook(
        name=spec.name,
        agents=tuple(spec.agents),
        cadence=spec.cadence,
        objective=None if spec.objective is None else spec.objective.value,
        autonomy_overrides={k.value: v.value for k, v in spec.autonomy_overrides.items()},
        measurement_window_days=spec.measurement_window_days,
        experiment_holdout=spec.experiments.holdout,
        description=spec.description,
    )


_OPERATORS = {op.value for op in Operator}
_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


def parse_rule(data: Any, path: str = "rule") -> Rule:
    """``{all: [...]}``, ``{any: [...]}``, ``{not: rule}`` or ``{field: F, <op>: value}``."""
    if not isinstance(data, dict) or not data:
        raise DomainError(f"{path}: expected a mapping with all, any, not or field")
    keys = set(data)
    if keys in ({"all"}, {"any"}):
        (combinator,) = keys
        items = data[combinator]
        if not isinstance(items, list) or not items:
            raise DomainError(f"{path}.{combinator}: expected a non-empty list of rules")
        rules = tuple(parse_rule(item, f"{path}.{combinator}[{i}]") for i, item in enumerate(items))
        return AllOf(rules) if combinator == "all" else AnyOf(rules)
    if keys == {"not"}:
        return Not(parse_rule(data["not"], f"{path}.not"))
    if "field" in keys:
        operators = keys - {"field"}
        if len(operators) != 1 or not operators <= _OPERATORS:
            raise DomainError(
                f"{path}: a condition needs field and exactly one operator of "
                f"{', '.join(sorted(_OPERATORS))}; got {', '.join(sorted(keys))}"
            )
        field_name = data["field"]
        if not isinstance(field_name, str) or not _FIELD.match(field_name):
            raise DomainError(f"{path}.field: expected a field name, got {field_name!r}")
        (op_name,) = operators
        value = data[op_name]
        if isinstance(value, list):
            value = tuple(value)
        items = value if isinstance(value, tuple) else (value,)
        finite = all(not isinstance(v, float) or math.isfinite(v) for v in items)
        if op_name != "exists" and (
            not items or not finite or not all(isinstance(v, str | int | float) for v in items)
        ):
            raise DomainError(
                f"{path}.{op_name}: expected a text, number or true/false value"
                + (" or a list of them" if op_name in ("in", "not_in") else "")
                + f", got {value!r}"
            )
        values = value if isinstance(value, tuple) else (value,)
        flags_allowed = field_name == "suppressed" or op_name == "exists"
        if not flags_allowed and any(isinstance(v, bool) for v in values):
            raise DomainError(
                f"{path}.{op_name}: YAML read a bare word (yes/no/on/off, or NO for Norway) as "
                "true/false; quote it"
            )
        if op_name == "exists":
            if value is not True:
                raise DomainError(f"{path}.exists: write 'exists: true'")
            value = None
        try:
            return Condition(field_name, Operator(op_name), value)
        except DomainError as exc:
            raise DomainError(f"{path}: {exc}") from exc
    raise DomainError(f"{path}: unknown rule keys {', '.join(sorted(map(str, keys)))}")
