"""Create every Switchboard topic (never auto-created) with its partitions and configs from
switchboard.events.topics.TOPIC_SPECS, and align the configs of existing ones. The replication
factor comes from SWITCHBOARD_KAFKA_REPLICATION_FACTOR (1 locally, 3 on the three-broker cluster).
"""

import asyncio

from switchboard.platform.kafka import ensure_topics
from switchboard.platform.settings import ServiceSettings


async def main() -> None:
    settings = ServiceSettings()
    # A fresh broker may still be electing its controller, and a fresh cluster may not have
    # as many brokers registered as the replication factor asks for yet.
    for attempt in range(120):
        try:
            created = await ensure_topics(settings)
            break
        except Exception as exc:
            if attempt == 119:
                raise
            print(f"topics: broker not ready ({type(exc).__name__}), retrying")
            await asyncio.sleep(1)
    print(
        f"topics: created {len(created)}, configs aligned, prefix {settings.topic_prefix!r}, "
        f"replication factor {settings.kafka_replication_factor}"
    )


if __name__ == "__main__":
    asyncio.run(main())
