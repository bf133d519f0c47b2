"""Email: raw RFC 5322 in (parsed, then as the channel-neutral inbound model), threading
headers, replies out. Pure: no I/O.

Threading (I-THREAD-1) follows RFC 5322 section 3.6.4: a reply names its parent in
`In-Reply-To` and the thread in `References`; our replies get Message-IDs derived from
the reply's id, so the patient's answer names one we know.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, parseaddr
from html.parser import HTMLParser

from switchboard.events import Attachment
from switchboard.ingest.domain.inbound import Inbound, ThreadHints
from switchboard.ingest.domain.language import Language
from switchboard.ingest.domain.patient_words import SECURE_NOTICE

MSG_ID = re.compile(r"<[^<>\s]+@?[^<>\s]*>")
# Defects that mean the MIME structure cannot be trusted.
FATAL_DEFECTS = (
    "StartBoundaryNotFoundDefect",
    "MultipartInvariantViolationDefect",
    "CloseBoundaryNotFoundDefect",
)
MAX_REFERENCES = 20


class InvalidEmail(ValueError):
    """Not a usable message; the text names the problem (never a value from it)."""


class AttachmentTooLarge(ValueError):
    pass


@dataclass(frozen=True)
class Part:
    filename: str | None
    content_type: str
    data: bytes


@dataclass(frozen=True)
class ParsedEmail:
    message_id: str
    in_reply_to: str | None
    references: tuple[str, ...]
    sender: str  # the From address, lower case
    recipients: tuple[str, ...]  # To, Cc, Delivered-To, X-Original-To, lower case
    subject: str | None
    text: str
    html: str | None
    attachments: tuple[Part, ...]
    auto_submitted: bool

    @property
    def thread(self) -> ThreadHints:
        return ThreadHints(self.message_id, self.in_reply_to, self.references)

    @property
    def thread_ids(self) -> tuple[str, ...]:
        """The ids that may name this message's thread, nearest first."""
        return self.thread.ids


def message_ids(value: str | None) -> list[str]:
    return MSG_ID.findall(value or "")


def _address(value: str) -> str | None:
    _, addr = parseaddr(value)
    addr = addr.strip().lower()
    return addr if "@" in addr and " " not in addr else None


class _Text(HTMLParser):
    BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "blockquote"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head"):
            self.skip += 1
        elif tag in self.BLOCKS:
            self.out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head"):
            self.skip = max(0, self.skip - 1)
        elif tag in self.BLOCKS:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.out.append(data)


def html_to_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    parser.close()
    text = "".join(parser.out)
    text = re.sub(r"[ \t\r\f\v]+", " ", text)
    return re.sub(r"\n\s*\n+", "\n\n", text).strip()


def _content_bytes(part: email.message.Message) -> bytes:
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload
    if part.is_multipart():
        return part.as_bytes()
    return b""


