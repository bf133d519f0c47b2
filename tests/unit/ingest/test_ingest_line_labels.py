"""Line labels set by practice admins lay over the configured ones (I-LINE-1), only for the
practice's own lines (T-1)."""

import uuid
from datetime import UTC, datetime

from switchboard.events import LineLabelSet
from switchboard.ingest.adapters.line_labels import apply_config
from switchboard.ingest.domain.directory import Directory
from switchboard.ingest.settings import DEFAULT_LINES


def _event(practice: str, channel: str, address: str, label: str | None) -> LineLabelSet:
    eid = uuid.uuid4()
    return LineLabelSet(
        event_id=eid,
        correlation_id=eid,
        occurred_at=datetime.now(UTC),
        practice_id=practice,
        actor="u-admin",
        channel=channel,  # type: ignore[arg-type]
        address=address,
        label=label,
    )


def test_relabel_changes_what_find_returns_and_keeps_the_practice():
    d = Directory(DEFAULT_LINES)
    assert d.relabel("demo", "sms", "+1 212-555-0000", "Main office")
    line = d.find("sms", "+12125550000")
    assert line is not None and line.label == "Main office" and line.practice_id == "demo"
    # the voicemail number with the same digits is another line
    voice = d.find("voice", "+12125550000")
    assert voice is not None and voice.label == "Main number"
    assert d.main_line("demo") == line


def test_relabel_to_none_removes_the_label():
    d = Directory(DEFAULT_LINES)
    assert d.relabel("demo", "sms", "+12125550001", None)
    line = d.line_of("demo", "sms", "+12125550001")
    assert line is not None and line.label is None


def test_another_practices_line_is_not_relabelled():
    d = Directory(DEFAULT_LINES)
    assert not d.relabel("demo", "sms", "+13105550000", "Hijacked")
    line = d.find("sms", "+13105550000")
    assert line is not None and line.label == "Front desk"
    assert not d.relabel("demo", "sms", "+19999999999", "Nobody")


class _Session:
    def __init__(self) -> None:
        self.statements: list[object] = []

    async def execute(self, stmt: object) -> None:
        self.statements.append(stmt)


async def test_apply_config_stores_own_lines_and_ignores_the_rest():
    d = Directory(DEFAULT_LINES)
    session = _Session()
    out = await apply_config(
        session,  # type: ignore[arg-type]
        d,
        [
            _event("demo", "email", "FRONT@demo.switchboard.test", "Front desk mail"),
            _event("other", "sms", "+12125550000", "not theirs"),
        ],
    )
    assert out == []
    assert len(session.statements) == 1
    line = d.find("email", "front@demo.switchboard.test")
    assert line is not None and line.label == "Front desk mail"
    sms = d.find("sms", "+12125550000")
    assert sms is not None and sms.label == "Front desk"
