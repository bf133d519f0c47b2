# Switchboard: `make up` runs the whole system locally, `make test` runs every test.
.PHONY: up down test test-unit lint typecheck bench schemas

up:
	bash scripts/up.sh

down:
	bash scripts/down.sh

test:
	bash scripts/test.sh

test-unit:
	uv run --frozen pytest tests/unit tests/contract -q

lint:
	uv run --frozen ruff check .
	uv run --frozen ruff format --check .

typecheck:
	uv run --frozen mypy libs services

schemas:
	uv run --frozen python -m switchboard.events.schemas

bench:
	uv run --frozen python bench/webhook_latency.py
