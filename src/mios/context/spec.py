"""The workspace file formats, validated with pydantic, and their translation into the domain.

``docs/workspace.md`` documents every field here. Specs are the edge: they accept what people
write in YAML (amounts in the workspace currency, rules as nested mappings) and ``to_domain``
turns them into domain objects, whose own checks then run.
"""

from __future__ import annotations

import math
import re
from datetime import date, time
from decimal import Decimal
from typing import Annotated, Any, Literal
from zoneinfo import available_timezones

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from mios.domain.brand import Brand, Claim, PostalAddress, SenderIdentity, VoiceRules
from mios.domain.budget import Budget, BudgetPeriod
from mios.domain.channel import ChannelConfig, ChannelName, QuietHours
from mios.domain.cycle import Playbook
from mios.domain.governance import Role
from mios.domain.money import Money
from mios.domain.objective import Guardrail, Kpi, Objective
from mios.domain.offer import Campaign, CampaignStatus, Offer
from mios.domain.policy import AutonomyMatrix, AutonomyMode, PolicyEffect, PolicyPack, PolicyRule
from mios.domain.proposal import ActionKind, RiskTier
from mios.domain.segment import AllOf, AnyOf, Condition, Not, Operator, Rule, Segment
from mios.domain.workspace import AgentSetting, Workspace
from mios.errors import DomainError

Identifier = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=64)]
Text = Annotated[str, Field(min_length=1)]
Amount = Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]
Share = Annotated[float, Field(ge=0, le=1)]
_ZONES: frozenset[str] | None = None


def is_time_zone(name: str) -> bool:
    global _ZONES  # noqa: PLW0603 - the zone list is read from disk once
    if _ZONES is None:
        _ZONES = frozenset(available_timezones()) | {"UTC"}
    return name in _ZONES


class Spec(BaseModel):
    # Infinity and NaN do not survive JSON, and the context stores specs as JSON: refuse them.
    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=True, allow_inf_nan=False
    )


