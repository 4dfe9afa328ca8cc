"""Parity with Open Bandit Pipeline 0.5.7 on its ZOZOTOWN sample, without obp installed.

The logged rounds and obp's outputs were computed once by ``bench/bench_ope.py
--write-reference`` (see tests/data/ope/README.md); the synthetic distribution and reward model
are the same formula the bench gives obp."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mios.brain.ope import dr, evaluate, ipw, snipw
from mios.brain.ope_data import LoggedFile, evaluate_policy
from mios.brain.ope_policies import Rounds, ThompsonPolicy

DATA = Path(__file__).resolve().parents[2] / "data" / "ope"
TOLERANCE = 1e-6


def _logged() -> dict[str, np.ndarray]:
    with open(DATA / "obd_random_all.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {
        "action": np.array([int(r["action"]) for r in rows]),
        "position": np.array([int(r["position"]) - 1 for r in rows]),
        "reward": np.array([float(r["reward"]) for r in rows]),
        "pscore": np.array([float(r["propensity"]) for r in rows]),
    }


def _synthetic(rows: int, actions: int, positions: int) -> tuple[np.ndarray, np.ndarray]:
    # The formula of SYNTHETIC in bench/bench_ope.py, evaluated the same way.
    i = np.arange(rows)[:, None, None]
    a = np.arange(actions)[None, :, None]
    k = np.arange(positions)[None, None, :]
    dist = np.exp(2.0 * np.sin(0.7 * i + 1.3 * a + 0.5 * k))
    dist = dist / dist.sum(axis=1, keepdims=True)
    q = 0.004 * (1.0 + np.sin(0.3 * i + 0.11 * a * (k + 1))) + 0.001 * k
    return dist, q


LOGGED = _logged()
EXPECTED: dict[str, Any] = json.loads((DATA / "obp_expected.json").read_text())
ROWS = LOGGED["reward"].size


def _cases() -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray | None]]:
    dist, q = _synthetic(ROWS, 80, 3)
    bts = np.broadcast_to(np.asarray(EXPECTED["bts_action_dist"])[None], (ROWS, 80, 3))
    return {
        "bts": (bts, q, LOGGED["position"]),
        "uniform": (np.full((ROWS, 80, 3), 1 / 80), q, LOGGED["position"]),
        "synthetic": (dist, q, LOGGED["position"]),
        "synthetic_clip3": (dist, q, LOGGED["position"]),
        "synthetic_no_position": (dist[:, :, :1], q[:, :, :1], None),
    }


CASES = _cases()


def test_the_vendored_sample_is_the_whole_obd_random_all_sample() -> None:
    assert ROWS == 10_000
    assert set(np.unique(LOGGED["action"])) == set(range(80))
    assert set(np.unique(LOGGED["position"])) == {0, 1, 2}
    assert LOGGED["reward"].sum() == 38
    assert np.all(LOGGED["pscore"] == 0.0125)
    assert set(EXPECTED["cases"]) == set(CASES)


@pytest.mark.parametrize("case", sorted(CASES))
def test_ipw_snipw_and_dr_equal_obp(case: str) -> None:
    dist, q, position = CASES[case]
    expected = EXPECTED["cases"][case]
    clip = math.inf if expected["clip"] is None else float(expected["clip"])
    reward, action, pscore = LOGGED["reward"], LOGGED["action"], LOGGED["pscore"]
    got = {
        "ipw": ipw(reward, action, pscore, dist, position, clip).value,
        "snipw": snipw(reward, action, pscore, dist, position).value,
        "dr": dr(reward, action, pscore, dist, q, position, clip).value,
    }
    for name, value in got.items():
        assert abs(value - expected[name]) <= TOLERANCE, (case, name, value, expected[name])


def test_the_quickstart_ratio_of_obp_readme() -> None:
    ratio = EXPECTED["cases"]["bts"]["ipw"] / LOGGED["reward"].mean()
    assert ratio == pytest.approx(1.198126, abs=1e-6)


def test_mios_thompson_sampling_with_the_zozotown_prior_reproduces_the_quickstart() -> None:
    prior = EXPECTED["bts_prior"]
    rounds = Rounds(
        reward=LOGGED["reward"],
        action=LOGGED["action"],
        pscore=LOGGED["pscore"],
        position=LOGGED["position"],
        features=np.zeros((ROWS, 0)),
        actions=80,
        positions=3,
    )
    policy = ThompsonPolicy(
        samples=100_000,
        seed=1,
        prior_alpha=np.asarray(prior["alpha"]),
        prior_beta=np.asarray(prior["beta"]),
        learn=False,
    ).fit(rounds)
    # The same policy, so the same distribution up to Monte Carlo noise of 100,000 draws.
    assert np.abs(policy.dist_ - np.asarray(EXPECTED["bts_action_dist"])).max() < 0.006
    value = ipw(
        rounds.reward,
        rounds.action,
        rounds.pscore,
        policy.action_dist(rounds.features),
        rounds.position,
    ).value
    assert value / LOGGED["reward"].mean() == pytest.approx(1.198126, rel=0.02)


@pytest.mark.parametrize("case", sorted(CASES))
def test_evaluate_the_function_behind_the_cli_equals_obp(case: str) -> None:
    dist, q, position = CASES[case]
    expected = EXPECTED["cases"][case]
    clip = math.inf if expected["clip"] is None else float(expected["clip"])
    result = evaluate(
        LOGGED["reward"], LOGGED["action"], LOGGED["pscore"], dist, q, position, clip=clip
    )
    for name in ("ipw", "snipw", "dr"):
        value = result.estimate(name).value
        assert abs(value - expected[name]) <= TOLERANCE, (case, name, value, expected[name])


def test_cross_fitting_keeps_parity_for_a_policy_that_does_not_learn() -> None:
    # Uniform's distribution does not depend on the folds, so the cross-fitted command path
    # must give obp's uniform IPW and SNIPW on the same rounds.
    rounds = Rounds(
        reward=LOGGED["reward"],
        action=LOGGED["action"],
        pscore=LOGGED["pscore"],
        position=LOGGED["position"],
        features=np.zeros((ROWS, 0)),
        actions=80,
        positions=3,
    )
    logged = LoggedFile(rounds, np.arange(80).astype(str), np.array(["1", "2", "3"]), ())
    evaluation = evaluate_policy(logged, "uniform", folds=5).evaluation
    for name in ("ipw", "snipw"):
        value = evaluation.estimate(name).value
        assert abs(value - EXPECTED["cases"]["uniform"][name]) <= TOLERANCE, name
