"""The inbox fold (pure) and a reply's delivery: "Send and Close" closes only with the
ReplySent ingest reports (and the close it appends), a failure reopens, every later carrier
status is kept with its own time, and a retry names the reply it sends again."""

from __future__ import annotations

from datetime import timedelta

from test_inbox_fold import CID, T0, action, conv, env, fold, patient, received, routed

from switchboard.events import ReplyDeliveryUpdated, ReplyRequested, deterministic_id
from switchboard.ingest.domain.reply_status import with_status
from switchboard.ingest.entrypoints.handlers import failed_event, sent_event

REPLY_AT = T0 + timedelta(minutes=5)


def reply(name="reply", keep_open=False, **kw):
    return action(
        ReplyRequested,
        name,
        REPLY_AT,
        actor="u-ma",
        message_id=deterministic_id("fold", "out", name),
        channel="sms",
        line="+12125550000",
        to="+12125550111",
        body="Your refill is ready",
        keep_open=keep_open,
        requested_at=REPLY_AT,
        **kw,
    )


def update(r, status, seconds, why=None):
    eid = deterministic_id("fold", "status", status, r.message_id)
    return ReplyDeliveryUpdated(
        **env(f"u-{status}", REPLY_AT + timedelta(seconds=seconds)) | {"event_id": eid},
        conversation_id=CID,
        message_id=r.message_id,
        channel="sms",
        actor=r.actor,
        provider_message_id="SM1",
        status=status,
        why=why,
        updated_at=REPLY_AT + timedelta(seconds=seconds),
    )


def started():
    return fold([patient(), received(), routed(patient_id="pat-1")])


def test_send_and_close_stays_open_until_sent_and_closes_then():
    # covers I-DELIV-1, I-STATUS-1, I-AUDIT-1
    f = started()
    r = reply()
    f.apply([r])
    assert conv(f).status == "open"  # asked, not yet accepted by the channel
    sent = sent_event(r, "SM1", REPLY_AT + timedelta(seconds=2))
    events = with_status(r, sent)
    f.apply(events)
    close = events[1]
    assert conv(f).status == "closed" and conv(f).status_at == sent.sent_at
    assert f.outcomes[close.event_id] == "applied" and close.actor == "u-ma"
    assert {(d["kind"], d["at"]) for d in f.deliveries} == {("sent", sent.sent_at)}


def test_a_failed_reply_leaves_it_open_and_undelivered_reopens_it():
    # covers I-DELIV-1, I-DELIV-2
    f = started()
    r = reply()
    f.apply([r, *with_status(r, failed_event(r, "sms_not_configured", REPLY_AT))])
    assert conv(f).status == "open"
    assert [(d["kind"], d["why"]) for d in f.deliveries] == [("failed", "sms_not_configured")]

    g = started()
    r2 = reply("second")
    g.apply([r2, *with_status(r2, sent_event(r2, "SM2", REPLY_AT + timedelta(seconds=1)))])
    assert conv(g).status == "closed"
    later = REPLY_AT + timedelta(seconds=40)
    g.apply(
        [
            update(r2, "undelivered", 40, why="30003"),
            *with_status(r2, failed_event(r2, "provider_undelivered_30003", later, "SM2")),
        ]
    )
    assert conv(g).status == "open"  # the patient got nothing: back in the open queue
    kinds = {d["kind"]: d["why"] for d in g.deliveries}
    assert kinds == {"sent": None, "undelivered": "30003", "failed": "provider_undelivered_30003"}


def test_carrier_statuses_are_kept_with_their_own_times_whatever_the_order():
    # covers I-DELIV-3, X-REPLAY-1
    f = started()
    r = reply(keep_open=True)
    f.apply([r, sent_event(r, "SM1", REPLY_AT)])
    # read processed before delivered: each keeps its own time; the carrier's "failed"
    # is kept as undelivered (the ReplyFailed beside it owns "failed")
    f.apply([update(r, "read", 90), update(r, "delivered", 5), update(r, "failed", 120, "30008")])
    got = {d["kind"]: d["at"] - REPLY_AT for d in f.deliveries}
    assert got == {
        "sent": timedelta(0),
        "read": timedelta(seconds=90),
        "delivered": timedelta(seconds=5),
        "undelivered": timedelta(seconds=120),
    }
    assert all(f.outcomes[e] == "applied" for e in f.outcomes)
    assert conv(f).status == "open"


def test_a_retry_names_the_failed_reply():
    # covers I-DELIV-4
    f = started()
    first = reply()
    again = reply("again", retry_of=first.message_id)
    f.apply([first, again])
    out = [m for m in f.messages if m["direction"] == "outbound"]
    assert [m["details"]["retry_of"] for m in out] == [None, str(first.message_id)]
