"""The objective and its guardrails."""

from __future__ import annotations

import pytest

from mios.domain.objective import Guardrail, Kpi, Objective
from mios.errors import DomainError


class TestGuardrail:
    def test_max_is_breached_only_above(self) -> None:
        cac = Guardrail(Kpi.CAC, max=50.0)
        assert not cac.breached_by(49.99)
        assert not cac.breached_by(50.0)
        assert cac.breached_by(50.01)

    def test_min_is_breached_only_below(self) -> None:
        roas = Guardrail(Kpi.ROAS, min=2.0)
        assert roas.breached_by(1.99)
        assert not roas.breached_by(2.0)
        assert not roas.breached_by(10.0)

    def test_zero_bounds_count(self) -> None:
        assert Guardrail(Kpi.COMPLAINT_RATE, max=0.0).breached_by(0.001)
        assert Guardrail(Kpi.RETENTION, min=0.0).breached_by(-0.1)

    @pytest.mark.parametrize(("low", "high"), [(None, None), (1.0, 2.0), (0.0, 0.0)])
    def test_exactly_one_of_max_or_min(self, low: float | None, high: float | None) -> None:
        with pytest.raises(DomainError, match="exactly one of max or min"):
            Guardrail(Kpi.CAC, max=high, min=low)


class TestObjective:
    guardrails = (
        Guardrail(Kpi.CAC, max=50.0),
        Guardrail(Kpi.ROAS, min=2.0),
        Guardrail(Kpi.UNSUBSCRIBE_RATE, max=0.005),
    )

    def test_breached_lists_only_observed_breaches(self) -> None:
        objective = Objective(Kpi.PROFIT, 1e5, 90, self.guardrails)
        breached = objective.breached({Kpi.CAC: 60.0, Kpi.ROAS: 2.5, Kpi.REVENUE: 0.0})
        assert breached == (self.guardrails[0],)
        assert objective.breached({}) == ()
        assert objective.breached({Kpi.CAC: 51, Kpi.ROAS: 1, Kpi.UNSUBSCRIBE_RATE: 0.01}) == (
            self.guardrails
        )

    def test_duplicate_kpis_raise(self) -> None:
        with pytest.raises(DomainError, match="each guardrail KPI may appear once"):
            Objective(Kpi.PROFIT, 1.0, 30, (Guardrail(Kpi.CAC, max=1), Guardrail(Kpi.CAC, min=0)))

    @pytest.mark.parametrize("days", [0, -1])
    def test_horizon_must_be_a_day_or_more(self, days: int) -> None:
        with pytest.raises(DomainError, match="horizon"):
            Objective(Kpi.PROFIT, 1.0, days)
        assert Objective(Kpi.PROFIT, 1.0, 1).horizon_days == 1
