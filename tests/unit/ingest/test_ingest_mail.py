"""Raw email in (RFC 5322 / MIME) and replies out, with their threading headers."""

from datetime import UTC, datetime

import pytest

from switchboard.ingest.adapters.mail import (
    AttachmentTooLarge,
    InvalidEmail,
    Outgoing,
    Part,
    build_message,
    html_to_text,
    parse_email,
    reply_subject,
    secure_notice_body,
)

MIXED = b"""From: Jane Doe <Jane.Doe@Example.com>
To: Front Desk <front@demo.test>
Cc: someone@else.test
Subject: Re: refill
Message-ID: <abc@example.com>
In-Reply-To: <x1@switchboard.invalid>
References: <x0@example.com> <x1@switchboard.invalid>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: multipart/alternative; boundary="b2"

--b2
Content-Type: text/plain; charset=utf-8

Hello text
--b2
Content-Type: text/html; charset=utf-8

<p>Hello <b>html</b></p>
--b2--
--b1
Content-Type: application/pdf
Content-Disposition: attachment; filename="lab.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQK
--b1--
"""


def test_text_html_attachments_and_threading_headers():
    p = parse_email(MIXED, 1000)
    assert p.sender == "jane.doe@example.com"
    assert p.recipients == ("front@demo.test", "someone@else.test")
    assert p.message_id == "<abc@example.com>"
    assert p.in_reply_to == "<x1@switchboard.invalid>"
    assert p.references == ("<x0@example.com>", "<x1@switchboard.invalid>")
    # covers I-THREAD-1: the nearest parent first, then the rest of the thread
    assert p.thread_ids == ("<x1@switchboard.invalid>", "<x0@example.com>")
    assert p.text == "Hello text" and p.html == "<p>Hello <b>html</b></p>"
    [pdf] = p.attachments
    assert pdf.filename == "lab.pdf" and pdf.data == b"%PDF-1.4\n"
    assert p.subject == "Re: refill" and not p.auto_submitted


def test_html_only_mail_gets_a_text_body():
    raw = (
        b"From: a@b.test\r\nTo: front@demo.test\r\nMessage-ID: <h@b.test>\r\n"
        b"Content-Type: text/html; charset=utf-8\r\n\r\n"
        b"<html><head><style>p{}</style></head><body><p>Line one</p><p>Two &amp; three</p>"
        b"<script>x()</script></body></html>"
    )
    p = parse_email(raw, 1000)
    assert p.text == "Line one\n\nTwo & three"
    assert p.html is not None and p.attachments == ()


def test_a_message_without_message_id_gets_one_from_its_bytes():
    raw = b"From: a@b.test\r\nTo: front@demo.test\r\n\r\nhello\r\n"
    one, two = parse_email(raw, 10), parse_email(raw, 10)
    assert one.message_id == two.message_id and one.message_id.endswith("@no-message-id>")
    assert parse_email(raw + b"more", 10).message_id != one.message_id


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"", "empty"),
        (b"To: front@demo.test\r\n\r\nhello\r\n", "From header has no address"),
        (b"From: nobody\r\nTo: front@demo.test\r\n\r\nhello\r\n", "From header has no address"),
        (
            b"From: a@b.test\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\nno parts\r\n",
            "malformed MIME",
        ),
    ],
)
def test_malformed_mail_is_refused_naming_the_problem(raw, why):
    with pytest.raises(InvalidEmail, match=why):
        parse_email(raw, 1000)


def test_attachment_over_the_limit_is_refused():
    with pytest.raises(AttachmentTooLarge):
        parse_email(MIXED, 5)


def test_html_to_text_keeps_paragraphs():
    assert html_to_text("<div>a</div><div>b<br>c</div>") == "a\n\nb\nc"


def test_reply_subject():
    assert reply_subject(None, "refill") == "Re: refill"
    assert reply_subject(None, "RE: refill") == "RE: refill"
    assert reply_subject("Your results", "refill") == "Your results"
    assert reply_subject(None, None) == "Message from your care team"


def test_reply_carries_threading_headers_and_attachments():
    msg = build_message(
        Outgoing(
            message_id="<m1@switchboard.invalid>",
            sender="front@demo.test",
            to="jane@example.com",
            subject="Re: refill",
            body="Sent to your pharmacy.",
            in_reply_to="<abc@example.com>",
            references=("<x0@example.com>", "<abc@example.com>"),
            sent_at=datetime(2026, 6, 3, 16, 55, tzinfo=UTC),
            attachments=(Part("note.pdf", "application/pdf", b"%PDF"),),
        )
    )
    assert msg["Message-ID"] == "<m1@switchboard.invalid>"
    assert msg["In-Reply-To"] == "<abc@example.com>"
    assert msg["References"] == "<x0@example.com> <abc@example.com>"
    assert msg.get_body(("plain",)).get_content() == "Sent to your pharmacy.\n"
    [att] = list(msg.iter_attachments())
    assert att.get_filename() == "note.pdf" and att.get_content() == b"%PDF"
    # what we send parses back with the same threading
    again = parse_email(msg.as_bytes(), 1000)
    assert again.message_id == "<m1@switchboard.invalid>"
    assert again.in_reply_to == "<abc@example.com>"


def test_secure_notice_has_a_link_and_no_message():
    body = secure_notice_body("https://page.test/demo/secure/1?t=x")
    assert "https://page.test/demo/secure/1?t=x" in body
