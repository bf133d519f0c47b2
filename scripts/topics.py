"""Create every Switchboard topic with its partition count (never auto-created)."""

import asyncio

from switchboard.platform.kafka import ensure_topics
from switchboard.platform.settings import ServiceSettings


async def main() -> None:
    settings = ServiceSettings()
    for attempt in range(30):
        try:
            created = await ensure_topics(settings)
            break
        except Exception as exc:  # the broker may still be electing its controller
            if attempt == 29:
                raise
            print(f"topics: broker not ready ({type(exc).__name__}), retrying")
            await asyncio.sleep(1)
    print(f"topics: created {len(created)}, prefix {settings.topic_prefix!r}")


if __name__ == "__main__":
    asyncio.run(main())
