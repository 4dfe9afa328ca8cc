"""Shared-context targets of the foundation issue, each beside a peer measured in the same run.

    import 1,000,000 customers from CSV into SQLite       target <= 30 s, peak <= 1.5 GB
    import the same into PostgreSQL                       target <= 60 s, peak <= 1.5 GB
    load 1,000,000 customers as arrays                    target <= 3 s

Peers: the sqlite3 shell's ``.import --csv`` and psql's ``\\copy`` of the same file into a table
of text columns (no validation, no versioning: the floor for getting the bytes in), and a plain
``SELECT`` of the current customer rows (what a row-based load would start from).

Every measurement runs in its own process, so peak memory (ru_maxrss) is that step's alone.

    python bench/bench_context.py --customers 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
PG_URL = os.environ.get(
    "MIOS_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def worker_peak_mb() -> float:
    """The largest peak of any worker process this one started (0 when it started none)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def peak_mb() -> float:
    """This process's peak resident memory. Not ru_maxrss: Linux carries that across exec, so
    a child would report its parent's peak; VmHWM starts afresh with the new program."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def customers_csv(count: int) -> Path:
    """The retail example's customers file at ``count`` rows, generated once and kept."""
    target = OUT / f"customers-{count}.csv"
    if not target.exists():
        from mios.context.examples import write_example

        OUT.mkdir(exist_ok=True)
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            write_example(Path(folder) / "w", "retail", customers=count, seed=7)
            print(
                f"  generated {count:,} customers in {time.perf_counter() - started:.1f} s",
                file=sys.stderr,
            )
            shutil.move(str(Path(folder) / "w" / "data" / "customers.csv"), target)
    return target


# -- measurements, each run in a child process -------------------------------------------------


def _empty_store(url: str) -> Any:
    from mios.context.store import ContextChange
    from mios.persistence.context_store import SqlContextStore
    from mios.persistence.engine import create_database_engine, migrate
    from tests.support.workspaces import minimal_spec

    engine = create_database_engine(url)
    migrate(engine)
    store = SqlContextStore(engine)
    store.write(ContextChange(workspace=minimal_spec()), actor="bench", reason="empty workspace")
    return store


def measure_import(url: str, csv_path: str) -> dict[str, Any]:
    from mios.bulk import usable_cores
    from mios.context.customers_csv import parse_workers, read_customers_csv
    from mios.context.store import ContextChange

    store = _empty_store(url)
    started = time.perf_counter()
    table = read_customers_csv(Path(csv_path), workers=parse_workers(Path(csv_path))).table
    parsed = time.perf_counter() - started
    store.write(ContextChange(customers=table, replace_customers=True), actor="bench", reason="i")
    seconds = time.perf_counter() - started
    count = store.snapshot().customer_count
    store.close()
    return {
        "seconds": seconds,
        "parse_seconds": parsed,
        "customers": count,
        "peak_mb": peak_mb(),
        "worker_peak_mb": worker_peak_mb(),
        "workers": usable_cores(),
    }


def measure_load(url: str) -> dict[str, Any]:
    from mios.persistence.context_store import SqlContextStore
    from mios.persistence.engine import create_database_engine

    store = SqlContextStore(create_database_engine(url))
    started = time.perf_counter()
    table = store.snapshot().customers()
    seconds = time.perf_counter() - started
    store.close()
    return {"seconds": seconds, "customers": len(table), "peak_mb": peak_mb()}


def measure_select_rows(url: str) -> dict[str, Any]:
    from sqlalchemy import text

    from mios.persistence.engine import create_database_engine
    from mios.persistence.tables import CUSTOMER_COLUMNS

    engine = create_database_engine(url)
    started = time.perf_counter()
    with engine.connect() as conn:
        rows = conn.execute(
            text(f"SELECT {', '.join(CUSTOMER_COLUMNS)} FROM customers WHERE valid_to IS NULL")
        ).all()
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "customers": len(rows), "peak_mb": peak_mb()}


def child(step: str, *args: str) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", step, *args]
    env = {**os.environ, "PYTHONPATH": str(HERE.parent)}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{step} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - started


