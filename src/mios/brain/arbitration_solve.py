"""The portfolio problem compiled to matrices, and its three solvers: MILP, LP bound, greedy.

    maximise    v @ x
    subject to  A @ x <= b              budgets (cents), contact caps per pattern, duplicates
                x_j <= z_node(j)        a proposal uses its exclusion node
                z_u + z_v <= 1          contradicting nodes: at most one is used
                x, z in {0, 1};  x_j = 0 where v_j <= 0 or j alone breaks a row

The MILP goes to HiGHS (``scipy.optimize.milp``) when it is small enough. The greedy takes
proposals in order of value per unit of scarce capacity and keeps each one that still fits. The
upper bound is Lagrangian: for any prices ``y >= 0`` on the rows,

    value(any feasible portfolio) <= b @ y + sum_j max(0, v_j - (A.T @ y)_j)

so it holds whatever the solver's tolerances. Coordinate descent on ``y`` (one row's price at a
time, exactly) tightens it towards the LP relaxation's value in a few sweeps.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from mios.brain.arbitration_model import NO_CHANNEL, BudgetLimits, Candidates, cents_down
from mios.brain.conflicts import ConflictReport
from mios.domain.channel import ChannelName
from mios.types import BoolArray, FloatArray, IntArray


class RowKind(IntEnum):
    BUDGET = 0  # channel -1: the total budget
    CAP = 1  # channel -1: the global cap
    DUPLICATE = 2


@dataclass(frozen=True, eq=False)
class Rows:
    """``A @ x <= rhs`` over the candidates, with what each row means.

    matrix (R, n) CSC; rhs (R,); kind (R,) RowKind codes; channel (R,) codes into the
    candidates' channels or -1; customers (R,) customers behind a cap row (0 otherwise).
    """

    matrix: sp.csc_array
    rhs: FloatArray
    kind: IntArray
    channel: IntArray
    customers: IntArray

    @property
    def by_row(self) -> sp.csr_array:
        return sp.csr_array(self.matrix)


def compile_rows(cand: Candidates, report: ConflictReport, limits: BudgetLimits) -> Rows:
    """The rows of the portfolio problem; identical cap rows are merged (customers summed)."""
    n = len(cand)
    blocks: list[sp.csr_array] = []
    rhs: list[FloatArray] = []
    kind: list[IntArray] = []
    channel: list[IntArray] = []
    customers: list[IntArray] = []

    def add(
        block: sp.csr_array, bound: FloatArray, k: RowKind, code: int, people: IntArray
    ) -> None:
        blocks.append(block)
        rhs.append(bound)
        kind.append(np.full(len(bound), int(k), dtype=np.int64))
        channel.append(np.full(len(bound), code, dtype=np.int64))
        customers.append(people)

    bounds = [(_code(cand, c), m) for c, m in sorted(limits.per_channel.items())]
    if limits.total is not None:
        bounds.append((NO_CHANNEL, limits.total))
    for code, money in bounds:
        mask = cand.cost > 0
        if code != NO_CHANNEL:
            mask &= cand.channel_code == code
        cols = np.flatnonzero(mask)
        if len(cols) and code != _ABSENT:
            row = _rows([cols], [cand.cost[cols]], n)
            add(row, np.asarray([cents_down(money)]), RowKind.BUDGET, code, np.zeros(1, np.int64))
    for cap in report.cap_rows:
        code = NO_CHANNEL if cap.channel is None else _code(cand, cap.channel)
        keep, people = _distinct_rows(cap.matrix, cap.customers)
        block = sp.csr_array(cap.matrix[keep])
        add(block, np.full(len(keep), float(cap.cap)), RowKind.CAP, code, people)
    groups = list(report.duplicate_groups)
    if groups:
        row = _rows(groups, [np.ones(len(g)) for g in groups], n)
        add(
            row,
            np.ones(len(groups)),
            RowKind.DUPLICATE,
            NO_CHANNEL,
            np.zeros(len(groups), np.int64),
        )
    stacked = sp.csc_array(sp.vstack(blocks, format="csr")) if blocks else sp.csc_array((0, n))
    stacked.sort_indices()
    empty = np.zeros(0)
    return Rows(
        stacked,
        np.concatenate(rhs) if rhs else empty,
        np.concatenate(kind) if kind else empty.astype(np.int64),
        np.concatenate(channel) if channel else empty.astype(np.int64),
        np.concatenate(customers) if customers else empty.astype(np.int64),
    )


_ABSENT = -2  # a channel no candidate uses


def _code(cand: Candidates, channel: ChannelName) -> int:
    return cand.channels.index(channel) if channel in cand.channels else _ABSENT


def _distinct_rows(matrix: sp.csr_array, customers: IntArray) -> tuple[IntArray, IntArray]:
    """The first of each set of identical rows, and the customers of each set summed."""
    first: dict[bytes, int] = {}
    owner = np.empty(matrix.shape[0], dtype=np.int64)
    indptr, indices = matrix.indptr, matrix.indices
    for r in range(matrix.shape[0]):
        key = indices[indptr[r] : indptr[r + 1]].tobytes()
        owner[r] = first.setdefault(key, len(first))
    rows_of = np.zeros(len(first), dtype=np.int64)
    rows_of[owner[::-1]] = np.arange(matrix.shape[0])[::-1]
    people = np.bincount(owner, weights=customers, minlength=len(first)).astype(np.int64)
    return rows_of, people


def _rows(cols: list[IntArray], values: list[FloatArray], n: int) -> sp.csr_array:
    indptr = np.concatenate([[0], np.cumsum([len(c) for c in cols])])
    return sp.csr_array(
        (np.concatenate(values), np.concatenate(cols).astype(np.int64), indptr),
        shape=(len(cols), n),
    )


def alone_breaks(rows: Rows) -> IntArray:
    """(n,) the first row each candidate breaks on its own, or -1."""
    m = rows.matrix
    first = np.full(m.shape[1], -1, dtype=np.int64)
    row_of = m.indices
    col_of = np.repeat(np.arange(m.shape[1]), np.diff(m.indptr))
    bad = m.data > rows.rhs[row_of]
    # Reverse order, so the first row of each column is written last and wins.
    first[col_of[bad][::-1]] = row_of[bad][::-1]
    return first


@dataclass(frozen=True, eq=False)
class Full:
    """The whole problem over (x, z): matrix (R', n + K) CSR, rhs, objective, upper bounds."""

    matrix: sp.csr_array
    rhs: FloatArray
    value: FloatArray
    upper: FloatArray
    n: int


def full_problem(rows: Rows, value: FloatArray, allowed: BoolArray, report: ConflictReport) -> Full:
    n = len(value)
    edges = report.node_edges
    used = np.unique(edges) if len(edges) else np.zeros(0, dtype=np.int64)
    z_of = np.full(len(report.node_labels), -1, dtype=np.int64)
    z_of[used] = np.arange(len(used))
    k = len(used)
    linked = np.flatnonzero((report.node_of >= 0) & allowed)
    linked = linked[z_of[report.node_of[linked]] >= 0]
    link = sp.csr_array(
        (
            np.concatenate([np.ones(len(linked)), -np.ones(len(linked))]),
            (
                np.concatenate([np.arange(len(linked))] * 2),
                np.concatenate([linked, n + z_of[report.node_of[linked]]]),
            ),
        ),
        shape=(len(linked), n + k),
    )
    pair = sp.csr_array(
        (
            np.ones(2 * len(edges)),
            (np.repeat(np.arange(len(edges)), 2), n + z_of[edges.reshape(-1)]),
        ),
        shape=(len(edges), n + k),
    )
    base = sp.hstack([rows.by_row, sp.csr_array((rows.matrix.shape[0], k))], format="csr")
    matrix = sp.csr_array(sp.vstack([base, link, pair], format="csr"))
    rhs = np.concatenate([rows.rhs, np.zeros(len(linked)), np.ones(len(edges))])
    upper = np.concatenate([allowed.astype(np.float64), np.ones(k)])
    objective = np.concatenate([np.where(allowed, value, 0.0), np.zeros(k)])
    return Full(matrix, rhs, objective, upper, n)


@dataclass(frozen=True)
class Solved:
    selected: BoolArray | None
    bound: float | None
    status: str


def solve_milp(full: Full, time_limit: float, rel_gap: float) -> Solved:
    """HiGHS branch and cut; ``selected`` is None when it found no integer solution in time."""
    res = milp(
        -full.value,
        integrality=np.ones(len(full.value), dtype=np.int64),
        bounds=Bounds(np.zeros(len(full.value)), full.upper),
        constraints=LinearConstraint(full.matrix, -np.inf, full.rhs),
        options={"time_limit": time_limit, "mip_rel_gap": rel_gap, "presolve": True},
    )
    bound = None if res.mip_dual_bound is None else -float(res.mip_dual_bound)
    if res.x is None:
        return Solved(None, bound, f"milp: {res.message}")
    return Solved(np.asarray(res.x[: full.n] > 0.5), bound, f"milp: {res.message}")


def lagrangian_bound(full: Full, prices: FloatArray | None) -> float:
    """An upper bound on every feasible portfolio's value (see the module docstring)."""
    y = np.zeros(len(full.rhs)) if prices is None else prices
    reduced = full.value - full.matrix.T @ y
    return float(full.rhs @ y + (full.upper * np.maximum(reduced, 0.0)).sum())


def greedy(
    rows: Rows,
    value: FloatArray,
    allowed: BoolArray,
    report: ConflictReport,
    prices: FloatArray | None,
) -> BoolArray:
    """The best of four greedy passes (by value, by value per share of each row's capacity, by
    value per priced capacity and by value less priced capacity, when prices are given)."""
    m = rows.matrix
    share = m.T @ (1.0 / np.maximum(rows.rhs, 1.0))
    tiny = 1e-12 * np.maximum(np.abs(value), 1.0) + 1e-300
    scores = [value, value / (share + tiny)]
    if prices is not None:
        priced = m.T @ prices[: len(rows.rhs)]
        scores += [value / (priced + tiny), value - priced]
    best = np.zeros(len(value), dtype=np.bool_)
    for score in scores:
        order = np.lexsort((np.arange(len(value)), -value, -score))
        chosen = greedy_pass(rows, order[allowed[order]], report)
        if value[chosen].sum() > value[best].sum():
            best = chosen
    return best


def greedy_pass(rows: Rows, order: IntArray, report: ConflictReport) -> BoolArray:
    """Take candidates in ``order``; keep each one that still fits every row and exclusion."""
    m = rows.matrix
    n = m.shape[1]
    neighbours = _neighbours(report)
    node_of = report.node_of
    on = np.zeros(len(report.node_labels), dtype=np.bool_)
    blocked = np.zeros(len(report.node_labels), dtype=np.int64)
    usage = np.zeros(len(rows.rhs))
    selected = np.zeros(n, dtype=np.bool_)
    indptr, indices, data, rhs = m.indptr, m.indices, m.data, rows.rhs
    for j in order.tolist():
        node = node_of[j]
        if node >= 0 and not on[node] and blocked[node]:
            continue
        lo, hi = indptr[j], indptr[j + 1]
        if hi > lo:
            touched = indices[lo:hi]
            after = usage[touched] + data[lo:hi]
            if np.any(after > rhs[touched]):
                continue
            usage[touched] = after
        selected[j] = True
        if node >= 0 and not on[node]:
            on[node] = True
            blocked[neighbours[node]] += 1
    return selected


def _neighbours(report: ConflictReport) -> list[IntArray]:
    k = len(report.node_labels)
    edges = report.node_edges
    if not len(edges):
        return [np.zeros(0, dtype=np.int64)] * k
    both = np.concatenate([edges, edges[:, ::-1]])
    both = both[np.argsort(both[:, 0], kind="stable")]
    starts = np.searchsorted(both[:, 0], np.arange(k + 1))
    return [both[starts[u] : starts[u + 1], 1] for u in range(k)]


def coordinate_bound(full: Full, deadline: float, sweeps: int = 50) -> tuple[float, FloatArray]:
    """The Lagrangian bound tightened by exact coordinate descent on the prices ``y``, one row
    at a time, in sweeps until ``deadline``: each step minimises the bound over one price (a
    weighted-median search over that row's breakpoints). Returns the bound and the prices."""
    m = full.matrix
    y = np.zeros(len(full.rhs))
    reduced = full.value.copy()
    upper = full.upper
    indptr, indices, data, rhs = m.indptr, m.indices, m.data, full.rhs
    best = lagrangian_bound(full, None)
    for _ in range(sweeps):
        for r in range(len(rhs)):
            lo, hi = indptr[r], indptr[r + 1]
            if hi == lo:
                continue
            cols, a = indices[lo:hi], data[lo:hi]
            base = reduced[cols] + a * y[r]
            weight = upper[cols] * a
            live = (base > 0) & (weight > 0)
            price = 0.0
            if live.any():
                points = base[live] / a[live]
                order = np.argsort(-points)
                k = int(np.searchsorted(np.cumsum(weight[live][order]), rhs[r], side="right"))
                price = 0.0 if k >= len(order) else float(points[order][k])
            if price != y[r]:
                reduced[cols] = base - a * price
                y[r] = price
        best = min(best, float(rhs @ y + (upper * np.maximum(reduced, 0.0)).sum()))
        if time.perf_counter() > deadline:
            break
    return best, y
