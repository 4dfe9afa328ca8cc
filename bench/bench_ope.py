"""Off-policy evaluation target of the brain issue.

    IPW, SNIPW and DR equal to Open Bandit Pipeline's (obp 0.5.7) on the same logged data and
    the same evaluation action distribution, within 1e-6                target: max |diff| <= 1e-6

Data: obp's bundled small Open Bandit Dataset sample (ZOZOTOWN, uniform-random logging policy,
campaign "all": 10,000 rounds, 80 actions, 3 positions). Three evaluation distributions:

- ``bts``: obp's ``BernoulliTS`` with the ZOZOTOWN production prior (``random_state=12345``,
  100,000 Monte Carlo decisions), the quick-start of obp's README, whose IPW estimate is
  1.198126 times the logged mean reward;
- ``uniform``: 1/80 everywhere;
- ``synthetic``: a different distribution for every round (a softmax of a deterministic formula)
  with a deterministic reward model ``q`` for DR, and the same with weights clipped at 3 and with
  no positions.

The peer runs in its own interpreter (``--peer-python``, or ``MIOS_PEER_PYTHON_OBP``, or
``/work/peers/obp/bin/python``); without it the figures are compared against the obp outputs
stored in ``tests/data/ope/obp_expected.json``. Also printed: mios's own Thompson sampling with
the same prior (``ThompsonPolicy(learn=False)``) and its IPW ratio, and timings of both.

    python bench/bench_ope.py
    python bench/bench_ope.py --write-reference   # rewrite tests/data/ope/* (needs the peer)
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from mios.brain.ope import dr, ipw, snipw
from mios.brain.ope_policies import Rounds, ThompsonPolicy

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "tests" / "data" / "ope"
LOGGED_CSV = DATA / "obd_random_all.csv"
EXPECTED_JSON = DATA / "obp_expected.json"
DEFAULT_PEER = Path("/work/peers/obp/bin/python")
TARGET = 1e-6
QUICKSTART_RATIO = 1.198126
REFERENCE_COMMAND = "python bench/bench_ope.py --write-reference  (obp 0.5.7 in the peer venv)"

# The synthetic distribution and reward model: formulas both sides evaluate the same way.
SYNTHETIC = """
def synthetic(rows, actions, positions):
    i = np.arange(rows)[:, None, None]
    a = np.arange(actions)[None, :, None]
    k = np.arange(positions)[None, None, :]
    logits = 2.0 * np.sin(0.7 * i + 1.3 * a + 0.5 * k)
    dist = np.exp(logits)
    dist = dist / dist.sum(axis=1, keepdims=True)
    q = 0.004 * (1.0 + np.sin(0.3 * i + 0.11 * a * (k + 1))) + 0.001 * k
    return dist, q
"""

PEER = (
    """
import json, sys, time
import numpy as np
import pandas as pd
from obp.dataset import OpenBanditDataset
from obp.policy import BernoulliTS
from obp.ope import (
    DoublyRobust, InverseProbabilityWeighting, SelfNormalizedInverseProbabilityWeighting,
)
"""
    + SYNTHETIC
    + """
def best(fn, repeat=20):
    times = []
    for _ in range(repeat):
        start = time.perf_counter(); value = fn(); times.append(time.perf_counter() - start)
    return float(value), min(times)

dataset = OpenBanditDataset(behavior_policy="random", campaign="all")
feedback = dataset.obtain_batch_bandit_feedback()
n, actions, positions = feedback["n_rounds"], dataset.n_actions, dataset.len_list
policy = BernoulliTS(
    n_actions=actions, len_list=positions, is_zozotown_prior=True, campaign="all",
    random_state=12345,
)
start = time.perf_counter()
bts = policy.compute_batch_action_dist(n_sim=100000, n_rounds=n)
ts_seconds = time.perf_counter() - start
dist, q = synthetic(n, actions, positions)
uniform = np.full((n, actions, positions), 1.0 / actions)
reward, action, pscore, position = (
    feedback["reward"], feedback["action"], feedback["pscore"], feedback["position"]
)
cases = {
    "bts": dict(action_dist=bts, q=q, position=position, clip=np.inf),
    "uniform": dict(action_dist=uniform, q=q, position=position, clip=np.inf),
    "synthetic": dict(action_dist=dist, q=q, position=position, clip=np.inf),
    "synthetic_clip3": dict(action_dist=dist, q=q, position=position, clip=3.0),
    "synthetic_no_position": dict(
        action_dist=dist[:, :, :1], q=q[:, :, :1], position=None, clip=np.inf
    ),
}
out = {"cases": {}, "timings": {}}
for name, case in cases.items():
    args = dict(reward=reward, action=action, pscore=pscore, action_dist=case["action_dist"],
                position=case["position"])
    est_ipw, t_ipw = best(lambda: InverseProbabilityWeighting(lambda_=case["clip"])
                          .estimate_policy_value(**args))
    est_snipw, t_snipw = best(lambda: SelfNormalizedInverseProbabilityWeighting()
                              .estimate_policy_value(**args))
    est_dr, t_dr = best(lambda: DoublyRobust(lambda_=case["clip"]).estimate_policy_value(
        estimated_rewards_by_reg_model=case["q"], **args))
    clip = None if np.isinf(case["clip"]) else case["clip"]
    out["cases"][name] = {"ipw": est_ipw, "snipw": est_snipw, "dr": est_dr, "clip": clip}
    out["timings"][name] = {"ipw": t_ipw, "snipw": t_snipw, "dr": t_dr}
