"""The forecaster a cycle decides with: the response model, fed by history and by what earlier
cycles measured, when there is anything to fit; the agents' own estimates otherwise.

Rows of the model: each week of channel history is a row of its channel's cell with nothing
else named (``-`` segment, offer and angle), conversions out of impressions; each cell an
earlier cycle measured (``CellCount``) is a row of its own (segment, channel, offer, angle), so
a message to a cell that was sent before is forecast from what it did, and a new one borrows
from its channel and offer.
"""

from __future__ import annotations

from collections.abc import Sequence

from mios.brain.decide_forecast import AgentEstimateForecaster, Forecaster
from mios.brain.decide_response import UNNAMED, ResponseForecaster
from mios.brain.response import ResponseModel
from mios.context.store import ContextSnapshot
from mios.domain.objective import Kpi
from mios.errors import ModelInputError
from mios.lifecycle.cycle_store import CellCount


def response_rows(
    snapshot: ContextSnapshot, cells: Sequence[CellCount]
) -> tuple[list[tuple[str, str, str, str]], list[int], list[int], list[float]]:
    """``(cells, trials, successes, values)`` for ``ResponseModel.fit``."""
    keys: list[tuple[str, str, str, str]] = []
    trials: list[int] = []
    successes: list[int] = []
    values: list[float] = []
    for week in snapshot.history.weeks:
        if week.impressions <= 0:
            continue
        conversions = min(week.conversions, week.impressions)
        keys.append((UNNAMED, week.channel.value, UNNAMED, UNNAMED))
        trials.append(week.impressions)
        successes.append(conversions)
        values.append(float(week.revenue.amount) if conversions > 0 else 0.0)
    for cell in cells:
        if cell.trials <= 0:
            continue
        keys.append(cell.key)
        trials.append(cell.trials)
        successes.append(cell.successes)
        values.append(float(cell.revenue) if cell.successes > 0 else 0.0)
    return keys, trials, successes, values


def forecaster_for(
    snapshot: ContextSnapshot,
    cells: Sequence[CellCount],
    *,
    seed: int = 0,
    objective: Kpi = Kpi.PROFIT,
) -> Forecaster:
    """The response model when there is history or a measured cell, valuing each message as
    ``objective`` counts it; the agents' own estimates (made toward the same objective)
    otherwise."""
    fallback = AgentEstimateForecaster()
    keys, trials, successes, values = response_rows(snapshot, cells)
    if not keys:
        return fallback
    try:
        model = ResponseModel().fit(
            keys, trials, successes, values if any(v > 0 for v in values) else None
        )
    except ModelInputError:
        return fallback  # nothing the model can learn from: the agents' estimates stand
    offers = snapshot.workspace.offers
    margins = {o.id: max(o.margin, 0.0) for o in offers}
    default = sum(margins.values()) / len(margins) if margins else 1.0
    return ResponseForecaster(
        model,
        margins,
        default_margin=default,
        fallback=fallback,
        seed=seed,
        objective=objective,
    )
