"""Running the ``mios`` CLI in tests, as a person holding a token, and the workspaces the
Human Command end-to-end tests share."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from mios.bootstrap import open_governance
from mios.cli.app import app
from mios.config import Settings

#: Who the ``tokens`` fixture enrols besides the admin ``ada``, and in which role.
PEOPLE = {"lee": "legal", "lou": "legal", "bo": "brand", "ana": "analyst"}


def run(*args: str, token: str | None = None) -> Result:
    env = {"MIOS_DATABASE_URL": "", "COLUMNS": "200", "MIOS_TOKEN": token or ""}
    return CliRunner().invoke(app, [*args, *_seen_hash(args)], env=env)


def _seen_hash(args: tuple[str, ...]) -> list[str]:
    """An approver approves the hash ``approvals show`` printed; tests read the same value."""
    if "approve" not in args or "--hash" in args or "-w" not in args or "--help" in args:
        return []
    workspace = Path(args[args.index("-w") + 1])
    request_id = args[args.index("approve") + 1]
    governance = open_governance(workspace, Settings.from_mapping({}))
    try:
        request = governance.store.request(request_id)
    finally:
        governance.close()
    return [] if request is None else ["--hash", request.content_hash[:12]]


def ok(*args: str, token: str | None = None) -> Any:
    """Run a command with --json that must succeed; its parsed output."""
    result = run(*args, "--json", token=token)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def shop_template(factory: pytest.TempPathFactory, *, customers: int = 300) -> Path:
    """An initialised example workspace (seed 3), made once per module and copied per test."""
    root = factory.mktemp("template") / "shop"
    result = run("init", str(root), "--customers", str(customers), "--seed", "3")
    assert result.exit_code == 0, result.output
    return root


def enrol(shop: Path) -> dict[str, str]:
    """The first admin bootstraps themself, then adds the others and issues their tokens."""
    w = str(shop)
    ok("-w", w, "users", "add", "ada", "--name", "Ada Admin", "--role", "admin")
    issued = {"ada": ok("-w", w, "users", "token", "ada")["token"]}
    for user_id, role in PEOPLE.items():
        ok(
            "-w",
            w,
            "users",
            "add",
            user_id,
            "--name",
            user_id.title(),
            "--role",
            role,
            token=issued["ada"],
        )
        issued[user_id] = ok("-w", w, "users", "token", user_id, token=issued["ada"])["token"]
    return issued
