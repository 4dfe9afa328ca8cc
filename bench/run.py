"""Run every benchmark (``make bench``). Each prints its figures, its peer and its target."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = [
    "bench_context.py",
    "bench_sim.py",
    "bench_audit.py",
    "bench_policy.py",
    "bench_nba.py",
    "bench_mmm.py",
    "bench_arbitration.py",
    "bench_ope.py",
    "bench_clv.py",
    "bench_experiments.py",
    "bench_ingest.py",
    "bench_cycle.py",
    "bench_workers.py",
]

if __name__ == "__main__":
    for name in BENCHMARKS:
        print(f"== {name}")
        subprocess.run([sys.executable, str(HERE / name), *sys.argv[1:]], check=True)
