"""`python -m tools.faults` (make faults): the full run, or `--short` (the test's)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from tools.faults.driver import Config, run
from tools.faults.plan import PlanSpec
from tools.faults.report import render


def config(argv: list[str] | None = None) -> Config:
    env = os.environ.get
    p = argparse.ArgumentParser(prog="python -m tools.faults", description=__doc__)
    p.add_argument("--short", action="store_true", help="the short run of make test")
    p.add_argument("--home", default=env("SB_FAULTS_HOME", "/tmp/sb-faults"))
    p.add_argument("--port-base", type=int, default=int(env("SB_FAULTS_PORT_BASE", "25400")))
    p.add_argument("--kafka-port", type=int, default=int(env("SB_FAULTS_KAFKA_PORT", "29492")))
    controller = int(env("SB_FAULTS_KAFKA_CONTROLLER_PORT", "29493"))
    p.add_argument("--kafka-controller-port", type=int, default=controller)
    p.add_argument("--pg-port", type=int, default=int(env("SB_FAULTS_PG_PORT", "15492")))
    p.add_argument(
        "--brokers",
        type=int,
        choices=(1, 3),
        default=int(env("SB_FAULTS_BROKERS", "1")),
        help="3: a three-broker cluster (replication 3, min ISR 2), with broker losses",
    )
    cluster = int(env("SB_FAULTS_CLUSTER_PORT", "29692"))
    p.add_argument("--cluster-port", type=int, default=cluster, help="first of its six ports")
    p.add_argument("--broker-losses", type=int, help="kill -9 of one broker (3 with --brokers 3)")
    p.add_argument("--duration", type=float, help="seconds of load at least (full 300, short 75)")
    p.add_argument("--rate", type=float, help="messages/s over all channels (full 10, short 5)")
    p.add_argument("--kills", type=int, help="kill -9 of each service (full 1, short 0)")
    p.add_argument("--kill-all", type=int, help="kill -9 of every service at once (1, 1)")
    p.add_argument("--rolling", type=int, help="SIGTERM rolling restarts (full 1, short 0)")
    p.add_argument("--kafka-outages", type=int, help="broker stopped+started (full 2, short 1)")
    p.add_argument("--pg-restarts", type=int, help="PostgreSQL restarts (full 2, short 1)")
    p.add_argument(
        "--net-cuts",
        type=int,
        help="network to Kafka / PostgreSQL cut, alternately (full 2, short 0; needs iptables)",
    )
    p.add_argument("--outage", type=float, default=10.0, help="seconds a dependency stays down")
    p.add_argument("--keep-infra", action="store_true", help="leave Kafka and PostgreSQL running")
    a = p.parse_args(argv)
    if a.broker_losses and a.brokers != 3:
        p.error("--broker-losses needs --brokers 3 (one broker cannot lose one and go on)")
    short = a.short

    def pick(value: float | int | None, full: float | int, brief: float | int) -> float | int:
        return value if value is not None else (brief if short else full)

    spec = PlanSpec(
        load_s=float(pick(a.duration, 300, 75)),
        kills_per_service=int(pick(a.kills, 1, 0)),
        kill_all=int(pick(a.kill_all, 1, 1)),
        rolling_restarts=int(pick(a.rolling, 1, 0)),
        kafka_outages=int(pick(a.kafka_outages, 2, 1)),
        pg_restarts=int(pick(a.pg_restarts, 2, 1)),
        cluster_broker_losses=(
            int(pick(a.broker_losses, 3, 1)) if a.brokers == 3 else int(a.broker_losses or 0)
        ),
        net_cuts=int(pick(a.net_cuts, 2, 0)),
        outage_s=a.outage,
        warmup_s=5.0 if short else 10.0,
        cooldown_s=10.0 if short else 15.0,
    )
    return Config(
        home=Path(a.home),
        port_base=a.port_base,
        kafka_port=a.kafka_port,
        kafka_controller_port=a.kafka_controller_port,
        pg_port=a.pg_port,
        brokers=a.brokers,
        cluster_port=a.cluster_port,
        rate=float(pick(a.rate, 10, 5)),
        spec=spec,
        keep_infra=a.keep_infra,
        command="make faults"
        + (" (--short)" if short else "")
        + (" (--brokers 3)" if a.brokers == 3 else ""),
    )


def main(argv: list[str] | None = None) -> int:
    figures = run(config(argv))
    print(render(figures), flush=True)
    return 0 if figures.holds else 1


if __name__ == "__main__":
    raise SystemExit(main())
