"""Arbitration across agents: the best feasible portfolio of a cycle's proposals, and why.

``select_portfolio`` maximises expected value under the budgets (total and per channel), the
contact caps (per channel and global, per customer), the contradictions and the duplicates found
by ``conflicts.find_conflicts``. Small problems are solved exactly with HiGHS; large ones (or a
MILP that runs out of time) by a greedy whose value is reported with an honest upper bound, so
``gap`` is what it says. Selection is binary: a proposal runs to its whole audience or not at all
(a partial send would be a new proposal with its own forecast).

Every proposal gets an ``Outcome``:

- **selected**, with the constraints it binds and the proposals it beat;
- **deferred**: it fits on its own and is worth doing, but the portfolio is better without it
  now; the binding constraint is named (budget, a contact cap and how many customers) and the
  proposals it lost to. It can wait for the next cycle.
- **dropped**: it can never run as proposed: its expected value is not positive, it alone
  breaks a budget or a cap, it duplicates a selected proposal, or it contradicts one.

The result is checked from first principles (spend summed in cents, contacts counted per
customer with ``np.bincount``) before it is returned; an infeasible portfolio is never returned.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from mios.brain.arbitration_model import (
    NO_CHANNEL,
    BudgetLimits,
    Candidates,
    ContactCaps,
    cents_down,
    from_cents,
)
from mios.brain.arbitration_solve import (
    Full,
    RowKind,
    Rows,
    alone_breaks,
    compile_rows,
    coordinate_bound,
    full_problem,
    greedy,
    solve_milp,
)
from mios.brain.conflicts import ConflictReport
from mios.domain.channel import ChannelName
from mios.domain.proposal import DecisionStatus
from mios.errors import MiosError
from mios.types import BoolArray, IntArray

RIVALS = 3  # proposals named as what one beat or lost to
NO_CURRENCY = "XXX"
SELECTED, DEFERRED, DROPPED = (
    DecisionStatus.SELECTED,
    DecisionStatus.DEFERRED,
    DecisionStatus.DROPPED,
)


class InfeasiblePortfolio(MiosError):
    """A bug guard: the selection broke a constraint it was given. Never expected."""


@dataclass(frozen=True)
class ArbitrationOptions:
    """When to use the exact MILP, how long each solver may run (seconds), and how many sweeps
    of coordinate descent tighten the bound (fewer if ``bound_time_limit`` comes first)."""

    milp_max_columns: int = 3_000
    milp_max_nonzeros: int = 300_000
    milp_time_limit: float = 2.0
    mip_rel_gap: float = 1e-4
    bound_sweeps: int = 4
    bound_time_limit: float = 2.0


@dataclass(frozen=True)
class Outcome:
    """Why one proposal was selected, deferred or dropped. ``rivals`` are candidate positions:
    what it lost to (deferred, dropped) or beat (selected), best first."""

    status: DecisionStatus
    reason: str
    binding: tuple[str, ...] = ()
    rivals: tuple[int, ...] = ()


@dataclass(frozen=True, eq=False)
class Portfolio:
    """The chosen set (``selected`` (n,) bool), its value, an upper bound on any feasible
    portfolio's value, the method that chose it and one outcome per candidate."""

    selected: BoolArray
    value: float
    bound: float
    method: str
    solver_status: str
    outcomes: tuple[Outcome, ...]

    @property
    def gap(self) -> float:
        """(bound - value) / bound: 0 is proven optimal."""
        if self.bound <= 0:
            return 0.0
        return max(0.0, (self.bound - self.value) / self.bound)


