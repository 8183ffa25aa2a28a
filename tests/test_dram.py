"""The DRAM port against SimPy's textbook parts, and its write drain against a port served
cycle by cycle.

DramPort computes when each transfer ends instead of running a process per transfer. The
references are what it stands for: benchmarks/sim_speed.py's ResourceDramPort (which the
speed benchmark also runs), where a transfer is a process that waits its latency, then
requests a PreemptiveResource(capacity=1), a load pre-empts a write-back and a write-back
resumes after the loads, ahead of later write-backs; and, with drains, `cycle_by_cycle`,
which decides each cycle what the port serves.
"""

import importlib.util
import math
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from accelsim.engine.hw.clock import Clock
from accelsim.engine.hw.dram import DramPort, in_gaps, split_bytes
from accelsim.trace import Cause, Operand, TransferLog
from accelsim.units import exact_rate, transfer_cycles

_spec = importlib.util.spec_from_file_location(
    "sim_speed", Path(__file__).parents[1] / "benchmarks" / "sim_speed.py"
)
sim_speed = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sim_speed)


def drive(port_of, issues):
    """Issue (delay since the previous issue, is_load, bytes) in order; the cycle each
    transfer ends, in issue order."""
    env = Clock()
    port, load, write = port_of(env)
    ends = [None] * len(issues)

    def issuer():
        for i, (delay, is_load, nbytes) in enumerate(issues):
            if delay:
                yield env.timeout(delay)

            def done(at, i=i):
                ends[i] = at

            if is_load:
                load(port, nbytes, done)
            else:
                write(port, nbytes, done)

    env.process(issuer())
    env.run()
    return ends, port


def port(cls, bandwidth, latency):
    def make(env):
        port = cls(env, bandwidth, latency, TransferLog())

        def load(port, nbytes, done):
            port.transfer(Operand.WEIGHTS, nbytes, Cause.COMPULSORY).callbacks.append(
                lambda _e: done(env.now)
            )

        def write(port, nbytes, done):
            port.write_back(lambda: done(env.now), nbytes)

        return port, load, write

    return make


def rows(port):
    log = port._log.to_arrays()
    return sorted(zip(*(log[k].tolist() for k in ("start", "end", "bytes", "operand"))))


transfers = st.lists(
    st.tuples(st.integers(0, 6), st.booleans(), st.integers(1, 12)), min_size=1, max_size=25
)


@settings(max_examples=300, deadline=None)
@given(
    issues=transfers,
    bandwidth=st.sampled_from([1, 2.5, 4]),
    latency=st.sampled_from([0, 1, 3]),
)
def test_every_transfer_ends_when_a_preemptive_resource_would_end_it(issues, bandwidth, latency):
    got, ours = drive(port(DramPort, bandwidth, latency), issues)
    want, reference = drive(port(sim_speed.ResourceDramPort, bandwidth, latency), issues)
    assert got == want
    assert rows(ours) == rows(reference)  # the same pieces of port time, bytes shared alike
    for is_load, operand in ((True, Operand.WEIGHTS), (False, Operand.OUTPUTS)):
        sent = sum(n for _, kind, n in issues if kind == is_load)
        assert sum(r[2] for r in rows(ours) if r[3] == operand) == sent


def test_a_load_preempts_a_write_back_which_resumes_after_it():
    # a 4-cycle write-back at 0, a 2-cycle load issued at 1: the write-back crosses 0-1
    # and 3-6, logged as two rows of 1 and 3 of its 4 B
    issues = [(0, False, 4), (1, True, 2)]
    ends, ours = drive(port(DramPort, 1, 0), issues)
    assert ends == [6, 3]
    assert [r[:3] for r in rows(ours)] == [(0, 1, 1), (1, 3, 2), (3, 6, 3)]


def test_a_drained_write_back_goes_ahead_of_the_loads_not_yet_started():
    """While a PE waits for output space, a write-back waiting for idle cycles, and one
    issued meanwhile, are served ahead of the loads that have not started."""
    env = Clock()
    port = DramPort(env, 1, 0, TransferLog())
    ends = {}

    def run():
        port.transfer(Operand.WEIGHTS, 5, Cause.COMPULSORY).callbacks.append(
            lambda _e: ends.setdefault("load 1", env.now)
        )
        port.write_back(lambda: ends.setdefault("a", env.now), 2)  # idle cycles: after 5
        yield env.timeout(1)
        port.drain()  # a is drained: after the load on the port, 5-7
        port.transfer(Operand.WEIGHTS, 3, Cause.COMPULSORY).callbacks.append(
            lambda _e: ends.setdefault("load 2", env.now)
        )
        port.write_back(lambda: ends.setdefault("b", env.now), 1)  # ahead of load 2
        port.draining = False
        port.write_back(lambda: ends.setdefault("c", env.now), 1)  # idle cycles again

    env.process(run())
    env.run()
    assert ends == {"load 1": 5, "a": 7, "b": 8, "load 2": 11, "c": 12}
    assert [r[:2] for r in rows(port)] == [(0, 5), (5, 7), (7, 8), (8, 11), (11, 12)]


