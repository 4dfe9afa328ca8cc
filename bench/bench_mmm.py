"""Media mix model target of the brain issue.

    MMM fit >= 20x faster than PyMC-Marketing on PyMC-Marketing's own example data, with a ROAS
    error no worse than PyMC-Marketing's against the known truth

The data is PyMC-Marketing's ``data/mmm_example.csv`` (vendored in bench/data, Apache-2.0, see
bench/data/README.md): 179 weeks, channels x1 and x2, two events. Its MMM example notebook made it
with geometric adstock (l_max 8, normalised; alpha 0.4 and 0.2), logistic saturation (lam 4 and
3), betas 3 and 2, all times an amplitude of 1000, so the true contribution of each channel and
its ROAS (contribution over spend across the 179 weeks) follow from the spend columns.

Both fits get the same baseline: intercept, linear trend, yearly Fourier order 2, the two events.
mios fits Hill curves (its own model) by MAP with 200 block-bootstrap refits for the intervals;
PyMC-Marketing fits its logistic curves (the true family) by NUTS. The comparison is on ROAS and
contribution share, which both estimate, never on curve parameters.

    python bench/bench_mmm.py                         # the peer at /work/peers/pymc/bin/python
    MIOS_PEER_PYTHON_PYMC=/path/to/python python bench/bench_mmm.py --chains 4 --draws 1000

The peer runs in its own interpreter (a virtualenv with pymc-marketing) through a subprocess.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "mmm_example.csv"
CHANNELS = ("x1", "x2")
DEFAULT_PEER = Path("/work/peers/pymc/bin/python")
TARGET_RATIO = 20.0

# The notebook's data-generating process.
TRUE_ALPHA = (0.4, 0.2)
TRUE_LAM = (4.0, 3.0)
TRUE_BETA = (3.0, 2.0)
AMPLITUDE = 1000.0
L_MAX = 8


def load() -> dict[str, list[Any]]:
    with DATA.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {key: [row[key] for row in rows] for key in rows[0]}


def truth(columns: dict[str, list[Any]]) -> dict[str, dict[str, float]]:
    import numpy as np

    y = np.array(columns["y"], dtype=float)
    out: dict[str, dict[str, float]] = {}
    for k, name in enumerate(CHANNELS):
        x = np.array(columns[name], dtype=float)
        weights = TRUE_ALPHA[k] ** np.arange(L_MAX)
        carried = np.convolve(x, weights / weights.sum())[: len(x)]
        lam = TRUE_LAM[k]
        saturated = (1 - np.exp(-lam * carried)) / (1 + np.exp(-lam * carried))
        contribution = AMPLITUDE * TRUE_BETA[k] * saturated
        out[name] = {
            "roas": float(contribution.sum() / x.sum()),
            "share": float(contribution.sum() / y.sum()),
        }
    return out


def fit_mios(columns: dict[str, list[Any]], repeats: int) -> dict[str, Any]:
    import numpy as np

    from mios.brain.mmm import MediaMixModel

    spend = np.array([columns[name] for name in CHANNELS], dtype=float).T
    y = np.array(columns["y"], dtype=float)
    controls = np.array([columns["event_1"], columns["event_2"]], dtype=float).T
    dates = np.array(columns["date_week"], dtype="datetime64[D]")
    seconds = []
    report = None
    for _ in range(repeats):
        started = time.perf_counter()
        model = MediaMixModel(max_lag=L_MAX, n_bootstrap=200).fit(
            spend, y, dates=dates, controls=controls, channel_names=list(CHANNELS)
        )
        report = model.report()
        seconds.append(time.perf_counter() - started)
    assert report is not None
    return {
        "seconds": statistics.median(seconds),
        "roas": {c.name: c.roas.as_dict() for c in report.channels},
        "share": {c.name: c.contribution_share.as_dict() for c in report.channels},
        "r2": report.r2,
    }


PEER_SCRIPT = r"""
import json, sys, time, warnings
warnings.filterwarnings("ignore")
import numpy as np
import pandas as pd
from pymc_marketing.mmm import GeometricAdstock, LogisticSaturation
from pymc_marketing.mmm.multidimensional import MMM
import pymc_marketing
path, chains, draws, tune, seed = sys.argv[1], *map(int, sys.argv[2:6])
df = pd.read_csv(path, parse_dates=["date_week"])
X, y = df.drop(columns=["y"]), df["y"]
started = time.perf_counter()
mmm = MMM(
    date_column="date_week", channel_columns=["x1", "x2"], target_column="y",
    adstock=GeometricAdstock(l_max=8), saturation=LogisticSaturation(),
    control_columns=["event_1", "event_2", "t"], yearly_seasonality=2,
)
mmm.build_model(X, y)
mmm.add_original_scale_contribution_variable(var=["channel_contribution"])
mmm.fit(X, y, chains=chains, draws=draws, tune=tune, cores=min(chains, 2),
        random_seed=seed, progressbar=False)
