"""The inbox fold and a reply to an unrecognized sender (X-UNREPLY-1): the projection
applies it only when the gateway marked it `unverified_sender` (the practice setting and the
policy were checked there), it is in the thread, and linking later keeps it there."""

from __future__ import annotations

import uuid
from datetime import timedelta

from test_inbox_fold import T0, action, conv, fold, patient, received, routed

from switchboard.events import ConversationLinked, ReplyRequested


def reply(name: str, minutes: int, **kw) -> ReplyRequested:
    at = T0 + timedelta(minutes=minutes)
    return action(
        ReplyRequested,
        name,
        at,
        message_id=uuid.uuid5(uuid.NAMESPACE_URL, name),
        channel="sms",
        line="+12125550000",
        to="+12125550111",
        body=f"reply {name}",
        requested_at=at,
        keep_open=True,
        **kw,
    )


def test_a_marked_reply_to_an_unrecognized_sender_is_in_the_thread_and_stays_when_linked():
    # covers X-UNREPLY-1, I-UNREC-1
    f = fold([patient("pat-2", team=("u-b",), primary=None), received(), routed()])
    assert conv(f).patient_id is None
    unmarked, marked = reply("plain", 1), reply("unverified", 2, unverified_sender=True)
    f.apply([unmarked, marked])
    assert f.outcomes[unmarked.event_id] == "unrecognized"
    assert f.outcomes[marked.event_id] == "applied"
    out = [m for m in f.messages if m["direction"] == "outbound"]
    assert [(m["body"], m["recipient"], m["sender"]) for m in out] == [
        ("reply unverified", "+12125550111", "+12125550000")
    ]
    assert out[0]["details"]["unverified_sender"] is True
    assert conv(f).sent_by == ["u-admin"]

    link = action(ConversationLinked, "link", T0 + timedelta(minutes=3), patient_id="pat-2")
    after = reply("after", 4)
    f.apply([link, after])
    assert conv(f).patient_id == "pat-2" and f.outcomes[after.event_id] == "applied"
    thread = [m["body"] for m in f.messages if m["conversation_id"] == conv(f).conversation_id]
    assert thread[-2:] == ["reply unverified", "reply after"]
