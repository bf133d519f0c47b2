# Switchboard: `make up` runs the whole system locally, `make test` runs every test.
.PHONY: rules-doc up down test test-unit lint typecheck bench schemas schemas-release settings-doc k8s-validate kafka-manifests kafka-cluster-up kafka-cluster-down metrics image-test images

# make up KAFKA_BROKERS=3: on the local three-broker cluster instead of the single broker.
# `make up IMAGES=1` runs the services from their container images (podman) instead of the venv.
up:
	SB_IMAGES=$(IMAGES) bash scripts/up.sh

down:
	bash scripts/down.sh

test:
	bash scripts/test.sh

# Builds one image per service and starts each against the local Kafka and PostgreSQL.
image-test:
	bash scripts/image_test.sh

images:
	bash scripts/images.sh

test-unit:
	uv run --frozen pytest tests/unit tests/contract -q

lint:
	uv run --frozen ruff check .
	uv run --frozen ruff format --check .

typecheck:
	uv run --frozen mypy libs services tools/demo_practice tools/sandbox

schemas:
	uv run --frozen python -m switchboard.events.schemas
	uv run --frozen python -m switchboard.events.asyncapi
	uv run --frozen python -m switchboard.events.internal.schemas

# When a release is cut: the current schemas become the snapshot later changes are checked
# against (docs/events.md). Never to make a failing compatibility test pass.
schemas-release: schemas
	uv run --frozen python -m switchboard.events.schemas --release

bench:
	uv run --frozen python bench/webhook_latency.py

# docs/settings.md and deploy/secrets/*.env.example from the settings classes (tests check them).
settings-doc:
	uv run --frozen python scripts/settings_reference.py

# docs/rules.md: where each SPEC rule lives in the code and which tests cover it.
rules-doc:
	uv run --frozen python scripts/rule_index.py

# Render every deploy/ overlay and validate it offline (kubeconform, schemas cached in .cache).
k8s-validate:
	uv run --frozen python scripts/k8s_validate.py

# Strimzi KafkaTopic/KafkaUser resources under deploy/kafka, from the topic and access
# declarations (a test fails when the committed files differ).
kafka-manifests:
	uv run --frozen python scripts/kafka_manifests.py

# The local three-broker KRaft cluster (ports 29092-29094), beside the single broker.
kafka-cluster-up:
	bash scripts/kafka-cluster.sh start

kafka-cluster-down:
	bash scripts/kafka-cluster.sh stop

# The key figures of every local service (lag, rates, p50/p99), refreshed every 2 s.
metrics:
	uv run --frozen python scripts/metrics.py

# The headline system benchmark (issue 17, docs/performance.md): the whole system on its own
# ports (SB_PORT_BASE, 26000) under stepped constant-rate load from vegeta, then the same load
# through bare aiokafka pass-throughs. BENCH_ARGS e.g. "--steps 100,200 --duration 20".
.PHONY: bench-system
bench-system:
	uv run --frozen python bench/system_bench.py $(BENCH_ARGS)

# ingest past its capacity (issue 21, intake): 5x for 60 s, shed/accepted, latency, RSS.
.PHONY: bench-overload
bench-overload:
	uv run --frozen python bench/ingest_overload_bench.py

# Restart the ingest replicas of `make up SB_INGEST_REPLICAS=2` one at a time (no request lost).
rolling-restart:
	bash scripts/rolling_restart.sh

# The import rules (pyproject.toml [tool.importlinter]); make test runs them too.
.PHONY: imports
imports:
	uv run --frozen lint-imports

# The fault harness (issue 21, docs/reliability.md): its own Kafka (29492) and PostgreSQL
# (15492) in /tmp/sb-faults, the whole system on port base 25400, load through every channel
# while services are killed and Kafka / PostgreSQL stopped; prints the invariants and figures.
# Options: make faults FAULTS_ARGS="--duration 600 --rate 20" (python -m tools.faults --help).
.PHONY: faults
faults:
	bash scripts/bootstrap.sh
	uv run --frozen python -m tools.faults $(FAULTS_ARGS)
