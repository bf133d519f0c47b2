"""The fault schedule: which fault, against what, in which order, and when at the earliest.

Faults run one after another (a fault's window ends when the system has recovered from it),
so a planned start is a lower bound: a slow recovery pushes the later ones back."""

from __future__ import annotations

from dataclasses import dataclass

SERVICES = ("gateway", "ingest", "router", "inbox-projection", "notifier", "pm-sync")

# kill9: SIGKILL one service, or every service at once (target "all"; supervisord restarts
# them); sigterm_rolling: SIGTERM every service
# in turn, each back up before the next; kafka_stop: the broker stopped then started;
# pg_restart: PostgreSQL stopped then started; cluster_broker: one of three brokers killed;
# net_cut: the network to Kafka or PostgreSQL cut (packets dropped), then restored.
KINDS = ("kill9", "sigterm_rolling", "kafka_stop", "pg_restart", "cluster_broker", "net_cut")


@dataclass(frozen=True, slots=True)
class Fault:
    kind: str
    target: str  # a service, "all", "kafka", "postgres" or "broker-<n>"
    at_s: float  # earliest start, seconds after the load began
    outage_s: float = 0.0  # how long a stopped dependency stays down

    @property
    def label(self) -> str:
        return f"{self.kind} {self.target}"


@dataclass(frozen=True, slots=True)
class PlanSpec:
    load_s: float  # how long the load runs
    kills_per_service: int = 1
    kill_all: int = 0  # every service killed at the same moment
    rolling_restarts: int = 0
    kafka_outages: int = 1
    pg_restarts: int = 1
    cluster_broker_losses: int = 0
    net_cuts: int = 0  # alternately Kafka's and PostgreSQL's
    outage_s: float = 10.0  # a stopped Kafka / PostgreSQL stays down this long
    warmup_s: float = 10.0  # load before the first fault
    cooldown_s: float = 15.0  # load after the last planned fault


def schedule(spec: PlanSpec, services: tuple[str, ...] = SERVICES) -> list[Fault]:
    """Every fault of `spec`, spread evenly over the load between warm-up and cool-down.

    Kills go round the services (each killed `kills_per_service` times, never the same one
    twice in a row when there are several); the dependency faults are interleaved among them
    so each meets a system that has been running under load for a while."""
    if spec.load_s <= spec.warmup_s + spec.cooldown_s:
        raise ValueError("the load must outlast the warm-up and the cool-down")
    kills = [Fault("kill9", s, 0) for _ in range(spec.kills_per_service) for s in services]
    others = (
        [Fault("kafka_stop", "kafka", 0, spec.outage_s)] * spec.kafka_outages
        + [Fault("pg_restart", "postgres", 0, spec.outage_s)] * spec.pg_restarts
        + [Fault("kill9", "all", 0)] * spec.kill_all
        + [Fault("sigterm_rolling", "all", 0)] * spec.rolling_restarts
        + [
            Fault("cluster_broker", f"broker-{1 + i % 3}", 0, spec.outage_s)
            for i in range(spec.cluster_broker_losses)
        ]
        + [
            Fault("net_cut", ("kafka", "postgres")[i % 2], 0, spec.outage_s)
            for i in range(spec.net_cuts)
        ]
    )
    ordered = _interleave(kills, others)
    if not ordered:
        return []
    span = spec.load_s - spec.warmup_s - spec.cooldown_s
    step = span / len(ordered)
    return [
        Fault(f.kind, f.target, round(spec.warmup_s + i * step, 1), f.outage_s)
        for i, f in enumerate(ordered)
    ]


def _interleave(kills: list[Fault], others: list[Fault]) -> list[Fault]:
    """`others` spread evenly among `kills`, the first after some kills."""
    if not others:
        return kills
    out: list[Fault] = []
    gap = len(kills) / (len(others) + 1)
    pending = list(others)
    for i, k in enumerate(kills):
        out.append(k)
        while pending and i + 1 >= gap * (len(others) - len(pending) + 1):
            out.append(pending.pop(0))
    return out + pending
