"""Next-best action targets of the brain issue.

    batch NBA, 1,000,000 customers x 50 candidates, one core     <= 10 s
    one customer's decision in-process                           p99 <= 2 ms
    peer: MABWiser's Thompson sampling, per-decision cost, in the same run

The population is synthetic and seeded: 10 segments, 5 channels, 10 offers, random consent
(70% per channel), cooldowns (5%), suppression (1%), offer rules (80% open), contacts so far
this week (Binomial(2, 0.2) per channel) against weekly caps of 2 per channel and 3 in all, a
budget and two
channel capacities that bind. The batch time covers the whole funnel: eligibility, contact
policy, Thompson-sampled arbitration, top-3 per customer, and the global volume constraints.

The peer decides with ``MAB(arms, LearningPolicy.ThompsonSampling())`` over the same 50 arms
(no eligibility, caps or volume constraints: MABWiser has none), fitted on 100,000 logged
decisions, predicting a batch of decisions and one decision at a time. It runs in its own
interpreter: ``--peer-python``, or ``MIOS_PEER_PYTHON_MABWISER``, or
``/work/peers/mabwiser/bin/python`` when it exists; otherwise the ratio is skipped.

    python bench/bench_nba.py
    python bench/bench_nba.py --customers 100000 --json
"""

from __future__ import annotations

import os

ONE_THREAD = dict.fromkeys(("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"), "1")
os.environ.update(ONE_THREAD)  # before NumPy loads its thread pools

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

DEFAULT_PEER = Path("/work/peers/mabwiser/bin/python")
BATCH_TARGET_S = 10.0
P99_TARGET_MS = 2.0

PEER_SCRIPT = r"""
import json, sys, time
import numpy as np
from mabwiser.mab import MAB, LearningPolicy

arms, decisions, singles = (int(x) for x in sys.argv[1:4])
rng = np.random.default_rng(0)
logged = rng.integers(0, arms, 100_000)
rewards = (rng.random(100_000) < 0.02).astype(int)
mab = MAB(list(range(arms)), LearningPolicy.ThompsonSampling(), seed=1)
mab.fit(logged, rewards)
started = time.perf_counter()
mab.predict(np.zeros((decisions, 1)))
batch = time.perf_counter() - started
laps = []
for _ in range(singles):
    t = time.perf_counter()
    mab.predict()
    laps.append(time.perf_counter() - t)
print(json.dumps({
    "batch_seconds": batch,
    "decisions": decisions,
    "single_p50_ms": float(np.percentile(laps, 50) * 1e3),
    "single_p99_ms": float(np.percentile(laps, 99) * 1e3),
}))
"""


def population(n: int, segments: int, rng: np.random.Generator) -> Any:
    from mios.brain.nba_inputs import Audience

    return Audience(
        segment=rng.integers(0, segments, n),
        consent=rng.random((n, 5)) < 0.7,
        cooldown=rng.random((n, 5)) < 0.05,
        suppressed=rng.random(n) < 0.01,
        offer_ok=rng.random((n, 10)) < 0.8,
        contacts=rng.binomial(2, 0.2, (n, 5)).astype(np.int16),
    )


