"""switchboard-dlq: list, show and replay dead letters (docs/operations.md, ADR 0007)."""
