"""The ``mios`` command. Heavy libraries load inside the commands that need them, so
``mios --help`` answers at once."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mios.cli.agents import agents_app
from mios.cli.approvals import approvals_app
from mios.cli.audit import audit_app
from mios.cli.brain import brain_app
from mios.cli.context import context_app
from mios.cli.demo import demo
from mios.cli.killswitch import killswitch_app
from mios.cli.lifecycle import actions_app, cycles_app, lifecycle_app
from mios.cli.measure import measure_app
from mios.cli.output import CliState, handles_errors, print_json, state, stdout
from mios.cli.policy import policy_app
from mios.cli.sim import sim_app
from mios.cli.users import users_app

if TYPE_CHECKING:
    from mios.context.store import ContextSnapshot

app = typer.Typer(
    name="mios",
    help=(
        "mios: a governed marketing intelligence system.\n\n"
        "Example:\n\n"
        "    mios init shop && mios -w shop context show"
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(context_app, name="context")
app.add_typer(policy_app, name="policy")
app.add_typer(sim_app, name="sim")
app.add_typer(users_app, name="users")
app.add_typer(approvals_app, name="approvals")
app.add_typer(audit_app, name="audit")
app.add_typer(brain_app, name="brain")
app.add_typer(agents_app, name="agents")
app.add_typer(measure_app, name="measure")
app.command("demo")(demo)
app.add_typer(killswitch_app)  # pause, resume, status: top-level commands
app.add_typer(lifecycle_app)  # run, worker, learnings: top-level commands
app.add_typer(cycles_app, name="cycles")
app.add_typer(actions_app, name="actions")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


@app.callback()
def root(
    ctx: typer.Context,
    workspace: Annotated[
        Path,
        typer.Option(
            "--workspace", "-w", help="The workspace folder (default: the current folder)."
        ),
    ] = Path("."),
    json_output: Annotated[
        bool, typer.Option("--json", help="Print JSON for scripts (every command).")
    ] = False,
) -> None:
    ctx.obj = CliState(workspace=workspace, json=json_output)


def actor() -> str:
    """Who a CLI change is recorded as, until people sign in (the Human Command layer)."""
    return f"cli:{getpass.getuser()}"


@app.command()
def version(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """Print the mios version.

    Example: mios version --json
    """
    from mios import __version__

    if json_output or state(ctx).json:
        print_json({"version": __version__})
    else:
        stdout.print(f"mios {__version__}")


@app.command()
@handles_errors
def init(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Argument(help="A new or empty folder for the workspace.")],
    example: Annotated[
        str, typer.Option("--example", help="Which example to write: retail or b2b.")
    ] = "retail",
    customers: Annotated[
        int, typer.Option("--customers", min=1, help="How many customers to generate.")
    ] = 50_000,
    seed: Annotated[int, typer.Option("--seed", help="Seed for the generated data.")] = 7,
    json_output: JsonOption = False,
) -> None:
    """Write a realistic example workspace and load it as context version 1.

    Example: mios init shop --example retail
    """
    from mios.bootstrap import open_context_store, settings_from_environment, utc_now
    from mios.cli.render import render_init
    from mios.context.service import describe, init_workspace

    settings = settings_from_environment()
    with stdout.status(f"Writing the {example} example into {directory} ..."):
        result = init_workspace(
            directory,
            lambda root: open_context_store(root, settings),
            actor=actor(),
            example=example,
            customers=customers,
            seed=seed,
        )
    _record_first_rules(result.root, result.snapshot)
    summary = describe(result.snapshot, utc_now())
    if json_output or state(ctx).json:
        print_json({"path": str(result.root), **summary})
    else:
        render_init(result.root, summary)


def _record_first_rules(root: Path, snapshot: ContextSnapshot) -> None:
    """The audit trail starts with the rules the workspace was created with."""
    from mios.bootstrap import human_command, open_governance, settings_from_environment
    from mios.context.service import governance_parts

    governance = open_governance(root, settings_from_environment())
    try:
        command = human_command(governance, snapshot.workspace.guardrails)
        command.admit_governance_change(
            actor(), None, governance_parts(snapshot.spec), snapshot.version
        )
    finally:
        governance.close()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
