"""``SmtpChannel``: an email action sent over SMTP, one message per recipient.

Recipients, first that applies: ``parameters["recipients"]`` (``{customer_id: address}``, what
the lifecycle resolved); else the audience's ``customer_ids``, or the members of its segment
(``members_of``), looked up in the address book ``address_of(customer_ids) -> {id: address}``.
A customer without an address is counted in the receipt's note, never guessed at.

An experiment's holdout (``parameters["holdout_share"]``, ``parameters["experiment_id"]``) is
applied to the customers with an address: those ``mios.domain.holdout`` draws into it get no
email, and the receipt's ``held_out`` counts them. The draw is a hash of the experiment and the
customer id, so a retry holds out the same customers.

Each message is ``multipart/alternative`` (text, then HTML: ``parameters["html"]`` when given,
else rendered from the body), with

- ``Message-ID: <tracking id@domain>``, so a retry of the same recipient is recognisable and a
  bounce quoting it can be attributed;
- ``X-Mios-Tracking``: ``tracking_id(key, customer)``, also added to every link of the body as
  the query parameter ``tracking`` (default ``mios_t``) so clicks are attributed;
- the headers of ``parameters["headers"]`` (``List-Unsubscribe``, ...), with
  ``{{unsubscribe_url}}`` and ``{{tracking_id}}`` filled per recipient; when the action gives
  no ``List-Unsubscribe`` and an ``unsubscribe_url`` template is configured, one is added with
  ``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (RFC 8058).

Idempotency is per action and recipient: a part receipt (``receipts.part_key``) is recorded
right after each recipient's message is accepted, so after a crash or an outage between
recipients a retry sends only to the rest. An outage (connection refused, a 4xx answer) raises
``ChannelUnavailable`` and records no receipt for the action; a 5xx refusal of one recipient is
permanent, recorded, and counted in the note. A crash after the server took a message but
before its part receipt was written sends that one message again on retry, under the same
Message-ID (SMTP has no way to ask whether a message was taken).
"""

from __future__ import annotations

import html
import re
import smtplib
import ssl
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, parseaddr
from typing import Any, Literal
from urllib.parse import quote

from mios.channels.port import Receipt, admit, replay
from mios.channels.receipts import InMemoryReceiptLog, ReceiptLog, part_key, record_once
from mios.domain.action import Action
from mios.domain.canonical import sha256_hex
from mios.domain.channel import ChannelName
from mios.domain.holdout import holdout_of
from mios.errors import ChannelError, ChannelUnavailable, InputError

AddressBook = Callable[[Sequence[str]], Mapping[str, str]]
Members = Callable[[str], Sequence[str]]
Security = Literal["none", "starttls", "tls"]

TRACKING_HEADER = "X-Mios-Tracking"
_PLACEHOLDER = re.compile(r"\{\{\s*(unsubscribe_url|tracking_id)\s*\}\}", re.IGNORECASE)
_LINK = re.compile(r"https?://[^\s\"'<>()]+")
_HREF = re.compile(r"""(href\s*=\s*)(["'])(https?://[^"']+)\2""", re.IGNORECASE)
_ADDRESS = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")
#: Headers mios writes itself; an action may not set them.
_RESERVED = frozenset(
    h.lower()
    for h in (
        "From",
        "To",
        "Cc",
        "Bcc",
        "Subject",
        "Date",
        "Message-ID",
        "MIME-Version",
        "Content-Type",
        "Content-Transfer-Encoding",
        "Sender",
        TRACKING_HEADER,
    )
)
_NOTED = 5  # refused recipients named in a note; the rest are counted


def tracking_id(idempotency_key: str, customer_id: str) -> str:
    """The id one recipient's message of one action is known by in outcomes (opens, clicks,
    bounces): 24 hex digits of SHA-256 of the key and the customer id."""
    return sha256_hex(f"{idempotency_key}\n{customer_id}")[:24]


