"""The headline benchmark's arithmetic: step plan, percentiles, vegeta results, tables."""

from __future__ import annotations

import base64
import json
import math
from urllib.parse import parse_qsl

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.system_report import (
    Hit,
    Step,
    parse_steps,
    parse_vegeta_csv,
    percentile,
    ratio_table,
    resources_table,
    sender,
    sender_prefix,
    step_targets,
    steps_table,
)
from switchboard.ingest.adapters.twilio import signature_valid


def test_steps_are_parsed_in_the_order_given():
    assert parse_steps("100, 200,500,1000,1500") == [100, 200, 500, 1000, 1500]
    assert parse_steps("300,100") == [300, 100]


@pytest.mark.parametrize("text", ["", "100,0", "100,-5", "fast", "1.5"])
def test_a_step_that_is_not_a_positive_whole_rate_is_refused(text):
    with pytest.raises(ValueError):
        parse_steps(text)


def test_percentile_is_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50
    assert percentile(values, 0.99) == 99
    assert percentile(values, 1.0) == 100
    assert percentile([7.0], 0.99) == 7
    assert math.isnan(percentile([], 0.5))


@given(st.lists(st.floats(0, 1e6), min_size=1), st.floats(0, 1))
def test_percentile_is_a_value_with_at_least_that_share_at_or_below_it(values, q):
    p = percentile(values, q)
    assert p in values
    assert sum(v <= p for v in values) >= q * len(values)


def test_targets_are_distinct_webhooks_signed_for_their_url():
    url = "http://127.0.0.1:26001/webhooks/twilio/sms/demo"
    lines = step_targets(url, "secret", "abc123", 3, 50)
    forms = []
    for line in lines:
        target = json.loads(line)
        form = dict(parse_qsl(base64.b64decode(target["body"]).decode()))
        given_sig = target["header"]["X-Twilio-Signature"][0]
        assert target["method"] == "POST" and target["url"] == url
        assert signature_valid("secret", url, form, given_sig)
        assert not signature_valid("other", url, form, given_sig)
        assert form["From"].startswith(sender_prefix(3))
        forms.append(form)
    assert len({f["MessageSid"] for f in forms}) == len({f["From"] for f in forms}) == 50


def test_senders_of_different_steps_never_share_a_prefix():
    assert not sender(1, 99_999).startswith(sender_prefix(2))
    assert sender(12, 5) == "+15551200005"
    with pytest.raises(ValueError):
        sender(1, 100_000)


def test_vegeta_csv_rows_become_hits_in_seconds():
    rows = [["1700000000000000000", "200", "25000000", "120", "0", "", "", "", "0"], []]
    assert parse_vegeta_csv(rows) == [Hit(1_700_000_000.0, 200, 0.025)]


def step(rate=100, latencies=(0.01,) * 100, codes=None, spacing=0.01):
    codes = codes or [200] * len(latencies)
    pairs = zip(codes, latencies, strict=True)
    hits = [Hit(i * spacing, c, lat) for i, (c, lat) in enumerate(pairs)]
    return Step(rate=rate, duration_s=len(hits) * spacing, hits=hits)


def test_acks_per_second_counts_only_acknowledged_requests_up_to_the_last_ack():
    s = step(codes=[200] * 50 + [429] * 50)
    assert s.acks_per_s == pytest.approx(50)  # 50 acks over the 1 s the load lasted
    slow = step(latencies=[0.01] * 99 + [1.0])  # the last ack comes a second late
    assert slow.acks_per_s == pytest.approx(100 / 1.99)


def test_ack_percentiles_ignore_refused_requests():
    s = step(latencies=[0.01] * 90 + [5.0] * 10, codes=[200] * 90 + [429] * 10)
    assert s.ack(0.99) == pytest.approx(0.01)


def test_cpu_per_message_is_all_processes_cores_over_acks_per_second():
    s = step()
    s.resources = {"ingest": (0.3, 1), "router": (0.2, 1)}
    assert s.cpu_ms_per_message == pytest.approx(5.0)


def test_tables_show_each_step_and_the_refused_requests():
    a = step(codes=[200] * 95 + [429] * 4 + [0])
    a.visible_s = [0.1] * 95
    a.resources = {"ingest": (0.5, 100 * 2**20)}
    b = step(rate=200)
    b.resources = {"router": (0.25, 50 * 2**20)}
    table = steps_table([a, b])
    assert "| 100 | 100 | 95 |" in table and "none: 1, 429: 4" in table
    assert "| 95/100 |" in table
    res = resources_table([a, b])
    assert "| ingest | 0.50, 100 | - |" in res and "| router | - | 0.25, 50 |" in res


def test_ratio_compares_the_system_to_the_bare_pass_throughs_at_each_rate():
    system = step(codes=[200] * 50 + [429] * 50)
    bare = step()
    assert "| 100 | 50 | 100 | 0.50 |" in ratio_table([system], [bare])
    assert ratio_table([system], []).count("\n") == 1  # no bare run at that rate: no row
