"""``mios policy``: check one action against the workspace's governance; lint the policy files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from mios.cli.output import handles_errors, print_json, state, stdout

policy_app = typer.Typer(
    help="Check actions against policies and lint policy files.\n\n"
    "Example:\n\n    mios -w shop policy check action.json",
    no_args_is_help=True,
    rich_markup_mode=None,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


@policy_app.command("check")
@handles_errors
def check(
    ctx: typer.Context,
    action_file: Annotated[Path, typer.Argument(help="The action, as JSON (docs/governance.md).")],
    json_output: JsonOption = False,
) -> None:
    """Review one action against the stored context: policy rules, built-in checks, autonomy.

    Prints the verdict (allow, approve with roles, or deny) and every finding. Nothing runs.

    Example: mios -w shop policy check spring-email.json --json
    """
    from mios.bootstrap import utc_now
    from mios.cli.context import _store
    from mios.governance.action_file import read_action_file
    from mios.governance.checkers import built_in_checkers
    from mios.governance.review import Reviewer
    from mios.governance.review_context import ReviewContext

    store = _store(ctx, reading=True)
    try:
        snapshot = store.snapshot()
        workspace = snapshot.workspace
        action, risk = read_action_file(action_file, workspace.currency)
        context = ReviewContext(workspace, snapshot.customers(), snapshot.ledger, utc_now())
        review = Reviewer(workspace, built_in_checkers()).review(action, context, risk)
    finally:
        store.close()
    verdict = review.verdict
    result: dict[str, Any] = {
        "action": action.id,
        "content_hash": verdict.content_hash,
        "context_version": snapshot.version,
        "verdict": str(verdict.effect),
        "autonomy": str(review.mode),
        "risk": str(risk),
        "notify": review.notify,
        "required_roles": sorted(str(r) for r in verdict.required_roles),
        "quorum": verdict.quorum,
        "findings": [
            {
                "rule": f.rule_id,
                "severity": str(f.severity),
                "message": f.message,
                **({"span": f.span} if f.span else {}),
                **({"value": f.value} if f.value else {}),
            }
            for f in verdict.findings
        ],
    }
    if json_output or state(ctx).json:
        print_json(result)
        return
    headline = f"{action.id}: {result['verdict']}"
    if result["required_roles"]:
        headline += f" by {', '.join(result['required_roles'])} (quorum {verdict.quorum})"
    stdout.print(Text(headline, style="bold"))
    stdout.print(Text(f"autonomy {result['autonomy']} at {risk} risk; context v{snapshot.version}"))
    if verdict.findings:
        table = Table("severity", "rule", "message")
        for finding in result["findings"]:
            message = finding["message"]
            if "value" in finding:
                message += f" ({finding['value']})"
            table.add_row(finding["severity"], finding["rule"], Text(message))
        stdout.print(table)


@policy_app.command("lint")
@handles_errors
def lint(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """Compile every policy rule in the workspace folder and try each on sample actions.

    A rule that does not compile, names something unknown, or cannot be evaluated on an action
    of a kind it applies to is reported; any problem exits with code 2.

    Example: mios -w shop policy lint
    """
    from mios.bootstrap import utc_now
    from mios.context.translate import build_workspace
    from mios.context.workspace_files import load_workspace
    from mios.domain.customer_table import CustomerTable
    from mios.errors import WorkspaceError
    from mios.governance.lint import lint as lint_policies

    root = state(ctx).workspace
    loaded = load_workspace(root)
    workspace = build_workspace(loaded.spec)
    customers = loaded.customers or CustomerTable.empty()
    problems = lint_policies(workspace, customers, utc_now())
    rules = sum(len(p.rules) for p in workspace.policies)
    if json_output or state(ctx).json:
        print_json(
            {
                "packs": len(workspace.policies),
                "rules": rules,
                "problems": [
                    {"rule": p.rule, "kind": str(p.kind), "message": p.message} for p in problems
                ],
            }
        )
    else:
        for problem in problems:
            stdout.print(Text(str(problem)))
        stdout.print(
            Text(f"{len(workspace.policies)} packs, {rules} rules, {len(problems)} problems")
        )
    if problems:
        raise WorkspaceError(f"{len(problems)} policy problems") from None
