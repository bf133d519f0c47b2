"""The router: decides where each inbound patient message goes.

The pure decision logic (no I/O) lives in `catalogue`, `model`, `decision`, `picker`,
`assign`, `coverage` and `whatif`; `app`, `handlers` and `storage` wire it to Kafka and
PostgreSQL.
"""
