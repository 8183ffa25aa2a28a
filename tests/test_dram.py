"""The DRAM port against SimPy's textbook parts, and its write drain.

DramPort computes when each transfer ends instead of running a process per transfer. The
reference here is what it stands for: a transfer is a process that waits its latency, then
requests a PreemptiveResource(capacity=1); a load pre-empts a write-back, a write-back
resumes after the loads, ahead of later write-backs.
"""

import math

import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from accelsim.engine.hw.clock import Clock
from accelsim.engine.hw.dram import DramPort, in_gaps, split_bytes
from accelsim.trace import Cause, Operand, TransferLog
from accelsim.units import exact_rate, transfer_cycles


class PreemptivePort:
    def __init__(self, env, bytes_per_cycle, latency):
        self.env, self.latency = env, latency
        self.rate = exact_rate(bytes_per_cycle)
        self.port = simpy.PreemptiveResource(env, capacity=1)
        self.writes = 0
        self.pieces = []  # (start, end) of write-back service

    def load(self, nbytes, done):
        self.env.process(self._load(transfer_cycles(nbytes, self.rate), done))

    def write(self, nbytes, done):
        self.writes += 1
        self.env.process(self._write(self.writes, transfer_cycles(nbytes, self.rate), done))

    def _load(self, cycles, done):
        yield self.env.timeout(self.latency)
        with self.port.request(priority=0, preempt=True) as req:
            yield req
            yield self.env.timeout(cycles)
        done(self.env.now)

    def _write(self, number, cycles, done):
        yield self.env.timeout(self.latency)
        left = cycles
        while left:
            with self.port.request(priority=number, preempt=False) as req:
                start = None
                try:
                    yield req
                    start = self.env.now
                    yield self.env.timeout(left)
                    left = 0
                except simpy.Interrupt:  # pre-empted, granted or not yet
                    if start is not None:
                        left -= self.env.now - start
                if start is not None and self.env.now > start:
                    self.pieces.append((start, self.env.now))
        done(self.env.now)


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


def ours(bandwidth, latency):
    def make(env):
        port = DramPort(env, bandwidth, latency, TransferLog())

        def load(port, nbytes, done):
            port.transfer(Operand.WEIGHTS, nbytes, Cause.COMPULSORY).callbacks.append(
                lambda _e: done(env.now)
            )

        def write(port, nbytes, done):
            port.write_back(lambda: done(env.now), nbytes)

        return port, load, write

    return make


def reference(bandwidth, latency):
    def make(env):
        port = PreemptivePort(env, bandwidth, latency)
        return port, PreemptivePort.load, PreemptivePort.write

    return make


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
    got, port = drive(ours(bandwidth, latency), issues)
    want, ref = drive(reference(bandwidth, latency), issues)
    assert got == want
    log = port._log.to_arrays()
    outputs = log["operand"] == Operand.OUTPUTS
    assert sorted(zip(log["start"][outputs].tolist(), log["end"][outputs].tolist())) == sorted(
        ref.pieces
    )
    # every byte logged once, per transfer kind
    for is_load, operand in ((True, Operand.WEIGHTS), (False, Operand.OUTPUTS)):
        sent = sum(n for _, kind, n in issues if kind == is_load)
        assert int(log["bytes"][log["operand"] == operand].sum()) == sent


def test_a_load_preempts_a_write_back_which_resumes_after_it():
    # a 4-cycle write-back at 0, a 2-cycle load issued at 1: the write-back crosses 0-1
    # and 3-6, logged as two rows of 1 and 3 of its 4 B
    issues = [(0, False, 4), (1, True, 2)]
    ends, port = drive(ours(1, 0), issues)
    assert ends == [6, 3]
    log = port._log.to_arrays()
    rows = sorted(zip(log["start"].tolist(), log["end"].tolist(), log["bytes"].tolist()))
    assert rows == [(0, 1, 1), (1, 3, 2), (3, 6, 3)]


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