data = dataset.data
out["logged"] = {
    "action": action.tolist(), "position": position.tolist(), "reward": reward.tolist(),
    "pscore": pscore.tolist(),
    "features": [pd.factorize(data[f"user_feature_{j}"], sort=True)[0].tolist()
                 for j in range(4)],
}
out["bts_action_dist"] = bts[0].tolist()
out["bts_prior"] = {
    "alpha": np.asarray(policy.alpha).tolist(), "beta": np.asarray(policy.beta).tolist(),
}
out["bts_seconds"] = ts_seconds
out["quickstart_ratio"] = out["cases"]["bts"]["ipw"] / reward.mean()
json.dump(out, sys.stdout)
"""
)


def synthetic(rows: int, actions: int, positions: int) -> tuple[np.ndarray, np.ndarray]:
    scope: dict[str, Any] = {"np": np}
    exec(SYNTHETIC, scope)  # the very text the peer runs
    built: tuple[np.ndarray, np.ndarray] = scope["synthetic"](rows, actions, positions)
    return built


def peer_python(given: str | None) -> Path | None:
    found = given or os.environ.get("MIOS_PEER_PYTHON_OBP")
    if found:
        return Path(found)
    return DEFAULT_PEER if DEFAULT_PEER.exists() else None


def run_peer(python: Path) -> dict[str, Any]:
    done = subprocess.run(
        [str(python), "-c", PEER], capture_output=True, text=True, check=False, timeout=600
    )
    if done.returncode != 0:
        sys.exit(f"the obp peer failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def load_logged() -> dict[str, np.ndarray]:
    with open(LOGGED_CSV, newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {
        "action": np.array([int(r["action"]) for r in rows]),
        "position": np.array([int(r["position"]) - 1 for r in rows]),
        "reward": np.array([float(r["reward"]) for r in rows]),
        "pscore": np.array([float(r["propensity"]) for r in rows]),
    }


def write_reference(peer: dict[str, Any]) -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    logged = peer["logged"]
    with open(LOGGED_CSV, "w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["action", "position", "reward", "propensity", "u0", "u1", "u2", "u3"])
        for i, action in enumerate(logged["action"]):
            features = [logged["features"][j][i] for j in range(4)]
            writer.writerow(
                [
                    action,
                    logged["position"][i] + 1,
                    int(logged["reward"][i]),
                    logged["pscore"][i],
                    *features,
                ]
            )
    expected = {
        "command": REFERENCE_COMMAND,
        "peer": "obp 0.5.7 (Open Bandit Pipeline), numpy 1.26, pandas 1.5.3, Python 3.11",
        "data": "tests/data/ope/obd_random_all.csv (obp's obd/random/all sample, sorted by time)",
        "cases": peer["cases"],
        "bts_action_dist": peer["bts_action_dist"],
        "bts_prior": peer["bts_prior"],
        "quickstart_ratio": peer["quickstart_ratio"],
    }
    EXPECTED_JSON.write_text(json.dumps(expected, indent=1) + "\n")
    print(f"wrote {LOGGED_CSV} and {EXPECTED_JSON}")


def best_of(fn: Callable[[], object], repeat: int = 20) -> tuple[Any, float]:
    times = []
    value: Any = None
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return value, min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peer-python", help="the interpreter with obp 0.5.7 installed")
    parser.add_argument("--write-reference", action="store_true")
    args = parser.parse_args()
    python = peer_python(args.peer_python)
    peer = run_peer(python) if python and python.exists() else None
    if args.write_reference:
        if peer is None:
            sys.exit("--write-reference needs the obp peer")
        write_reference(peer)
    reference = peer if peer is not None else json.loads(EXPECTED_JSON.read_text())
    logged = load_logged()
    if peer is not None:
        for key in ("action", "position", "reward", "pscore"):
            same = np.array_equal(np.asarray(peer["logged"][key]), logged[key])
            assert same, f"the vendored {key} differs from obp's"
    print(f"peer: {'obp 0.5.7 at ' + str(python) if peer else 'not installed (stored outputs)'}")
    worst = compare(logged, reference, peer)
    thompson(logged, reference, peer)
    if worst > TARGET:
        sys.exit(1)


def compare(
    logged: dict[str, np.ndarray], reference: dict[str, Any], peer: dict[str, Any] | None
) -> float:
    """Print every estimate of both sides; return the largest absolute difference."""
    reward, action, pscore, position = (
        logged["reward"],
        logged["action"],
        logged["pscore"],
        logged["position"],
    )
    rows, actions, positions = reward.size, 80, 3
    dist, q = synthetic(rows, actions, positions)
    bts = np.broadcast_to(np.asarray(reference["bts_action_dist"])[None], (rows, actions, 3))
    uniform = np.full((rows, actions, positions), 1.0 / actions)
    cases: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray | None]] = {
        "bts": (bts, q, position),
        "uniform": (uniform, q, position),
        "synthetic": (dist, q, position),
        "synthetic_clip3": (dist, q, position),
        "synthetic_no_position": (dist[:, :, :1], q[:, :, :1], None),
    }
    print(f"{'case':<22} {'estimator':<6} {'mios':>14} {'obp':>14} {'|diff|':>9}", end="")
    print(f" {'mios s':>9} {'obp s':>9}")
    worst = 0.0
    mios_total = obp_total = 0.0
    for name, (action_dist, rewards_model, where) in cases.items():
        given = reference["cases"][name]["clip"]
        clip = float("inf") if given is None else float(given)
        runs = {
            "ipw": lambda d=action_dist, w=where, c=clip: ipw(reward, action, pscore, d, w, c),
            "snipw": lambda d=action_dist, w=where: snipw(reward, action, pscore, d, w),
            "dr": lambda d=action_dist, m=rewards_model, w=where, c=clip: dr(
                reward, action, pscore, d, m, w, c
            ),
        }
        for estimator, run in runs.items():
            estimate, seconds = best_of(run)
            expected = float(reference["cases"][name][estimator])
            diff = abs(estimate.value - expected)
            worst = max(worst, diff)
            obp_seconds = peer["timings"][name][estimator] if peer else float("nan")
            mios_total += seconds
            obp_total += obp_seconds if peer else 0.0
            print(
                f"{name:<22} {estimator:<6} {estimate.value:>14.10f} {expected:>14.10f} "
                f"{diff:>9.1e} {seconds:>9.5f} {obp_seconds:>9.5f}"
            )
    verdict = "met" if worst <= TARGET else "NOT MET"
    print(f"max |mios - obp| = {worst:.2e} (target <= {TARGET:g}): {verdict}")
    if peer:
        print(
            f"estimator time, all 15: mios {mios_total * 1e3:.2f} ms, obp {obp_total * 1e3:.2f} ms"
            f" (obp / mios = {obp_total / mios_total:.2f}x; mios also computes a standard error)"
        )
    return worst


def thompson(
    logged: dict[str, np.ndarray], reference: dict[str, Any], peer: dict[str, Any] | None
) -> None:
    """The quick-start ratio, by obp's BernoulliTS and by mios's ThompsonPolicy."""
    reward, action, pscore, position = (
        logged["reward"],
        logged["action"],
        logged["pscore"],
        logged["position"],
    )
    ratio = float(reference["cases"]["bts"]["ipw"]) / reward.mean()
    print(
        f"quick-start: obp BernoulliTS IPW / logged mean = {ratio:.6f} "
        f"(obp README {QUICKSTART_RATIO})"
    )
    prior = reference["bts_prior"]
    rounds = Rounds(
        reward=reward,
        action=action,
        pscore=pscore,
        position=position,
        features=np.zeros((reward.size, 0)),
        actions=80,
        positions=3,
    )
    start = time.perf_counter()
    policy = ThompsonPolicy(
        samples=100_000,
        seed=12345,
        prior_alpha=np.asarray(prior["alpha"]),
        prior_beta=np.asarray(prior["beta"]),
        learn=False,
    ).fit(rounds)
    ts_seconds = time.perf_counter() - start
    own = ipw(reward, action, pscore, policy.action_dist(rounds.features), position)
    peer_ts = f", obp {peer['bts_seconds']:.2f} s" if peer else ""
    print(
        f"mios ThompsonPolicy, same prior, 100,000 draws: IPW / logged mean = "
        f"{own.value / reward.mean():.6f} (Monte Carlo noise; 95% interval of the IPW "
        f"{own.low / reward.mean():.3f}..{own.high / reward.mean():.3f}); "
        f"{ts_seconds:.2f} s{peer_ts}"
    )


if __name__ == "__main__":
    main()
