"""A ``Cycle`` is one pass of Plan → Execute → Measure → Optimize for one ``Playbook``."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from mios.domain.clock import require_utc
from mios.domain.cron import Cron
from mios.domain.objective import VALUE_KPIS, Kpi, Objective
from mios.domain.policy import AutonomyMode, parse_autonomy
from mios.domain.proposal import ActionKind
from mios.errors import DomainError, IllegalTransition


class CycleStage(StrEnum):
    PLAN = "plan"
    DECIDE = "decide"
    REVIEW = "review"
    EXECUTE = "execute"
    MEASURE = "measure"
    OPTIMIZE = "optimize"
    DONE = "done"

    @property
    def order(self) -> int:
        return list(CycleStage).index(self)


@dataclass(eq=False)
class Cycle:
    """One pass of a playbook's loop, made on one snapshot. Identity is ``id``.

    Stages only move forward. Skipping ahead is allowed, because a cycle with nothing selected
    has nothing to review or execute and goes straight to measuring; going back or standing
    still is not. ``stage_times`` records when each stage was entered.
    """

    id: str
    playbook: str
    number: int
    snapshot_version: int
    started_at: datetime
    stage: CycleStage = CycleStage.PLAN
    finished_at: datetime | None = None
    proposal_ids: list[str] = field(default_factory=list)
    action_ids: list[str] = field(default_factory=list)
    stage_times: dict[CycleStage, datetime] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.started_at = require_utc(self.started_at, "started_at")
        if self.finished_at is not None:
            self.finished_at = require_utc(self.finished_at, "finished_at")
        self.proposal_ids = list(self.proposal_ids)
        self.action_ids = list(self.action_ids)
        self.stage_times = {s: require_utc(t, f"{s} time") for s, t in self.stage_times.items()}
        self.stage_times.setdefault(CycleStage.PLAN, self.started_at)
        if not (self.id.strip() and self.playbook.strip()):
            raise DomainError("a cycle needs an id and a playbook")
        where = f"cycle {self.id}"
        if self.number < 1:
            raise DomainError(f"{where}: number must be >= 1")
        if self.snapshot_version < 1:
            raise DomainError(f"{where}: snapshot version must be >= 1")
        if (self.stage is CycleStage.DONE) != (self.finished_at is not None):
            raise DomainError(f"{where}: finished_at is set exactly when the stage is done")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Cycle) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    @property
    def is_done(self) -> bool:
        return self.stage is CycleStage.DONE

    def advance(self, to: CycleStage, at: datetime) -> None:
        if to.order <= self.stage.order:
            raise IllegalTransition(f"cycle {self.id}: cannot go from {self.stage} to {to}")
        at = require_utc(at, "stage time")
        if at < self.started_at:
            raise DomainError(f"cycle {self.id}: {to} at {at} is before the cycle started")
        self.stage = to
        self.stage_times[to] = at
        if to is CycleStage.DONE:
            self.finished_at = at

    def finish(self, at: datetime) -> None:
        self.advance(CycleStage.DONE, at)


@dataclass(frozen=True)
class Playbook:
    """A recipe for cycles: which agents, how often, toward what, with what autonomy overrides.

    ``autonomy_overrides`` maps an action kind to ``auto``, ``notify``, ``approve`` or ``forbid``
    (as text, the way a playbook file says it); both are checked here. ``objective`` names a KPI
    to serve instead of the workspace's primary one.
    """

    name: str
    agents: tuple[str, ...]
    cadence: str
    objective: str | None = None
    autonomy_overrides: dict[str, str] = field(default_factory=dict)
    measurement_window_days: int = 7
    experiment_holdout: float = 0.0
    description: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "agents", tuple(self.agents))
        object.__setattr__(self, "autonomy_overrides", dict(self.autonomy_overrides))
        if not self.name.strip():
            raise DomainError("a playbook needs a name")
        where = f"playbook {self.name}"
        if not self.agents or any(not a.strip() for a in self.agents):
            raise DomainError(f"{where}: list at least one agent")
        if len(set(self.agents)) != len(self.agents):
            raise DomainError(f"{where}: an agent is listed twice")
        Cron.parse(self.cadence)  # refuses what is not cron, and a cadence that never fires
        if self.objective is not None and not self.objective.strip():
            raise DomainError(f"{where}: objective must not be blank")
        if self.objective is not None and self.objective not in VALUE_KPIS:
            served = ", ".join(sorted(VALUE_KPIS))
            raise DomainError(
                f"{where}: objective {self.objective!r} cannot be maximised by a cycle; use one "
                f"of {served} (bounds such as CAC or ROAS are guardrails)"
            )
        parse_autonomy(self.autonomy_overrides.items(), where)
        if self.measurement_window_days < 1:
            raise DomainError(f"{where}: measurement window must be at least one day")
        if not 0 <= self.experiment_holdout <= 0.5:
            raise DomainError(f"{where}: experiment holdout must be in [0, 0.5]")

    def serving(self, objective: Objective) -> Objective:
        """The workspace's ``objective`` with this playbook's KPI in place of its primary one
        (its target, horizon and guardrails stay: the playbook changes what is maximised, not
        the bounds it is maximised within)."""
        if self.objective is None or self.objective == objective.primary_kpi:
            return objective
        return replace(objective, primary_kpi=Kpi(self.objective))

    def autonomy(self) -> dict[ActionKind, AutonomyMode]:
        """The overrides, typed, for ``AutonomyMatrix.overridden``."""
        return parse_autonomy(self.autonomy_overrides.items(), f"playbook {self.name}")
