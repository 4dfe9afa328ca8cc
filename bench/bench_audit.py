"""Audit-trail targets of the Human Command issue, each beside a peer measured in the same run.

    verify_log over 1,000,000 records read from SQLite          target <= 20 s
    export_jsonl of the same, then verify_records(read_jsonl(file))   no target: the offline check

Peer: SHA-256 with hashlib over the same canonical lines held in memory, as ``sha256sum`` would
hash the export: the floor for hashing that much data, with no reading, parsing or linking.

The log is built with the code every append seals with (``seal`` for the chain, ``record_row``
for the row) and inserted with executemany in batches inside one transaction: a
million separate append transactions would time commits, which verification never does.
Verification and the export run in their own processes, so their peak memory is their own.

    python bench/bench_audit.py --records 1000000
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
BATCH = 10_000
TARGET_SECONDS = 20.0

_STATES = ("proposed", "decided", "awaiting_approval", "approved", "executing", "executed")
_RULES = ("brand.banned_terms", "consent.email", "contact.weekly_cap", "claims.unsubstantiated")
_ROLES = ("strategist", "budget_owner", "brand", "legal")


def peak_mb() -> float:
    """This process's peak resident memory (VmHWM starts afresh with each program)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def entries(count: int) -> Iterator[Any]:
    """What a busy workspace logs: mostly action state changes, verdicts with findings (about
    200 bytes of data) and some human decisions."""
    from mios.governance.audit import AuditEntry

    draw = random.Random(7)
    at = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    for n in range(count):
        at += timedelta(microseconds=draw.randrange(1, 500_000))
        action = f"act-{n // 4:07d}"
        kind = n % 4
        if kind in (0, 2):
            step = draw.randrange(len(_STATES) - 1)
            yield AuditEntry(
                at=at,
                actor_id="system:lifecycle",
                event="action.state_changed",
                subject=f"action:{action}",
                data={"from": _STATES[step], "to": _STATES[step + 1], "context_version": n // 1000},
            )
        elif kind == 1:
            rule = draw.choice(_RULES)
            yield AuditEntry(
                at=at,
                actor_id="system:governance",
                event="governance.verdict",
                subject=f"action:{action}",
                data={
                    "effect": "approve",
                    "roles": [draw.choice(_ROLES)],
                    "quorum": 1,
                    "findings": [
                        {
                            "rule": rule,
                            "severity": "warn",
                            "message": f"{rule} flagged the body of the message",
                            "value": "free shipping on every order",
                        }
                    ],
                    "content_hash": hashlib.sha256(action.encode()).hexdigest()[:32],
                },
            )
        else:
            role = draw.choice(_ROLES)
            yield AuditEntry(
                at=at,
                actor_id=f"user:{role}-{draw.randrange(12)}",
                actor_role=role,
                event="approval.granted",
                subject=f"action:{action}",
                data={"request": f"req-{n // 4:07d}", "quorum_filled": 1},
                reason="checked against the brand book",
            )


def build(url: str, count: int) -> float:
    from sqlalchemy import insert

    from mios.bulk import paused_gc
    from mios.domain.audit import GENESIS
    from mios.governance.audit import seal
    from mios.persistence.audit_log import record_row
    from mios.persistence.engine import create_database_engine, migrate
    from mios.persistence.tables import audit_log

    engine = create_database_engine(url)
    migrate(engine)
    started = time.perf_counter()
    prev = GENESIS
    batch: list[dict[str, Any]] = []
    with paused_gc(), engine.begin() as conn:
        for seq, entry in enumerate(entries(count), start=1):
            record = seal(entry, seq, prev)
            prev = record.hash
            batch.append(record_row(record))
            if len(batch) == BATCH:
                conn.execute(insert(audit_log), batch)
                batch.clear()
        if batch:
            conn.execute(insert(audit_log), batch)
    engine.dispose()
    return time.perf_counter() - started


# -- measurements, each run in a child process -------------------------------------------------


def measure_verify(url: str) -> dict[str, Any]:
    from mios.governance.audit import verify_log
    from mios.persistence.audit_log import SqlAuditLog
    from mios.persistence.engine import create_database_engine

    log = SqlAuditLog(create_database_engine(url))
    head = log.head()
    started = time.perf_counter()
    result = verify_log(log, head)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "records": result.checked, "ok": result.ok, "peak_mb": peak_mb()}


def measure_export(url: str, path: str) -> dict[str, Any]:
    from mios.governance.audit import export_jsonl, read_jsonl, verify_records
    from mios.persistence.audit_log import SqlAuditLog
    from mios.persistence.engine import create_database_engine

    log = SqlAuditLog(create_database_engine(url))
    head = log.head()
    started = time.perf_counter()
    with open(path, "w", encoding="utf-8") as out:
        written = export_jsonl(log, out)
    exported = time.perf_counter() - started
    started = time.perf_counter()
    with open(path, encoding="utf-8") as lines:
        result = verify_records(read_jsonl(lines), head)
    verified = time.perf_counter() - started
    return {
        "export_seconds": exported,
        "verify_seconds": verified,
        "records": written,
        "ok": result.ok,
        "peak_mb": peak_mb(),
    }


def measure_peer(path: str) -> dict[str, Any]:
    lines = Path(path).read_bytes().splitlines(keepends=True)
    gc.collect()
    started = time.perf_counter()
    digest = hashlib.sha256()
    for line in lines:
        digest.update(line)
    digest.hexdigest()
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "lines": len(lines), "bytes": sum(map(len, lines))}


def child(step: str, *args: str) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", step, *args]
    env = {**os.environ, "PYTHONPATH": str(HERE.parent)}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{step} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    options, _ = parser.parse_known_args()  # make bench passes every bench the same arguments
    if options.child:
        step, *args = options.child
        runner = {"verify": measure_verify, "export": measure_export, "peer": measure_peer}
        print(json.dumps(runner[step](*args)))
        return

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'audit.db'}"
        built = build(url, options.records)
        size_mb = (Path(folder) / "audit.db").stat().st_size / 2**20
        print(
            f"audit log: {options.records:,} records, {size_mb:.0f} MB SQLite,"
            f" built in {built:.1f} s"
        )
        verify = child("verify", url)
        jsonl = str(Path(folder) / "audit.jsonl")
        export = child("export", url, jsonl)
        peer = child("peer", jsonl)
    rate = verify["records"] / verify["seconds"]
    ratio = verify["seconds"] / peer["seconds"]
    print(
        f"verify_log (SQLite):     {verify['seconds']:6.2f} s  {rate:,.0f} records/s"
        f"  peak {verify['peak_mb']:.0f} MB  intact={verify['ok']}"
        f"   SHA-256 of the {peer['bytes'] / 2**20:.0f} MB of lines in memory: "
        f"{peer['seconds']:.2f} s  ratio {ratio:.1f}x   target <= {TARGET_SECONDS:.0f} s"
    )
    file_rate = export["records"] / export["verify_seconds"]
    print(
        f"export_jsonl:            {export['export_seconds']:6.2f} s"
        f"   verify of the file: {export['verify_seconds']:.2f} s  {file_rate:,.0f} records/s"
        f"  ratio {export['verify_seconds'] / peer['seconds']:.1f}x  intact={export['ok']}"
        f"  peak {export['peak_mb']:.0f} MB"
    )
    OUT.mkdir(exist_ok=True)
    results = {
        "records": options.records,
        "build_seconds": built,
        "verify_sqlite": {**verify, "records_per_second": rate, "peer": peer, "ratio": ratio},
        "export_jsonl": export,
    }
    (OUT / "audit.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
