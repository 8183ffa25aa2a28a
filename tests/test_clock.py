"""Clock.call_in entries take exactly the place of Timeouts created at the same moment."""

import contextlib
import gc

import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st
from simpy.core import EmptySchedule

from accelsim.engine.hw.clock import Clock, collector_paused

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


def _start_order(env, starts, use_start_now: bool) -> list[tuple[int, str]]:
    """Processes and callbacks started at several moments, each logging its first step,
    among Timeouts (NORMAL) due at the same cycles; `starts[i]` is the gap before start i."""
    log = []

    def first_step(i):
        log.append((env.now, f"start {i}"))

    def as_process(i):
        first_step(i)
        yield env.timeout(0)

    def driver():
        for i, gap in enumerate(starts):
            if gap:
                yield env.timeout(gap)
            env.timeout(0).callbacks.append(lambda _e, i=i: log.append((env.now, f"t {i}")))
            if use_start_now:
                env.start_now(lambda i=i: first_step(i))
            else:
                env.process(as_process(i))

    env.process(driver())
    return log


@settings(max_examples=100, deadline=None)
@given(starts=st.lists(st.integers(0, 2), min_size=1, max_size=20))
def test_start_now_runs_where_a_process_takes_its_first_step(starts):
    # a PE starts with Clock.start_now instead of a process: its first step must come
    # where the process's Initialize (URGENT) would be processed, ahead of a Timeout(0)
    # created before it; a NORMAL call_in there would come after
    reference = simpy.Environment()
    expected = _start_order(reference, starts, use_start_now=False)
    reference.run()
    clock = Clock()
    got = _start_order(clock, starts, use_start_now=True)
    clock.run()
    assert got == expected


@pytest.mark.parametrize("enabled", [True, False])
@pytest.mark.parametrize("fails", [False, True])
def test_the_collector_is_paused_inside_and_restored_as_it_was(enabled, fails):
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        with pytest.raises(RuntimeError) if fails else contextlib.nullcontext():
            with collector_paused():
                assert not gc.isenabled()
                if fails:
                    raise RuntimeError("a failed layer")
        assert gc.isenabled() == enabled
    finally:
        (gc.enable if was else gc.disable)()
