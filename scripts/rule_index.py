"""docs/rules.md: where each SPEC rule lives in the code and which tests cover it.

Made from the tree: a module that names a rule id (in a docstring or comment) implements
it; a test file with `covers <ID>` covers it. `--check` exits 1 when the committed file is
stale or something cites an id the SPEC does not have (a typo would hide a rule's tests).

    uv run --frozen python scripts/rule_index.py [--check]
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "rules.md"

# The SPEC's rule ids with a short title (the SPEC itself is the product's, outside this
# repository: ../shared/SPEC.md).
RULES: dict[str, str] = {
    "T-1": "Everything belongs to one practice; nothing crosses practices",
    "T-2": "Roles and policies decide the inboxes a user sees",
    "T-3": "Every read of a conversation is recorded",
    "R-REASON-1": "Default reason catalogue; practices hide, operators add",
    "R-REASON-2": "Messenger asks for a reason (only subscribed ones, plus Other)",
    "R-REASON-3": "When the reason picker is not offered",
    "R-REASON-4": "The API says why a conversation carries its reason (picked, cleared by...)",
    "R-STICKY-1": "Within an hour of the last message: same reason",
    "R-OVERWRITE-1": "SMS or voicemail clears the reason (mapped extensions excepted)",
    "R-VOICEMAIL-1": "Voicemail extensions map to reasons or shared inboxes",
    "R-LOC-1": "Location of the next upcoming appointment, on every message",
    "R-LOC-2": "No upcoming appointment: the profile location",
    "R-LOC-3": "Profile location changes only with an upcoming appointment",
    "R-LOC-4": "The API says the location explicitly: known (id, name, how) or unknown",
    "R-PROV-1": "Provider routing by the next appointment's provider",
    "R-SUB-1": "Staff subscribe to reasons, locations and providers",
    "R-SUB-2": "Every routed message also lands in Unassigned",
    "R-SUB-3": "Changing one's inbox filters changes one's subscriptions",
    "R-LABEL-1": "Reason/location labels in My Inbox and Unassigned only",
    "R-EXPLAIN-1": "Every routing decision records why",
    "I-VIEW-1": "My Inbox views",
    "I-VIEW-2": "Care Team Inbox",
    "I-VIEW-3": "All Patients Inbox",
    "I-VIEW-4": "Shared inboxes, all or open only",
    "I-STATUS-1": "Open / Closed; an inbound message opens, a sent reply may close",
    "I-DELIV-1": "Send and Close closes only once the channel accepted the reply",
    "I-DELIV-2": "A failed or undelivered reply leaves the conversation open",
    "I-DELIV-3": "The delivery state shown is the newest by time, live",
    "I-DELIV-4": "Retry sends a failed reply again, once",
    "I-DELIV-5": "A failure is told in words",
    "I-DELIV-6": "A reply repeated under one Idempotency-Key is sent once",
    "I-ASSIGN-1": "Assigned automatically when written to a staff member's address",
    "I-UNREC-1": "Unrecognized senders cannot be answered until linked",
    "I-THREAD-1": "Email replies thread into their conversation",
    "I-LINE-1": "Several SMS sending lines with labels",
    "I-REPLY-1": "Templates, emoji, attachments, formatting, send and close",
    "I-SEARCH-1": "Search by phone, email, name and text",
    "I-PANEL-1": "Patient panel beside a conversation",
    "I-LIVE-1": "Live updates, presence",
    # Issue 18 (staff experience): the gateway's own rules, ids in its docstrings.
    "I-EXPLAIN-1": "Routing explained as a sentence with names; rule ids for admins only",
    "I-COVERAGE-1": "Coverage says routing off, nobody subscribed, gaps or covered",
    "I-LAND-1": "Staff land on their first inbox with open work; no meaningless filters",
    "I-NOTIFY-1": "Subscribed staff are notified",
    "I-AUDIT-1": "Append-only record of communications, decisions and actions",
    "X-REPLAY-1": "Read models rebuilt from the log equal live",
    "X-WHATIF-1": "A proposed routing change replayed against past messages",
    "X-EXPLAIN-1": "Why did this message go to these people",
    "X-COVERAGE-1": "Warning when a reason x location has no subscriber",
    "X-FHIR-1": "FHIR R4 and HL7 v2 practice-management integration",
    "X-EVENTS-1": "Documented, versioned conversation events for subscribers",
    "X-REROUTE-1": "Appointment changes re-route open conversations",
    "X-ASOF-1": "Any inbox as it stood at a past time",
    "X-AVAIL-1": "Away staff are skipped; substitutes",
    "X-SLA-1": "Response timers with business hours; escalation",
    "X-BALANCE-1": "Auto-assignment per shared inbox",
    "X-FHIR-2": "FHIR R4 Communication out",
    "X-MENU-1": "Reason selection by SMS and email menu",
    "X-MENU-2": "Menu: when it is sent (line or practice setting, picker offered, recognized)",
    "X-MENU-3": "Menu: the answer (number or name) sets the reason; not a new topic",
    "X-MENU-4": "Menu: one retry; no answer in the window routes without a reason",
    "X-MENU-5": "Menu: never sent twice (ids from the waiting message and attempt)",
    "X-MENU-6": "Menu: any other message first routes the waiting one as without a menu",
    "X-UNREPLY-1": "Answering an unrecognized sender where allowed",
    "X-LANG-1": "The patient's language",
    "X-LANG-2": "The page's language: switch, preferred, Accept-Language, English",
    "X-LANG-3": "Reason names and descriptions in the patient's language",
    "X-LANG-4": "Templates with a body per language; the patient's, else the default",
    "X-LANG-5": "Automatic notices (the secure email's) in the patient's language",
    "I-NOTE-1": "Internal notes and @mentions",
    "I-SNOOZE-1": "Snooze",
    "I-BULK-1": "Bulk actions",
    "X-REPORT-1": "Reports",
    "X-REPORT-2": "Reports: opened at, first staff response (first ReplySent by staff)",
    "X-REPORT-3": "Reports: closed at (the close that left it closed)",
    "X-REPORT-4": "Reports: nearest-rank percentiles",
    "X-REPORT-5": "Reports: answered within the SLA (the notifier's escalations)",
    "X-REPORT-6": "Reports: whole local days, the previous period, volume by hour and weekday",
    "X-REPORT-7": "Reports: unanswered now, by age",
    "X-EVENTS-2": "Public conversation stream evolves only compatibly",
    "X-APICLIENT-1": "API clients: client credentials, one practice, revocable, every call audited",
    "X-NOTIFYADMIN-1": "Every notification setting has an admin screen; time zone from a list",
    "X-PATIENTPAGE-1": "Patient page: emergency notice, response time, hours, reason help",
}

ID = re.compile(r"\b(?:T|[RIX]-[A-Z]+)-\d+\b")
COVERS = re.compile(r"\bcovers\b", re.IGNORECASE)


def _files(*dirs: str, suffixes: tuple[str, ...]) -> list[Path]:
    return sorted(
        p
        for d in dirs
        for p in (ROOT / d).rglob("*")
        if p.suffix in suffixes and "__pycache__" not in p.parts and p.is_file()
    )


def cited() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(rule -> code files naming it, rule -> test files covering it)."""
    code: dict[str, set[str]] = defaultdict(set)
    tests: dict[str, set[str]] = defaultdict(set)
    for path in _files("services", "libs", suffixes=(".py", ".js")):
        for rule in ID.findall(path.read_text(encoding="utf-8")):
            code[rule].add(path.relative_to(ROOT).as_posix())
    for path in _files("tests", suffixes=(".py",)):
        for line in path.read_text(encoding="utf-8").splitlines():
            if COVERS.search(line):
                for rule in ID.findall(line):
                    tests[rule].add(path.relative_to(ROOT).as_posix())
    return code, tests


