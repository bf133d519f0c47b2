"""Answering an unrecognized sender (X-UNREPLY-1): who may (the practice setting and the
policy), which placeholders are refused, and that only the thread's line is used."""

from __future__ import annotations

from switchboard.gateway.auth import POLICIES, Principal
from switchboard.gateway.unrecognized_reply import (
    NO_INBOX,
    NO_POLICY,
    OFF,
    POLICY,
    line_refusal,
    patient_placeholders,
    placeholder_refusal,
    refusal,
)


def staff(*policies: str, role: str = "staff") -> Principal:
    return Principal("u-1", "demo", role, frozenset(policies))


def test_the_policy_is_one_a_user_can_be_given():
    # covers X-UNREPLY-1
    assert POLICY == "inbox.reply_unrecognized" and POLICY in POLICIES


def test_only_with_the_practice_setting_and_the_policy():
    # covers X-UNREPLY-1
    assert refusal(staff(POLICY), practice_allows=True) is None
    assert refusal(staff(POLICY), practice_allows=False) == OFF
    assert refusal(staff("inbox.full_patient"), practice_allows=True) == NO_POLICY
    # an admin or a full-patient user is no exception: the policy is what allows it
    assert refusal(staff("inbox.full_patient", role="practice_admin"), True) == NO_POLICY
    assert refusal(staff(POLICY, role="no_inbox"), True) == NO_INBOX
    assert "inbox.reply_unrecognized" in NO_POLICY and "link" in OFF


def test_patient_placeholders_are_named_once_in_order_of_use():
    # covers X-UNREPLY-1
    body = "Hi {{ first_name }}, see you at {{location}}. {{staff_name}} {{first_name}}"
    assert patient_placeholders(body) == ["first_name", "location"]
    assert patient_placeholders("Dear {{full_name}}", None, "{{last_name}}") == [
        "full_name",
        "last_name",
    ]
    why = placeholder_refusal("Hello", "Re: {{last_name}}", "Hi {{first_name}}")
    assert why is not None and "{{last_name}}, {{first_name}}" in why


def test_text_without_patient_placeholders_passes():
    # covers X-UNREPLY-1
    assert placeholder_refusal("Thanks, {{staff_name}} here. Who is writing?") is None
    assert placeholder_refusal("We are open until 5.", None, None) is None
    assert placeholder_refusal("a {single} brace and {{unknown}}") is None


def test_only_the_line_the_sender_wrote_to():
    # covers X-UNREPLY-1, I-LINE-1
    assert line_refusal(None, "+12125550000") is None
    assert line_refusal("+12125550000", "+12125550000") is None
    assert line_refusal("+12125550001", "+12125550000") is not None
