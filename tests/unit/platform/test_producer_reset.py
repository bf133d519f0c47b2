"""A producer whose writes keep failing is replaced (the fault harness saw an idempotent
producer stay wedged for minutes after the broker restarted)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka.errors import NotLeaderForPartitionError

from switchboard.events import ReasonAdded
from switchboard.platform.kafka import Publisher, PublishError
from switchboard.platform.settings import ServiceSettings


class Wedged:
    """Every write fails like the wedged producer did; start/stop work."""

    def __init__(self) -> None:
        self.started = self.stopped = False

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    async def send(self, *args: Any, **kwargs: Any) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        future.set_exception(NotLeaderForPartitionError())
        return future


class Healthy(Wedged):
    def __init__(self) -> None:
        super().__init__()
        self.sent = 0

    async def send(self, *args: Any, **kwargs: Any) -> asyncio.Future[None]:
        self.sent += 1
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future


def event() -> ReasonAdded:
    event_id = uuid.uuid4()
    return ReasonAdded(
        event_id=event_id,
        occurred_at=datetime.now(UTC),
        practice_id="p1",
        correlation_id=event_id,
        actor="u1",
        code="billing",
        label="Billing",
    )


@pytest.fixture
def setup() -> tuple[Publisher, Wedged, list[Healthy], list[float]]:
    settings = ServiceSettings(service_name="t", producer_reset_after_s=20.0)
    wedged, made, now = Wedged(), [], [100.0]

    def factory(_: ServiceSettings) -> Any:
        made.append(Healthy())
        return made[-1]

    publisher = Publisher(wedged, settings, factory=factory, clock=lambda: now[0])  # type: ignore[arg-type]
    return publisher, wedged, made, now


async def test_a_streak_of_failures_longer_than_the_limit_replaces_the_producer(setup) -> None:
    publisher, wedged, made, now = setup
    for t in (100.0, 110.0, 119.0):  # failing, but for less than 20 s: kept
        now[0] = t
        with pytest.raises(PublishError):
            await publisher.publish([event()])
    assert made == [] and publisher.producer is wedged
    now[0] = 121.0
    with pytest.raises(PublishError):
        await publisher.publish([event()])
    assert len(made) == 1 and publisher.producer is made[0] and publisher.resets == 1
    await asyncio.sleep(0.05)  # the new producer starts, the old one stops, in the background
    assert made[0].started and wedged.stopped and publisher.connected
    await publisher.publish([event()])
    assert made[0].sent == 1


async def test_a_success_ends_the_streak(setup) -> None:
    publisher, wedged, made, now = setup
    with pytest.raises(PublishError):
        await publisher.publish([event()])
    publisher.producer = Healthy()  # type: ignore[assignment]
    now[0] = 110.0
    await publisher.publish([event()])
    publisher.producer = wedged
    for t in (125.0, 140.0):  # 40 s after the first failure, but only 15 s into this streak
        now[0] = t
        with pytest.raises(PublishError):
            await publisher.publish([event()])
    assert made == [] and publisher.resets == 0
