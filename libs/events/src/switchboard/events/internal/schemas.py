"""JSON Schema export of the internal API models (the files a contract test keeps current).

Run `python -m switchboard.events.internal.schemas` (`make schemas`) to (re)write
libs/events/internal-schemas/: one `<service>.<Model>.json` per model. A request body is
exported as what the server accepts (validation schema), an answer as what it writes
(serialization schema).
"""

from __future__ import annotations

import importlib
import inspect
import json
import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

SCHEMA_DIR = Path(__file__).resolve().parents[4] / "internal-schemas"
SERVICES = ("common", "ingest", "notifier", "pm_sync", "router")
REQUESTS = frozenset(
    {
        "router.WhatIfRequest",
        "router.ProposedSubscription",
        "notifier.EventWebhookEndpointIn",
        "notifier.EventWebhookRedeliver",
    }
)


def models() -> dict[str, type[BaseModel]]:
    """`<service>.<Model>` -> the model, for every model the service modules define."""
    found: dict[str, type[BaseModel]] = {}
    for service in SERVICES:
        module = importlib.import_module(f"switchboard.events.internal.{service}")
        for name, obj in vars(module).items():
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseModel)
                and obj.__module__ == module.__name__
            ):
                found[f"{service}.{name}"] = obj
    return dict(sorted(found.items()))


def schema_for(name: str) -> dict[str, Any]:
    mode: Literal["validation", "serialization"] = (
        "validation" if name in REQUESTS else "serialization"
    )
    schema = models()[name].model_json_schema(mode=mode)
    schema["$id"] = f"urn:switchboard:internal-api:{name}"
    return schema


def render(name: str) -> str:
    return json.dumps(schema_for(name), indent=2, sort_keys=True) + "\n"


def export(directory: Path = SCHEMA_DIR) -> list[Path]:
    """Write every model's schema and remove files of models that no longer exist."""
    directory.mkdir(parents=True, exist_ok=True)
    wanted = {f"{name}.json": render(name) for name in models()}
    for stale in directory.glob("*.json"):
        if stale.name not in wanted:
            stale.unlink()
    written = []
    for filename, text in wanted.items():
        path = directory / filename
        path.write_text(text)
        written.append(path)
    return written


if __name__ == "__main__":
    for p in export():
        sys.stdout.write(f"wrote {p}\n")