def select_portfolio(
    cand: Candidates,
    report: ConflictReport,
    *,
    caps: ContactCaps,
    limits: BudgetLimits,
    options: ArbitrationOptions | None = None,
) -> Portfolio:
    """The best feasible portfolio found, and an outcome for every candidate."""
    options = options or ArbitrationOptions()
    rows = compile_rows(cand, report, limits)
    alone = alone_breaks(rows)
    allowed = (cand.value > 0) & (alone < 0)
    full = full_problem(rows, cand.value, allowed, report)
    columns = int(allowed.sum()) + len(full.value) - len(cand)
    small = columns <= options.milp_max_columns and full.matrix.nnz <= options.milp_max_nonzeros
    chosen: BoolArray | None = None
    bounds: list[float] = []
    status: list[str] = []
    method = "greedy"
    if not allowed.any():
        # Nothing can run (no proposals, or none worth running that fits on its own): the empty
        # portfolio is optimal, and the solvers refuse a problem without columns.
        chosen = np.zeros(len(cand), dtype=np.bool_)
        outcomes = _outcomes(cand, report, rows, chosen, alone, limits.currency)
        note = "no solver run: no proposal has a positive value and fits on its own"
        return Portfolio(chosen, 0.0, 0.0, "none", note, outcomes)
    if small:
        solved = solve_milp(full, options.milp_time_limit, options.mip_rel_gap)
        status.append(solved.status)
        if solved.bound is not None and np.isfinite(solved.bound):
            bounds.append(solved.bound)
        if solved.selected is not None:
            chosen = _repair(rows, cand.value, solved.selected, report)
            method = "milp"
    exact = method == "milp" and status[0].startswith("milp: Optimization terminated")
    deadline = time.perf_counter() + options.bound_time_limit
    bound, prices = (
        coordinate_bound(full, deadline, options.bound_sweeps) if not exact else (np.inf, None)
    )
    bounds.append(bound)
    if not exact:
        status.append(f"greedy, best of four orders; Lagrangian bound after {bound_note(full)}")
        guess = greedy(rows, cand.value, allowed, report, prices)
        if chosen is None or cand.value[guess].sum() > cand.value[chosen].sum():
            chosen, method = guess, "greedy" if chosen is None else "milp+greedy"
    assert chosen is not None
    problems = verify_portfolio(cand, report, chosen, caps=caps, limits=limits)
    if problems:
        raise InfeasiblePortfolio("; ".join(problems))
    value = float(cand.value[chosen].sum())
    bound = max(min(bounds), value)
    if not np.isfinite(bound):  # proven optimal without a reported dual bound
        bound = value
    outcomes = _outcomes(cand, report, rows, chosen, alone, limits.currency)
    return Portfolio(chosen, value, bound, method, "; ".join(status), outcomes)


def bound_note(full: Full) -> str:
    return f"coordinate descent over {len(full.rhs):,} rows"


def _repair(rows: Rows, value: np.ndarray, chosen: BoolArray, report: ConflictReport) -> BoolArray:
    """Undo a MILP solution's rounding: drop the least valuable member of any broken row."""
    chosen = chosen.copy()
    while True:
        usage = rows.matrix @ chosen.astype(np.float64)
        broken = np.flatnonzero(usage > rows.rhs)
        if not len(broken):
            break
        members = rows.by_row[[int(broken[0])]].indices
        members = members[chosen[members]]
        chosen[members[np.argmin(value[members])]] = False
    for u, v in report.node_edges:
        on_u = chosen & (report.node_of == u)
        if on_u.any() and (chosen & (report.node_of == v)).any():
            chosen[on_u] = False
    return chosen


def verify_portfolio(
    cand: Candidates,
    report: ConflictReport,
    selected: BoolArray,
    *,
    caps: ContactCaps,
    limits: BudgetLimits,
) -> list[str]:
    """What ``selected`` breaks, counted from scratch: spend per channel and in total, messages
    per customer per channel and overall, duplicates and contradictions. Empty if feasible."""
    problems: list[str] = []
    spend_bounds: list[tuple[ChannelName | None, float]] = [
        (c, cents_down(m)) for c, m in limits.per_channel.items()
    ]
    if limits.total is not None:
        spend_bounds.append((None, cents_down(limits.total)))
    for channel, bound in spend_bounds:
        mask = selected.copy()
        if channel is not None:
            mask &= cand.channel_code == _code(cand, channel)
        if float(cand.cost[mask].sum()) > bound:
            problems.append(f"spend on {channel or 'all channels'} is above its budget")
    cap_list: list[tuple[ChannelName | None, int]] = [
        *caps.per_channel.items(),
        *([(None, caps.total)] if caps.total is not None else []),
    ]
    for channel, cap in cap_list:
        mask = selected & cand.contacts
        if channel is not None:
            mask &= cand.channel_code == _code(cand, channel)
        parts = [a for j in np.flatnonzero(mask) if (a := cand.audiences[j]) is not None]
        if not parts:
            continue
        counts = np.bincount(np.concatenate(parts), minlength=cand.population)
        if counts.max() > cap:
            over = int(np.count_nonzero(counts > cap))
            problems.append(f"{over} customers get more than {cap} on {channel or 'all'}")
    for group in report.duplicate_groups:
        if selected[group].sum() > 1:
            problems.append(f"duplicates {[cand.ids[j] for j in group]} both selected")
    on = np.zeros(len(report.node_labels), dtype=np.bool_)
    on[report.node_of[selected & (report.node_of >= 0)]] = True
    if len(report.node_edges) and np.any(on[report.node_edges].all(axis=1)):
        problems.append("contradicting proposals are both selected")
    return problems