def engine(candidates: int, segments: int, customers: int, seed: int) -> Any:
    from mios.brain.nba import NextBestAction
    from mios.brain.nba_inputs import Candidate, Limits

    rng = np.random.default_rng(seed)
    channels = ("email", "sms", "push", "paid_social", "display")
    offers = tuple(f"offer-{o}" for o in range(10))
    cands = [
        Candidate(
            f"c{c}",
            channels[c % 5],
            offers[(c // 5) % 10],
            angle=f"angle-{c % 3}",
            value=float(rng.uniform(20, 200)),
            cost=float(rng.choice([0.0009, 0.0125, 0.0, 0.012, 0.0034])),
            weight=float(rng.uniform(0.8, 1.2)),
        )
        for c in range(candidates)
    ]
    limits = Limits(
        channels,
        channel_caps=dict.fromkeys(channels, 2),
        total_cap=3,
        budget=0.002 * customers,
        capacity={"email": customers // 10, "sms": customers // 25},
    )
    alpha = rng.uniform(1, 60, (segments, candidates))
    beta = rng.uniform(500, 8000, (segments, candidates))
    return NextBestAction(seed=seed).fit(cands, limits, offers, alpha, beta)


def measure(customers: int, candidates: int, repeat: int, singles: int) -> dict[str, Any]:
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    segments = 10
    rng = np.random.default_rng(1)
    audience = population(customers, segments, rng)
    nba = engine(candidates, segments, customers, seed=2)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        decision = nba.decide(audience)
        times.append(time.perf_counter() - started)
    laps = []
    assert audience.cooldown is not None
    assert audience.offer_ok is not None
    assert audience.contacts is not None
    picks = rng.integers(0, customers, singles)
    for i in picks.tolist():
        started = time.perf_counter()
        nba.decide_one(
            int(audience.segment[i]),
            audience.consent[i],
            cooldown=audience.cooldown[i],
            offer_ok=audience.offer_ok[i],
            contacts=audience.contacts[i],
            key=i,
        )
        laps.append(time.perf_counter() - started)
    return {
        "customers": customers,
        "candidates": candidates,
        "batch_seconds_best": min(times),
        "batch_seconds_all": times,
        "per_decision_us": min(times) / customers * 1e6,
        "chosen": decision.funnel["chosen"],
        "funnel": decision.funnel,
        "single_p50_ms": float(np.percentile(laps, 50) * 1e3),
        "single_p99_ms": float(np.percentile(laps, 99) * 1e3),
        "singles": singles,
    }


def peer_python(flag: str | None) -> str | None:
    chosen = flag or os.environ.get("MIOS_PEER_PYTHON_MABWISER")
    if chosen:
        return chosen
    return str(DEFAULT_PEER) if DEFAULT_PEER.exists() else None


def run_peer(python: str, arms: int, decisions: int, singles: int) -> dict[str, Any] | None:
    command = [python, "-c", PEER_SCRIPT, str(arms), str(decisions), str(singles)]
    pin = ["taskset", "-c", str(sorted(os.sched_getaffinity(0))[0])]
    try:
        done = subprocess.run(
            pin + command,
            env={**os.environ, **ONE_THREAD},
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        done = subprocess.run(
            command, env={**os.environ, **ONE_THREAD}, capture_output=True, text=True, check=False
        )
    if done.returncode != 0:
        print(f"peer failed: {done.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    return dict(json.loads(done.stdout))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--candidates", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--singles", type=int, default=20_000)
    parser.add_argument("--peer-decisions", type=int, default=100_000)
    parser.add_argument("--peer-python", default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    ours = measure(args.customers, args.candidates, args.repeat, args.singles)
    python = peer_python(args.peer_python)
    peer = (
        None
        if python is None
        else run_peer(python, args.candidates, args.peer_decisions, min(args.singles, 5000))
    )
    result: dict[str, Any] = {"mios": ours, "peer": peer}
    if peer is not None:
        peer_us = peer["batch_seconds"] / peer["decisions"] * 1e6
        result["peer_per_decision_us"] = peer_us
        result["ratio_batch_per_decision"] = peer_us / ours["per_decision_us"]
        result["ratio_single_p50"] = peer["single_p50_ms"] / ours["single_p50_ms"]
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"batch NBA, {ours['customers']:,} customers x {ours['candidates']} candidates, one "
        f"core: {ours['batch_seconds_best']:.2f} s best of {args.repeat} "
        f"(target <= {BATCH_TARGET_S:.0f} s; {ours['per_decision_us']:.2f} us per decision; "
        f"{ours['chosen']:,} actions chosen)"
    )
    print(
        f"one customer in-process: p50 {ours['single_p50_ms'] * 1e3:.1f} us, "
        f"p99 {ours['single_p99_ms'] * 1e3:.1f} us over {ours['singles']:,} decisions "
        f"(target p99 <= {P99_TARGET_MS:.0f} ms)"
    )
    if peer is None:
        print("peer not installed (MABWiser): ratio skipped")
        return
    print(
        f"MABWiser 2.x ThompsonSampling, {args.candidates} arms: "
        f"{result['peer_per_decision_us']:.2f} us per decision in a batch of "
        f"{peer['decisions']:,}; one predict() p50 {peer['single_p50_ms'] * 1e3:.1f} us, "
        f"p99 {peer['single_p99_ms'] * 1e3:.1f} us"
    )
    print(
        f"ratio (MABWiser / mios): {result['ratio_batch_per_decision']:.1f}x per decision in "
        f"batch, {result['ratio_single_p50']:.1f}x per single decision (p50)"
    )


if __name__ == "__main__":
    main()
