"""Generate docs/settings.md: every setting of every service, from the pydantic settings classes.

    uv run --frozen python scripts/settings_reference.py          # rewrite docs/settings.md
    uv run --frozen python scripts/settings_reference.py --check  # exit 1 if it is out of date

It also writes deploy/secrets/*.env.example: every key of each Secret a deployment provides.

The classes are found, not listed: `ServiceSettings` (read by every service) and each
`services/<name>/src/switchboard/<pkg>/settings.py`'s subclasses of it. A setting's
description is its `Field(description=...)`, else the comment block right above it (or on its
line) in the class that declares it, so the comments in the code stay the one source.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import sys
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from switchboard.platform.internal_api import CALLERS
from switchboard.platform.settings import ServiceSettings

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "docs" / "settings.md"
SECRETS = ROOT / "deploy" / "secrets"
# Each service's own credential and the callers it accepts differ per service: they go in
# `switchboard-<service>-internal`; every other secret key in the shared `switchboard-secrets`.
PER_SERVICE = {"SWITCHBOARD_INTERNAL_TOKEN", "SWITCHBOARD_INTERNAL_CALLERS"}
# Both are read by every service (ServiceSettings); who needs which follows the internal APIs'
# caller -> callee pairs: the callers their own token, the callees the callers they accept.
PER_SERVICE_READERS = {
    "SWITCHBOARD_INTERNAL_TOKEN": sorted({c for callers in CALLERS.values() for c in callers}),
    "SWITCHBOARD_INTERNAL_CALLERS": sorted(CALLERS),
}
# Secrets the cluster makes, not the ops team: each service's Kafka password is in the Secret
# Strimzi's user operator writes for its KafkaUser (the production overlay refers to it).
FROM_CLUSTER = {"SWITCHBOARD_KAFKA_SASL_PASSWORD"}
ENV_PREFIX = "SWITCHBOARD_"
ALL = "all"
# Names that carry credentials even where the type is a plain str (a URL with a password, a
# JSON document of tokens): they belong in the Secret, not the ConfigMap.
SECRET_NAME = re.compile(r"(secret|token$|password|callers$|access_key_id$|database_url$)")


@dataclass(frozen=True)
class Row:
    env: str
    type: str
    default: str
    secret: bool
    description: str


def service_classes() -> dict[str, list[type[ServiceSettings]]]:
    """Service name (its directory under services/) -> the settings classes its module defines."""
    found: dict[str, list[type[ServiceSettings]]] = {}
    for path in sorted(ROOT.glob("services/*/src/switchboard/*/settings.py")):
        service = path.parts[-5]
        module = importlib.import_module(f"switchboard.{path.parent.name}.settings")
        classes = [
            obj
            for obj in vars(module).values()
            if inspect.isclass(obj)
            and issubclass(obj, ServiceSettings)
            and obj is not ServiceSettings
            and obj.__module__ == module.__name__
        ]
        found[service] = classes
    return found


def _comments(cls: type) -> dict[str, str]:
    """Field name -> the comment above it (or on its line) in `cls`'s own source."""
    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        return {}
    lines = source.splitlines()
    tree = ast.parse(inspect.cleandoc("\n" + source) if source[0].isspace() else source)
    out: dict[str, str] = {}
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    for node in body:
        if not isinstance(node, ast.AnnAssign) or not isinstance(node.target, ast.Name):
            continue
        above: list[str] = []
        i = node.lineno - 2
        while i >= 0 and lines[i].strip().startswith("#"):
            above.insert(0, lines[i].strip().lstrip("#").strip())
            i -= 1
        inline = ""
        last = lines[(node.end_lineno or node.lineno) - 1]
        if "  # " in last:
            inline = last.split("  # ", 1)[1].strip()
            if inline.startswith("noqa") or inline.startswith("type:"):
                inline = ""
        text = " ".join(above + ([inline] if inline else []))
        if text:
            out[node.target.id] = text
    return out


def _describe(cls: type[BaseModel], name: str, field: FieldInfo) -> str:
    if field.description:
        return field.description
    for klass in cls.__mro__:  # the nearest class with a comment for it
        if name in getattr(klass, "__annotations__", {}):
            text = _comments(klass).get(name)
            if text:
                return text
    return ""


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in args)
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in args)
    if origin is not None:
        inner = ", ".join("..." if a is Ellipsis else _type_name(a) for a in args)
        return f"{getattr(origin, '__name__', str(origin))}[{inner}]"
    if tp is type(None):
        return "None"
    return getattr(tp, "__name__", str(tp))


def _holds_secret(tp: Any) -> bool:
    if tp is SecretStr:
        return True
    if inspect.isclass(tp) and issubclass(tp, BaseModel):
        return any(_holds_secret(f.annotation) for f in tp.model_fields.values())
    return any(_holds_secret(a) for a in typing.get_args(tp))


def _default(field: FieldInfo, secret: bool) -> str:
    if field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
    elif field.default is PydanticUndefined:
        return "(required)"
    else:
        value = field.default
    if value is None:
        return "(unset)"
    if secret:
        return "(dev-only value)" if value not in ("", [], {}) else repr(value)
    if isinstance(value, list) and value and isinstance(value[0], BaseModel):
        return f"{len(value)} demo entries"
    if isinstance(value, tuple):
        value = list(value)
    return repr(value) if isinstance(value, str) else str(value)