def _code(cand: Candidates, channel: ChannelName) -> int:
    return cand.channels.index(channel) if channel in cand.channels else -2


def _outcomes(
    cand: Candidates,
    report: ConflictReport,
    rows: Rows,
    chosen: BoolArray,
    alone: IntArray,
    currency: str | None,
) -> tuple[Outcome, ...]:
    # "XXX" is ISO 4217's code for "no currency": a cycle without money limits names none.
    judge = _Judge(cand, report, rows, chosen, alone, currency or NO_CURRENCY)
    result: dict[int, Outcome] = {}
    beat: dict[int, list[int]] = {}
    for j in range(len(cand)):
        if not chosen[j]:
            outcome = judge.left_out(j)
            result[j] = outcome
            for r in outcome.rivals:
                beat.setdefault(r, []).append(j)
    for j in np.flatnonzero(chosen).tolist():
        result[j] = judge.selected(j, beat.get(j, []))
    return tuple(result[j] for j in range(len(cand)))


class _Judge:
    """Reasons for one portfolio, read off the rows' usage after the selection."""

    def __init__(
        self,
        cand: Candidates,
        report: ConflictReport,
        rows: Rows,
        chosen: BoolArray,
        alone: IntArray,
        currency: str,
    ) -> None:
        n = len(cand)
        self.cand, self.report, self.rows, self.chosen, self.alone = (
            cand,
            report,
            rows,
            chosen,
            alone,
        )
        self.value = cand.value
        m = rows.matrix
        slack = rows.rhs - m @ chosen.astype(np.float64)
        col_of = np.repeat(np.arange(n), np.diff(m.indptr))
        breaks = (m.data > slack[m.indices]) & ~chosen[col_of]
        cuts = np.cumsum(np.bincount(col_of[breaks], minlength=n))[:-1]
        self.broken_by: list[IntArray] = np.split(m.indices[breaks].astype(np.int64), cuts)
        self.binding_row = np.zeros(len(rows.rhs), dtype=np.bool_)
        self.top = _top_selected(rows, self.value, chosen)
        self.dup_of = np.full(n, -1, dtype=np.int64)
        for g, group in enumerate(report.duplicate_groups):
            self.dup_of[group] = g
        self.best_on_node = _best_on_node(report, self.value, chosen)
        self.neighbours: dict[int, list[int]] = {}
        for u, v in report.node_edges.tolist():
            self.neighbours.setdefault(u, []).append(v)
            self.neighbours.setdefault(v, []).append(u)
        self.names = _RowNames(cand, rows, currency)

    def left_out(self, j: int) -> Outcome:
        value, ids = self.value, self.cand.ids
        if value[j] <= 0:
            return Outcome(DROPPED, f"its expected value ({value[j]:.4g}) is not positive")
        if self.alone[j] >= 0:
            name = self.names.name([int(self.alone[j])])
            return Outcome(DROPPED, f"on its own it breaks {name[0]}", name)
        g = int(self.dup_of[j])
        if g >= 0 and self.chosen[self.report.duplicate_groups[g]].any():
            group = self.report.duplicate_groups[g]
            winner = int(group[self.chosen[group]][0])
            return Outcome(DROPPED, f"it duplicates {ids[winner]}", (), (winner,))
        node = int(self.report.node_of[j])
        winners = [int(self.best_on_node[v]) for v in self.neighbours.get(node, [])]
        winners = sorted({w for w in winners if w >= 0}, key=lambda w: (-value[w], w))
        if winners:
            labels = self.report.node_labels
            mine, theirs = labels[node], labels[int(self.report.node_of[winners[0]])]
            return Outcome(
                DROPPED,
                f"it contradicts {ids[winners[0]]} ({mine} vs {theirs}), which is worth more",
                (),
                tuple(winners[:RIVALS]),
            )
        broken = self.broken_by[j]
        if not len(broken):
            return Outcome(
                DEFERRED,
                "it fits, but the solver's portfolio was better without it (within the "
                "optimality gap); it can wait for the next cycle",
            )
        self.binding_row[broken] = True
        named = self.names.name(broken.tolist())
        rivals = _rivals(broken, self.rows, self.top, value)
        lost = f"; the capacity went to {ids[rivals[0]]}" if rivals else ""
        return Outcome(DEFERRED, f"it would break {named[0]}{lost}", named, rivals)

    def selected(self, j: int, beat: list[int]) -> Outcome:
        m = self.rows.matrix
        touched = m.indices[m.indptr[j] : m.indptr[j + 1]]
        bound_here = touched[self.binding_row[touched]].tolist()
        beaten = sorted(beat, key=lambda k: (-self.value[k], k))[:RIVALS]
        return Outcome(
            SELECTED,
            "it is in the best feasible portfolio found",
            self.names.name(bound_here) if bound_here else (),
            tuple(beaten),
        )


