"""An idle consumer lets the broker hold its fetches long (a few round trips a second instead
of 20: idle cost, issue 17); the first poll with records makes them short again. The same
pacing serves the platform's consumers and the gateway's live relay."""

import inspect
from types import SimpleNamespace

from aiokafka.consumer.fetcher import Fetcher

from switchboard.platform.kafka import pace_fetches
from switchboard.platform.settings import ServiceSettings

SETTINGS = ServiceSettings(topic_prefix="t.")


def consumer(wait_ms: int = 50) -> SimpleNamespace:
    return SimpleNamespace(_fetcher=SimpleNamespace(_fetch_max_wait_ms=wait_ms))


def test_idle_polls_lengthen_the_fetch_wait_and_records_shorten_it():
    c = consumer()
    pace_fetches(c, SETTINGS, busy=False)  # type: ignore[arg-type]
    assert c._fetcher._fetch_max_wait_ms == SETTINGS.consumer_idle_fetch_max_wait_ms > 50
    pace_fetches(c, SETTINGS, busy=True)  # type: ignore[arg-type]
    assert c._fetcher._fetch_max_wait_ms == 50


def test_aiokafka_still_reads_the_wait_when_it_builds_each_fetch():
    # The pacing sets a private attribute: this fails if aiokafka stops reading it per request.
    assert "self._fetch_max_wait_ms" in inspect.getsource(Fetcher._get_actions_per_node)


def test_a_consumer_without_a_fetcher_yet_is_left_alone():
    pace_fetches(SimpleNamespace(), SETTINGS, busy=False)  # type: ignore[arg-type]
