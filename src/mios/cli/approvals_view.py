"""How ``mios approvals`` shows requests: JSON for scripts, Rich for people."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

from mios.cli.output import stdout

if TYPE_CHECKING:
    from mios.domain.action import Action
    from mios.domain.audit import AuditRecord
    from mios.domain.governance import Approval, ApprovalRequest


def _approvals(request: ApprovalRequest) -> list[Approval]:
    return [a for a in request.approvals if a.decision == "approve"]


def request_json(request: ApprovalRequest, now: datetime) -> dict[str, Any]:
    return {
        "id": request.id,
        "action": request.action_id,
        "content_hash": request.content_hash,
        "status": str(request.status),
        "roles": sorted(request.required_roles),
        "quorum": request.quorum,
        "proposer": request.proposer_id,
        "approvals": len(_approvals(request)),
        "answers": [
            {
                "by": a.approver.id,
                "role": str(a.role),
                "decision": a.decision,
                "reason": a.reason,
                "at": a.at.isoformat(),
            }
            for a in request.approvals
        ],
        "created_at": request.created_at.isoformat(),
        "expires_at": request.expires_at.isoformat(),
        "expires_in_seconds": int((request.expires_at - now).total_seconds())
        if request.is_open
        else None,
        "escalate_to": list(request.escalate_to),
    }


def action_json(action: Action) -> dict[str, Any]:
    from mios.governance.codec import action_to_json

    shown = action_to_json(action)
    del shown["format"], shown["history"]
    return {**shown, "content_hash": action.content_hash()}


def verdict_json(record: AuditRecord) -> dict[str, Any]:
    return {**record.data, "at": record.at.isoformat(), "audit_seq": record.seq}


def render_list(requests: list[ApprovalRequest], now: datetime) -> None:
    table = Table("request", "action", "status", "roles", "quorum", "approved by", "expires in")
    for r in requests:
        table.add_row(
            Text(r.id),
            Text(r.action_id),
            str(r.status),
            ", ".join(sorted(r.required_roles)),
            str(r.quorum),
            Text(", ".join(f"{a.approver.id} ({a.role})" for a in _approvals(r)) or "-"),
            _expires_in(r.expires_at, now) if r.is_open else "-",
        )
    stdout.print(table)


def _expires_in(expires_at: datetime, now: datetime) -> str:
    left = expires_at - now
    if left <= timedelta(0):
        return "due now"
    hours, rest = divmod(int(left.total_seconds()), 3600)
    return f"{hours}h {rest // 60:02d}m"


def render_show(
    request: ApprovalRequest, action: Action, verdict: AuditRecord | None, now: datetime
) -> None:
    roles = ", ".join(sorted(request.required_roles))
    stdout.print(Text(f"{request.id}: {request.status}", style="bold"))
    expiry = _expires_in(request.expires_at, now) if request.is_open else "closed"
    stdout.print(
        Text(
            f"needs {roles} (quorum {request.quorum}); proposed by {request.proposer_id}; "
            f"expires in {expiry}"
        )
    )
    stdout.print(
        Text(
            f"\naction {action.id} v{action.version} ({action.state}): {action.kind}"
            + (f" on {action.channel}" if action.channel else "")
        )
    )
    if action.audience is not None:
        reach = action.audience
        who = reach.segment_id or ", ".join(reach.customer_ids) or f"~{reach.estimated_size} people"
        stdout.print(Text(f"audience: {who}"))
    if action.spend is not None:
        stdout.print(Text(f"spend: {action.spend}"))
    if action.content is not None:
        if action.content.subject:
            stdout.print(Text(f"subject: {action.content.subject}"))
        stdout.print(Text(f"body:\n{action.content.body}"))
    if action.parameters:
        changes = action.parameters.get("changes")
        if isinstance(changes, list):  # a change of the rules: say what moves, line by line
            stdout.print(Text("changes:\n" + "\n".join(f"  - {c}" for c in changes)))
        rest = {k: v for k, v in action.parameters.items() if k != "changes"}
        for key, value in sorted(rest.items()):
            stdout.print(Text(f"{key}: {value}"))
    stdout.print(Text(f"content hash: {action.content_hash()}"))
    if request.approvals:
        table = Table("by", "role", "decision", "reason", title="Answers", title_justify="left")
        for a in request.approvals:
            table.add_row(Text(a.approver.id), str(a.role), a.decision, Text(a.reason or ""))
        stdout.print(table)
    if verdict is None:
        stdout.print("No verdict for this version in the audit trail.")
        return
    stdout.print(Text(f"\nverdict: {verdict.data.get('effect')} (risk {verdict.data.get('risk')})"))
    table = Table("severity", "rule", "message")
    for finding in verdict.data.get("findings", []):
        table.add_row(finding["severity"], Text(finding["rule"]), Text(finding["message"]))
    stdout.print(table)
