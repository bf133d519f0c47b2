"""The SMS / email reason menu's pure rules (X-MENU-1..6): when it is sent, what an answer
means, the window and the one retry, and that stickiness, overwrite and voicemail hold."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta

import pytest
from router_builders import (
    HOUR,
    MINUTE,
    PRACTICE,
    T0,
    TEAM,
    TEXTABLE,
    conversation,
    message,
    rules,
    settings,
    state,
)

from switchboard.events import ReasonMenuSet
from switchboard.router.catalogue import Reason
from switchboard.router.decision import decide
from switchboard.router.menu import (
    PendingMenu,
    answer,
    first_line,
    open_menu,
    parse_answer,
    setting_for,
    settings_json,
    wants_menu,
)
from switchboard.router.menu_text import language_of, menu_body, menu_subject
from switchboard.router.picker import offered_reasons
from switchboard.router.practice_config import PracticeConfig

OPTIONS = (
    ("prescriptions_refills", "Prescriptions / Refills"),
    ("billing", "Billing"),
    ("other", "Other"),
)
OFFERED = tuple(Reason(c, label) for c, label in OPTIONS)
MENU_ON = {"*": (True, 10)}


@pytest.mark.parametrize(
    ("said", "channel", "expected"),
    [
        ("2", "sms", "billing"),
        ("2.", "sms", "billing"),
        (" 2) ", "sms", "billing"),
        ("#1", "sms", "prescriptions_refills"),
        (" two", "sms", "billing"),
        ("Dos", "sms", "billing"),
        ("uno", "sms", "prescriptions_refills"),
        ("Billing", "sms", "billing"),
        ("billing!", "sms", "billing"),
        ("facturacion", "sms", "billing"),
        ("Facturación", "sms", "billing"),
        ("prescriptions/refills", "sms", "prescriptions_refills"),
        ("Recetas / Resurtidos", "sms", "prescriptions_refills"),
        ("OTHER", "sms", "other"),
        ("BILLING\n\nOn Monday you wrote:\n> 1. PRESCRIPTIONS-REFILLS", "email", "billing"),
        ("> 1. PRESCRIPTIONS-REFILLS\n\nbilling", "email", "billing"),
        ("prescriptions-refills", "email", "prescriptions_refills"),
        ("4", "sms", None),
        ("0", "sms", None),
        ("12", "sms", None),
        ("my bill is wrong", "sms", None),
        ("", "sms", None),
        ("   ", "sms", None),
    ],
)
def test_answer_parsing(said, channel, expected):  # covers X-MENU-3
    assert parse_answer(said, channel, OPTIONS) == expected


def test_email_answer_reads_the_first_unquoted_line():  # covers X-MENU-3
    assert first_line("\n> quoted\n  2  \n3", "email") == "2"
    assert first_line("> not quoted in an SMS", "sms") == "> not quoted in an SMS"


def pending(sent: int = 1, channel: str = "sms") -> PendingMenu:
    return PendingMenu(
        menu_id=uuid.UUID(int=1),
        practice_id=PRACTICE,
        conversation_id=uuid.UUID(int=2),
        channel=channel,
        options=OPTIONS,
        language="en",
        window_minutes=10,
        sent=sent,
        deadline=T0 + 10 * MINUTE,
        opening={},
    )


@pytest.mark.parametrize(
    ("sent", "body", "channel", "at", "expected"),
    [
        (1, "2", "sms", T0 + MINUTE, ("picked", "billing")),
        (2, "2", "sms", T0 + MINUTE, ("picked", "billing")),
        (1, "what?", "sms", T0 + MINUTE, ("retry", None)),  # one retry
        (2, "what?", "sms", T0 + MINUTE, ("give_up", None)),  # then as without a reason
        (1, "2", "sms", T0 + 10 * MINUTE, ("late", None)),  # the window has ended
        (1, "2", "voicemail", T0 + MINUTE, ("late", None)),  # another channel: never an answer
    ],
)
def test_answer_steps(sent, body, channel, at, expected):  # covers X-MENU-4, X-MENU-6
    assert answer(pending(sent), body, channel, at) == expected


def test_a_retry_opens_a_new_window_from_the_unrecognised_answer():  # covers X-MENU-4
    retried = pending().retried(T0 + 4 * MINUTE)
    assert retried.sent == 2 and retried.deadline == T0 + 14 * MINUTE


def test_the_window_is_the_lines_setting():  # covers X-MENU-2, X-MENU-4
    s = settings(reason_menu={"*": (True, 10), TEXTABLE: (True, 3)})
    opened = open_menu(message("sms", at=T0), {}, OFFERED, "es", setting_for(s, TEXTABLE.upper()))
    assert opened.deadline == T0 + 3 * MINUTE and opened.language == "es"
    assert opened.options == OPTIONS and opened.sent == 1


CLOSED_LONG_AGO = conversation(last=T0 - 2 * HOUR)
ON = settings(reason_menu=MENU_ON)
LINE_OFF = settings(reason_menu={**MENU_ON, TEXTABLE: (False, 10)})
LINE_ON = settings(reason_menu={TEXTABLE: (True, 10)})
ROUTING_OFF = settings(reason_routing=False, reason_menu=MENU_ON)
ONLY_OTHER = (Reason("other", "Other"),)
SMS = message("sms")
RECENT = conversation(last=T0 - 30 * MINUTE)
HELD = conversation(status="open", assigned=True)
UNREAD = conversation(last=T0 - 2 * HOUR, read=False)


@pytest.mark.parametrize(
    ("case", "msg", "conv", "s", "offered", "expected"),
    [
        ("new sms", message("sms", textable=True), None, ON, OFFERED, "menu"),
        ("email", message("email"), None, ON, OFFERED, "menu"),
        ("closed, read, quiet", SMS, CLOSED_LONG_AGO, ON, OFFERED, "menu"),
        ("off by default", SMS, None, settings(), OFFERED, "menu_off"),
        ("voicemail unchanged", message("voicemail"), None, ON, OFFERED, "channel"),
        ("messenger has its picker", message("web_chat"), None, ON, OFFERED, "channel"),
        ("reason routing off", SMS, None, ROUTING_OFF, OFFERED, "reason_routing_off"),
        ("line off, practice on", SMS, None, LINE_OFF, OFFERED, "menu_off"),
        ("line on, practice off", SMS, None, LINE_ON, OFFERED, "menu"),
        ("unrecognized sender", message("sms", patient=None), None, ON, OFFERED, "unrecognized"),
        ("sticky: within the hour", SMS, RECENT, ON, OFFERED, "within_one_hour"),
        ("conversation open", SMS, HELD, ON, OFFERED, "assigned"),
        ("practice message unread", SMS, UNREAD, ON, OFFERED, "unread_practice_message"),
        ("only Other offered", SMS, None, ON, ONLY_OTHER, "nothing_to_offer"),
    ],
)
def test_when_the_menu_is_sent(case, msg, conv, s, offered, expected):
    # covers X-MENU-2, R-REASON-3, R-STICKY-1
    wanted, why = wants_menu(msg, conv, s, offered)
    assert (why if not wanted else "menu") == expected, case


def test_offered_reasons_are_the_pickers():  # covers X-MENU-2, R-REASON-2
    offered = offered_reasons(settings(reason_menu=MENU_ON), TEAM)
    assert [r.code for r in offered][-1] == "other"
    assert "medical_question" not in {r.code for r in offered}  # nobody subscribed


def test_the_answer_sets_the_reason_of_the_new_topic():  # covers X-MENU-3, R-OVERWRITE-1
    sms = message("sms", textable=True)
    previous = conversation(reason="test_lab_results", last=T0 - 2 * HOUR)
    cleared = decide(sms, state(conversation=previous), settings(), now=T0)
    assert (cleared.reason, cleared.reason_source) == ("other", "cleared")
    picked = decide(
        replace(sms, menu_pick="billing"), state(conversation=previous), settings(), now=T0
    )
    assert (picked.reason, picked.reason_source, picked.conversation_reason) == (
        "billing",
        "patient_pick",
        "billing",
    )
    assert rules(picked)[0] == "X-MENU-3"
    assert picked.recipients == ("billing-1", "front-desk")


def test_voicemail_is_unchanged_by_a_menu_pick():  # covers R-OVERWRITE-1, X-MENU-6
    vm = message("voicemail", extension="3")
    s = settings(voicemail_extensions={"3": "prescriptions_refills"})
    d = decide(vm, state(), s, now=T0)
    assert (d.reason, d.reason_source) == ("prescriptions_refills", "voicemail_extension")
    plain = decide(message("voicemail"), state(), s, now=T0)
    assert (plain.reason, plain.reason_source) == ("other", "cleared")


@pytest.mark.parametrize(
    ("language", "retry", "channel", "expected"),
    [
        ("en", False, "sms", "To direct your message, reply with a number: 1 for Prescriptions"
         " / Refills, 2 for Billing, 3 for Other."),
        ("es-MX", False, "sms", "Para dirigir su mensaje, responda con un número: 1 para Recetas"
         " / Resurtidos, 2 para Facturación, 3 para Otro."),
        ("en", True, "sms", "Sorry, we did not understand your answer. To direct your message,"
         " reply with a number: 1 for Prescriptions / Refills, 2 for Billing, 3 for Other."),
        ("es", True, "sms", "Lo sentimos, no entendimos su respuesta. Para dirigir su mensaje,"
         " responda con un número: 1 para Recetas / Resurtidos, 2 para Facturación, 3 para Otro."),
    ],
)  # fmt: skip
def test_menu_text_in_the_patients_language(language, retry, channel, expected):
    # covers X-LANG-1, X-MENU-4
    assert menu_body(OPTIONS, channel, language_of(language), retry) == expected


def test_email_menu_lists_reply_keywords():  # covers X-MENU-1
    body = menu_body(OPTIONS, "email", "en", False)
    assert "1. PRESCRIPTIONS-REFILLS: Prescriptions / Refills" in body
    assert "2. BILLING: Billing" in body
    assert menu_subject("Question") == "Re: Question"
    assert menu_subject("RE: Question") == "RE: Question"
    assert language_of(None) == language_of("fr") == "en"


def test_the_setting_is_folded_with_history():  # covers X-MENU-2, X-ASOF-1
    config = PracticeConfig.initial(PRACTICE)
    ids = {"correlation_id": uuid.UUID(int=9), "practice_id": PRACTICE, "actor": "u-admin"}
    on = ReasonMenuSet(
        event_id=uuid.UUID(int=1), occurred_at=T0, enabled=True, window_minutes=5, **ids
    )
    line_off = ReasonMenuSet(
        event_id=uuid.UUID(int=2), occurred_at=T0, line=TEXTABLE, enabled=False, **ids
    )
    after = config.apply(on).apply(line_off)
    assert after.settings.version == 2 and after.seq == 2
    assert setting_for(after.settings, "+15550000000").window_minutes == 5
    assert setting_for(after.settings, TEXTABLE).enabled is False
    assert PracticeConfig.from_json(after.to_json()) == after
    assert setting_for(config.settings, TEXTABLE).enabled is False  # off by default
    assert timedelta(minutes=10) == setting_for(config.settings, TEXTABLE).window


def test_the_settings_as_the_admin_screen_reads_them():  # covers X-MENU-2
    from switchboard.events.internal.router import ReasonMenuSettings

    config = PracticeConfig.initial(PRACTICE)
    never = ReasonMenuSettings.model_validate(settings_json(config.settings))
    assert never.practice.enabled is False and never.practice.window_minutes == 10
    assert never.lines == []
    ids = {"correlation_id": uuid.UUID(int=9), "practice_id": PRACTICE, "actor": "u-admin"}
    line = ReasonMenuSet(
        event_id=uuid.UUID(int=3), occurred_at=T0, line="Care@Example.org", enabled=True,
        window_minutes=5, **ids,
    )  # fmt: skip
    after = ReasonMenuSettings.model_validate(settings_json(config.apply(line).settings))
    assert after.practice.enabled is False  # a line's setting leaves the practice's alone
    assert [(x.line, x.enabled, x.window_minutes) for x in after.lines] == [
        ("care@example.org", True, 5)
    ]
    assert after.settings_version == 1


def test_a_menu_is_never_sent_twice():  # covers X-MENU-5, X-MENU-4
    from switchboard.events import MessageReceived, ReasonMenuExpired
    from switchboard.router.menu_reply import menu_reply
    from switchboard.router.menu_timer import expiry_event

    event = MessageReceived(
        event_id=uuid.UUID(int=7),
        correlation_id=uuid.UUID(int=7),
        practice_id=PRACTICE,
        occurred_at=T0,
        message_id=uuid.UUID(int=8),
        conversation_id=uuid.UUID(int=9),
        channel="sms",
        sender="+12125550111",
        recipient=TEXTABLE,
        provider="test",
        provider_message_id="SM1",
        received_at=T0,
        body="hello",
        patient_id="pat-1",
    )
    opened = open_menu(
        replace(message("sms"), message_id=event.message_id, conversation_id=event.conversation_id),
        event.model_dump(mode="json"),
        OFFERED,
        "en",
        setting_for(settings(reason_menu=MENU_ON), TEXTABLE),
    )
    first, again = menu_reply(opened, event), menu_reply(opened, event)
    assert (first.event_id, first.message_id) == (again.event_id, again.message_id)
    assert (first.line, first.to, first.actor, first.keep_open) == (
        TEXTABLE, "+12125550111", "system", True,
    )  # fmt: skip
    retry = menu_reply(opened.retried(T0 + MINUTE), event)
    assert retry.message_id != first.message_id and retry.event_id != first.event_id
    expired = expiry_event(opened)
    assert isinstance(expired, ReasonMenuExpired) and expired.occurred_at == opened.deadline
    assert expired.event_id == expiry_event(opened).event_id
    assert expiry_event(opened.retried(T0 + MINUTE)).event_id != expired.event_id
