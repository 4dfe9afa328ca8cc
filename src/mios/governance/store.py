"""The governance store port: people, tokens, actions awaiting people, requests, the kill switch.

Implementations: ``InMemoryGovernanceStore`` here (tests, one process) and the SQL store in
``mios.persistence``; both pass one contract suite. Stored objects are copies: changing an
object after saving it changes nothing until it is saved again.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from mios.domain.action import Action
from mios.domain.governance import ApprovalRequest
from mios.governance.people import TokenRecord, User


@dataclass(frozen=True)
class PauseState:
    """The kill switch is on: who pulled it, when and why."""

    by: str
    at: datetime
    reason: str


class GovernanceStore(Protocol):
    def save_user(self, user: User) -> None: ...

    def user(self, user_id: str) -> User | None: ...

    def users(self) -> list[User]: ...

    def save_token(self, record: TokenRecord) -> None: ...

    def token(self, digest: str) -> TokenRecord | None: ...

    def tokens_of(self, user_id: str) -> list[TokenRecord]: ...

    def save_action(self, action: Action) -> None:
        """Insert or replace one version of an action (keyed by id and version)."""
        ...

    def action(self, action_id: str, version: int | None = None) -> Action | None:
        """A version of an action, the newest by default."""
        ...

    def save_request(self, request: ApprovalRequest) -> None: ...

    def request(self, request_id: str) -> ApprovalRequest | None: ...

    def requests(self, *, open_only: bool = False) -> list[ApprovalRequest]:
        """Requests in the order they were first saved."""
        ...

    def pause_state(self) -> PauseState | None: ...

    def set_pause_state(self, state: PauseState | None) -> None: ...


class InMemoryGovernanceStore:
    def __init__(self) -> None:
        self._users: dict[str, User] = {}
        self._tokens: dict[str, TokenRecord] = {}
        self._actions: dict[tuple[str, int], Action] = {}
        self._requests: dict[str, ApprovalRequest] = {}
        self._pause: PauseState | None = None

    def save_user(self, user: User) -> None:
        self._users[user.id] = user

    def user(self, user_id: str) -> User | None:
        return self._users.get(user_id)

    def users(self) -> list[User]:
        return list(self._users.values())

    def save_token(self, record: TokenRecord) -> None:
        self._tokens[record.digest] = record

    def token(self, digest: str) -> TokenRecord | None:
        return self._tokens.get(digest)

    def tokens_of(self, user_id: str) -> list[TokenRecord]:
        return [t for t in self._tokens.values() if t.user_id == user_id]

    def save_action(self, action: Action) -> None:
        self._actions[(action.id, action.version)] = copy.deepcopy(action)

    def action(self, action_id: str, version: int | None = None) -> Action | None:
        if version is None:
            versions = [v for (i, v) in self._actions if i == action_id]
            if not versions:
                return None
            version = max(versions)
        found = self._actions.get((action_id, version))
        return copy.deepcopy(found) if found is not None else None

    def save_request(self, request: ApprovalRequest) -> None:
        self._requests[request.id] = copy.deepcopy(request)

    def request(self, request_id: str) -> ApprovalRequest | None:
        found = self._requests.get(request_id)
        return copy.deepcopy(found) if found is not None else None

    def requests(self, *, open_only: bool = False) -> list[ApprovalRequest]:
        return [copy.deepcopy(r) for r in self._requests.values() if r.is_open or not open_only]

    def pause_state(self) -> PauseState | None:
        return self._pause

    def set_pause_state(self, state: PauseState | None) -> None:
        self._pause = state
