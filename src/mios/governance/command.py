"""Human Command: what people do to actions, and everything recorded in the audit trail.

    command = HumanCommand(store, audit, clock, rules=workspace.guardrails.approvals)
    command.submit(action, review, proposer_id)            # allow, ask people, or block
    command.answer(request_id, token, role, "approve")     # or "reject" / "request_changes"
    command.edit(request_id, token, reviewer, context, content=...)   # a new version, reviewed
    command.expire_due()                                   # escalate or expire, failing closed
    command.pause(token, reason) / command.resume(token, reason)

Every call authenticates its token first; every outcome, refusals included, is an audit record
with the person, the role and the reason. Approvals bind to the content hash and are used once.
People and tokens are in ``enrolment``; the transaction and the records in ``command_base``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from mios.domain.action import Action, ActionState
from mios.domain.governance import (
    Approval,
    ApprovalRefused,
    ApprovalRequest,
    ApprovalStatus,
    Role,
    SeparationOfDuties,
    WrongRole,
)
from mios.domain.money import Money
from mios.domain.proposal import Audience, Content, RiskTier
from mios.errors import AccessDenied, DomainError
from mios.governance.changes import (
    CHANGE_KINDS,
    GovernanceChange,
    admin_review,
    change_action,
    summary,
)
from mios.governance.command_base import GOVERNANCE, atomic, require_reason, role_for
from mios.governance.enrolment import PeopleCommands
from mios.governance.people import (
    Operation,
    authorize,
)
from mios.governance.review import Review, Reviewer
from mios.governance.review_context import ReviewContext
from mios.governance.store import PauseState

Decision = Literal["approve", "reject", "request_changes"]


def _request_id(action: Action) -> str:
    return f"req-{action.id}-v{action.version}"


@dataclass(frozen=True)
class Submission:
    action: Action
    review: Review
    request: ApprovalRequest | None  # set when people must approve


class HumanCommand(PeopleCommands):
    # -- actions through the gate ---------------------------------------------------------

    @atomic
    def submit(self, action: Action, review: Review, proposer_id: str) -> Submission:
        """Act on a review: block a denied action, ask people, or let it go. A version of an
        action goes through the gate once: submitting it again would reset its request (and
        the answers already given), so it is refused; an edit makes a new version."""
        if self.store.action(action.id, action.version) is not None:
            raise DomainError(
                f"action {action.id} version {action.version} was already submitted; edit it "
                "to make a new version"
            )
        now = self.clock()
        if action.state is ActionState.PROPOSED:
            action.decide(now)
        verdict = review.verdict
        self._record(
            GOVERNANCE,
            None,
            "verdict",
            action.id,
            {
                "version": action.version,
                "proposer": proposer_id,
                "content_hash": verdict.content_hash,
                "effect": str(verdict.effect),
                "risk": str(review.risk),
                "autonomy": str(review.mode),
                "roles": sorted(verdict.required_roles),
                "quorum": verdict.quorum,
                "findings": [
                    {"rule": f.rule_id, "severity": str(f.severity), "message": f.message}
                    for f in verdict.findings
                ],
            },
        )
        request = None
        if review.blocked:
            reasons = "; ".join(f.message for f in verdict.findings if f.severity == "deny")
            action.block(now, GOVERNANCE, reasons)
            self._record(GOVERNANCE, None, "action.blocked", action.id, {}, reasons)
        elif review.needs_approval:
            request = ApprovalRequest.for_verdict(
                _request_id(action),
                verdict,
                proposer_id=proposer_id,
                created_at=now,
                ttl=timedelta(hours=self.rules.ttl_hours),
                escalate_to=self.rules.escalate_to,
            )
            action.await_approval(now)
            self.store.save_request(request)
            self._record(
                GOVERNANCE,
                None,
                "approval.requested",
                request.id,
                {
                    "action": action.id,
                    "proposer": proposer_id,
                    "version": action.version,
                    "roles": sorted(request.required_roles),
                    "quorum": request.quorum,
                    "expires_at": request.expires_at.isoformat(),
                },
            )
        else:
            action.approve(now, GOVERNANCE)
            event = "action.allowed.notify" if review.notify else "action.allowed"
            self._record(GOVERNANCE, None, event, action.id, {"autonomy": str(review.mode)})
        self.store.save_action(action)
        return Submission(action, review, request)

    def answer(
        self,
        request_id: str,
        token: str | None,
        role: Role,
        decision: Decision,
        reason: str | None = None,
        *,
        seen_hash: str | None = None,
    ) -> ApprovalRequest:
        """One person's answer in one role. Refusals are recorded (and committed), then raised."""
        refused: ApprovalRefused | None = None
        try:
            user = self.authenticate(token)
        except AccessDenied as exc:
            self._record_refusal(f"answer.{decision}", exc)
            raise
        with self.transaction():
            request = self._request(request_id)
            action = self._action_of(request)
            now = self.clock()
            if request.is_open and now >= request.expires_at:
                self._expire(request, action, now)
            # The answer binds to the content the person saw (``seen_hash``, a prefix of at least
            # 12 characters as ``approvals show`` prints it), not to whatever is stored now.
            content_hash = action.content_hash()
            if seen_hash is not None and (
                len(seen_hash) < 12 or not content_hash.startswith(seen_hash)
            ):
                content_hash = seen_hash  # another content: ``record`` refuses it as stale
            try:
                approval = Approval(
                    request.id, user.actor(), role, content_hash, now, decision, reason
                )
                status = request.record(approval, now)
            except ApprovalRefused as exc:
                refused = exc
                event = f"approval.refused.{decision}"
                self._record(user.id, role, event, request.id, {}, str(exc))
            else:
                answered = {"status": str(status)}
                self._record(user.id, role, f"approval.{decision}", request.id, answered, reason)
                if status is ApprovalStatus.APPROVED:
                    action.approve(now, user.id)
                    self._record(
                        user.id, role, "action.approved", action.id, {"request": request.id}
                    )
                elif status is ApprovalStatus.REJECTED:
                    action.block(now, user.id, f"rejected by {user.id}: {reason}")
                    self._record(user.id, role, "action.blocked", action.id, {}, reason)
            self.store.save_request(request)
            self.store.save_action(action)
        # Raised only once the refusal and any expiry are committed: both must stay on record.
        if isinstance(refused, SeparationOfDuties | WrongRole):
            raise AccessDenied(str(refused)) from refused
        if refused is not None:
            raise refused
        return request

    @atomic
    def edit(
        self,
        request_id: str,
        token: str | None,
        reviewer: Reviewer,
        context: ReviewContext,
        *,
        risk: RiskTier = RiskTier.MEDIUM,
        content: Content | None = None,
        audience: Audience | None = None,
        spend: Money | None = None,
        parameters: Mapping[str, Any] | None = None,
    ) -> Submission:
        """A person who may decide the request edits the action: the old request is replaced,
        and the new version goes through the whole review again with the editor as its
        proposer, so someone else must approve it."""
        user = self.authenticate(token)
        request = self._request(request_id)
        if not user.roles & request.required_roles:
            needed = ", ".join(sorted(request.required_roles))
            raise AccessDenied(f"editing {request.id} needs one of: {needed}", user.id)
        action = self._action_of(request)
        if action.kind in CHANGE_KINDS:
            raise DomainError(
                f"{action.id} changes the rules from the workspace files; edit the files and "
                "sync, which asks anew"
            )
        now = self.clock()
        edited = action.edited(
            at=now,
            by=user.id,
            content=content,
            audience=audience,
            spend=spend,
            parameters=parameters,
        )
        request.supersede()
        self.store.save_request(request)
        # The role that entitled the edit: the first of the editor's that the request asked for.
        role = sorted(user.roles & request.required_roles)[0]
        self._record(
            user.id,
            role,
            "action.edited",
            action.id,
            {"from_version": action.version, "to_version": edited.version, "request": request.id},
        )
        return self.submit(edited, reviewer.review(edited, context, risk), proposer_id=user.id)

    @atomic
    def expire_due(self) -> list[ApprovalRequest]:
        """Requests past their deadline escalate to the next role, or expire and block their
        action: an unanswered request never lets anything run."""
        now = self.clock()
        changed = []
        for request in self.store.requests(open_only=True):
            if now >= request.expires_at:
                self._expire(request, self._action_of(request), now)
                changed.append(request)
        return changed

    @atomic
    def use_approval(self, action: Action) -> None:
        """Spend the approval of exactly this content on one execution. Raises while mios is
        paused, for an action that is not approved, and for an approval already used."""
        paused = self.store.pause_state()
        if paused is not None:
            raise DomainError(
                f"mios is paused (by {paused.by}: {paused.reason}); {action.id} stays queued"
            )
        stored = self.store.action(action.id, action.version)
        if stored is None or stored.state is not ActionState.APPROVED:
            state = "unknown" if stored is None else str(stored.state)
            raise DomainError(f"action {action.id} is {state}, not approved; it may not run")
        request = self.store.request(_request_id(action))
        if request is None:
            return  # allowed without people: nothing to spend
        request.use(action.content_hash())
        self.store.save_request(request)
        self._record(GOVERNANCE, None, "approval.used", request.id, {"action": action.id})

    @atomic
    def record_transition(
        self,
        action: Action,
        actor: str,
        event: str,
        data: Mapping[str, Any] | None = None,
        reason: str | None = None,
    ) -> None:
        """Save an action that moved on after the gate (executing, executed, failed) and its
        audit record, together: the lifecycle's moves are on the record like people's."""
        self.store.save_action(action)
        details = {"version": action.version, **(data or {})}
        self._record(actor, None, event, action.id, details, reason)

    # -- changes to the rules themselves --------------------------------------------------

    @atomic
    def admit_governance_change(
        self,
        proposer_id: str,
        current: Mapping[str, Any] | None,
        proposed: Mapping[str, Any],
        snapshot_version: int,
        *,
        ask_again: bool = False,
    ) -> GovernanceChange:
        """Judge a change of policies, autonomy or governance settings (``changes``).

        The first rules of a workspace, and changes made before any admin is enrolled, take
        effect and are recorded. Otherwise the change waits for an admin; once approved, the
        next sync applies it and spends the approval. A rejected or expired change stays
        refused until the files change or ``ask_again``."""
        admins = [u for u in self.store.users() if u.active and Role.ADMIN in u.roles]
        if current is None or not admins:
            lines = summary(current or {}, proposed) if current is not None else ()
            why = "first load" if current is None else "no admin is enrolled to approve it"
            self._record(
                proposer_id,
                None,
                "governance.loaded",
                GOVERNANCE,
                {"changes": list(lines)},
                why,
            )
            return GovernanceChange("loaded", GOVERNANCE, lines)
        latest = change_action(current, proposed, snapshot_version, 1)
        stored = self.store.action(latest.id)
        lines = tuple(latest.parameters["changes"])
        request = None if stored is None else self.store.request(_request_id(stored))
        if request is not None and request.status is ApprovalStatus.APPROVED:
            request.use(stored.content_hash() if stored else None)
            self.store.save_request(request)
            self._supersede_other_changes(request.action_id)
            self._record(
                GOVERNANCE,
                None,
                "governance.applied",
                latest.id,
                {"request": request.id, "changes": list(lines)},
            )
            return GovernanceChange("applied", latest.id, lines, request)
        if request is not None and request.is_open:
            return GovernanceChange("awaiting", latest.id, lines, request)
        said_no = request is not None and (
            request.status is ApprovalStatus.CHANGES_REQUESTED
            or (stored is not None and stored.state is ActionState.BLOCKED)
        )
        if said_no and not ask_again:
            return GovernanceChange("refused", latest.id, lines, request)
        # Never asked, asked again, or its approval already spent (a sync that stopped between
        # spending it and storing the rules): a new version, so no approval is used twice.
        version = 1 if stored is None else stored.version + 1
        action = change_action(current, proposed, snapshot_version, version)
        self._supersede_other_changes(action.id)
        submitted = self.submit(action, admin_review(action), proposer_id)
        return GovernanceChange("awaiting", action.id, lines, submitted.request)

    def _supersede_other_changes(self, keep_action_id: str) -> None:
        """Close the open requests of other rule changes: the files have moved past them."""
        for other in self.store.requests(open_only=True):
            if other.action_id == keep_action_id:
                continue
            action = self._action_of(other)
            if action.kind not in CHANGE_KINDS:
                continue
            other.supersede()
            self.store.save_request(other)
            self._record(GOVERNANCE, None, "approval.superseded", other.id, {"action": action.id})

    # -- kill switch ----------------------------------------------------------------------

    @atomic
    def pause(self, token: str | None, reason: str) -> PauseState:
        user = self.authenticate(token)
        authorize(user, Operation.PAUSE)
        require_reason(reason, "pausing")
        state = PauseState(user.id, self.clock(), reason)
        self.store.set_pause_state(state)
        self._record(
            user.id, role_for(user, Operation.PAUSE), "killswitch.paused", GOVERNANCE, {}, reason
        )
        return state

    @atomic
    def resume(self, token: str | None, reason: str) -> None:
        user = self.authenticate(token)
        authorize(user, Operation.RESUME)
        require_reason(reason, "resuming")
        if self.store.pause_state() is None:
            raise DomainError("mios is not paused")
        self.store.set_pause_state(None)
        self._record(user.id, Role.ADMIN, "killswitch.resumed", GOVERNANCE, {}, reason)

    @property
    def paused(self) -> PauseState | None:
        return self.store.pause_state()

    # -- helpers --------------------------------------------------------------------------

    def _request(self, request_id: str) -> ApprovalRequest:
        request = self.store.request(request_id)
        if request is None:
            raise DomainError(f"no approval request {request_id}")
        return request

    def _action_of(self, request: ApprovalRequest) -> Action:
        action = self.store.action(request.action_id)
        if action is None:
            raise DomainError(f"approval request {request.id} names unknown action")
        return action

    def _expire(self, request: ApprovalRequest, action: Action, now: datetime) -> None:
        status = request.expire(now)
        if status is ApprovalStatus.ESCALATED:
            self._record(
                GOVERNANCE,
                None,
                "approval.escalated",
                request.id,
                {
                    "roles": sorted(request.required_roles),
                    "expires_at": request.expires_at.isoformat(),
                },
            )
        else:
            if action.state is ActionState.AWAITING_APPROVAL:
                action.block(now, GOVERNANCE, "the approval request expired")
                self.store.save_action(action)
            self._record(GOVERNANCE, None, "approval.expired", request.id, {"action": action.id})
        self.store.save_request(request)