def _json_safe(value: Any, path: str = "settings") -> Any:
    """Settings as JSON holds them, so what is read back from the context equals what was
    loaded: dates become ISO text; non-finite numbers and non-text keys are refused."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{path}: keys must be text, got {key!r}")
            out[key] = _json_safe(item, f"{path}.{key}")
        return out
    if isinstance(value, list | tuple):
        return [_json_safe(item, f"{path}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, date | time):  # datetime is a date
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{path}: {value} is not a finite number")
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise ValueError(f"{path}: {type(value).__name__} values are not allowed")


Settings = Annotated[dict[str, Any], AfterValidator(_json_safe)]


# -- mios.yaml ----------------------------------------------------------------------------------


class WorkspaceInfoSpec(Spec):
    name: Text
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"
    time_zone: str = "UTC"

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if not is_time_zone(value):
            raise ValueError(f"unknown IANA time zone {value!r}")
        return value


class AddressSpec(Spec):
    street: Text
    city: Text
    postal_code: Text
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
    region: str | None = None


class SenderSpec(Spec):
    name: Text
    email: Text
    postal_address: AddressSpec
    reply_to: str | None = None


class VoiceSpec(Spec):
    tone: list[Text] = []
    do: list[Text] = []
    dont: list[Text] = []
    reading_level_max: Annotated[int, Field(ge=1, le=20)] | None = None
    max_exclamation_marks: Annotated[int, Field(ge=0)] | None = None


class ClaimSpec(Spec):
    id: Identifier
    text: Text
    substantiation: Text
    channels: list[ChannelName] = []


class BrandSpec(Spec):
    name: Text
    sender: SenderSpec
    voice: VoiceSpec = VoiceSpec()
    banned_terms: list[Text] = []
    claims: list[ClaimSpec] = []
    disclaimers: dict[Identifier, Text] = {}


class GuardrailSpec(Spec):
    kpi: Kpi
    max: float | None = None
    min: float | None = None


class ObjectiveSpec(Spec):
    primary_kpi: Kpi
    target: float
    horizon_days: Annotated[int, Field(ge=1)]
    guardrails: list[GuardrailSpec] = []


class BudgetSpec(Spec):
    period: BudgetPeriod
    amount: Amount
    max_change_pct: Annotated[float, Field(gt=0, le=1000)] | None = None


class QuietHoursSpec(Spec):
    """Local wall-clock times, written ``"21:00"`` (quoted: YAML reads 21:00 as a number)."""

    start: time
    end: time

    @field_validator("start", "end", mode="before")
    @classmethod
    def _wall_clock(cls, value: object) -> object:
        if isinstance(value, time) and value.tzinfo is None:
            return value
        if not isinstance(value, str) or not re.fullmatch(
            r"([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?", value
        ):
            raise ValueError('expected a quoted local time like "21:00"')
        return value


class ChannelSpec(Spec):
    connector: Identifier = "simulator"
    enabled: bool = True
    daily_capacity: Annotated[int, Field(ge=0)] | None = None
    cost_per_contact: Amount | None = None
    quiet_hours: QuietHoursSpec | None = None
    settings: Settings = {}


class SegmentSpec(Spec):
    id: Identifier
    name: Text
    rule: dict[str, Any]
    description: str = ""
    sensitive: bool = False


class AgentSpec(Spec):
    enabled: bool = True
    settings: Settings = {}


class AutonomyRuleSpec(Spec):
    kind: ActionKind
    risk: RiskTier | Literal["any"] = "any"
    mode: AutonomyMode


class AutonomySpec(Spec):
    default: AutonomyMode = AutonomyMode.APPROVE
    rules: list[AutonomyRuleSpec] = []


class CampaignSpec(Spec):
    id: Identifier
    name: Text
    status: CampaignStatus = CampaignStatus.DRAFT
    segments: list[Identifier]
    channels: list[ChannelName]
    start: date
    end: date | None = None
    offer: Identifier | None = None
    budget: Amount | None = None


class WorkspaceFileSpec(Spec):
    """``mios.yaml``."""

    workspace: WorkspaceInfoSpec
    brand: BrandSpec
    objective: ObjectiveSpec
    budgets: dict[ChannelName, BudgetSpec]
    channels: dict[ChannelName, ChannelSpec]
    segments: list[SegmentSpec] = []
    agents: dict[Identifier, AgentSpec] = {}
    autonomy: AutonomySpec = AutonomySpec()
    campaigns: list[CampaignSpec] = []


# -- data/offers.yaml, policies/*.yaml, playbooks/*.yaml --------------------------------------


class OfferSpec(Spec):
    id: Identifier
    name: Text
    type: Identifier
    margin: Annotated[float, Field(gt=-1, lt=1)]
    average_order_value: Amount
    discount_pct: Annotated[float, Field(ge=0, lt=100)] = 0.0
    valid_from: date | None = None
    valid_until: date | None = None
    eligible_segments: list[Identifier] = []
    channels: list[ChannelName] = []


class OffersFileSpec(Spec):
    offers: list[OfferSpec]


class ApprovalNeedSpec(Spec):
    roles: Annotated[list[Role], Field(min_length=1)]
    quorum: Annotated[int, Field(ge=1)] = 1


class ApproveEffectSpec(Spec):
    approve: ApprovalNeedSpec


class PolicyRuleSpec(Spec):
    id: Identifier
    description: Text
    applies_to: list[ActionKind] = []
    when: Text
    effect: Literal["deny", "warn"] | ApproveEffectSpec
    message: Text

    @field_validator("effect", mode="before")
    @classmethod
    def _known_effect(cls, value: object) -> object:
        if isinstance(value, str) and value not in ("deny", "warn"):
            raise ValueError("expected deny, warn or approve: {roles: [...], quorum: N}")
        return value


class PolicyFileSpec(Spec):
    pack: Identifier
    rules: list[PolicyRuleSpec]


class ExperimentSpec(Spec):
    holdout: Annotated[float, Field(ge=0, le=0.5)] = 0.1


class PlaybookSpec(Spec):
    name: Identifier
    agents: Annotated[list[Identifier], Field(min_length=1)]
    cadence: Text
    description: str = ""
    objective: Kpi | None = None
    autonomy_overrides: dict[ActionKind, AutonomyMode] = {}
    measurement_window_days: Annotated[int, Field(ge=1, le=365)] = 7
    experiments: ExperimentSpec = ExperimentSpec()


class WorkspaceSpec(Spec):
    """Everything people author in a workspace folder, as stored in the context."""

    config: WorkspaceFileSpec
    offers: list[OfferSpec] = []
    policies: dict[str, PolicyFileSpec] = {}
    playbooks: dict[str, PlaybookSpec] = {}

    def to_domain(self) -> Workspace:
        return build_workspace(self)


# -- translation --------------------------------------------------------------------------------


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
