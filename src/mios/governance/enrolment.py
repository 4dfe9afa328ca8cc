"""People and tokens: the first admin, adding and removing people, issuing tokens."""

from __future__ import annotations

from dataclasses import replace

from mios.domain.governance import Role
from mios.errors import AccessDenied, DomainError
from mios.governance.command_base import CommandBase, atomic, require_reason
from mios.governance.people import IssuedToken, Operation, User, authorize, issue_token


class PeopleCommands(CommandBase):
    @atomic
    def add_user(self, token: str | None, user_id: str, name: str, roles: frozenset[Role]) -> User:
        """Add a person. The very first must be an admin and needs no token (bootstrap)."""
        now = self.clock()
        if self.store.users():
            by = self.authenticate(token)
            authorize(by, Operation.MANAGE_USERS)
            actor, actor_role = by.id, Role.ADMIN
        else:
            if Role.ADMIN not in roles:
                raise AccessDenied("the first user must be an admin, who then adds the others")
            actor, actor_role = user_id, Role.ADMIN
        if self.store.user(user_id) is not None:
            raise DomainError(f"user {user_id} already exists")
        user = User(user_id, name, roles, now)
        self.store.save_user(user)
        self._record(actor, actor_role, "user.added", user_id, {"roles": sorted(roles)})
        return user

    @atomic
    def issue_token(self, token: str | None, user_id: str, label: str = "") -> IssuedToken:
        """A new token for ``user_id``. Admins issue tokens; while no token exists at all, the
        first admin may take one without (that is how the first sign-in happens)."""
        user = self.store.user(user_id)
        if user is None or not user.active:
            raise DomainError(f"no active user {user_id}")
        bootstrap = not any(self.store.tokens_of(u.id) for u in self.store.users())
        if bootstrap and Role.ADMIN in user.roles:
            actor = user
        else:
            actor = self.authenticate(token)
            authorize(actor, Operation.MANAGE_USERS)
        issued = issue_token(user, self.clock(), label)
        self.store.save_token(issued.record)
        self._record(actor.id, Role.ADMIN, "credential.issued", user_id, {"label": label})
        return issued

    @atomic
    def remove_user(self, token: str | None, user_id: str, reason: str) -> User:
        by = self.authenticate(token)
        authorize(by, Operation.MANAGE_USERS)
        require_reason(reason, "removing a user")
        user = self.store.user(user_id)
        if user is None or not user.active:
            raise DomainError(f"no active user {user_id}")
        admins = [u for u in self.store.users() if u.active and Role.ADMIN in u.roles]
        if Role.ADMIN in user.roles and len(admins) == 1:
            # Without an admin nobody could add people, issue tokens or resume a paused mios.
            raise DomainError(f"{user_id} is the last admin; add another admin first")
        removed = replace(user, active=False)
        self.store.save_user(removed)
        for record in self.store.tokens_of(user_id):
            self.store.save_token(replace(record, revoked=True))
        self._record(by.id, Role.ADMIN, "user.removed", user_id, {}, reason)
        return removed
