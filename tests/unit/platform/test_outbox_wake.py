"""An outbox loop sleeps long when there is nothing to send (idle cost, issue 17) and is woken
when its rows are there: a wake that comes while a round runs is not lost."""

import asyncio
import time

from switchboard.platform.outbox import OutboxLoop
from switchboard.platform.settings import ServiceSettings


class Recorder(OutboxLoop):
    def __init__(self, on_round) -> None:
        super().__init__(ServiceSettings(service_name="test"), poll_s=30, drain_timeout_s=1)
        self.rounds: list[float] = []
        self.on_round = on_round

    async def report_unreported(self, older_than_s: float = 10.0) -> int:
        return 0

    async def claim_and_send(self) -> int:
        self.rounds.append(time.monotonic())
        self.on_round(self)
        if len(self.rounds) >= 2:
            self.stop()
        return 0


async def run_briefly(loop: Recorder) -> None:
    task = asyncio.create_task(loop.run())
    try:
        await asyncio.wait_for(asyncio.shield(task), timeout=3)
    except TimeoutError:
        loop.stop()
        await task


async def test_a_wake_during_a_round_starts_the_next_round_at_once():
    # the consumer committed rows after this round's claim: the loop must not sleep 30 s
    loop = Recorder(lambda me: me.wake() if len(me.rounds) == 1 else None)
    await run_briefly(loop)
    assert len(loop.rounds) == 2
    assert loop.rounds[1] - loop.rounds[0] < 1


async def test_a_finished_send_wakes_the_loop_to_claim_again():
    async def send() -> None:
        await asyncio.sleep(0.05)

    def first_round_sends(me: Recorder) -> None:
        if len(me.rounds) == 1:
            me.track(asyncio.create_task(send()))

    loop = Recorder(first_round_sends)
    await run_briefly(loop)
    assert len(loop.rounds) == 2
    assert loop.rounds[1] - loop.rounds[0] < 1


async def test_with_nothing_to_do_it_sleeps_the_poll_interval():
    loop = Recorder(lambda me: None)
    await run_briefly(loop)
    assert len(loop.rounds) == 1