class SmtpChannel:
    """Sends email actions through the SMTP server at ``host``:``port`` from ``sender``.

    ``unsubscribe_url`` is a template with ``{tracking_id}``, ``{customer_id}`` and
    ``{action_id}`` (URL-quoted) filling ``{{unsubscribe_url}}``. ``security`` is "none",
    "starttls" or "tls" (implicit TLS); ``username`` and ``password`` log in when given;
    ``local_hostname`` is what EHLO says (default: this machine's FQDN).
    ``receipts`` defaults to an in-memory log; give a durable one so a restarted process
    does not send again."""

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        address_of: AddressBook | None = None,
        members_of: Members | None = None,
        unsubscribe_url: str | None = None,
        tracking: str | None = "mios_t",
        message_id_domain: str | None = None,
        security: Security = "none",
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        local_hostname: str | None = None,
        receipts: ReceiptLog | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        envelope = parseaddr(sender)[1]
        if not _ADDRESS.match(envelope):
            raise InputError.at(f"not an email address: {sender!r}", field="sender")
        if security not in ("none", "starttls", "tls"):
            raise InputError.at(
                f'must be "none", "starttls" or "tls": {security!r}', field="security"
            )
        if unsubscribe_url is not None:
            if not _LINK.fullmatch(unsubscribe_url.replace("{", "").replace("}", "")):
                raise InputError.at(
                    f"must be an http(s) URL template, got {unsubscribe_url!r}",
                    field="unsubscribe_url",
                )
            try:
                unsubscribe_url.format(tracking_id="t", customer_id="c", action_id="a")
            except (KeyError, IndexError, ValueError) as exc:
                raise InputError.at(
                    f"a template may use {{tracking_id}}, {{customer_id}}, {{action_id}}: {exc}",
                    field="unsubscribe_url",
                ) from exc
        self._host = host
        self._port = port
        self._sender = sender
        self._envelope = envelope
        self._domain = message_id_domain or envelope.rsplit("@", 1)[1]
        self._address_of = address_of
        self._members_of = members_of
        self._unsubscribe_url = unsubscribe_url
        self._tracking = tracking
        self._security: Security = security
        self._username = username
        self._password = password
        self._timeout = timeout
        self._local_hostname = local_hostname
        self._receipts: ReceiptLog = receipts if receipts is not None else InMemoryReceiptLog()
        self._clock = clock
        self._closed = False

    def __repr__(self) -> str:
        return f"SmtpChannel({self._host!r}, {self._port}, {self._sender!r})"

    @property
    def channels(self) -> frozenset[ChannelName]:
        return frozenset({ChannelName.EMAIL})

    def execute(self, action: Action) -> Receipt:
        channel = admit(action, self.channels, closed=self._closed)
        seen = replay(self._receipts, action)
        if seen is not None:
            return seen
        subject, headers = self._check(action)
        holdout = holdout_of(action.id, action.parameters)
        recipients, missing = self._recipients(action)
        held_out = 0
        if holdout is not None:
            treated = [(cid, address) for cid, address in recipients if not holdout.holds_out(cid)]
            held_out = len(recipients) - len(treated)
            recipients = treated
        parts = {
            cid: self._receipts.get(part_key(action.idempotency_key, cid)) for cid, _ in recipients
        }
        pending = [(cid, address) for cid, address in recipients if parts[cid] is None]
        if pending:
            for cid, part in self._send(action, subject, headers, pending):
                parts[cid] = part
        taken = [cid for cid, part in parts.items() if part is not None and part.accepted]
        refused = [(cid, part.note) for cid, part in parts.items() if part and not part.accepted]
        receipt = Receipt(
            action_id=action.id,
            idempotency_key=action.idempotency_key,
            channel=channel,
            accepted=len(taken),
            external_id=f"smtp-{sha256_hex(action.idempotency_key)[:16]}",
            note=_note(refused, missing),
            held_out=held_out,
        )
        return record_once(self._receipts, receipt, self._clock())

    def close(self) -> None:
        self._closed = True

    def _check(self, action: Action) -> tuple[str, dict[str, str]]:
        """The subject and the action's own headers, refused before anything is sent."""
        content = action.content
        if content is None:  # a send_message always has content; another kind might not
            raise ChannelError(f"action {action.id}: an email needs content")
        subject = content.subject or content.headline
        if not subject or not subject.strip():
            raise ChannelError(f"action {action.id}: an email needs a subject")
        given: Any = action.parameters.get("headers", {})
        if not isinstance(given, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in given.items()
        ):
            raise ChannelError(f"action {action.id}: parameters.headers must map names to text")
        headers = dict(given)
        for name, value in headers.items():
            if name.lower() in _RESERVED:
                raise ChannelError(f"action {action.id}: parameters.headers may not set {name}")
            if not re.fullmatch(r"[!-9;-~]+", name) or "\r" in value or "\n" in value:
                raise ChannelError(f"action {action.id}: header {name!r} is malformed")
        texts = [content.body, action.parameters.get("html") or "", *headers.values()]
        wants_url = any(
            m.group(1).lower() == "unsubscribe_url"
            for t in texts
            for m in _PLACEHOLDER.finditer(str(t))
        )
        if wants_url and self._unsubscribe_url is None:
            raise ChannelError(
                f"action {action.id}: it uses {{{{unsubscribe_url}}}} but the SMTP channel has "
                "no unsubscribe_url template"
            )
        html_part = action.parameters.get("html")
        if html_part is not None and not isinstance(html_part, str):
            raise ChannelError(f"action {action.id}: parameters.html must be text")
        return subject, headers

    def _recipients(self, action: Action) -> tuple[list[tuple[str, str]], list[str]]:
        """(customer id, address) pairs to reach, and the customers without a usable address."""
        given: Any = action.parameters.get("recipients")
        if given is not None:
            if not isinstance(given, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in given.items()
            ):
                raise ChannelError(
                    f"action {action.id}: parameters.recipients must map customer ids to "
                    "email addresses"
                )
            book: Mapping[str, str] = given
            ids: Sequence[str] = list(given)
        else:
            ids = self._audience_ids(action)
            if self._address_of is None:
                raise ChannelError(
                    f"action {action.id}: no parameters.recipients and no address book "
                    "(address_of) to find its customers' addresses"
                )
            book = self._address_of(ids) if ids else {}
        found = [
            (cid, book[cid].strip()) for cid in ids if _ADDRESS.match(book.get(cid, "").strip())
        ]
        reached = {cid for cid, _ in found}
        return found, [cid for cid in ids if cid not in reached]

    def _audience_ids(self, action: Action) -> Sequence[str]:
        audience = action.audience
        if audience is not None and audience.customer_ids:
            return audience.customer_ids
        if audience is not None and audience.segment_id is not None:
            if self._members_of is None:
                raise ChannelError(
                    f"action {action.id}: segment {audience.segment_id} lists no customers and "
                    "the SMTP channel has no members_of to resolve it"
                )
            return list(dict.fromkeys(self._members_of(audience.segment_id)))
        raise ChannelError(f"action {action.id}: an email needs an addressed audience")

    def _send(
        self,
        action: Action,
        subject: str,
        headers: Mapping[str, str],
        pending: Sequence[tuple[str, str]],
    ) -> Iterable[tuple[str, Receipt]]:
        """Send to each pending recipient, recording and yielding a part receipt for each."""
        results: list[tuple[str, Receipt]] = []
        where = f"{self._host}:{self._port}"

        def down(why: object) -> ChannelUnavailable:
            return ChannelUnavailable(
                f"action {action.id}: SMTP server {where} is unavailable ({why}); "
                f"{len(results)} of {len(pending)} pending recipients done and recorded, "
                "a retry sends only to the rest"
            )

        smtp = self._connect(action, down)
        try:
            for cid, address in pending:
                message = self._message(action, subject, headers, cid, address)
                note: str | None = None
                try:
                    smtp.send_message(message, from_addr=self._envelope, to_addrs=[address])
                except smtplib.SMTPRecipientsRefused as exc:
                    code, text = next(iter(exc.recipients.values()))
                    if code < 500:
                        raise down(_answer(code, text)) from exc
                    note = _answer(code, text)
                except smtplib.SMTPSenderRefused as exc:
                    if exc.smtp_code < 500:
                        raise down(_answer(exc.smtp_code, exc.smtp_error)) from exc
                    raise ChannelError(
                        f"action {action.id}: {where} refuses the sender {self._envelope} "
                        f"({_answer(exc.smtp_code, exc.smtp_error)})"
                    ) from exc
                except smtplib.SMTPDataError as exc:
                    if exc.smtp_code < 500:
                        raise down(_answer(exc.smtp_code, exc.smtp_error)) from exc
                    note = _answer(exc.smtp_code, exc.smtp_error)
                except smtplib.SMTPNotSupportedError as exc:
                    note = f"not sent: {exc}"
                except (smtplib.SMTPException, OSError) as exc:
                    raise down(exc) from exc
                part = Receipt(
                    action_id=action.id,
                    idempotency_key=part_key(action.idempotency_key, cid),
                    channel=ChannelName.EMAIL,
                    accepted=0 if note else 1,
                    external_id=str(message["Message-ID"]),
                    note=note,
                )
                results.append((cid, record_once(self._receipts, part, self._clock())))
        finally:
            _hang_up(smtp)
        return results

    def _connect(
        self, action: Action, down: Callable[[object], ChannelUnavailable]
    ) -> smtplib.SMTP:
        smtp: smtplib.SMTP | None = None
        try:
            if self._security == "tls":
                smtp = smtplib.SMTP_SSL(
                    self._host,
                    self._port,
                    local_hostname=self._local_hostname,
                    timeout=self._timeout,
                    context=ssl.create_default_context(),
                )
            else:
                smtp = smtplib.SMTP(
                    self._host,
                    self._port,
                    local_hostname=self._local_hostname,
                    timeout=self._timeout,
                )
            if self._security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if self._username is not None:
                smtp.login(self._username, self._password or "")
        except smtplib.SMTPAuthenticationError as exc:
            if smtp is not None:
                _hang_up(smtp)
            raise ChannelError(
                f"action {action.id}: {self._host}:{self._port} refused the login of "
                f"{self._username} ({exc.smtp_code})"
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            if smtp is not None:
                _hang_up(smtp)
            raise down(exc) from exc
        return smtp

    def _message(
        self,
        action: Action,
        subject: str,
        headers: Mapping[str, str],
        customer_id: str,
        address: str,
    ) -> EmailMessage:
        assert action.content is not None  # checked by _check
        tid = tracking_id(action.idempotency_key, customer_id)
        unsubscribe = self._unsubscribe_for(action, customer_id, tid)
        values = {"unsubscribe_url": unsubscribe or "", "tracking_id": tid}

        def fill(text: str, rendered: bool = False) -> str:
            """Placeholders filled; in a rendered HTML part the unsubscribe URL is a link."""

            def value(match: re.Match[str]) -> str:
                name = match.group(1).lower()
                found = html.escape(values[name]) if rendered else values[name]
                if rendered and name == "unsubscribe_url":
                    return f'<a href="{found}">{found}</a>'
                return found

            return _PLACEHOLDER.sub(value, text)

        body = self._tagged(action.content.body, tid)
        text = fill(body)
        headline = action.content.headline
        if headline:
            text = f"{headline}\n\n{text}"
        given_html = action.parameters.get("html")
        if isinstance(given_html, str):
            page = fill(_HREF.sub(lambda m: m[1] + m[2] + self._tag(m[3], tid) + m[2], given_html))
        else:
            page = fill(_render(body, headline), rendered=True)

        message = EmailMessage(policy=SMTP_POLICY)
        message["From"] = self._sender
        message["To"] = address
        message["Subject"] = fill(subject)
        message["Date"] = format_datetime(self._clock().astimezone(UTC))
        message["Message-ID"] = f"<{tid}@{self._domain}>"
        message[TRACKING_HEADER] = tid
        names = {name.lower() for name in headers}
        for name, value in headers.items():
            message[name] = fill(value)
        if unsubscribe and "list-unsubscribe" not in names:
            message["List-Unsubscribe"] = f"<{unsubscribe}>"
            names.add("list-unsubscribe")
        if (
            "list-unsubscribe" in names
            and "list-unsubscribe-post" not in names
            and "<https://" in str(message["List-Unsubscribe"])
        ):
            message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        message.set_content(text)
        message.add_alternative(page, subtype="html")
        return message

    def _unsubscribe_for(self, action: Action, customer_id: str, tid: str) -> str | None:
        if self._unsubscribe_url is None:
            return None
        return self._unsubscribe_url.format(
            tracking_id=tid,
            customer_id=quote(customer_id, safe=""),
            action_id=quote(action.id, safe=""),
        )

    def _tagged(self, text: str, tid: str) -> str:
        return _LINK.sub(lambda m: self._tag(m[0], tid), text)

    def _tag(self, url: str, tid: str) -> str:
        """``url`` with the tracking id as a query parameter (before any fragment)."""
        if self._tracking is None:
            return url
        base, hash_mark, fragment = url.partition("#")
        joiner = "&" if "?" in base else "?"
        return f"{base}{joiner}{self._tracking}={tid}{hash_mark}{fragment}"


def _render(text: str, headline: str | None) -> str:
    """The HTML part for a plain body: escaped paragraphs, links made clickable."""

    def linked(chunk: str) -> str:
        escaped = html.escape(chunk, quote=True)
        return _LINK.sub(lambda m: f'<a href="{m[0]}">{m[0]}</a>', escaped)

    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    rendered = "".join(f"<p>{linked(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)
    title = f"<h1>{html.escape(headline)}</h1>" if headline else ""
    return f"<!doctype html><html><body>{title}{rendered}</body></html>"


def _answer(code: int, text: bytes | str) -> str:
    said = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {said.strip()}"


def _note(refused: Sequence[tuple[str, str | None]], missing: Sequence[str]) -> str | None:
    parts: list[str] = []
    if refused:
        named = ", ".join(f"{cid} ({why})" for cid, why in refused[:_NOTED])
        more = f" and {len(refused) - _NOTED} more" if len(refused) > _NOTED else ""
        parts.append(f"{len(refused)} refused: {named}{more}")
    if missing:
        named = ", ".join(missing[:_NOTED])
        more = f" and {len(missing) - _NOTED} more" if len(missing) > _NOTED else ""
        parts.append(f"{len(missing)} without an email address: {named}{more}")
    return "; ".join(parts) or None


def _hang_up(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()
