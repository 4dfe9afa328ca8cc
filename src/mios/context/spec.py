"""The workspace file formats, validated with pydantic.

``docs/workspace.md`` documents every field here. Specs are the edge: they accept what people
write in YAML (amounts in the workspace currency, rules as nested mappings);
``mios.context.translate.build_workspace`` turns them into domain objects, whose own checks
then run.
"""

from __future__ import annotations

import math
import re
from datetime import date, time
from decimal import Decimal
from typing import Annotated, Any, Literal
from zoneinfo import available_timezones

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from mios.domain.budget import BudgetPeriod
from mios.domain.channel import ChannelName
from mios.domain.governance import Role
from mios.domain.guardrails import Guardrails
from mios.domain.objective import Kpi
from mios.domain.offer import CampaignStatus
from mios.domain.policy import AutonomyMode
from mios.domain.proposal import ActionKind, RiskTier

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


class ContactCapsSpec(Spec):
    day: Annotated[int, Field(ge=0)] | None = None
    week: Annotated[int, Field(ge=0)] | None = None


#: The domain's defaults, so the file format and the code never disagree about them.
_DEFAULTS = Guardrails()
#: Contact caps count messages, which only these channels send to a named customer.
MessageChannel = Literal["email", "sms", "push"]


class ContactPolicySpec(Spec):
    per_channel: dict[MessageChannel, ContactCapsSpec] = {
        name.value: ContactCapsSpec(day=caps.day, week=caps.week)  # type: ignore[misc]
        for name, caps in _DEFAULTS.contact.per_channel.items()
    }
    all_channels: ContactCapsSpec = ContactCapsSpec(
        day=_DEFAULTS.contact.all_channels.day, week=_DEFAULTS.contact.all_channels.week
    )
    cooldown_after_unsubscribe_days: Annotated[int, Field(ge=0)] = (
        _DEFAULTS.contact.cooldown_after_unsubscribe_days
    )
    ignored_messages_before_cooldown: Annotated[int, Field(ge=1)] = (
        _DEFAULTS.contact.ignored_messages_before_cooldown
    )
    cooldown_after_ignored_days: Annotated[int, Field(ge=0)] = (
        _DEFAULTS.contact.cooldown_after_ignored_days
    )


class CommercialEmailSpec(Spec):
    unsubscribe_link: bool = _DEFAULTS.commercial_email.unsubscribe_link
    sender_identity: bool = _DEFAULTS.commercial_email.sender_identity
    postal_address: bool = _DEFAULTS.commercial_email.postal_address
    list_unsubscribe_header: bool = _DEFAULTS.commercial_email.list_unsubscribe_header


#: Presidio entities found by a pattern alone (``mios.governance.checkers.pii.PII_ENTITIES``).
PiiEntity = Literal[
    "CREDIT_CARD",
    "EMAIL_ADDRESS",
    "IBAN_CODE",
    "IP_ADDRESS",
    "PHONE_NUMBER",
    "UK_NHS",
    "US_ITIN",
    "US_SSN",
]


class PiiSpec(Spec):
    entities: list[PiiEntity] = list(_DEFAULTS.pii.entities)  # type: ignore[arg-type]
    allowed_values: list[Text] = list(_DEFAULTS.pii.allowed_values)


class ClaimsSpec(Spec):
    similarity: Annotated[float, Field(gt=0, le=1)] = _DEFAULTS.claims.similarity


class BudgetRulesSpec(Spec):
    per_action_max: Amount | None = _DEFAULTS.budget.per_action_max
    daily_max: dict[ChannelName, Amount] = {}
    cycle_max: dict[ChannelName, Amount] = {}


class ApprovalsSpec(Spec):
    ttl_hours: Annotated[float, Field(gt=0)] = _DEFAULTS.approvals.ttl_hours
    escalate_to: list[Role] = list(_DEFAULTS.approvals.escalate_to)
    sensitive_audience_roles: Annotated[list[Role], Field(min_length=1)] = list(
        _DEFAULTS.approvals.sensitive_audience_roles
    )


class GuardrailsSpec(Spec):
    """``governance:`` in ``mios.yaml``: what the built-in checkers enforce."""

    contact: ContactPolicySpec = ContactPolicySpec()
    commercial_email: CommercialEmailSpec = CommercialEmailSpec()
    pii: PiiSpec = PiiSpec()
    claims: ClaimsSpec = ClaimsSpec()
    budget: BudgetRulesSpec = BudgetRulesSpec()
    approvals: ApprovalsSpec = ApprovalsSpec()


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
    governance: GuardrailsSpec = GuardrailsSpec()


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
