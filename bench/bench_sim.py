"""Market simulator targets of the simulator issue.

    1,000,000 customers x 6 channels x 30 days, each reference policy   <= 30 s, <= 2 GB, one core
    same scenario, seed and actions -> byte-identical output             (two separate processes)

Each run is its own process pinned to one core (and NumPy's thread pools held to one thread), so
its time and peak memory are its own. The scenario is ``retail-holiday``: email, sms, paid_search,
paid_social, display and content. No peer: there is no open market simulator of this kind to run
beside it, so the figure stands alone; a run at a tenth of the customers shows how it scales.

    python bench/bench_sim.py                   # 1,000,000 customers, all three policies
    python bench/bench_sim.py --customers 100000 --policies oracle
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

SCENARIO = "retail-holiday"
ONE_THREAD = dict.fromkeys(("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"), "1")


def peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def measure(policy: str, customers: int, days: int, seed: int) -> dict[str, Any]:
    """Run in this process: build the market, run the policy, report time, memory, output."""
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    from mios.sim.run import run_policy
    from mios.sim.scenario import load_scenario

    scenario = load_scenario(SCENARIO)
    started = time.perf_counter()
    result = run_policy(scenario, policy, days=days, seed=seed, customers=customers)
    seconds = time.perf_counter() - started
    output = json.dumps(result.as_dict(), indent=2).encode()
    return {
        "policy": policy,
        "customers": customers,
        "days": days,
        "channels": len(scenario.channel_names),
        "seconds": round(seconds, 2),
        "peak_mb": round(peak_mb(), 1),
        "profit": result.totals.as_dict()["profit"],
        "output_sha256": hashlib.sha256(output).hexdigest(),
        "outcome_digest": result.digest,
    }


def in_fresh_process(policy: str, customers: int, days: int, seed: int) -> dict[str, Any]:
    command = [
        sys.executable,
        __file__,
        "--one",
        policy,
        "--customers",
        str(customers),
        "--days",
        str(days),
        "--seed",
        str(seed),
    ]
    done = subprocess.run(
        command, env={**os.environ, **ONE_THREAD}, capture_output=True, text=True, check=True
    )
    return dict(json.loads(done.stdout))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--policies", default="random,static,oracle")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.customers, args.days, args.seed)))
        return

    print(
        f"{SCENARIO}: {args.customers:,} customers x 6 channels x {args.days} days, one core each"
    )
    print("target: <= 30 s and <= 2,048 MB per run; a second run must print identical output\n")
    failures = []
    for policy in args.policies.split(","):
        first = in_fresh_process(policy, args.customers, args.days, args.seed)
        second = in_fresh_process(policy, args.customers, args.days, args.seed)
        tenth = in_fresh_process(policy, max(args.customers // 10, 1), args.days, args.seed)
        identical = (
            first["output_sha256"] == second["output_sha256"]
            and first["outcome_digest"] == second["outcome_digest"]
        )
        print(
            f"{policy:>7}: {first['seconds']:6.2f} s / {second['seconds']:6.2f} s, "
            f"peak {max(first['peak_mb'], second['peak_mb']):7.1f} MB, "
            f"profit {first['profit']}, identical output: {'yes' if identical else 'NO'}; "
            f"at {tenth['customers']:,} customers {tenth['seconds']:.2f} s "
            f"({first['seconds'] / max(tenth['seconds'], 1e-9):.1f}x for 10x the customers)"
        )
        slowest = max(first["seconds"], second["seconds"])
        if slowest > 30 or max(first["peak_mb"], second["peak_mb"]) > 2048 or not identical:
            failures.append(policy)
    if failures:
        raise SystemExit(f"missed a target: {', '.join(failures)}")


if __name__ == "__main__":
    main()
