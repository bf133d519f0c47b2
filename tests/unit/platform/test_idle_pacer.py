"""A polling loop's sleep after an empty round (issue 17, near-zero cost at rest): its
interval while work was seen lately, ten times it after a quiet minute, and never past the
soonest time it knows work comes due."""

from hypothesis import given
from hypothesis import strategies as st

from switchboard.platform.idle import IdlePacer


def test_busy_lately_it_polls_at_its_interval_and_quiet_ten_times_less_often():
    p = IdlePacer(1.0, started_at=0.0)
    assert p.sleep_s(now=30.0) == 1.0  # starting counts as work: a restart sweeps up promptly
    assert p.sleep_s(now=61.0) == 10.0
    p.worked(now=100.0)
    assert p.sleep_s(now=101.0) == 1.0
    assert p.interval(5.0, now=101.0) == 5.0 and p.interval(5.0, now=170.0) == 50.0


def test_a_retry_it_scheduled_wakes_it_on_time_however_quiet():
    p = IdlePacer(1.0, started_at=0.0)
    p.due_in(7.0, now=100.0)
    p.due_in(3.0, now=100.0)  # the soonest counts first
    assert p.sleep_s(now=100.0) == 3.0
    assert p.sleep_s(now=102.5) == 0.5
    # passed: that round's to take; the next one known still counts
    assert p.sleep_s(now=103.5) == 3.5
    assert p.sleep_s(now=108.0) == 10.0


@given(
    st.floats(0.01, 10),
    st.floats(0, 1000),
    st.lists(st.floats(0, 1000), max_size=8),
    st.lists(st.floats(0, 2000), min_size=1, max_size=4),
)
def test_the_sleep_is_never_longer_than_the_stretched_interval_nor_past_a_due_time(
    poll, worked_at, dues, nows
):
    p = IdlePacer(poll, started_at=0.0)
    p.worked(worked_at)
    for d in dues:
        p.due_in(d, now=0.0)
    for now in sorted(nows):  # the loop's successive rounds
        sleep = p.sleep_s(now)
        assert 0 <= sleep <= poll * p.stretch
        assert all(now + sleep <= d + 1e-9 or d <= now for d in dues)
