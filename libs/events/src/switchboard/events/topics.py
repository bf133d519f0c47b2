"""Logical topic names. A deployment may prefix them (settings.topic_prefix)."""

from __future__ import annotations

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


PARTITIONS: dict[Topic, int] = {t: 6 for t in Topic}


def topic_for(event: Event | type[Event]) -> Topic:
    return Topic(event.topic)
