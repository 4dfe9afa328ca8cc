"""Next-best action per customer, after Pega Customer Decision Hub, over a whole population.

The funnel, for every customer at once (arrays, in chunks; no loop per customer):

1. **Eligibility**: a candidate is open to a customer who is not suppressed, has consent for its
   channel, is not in a cooldown on it, and passes its offer's rules.
2. **Contact policy**: a candidate is closed when the customer has had ``channel_caps[channel]``
   contacts on its channel, or ``total_cap`` on all channels, this period.
3. **Arbitration**: ``score = P(response) x value x value_multiplier x weight x lever - cost``
   (expected value of the contact net of its cost). ``P(response)`` is a draw from the cell's
   Beta posterior (Thompson sampling, ``exploration="thompson"``) or its mean
   (``exploration="mean"``). Only scores above ``min_score`` qualify; each customer keeps its
   ``1 + fallbacks`` best.
4. **Volume constraints**: the budget and channel capacities, applied globally, highest scores
   first; a customer cut by one falls back to its next option (``nba_volume``).

Thompson sampling, fast: at ``fit``, ``bank_size`` joint draws of every (segment, candidate)
posterior are made once; each customer takes the bank row picked by a seeded hash of its key.
So each customer's scores are a genuine joint draw from the posterior, draws are independent
across candidates, and the batch and the one-customer path see the same draw for the same
customer. Customers of one segment whose keys hash to the same row share a draw; with the
default 2,048 rows that is invisible at the scale of a campaign. ``update`` adds outcomes to the
posteriors and redraws only the bank entries of the cells they touched.

Shapes: S segments, C candidates, H channels, O offers; ``alpha``/``beta`` are ``(S, C)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from mios.brain.nba_inputs import Audience, Candidate, Limits, candidate_matrix
from mios.brain.nba_volume import ScoreArray, assign
from mios.errors import ModelInputError, NotFittedError
from mios.types import BoolArray, FloatArray, IntArray

Exploration = Literal["thompson", "mean"]
FUNNEL = (
    "customers",
    "suppressed",
    "no_consent",
    "cooldown",
    "offer_rules",
    "contact_caps",
    "no_positive_score",
    "capacity",
    "budget",
    "chosen",
)
_NONE = np.float32(-np.inf)
_SALT_STREAM = 11


@dataclass(frozen=True, eq=False)
class NbaDecision:
    """The batch result. ``action[i]``: candidate index for customer ``i``, or -1; ``score``:
    its arbitration score (NaN without one); ``rank``: 0 for the customer's best option, 1+ when
    a volume constraint pushed it to a fallback. ``funnel``: customers left without an action at
    each stage (the first stage that emptied their options), plus ``customers`` and
    ``chosen``. ``budget_bound``: the budget turned some option down (the customer may still
    have got a cheaper fallback, so ``funnel["budget"]`` can be 0 while the budget binds)."""

    action: IntArray
    score: FloatArray
    rank: IntArray
    funnel: dict[str, int]
    per_candidate: IntArray  # (C,) customers given each candidate
    spent: float
    channel_used: IntArray  # (H,) actions per channel
    budget_bound: bool = False


@dataclass(frozen=True)
class Choice:
    """One customer's decision: ``candidate`` index (-1: none) and its score."""

    candidate: int
    score: float


