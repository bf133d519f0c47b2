"""Which body of a reply template a reply uses (X-LANG-4): the patient's language, else the
default body."""

from __future__ import annotations

from switchboard.gateway.template_language import body_for, primary_language

BODIES = {"es": "Hola {{first_name}}", "ko": "안녕하세요"}


def test_the_body_in_the_patients_language_else_the_default():
    # covers X-LANG-4
    assert body_for("Hi {{first_name}}", BODIES, "es") == ("Hola {{first_name}}", "es")
    assert body_for("Hi {{first_name}}", BODIES, "es-MX") == ("Hola {{first_name}}", "es")
    assert body_for("Hi {{first_name}}", BODIES, "ko_KR") == ("안녕하세요", "ko")
    assert body_for("Hi {{first_name}}", BODIES, "ru") == ("Hi {{first_name}}", None)
    assert body_for("Hi {{first_name}}", BODIES, None) == ("Hi {{first_name}}", None)
    assert body_for("Hi", {"es": ""}, "es") == ("Hi", None)  # an empty body is no body
    assert body_for("Hi", None, "es") == ("Hi", None)


def test_language_tags_reduce_to_their_primary_subtag():
    assert primary_language(" ES-419 ") == "es"
    assert primary_language("zh-Hant-TW") == "zh"
    assert primary_language("Spanish") is None and primary_language("") is None