def pg_schema_url(schema: str) -> str:
    return f"{PG_URL}?options=-csearch_path%3D{schema}"


def psql(sql: str) -> None:
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-qc", sql],
        check=True,
        capture_output=True,
    )


def header_columns(csv_path: Path) -> list[str]:
    with csv_path.open(encoding="utf-8") as handle:
        return handle.readline().strip().split(",")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        step, *args = options.child
        runner = {"import": measure_import, "load": measure_load, "select": measure_select_rows}
        print(json.dumps(runner[step](*args)))
        return

    csv_path = customers_csv(options.customers)
    size_mb = csv_path.stat().st_size / 2**20
    print(f"customers: {options.customers:,} rows, {size_mb:.0f} MB CSV")
    results: dict[str, Any] = {"customers": options.customers}
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "mios.db"
        url = f"sqlite:///{db}"
        ours = child("import", url, str(csv_path))
        peer_db = Path(folder) / "peer.db"
        peer = timed(["sqlite3", str(peer_db), ".import --csv " + str(csv_path) + " raw"])
        results["import_sqlite"] = {**ours, "peer_seconds": peer}
        print(
            f"import into SQLite:     {ours['seconds']:6.2f} s "
            f"(parse {ours['parse_seconds']:.2f} s)"
            f"  peak {ours['peak_mb']:5.0f} MB (+{ours['workers']} parsers <= "
            f"{ours['worker_peak_mb']:.0f} MB each)   sqlite3 .import (no checks): {peer:.2f} s"
            f"  ratio {ours['seconds'] / peer:.2f}x   target <= 30 s, <= 1536 MB"
        )
        load = child("load", url)
        select = child("select", url)
        results["load_sqlite"] = {**load, "peer_seconds": select["seconds"]}
        print(
            f"load as arrays (SQLite): {load['seconds']:5.2f} s  peak {load['peak_mb']:5.0f} MB"
            f"   SELECT of the rows: {select['seconds']:.2f} s"
            f"  ratio {load['seconds'] / select['seconds']:.2f}x   target <= 3 s"
        )
    if not options.skip_postgres:
        schema, peer_schema = f"bench_{uuid.uuid4().hex[:8]}", f"bench_{uuid.uuid4().hex[:8]}"
        psql(f"CREATE SCHEMA {schema}; CREATE SCHEMA {peer_schema}")
        try:
            ours = child("import", pg_schema_url(schema), str(csv_path))
            columns = ", ".join(f'"{c}" text' for c in header_columns(csv_path))
            psql(f"CREATE TABLE {peer_schema}.raw ({columns})")
            peer = timed(
                [
                    "psql",
                    "-h",
                    "127.0.0.1",
                    "-U",
                    "postgres",
                    "-d",
                    "test",
                    "-qc",
                    f"\\copy {peer_schema}.raw FROM '{csv_path}' CSV HEADER",
                ]
            )
            results["import_postgres"] = {**ours, "peer_seconds": peer}
            print(
                f"import into PostgreSQL: {ours['seconds']:6.2f} s (parse "
                f"{ours['parse_seconds']:.2f} s)  peak {ours['peak_mb']:5.0f} MB "
                f"(+{ours['workers']} parsers"
                f" <= {ours['worker_peak_mb']:.0f} MB each)   psql \\copy "
                f"(no checks): {peer:.2f} s  ratio {ours['seconds'] / peer:.2f}x"
                "   target <= 60 s, <= 1536 MB"
            )
            load = child("load", pg_schema_url(schema))
            select = child("select", pg_schema_url(schema))
            results["load_postgres"] = {**load, "peer_seconds": select["seconds"]}
            print(
                f"load as arrays (PostgreSQL): {load['seconds']:5.2f} s  peak "
                f"{load['peak_mb']:5.0f} MB   SELECT of the rows: {select['seconds']:.2f} s"
                f"  ratio {load['seconds'] / select['seconds']:.2f}x   target <= 3 s"
            )
        finally:
            psql(f"DROP SCHEMA {schema} CASCADE; DROP SCHEMA {peer_schema} CASCADE")
    OUT.mkdir(exist_ok=True)
    (OUT / "context.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
