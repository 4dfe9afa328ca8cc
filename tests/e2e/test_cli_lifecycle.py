"""``mios run``, ``cycles``, ``actions``, ``learnings`` and ``worker`` on a ``mios init``
workspace (500 customers, SQLite): cycles run durably and read back the same; an approval
executes a send that waited; a pause holds one and a resume runs it; bad input starts nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import enrol, ok, run, shop_template

ROOT = Path(__file__).resolve().parents[2]
WEEKLY = "weekly-growth"
WINBACK = "winback-retention"  # its playbook makes sends wait for a person


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """500 customers (the shared template has 300): enough for every journey to send."""
    return shop_template(tmp_path_factory, customers=500)


def outbox_keys(shop: Path) -> list[str]:
    return [
        json.loads(line)["idempotency_key"]
        for path in sorted((shop / ".mios" / "outbox").glob("*.jsonl"))
        for line in path.read_text().splitlines()
    ]


def test_run_prints_every_stage_and_the_reading_commands_agree(shop: Path) -> None:
    w = str(shop)
    first = run("-w", w, "run", WEEKLY)
    second = ok("-w", w, "run", WEEKLY)

    assert first.exit_code == 0, first.output
    for stage in ("plan", "decide", "review", "execute", "measure", "learn"):
        assert f"  {stage} " in first.stdout
    assert "outbox" in first.stdout
    (cycle,) = second["cycles"]
    assert cycle["id"] == f"cycle-{WEEKLY}-2"
    assert cycle["stage"] == "done"
    assert cycle["proposals"]["total"] == sum(cycle["proposals"]["by_agent"].values()) > 10
    assert set(cycle["proposals"]["by_agent"]) == {
        "research",
        "analytics",
        "content",
        "advertising",
        "crm",
    }
    assert sum(cycle["decisions"].values()) == cycle["proposals"]["total"]
    assert sum(cycle["verdicts"].values()) == cycle["decisions"]["selected"]
    assert len(cycle["approvals_waiting"]) == cycle["verdicts"]["approve"]
    assert cycle["executions"] == {"executed": cycle["verdicts"]["allow"]}
    assert second["channels"]["email"].startswith("outbox")

    listed = ok("-w", w, "cycles", "list")
    shown = ok("-w", w, "cycles", "show", cycle["id"])
    actions = ok("-w", w, "actions", "list", "--cycle", cycle["id"])
    waiting = ok("-w", w, "actions", "list", "--state", "awaiting_approval")
    learned = ok("-w", w, "learnings")

    assert [c["id"] for c in listed] == [f"cycle-{WEEKLY}-1", f"cycle-{WEEKLY}-2"]
    assert shown["verdicts"] == cycle["verdicts"]
    assert shown["decisions"] == cycle["decisions"]
    assert len(actions) == cycle["decisions"]["selected"]
    assert {a["id"] for a in waiting} >= set(cycle["approvals_waiting"])
    assert {a["state"] for a in waiting} == {"awaiting_approval"}
    assert {lr["cycle"] for lr in learned} <= {c["id"] for c in listed}
    assert {lr["id"] for lr in learned} >= set(cycle["learnings"])
    measured = [a for a in actions if a["state"] == "measured"]
    one = ok("-w", w, "actions", "show", measured[0]["id"])
    assert one["cycle"] == cycle["id"]
    assert [h["to"] for h in one["history"]][-3:] == ["executing", "executed", "measured"]
    sent = [
        a["idempotency_key"]
        for c in listed
        for a in ok("-w", w, "actions", "list", "--cycle", c["id"])
        if a["channel"] and a["kind"] == "send_message" and a["state"] == "measured"
    ]
    assert sorted(outbox_keys(shop)) == sorted(sent)


def test_an_approval_executes_a_waiting_send_and_a_pause_holds_one_until_resume(
    shop: Path,
) -> None:
    w = str(shop)
    tokens = enrol(shop)
    ok("-w", w, "users", "add", "sam", "--name", "Sam", "--role", "strategist", token=tokens["ada"])
    sam = ok("-w", w, "users", "token", "sam", token=tokens["ada"])["token"]
    ok("-w", w, "run", WINBACK)
    sends = [
        a["id"]
        for a in ok("-w", w, "actions", "list", "--state", "awaiting_approval")
        if a["kind"] == "send_message"
    ]
    assert len(sends) >= 2
    first, second = sends[:2]

    def approve(action_id: str) -> dict[str, Any]:
        request = ok("-w", w, "approvals", "show", f"req-{action_id}-v1", token=tokens["ada"])
        assert request["request"]["roles"] == ["strategist"]
        answer: dict[str, Any] = ok(
            "-w",
            w,
            "approvals",
            "approve",
            f"req-{action_id}-v1",
            "--role",
            "strategist",
            token=sam,
        )
        return answer

    done = approve(first)
    ok("-w", w, "pause", "--reason", "checking a complaint", token=tokens["ada"])
    held = approve(second)
    held_state = ok("-w", w, "actions", "show", second)["state"]
    resumed = ok("-w", w, "resume", "--reason", "all clear", token=tokens["ada"])

    assert done["status"] == "approved"
    assert [(e["action"], e["status"]) for e in done["executions"]] == [(first, "executed")]
    assert [(e["action"], e["status"]) for e in held["executions"]] == [(second, "paused")]
    assert held_state == "approved"
    assert [(e["action"], e["status"]) for e in resumed["executions"]] == [(second, "executed")]
    keys = {a: ok("-w", w, "actions", "show", a)["idempotency_key"] for a in (first, second)}
    assert {ok("-w", w, "actions", "show", a)["state"] for a in keys} == {"executed"}
    in_outbox = outbox_keys(shop)
    assert all(in_outbox.count(k) == 1 for k in keys.values())
    ok("-w", w, "pause", "--reason", "once more", token=tokens["ada"])
    again = ok("-w", w, "resume", "--reason", "nothing held", token=tokens["ada"])
    assert again["executions"] == []


def write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("unknown playbook", "no playbook named 'nope'"),
        ("invalid playbook file", "playbooks/broken.yaml"),
        ("objective a cycle cannot maximise", "objective 'cac' cannot be maximised"),
        ("playbook changed since sync", "context sync"),
        ("unknown agent", "nobody"),
        ("unknown connector", "carrier-pigeon"),
    ],
)
def test_bad_input_is_one_clear_error_exit_2_and_nothing_starts(
    shop: Path, case: str, expected: str
) -> None:
    w = str(shop)
    playbook = WEEKLY
    book = shop / "playbooks" / f"{WEEKLY}.yaml"
    if case == "unknown playbook":
        playbook = "nope"
    elif case == "invalid playbook file":
        write(
            shop / "playbooks" / "broken.yaml",
            "name: broken\nagents: [crm]\ncadence: 'every monday'\n",
        )
    elif case == "objective a cycle cannot maximise":
        write(
            shop / "playbooks" / "broken.yaml",
            "name: broken\nagents: [crm]\ncadence: '0 7 * * 1'\nobjective: cac\n",
        )
    elif case == "playbook changed since sync":
        write(
            book,
            book.read_text().replace("measurement_window_days: 7", "measurement_window_days: 3"),
        )
    elif case == "unknown agent":
        write(book, book.read_text().replace("agents: [research,", "agents: [nobody, research,"))
        ok("-w", w, "context", "sync")
    else:
        config = shop / "mios.yaml"
        text = config.read_text()
        assert "connector: simulator" in text
        write(config, text.replace("connector: simulator", "connector: carrier-pigeon", 1))
        ok("-w", w, "context", "sync")

    result = run("-w", w, "run", playbook)

    assert result.exit_code == 2, result.output
    assert result.stderr.count("error:") == 1
    assert expected in result.stderr
    assert ok("-w", w, "cycles", "list") == []
    assert not (shop / ".mios" / "dbos.db").exists()


def test_unknown_ids_are_input_errors(shop: Path) -> None:
    w = str(shop)
    for args in (
        ("cycles", "show", "cycle-x-1"),
        ("actions", "show", "a-1"),
        ("actions", "list", "--cycle", "cycle-x-1"),
    ):
        result = run("-w", w, *args)
        assert result.exit_code == 2, result.output
        assert "no " in result.stderr


@pytest.mark.parametrize(
    "command",
    [
        ("run",),
        ("worker",),
        ("learnings",),
        ("cycles", "list"),
        ("cycles", "show"),
        ("actions", "list"),
        ("actions", "show"),
        ("cycles",),
        ("actions",),
    ],
)
def test_every_command_shows_an_example(command: tuple[str, ...]) -> None:
    result = run(*command, "--help")
    assert result.exit_code == 0, result.output
    assert "Example" in result.stdout
    if len(command) > 1 or command[0] in ("run", "worker", "learnings"):
        assert "--json" in result.stdout


def worker_process(shop: Path, executor: str) -> subprocess.Popen[str]:
    env = {**os.environ, "MIOS_DATABASE_URL": "", "PYTHONPATH": str(ROOT / "src")}
    args = ["-m", "mios.cli.app", "-w", str(shop), "worker", "--executor-id", executor]
    return subprocess.Popen(
        [sys.executable, *args, "--json", "--grace", "5"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_a_worker_runs_until_a_signal_and_stops_cleanly(shop: Path, stop: signal.Signals) -> None:
    process = worker_process(shop, "w-test")
    assert process.stderr is not None
    deadline = time.monotonic() + 60
    seen = ""
    while "taking work" not in seen and time.monotonic() < deadline:
        seen += process.stderr.readline()
        assert process.poll() is None, seen
    process.send_signal(stop)
    out, err = process.communicate(timeout=60)

    assert "worker w-test is taking work" in seen
    assert process.returncode == 0, err
    assert json.loads(out) == {
        "executor_id": "w-test",
        "stopped_by": stop.name,
        "seconds": json.loads(out)["seconds"],
    }
