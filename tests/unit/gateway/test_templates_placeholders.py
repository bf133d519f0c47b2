"""Reply templates: which placeholders a body uses, which are refused, and the preview fill."""

from switchboard.gateway.routes.templates import (
    PLACEHOLDERS,
    placeholders_in,
    render,
    unknown_placeholders,
)


def test_allowed_placeholders_are_the_documented_five():
    assert PLACEHOLDERS == ("first_name", "last_name", "full_name", "staff_name", "location")


def test_placeholders_in_order_of_first_use_and_spaces_tolerated():
    body = "Hi {{ first_name }}, {{staff_name}} here. {{first_name}}, see you at {{location}}."
    assert placeholders_in(body) == ["first_name", "staff_name", "location"]
    assert unknown_placeholders(body) == []


def test_unknown_placeholders_are_named():
    body = "Hi {{firstname}} {{last_name}} {{ dob }} {{}}"
    assert unknown_placeholders(body) == ["firstname", "dob", ""]


def test_single_braces_are_plain_text():
    assert placeholders_in("Use {first_name} literally") == []


def test_render_fills_known_values_and_leaves_others():
    out = render("Hi {{first_name}} from {{ location }} {{x}}", {"first_name": "Ana"})
    assert out == "Hi Ana from {{ location }} {{x}}"
    assert render("{{location}}", {"location": "Manhattan"}) == "Manhattan"