class NextBestAction:
    """Next-best action engine. ``fit(candidates, limits, offers, alpha, beta)`` stores the
    candidates and posteriors and draws the exploration bank; ``decide`` runs the funnel over an
    ``Audience``; ``decide_one`` decides for one customer; ``update`` learns from outcomes."""

    def __init__(
        self,
        exploration: Exploration = "thompson",
        bank_size: int = 2048,
        fallbacks: int = 2,
        min_score: float = 0.0,
        chunk_size: int = 65_536,
        seed: int = 0,
    ) -> None:
        self.exploration = exploration
        self.bank_size = bank_size
        self.fallbacks = fallbacks
        self.min_score = min_score
        self.chunk_size = chunk_size
        self.seed = seed

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {
            "exploration": self.exploration,
            "bank_size": self.bank_size,
            "fallbacks": self.fallbacks,
            "min_score": self.min_score,
            "chunk_size": self.chunk_size,
            "seed": self.seed,
        }

    def set_params(self, **params: Any) -> NextBestAction:
        for name, value in params.items():
            if name not in self.get_params():
                raise ModelInputError(f"NextBestAction has no parameter {name!r}")
            setattr(self, name, value)
        return self

    # -- fitting --------------------------------------------------------------------------------

    def fit(
        self,
        candidates: tuple[Candidate, ...] | list[Candidate],
        limits: Limits,
        offers: tuple[str, ...],
        alpha: Any,
        beta: Any,
        values: Any | None = None,
    ) -> NextBestAction:
        """``alpha``/``beta``: (S, C) Beta posteriors of each segment's response to each
        candidate; ``values``: optional (S, C) value per response (default: each candidate's
        ``value``). Returns ``self``."""
        self._check_params()
        cands = tuple(candidates)
        channel, offer = candidate_matrix(cands, limits.channels, offers)
        a = np.asarray(alpha, dtype=np.float64)
        b = np.asarray(beta, dtype=np.float64)
        if a.ndim != 2 or a.shape[1] != len(cands) or a.shape != b.shape:
            raise ModelInputError(
                f"alpha and beta must both be (segments, {len(cands)}); got {a.shape}, {b.shape}"
            )
        if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))) or a.min() <= 0 or b.min() <= 0:
            raise ModelInputError("alpha and beta must be finite and > 0")
        per_response = np.broadcast_to(
            np.asarray([c.value for c in cands]) if values is None else np.asarray(values, float),
            a.shape,
        )
        if not np.all(np.isfinite(per_response)) or per_response.min() < 0:
            raise ModelInputError("values must be finite and >= 0")
        self.candidates_ = cands
        self.limits_ = limits
        self.offers_ = tuple(offers)
        self.cand_channel_ = channel
        self.cand_offer_ = offer
        self.alpha_ = a.copy()
        self.beta_ = b.copy()
        self.values_ = np.array(per_response, dtype=np.float64)
        weight = np.asarray([c.weight * c.lever for c in cands], dtype=np.float64)
        self._gain = (self.values_ * weight[None, :]).astype(np.float32)  # (S, C)
        self.cost_ = np.asarray([c.cost for c in cands], dtype=np.float64)
        self._cost32 = self.cost_.astype(np.float32)
        self._caps = limits.cap_array()
        self._total_cap = np.iinfo(np.int64).max if limits.total_cap is None else limits.total_cap
        # (H, O): which (channel, offer) pairs some candidate offers, for the funnel counts.
        pairs = np.zeros((len(limits.channels), len(offers)), dtype=np.float32)
        pairs[channel, offer] = 1.0
        self._pairs = pairs
        self._used_channels = np.unique(channel)
        self._rng = np.random.default_rng([self.seed, _SALT_STREAM])
        self._salt = np.uint64(self._rng.integers(0, 2**63, dtype=np.uint64))
        self._draw_bank()
        return self

    def update(self, segment: Any, candidate: Any, trials: Any, successes: Any) -> NextBestAction:
        """Add outcomes: ``trials`` contacts and ``successes`` responses per (segment,
        candidate) row. Redraws the bank entries of the cells touched. Returns ``self``."""
        self._fitted()
        s = np.atleast_1d(np.asarray(segment, dtype=np.int64))
        c = np.atleast_1d(np.asarray(candidate, dtype=np.int64))
        n = np.atleast_1d(np.asarray(trials, dtype=np.float64))
        y = np.atleast_1d(np.asarray(successes, dtype=np.float64))
        s, c, n, y = np.broadcast_arrays(s, c, n, y)
        segments, count = self.alpha_.shape
        if len(s) and (s.min() < 0 or s.max() >= segments or c.min() < 0 or c.max() >= count):
            raise ModelInputError("update names a segment or candidate outside the posteriors")
        if np.any(~np.isfinite(n) | ~np.isfinite(y)) or np.any((y < 0) | (y > n)):
            raise ModelInputError("update needs 0 <= successes <= trials, all finite")
        np.add.at(self.alpha_, (s, c), y)
        np.add.at(self.beta_, (s, c), n - y)
        if self.exploration == "thompson":
            touched = np.unique(np.stack([s, c], axis=1), axis=0)
            ts, tc = touched[:, 0], touched[:, 1]
            draws = self._rng.beta(
                self.alpha_[ts, tc][:, None],
                self.beta_[ts, tc][:, None],
                size=(len(ts), self.bank_size),
            )
            self._bank[ts, :, tc] = (draws * self._gain[ts, tc][:, None]).astype(np.float32)
        else:
            self._draw_bank()
        return self

    # -- deciding -------------------------------------------------------------------------------

    def decide(self, audience: Audience) -> NbaDecision:
        """Run the funnel over every customer of ``audience``; see the module docstring."""
        self._fitted()
        segments, count = self.alpha_.shape
        channels = len(self.limits_.channels)
        audience.check(segments, channels, len(self.offers_))
        n = len(audience)
        k = 1 + self.fallbacks
        options = np.full((n, k), -1, dtype=np.int64)
        scores = np.full((n, k), _NONE, dtype=np.float32)
        funnel = dict.fromkeys(FUNNEL, 0)
        funnel["customers"] = n
        for start in range(0, n, self.chunk_size):
            rows = slice(start, min(start + self.chunk_size, n))
            o, sc = self._chunk(audience, rows, start, funnel)
            options[rows], scores[rows] = o, sc
        done = assign(
            options,
            scores,
            self.cand_channel_,
            self.cost_,
            self.limits_.capacity_array(),
            self.limits_.budget,
        )
        funnel["capacity"] = int(np.count_nonzero(done.cut_capacity))
        funnel["budget"] = int(np.count_nonzero(done.cut_budget))
        chosen = done.action >= 0
        funnel["chosen"] = int(np.count_nonzero(chosen))
        score = np.full(n, np.nan, dtype=np.float64)
        score[chosen] = scores[np.flatnonzero(chosen), done.rank[chosen]]
        return NbaDecision(
            action=done.action,
            score=score,
            rank=done.rank,
            funnel=funnel,
            per_candidate=np.bincount(done.action[chosen], minlength=count).astype(np.int64),
            spent=done.spent,
            channel_used=done.used,
            budget_bound=done.budget_bound,
        )

    def decide_one(
        self,
        segment: int,
        consent: Any,
        *,
        cooldown: Any | None = None,
        suppressed: bool = False,
        offer_ok: Any | None = None,
        contacts: Any | None = None,
        total_contacts: int | None = None,
        value_multiplier: float = 1.0,
        key: int = 0,
        channel_room: Any | None = None,
        budget_left: float | None = None,
    ) -> Choice:
        """One customer's next-best action, for a real-time API. The same funnel as ``decide``
        for that customer; volume constraints are the caller's ``channel_room`` (H,) and
        ``budget_left`` (what is left of capacity and budget), since one decision cannot see
        everyone else's. Equals the batch decision when volume constraints do not bind."""
        self._fitted()
        segments = self.alpha_.shape[0]
        channels = len(self.limits_.channels)
        if not 0 <= segment < segments:
            # A negative index would silently read another segment's posteriors.
            raise ModelInputError.at(
                f"must be in 0..{segments - 1}, got {segment}", field="segment"
            )
        if not (np.isfinite(value_multiplier) and value_multiplier >= 0):
            raise ModelInputError.at(
                f"must be a finite number >= 0, got {value_multiplier}", field="value_multiplier"
            )
        for name, given, size in (
            ("consent", consent, channels),
            ("cooldown", cooldown, channels),
            ("contacts", contacts, channels),
            ("channel_room", channel_room, channels),
            ("offer_ok", offer_ok, len(self.offers_)),
        ):
            if given is not None and np.shape(given) != (size,):
                raise ModelInputError.at(
                    f"expected shape ({size},), got {np.shape(given)}", field=name
                )
        if suppressed:
            return Choice(-1, float("nan"))
        open_channel = np.asarray(consent, dtype=np.bool_)
        if cooldown is not None:
            open_channel = open_channel & ~np.asarray(cooldown, dtype=np.bool_)
        if contacts is not None:
            used = np.asarray(contacts, dtype=np.int64)
            total = int(used.sum()) if total_contacts is None else total_contacts
            open_channel = open_channel & (used < self._caps)
            if total >= self._total_cap:
                return Choice(-1, float("nan"))
        elif total_contacts is not None and total_contacts >= self._total_cap:
            return Choice(-1, float("nan"))
        if channel_room is not None:
            open_channel = open_channel & (np.asarray(channel_room) > 0)
        ok = open_channel[self.cand_channel_]
        if offer_ok is not None:
            ok &= np.asarray(offer_ok, dtype=np.bool_)[self.cand_offer_]
        if budget_left is not None:
            ok &= self.cost_ <= budget_left
        row = int(_bank_rows(np.asarray([key], dtype=np.uint64), self._salt, self._rows)[0])
        gain = self._bank[segment, row]
        if value_multiplier != 1.0:
            gain = gain * np.float32(value_multiplier)
        score = np.where(ok, gain - self._cost32, _NONE)
        best = int(np.argmax(score))
        value = float(score[best])
        if not value > self.min_score:
            return Choice(-1, float("nan"))
        return Choice(best, value)

    # -- internals ------------------------------------------------------------------------------

    def _check_params(self) -> None:
        if self.exploration not in ("thompson", "mean"):
            raise ModelInputError(
                f"exploration must be 'thompson' or 'mean', got {self.exploration!r}"
            )
        if self.bank_size < 1 or self.chunk_size < 1 or self.fallbacks < 0:
            raise ModelInputError("need bank_size >= 1, chunk_size >= 1 and fallbacks >= 0")
        if not np.isfinite(self.min_score):
            raise ModelInputError("min_score must be finite")

    def _fitted(self) -> None:
        if not hasattr(self, "_bank"):
            raise NotFittedError("this NextBestAction is not fitted yet; call fit() first")

    @property
    def _rows(self) -> int:
        return int(self._bank.shape[1])

    def _draw_bank(self) -> None:
        """(S, B, C) float32 of P(response) draws x value x weight x lever."""
        if self.exploration == "mean":
            p = self.alpha_ / (self.alpha_ + self.beta_)
            self._bank = (p * self._gain)[:, None, :].astype(np.float32)
            return
        segments, count = self.alpha_.shape
        draws = self._rng.beta(
            self.alpha_[:, None, :],
            self.beta_[:, None, :],
            size=(segments, self.bank_size, count),
        )
        self._bank = (draws * self._gain[:, None, :]).astype(np.float32)

    def _chunk(
        self, audience: Audience, rows: slice, start: int, funnel: dict[str, int]
    ) -> tuple[IntArray, ScoreArray]:
        m = rows.stop - rows.start
        segment = audience.segment[rows]
        keys = (
            np.arange(start, start + m, dtype=np.uint64)
            if audience.keys is None
            else audience.keys[rows].astype(np.uint64)
        )
        gain = self._bank[segment, _bank_rows(keys, self._salt, self._rows)]  # (m, C)
        if audience.value_multiplier is not None:
            gain *= audience.value_multiplier[rows, None].astype(np.float32)
        score = gain - self._cost32

        consent = audience.consent[rows]
        suppressed = (
            np.zeros(m, dtype=np.bool_)
            if audience.suppressed is None
            else audience.suppressed[rows]
        )
        open_channel = consent & ~suppressed[:, None]
        used = self._used_channels
        any_consent = open_channel[:, used].any(axis=1)
        if audience.cooldown is not None:
            open_channel &= ~audience.cooldown[rows]
        any_open = open_channel[:, used].any(axis=1)
        offer_ok = (
            np.ones((m, len(self.offers_)), dtype=np.bool_)
            if audience.offer_ok is None
            else audience.offer_ok[rows]
        )
        # Some candidate pairs an open channel with an allowed offer: (m,H) @ (H,O) & (m,O).
        reachable = ((open_channel.astype(np.float32) @ self._pairs) > 0) & offer_ok
        any_eligible = reachable.any(axis=1)

        room = self._room(audience, rows, m)
        open_channel &= room
        ok = open_channel[:, self.cand_channel_] & offer_ok[:, self.cand_offer_]
        ok &= score > np.float32(self.min_score)
        np.copyto(score, _NONE, where=~ok)

        k = 1 + self.fallbacks
        options = np.full((m, k), -1, dtype=np.int64)
        best = np.full((m, k), _NONE, dtype=np.float32)
        everyone = np.arange(m)
        for j in range(min(k, score.shape[1])):
            top = np.argmax(score, axis=1)
            value = score[everyone, top]
            has = value > _NONE
            options[has, j] = top[has]
            best[:, j] = value
            if j + 1 < k:
                score[everyone, top] = _NONE
        any_ok = options[:, 0] >= 0
        after_caps = (open_channel.astype(np.float32) @ self._pairs) > 0
        any_capped_ok = (after_caps & offer_ok).any(axis=1)

        funnel["suppressed"] += int(np.count_nonzero(suppressed))
        funnel["no_consent"] += int(np.count_nonzero(~suppressed & ~any_consent))
        funnel["cooldown"] += int(np.count_nonzero(any_consent & ~any_open))
        funnel["offer_rules"] += int(np.count_nonzero(any_open & ~any_eligible))
        funnel["contact_caps"] += int(np.count_nonzero(any_eligible & ~any_capped_ok))
        funnel["no_positive_score"] += int(np.count_nonzero(any_capped_ok & ~any_ok))
        return options, best

    def _room(self, audience: Audience, rows: slice, m: int) -> BoolArray:
        """(m, H): the customer may still be contacted on the channel this period."""
        channels = len(self.limits_.channels)
        if audience.contacts is None:
            room = np.ones((m, channels), dtype=np.bool_)
            total = (
                np.zeros(m, dtype=np.int64)
                if audience.total_contacts is None
                else audience.total_contacts[rows]
            )
        else:
            contacts = audience.contacts[rows]
            room = contacts < self._caps[None, :]
            total = (
                contacts.sum(axis=1)
                if audience.total_contacts is None
                else audience.total_contacts[rows]
            )
        room &= (total < self._total_cap)[:, None]
        return room


def _bank_rows(keys: Any, salt: np.uint64, rows: int) -> IntArray:
    """A row of the exploration bank per key: splitmix64 of (key xor salt), modulo ``rows``."""
    x = keys.astype(np.uint64) ^ salt
    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    return np.asarray(x % np.uint64(rows), dtype=np.int64)
