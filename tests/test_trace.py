"""Trace collectors: bulk `extend` gives the same trace as the same records one by one."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from accelsim.trace import LevelTrace, State, StateTrace, TransferLog

N_PES = 4


@st.composite
def state_records(draw, max_size=40):
    """(pe, t, state, held_by) rows, each PE's in time order, PEs interleaved."""
    rows, now = [], [0] * N_PES
    for _ in range(draw(st.integers(0, max_size))):
        pe = draw(st.integers(0, N_PES - 1))
        now[pe] += draw(st.sampled_from([0, 0, 1, 3]))  # same-cycle records too
        rows.append(
            (pe, now[pe], draw(st.sampled_from(list(State))), draw(st.sampled_from([-1, -1, 0, 3])))
        )
    return rows


def columns(rows, n=4):
    return [np.array([r[i] for r in rows], dtype=np.int64) for i in range(n)]


def same_intervals(a, b):
    for name in ("pe", "start", "end", "state", "held_by"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and x.tolist() == y.tolist(), name


@given(before=state_records(), bulk=state_records(), after=state_records(), gap=st.integers(0, 2))
def test_state_extend_equals_the_records_entered_one_by_one(before, bulk, after, gap):
    # extend appends after what is there: shift each part past the previous one's times
    def shifted(rows, by):
        return [(pe, t + by, s, h) for pe, t, s, h in rows]

    t1 = max((t for _, t, _, _ in before), default=0) + gap
    bulk = shifted(bulk, t1)
    t2 = max((t for _, t, _, _ in bulk), default=t1) + gap
    after = shifted(after, t2)
    end = max((t for _, t, _, _ in after), default=t2) + gap
    one, many = StateTrace(N_PES), StateTrace(N_PES)
    for pe, t, s, h in before + bulk:
        one.enter(pe, s, t, h)
    for pe, t, s, h in before:
        many.enter(pe, s, t, h)
    pe, t, s, h = columns(bulk)
    many.extend(pe, t, s.astype(np.int8), h.astype(np.int32))
    assert [many.current(p) for p in range(N_PES)] == [one.current(p) for p in range(N_PES)]
    for pe, t, s, h in after:
        one.enter(pe, s, t, h)
        many.enter(pe, s, t, h)
    same_intervals(many.close(end), one.close(end))


def test_state_extend_sets_each_pes_current_state_to_its_last_record():
    trace = StateTrace(3)
    trace.enter(0, State.BUSY, 0)
    trace.extend(
        np.array([1, 0, 1]),
        np.array([2, 5, 7]),
        np.array([State.WAIT_INPUTS, State.IDLE, State.WAIT_INPUTS]),
        np.array([0, -1, 2]),
    )
    assert trace.current(0) == (State.IDLE, -1)
    assert trace.current(1) == (State.WAIT_INPUTS, 2)
    assert trace.current(2) is None
    s = trace.close(9)
    assert list(
        zip(s.pe.tolist(), s.start.tolist(), s.end.tolist(), s.state.tolist(), s.held_by.tolist())
    ) == [
        (0, 0, 5, State.BUSY, -1),
        (0, 5, 9, State.IDLE, -1),
        (1, 2, 7, State.WAIT_INPUTS, 0),
        (1, 7, 9, State.WAIT_INPUTS, 2),
    ]


def test_close_drops_records_overtaken_in_the_same_cycle_and_merges_equal_neighbours():
    trace = StateTrace(2)
    for pe, state, t, held in [
        (0, State.BUSY, 0, -1),
        (0, State.WAIT_NOC, 4, -1),
        (0, State.BUSY, 4, -1),
        (0, State.IDLE, 6, -1),
        (0, State.BUSY, 9, -1),
    ]:
        trace.enter(pe, state, t, held)
    s = trace.close(9)  # the last record starts at the end: no interval
    assert list(zip(s.pe.tolist(), s.start.tolist(), s.end.tolist(), s.state.tolist())) == [
        (0, 0, 6, State.BUSY),
        (0, 6, 9, State.IDLE),
    ]
    assert s.pe.dtype == np.int32 and s.start.dtype == np.int64 and s.state.dtype == np.int8
    empty = StateTrace(2).close(0)
    assert len(empty.pe) == 0 and empty.held_by.dtype == np.int32


@given(
    rows=st.lists(
        st.tuples(st.integers(0, 2), st.integers(0, 10**12), st.integers(0, 10**12)), max_size=30
    ),
    cut=st.integers(0, 30),
)
def test_level_extend_equals_rows_recorded_one_by_one(rows, cut):
    one, many = LevelTrace(), LevelTrace()
    for row in rows:
        one.record(*row)
    for row in rows[:cut]:
        many.record(*row)
    many.extend(*columns(rows[cut:], 3))
    a, b = one.to_arrays(), many.to_arrays()
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].dtype == b[k].dtype and a[k].tolist() == b[k].tolist()
        assert not b[k].flags.writeable


@given(
    rows=st.lists(
        st.tuples(
            st.integers(0, 10**12),
            st.integers(0, 10**12),
            st.integers(0, 10**12),
            st.integers(0, 2),
            st.integers(0, 4),
            st.integers(0, 500),
        ),
        max_size=30,
    ),
    cut=st.integers(0, 30),
)
def test_transfer_extend_equals_rows_recorded_one_by_one(rows, cut):
    one, many = TransferLog(), TransferLog()
    for row in rows:
        one.record(*row)
    for row in rows[:cut]:
        many.record(*row)
    many.extend(*columns(rows[cut:], 6))
    a, b = one.to_arrays(), many.to_arrays()
    assert list(a) == ["start", "end", "bytes", "operand", "cause", "layer"] == list(b)
    for k in a:
        assert a[k].dtype == b[k].dtype and a[k].tolist() == b[k].tolist()


def test_a_trace_closes_once():
    trace = StateTrace(1)
    trace.enter(0, State.BUSY, 0)
    trace.close(5)
    with pytest.raises(RuntimeError, match="StateTrace.close: the trace is closed already"):
        trace.close(5)