LOAD, WRITE, SPILL, DRAIN, STOP_DRAIN = range(5)


def cycle_by_cycle(issues, bandwidth, latency):
    """The port served a cycle at a time: a transfer that may start (latency after its
    issue) and is first in its class gets the cycle. Drained transfers (spills, write-backs
    while draining, and those waiting when a drain starts) first, then loads, then
    write-backs; a load or a drained transfer, once started, runs to its end. The cycle
    each transfer ends, in issue order, and the [start, end) pieces of each."""
    rate = exact_rate(bandwidth)
    items = []  # [kind, eligible, cycles left, pieces, end]
    classes = {"drained": [], "load": [], "idle": []}
    events, t = [], 0
    for delay, op, nbytes in issues:
        t += delay
        events.append((t, op, nbytes))
    draining, current, now, i = False, None, 0, 0
    while i < len(events) or any(classes.values()) or current:
        while i < len(events) and events[i][0] == now:
            _, op, nbytes = events[i]
            i += 1
            if op == DRAIN or op == SPILL and not draining:  # a spill: a PE waits
                draining = True
                for item in classes["idle"]:
                    item[1] = max(item[1], now)
                classes["drained"] += classes["idle"]
                classes["idle"] = []
                if op == DRAIN:
                    continue
            if op == STOP_DRAIN:
                draining = False
                continue
            item = [op, now + latency, transfer_cycles(nbytes, rate), [], None]
            items.append(item)
            if item[2] == 0:
                item[4] = item[1]
                continue
            kind = "load" if op == LOAD else "drained" if op == SPILL or draining else "idle"
            classes[kind].append(item)
        if current is None or any(current is item for item in classes["idle"]):
            current = next(
                (
                    q[0]
                    for q in (classes["drained"], classes["load"], classes["idle"])
                    if q and q[0][1] <= now
                ),
                None,
            )
        if current is not None:
            pieces = current[3]
            if pieces and pieces[-1][1] == now:
                pieces[-1] = (pieces[-1][0], now + 1)
            else:
                pieces.append((now, now + 1))
            current[2] -= 1
            if current[2] == 0:
                current[4] = now + 1
                for q in classes.values():
                    if q and q[0] is current:
                        q.pop(0)
                current = None
        now += 1
    return [item[4] for item in items], [item[3] for item in items]


drained_issues = st.lists(
    st.tuples(
        st.integers(0, 6),
        st.sampled_from([LOAD, LOAD, WRITE, WRITE, SPILL, DRAIN, STOP_DRAIN]),
        st.integers(1, 12),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=300, deadline=None)
@given(
    issues=drained_issues,
    bandwidth=st.sampled_from([1, 2.5, 4]),
    latency=st.sampled_from([0, 1, 3]),
)
def test_every_transfer_ends_when_a_port_served_cycle_by_cycle_ends_it(issues, bandwidth, latency):
    env = Clock()
    port = DramPort(env, bandwidth, latency, TransferLog())
    ends = []

    def issuer():
        for delay, op, nbytes in issues:
            if delay:
                yield env.timeout(delay)
            i = len(ends)
            ends.append(None)

            def done(i=i):
                ends[i] = env.now

            if op == LOAD:
                port.transfer(Operand.WEIGHTS, nbytes, Cause.COMPULSORY).callbacks.append(
                    lambda _e, done=done: done()
                )
            elif op == WRITE:
                port.write_back(done, nbytes)
            elif op == SPILL:
                port.spill(done, nbytes)
            elif op == DRAIN:
                ends.pop()
                port.drain()
            else:
                ends.pop()
                port.draining = False

    env.process(issuer())
    env.run()
    want, pieces = cycle_by_cycle(issues, bandwidth, latency)
    assert ends == want
    # the same cycles on the port, each held by a load or by an output transfer
    transfers = [op for _, op, _ in issues if op in (LOAD, WRITE, SPILL)]
    assert busy_cycles(rows(port)) == sorted(
        (cycle, Operand.WEIGHTS if op == LOAD else Operand.OUTPUTS)
        for op, item_pieces in zip(transfers, pieces)
        for a, z in item_pieces
        for cycle in range(a, z)
    )
    sent = sum(n for _, op, n in issues if op in (LOAD, WRITE, SPILL))
    assert sum(r[2] for r in rows(port)) == sent


def busy_cycles(port_rows):
    return sorted((cycle, operand) for a, z, _, operand in port_rows for cycle in range(a, z))


def test_pieces_fill_the_gaps_and_share_the_bytes():
    assert in_gaps(0, 5, [(1, 3), (4, 6)]) == [(0, 1), (3, 4), (6, 9)]
    assert in_gaps(2, 0, [(1, 3)]) == []
    assert split_bytes([(0, 1), (3, 4), (6, 9)], 7, 5, 9) == [(0, 1, 1), (3, 4, 1), (6, 9, 5)]
    assert split_bytes([], 7, 0, 4) == [(4, 4, 7)]
    assert math.isclose(sum(r[2] for r in split_bytes([(0, 3), (5, 6)], 10, 4, 6)), 10)
