"""What each service reads and writes on Kafka: the one declaration the Strimzi `KafkaUser`
ACLs are made from (deploy/kafka/users.yaml). tests/unit/test_kafka_access.py checks it
against the services' code: the consumer groups they wire, the topics their raw consumers
name, the events they construct.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from switchboard.events.topics import REPLAY_TOPICS, Topic

T = Topic


@dataclass(frozen=True)
class ServiceAccess:
    service: str
    # Consumer group (a ConsumerRunner's name; the group id in production) -> its topics.
    groups: dict[str, tuple[Topic, ...]] = field(default_factory=dict)
    # Groups a service makes per run, by prefix (a projection rebuild), and their topics.
    group_prefixes: dict[str, tuple[Topic, ...]] = field(default_factory=dict)
    # Topics read without a consumer group (every replica reads everything).
    reads_ungrouped: tuple[Topic, ...] = ()
    writes: tuple[Topic, ...] = ()

    @property
    def reads(self) -> tuple[Topic, ...]:
        topics = {
            *(t for ts in self.groups.values() for t in ts),
            *(t for ts in self.group_prefixes.values() for t in ts),
            *self.reads_ungrouped,
            # every consumer group also reads its own replay topic (consumer.py)
            *(REPLAY_TOPICS[g] for g in self.groups if g in REPLAY_TOPICS),
        }
        return tuple(t for t in Topic if t in topics)


_INBOX = (T.MESSAGES, T.ROUTING, T.ACTIONS, T.DELIVERY, T.PM, T.CONFIG)
_REPORTS = (T.MESSAGES, T.ROUTING, T.ACTIONS, T.DELIVERY, T.CONFIG, T.NOTIFICATIONS)

ACCESS: tuple[ServiceAccess, ...] = (
    ServiceAccess(
        "gateway",
        # the live view (SSE): no group, every replica reads from now on
        reads_ungrouped=(T.ROUTING, T.ACTIONS, T.DELIVERY, T.NOTIFICATIONS, T.PRESENCE),
        writes=(T.CONFIG, T.ACTIONS, T.PRESENCE),
    ),
    ServiceAccess(
        "ingest",
        groups={
            "ingest-replies": (T.ACTIONS,),
            "ingest-contacts": (T.PM,),
            "ingest-config": (T.CONFIG,),
            "ingest-intake": (T.INTAKE,),
        },
        # messages in (deferred ones via INTAKE), replies' results, and the patient's read
        # receipts (an action)
        writes=(T.MESSAGES, T.ACTIONS, T.DELIVERY, T.INTAKE, T.DEAD_LETTER),
    ),
    ServiceAccess(
        "router",
        groups={"router": (T.MESSAGES, T.PM, T.CONFIG, T.ACTIONS, T.DELIVERY)},
        reads_ungrouped=(T.MESSAGES,),  # replay / what-if over past messages
        # the SMS / email reason menu (a system reply) and its timer (X-MENU-1, ADR 0025)
        writes=(T.ROUTING, T.ACTIONS, T.DEAD_LETTER),
    ),
    ServiceAccess(
        "inbox-projection",
        # the inbox read model, and the reports read model (ADR 0021)
        groups={"inbox-projection": _INBOX, "inbox-reports": _REPORTS},
        group_prefixes={"inbox-rebuild-": _INBOX, "inbox-reports-rebuild-": _REPORTS},
        writes=(T.ACTIONS, T.DEAD_LETTER),  # auto-assignment to a person's own address
    ),
    ServiceAccess(
        "notifier",
        groups={
            "notifier": (T.ROUTING, T.CONFIG, T.DELIVERY, T.ACTIONS),
            # the public stream's translator (ADR 0022) and the event webhooks' intake
            "notifier-public": (T.MESSAGES, T.ROUTING, T.ACTIONS, T.DELIVERY),
            "notifier-webhooks": (T.PUBLIC_CONVERSATIONS, T.PUBLIC_CONTENT),
        },
        # escalation reassigns: an action
        writes=(
            T.ACTIONS,
            T.NOTIFICATIONS,
            T.PUBLIC_CONVERSATIONS,
            T.PUBLIC_CONTENT,
            T.DEAD_LETTER,
        ),
    ),
    ServiceAccess(
        "pm-sync",
        groups={
            "pm-sync": (T.PM,),
            # FHIR Communications out (X-FHIR-2): messages, their routing, replies, labels
            "pm-sync-fhir-out": (T.MESSAGES, T.ROUTING, T.ACTIONS, T.DELIVERY, T.CONFIG),
        },
        writes=(T.PM, T.DEAD_LETTER),
    ),
)


# Operator tools with a KafkaUser of their own (run as a Job: docs/operations.md).
TOOLS: tuple[ServiceAccess, ...] = (
    ServiceAccess(
        "dlq",  # switchboard-dlq: reads dead letters and its own records, re-drives them
        reads_ungrouped=(T.DEAD_LETTER, T.OPERATIONS),
        writes=(T.OPERATIONS, *REPLAY_TOPICS.values()),
    ),
)


# Downstream subscribers (docs/subscribers.md): one KafkaUser each, reading with consumer
# groups of their own prefix. `subscriber-events` reads only the public conversation topic (no
# patient data); `subscriber-content` is for subscribers entitled to patient content too.
SUBSCRIBERS: tuple[ServiceAccess, ...] = (
    ServiceAccess("subscriber-events", group_prefixes={"subscriber-": (T.PUBLIC_CONVERSATIONS,)}),
    ServiceAccess(
        "subscriber-content",
        group_prefixes={"subscriber-content-": (T.PUBLIC_CONVERSATIONS, T.PUBLIC_CONTENT)},
    ),
)


def access_for(service: str) -> ServiceAccess:
    return next(a for a in ACCESS if a.service == service)
