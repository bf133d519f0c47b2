"""An idle consumer lets the broker hold its fetches long (a few round trips a second instead
of 20: idle cost, issue 17); the first poll with records makes them short again."""

import inspect
from types import SimpleNamespace

from aiokafka.consumer.fetcher import Fetcher

from switchboard.events import Topic
from switchboard.platform.consumer import ConsumerRunner
from switchboard.platform.settings import ServiceSettings


def runner() -> ConsumerRunner:
    r = ConsumerRunner(
        name="c",
        topics=[Topic.MESSAGES],
        handler=None,  # type: ignore[arg-type]
        settings=ServiceSettings(topic_prefix="t."),
        sessionmaker=None,  # type: ignore[arg-type]
        processed=None,  # type: ignore[arg-type]
        publisher=None,  # type: ignore[arg-type]
    )
    r.consumer = SimpleNamespace(_fetcher=SimpleNamespace(_fetch_max_wait_ms=50))  # type: ignore[assignment]
    return r


def test_idle_polls_lengthen_the_fetch_wait_and_records_shorten_it():
    r = runner()
    fetcher = r.consumer._fetcher  # type: ignore[union-attr]
    r._pace_fetches(busy=False)
    assert fetcher._fetch_max_wait_ms == 500
    r._pace_fetches(busy=True)
    assert fetcher._fetch_max_wait_ms == 50


def test_aiokafka_still_reads_the_wait_when_it_builds_each_fetch():
    # The pacing sets a private attribute: this fails if aiokafka stops reading it per request.
    assert "self._fetch_max_wait_ms" in inspect.getsource(Fetcher._get_actions_per_node)


def test_a_consumer_without_a_fetcher_yet_is_left_alone():
    r = runner()
    r.consumer = SimpleNamespace()  # type: ignore[assignment]
    r._pace_fetches(busy=False)  # no error
