"""Secrets in settings, declared one way: a `Secret` marker on the settings field.

The marker says when the secret is required (always, never, or when a feature is configured)
and how short it may be. `secret_findings` walks a settings object (nested models included)
and names every required secret that is missing, a known development placeholder or too short;
`enforce_secrets` runs it at every service's start-up: production refuses to start, dev warns
once. Secrets without a value get a random per-process default, never a public one.

Values come from the environment (`SWITCHBOARD_<NAME>`), a file named by
`SWITCHBOARD_<NAME>_FILE`, or a file `<name>` in the secrets directory
(`SWITCHBOARD_SECRETS_DIR`, default /run/secrets/switchboard): Kubernetes Secrets either way.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource
from pydantic_settings.exceptions import SettingsError

DEFAULT_SECRETS_DIR = "/run/secrets/switchboard"

# Values that were public defaults in this code base (and the demo's): never a real secret.
DEV_PLACEHOLDERS = frozenset(
    {
        "dev-only-secret-change-me-0123456789abcdef",
        "dev-twilio-auth-token",
        "dev-email-webhook-secret",
        "dev-link-secret",
        "demo-fhir-token",
    }
)


@dataclass(frozen=True)
class Secret:
    """Marks a settings field as a secret (`Annotated[SecretStr, Secret(...)]`).

    required: needed in production; `when` narrows that to when a feature is configured
    (e.g. SMS credentials only when an SMS provider URL is set). min_length: shorter values
    are refused in production (signing keys)."""

    required: bool = True
    when: Callable[[Any], bool] | None = None
    min_length: int = 1

    def needed(self, owner: Any) -> bool:
        return self.required and (self.when is None or bool(self.when(owner)))


def random_secret() -> SecretStr:
    """The default of a secret nobody set: unguessable, so nothing signed with it is forgeable,
    and different in every process (a dev run without secrets.env still works in one process)."""
    return SecretStr(secrets.token_urlsafe(32))


def _one_or_many(value: Any) -> Any:
    """A list of keys from JSON (`["new", "old"]`) or a single key as plain text."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return []
        return json.loads(text) if text.startswith("[") else [text]
    return value


def _callers(value: Any) -> Any:
    """`{"gateway": "tok"}` or `{"gateway": ["new", "old"]}`: each caller's accepted tokens."""
    if isinstance(value, str):
        value = json.loads(value) if value.strip() else {}
    if isinstance(value, Mapping):
        return {k: [v] if isinstance(v, str | SecretStr) else v for k, v in value.items()}
    return value


# Several keys, the first for signing: rotation keeps the previous ones for verification.
SecretList = Annotated[list[SecretStr], NoDecode, BeforeValidator(_one_or_many)]
# SWITCHBOARD_INTERNAL_CALLERS: the callers an internal listener accepts, by service name.
InternalCallers = Annotated[dict[str, list[SecretStr]], NoDecode, BeforeValidator(_callers)]


@dataclass(frozen=True)
class Finding:
    name: str  # the environment variable (or its path inside a JSON setting), never the value
    why: str


def _marker(info: FieldInfo) -> Secret | None:
    return next((m for m in info.metadata if isinstance(m, Secret)), None)


def _label(item: BaseModel, index: int) -> str:
    named = getattr(item, "practice_id", None) or getattr(item, "name", None)
    return str(named) if isinstance(named, str) else str(index)


def _values(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, SecretStr):
        return [value.get_secret_value()]
    if isinstance(value, Mapping):
        return [v for vs in value.values() for v in _values(vs)]
    if isinstance(value, list | tuple):
        return [v for x in value for v in _values(x)]
    return [str(value)]


def _judge(values: list[str], marker: Secret, needed: bool) -> str | None:
    if not values or not all(values):
        return "missing" if needed else None
    if any(v in DEV_PLACEHOLDERS or "change-me" in v.lower() for v in values):
        return "a public development default"
    if any(len(v) < marker.min_length for v in values):
        return f"shorter than {marker.min_length} characters"
    return None


def _walk(model: BaseModel, name_of: Callable[[str], str]) -> Iterator[Finding]:
    for field, info in type(model).model_fields.items():
        value = getattr(model, field)
        marker = _marker(info)
        if marker is not None:
            needed = marker.needed(model)
            # A value nobody set is the random per-process default: missing, for production.
            values = _values(value) if field in model.model_fields_set else []
            why = _judge(values, marker, needed)
            if why is not None:
                yield Finding(name_of(field), why)
            continue
        items = value if isinstance(value, list | tuple) else [value]
        for i, item in enumerate(items):
            if isinstance(item, BaseModel):
                label = f"[{_label(item, i)}]" if item is not value else ""
                prefix = f"{name_of(field)}{label}"
                yield from _walk(item, lambda f, p=prefix: f"{p}.{f}")  # type: ignore[misc]


def secret_findings(settings: BaseSettings) -> list[Finding]:
    """Every secret production would refuse: missing, a public default, or too short."""
    prefix = str(settings.model_config.get("env_prefix", ""))
    return list(_walk(settings, lambda f: f"{prefix}{f}".upper()))


def enforce_secrets(settings: BaseSettings, service: str, log: Any) -> None:
    """At start-up: in production exit non-zero naming each missing or default secret (one
    line on stderr and one log line); in dev warn once. Names only, never a value."""
    findings = secret_findings(settings)
    if not findings:
        return
    listed = ", ".join(f"{f.name} ({f.why})" for f in findings)
    names = [f.name for f in findings]
    if getattr(settings, "env", "production") == "production":
        log.error("secrets_refused", secrets=names, env="production")
        print(
            f"switchboard-{service}: refusing to start (SWITCHBOARD_ENV=production): "
            f"missing or default secrets: {listed}. Set each (or SWITCHBOARD_<NAME>_FILE), "
            "or SWITCHBOARD_ENV=dev for a local run.",
            file=sys.stderr,
            flush=True,
        )
        raise SystemExit(78)  # EX_CONFIG
    log.warning(
        "secrets_not_set_dev_mode",
        secrets=names,
        detail="dev mode: random per-process values stand in; production refuses to start",
    )


class SecretFilesSource(PydanticBaseSettingsSource):
    """Settings from files: `SWITCHBOARD_<NAME>_FILE=/path`, else `<dir>/<name>` in the secrets
    directory (Kubernetes mounts a Secret's keys as files). Trailing newlines are dropped."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # __call__ does the work

    def __call__(self) -> dict[str, Any]:
        prefix = str(self.config.get("env_prefix", ""))
        directory = Path(os.environ.get(f"{prefix}SECRETS_DIR") or DEFAULT_SECRETS_DIR)
        found: dict[str, Any] = {}
        for name, info in self.settings_cls.model_fields.items():
            var = f"{prefix}{name}_FILE".upper()
            if os.environ.get(var):
                path = Path(os.environ[var])
                if not path.is_file():
                    raise SettingsError(f"{var} names no readable file")
            elif (directory / name).is_file():
                path = directory / name
            else:
                continue
            raw = path.read_text().strip()
            complex_ = self.field_is_complex(info) and not any(
                isinstance(m, NoDecode) or m is NoDecode for m in info.metadata
            )
            found[name] = json.loads(raw) if complex_ else raw
        return found
