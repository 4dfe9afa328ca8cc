"""Human Command through the CLI on an initialised workspace: people and tokens, approvals, the
audit trail (verified, tampered with, exported) and the kill switch, with real exit codes."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mios.bootstrap import human_command, open_context_store, open_governance, utc_now
from mios.cli.app import app
from mios.config import DATA_DIR, DATABASE_FILE, Settings
from mios.domain.action import Action
from mios.domain.channel import ChannelName
from mios.domain.proposal import ActionKind, Audience, Content, RiskTier
from mios.governance.audit import read_jsonl, verify_records
from mios.governance.checkers import built_in_checkers
from mios.governance.review import Reviewer
from mios.governance.review_context import ReviewContext
from tests.support.cli import ok, run


def submit_to_minors(shop: Path, *, hours_ago: float = 0, escalate: bool = True) -> str:
    """An agent's message to the sensitive ``minors`` segment, through the gate; legal must
    approve it. (There is no ``submit`` command yet.) It goes on the content channel: email,
    SMS and push to the whole segment are denied, as two minors have not consented."""
    settings = Settings()
    store = open_context_store(shop, settings)
    governance = open_governance(shop, settings)
    try:
        snapshot = store.snapshot()
        workspace = snapshot.workspace
        action = Action(
            id="minors-winter",
            proposal_id="p-minors-winter",
            kind=ActionKind.SEND_MESSAGE,
            snapshot_version=snapshot.version,
            channel=ChannelName.CONTENT,
            audience=Audience(segment_id="minors"),
            content=Content("Winter layers", "Warm layers for school mornings."),
        )
        then = utc_now() - timedelta(hours=hours_ago)
        context = ReviewContext(workspace, snapshot.customers(), snapshot.ledger, then)
        review = Reviewer(workspace, built_in_checkers()).review(action, context, RiskTier.LOW)
        guardrails = workspace.guardrails
        if not escalate:
            approvals = replace(guardrails.approvals, escalate_to=())
            guardrails = replace(guardrails, approvals=approvals)
        command = human_command(governance, guardrails, clock=lambda: then)
        request = command.submit(action, review, "agent:crm").request
    finally:
        governance.close()
        store.close()
    assert request is not None
    assert request.required_roles == {"legal"}
    return request.id


def requests(shop: Path, token: str, *extra: str) -> list[dict[str, Any]]:
    return list(ok("-w", str(shop), "approvals", "list", *extra, token=token))


# -- people and tokens -----------------------------------------------------------------------------


def test_the_first_user_must_be_an_admin_and_later_ones_need_an_admins_token(shop: Path) -> None:
    w = str(shop)
    refused = run("-w", w, "users", "add", "eve", "--name", "Eve", "--role", "viewer")
    assert refused.exit_code == 3
    assert "first user must be an admin" in refused.output
    ok("-w", w, "users", "add", "ada", "--name", "Ada", "--role", "admin", "--role", "legal")
    shown = run("-w", w, "users", "token", "ada", "--label", "laptop")
    assert shown.exit_code == 0, shown.output
    token = shown.stdout.strip()
    assert token.startswith("mios_")
    assert "shown only now" in shown.output
    assert run("-w", w, "users", "add", "eve", "--name", "Eve", "--role", "viewer").exit_code == 3
    assert run("-w", w, "users", "token", "ada").exit_code == 3  # the bootstrap is over
    people = ok("-w", w, "users", "list", token=token)
    assert [(p["id"], p["roles"], p["live_tokens"]) for p in people] == [
        ("ada", ["admin", "legal"], 1)
    ]


def test_bad_roles_and_bad_ids_are_input_errors(shop: Path, tokens: dict[str, str]) -> None:
    w = str(shop)
    unknown = run(
        "-w", w, "users", "add", "eve", "--name", "Eve", "--role", "boss", token=tokens["ada"]
    )
    assert unknown.exit_code == 2
    bad_id = run(
        "-w", w, "users", "add", "Eve!", "--name", "Eve", "--role", "viewer", token=tokens["ada"]
    )
    assert bad_id.exit_code == 2
    assert "lowercase" in bad_id.output
    by_legal = run(
        "-w", w, "users", "add", "eve", "--name", "Eve", "--role", "viewer", token=tokens["lee"]
    )
    assert by_legal.exit_code == 3


def test_a_removed_users_token_stops_working(shop: Path, tokens: dict[str, str]) -> None:
    w = str(shop)
    ok("-w", w, "users", "remove", "lee", "--reason", "left the company", token=tokens["ada"])
    refused = run("-w", w, "approvals", "list", token=tokens["lee"])
    assert refused.exit_code == 3
    assert "not valid" in refused.output
    people = {p["id"]: p for p in ok("-w", w, "users", "list", token=tokens["ada"])}
    assert (people["lee"]["active"], people["lee"]["live_tokens"]) == (False, 0)


def test_no_token_or_a_wrong_one_is_refused_without_echoing_it(
    shop: Path, tokens: dict[str, str]
) -> None:
    w = str(shop)
    missing = run("-w", w, "status")
    assert missing.exit_code == 3
    assert "MIOS_TOKEN" in missing.output
    made_up = "mios_" + "x" * 43
    wrong = run("-w", w, "approvals", "list", token=made_up)
    assert wrong.exit_code == 3
    assert made_up not in wrong.output


# -- approvals -------------------------------------------------------------------------------------


def test_legal_approves_a_message_to_minors(shop: Path, tokens: dict[str, str]) -> None:
    w = str(shop)
    request_id = submit_to_minors(shop)
    [waiting] = requests(shop, tokens["bo"])
    assert (waiting["id"], waiting["status"], waiting["roles"], waiting["quorum"]) == (
        request_id,
        "pending",
        ["legal"],
        1,
    )
    assert 0 < waiting["expires_in_seconds"] <= 24 * 3600
    wrong_role = run(
        "-w", w, "approvals", "approve", request_id, "--role", "legal", token=tokens["bo"]
    )
    assert wrong_role.exit_code == 3
    assert "does not hold role legal" in wrong_role.output
    not_asked = run(
        "-w", w, "approvals", "approve", request_id, "--role", "brand", token=tokens["bo"]
    )
    assert not_asked.exit_code == 3
    approved = ok(
        "-w", w, "approvals", "approve", request_id, "--role", "legal", token=tokens["lee"]
    )
    assert approved["status"] == "approved"
    assert requests(shop, tokens["bo"]) == []
    [done] = requests(shop, tokens["bo"], "--all")
    assert (done["status"], done["approvals"]) == ("approved", 1)
    assert done["answers"][0]["by"] == "lee"
    shown = ok("-w", w, "approvals", "show", request_id, token=tokens["ana"])
    assert shown["action"]["state"] == "approved"
    assert shown["action"]["audience"]["segment_id"] == "minors"
    assert shown["action"]["content_hash"] == shown["request"]["content_hash"]
    assert shown["verdict"]["effect"] == "approve"
    assert "sensitive-audience/approval" in {f["rule"] for f in shown["verdict"]["findings"]}
    again = run("-w", w, "approvals", "approve", request_id, "--role", "legal", token=tokens["lou"])
    assert again.exit_code == 2  # closed: it takes no more answers


def test_a_rejection_needs_a_reason_and_blocks_the_action(
    shop: Path, tokens: dict[str, str]
) -> None:
    w = str(shop)
    request_id = submit_to_minors(shop)
    no_reason = run(
        "-w", w, "approvals", "reject", request_id, "--role", "legal", token=tokens["lee"]
    )
    assert no_reason.exit_code == 2
    blank = run(
        "-w",
        w,
        "approvals",
        "reject",
        request_id,
        "--role",
        "legal",
        "--reason",
        " ",
        token=tokens["lee"],
    )
    assert blank.exit_code == 2
    rejected = ok(
        "-w",
        w,
        "approvals",
        "reject",
        request_id,
        "--role",
        "legal",
        "--reason",
        "not for kids",
        token=tokens["lee"],
    )
    assert rejected["status"] == "rejected"
    shown = ok("-w", w, "approvals", "show", request_id, token=tokens["lee"])
    assert shown["action"]["state"] == "blocked"


def test_an_edit_is_a_new_version_someone_else_approves(
    shop: Path, tokens: dict[str, str], tmp_path: Path
) -> None:
    w = str(shop)
    request_id = submit_to_minors(shop)
    ok(
        "-w",
        w,
        "approvals",
        "request-changes",
        request_id,
        "--role",
        "legal",
        "--reason",
        "say who it is from",
        token=tokens["lou"],
    )
    body = tmp_path / "body.txt"
    body.write_text("Warm layers for school mornings, from Northwind Outfitters.")
    edited = ok(
        "-w",
        w,
        "approvals",
        "edit",
        request_id,
        "--body-file",
        str(body),
        "--subject",
        "Layers",
        token=tokens["lee"],
    )
    assert (edited["version"], edited["verdict"]) == (2, "approve")
    new_id = edited["request"]["id"]
    assert new_id != request_id
    [old, new] = requests(shop, tokens["ada"], "--all")
    assert (old["status"], new["status"]) == ("superseded", "pending")
    by_editor = run("-w", w, "approvals", "approve", new_id, "--role", "legal", token=tokens["lee"])
    assert by_editor.exit_code == 3
    assert "proposed this" in by_editor.output
    ok("-w", w, "approvals", "approve", new_id, "--role", "legal", token=tokens["lou"])
    shown = ok("-w", w, "approvals", "show", new_id, token=tokens["ada"])
    assert shown["action"]["version"] == 2
    assert shown["action"]["content"]["subject"] == "Layers"
    assert shown["verdict"]["version"] == 2
    before = ok("-w", w, "approvals", "show", request_id, token=tokens["ada"])
    assert (before["action"]["version"], before["verdict"]["version"]) == (1, 1)
    assert before["action"]["content_hash"] == before["request"]["content_hash"]
    missing = run(
        "-w",
        w,
        "approvals",
        "edit",
        new_id,
        "--body-file",
        str(tmp_path / "none.txt"),
        token=tokens["lee"],
    )
    assert missing.exit_code == 2
    assert "none.txt" in missing.output


def test_an_overdue_request_fails_closed(shop: Path, tokens: dict[str, str]) -> None:
    w = str(shop)
    request_id = submit_to_minors(shop, hours_ago=25, escalate=False)
    late = run("-w", w, "approvals", "approve", request_id, "--role", "legal", token=tokens["lee"])
    assert late.exit_code == 2
    assert "expired" in late.output
    shown = ok("-w", w, "approvals", "show", request_id, token=tokens["lee"])
    assert shown["request"]["status"] == "expired"
    assert shown["action"]["state"] == "blocked"


def test_an_overdue_request_escalates_to_an_admin(shop: Path, tokens: dict[str, str]) -> None:
    w = str(shop)
    request_id = submit_to_minors(shop, hours_ago=25)
    [escalated] = requests(shop, tokens["ada"])
    assert (escalated["status"], escalated["roles"]) == ("escalated", ["admin"])
    refused = run(
        "-w", w, "approvals", "approve", request_id, "--role", "legal", token=tokens["lee"]
    )
    assert refused.exit_code == 3
    ok("-w", w, "approvals", "approve", request_id, "--role", "admin", token=tokens["ada"])


def test_an_unknown_request_is_named(shop: Path, tokens: dict[str, str]) -> None:
    result = run("-w", str(shop), "approvals", "show", "req-nope", token=tokens["lee"])
    assert result.exit_code == 2
    assert "req-nope" in result.output


# -- the audit trail -------------------------------------------------------------------------------


def tamper(shop: Path, seq: int) -> None:
    """Change one record the way someone with the database file could: drop the trigger."""
    with sqlite3.connect(shop / DATA_DIR / DATABASE_FILE) as conn:
        conn.execute("DROP TRIGGER audit_log_no_update")
        conn.execute("UPDATE audit_log SET reason = 'nothing to see' WHERE seq = ?", (seq,))
    conn.close()


def test_verify_passes_then_names_the_record_someone_changed(
    shop: Path, tokens: dict[str, str]
) -> None:
    w = str(shop)
    request_id = submit_to_minors(shop)
    ok("-w", w, "approvals", "approve", request_id, "--role", "legal", token=tokens["lee"])
    report = ok("-w", w, "audit", "verify", token=tokens["ana"])
    assert report["ok"]
    seq, digest = report["head"].split(":")
    assert report["checked"] == int(seq) >= 12
    text = run("-w", w, "audit", "verify", "--head", report["head"], token=tokens["ana"])
    assert text.exit_code == 0, text.output
    assert f"{int(seq):,} records verified" in text.stdout
    assert digest in text.stdout
    assert (
        run("-w", w, "audit", "verify", "--head", "12:nothex", token=tokens["ana"]).exit_code == 2
    )
    assert (
        run("-w", w, "audit", "verify", token=tokens["bo"]).exit_code == 3
    )  # brand reads no audit

    tamper(shop, 5)
    broken = run("-w", w, "audit", "verify", token=tokens["ada"])
    assert broken.exit_code == 1
    assert "record 5 was changed" in broken.output
    as_json = run("-w", w, "audit", "verify", "--json", token=tokens["ada"])
    assert as_json.exit_code == 1
    assert json.loads(as_json.stdout)["first_bad_seq"] == 5


def test_an_export_verifies_away_from_the_database(
    shop: Path, tokens: dict[str, str], tmp_path: Path
) -> None:
    w = str(shop)
    submit_to_minors(shop)
    out = tmp_path / "audit.jsonl"
    written = ok("-w", w, "audit", "export", "--jsonl", "--output", str(out), token=tokens["lee"])
    lines = out.read_text(encoding="utf-8").split("\n")[:-1]
    assert written["records"] == len(lines)
    assert verify_records(read_jsonl(lines)).ok
    assert not list(tmp_path.glob(".audit.jsonl.*"))  # no partial file left behind
    to_stdout = run("-w", w, "audit", "export", "--jsonl", token=tokens["lee"])
    assert to_stdout.exit_code == 0
    assert to_stdout.stdout.split("\n")[:-1] == lines
    assert run("-w", w, "audit", "export", token=tokens["lee"]).exit_code == 2  # no format
    nowhere = run(
        "-w",
        w,
        "audit",
        "export",
        "--jsonl",
        "--output",
        str(tmp_path / "no" / "a.jsonl"),
        token=tokens["lee"],
    )
    assert nowhere.exit_code == 2
    assert all(token not in out.read_text() for token in tokens.values())


def test_show_filters_by_subject_and_event_family(shop: Path, tokens: dict[str, str]) -> None:
    w = str(shop)
    request_id = submit_to_minors(shop)
    for_request = ok("-w", w, "audit", "show", "--subject", request_id, token=tokens["ana"])
    assert [r["event"] for r in for_request] == ["approval.requested"]
    users = ok("-w", w, "audit", "show", "--event", "user", "--last", "2", token=tokens["ana"])
    assert [(r["event"], r["subject"]) for r in users] == [
        ("user.added", "bo"),
        ("user.added", "ana"),
    ]


# -- the kill switch -------------------------------------------------------------------------------


def test_legal_pauses_and_only_an_admin_resumes(shop: Path, tokens: dict[str, str]) -> None:
    w = str(shop)
    assert ok("-w", w, "status", token=tokens["bo"]) == {"paused": False}
    ok("-w", w, "pause", "--reason", "a wrong price went out", token=tokens["lee"])
    status = ok("-w", w, "status", token=tokens["bo"])
    assert (status["paused"], status["by"], status["reason"]) == (
        True,
        "lee",
        "a wrong price went out",
    )
    text = run("-w", w, "status", token=tokens["bo"])
    assert "PAUSED" in text.stdout
    assert "lee" in text.stdout
    refused = run("-w", w, "resume", "--reason", "fixed", token=tokens["lee"])
    assert refused.exit_code == 3
    assert ok("-w", w, "status", token=tokens["bo"])["paused"]
    assert run("-w", w, "pause", "--reason", "me too", token=tokens["ana"]).exit_code == 3
    ok("-w", w, "resume", "--reason", "price fixed", token=tokens["ada"])
    assert ok("-w", w, "status", token=tokens["bo"]) == {"paused": False}
    events = [
        r["event"]
        for r in ok("-w", w, "audit", "show", "--event", "killswitch", token=tokens["ada"])
    ]
    assert events == ["killswitch.paused", "killswitch.resumed"]


# -- help ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ["users"],
        ["users", "add"],
        ["users", "list"],
        ["users", "token"],
        ["users", "remove"],
        ["approvals"],
        ["approvals", "list"],
        ["approvals", "show"],
        ["approvals", "approve"],
        ["approvals", "reject"],
        ["approvals", "request-changes"],
        ["approvals", "edit"],
        ["audit"],
        ["audit", "verify"],
        ["audit", "export"],
        ["audit", "show"],
        ["pause"],
        ["resume"],
        ["status"],
    ],
)
def test_every_governance_command_has_help_with_an_example(command: list[str]) -> None:
    result = run(*command, "--help")
    assert result.exit_code == 0
    assert "Example" in result.stdout
    assert "--token" not in result.stdout  # tokens come from MIOS_TOKEN only


def test_an_approval_counts_only_for_the_content_the_approver_saw(
    shop: Path, tokens: dict[str, str]
) -> None:
    w = str(shop)
    request_id = submit_to_minors(shop)
    missing = CliRunner().invoke(
        app,
        ["-w", w, "approvals", "approve", request_id, "--role", "legal"],
        env={"MIOS_DATABASE_URL": "", "MIOS_TOKEN": tokens["lee"]},
    )
    assert missing.exit_code == 2  # --hash is required
    other = run(
        "-w", w, "approvals", "approve", request_id, "--role", "legal", "--hash", "0" * 12,
        token=tokens["lee"],
    )  # fmt: skip
    assert other.exit_code == 2
    assert "content changed" in other.output