def parse_email(raw: bytes, max_attachment_bytes: int) -> ParsedEmail:
    if not raw.strip():
        raise InvalidEmail("the message is empty")
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    if not isinstance(msg, EmailMessage):
        raise InvalidEmail("not an RFC 5322 message")
    for defect in msg.defects:
        if type(defect).__name__ in FATAL_DEFECTS:
            raise InvalidEmail(f"malformed MIME: {type(defect).__name__}")
    try:
        from_header = str(msg.get("From", ""))
    except (ValueError, IndexError, TypeError):
        raise InvalidEmail("the From header cannot be parsed") from None
    sender = _address(from_header)
    if sender is None:
        raise InvalidEmail("the From header has no address")
    recipients: list[str] = []
    for name in ("To", "Cc", "Delivered-To", "X-Original-To"):
        for value in msg.get_all(name, []) or []:
            for _, addr in getaddresses([str(value)]):
                a = addr.strip().lower()
                if "@" in a and a not in recipients:
                    recipients.append(a)
    ids = message_ids(str(msg.get("Message-ID", "")))
    # A message without a Message-ID gets one from its bytes: delivered twice, still one.
    message_id = ids[0] if ids else f"<{hashlib.sha256(raw).hexdigest()[:40]}@no-message-id>"
    parents = message_ids(str(msg.get("In-Reply-To", "")))
    references = tuple(message_ids(str(msg.get("References", ""))))[-MAX_REFERENCES:]
    subject = str(msg.get("Subject", "")).strip() or None

    body_parts: set[int] = set()
    text_part = msg.get_body(preferencelist=("plain",))
    html_part = msg.get_body(preferencelist=("html",))
    text = html = None
    try:
        if text_part is not None:
            text = str(text_part.get_content())
            body_parts.add(id(text_part))
        if html_part is not None:
            html = str(html_part.get_content())
            body_parts.add(id(html_part))
    except (LookupError, UnicodeError, ValueError):
        raise InvalidEmail("a body part cannot be decoded (charset or encoding)") from None
    if text is None:
        text = html_to_text(html) if html else ""

    attachments: list[Part] = []
    for part in msg.walk():
        if part.is_multipart() or id(part) in body_parts:
            continue
        data = _content_bytes(part)
        if len(data) > max_attachment_bytes:
            raise AttachmentTooLarge(f"an attachment is over {max_attachment_bytes} bytes")
        attachments.append(Part(part.get_filename(), part.get_content_type(), data))
    auto = str(msg.get("Auto-Submitted", "no")).strip().lower()
    return ParsedEmail(
        message_id=message_id,
        in_reply_to=parents[0] if parents else None,
        references=references,
        sender=sender,
        recipients=tuple(recipients),
        subject=subject,
        text=text.strip(),
        html=html,
        attachments=tuple(attachments),
        auto_submitted=auto not in ("", "no"),
    )


def to_inbound(
    parsed: ParsedEmail,
    *,
    practice_id: str,
    mailbox: str,
    via: str,
    received_at: datetime,
    body: str,
    attachments: tuple[Attachment, ...],
    line_label: str | None,
) -> Inbound:
    """The email as one practice's inbound message (one per practice it was sent to).
    `body` is the text as the event carries it (intake keeps a long one whole as an
    attachment); the subject is cut to RFC 5322's line limit."""
    return Inbound(
        channel="email",
        practice_id=practice_id,
        sender=parsed.sender,
        line=mailbox.lower(),
        provider=f"email-{via}",
        external_id=parsed.message_id,
        received_at=received_at,
        body=body,
        subject=subject_of(parsed),
        attachments=attachments,
        thread=parsed.thread,
        line_label=line_label,
    )


def subject_of(parsed: ParsedEmail) -> str | None:
    return (parsed.subject or "")[:998] or None


# --- replies -------------------------------------------------------------------------------


def reply_message_id(message_id: object, domain: str) -> str:
    """The Message-ID of one of our replies: derived from its id, the same on every retry,
    so a receiving system can drop a duplicate delivery."""
    return f"<{message_id}@{domain}>"


def reply_subject(subject: str | None, thread_subject: str | None) -> str:
    if subject:
        return subject
    base = (thread_subject or "").strip()
    if not base:
        return "Message from your care team"
    return base if base.lower().startswith("re:") else f"Re: {base}"


@dataclass(frozen=True)
class Outgoing:
    message_id: str
    sender: str
    to: str
    subject: str
    body: str
    in_reply_to: str | None
    references: tuple[str, ...]
    sent_at: datetime
    attachments: tuple[Part, ...] = ()


def build_message(out: Outgoing) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = Address(addr_spec=out.sender) if "@" in out.sender else out.sender
    msg["To"] = out.to
    msg["Subject"] = out.subject
    msg["Date"] = format_datetime(out.sent_at)
    msg["Message-ID"] = out.message_id
    if out.in_reply_to:
        msg["In-Reply-To"] = out.in_reply_to
    if out.references:
        msg["References"] = " ".join(out.references[-MAX_REFERENCES:])
    msg.set_content(out.body if out.body.endswith("\n") else out.body + "\n")
    for a in out.attachments:
        maintype, _, subtype = a.content_type.partition("/")
        msg.add_attachment(
            a.data,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=a.filename or "attachment",
        )
    return msg


def secure_notice_body(link: str, language: Language = "en") -> str:
    """What a secure email's recipient gets: a notice and a link, never the message; in the
    patient's language (X-LANG-5)."""
    return SECURE_NOTICE[language][1].format(link=link)


def secure_notice_subject(language: Language = "en") -> str:
    return SECURE_NOTICE[language][0]
