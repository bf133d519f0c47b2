"""Event registry, wire encoding, and upcasting.

Wire format: UTF-8 JSON of the model. A consumer reads `event_type` and `version`, upcasts
older versions step by step to the newest registered one, then validates.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from switchboard.events.envelope import Event

E = TypeVar("E", bound=type[Event])

_latest: dict[str, type[Event]] = {}
# (event_type, from_version) -> function turning a vN dict into a vN+1 dict
_upcasters: dict[tuple[str, int], Callable[[dict[str, Any]], dict[str, Any]]] = {}


class UnknownEventError(ValueError):
    """The bytes are not an event this code knows (type, version or shape)."""


def _literal_default(cls: type[Event], field: str) -> Any:
    return cls.model_fields[field].default


def register(cls: E) -> E:
    event_type = _literal_default(cls, "event_type")
    version = _literal_default(cls, "version")
    current = _latest.get(event_type)
    if current is not None and _literal_default(current, "version") >= version:
        raise ValueError(f"{event_type} v{version} registered after a newer version")
    _latest[event_type] = cls
    return cls


def upcaster(event_type: str, from_version: int) -> Callable[[Callable[..., Any]], Any]:
    def wrap(fn: Callable[[dict[str, Any]], dict[str, Any]]) -> Callable[..., Any]:
        _upcasters[(event_type, from_version)] = fn
        return fn

    return wrap


def has_upcaster(event_type: str, from_version: int) -> bool:
    return (event_type, from_version) in _upcasters


def registered_events() -> dict[str, type[Event]]:
    return dict(_latest)


def event_class(event_type: str) -> type[Event]:
    try:
        return _latest[event_type]
    except KeyError:
        raise UnknownEventError(f"unknown event type {event_type!r}") from None


def encode(event: Event) -> bytes:
    # Straight to bytes (pydantic-core's serializer): no str, no second copy.
    return event.__pydantic_serializer__.to_json(event)


def upcast(data: dict[str, Any]) -> dict[str, Any]:
    event_type = data.get("event_type")
    version = data.get("version")
    if not isinstance(event_type, str) or not isinstance(version, int):
        raise UnknownEventError("event_type and version are required")
    cls = event_class(event_type)
    latest = _literal_default(cls, "version")
    if version > latest:
        raise UnknownEventError(f"{event_type} v{version} is newer than this code (v{latest})")
    while version < latest:
        step = _upcasters.get((event_type, version))
        if step is None:
            raise UnknownEventError(f"no upcaster for {event_type} v{version}")
        data = {**step(data), "version": version + 1}
        version += 1
    return data


def decode(raw: bytes | str | dict[str, Any]) -> Event:
    """Bytes -> the newest version of the event. Raises UnknownEventError or ValidationError."""
    if isinstance(raw, dict):
        data = raw
    else:
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise UnknownEventError(
                f"not JSON: {exc.msg if hasattr(exc, 'msg') else exc}"
            ) from None
    if not isinstance(data, dict):
        raise UnknownEventError("an event is a JSON object")
    data = upcast(data)
    # Tolerant reader (docs/events.md): fields this code does not know yet, added by a newer
    # producer within the same version, are ignored. Producers still construct strictly.
    return event_class(data["event_type"]).model_validate(data, extra="ignore")


@functools.lru_cache(maxsize=512)
def _current(event_type: bytes, version: bytes) -> type[Event] | None:
    """The event class when `version` is its current one (no upcasting needed)."""
    cls = _latest.get(event_type.decode(errors="replace"))
    if cls is None or str(_literal_default(cls, "version")).encode() != version:
        return None
    return cls


def header(headers: Iterable[tuple[str, bytes]] | None, name: str) -> bytes | None:
    for key, value in headers or ():
        if key == name:
            return value
    return None


def decode_record(value: bytes, headers: Iterable[tuple[str, bytes]] | None = None) -> Event:
    """A Kafka record's event, parsed once: straight from the JSON bytes by pydantic's own
    parser when the producer's `event_type` and `version` headers name the current version
    (no dict in between), else `decode` (upcasting). Both validate the whole event, tolerant
    of fields a newer producer added within the version; the body's own type and version
    must agree with the headers, or the full decode decides."""
    headers = list(headers or ())
    event_type, version = header(headers, "event_type"), header(headers, "version")
    if event_type is not None and version is not None:
        cls = _current(event_type, version)
        if cls is not None:
            try:
                event: Event = cls.model_validate_json(value, extra="ignore")
            except ValueError:
                pass  # a body that disagrees with its headers: the full decode says why
            else:
                return event
    return decode(value)
