"""Contact normalisation and matching shared by ingest, router, pm-sync and gateway
(I-UNREC-1, I-THREAD-1)."""

from datetime import UTC

from hypothesis import assume, given
from hypothesis import strategies as st

from switchboard.rules.contacts import (
    contact_key,
    contact_keys,
    normalize_email,
    normalize_phone,
    recognized,
    replaces,
)

# Valid New York numbers: area code 212, exchange 2xx-9xx (never 555-01xx fiction).
ny_numbers = st.builds(
    lambda exchange, line: f"212{exchange}{line:04d}",
    st.integers(200, 999).map(str).filter(lambda e: e[1:] != "11"),
    st.integers(0, 9999),
)


def spellings(digits: str) -> list[str]:
    area, exchange, line = digits[:3], digits[3:6], digits[6:]
    return [
        digits,
        f"({area}) {exchange}-{line}",
        f"{area}-{exchange}-{line}",
        f"{area}.{exchange}.{line}",
        f"+1 {area} {exchange} {line}",
        f"1{digits}",
        f"  +1{digits}  ",
    ]


def test_examples():
    assert normalize_phone("(212) 555-0101") == "+12125550101"
    assert normalize_phone("+44 20 7946 0958") == "+442079460958"
    assert normalize_phone("555-1234") is None
    assert normalize_phone("12") is None
    assert normalize_phone("") is None and normalize_phone(None) is None
    assert normalize_email(" Mailto:Jane@Example.COM ") == "jane@example.com"
    assert normalize_email("jane@localhost") is None
    assert normalize_email("not an@example.com") is None


def test_a_search_accepts_any_number_of_a_possible_length_but_never_a_local_one():
    # Senders' numbers are stored as the SMS provider gives them; they need not be assigned.
    assert normalize_phone("+12120123456") is None
    assert normalize_phone("+12120123456", require_valid=False) == "+12120123456"
    assert normalize_phone("(212) 012-3456", require_valid=False) == "+12120123456"
    assert normalize_phone("555-1234", require_valid=False) is None
    assert normalize_phone("12", require_valid=False) is None


@given(ny_numbers)
def test_normalize_phone_is_format_insensitive(digits):
    results = {normalize_phone(s) for s in spellings(digits)}
    assert len(results) == 1
    (e164,) = results
    assert e164 is not None and e164 == f"+1{digits}"


@given(st.one_of(ny_numbers, st.text(max_size=20)))
def test_normalize_phone_is_idempotent(raw):
    for strict in (True, False):
        once = normalize_phone(raw, require_valid=strict)
        if once is not None:
            assert normalize_phone(once, require_valid=strict) == once
            assert once.startswith("+") and once[1:].isdigit()


@given(ny_numbers)
def test_a_valid_number_is_also_a_possible_one(digits):
    assert normalize_phone(digits, require_valid=False) == normalize_phone(digits)


emails = st.emails()


@given(emails, st.sampled_from([str.upper, str.lower, str.title, lambda s: f"  {s} "]))
def test_equivalent_emails_normalise_and_key_alike(address, spell):
    assume(normalize_email(address) is not None)
    assert normalize_email(spell(address)) == normalize_email(address)
    assert contact_key(spell(address)) == contact_key(address)


@given(emails)
def test_normalize_email_is_idempotent(address):
    once = normalize_email(address)
    if once is not None:
        assert normalize_email(once) == once


# covers I-UNREC-1
@given(ny_numbers, st.sampled_from([" ", "", "\t"]))
def test_contact_key_of_a_stored_number_ignores_surrounding_space(digits, pad):
    e164 = f"+1{digits}"
    assert contact_key(f"{pad}{e164}{pad}") == contact_key(e164) == e164


@given(st.lists(st.one_of(emails, ny_numbers.map(lambda d: f"+1{d}"), st.just("  "))))
def test_contact_keys_are_order_and_duplicate_insensitive(contacts):
    keys = contact_keys(contacts)
    assert keys == contact_keys(list(reversed(contacts)) + contacts)
    assert list(keys) == sorted(set(keys))
    assert "" not in keys and all(k == contact_key(k) for k in keys)


# covers I-UNREC-1
def test_recognized_is_exactly_one_owner():
    assert [recognized(n) for n in range(4)] == [False, True, False, False]


@given(st.datetimes(timezones=st.just(UTC)), st.datetimes(timezones=st.just(UTC)))
def test_a_patient_update_replaces_unless_older(known, new):
    assert replaces(None, new)
    assert replaces(known, new) == (new >= known)