def _short(path: str) -> str:
    # services/router/src/switchboard/router/decision.py -> router/decision.py
    parts = path.split("/")
    if "src" in parts:
        parts = parts[parts.index("src") + 2 :]
    elif parts[0] == "tests":
        parts = parts[1:]
    return "/".join(parts)


def render() -> str:
    code, tests = cited()
    lines = [
        "# Where each rule lives",
        "",
        "Generated by `scripts/rule_index.py` (a test fails when it is stale): for each rule of",
        "the SPEC, the modules that name it and the test files that say `covers` it. A rule",
        "with no test file is not yet covered by a test that says so.",
        "",
        "| rule | what | code | tests |",
        "|---|---|---|---|",
    ]
    for rule, title in RULES.items():
        where = ", ".join(f"`{_short(p)}`" for p in sorted(code.get(rule, ()))) or "-"
        covered = ", ".join(f"`{_short(p)}`" for p in sorted(tests.get(rule, ()))) or "**none**"
        lines.append(f"| {rule} | {title} | {where} | {covered} |")
    return "\n".join(lines) + "\n"


def unknown() -> set[str]:
    code, tests = cited()
    return (set(code) | set(tests)) - set(RULES)


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        stale = not OUT.exists() or OUT.read_text(encoding="utf-8") != text
        bad = unknown()
        if stale:
            print("docs/rules.md is stale: run scripts/rule_index.py", file=sys.stderr)
        if bad:
            print(f"ids the SPEC does not have: {sorted(bad)}", file=sys.stderr)
        return 1 if stale or bad else 0
    OUT.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
