"""The fault schedule: every fault planned once, spread over the load, in a usable order."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest

from tools.faults.plan import SERVICES, PlanSpec, schedule


def test_every_service_is_killed_the_asked_number_of_times_and_each_dependency_fault_planned():
    spec = PlanSpec(
        load_s=400, kills_per_service=3, rolling_restarts=1, kafka_outages=2, pg_restarts=2
    )
    faults = schedule(spec)
    kills = Counter(f.target for f in faults if f.kind == "kill9")
    assert kills == dict.fromkeys(SERVICES, 3)
    kinds = Counter(f.kind for f in faults)
    assert (kinds["kafka_stop"], kinds["pg_restart"], kinds["sigterm_rolling"]) == (2, 2, 1)
    assert len(faults) == 18 + 5


def test_faults_start_after_the_warm_up_in_order_and_end_before_the_cool_down():
    spec = PlanSpec(load_s=200, warmup_s=20, cooldown_s=30)
    starts = [f.at_s for f in schedule(spec)]
    assert starts == sorted(starts)
    assert starts[0] == 20 and starts[-1] < 200 - 30
    assert len(set(starts)) == len(starts)


def test_dependency_faults_are_spread_among_the_kills_not_bunched_at_an_end():
    faults = schedule(PlanSpec(load_s=300, kills_per_service=2, kafka_outages=1, pg_restarts=1))
    positions = [i for i, f in enumerate(faults) if f.kind != "kill9"]
    assert positions[0] > 0 and positions[-1] < len(faults) - 1
    assert positions[1] - positions[0] > 1


def test_every_service_killed_at_once_is_one_fault_among_the_others():
    faults = schedule(PlanSpec(load_s=100, kills_per_service=0, kill_all=1, pg_restarts=1))
    assert [(f.kind, f.target) for f in faults] == [
        ("kafka_stop", "kafka"),
        ("pg_restart", "postgres"),
        ("kill9", "all"),
    ]


def test_no_service_is_killed_twice_in_a_row():
    faults = schedule(PlanSpec(load_s=300, kills_per_service=3))
    kills = [f.target for f in faults if f.kind == "kill9"]
    assert all(a != b for a, b in itertools.pairwise(kills))


def test_a_dependency_outage_carries_its_length_and_a_cluster_loss_names_a_broker():
    faults = schedule(
        PlanSpec(
            load_s=100, kills_per_service=0, kafka_outages=1, cluster_broker_losses=2, outage_s=7
        )
    )
    assert {f.outage_s for f in faults} == {7}
    assert sorted(f.target for f in faults if f.kind == "cluster_broker") == [
        "broker-1",
        "broker-2",
    ]


def test_a_load_too_short_for_warm_up_and_cool_down_is_refused():
    with pytest.raises(ValueError):
        schedule(PlanSpec(load_s=20, warmup_s=10, cooldown_s=10))


def test_network_cuts_alternate_between_kafka_and_postgres_and_carry_the_outage():
    faults = schedule(
        PlanSpec(load_s=100, kills_per_service=0, kafka_outages=0, pg_restarts=0, net_cuts=3)
    )
    assert [(f.kind, f.target, f.outage_s) for f in faults] == [
        ("net_cut", "kafka", 10.0),
        ("net_cut", "postgres", 10.0),
        ("net_cut", "kafka", 10.0),
    ]
