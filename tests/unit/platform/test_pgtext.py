"""pg_safe: what PostgreSQL text and jsonb cannot hold, replaced; everything else untouched."""

from __future__ import annotations

import json

from switchboard.platform.pgtext import (
    pg_safe,
    pg_safe_json_text,
    pg_safe_value,
    safe_json_dumps,
    unstorable,
)


def test_nul_and_lone_surrogates_become_the_replacement_character():
    assert pg_safe("a\x00b") == "a\ufffdb"
    assert pg_safe("x\ud800y\udfffz") == "x\ufffdy\ufffdz"
    assert pg_safe("héllo 👋 \t\n") == "héllo 👋 \t\n"  # real text, emoji included, kept
    assert pg_safe("a\x00b").encode("utf-8")  # encodable


def test_json_values_and_keys():
    doc = {"a\x00": ["x\ud800", 1, None, {"k": "\x00"}]}
    assert pg_safe_value(doc) == {"a\ufffd": ["x\ufffd", 1, None, {"k": "\ufffd"}]}
    assert json.loads(safe_json_dumps(doc)) == pg_safe_value(doc)
    assert "\\u0000" not in safe_json_dumps(doc)


def test_json_text_escapes_of_nul_and_lone_surrogates():
    assert json.loads(pg_safe_json_text('{"s": "a\\u0000b"}')) == {"s": "a\ufffdb"}
    assert json.loads(pg_safe_json_text('{"s": "a\\ud800b"}')) == {"s": "a\ufffdb"}
    # an escaped backslash followed by "u0000" is text, not an escape: unchanged
    assert pg_safe_json_text('{"s": "a\\\\u0000"}') == '{"s": "a\\\\u0000"}'
    # a surrogate pair is a real character (an emoji): kept
    assert json.loads(pg_safe_json_text('{"s": "\\ud83d\\udc4b"}')) == {"s": "👋"}


def test_unstorable_names_the_places_never_the_values():
    doc = {"name": "Ada\x00", "tags": ["ok", "\ud800"], "n": 3, "bad\x00key": "x"}
    assert list(unstorable(doc, ("body",))) == [
        ("body", "name"),
        ("body", "tags", 1),
        ("body",),
    ]
    assert list(unstorable({"fine": ["text"]}, ("body",))) == []
