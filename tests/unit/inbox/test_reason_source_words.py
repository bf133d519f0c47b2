"""The staff API's reason source from the router's (R-REASON-4): the two ways R-OVERWRITE-1
clears a reason are told apart by the channel in the decision's explanation."""

from __future__ import annotations

from switchboard.events import RuleFired
from switchboard.inbox_projection.reason_source import PUBLIC_SOURCES, public_reason_source


def _cleared(channel: str | None) -> tuple[RuleFired, ...]:
    return (
        RuleFired(rule="R-SUB-1", outcome="x", inputs={"channel": "email"}),
        RuleFired(rule="R-OVERWRITE-1", outcome="clears", inputs={"channel": channel}),
    )


def test_cleared_by_voicemail_or_sms_is_not_picked():
    # covers R-REASON-4, R-OVERWRITE-1
    assert public_reason_source("cleared", _cleared("voicemail")) == "cleared_by_voicemail"
    assert public_reason_source("cleared", _cleared("sms")) == "cleared_by_sms"
    assert public_reason_source("patient_pick", ()) == "picked"


def test_other_sources_keep_their_names_and_every_answer_is_documented():
    # covers R-REASON-4
    for source in ("sticky", "voicemail_extension", "kept", "none"):
        assert public_reason_source(source, ()) == source
    # an explanation without the channel still says it was cleared
    assert public_reason_source("cleared", _cleared(None)) == "cleared"
    assert public_reason_source("cleared", ()) == "cleared"
    answers = {
        public_reason_source(s, _cleared(c))
        for s in ("patient_pick", "sticky", "voicemail_extension", "cleared", "kept", "none")
        for c in ("sms", "voicemail", None)
    }
    assert answers <= set(PUBLIC_SOURCES)