def rows_for(cls: type[BaseModel], only: set[str] | None = None) -> list[Row]:
    rows = []
    for name, field in cls.model_fields.items():
        if only is not None and name not in only:
            continue
        secret = (
            _holds_secret(field.annotation)
            # The `Secret` marker of switchboard.platform.secret_settings, where it is used.
            or any(type(m).__name__ == "Secret" for m in field.metadata)
            or bool(SECRET_NAME.search(name))
        )
        rows.append(
            Row(
                env=ENV_PREFIX + name.upper(),
                type=_type_name(field.annotation),
                default=_default(field, secret),
                secret=secret,
                description=_describe(cls, name, field),
            )
        )
    return rows


def collect() -> dict[Row, list[str]]:
    """Each distinct row -> the services that read it (`all` for the shared ones)."""
    table: dict[Row, list[str]] = {}
    common = {r.env: r for r in rows_for(ServiceSettings)}
    for row in common.values():
        table[row] = [ALL]
    for service, classes in service_classes().items():
        for cls in classes:
            for row in rows_for(cls):
                if common.get(row.env) == row:
                    continue  # inherited unchanged: the `all` row covers it
                table.setdefault(row, [])
                if service not in table[row]:
                    table[row].append(service)
    return table


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render() -> str:
    table = collect()
    ordered = sorted(table.items(), key=lambda kv: (kv[0].env, kv[1] != [ALL], kv[1]))
    out = [
        "# Settings reference",
        "",
        "<!-- Generated by scripts/settings_reference.py from the pydantic settings classes;",
        "     do not edit. Regenerate: `make settings-doc` (a test fails when it is stale). -->",
        "",
        "Every service reads its settings from environment variables prefixed `SWITCHBOARD_`.",
        "*Services* `all` means every service reads it; a row naming services gives those",
        "services' own value (it overrides the `all` row for them). *Secret* yes: put it in the",
        "`switchboard-secrets` Secret (deploy/secrets/*.env.example list the keys), never in the",
        "ConfigMap. Defaults shown as *(dev-only value)* must be replaced in production.",
        "",
        "| Setting | Services | Type | Default | Secret | Description |",
        "|---|---|---|---|---|---|",
    ]
    for row, services in ordered:
        out.append(
            "| `{}` | {} | `{}` | {} | {} | {} |".format(
                row.env,
                ", ".join(services),
                _cell(row.type),
                _cell(f"`{row.default}`" if not row.default.startswith("(") else row.default),
                "yes" if row.secret else "no",
                _cell(row.description),
            )
        )
    return "\n".join(out) + "\n"


def secret_keys() -> list[str]:
    """Every secret setting any service reads."""
    return sorted({row.env for row in collect() if row.secret})


def secret_examples() -> dict[Path, str]:
    """deploy/secrets/<Secret>.env.example: every key of each Secret, with no values."""
    shared: dict[str, tuple[set[str], str]] = {}
    own: dict[str, dict[str, str]] = {}
    for row, services in collect().items():
        if not row.secret or row.env in FROM_CLUSTER:
            continue
        if row.env in PER_SERVICE:
            for service in PER_SERVICE_READERS[row.env] if services == [ALL] else services:
                own.setdefault(service, {}).setdefault(row.env, row.description)
            continue
        readers, text = shared.get(row.env, (set(), ""))
        shared[row.env] = (readers | set(services), text or row.description)
    head = (
        "# Generated by scripts/settings_reference.py (make settings-doc): every key of the\n"
        "# Secret `{}`, no values. Fill in a copy outside git, then\n"
        "#   kubectl -n switchboard create secret generic {} --from-env-file=<copy>\n"
        "# (or let External Secrets write the same keys). docs/settings.md describes each.\n"
    )
    files = {}
    lines = [head.format("switchboard-secrets", "switchboard-secrets")]
    for env, (readers, text) in sorted(shared.items()):
        lines.append(f"\n# {', '.join(sorted(readers))}: {text}".rstrip(": ") + f"\n{env}=\n")
    files[SECRETS / "switchboard-secrets.env.example"] = "".join(lines)
    for service, keys in sorted(own.items()):
        name = f"switchboard-{service}-internal"
        lines = [head.format(name, name)]
        for env, text in sorted(keys.items()):
            lines.append((f"\n# {text}" if text else "\n") + f"\n{env}=\n")
        files[SECRETS / f"{name}.env.example"] = "".join(lines)
    return files


def outputs() -> dict[Path, str]:
    return {OUTPUT: render(), **secret_examples()}


def main(argv: list[str]) -> int:
    wanted = outputs()
    if "--check" in argv:
        stale = [p for p, text in wanted.items() if not p.exists() or p.read_text() != text]
        stale += [p for p in SECRETS.glob("*.env.example") if p not in wanted]
        for path in stale:
            print(f"{path.relative_to(ROOT)} is out of date: run `make settings-doc`")
        return 1 if stale else 0
    if "--secret-keys" in argv:
        print("\n".join(secret_keys()))
        return 0
    SECRETS.mkdir(parents=True, exist_ok=True)
    for path in SECRETS.glob("*.env.example"):
        if path not in wanted:
            path.unlink()
    for path, text in wanted.items():
        path.write_text(text)
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
