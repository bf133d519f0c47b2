"""Pure: the request and response bodies of the services' internal HTTP APIs (`/internal/...`).

One module per serving service (router, pm_sync, ingest, notifier). The server declares them
(`response_model=`, typed bodies) so its internal OpenAPI is typed; its callers parse answers
into them (`Model.model_validate(response.json())`). `python -m
switchboard.events.internal.schemas` exports them as JSON Schema (libs/events/internal-schemas/),
and a contract test fails when the committed files differ from the models. See ADR 0015 for why
they live in the event contract library.
"""
