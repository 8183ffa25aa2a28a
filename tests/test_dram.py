"""The DRAM port against SimPy's textbook parts, and its write drain.

DramPort computes when each transfer ends instead of running a process per transfer. The
reference is what it stands for (benchmarks/sim_speed.py's ResourceDramPort, which the
speed benchmark also runs): a transfer is a process that waits its latency, then requests
a PreemptiveResource(capacity=1); a load pre-empts a write-back, a write-back resumes after
the loads, ahead of later write-backs.
"""

import importlib.util
import math
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from accelsim.engine.hw.clock import Clock
from accelsim.engine.hw.dram import DramPort, in_gaps, split_bytes
from accelsim.trace import Cause, Operand, TransferLog

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


def test_write_drain_queues_write_backs_with_the_loads():
    """While a PE waits for output space, a write-back waiting for idle cycles joins the
    loads' queue (after the loads already in it), and so does one issued meanwhile."""
    env = Clock()
    port = DramPort(env, 1, 0, TransferLog())
    ends = {}

    def run():
        port.transfer(Operand.WEIGHTS, 5, Cause.COMPULSORY)  # 0-5
        port.write_back(lambda: ends.setdefault("a", env.now), 2)  # idle cycles: after 7?
        yield env.timeout(1)
        port.drain()
        port.transfer(Operand.WEIGHTS, 3, Cause.COMPULSORY)  # now after the write-back
        port.write_back(lambda: ends.setdefault("b", env.now), 1)
        port.draining = False
        port.write_back(lambda: ends.setdefault("c", env.now), 1)

    env.process(run())
    env.run()
    # a: 5-7 (queued after the first load); the second load 7-10; b: 10-11 (issued while
    # draining, first come); c in the idle cycles after them: 11-12
    assert ends == {"a": 7, "b": 11, "c": 12}


def test_pieces_fill_the_gaps_and_share_the_bytes():
    assert in_gaps(0, 5, [(1, 3), (4, 6)]) == [(0, 1), (3, 4), (6, 9)]
    assert in_gaps(2, 0, [(1, 3)]) == []
    assert split_bytes([(0, 1), (3, 4), (6, 9)], 7, 5, 9) == [(0, 1, 1), (3, 4, 1), (6, 9, 5)]
    assert split_bytes([], 7, 0, 4) == [(4, 4, 7)]
    assert math.isclose(sum(r[2] for r in split_bytes([(0, 3), (5, 6)], 10, 4, 6)), 10)
