"""Clock.call_in entries take exactly the place of Timeouts created at the same moment."""

import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st
from simpy.core import EmptySchedule

from accelsim.engine.hw.clock import Clock

# a schedule: at each step, wait `gap` cycles in a process, then schedule a callback `delay`
# cycles ahead, either as a bare call or as a Timeout
schedules = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 4), st.booleans()), min_size=1, max_size=40
)


def _log_order(env, schedule, use_call_in: bool) -> list[tuple[int, int]]:
    log = []

    def driver():
        for i, (gap, delay, bare) in enumerate(schedule):
            if gap:
                yield env.timeout(gap)

            def note(i=i):
                log.append((env.now, i))

            if bare and use_call_in:
                env.call_in(delay, note)
            else:
                env.timeout(delay).callbacks.append(lambda _e, note=note: note())

    env.process(driver())
    return log


@settings(max_examples=200, deadline=None)
@given(schedule=schedules)
def test_bare_calls_run_where_timeouts_would(schedule):
    reference = simpy.Environment()
    expected = _log_order(reference, schedule, use_call_in=False)
    reference.run()
    for run in ("run", "run_until"):
        clock = Clock()
        got = _log_order(clock, schedule, use_call_in=True)
        if run == "run":
            clock.run()
        else:
            done = clock.timeout(100)
            assert clock.run_until(done) > 0
        assert got == expected


def test_run_until_a_time_stops_between_calls_and_resumes():
    clock, log = Clock(), []
    clock.call_in(3, lambda: log.append(clock.now))
    clock.call_in(5, lambda: log.append(clock.now))
    clock.run(until=4)
    assert (log, clock.now) == ([3], 4)
    clock.run(until=6)
    assert log == [3, 5]


def test_run_until_an_event_counts_entries_and_reports_an_empty_queue():
    clock = Clock()
    clock.call_in(1, lambda: None)
    done = clock.timeout(2)
    assert clock.run_until(done) == 2
    never = clock.event()
    clock.call_in(1, lambda: None)
    with pytest.raises(EmptySchedule):
        clock.run_until(never)


@pytest.mark.parametrize("run", ["step", "run_until"])
def test_a_failed_event_crashes_the_run_unless_defused(run):
    clock = Clock()
    failed = clock.event()
    failed.fail(ValueError("boom"))
    with pytest.raises(ValueError, match="boom"):
        clock.step() if run == "step" else clock.run_until(clock.event())
    clock = Clock()
    defused = clock.event()
    defused.fail(ValueError("boom"))
    defused.defused = True
    done = clock.timeout(1)
    clock.step() if run == "step" else clock.run_until(done)  # no exception
