"""scripts/topics.py's ensure_topics against the real broker: missing topics are created with
their TOPIC_SPECS configs, and an existing topic whose configs drifted is brought back."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from switchboard.events.topics import TOPIC_SPECS, Topic
from switchboard.platform.kafka import ensure_topics
from switchboard.platform.settings import ServiceSettings

pytestmark = pytest.mark.integration
KEYS = ("cleanup.policy", "retention.ms", "min.insync.replicas")


async def configs(admin: AIOKafkaAdminClient, name: str) -> dict[str, str]:
    described = await admin.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, name, dict.fromkeys(KEYS))]
    )
    return {e[0]: e[1] for r in described for res in r.resources for e in res[4]}


async def test_existing_topic_configs_are_aligned_and_missing_ones_created(settings, infra):
    s = ServiceSettings(
        kafka_bootstrap=settings.kafka_bootstrap, topic_prefix=f"ts{uuid.uuid4().hex[:8]}."
    )
    admin = AIOKafkaAdminClient(bootstrap_servers=s.kafka_bootstrap)
    await admin.start()
    names = [s.topic(t) for t in Topic]
    try:
        # presence as the old topics.py made it: kept for ever
        presence = s.topic(Topic.PRESENCE)
        await admin.create_topics([NewTopic(presence, 6, 1, topic_configs={"retention.ms": "-1"})])
        for _ in range(50):  # bounded: until the broker lists it
            if presence in await admin.list_topics():
                break
            await asyncio.sleep(0.1)

        created = await ensure_topics(s)
        assert sorted(created) == sorted(n for n in names if n != presence)

        want = {n: TOPIC_SPECS[t].configs(1) for t, n in zip(Topic, names, strict=True)}
        got: dict[str, dict[str, str]] = {}
        for _ in range(50):  # config changes reach the broker's view within moments
            got = {n: await configs(admin, n) for n in names}
            if got == want:
                break
            await asyncio.sleep(0.2)
        assert got == want
        assert got[presence]["retention.ms"] == "3600000"
        assert got[s.topic(Topic.CONFIG)]["cleanup.policy"] == "delete"
        assert await ensure_topics(s) == []  # a second run changes nothing
        # Asked for 3 replicas where the topics have 1: min ISR stays 1, or every acks=all
        # write to them would be refused.
        assert await ensure_topics(s, replication_factor=3) == []
        await asyncio.sleep(1)
        assert (await configs(admin, presence))["min.insync.replicas"] == "1"
    finally:
        await admin.delete_topics([n for n in names if n in await admin.list_topics()])
        await admin.close()
