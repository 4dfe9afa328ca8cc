"""``mios users``: the people who command, their roles and their API tokens."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from mios.cli.governance_session import governance_session
from mios.cli.output import handles_errors, print_json, state, stderr, stdout
from mios.domain.governance import Role

if TYPE_CHECKING:
    from mios.governance.people import User

users_app = typer.Typer(
    help="Add people with roles, issue their API tokens, remove them.\n\n"
    "Commands read your token from MIOS_TOKEN. The very first user (an admin) needs none.\n\n"
    "Example:\n\n    mios -w shop users add ada --name 'Ada Lovelace' --role admin",
    no_args_is_help=True,
    rich_markup_mode=None,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def user_json(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "name": user.name,
        "roles": sorted(user.roles),
        "created_at": user.created_at.isoformat(),
        "active": user.active,
    }


@users_app.command("add")
@handles_errors
def add(
    ctx: typer.Context,
    user_id: Annotated[str, typer.Argument(help="Lowercase letters, digits, . _ -")],
    name: Annotated[str, typer.Option("--name", help="The person's name.")],
    roles: Annotated[list[Role], typer.Option("--role", help="A role; repeat for several.")],
    json_output: JsonOption = False,
) -> None:
    """Add a person with one or more roles (an admin's token in MIOS_TOKEN).

    The first user of a workspace must include the admin role and needs no token; get their
    token next with `mios users token`.

    Example: mios -w shop users add lee --name 'Lee Chen' --role legal --role brand
    """
    with governance_session(ctx) as session:
        user = session.command.add_user(session.token, user_id, name, frozenset(roles))
    if json_output or state(ctx).json:
        print_json(user_json(user))
    else:
        stdout.print(Text(f"Added {user.id} ({user.name}) as {', '.join(sorted(user.roles))}."))


@users_app.command("list")
@handles_errors
def list_users(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """List everyone with their roles, whether they are active, and how many live tokens.

    Example: mios -w shop users list --json
    """
    with governance_session(ctx) as session:
        session.caller()
        store = session.governance.store
        people = [(u, sum(not t.revoked for t in store.tokens_of(u.id))) for u in store.users()]
    if json_output or state(ctx).json:
        print_json([{**user_json(u), "live_tokens": n} for u, n in people])
        return
    table = Table("user", "name", "roles", "active", "live tokens", "added (UTC)")
    for user, live in people:
        table.add_row(
            Text(user.id),
            Text(user.name),
            ", ".join(sorted(user.roles)),
            "yes" if user.active else "removed",
            str(live),
            f"{user.created_at:%Y-%m-%d %H:%M}",
        )
    stdout.print(table)


@users_app.command("token")
@handles_errors
def token(
    ctx: typer.Context,
    user_id: Annotated[str, typer.Argument(help="Whose token.")],
    label: Annotated[str, typer.Option("--label", help="What it is for, e.g. 'laptop'.")] = "",
    json_output: JsonOption = False,
) -> None:
    """Issue a new API token and print it once; only its hash is kept.

    Admins issue tokens. The first admin takes their first token without one.

    Example: export MIOS_TOKEN=$(mios -w shop users token ada --json | jq -r .token)
    """
    with governance_session(ctx) as session:
        issued = session.command.issue_token(session.token, user_id, label)
    if json_output or state(ctx).json:
        print_json({"user": user_id, "token": issued.token})
        return
    stdout.print(issued.token, markup=False, highlight=False)
    stderr.print(
        Text(
            f"This is {user_id}'s token. It is shown only now: mios keeps only its hash. "
            "Give it to them to set as MIOS_TOKEN."
        )
    )


@users_app.command("remove")
@handles_errors
def remove(
    ctx: typer.Context,
    user_id: Annotated[str, typer.Argument(help="Who leaves.")],
    reason: Annotated[str, typer.Option("--reason", help="Why; kept in the audit trail.")],
    json_output: JsonOption = False,
) -> None:
    """Remove a person: their tokens stop working at once; their history stays.

    Example: mios -w shop users remove lee --reason 'left the company'
    """
    with governance_session(ctx) as session:
        user = session.command.remove_user(session.token, user_id, reason)
    if json_output or state(ctx).json:
        print_json(user_json(user))
    else:
        stdout.print(Text(f"Removed {user.id}; their tokens no longer work."))
