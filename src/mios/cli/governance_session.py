"""What the Human Command commands share: the workspace's governance, opened for one command,
and the caller's token, read from ``MIOS_TOKEN`` (never an option: options land in shell
history). Commands authenticate before they change anything, so a bad token writes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import typer

from mios.cli.output import state

if TYPE_CHECKING:
    from mios.bootstrap import Governance
    from mios.context.store import ContextSnapshot
    from mios.governance.command import HumanCommand
    from mios.governance.people import Operation, User


@dataclass(frozen=True)
class GovernanceSession:
    command: HumanCommand
    governance: Governance
    snapshot: ContextSnapshot  # the newest context: the workspace's approval rules, re-reviews
    token: str | None

    def caller(self, operation: Operation | None = None) -> User:
        """The person the token belongs to, allowed ``operation``; ``AccessDenied`` otherwise."""
        from mios.governance.people import authorize

        user = self.command.authenticate(self.token)
        if operation is not None:
            authorize(user, operation)
        return user


@contextmanager
def governance_session(ctx: typer.Context) -> Iterator[GovernanceSession]:
    """Open the workspace's context and governance for one command; refuses a folder that is
    not an initialised workspace, and closes everything afterwards."""
    from mios.bootstrap import (
        human_command,
        open_governance,
        settings_from_environment,
        token_from_environment,
    )
    from mios.cli.context import _store

    store = _store(ctx, reading=True)
    try:
        snapshot = store.snapshot()
        governance = open_governance(state(ctx).workspace, settings_from_environment())
        try:
            yield GovernanceSession(
                human_command(governance, snapshot.workspace.guardrails),
                governance,
                snapshot,
                token_from_environment(),
            )
        finally:
            governance.close()
    finally:
        store.close()
