"""Settings from environment variables, prefix SWITCHBOARD_ (or files: secret_settings.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from switchboard.events import Topic
from switchboard.platform.secret_settings import InternalCallers, Secret, SecretFilesSource


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SWITCHBOARD_", extra="ignore")

    service_name: str = "switchboard"
    # Deployment mode: production (the default) refuses to start with a missing or default
    # secret; dev (make up, tests) warns once and uses random per-process stand-ins.
    env: Literal["production", "dev"] = "production"
    kafka_bootstrap: str = "127.0.0.1:19092"
    # Replicas of each topic scripts/topics.py creates: 1 on the local single broker, 3 on the
    # local three-broker cluster (scripts/kafka-cluster.sh). In production Strimzi creates
    # the topics from deploy/kafka (3 replicas, min.insync.replicas 2).
    kafka_replication_factor: int = 1
    # How every Kafka client connects: PLAINTEXT locally, SASL_SSL in production (TLS to the
    # Strimzi listener on 9093, authenticated as the service's own KafkaUser).
    kafka_security_protocol: str = "PLAINTEXT"
    # SASL mechanism of the Strimzi KafkaUsers (deploy/kafka/users.yaml).
    kafka_sasl_mechanism: str = "SCRAM-SHA-512"
    # The service's KafkaUser: `switchboard-<service>`.
    kafka_sasl_username: str | None = None
    # Key `password` of the Secret Strimzi's user operator makes for that user.
    kafka_sasl_password: Annotated[
        SecretStr | None,
        Secret(when=lambda s: s.kafka_security_protocol.upper().startswith("SASL")),
    ] = None
    # The cluster CA (key `ca.crt` of Secret `switchboard-cluster-ca-cert`), mounted as a file.
    kafka_ssl_cafile: str | None = None
    # Prefix for every topic name: lets tests and environments share one cluster safely.
    topic_prefix: str = ""
    # Prefix for consumer group ids: a second copy of a service (a replay, a test) reads the
    # log from the start in groups of its own, without moving the live service's offsets.
    consumer_group_prefix: str = ""
    database_url: str = "postgresql+psycopg://switchboard@127.0.0.1:55432/switchboard"
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    # The internal API's own listener (internal_api.py), for services that have one. Unset:
    # the public port + 100 (8100 beside 8000, the Kubernetes containerPort `internal`).
    internal_http_port: int | None = None
    # Replicas on one machine (make up SB_INGEST_REPLICAS=2): the public listener is the
    # socket the supervisor opened and passed as this file descriptor (supervisord's
    # fcgi-program passes 0), shared by the replicas; and the internal listener is bound
    # with SO_REUSEPORT (`reuse_port`) so each replica binds it too.
    listen_fd: int | None = None
    reuse_port: bool = False
    # Which of those replicas this process is (supervisord's process_num), and where each
    # also serves its public app on an address of its own (`replica_port_base` + `replica`):
    # the rolling restart asks that replica's /readyz there.
    replica: int = 0
    replica_port_base: int | None = None
    # This service's credential, sent as a bearer token to every peer's internal API (the
    # services that call peers declare it required: secret_settings.py).
    internal_token: Annotated[SecretStr | None, Secret(required=False)] = None
    # Who may call this service's internal API: JSON {"<caller>": "<token>" | ["<token>", ...]}
    # (a list while a token is rotated). Empty: nobody (no default is ever generated). The
    # services that serve an internal API declare it required.
    internal_callers: Annotated[InternalCallers, Secret(required=False)] = {}
    log_level: str = "INFO"
    # The event loop of the whole process (HTTP, consumers, producer, database driver) and
    # uvicorn's HTTP parser: the C ones cost less CPU per message (docs/performance.md);
    # "asyncio" / "h11" are the pure-Python fallbacks, for comparing or for a platform
    # without the wheels.
    event_loop: Literal["uvloop", "asyncio"] = "uvloop"
    http_parser: Literal["httptools", "h11"] = "httptools"
    # Seconds a producer may take to get acks=all before the caller gives up (webhook -> 503).
    publish_timeout_s: float = 5.0
    # Writes failing without a break for this long: the producer is replaced by a new one.
    # An idempotent producer can stay wedged after the broker restarts (seen in the fault
    # harness: every write failed for 8 minutes); a fresh one has a new producer id.
    producer_reset_after_s: float = 20.0
    # How long the producer waits to fill a batch. A service that publishes a whole batch at
    # once and waits for it (pm-sync's MLLP intake) gains nothing from waiting: it sets 0.
    producer_linger_ms: int = 2
    consumer_batch_max: int = 500
    consumer_fetch_max_wait_ms: int = 50
    # The broker answers a fetch once it has this many bytes (or the wait above is over):
    # raise it where bigger batches matter more than a few ms of latency (pm-sync's own
    # projection), keep 1 where latency matters (routing).
    consumer_fetch_min_bytes: int = 1
    # After a poll that brought nothing, the broker may hold the next fetch this long (it
    # still answers as soon as a record arrives, with `consumer_fetch_min_bytes` 1): an idle
    # consumer then costs a fetch round trip every few seconds instead of 20 a second. The
    # first poll with records goes back to `consumer_fetch_max_wait_ms`. (500 ms left the
    # services at 0.7-2.2 % of a core at rest, 5 s at 0.4-1.3 %: docs/performance.md.)
    consumer_idle_fetch_max_wait_ms: int = 5000
    # How long one poll waits for records before the loop goes round (liveness beat, lag
    # metrics, noticing a stop): it returns at once when records arrive.
    consumer_poll_timeout_ms: int = 2000
    consumer_max_attempts: int = 5
    consumer_backoff_initial_s: float = 0.2
    consumer_backoff_max_s: float = 10.0
    # Liveness: a consumer that holds partitions but has not polled for this long is stuck
    # (/healthz answers 503 naming it). Above the longest batch; below Kafka's
    # max.poll.interval.ms (300 s), after which the group would drop the member anyway.
    consumer_stall_s: float = 120.0
    # SIGTERM: the listeners close at once; requests in flight, the consumers' current
    # batches (committed, then their offsets) and background work get this long to finish,
    # then what is left is cancelled and the process exits 0. Below Kubernetes'
    # terminationGracePeriodSeconds (30 s by default).
    shutdown_grace_s: float = 20.0

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Explicit values, then the environment, then SWITCHBOARD_<NAME>_FILE / secrets dir.
        return (init_settings, env_settings, dotenv_settings, SecretFilesSource(settings_cls))

    @property
    def internal_port(self) -> int:
        return self.internal_http_port or self.http_port + 100

    def group_id(self, consumer: str) -> str:
        """Consumer groups follow the topic prefix unless told otherwise, so runs that share
        a broker under different prefixes never share (and rebalance) a group."""
        return f"{self.consumer_group_prefix or self.topic_prefix}{consumer}"

    def topic(self, topic: Topic | str) -> str:
        return f"{self.topic_prefix}{topic}"
