"""`make faults` options: the three-broker run loses each broker in turn, and a broker loss
is refused where there is only one broker (it could not go on)."""

from __future__ import annotations

import pytest

from tools.faults.__main__ import config
from tools.faults.driver import Infra
from tools.faults.plan import schedule


def test_a_three_broker_run_kills_each_broker_once_on_the_cluster_ports(tmp_path):
    cfg = config(["--brokers", "3", "--home", str(tmp_path), "--cluster-port", "29692"])
    losses = [f.target for f in schedule(cfg.spec) if f.kind == "cluster_broker"]
    assert sorted(losses) == ["broker-1", "broker-2", "broker-3"]
    infra = Infra(cfg)
    assert infra.kafka_script == "kafka-cluster.sh"
    assert infra.env["SWITCHBOARD_KAFKA_BOOTSTRAP"] == (
        "127.0.0.1:29692,127.0.0.1:29693,127.0.0.1:29694"
    )
    assert infra.env["SWITCHBOARD_KAFKA_REPLICATION_FACTOR"] == "3"
    assert infra.kafka_ports() == list(range(29692, 29698))  # brokers and controllers


def test_the_single_broker_run_has_no_broker_loss(tmp_path):
    cfg = config(["--home", str(tmp_path)])
    assert not [f for f in schedule(cfg.spec) if f.kind == "cluster_broker"]
    assert Infra(cfg).kafka_script == "kafka.sh"


def test_a_broker_loss_without_the_cluster_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit):
        config(["--broker-losses", "1", "--home", str(tmp_path)])
    assert "--brokers 3" in capsys.readouterr().err
