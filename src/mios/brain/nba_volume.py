"""Volume constraints: a total budget and a capacity per channel, applied to everyone at once.

Every customer arrives with up to K options (candidate, score), best first. In each round, every
customer still without an action offers its best remaining option whose channel has room and
whose cost fits what is left of the budget; those options are taken highest score first while
the channel has room and the budget lasts (an option that does not fit is skipped, and cheaper
ones after it may still fit: the budget is used greedily, never overdrawn). A customer whose
option was cut moves on to its next option in the next round. Nothing loops per customer: a
round is a sort and a few cumulative sums, repeated at most once per distinct cost.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mios.types import BoolArray, FloatArray, IntArray

ScoreArray = npt.NDArray[np.float32]


@dataclass(frozen=True, eq=False)
class Assignment:
    """``action[i]``: the chosen candidate of customer ``i`` or -1; ``rank[i]``: which of its
    options (0 = its best); ``cut_capacity`` / ``cut_budget``: customers left without an action
    because the channels of their options were full / their options no longer fit the budget.
    ``budget_bound``: the budget turned some option down, even when its customer then got a
    cheaper fallback (so it bound without leaving anyone out)."""

    action: IntArray
    rank: IntArray
    cut_capacity: BoolArray
    cut_budget: BoolArray
    spent: float
    used: IntArray  # (H,) actions taken per channel
    budget_bound: bool = False


def assign(
    options: IntArray,
    scores: ScoreArray,
    cand_channel: IntArray,
    cost: FloatArray,
    capacity: IntArray,
    budget: float | None,
) -> Assignment:
    """``options``/``scores``: (n, K), best first, -1 where a customer has no more options."""
    n, k = options.shape
    action = np.full(n, -1, dtype=np.int64)
    rank = np.full(n, -1, dtype=np.int64)
    hit_capacity = np.zeros(n, dtype=np.bool_)
    hit_budget = np.zeros(n, dtype=np.bool_)
    room = capacity.astype(np.int64).copy()
    left = np.inf if budget is None else float(budget)
    pointer = np.zeros(n, dtype=np.int64)
    has = options >= 0
    for _ in range(k):
        # Each customer's first option at or after its pointer that can still be taken.
        column = np.arange(k)[None, :]
        channel_of = cand_channel[np.maximum(options, 0)]
        full = room[channel_of] <= 0
        too_dear = cost[np.maximum(options, 0)] > left
        usable = has & (column >= pointer[:, None]) & (action < 0)[:, None]
        hit_capacity |= np.any(usable & full, axis=1)
        hit_budget |= np.any(usable & ~full & too_dear, axis=1)
        usable &= ~full & ~too_dear
        waiting = np.flatnonzero(usable.any(axis=1))
        if not len(waiting):
            break
        pick = np.argmax(usable[waiting], axis=1)
        chosen = options[waiting, pick]
        taken, left = _greedy(
            scores[waiting, pick], chosen, cand_channel, cost, room, left, hit_capacity, waiting
        )
        winners = waiting[taken]
        action[winners] = chosen[taken]
        rank[winners] = pick[taken]
        losers = waiting[~taken]
        hit_budget[losers] |= ~hit_capacity[losers]
        pointer[waiting] = pick + 1
    spent = float(np.sum(cost[action[action >= 0]]))
    used = capacity.astype(np.int64) - room
    unserved = (action < 0) & has.any(axis=1)
    cut_capacity = unserved & hit_capacity
    return Assignment(
        action,
        rank,
        cut_capacity,
        unserved & ~cut_capacity & hit_budget,
        spent,
        used,
        bool(hit_budget.any()),
    )


def _greedy(
    score: ScoreArray,
    candidate: IntArray,
    cand_channel: IntArray,
    cost: FloatArray,
    room: IntArray,
    left: float,
    hit_capacity: BoolArray,
    who: IntArray,
) -> tuple[BoolArray, float]:
    """Take items highest score first while their channel has room and the budget lasts.
    Updates ``room`` in place, marks in ``hit_capacity`` the customers cut by a full channel,
    and returns (taken mask, budget left)."""
    m = len(score)
    order = np.lexsort((who, -score.astype(np.float64)))  # ties: lower customer row first
    channel = cand_channel[candidate[order]]
    price = cost[candidate[order]].astype(np.float64)
    taken = np.zeros(m, dtype=np.bool_)
    pending = np.ones(m, dtype=np.bool_)
    while pending.any():
        idx = np.flatnonzero(pending)
        ch = channel[idx]
        within = _rank_within(ch, len(room)) < room[ch]
        spend = np.cumsum(np.where(within, price[idx], 0.0))
        fits = spend <= left
        breach = np.flatnonzero(within & ~fits)
        stop = int(breach[0]) if len(breach) else len(idx)
        head = np.arange(len(idx)) < stop
        accept = idx[head & within]
        taken[accept] = True
        hit_capacity[who[order[idx[head & ~within]]]] = True
        pending[idx[head]] = False
        np.subtract.at(room, ch[head & within], 1)
        left -= float(spend[stop - 1]) if stop else 0.0
        if stop < len(idx):
            pending[idx[stop]] = False  # the option that broke the budget
            # Options dearer than what is left can never fit now.
            pending &= price <= left
    out = np.zeros(m, dtype=np.bool_)
    out[order] = taken
    return out, left


def _rank_within(channel: IntArray, channels: int) -> IntArray:
    """Position of each item among the items of its channel, in the given order."""
    rank = np.empty(len(channel), dtype=np.int64)
    for h in range(channels):
        where = np.flatnonzero(channel == h)
        rank[where] = np.arange(len(where))
    return rank