seconds = time.perf_counter() - started
total = mmm.idata.posterior["channel_contribution_original_scale"].sum("date")
spend = X[["x1", "x2"]].sum().to_numpy()
roas = total / spend
share = total / df["y"].sum()
def summary(draws):
    flat = draws.stack(sample=("chain", "draw")).transpose("channel", "sample").to_numpy()
    return {name: {"value": float(row.mean()), "low": float(np.percentile(row, 5)),
                   "high": float(np.percentile(row, 95))} for name, row in zip(["x1", "x2"], flat)}
rhat = float(__import__("arviz").rhat(mmm.idata.posterior)["saturation_beta"].max())
print(json.dumps({"seconds": seconds, "roas": summary(roas), "share": summary(share),
                  "max_rhat_beta": rhat, "version": pymc_marketing.__version__}))
"""


def fit_peer(python: Path, chains: int, draws: int, tune: int) -> dict[str, Any]:
    done = subprocess.run(
        [str(python), "-c", PEER_SCRIPT, str(DATA), str(chains), str(draws), str(tune), "1"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the peer failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def errors(found: dict[str, Any], true: dict[str, dict[str, float]], key: str) -> list[float]:
    return [abs(found[key][name]["value"] / true[name][key] - 1.0) for name in CHANNELS]


def show(label: str, found: dict[str, Any], true: dict[str, dict[str, float]]) -> None:
    for name in CHANNELS:
        roas, share = found["roas"][name], found["share"][name]
        print(
            f"  {label:<16} {name}: ROAS {roas['value']:8.1f} [{roas['low']:8.1f}, "
            f"{roas['high']:8.1f}] (true {true[name]['roas']:.1f}); share {share['value']:.3f} "
            f"[{share['low']:.3f}, {share['high']:.3f}] (true {true[name]['share']:.3f})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chains", type=int, default=2)
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--tune", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3, help="mios fits; the median counts")
    args = parser.parse_args()
    columns = load()
    true = truth(columns)
    ours = fit_mios(columns, args.repeats)
    ours_roas = errors(ours, true, "roas")
    print(f"MMM fit on PyMC-Marketing's example data ({len(columns['y'])} weeks, 2 channels)")
    print(
        f"  mios             {ours['seconds']:.3f} s (MAP + 200 bootstrap refits, median of "
        f"{args.repeats}); R^2 {ours['r2']:.3f}"
    )
    show("mios", ours, true)
    print(
        f"  mios ROAS error  mean {statistics.mean(ours_roas):.1%} "
        f"(x1 {ours_roas[0]:.1%}, x2 {ours_roas[1]:.1%})"
    )
    peer_python = Path(os.environ.get("MIOS_PEER_PYTHON_PYMC", str(DEFAULT_PEER)))
    if not peer_python.exists():
        print(f"  peer not installed ({peer_python}): no ratio; target >= {TARGET_RATIO:g}x")
        return
    peer = fit_peer(peer_python, args.chains, args.draws, args.tune)
    peer_roas = errors(peer, true, "roas")
    print(
        f"  PyMC-Marketing   {peer['seconds']:.1f} s ({peer['version']}, NUTS: {args.chains} "
        f"chains x {args.draws} draws after {args.tune} tuning steps, build + compile + "
        f"sample; max R-hat of the betas {peer['max_rhat_beta']:.3f})"
    )
    show("PyMC-Marketing", peer, true)
    print(
        f"  peer ROAS error  mean {statistics.mean(peer_roas):.1%} "
        f"(x1 {peer_roas[0]:.1%}, x2 {peer_roas[1]:.1%})"
    )
    ratio = peer["seconds"] / ours["seconds"]
    speed_ok = ratio >= TARGET_RATIO
    error_ok = statistics.mean(ours_roas) <= statistics.mean(peer_roas)
    print(
        f"  speed-up {ratio:.0f}x (target >= {TARGET_RATIO:g}x): {'met' if speed_ok else 'NOT met'}"
    )
    print(
        f"  ROAS error mios {statistics.mean(ours_roas):.1%} vs peer "
        f"{statistics.mean(peer_roas):.1%} (target: no worse): "
        f"{'met' if error_ok else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
