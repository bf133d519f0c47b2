"""Logical topic names and each topic's Kafka settings, in one place.

A deployment may prefix the names (settings.topic_prefix). `TOPIC_SPECS` is what both
scripts/topics.py (local runs) and the Strimzi `KafkaTopic` manifests (production, see
`switchboard.platform.kafka_manifests`) are made from.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from switchboard.events.envelope import Event


class Topic(StrEnum):
    MESSAGES = "switchboard.messages"  # MessageReceived: inbound patient messages
    ROUTING = "switchboard.routing"  # MessageRouted: one decision per message or re-route
    PM = "switchboard.pm"  # patients, appointments, locations, providers
    CONFIG = "switchboard.config"  # routing settings, subscriptions, lines, templates
    ACTIONS = "switchboard.actions"  # staff actions: assign, close, reply, link
    DELIVERY = "switchboard.delivery"  # outbound delivery results, read receipts
    NOTIFICATIONS = "switchboard.notifications"  # alerts sent / failed, escalations
    PRESENCE = "switchboard.presence"  # viewing / typing, short retention
    DEAD_LETTER = "switchboard.dead-letter"  # records a consumer could not process
    INTAKE = "switchboard.intake"  # MessageDeferred: accepted while ingest's database was away
    OPERATIONS = "switchboard.operations"  # operators' actions: dead letters viewed, replayed
    # The public stream for downstream subscribers (switchboard.events.public): ids, codes,
    # labels and times; the patient content of it on its own topic, under its own ACL.
    PUBLIC_CONVERSATIONS = "switchboard.public.conversations"
    PUBLIC_CONTENT = "switchboard.public.content"
    # Dead letters re-driven by switchboard-dlq: one topic per consumer group, read only by
    # that group (the other consumers of the original topic applied the record already).
    REPLAY_INGEST_REPLIES = "switchboard.replay.ingest-replies"
    REPLAY_INGEST_CONTACTS = "switchboard.replay.ingest-contacts"
    REPLAY_INGEST_CONFIG = "switchboard.replay.ingest-config"
    REPLAY_INGEST_INTAKE = "switchboard.replay.ingest-intake"
    REPLAY_ROUTER = "switchboard.replay.router"
    REPLAY_INBOX_PROJECTION = "switchboard.replay.inbox-projection"
    REPLAY_INBOX_REPORTS = "switchboard.replay.inbox-reports"
    REPLAY_NOTIFIER = "switchboard.replay.notifier"
    REPLAY_NOTIFIER_PUBLIC = "switchboard.replay.notifier-public"
    REPLAY_NOTIFIER_WEBHOOKS = "switchboard.replay.notifier-webhooks"
    REPLAY_PM_SYNC = "switchboard.replay.pm-sync"
    REPLAY_PM_SYNC_FHIR_OUT = "switchboard.replay.pm-sync-fhir-out"


HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
FOREVER = -1


@dataclass(frozen=True)
class TopicSpec:
    partitions: int
    retention_ms: int  # -1: kept for ever
    cleanup_policy: str  # "delete" or "compact"
    why: str  # one line for docs/operations.md

    def configs(self, replication_factor: int) -> dict[str, str]:
        """The topic-level Kafka configs for a cluster of this replication factor."""
        return {
            "cleanup.policy": self.cleanup_policy,
            "retention.ms": str(self.retention_ms),
            "min.insync.replicas": str(min_insync_replicas(replication_factor)),
        }


def min_insync_replicas(replication_factor: int) -> int:
    """2 of 3 in production: acks=all then survives one broker down and still never
    acknowledges a write held by a single broker. 1 when there is only one (local)."""
    return max(1, min(2, replication_factor - 1))


# The services are event-sourced: projections (inbox, router, notifier, rebuilds) fold
# every event of these topics from the start, so they keep every record for ever.
#
# Configuration is NOT compacted, deliberately: every config event of a practice has the
# same key (`<practice>:config`, so they stay in order on one partition) and the consumers
# fold each one (ReasonAdded adds a reason, StaffSubscriptionsSet sets one member's list,
# RoutingSettingsChanged one practice's settings...). Compaction keeps only the newest
# record per key, so it would drop all but the last change of each practice and a replay
# (a rebuild, a new consumer) would come back with a wrong configuration. Compaction would
# need a key per piece of state and events that each carry the whole piece; until then
# config is a small topic kept in full.
_LOG = "event log, folded from the start by the projections: kept for ever"
TOPIC_SPECS: dict[Topic, TopicSpec] = {
    Topic.MESSAGES: TopicSpec(6, FOREVER, "delete", _LOG),
    Topic.ROUTING: TopicSpec(6, FOREVER, "delete", _LOG),
    Topic.PM: TopicSpec(6, FOREVER, "delete", _LOG),
    Topic.CONFIG: TopicSpec(
        6,
        FOREVER,
        "delete",
        "every change is folded on replay and all share one key per practice: "
        "compaction would keep only each practice's last change, so kept in full",
    ),
    Topic.ACTIONS: TopicSpec(6, FOREVER, "delete", _LOG),
    Topic.DELIVERY: TopicSpec(6, FOREVER, "delete", _LOG),
    Topic.NOTIFICATIONS: TopicSpec(6, FOREVER, "delete", "audit of alerts sent: kept for ever"),
    # Who is viewing or typing now: worthless after minutes; the live view reads from now on.
    Topic.PRESENCE: TopicSpec(6, HOUR_MS, "delete", "live signals only: one hour"),
    # Long enough for an operator to notice, fix and replay after a holiday, bounded because
    # the records are the original events (patient data) and nothing folds them.
    Topic.DEAD_LETTER: TopicSpec(
        6, 90 * DAY_MS, "delete", "for inspection and replay by an operator: 90 days"
    ),
    # Messages accepted while ingest's database was unreachable, until ingest's own consumer
    # has looked the sender up and published them to MESSAGES (ADR 0008). Only ingest reads
    # it; a week outlasts any outage and bounds how long patient data sits here.
    Topic.INTAKE: TopicSpec(
        6, 7 * DAY_MS, "delete", "messages awaiting ingest's sender look-up: 7 days"
    ),
}
# Each consumer group's replay topic (ADR 0007): the dead letters an operator re-drives
# after a fix. Read once; bounded because the records are original events. 6 partitions
# like the rest: a group's replicas scale up to the smallest partition count it reads.
REPLAY_PREFIX = "switchboard.replay."
REPLAY_TOPICS: dict[str, Topic] = {
    t.value.removeprefix(REPLAY_PREFIX): t for t in Topic if t.value.startswith(REPLAY_PREFIX)
}
TOPIC_SPECS |= {
    Topic.OPERATIONS: TopicSpec(
        6, FOREVER, "delete", "audit of operators' actions (no patient data): kept for ever"
    ),
    # A subscriber that starts late reads the whole public history (no patient data in it).
    Topic.PUBLIC_CONVERSATIONS: TopicSpec(
        6,
        FOREVER,
        "delete",
        "public conversation events for subscribers (no patient data): kept for ever",
    ),
    # Copies of patient content for entitled subscribers: bounded, as nothing here folds it;
    # the internal log keeps the original and the translator can re-derive it.
    Topic.PUBLIC_CONTENT: TopicSpec(
        6,
        30 * DAY_MS,
        "delete",
        "patient content of the public events, for entitled subscribers only: 30 days",
    ),
    **{
        t: TopicSpec(6, 30 * DAY_MS, "delete", "dead letters re-driven to one consumer: 30 days")
        for t in REPLAY_TOPICS.values()
    },
}
PARTITIONS: dict[Topic, int] = {t: s.partitions for t, s in TOPIC_SPECS.items()}


def topic_for(event: Event | type[Event]) -> Topic:
    return Topic(event.topic)
