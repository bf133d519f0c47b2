"""The notifier and team work, through the real Kafka and PostgreSQL: a note's @mention
alerts the colleague (in-app and on their chosen channels), and a snoozed conversation's
response timer pauses until it wakes."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from notifier_support import TopicReader, eventually
from test_notifier_service import (  # noqa: F401 (fixtures, by name)
    env,
    migrated,
    notifier,
    practice_id,
    practice_settings,
    prefs,
    receiver,
    routed,
    smtp,
    text_of,
)

from switchboard.events import ConversationSnoozed, ConversationWoke, NoteAdded, Topic

pytestmark = pytest.mark.integration


async def test_a_mention_alerts_the_colleague_on_their_channels(notifier, smtp):  # noqa: F811
    # covers I-NOTE-1, I-NOTIFY-1
    p = practice_id()
    conv = uuid.uuid4()
    secret = f"note-text-{uuid.uuid4().hex[:8]}"
    async with TopicReader(notifier.settings, Topic.NOTIFICATIONS) as out:
        await notifier.publish(prefs(p, "u-2", ("in_app", None), ("email", "kim@clinic.example")))
        note = NoteAdded(
            **env(p),
            conversation_id=conv,
            actor="u-1",
            note_id=uuid.uuid4(),
            body=f"@u-2 {secret}",
            mentions=("u-2", "u-1"),
        )
        await notifier.publish(note)
        await eventually(lambda: len(out.of("AlertSent", conversation_id=conv)) == 2)
        sent = {(e.staff_id, e.channel, e.kind) for e in out.of("AlertSent", conversation_id=conv)}
        # the colleague, never the author
        assert sent == {("u-2", "in_app", "mention"), ("u-2", "email", "mention")}
        assert {e.causation_id for e in out.of("AlertSent", conversation_id=conv)} == {
            note.event_id
        }
        (mail,) = [m for m in smtp.messages if str(conv) in text_of(m)]
        assert "mentioned you" in text_of(mail) and secret not in text_of(mail)


async def test_a_snoozed_conversations_timer_pauses_until_it_wakes(notifier):  # noqa: F811
    # covers I-SNOOZE-1, X-SLA-1
    p = practice_id()
    conv = uuid.uuid4()
    now = datetime.now(UTC)
    async with TopicReader(notifier.settings, Topic.NOTIFICATIONS) as out:
        await notifier.publish(practice_settings(p, sla_minutes=1))
        # decided 57 s ago with a one-minute target: due in ~3 s, but snoozed at once
        first = routed(p, conv, recipients=("u-1",), at=now - timedelta(seconds=57))
        snooze = ConversationSnoozed(
            **env(p), conversation_id=conv, actor="u-1", until=now + timedelta(seconds=6)
        )
        await notifier.publish(first, snooze)
        await asyncio.sleep(6)
        assert not out.of("ConversationEscalated", conversation_id=conv)
        woke = ConversationWoke(
            **env(p),
            conversation_id=conv,
            actor="system",
            snooze_id=snooze.event_id,
        )
        await notifier.publish(woke)
        await eventually(lambda: out.of("ConversationEscalated", conversation_id=conv), within=20)
        (esc,) = out.of("ConversationEscalated", conversation_id=conv)
        paused = woke.occurred_at - snooze.occurred_at
        assert esc.due_at == first.decided_at + timedelta(minutes=1) + paused