def _top_selected(rows: Rows, value: np.ndarray, chosen: BoolArray) -> list[IntArray]:
    """For each row, up to ``RIVALS`` selected candidates on it, most valuable first."""
    coo = rows.by_row.tocoo()
    keep = chosen[coo.col]
    r, c = coo.row[keep], coo.col[keep]
    order = np.lexsort((c, -value[c], r))
    r, c = r[order], c[order]
    starts = np.searchsorted(r, np.arange(len(rows.rhs) + 1))
    cols: IntArray = c.astype(np.int64)
    return [cols[starts[i] : min(starts[i + 1], starts[i] + RIVALS)] for i in range(len(rows.rhs))]


def _best_on_node(report: ConflictReport, value: np.ndarray, chosen: BoolArray) -> IntArray:
    best = np.full(len(report.node_labels), -1, dtype=np.int64)
    for j in np.flatnonzero(chosen & (report.node_of >= 0)):
        u = report.node_of[j]
        if best[u] < 0 or value[j] > value[best[u]]:
            best[u] = j
    return best


def _rivals(
    broken: IntArray, rows: Rows, top: list[IntArray], value: np.ndarray
) -> tuple[int, ...]:
    order = sorted(broken.tolist(), key=lambda r: (rows.kind[r], -rows.customers[r], r))
    pool = {int(c) for r in order[:RIVALS] for c in top[r]}
    return tuple(sorted(pool, key=lambda c: (-value[c], c))[:RIVALS])


class _RowNames:
    """Plain names for rows, cap rows of one channel merged with their customers summed."""

    def __init__(self, cand: Candidates, rows: Rows, currency: str) -> None:
        self.cand = cand
        self.rows = rows
        self.currency = currency
        caps = rows.kind == RowKind.CAP
        self.cap_of: dict[int, int] = {
            int(c): int(rows.rhs[caps & (rows.channel == c)][0])
            for c in np.unique(rows.channel[caps])
        }

    def name(self, which: list[int]) -> tuple[str, ...]:
        rows = self.rows
        picked = np.asarray(which, dtype=np.int64)
        kinds = rows.kind[picked]
        names: list[str] = []
        budgets = picked[kinds == RowKind.BUDGET]
        # Channel budgets first, the total last (code -1 sorts first, so reverse the sign).
        for r in sorted(budgets.tolist(), key=lambda r: (rows.channel[r] < 0, rows.channel[r])):
            code = int(rows.channel[r])
            channel = "total" if code == NO_CHANNEL else str(self.cand.channels[code])
            amount = from_cents(float(rows.rhs[r]), self.currency)
            names.append(f"the {channel} budget of {amount}")
        capped = picked[kinds == RowKind.CAP]
        if len(capped):
            codes = rows.channel[capped]
            shift = codes + 1  # NO_CHANNEL -> 0
            people = np.bincount(shift, weights=rows.customers[capped])
            order = [*range(1, len(people)), 0]
            for s in order:
                if s >= len(people) or not np.any(shift == s):
                    continue
                code = s - 1
                cap = self.cap_of[code]
                where = "global cap" if code == NO_CHANNEL else f"{self.cand.channels[code]} cap"
                plural = "s" if cap != 1 else ""
                names.append(
                    f"the {where} of {cap} message{plural} per customer "
                    f"({int(people[s]):,} of its customers at the cap)"
                )
        if np.any(kinds == RowKind.DUPLICATE):
            names.append("the one-of-a-kind rule for duplicates")
        return tuple(names)
