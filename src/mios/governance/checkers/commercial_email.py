"""Commercial email: what CAN-SPAM, CASL and the mailbox providers ask of every marketing email.

An unsubscribe link in the body (the ``{{unsubscribe_url}}`` placeholder the channel fills in,
or an http(s) link that says unsubscribe or opt out), the sender's name and postal address in
the body, and a ``List-Unsubscribe`` header in ``parameters["headers"]``. Each missing element
is its own finding, and each can be switched off in ``governance.commercial_email``.
"""

from __future__ import annotations

import re
from typing import Any

from mios.domain.action import Action
from mios.domain.brand import PostalAddress
from mios.domain.channel import ChannelName
from mios.domain.governance import Finding, FindingSeverity
from mios.domain.proposal import ActionKind
from mios.governance.review_context import Check, ReviewContext

_PLACEHOLDER = re.compile(r"\{\{\s*unsubscribe_url\s*\}\}", re.IGNORECASE)
_LINK = re.compile(
    r"https?://[^\s\"'<>()]*(?:unsubscribe|opt-?out)"  # the link's own address says so
    r"|<a\s[^>]*href=[\"']https?://[^>]*>[^<]*(?:unsubscribe|opt[- ]?out)"  # an HTML anchor
    r"|\[[^\]]*(?:unsubscribe|opt[- ]?out)[^\]]*\]\(https?://",  # a Markdown link
    re.IGNORECASE,
)


class CommercialEmailChecker:
    id: str = "commercial-email"

    def check(self, action: Action, context: ReviewContext) -> Check:
        content = action.content
        if (
            action.kind is not ActionKind.SEND_MESSAGE
            or action.channel is not ChannelName.EMAIL
            or content is None
        ):
            return Check()
        rules = context.workspace.guardrails.commercial_email
        sender = context.workspace.brand.sender
        body = _folded(content.body)
        missing: list[tuple[str, str]] = []
        if rules.unsubscribe_link and not _has_unsubscribe_link(content.body):
            missing.append(
                ("unsubscribe-link", "the body has no unsubscribe link ({{unsubscribe_url}})")
            )
        if rules.sender_identity and _folded(sender.name) not in body:
            missing.append(
                ("sender-identity", f"the body does not name the sender {sender.name!r}")
            )
        if rules.postal_address and not _has_address(body, sender.postal_address):
            missing.append(
                (
                    "postal-address",
                    f"the body lacks the sender's postal address "
                    f"({sender.postal_address.one_line()})",
                )
            )
        if rules.list_unsubscribe_header and not _header(action.parameters, "List-Unsubscribe"):
            missing.append(
                ("list-unsubscribe-header", 'parameters.headers has no "List-Unsubscribe" header')
            )
        return Check(
            tuple(
                Finding(f"commercial-email/{rule}", message, FindingSeverity.DENY)
                for rule, message in missing
            )
        )


def _has_unsubscribe_link(body: str) -> bool:
    lowered = body.lower()
    # Substring tests first: the patterns would otherwise be tried at every position.
    if "unsubscribe_url" in lowered and _PLACEHOLDER.search(body):
        return True
    words = "unsubscribe" in lowered or "opt" in lowered
    return words and "http" in lowered and _LINK.search(body) is not None


def _folded(text: str) -> str:
    return " ".join(text.split()).casefold()


def _has_address(body: str, address: PostalAddress) -> bool:
    # People format addresses many ways (commas, line breaks, "CO 80202"); the street, city and
    # postal code each present is what identifies the place.
    parts = (address.street, address.city, address.postal_code)
    return all(_folded(part) in body for part in parts)


def _header(parameters: dict[str, Any], name: str) -> bool:
    headers = parameters.get("headers")
    if not isinstance(headers, dict):
        return False
    # Mail header names are case-insensitive (RFC 5322).
    values = [v for k, v in headers.items() if isinstance(k, str) and k.lower() == name.lower()]
    return any(isinstance(v, str) and v.strip() for v in values)
