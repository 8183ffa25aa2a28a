"""The DRAM port: loads first, write-backs in the port's idle time, and a write drain that
goes ahead of queued loads while a PE waits for output space."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from functools import partial
from heapq import heappush

import simpy
from simpy.events import NORMAL, Event

from accelsim.engine.hw.clock import Clock
from accelsim.trace import Cause, Operand, TransferLog
from accelsim.units import exact_rate, transfer_cycles

OUTPUTS, COMPULSORY = Operand.OUTPUTS, Cause.COMPULSORY


class DramPort:
    """One port for reads and writes. A transfer waits its latency, then needs the port for
    ceil(bytes / bandwidth) cycles.

    Loads (weights, inputs, partial sums read back) are served first come, first served,
    never pre-empted, and a write-back never delays them: write-backs are served first
    come, first served in the cycles no load uses, pre-empted by a load and resumed after it
    (a memory controller that serves reads first and writes when the bus is idle).

    Write drain: while a PE waits for output space (`draining`), the write-backs (and the
    spills of partial sums) that make room are urgent: first come, first served among
    themselves, never pre-empted, and ahead of every load that has not started when they
    may start (a controller's write drain when its write queue is full: the queued reads
    wait; the read on the bus finishes). Loads already issued then end later: their events
    are moved. Without a drain, a PE waiting for room waited behind every load the loader
    had prefetched, so a larger input buffer (a longer queue of prefetched loads) could make
    a run slower.

    A load's end is known when it is issued unless a drain moves it: its event is an
    `_Arrival` fired by one bare callback on the clock's queue, in the place a Timeout
    created at its issue would take; a move puts the callback on the queue again and voids
    the old entry. A write-back's end moves when a load is issued into its service, and its
    callback is rescheduled alike.

    Why loads first, not one first-come queue: a write-back issued early (because prefetch
    made a job end early) then held up a load a PE waited for, and prefetch could make a run
    slower. With loads first, and no PE waiting for output space, a load's timing depends on
    the loads before it alone, which is what makes prefetch never slower (docs/model.md,
    "DRAM port").
    """

    def __init__(self, env: Clock, bytes_per_cycle: float, latency_cycles: int, log: TransferLog):
        self.env = env
        self._rate = exact_rate(bytes_per_cycle)
        self._latency = latency_cycles
        self._log = log
        self._free_at = 0  # when the loads issued so far have all crossed the port
        self._loads: deque[tuple[int, int]] = deque()  # [start, end) of loads, in order
        self._writes: deque[_WriteBack] = deque()  # write-backs not yet done, in order
        self._writes_free_at = 0  # when the last write-back served in idle cycles ended
        self._queued: deque[_Arrival] = deque()  # loads issued, in order, not known done
        self._urgent: deque[tuple[int, int]] = deque()  # [start, end) of drained transfers
        self._urgent_free_at = 0  # when the last drained transfer ends
        self.draining = False
        self.layer = 0

    def transfer(
        self,
        operand: Operand,
        nbytes: int,
        cause: Cause,
        extra_bytes: int = 0,
        extra_cause: Cause = Cause.HALO,
    ) -> simpy.Event:
        """Load `nbytes`, then `extra_bytes`, back to back in one transfer; the event fires
        when the last byte has crossed the port. Each part is logged with its own cause and
        share of port time (an empty part is not logged)."""
        env = self.env
        now = env._now
        t = start = max(now + self._latency, self._free_at)
        log, queued = self._log, self._queued
        arrival = _Arrival(env, log, now + self._latency, start, log.next_row())
        if nbytes:
            end = t + transfer_cycles(nbytes, self._rate)
            log.record(t, end, nbytes, operand, cause, self.layer)
            arrival.parts.append(end - t)
            t = end
        if extra_bytes:
            end = t + transfer_cycles(extra_bytes, self._rate)
            log.record(t, end, extra_bytes, operand, extra_cause, self.layer)
            arrival.parts.append(end - t)
            t = end
        self._free_at = arrival.due = t
        while queued and queued[0].due <= now:
            queued.popleft()
        queued.append(arrival)
        env.call_in(t - now, arrival.fire)
        if t > start:
            self._busy(now, start, t)
            if self._writes and start < self._writes[0].due:
                self._schedule_head()
        return arrival

    def _busy(self, now: int, start: int, end: int) -> None:
        """Note that loads hold the port over [start, end): back to back with the previous
        load, one interval (write-backs then skip the run of loads in one step)."""
        loads = self._loads
        if not self._writes:  # a write-back issued from now on starts after `now`
            while loads and loads[0][1] <= now:
                loads.popleft()
        if loads and loads[-1][1] == start:
            loads[-1] = (loads[-1][0], end)
        else:
            loads.append((start, end))

    def write_back(self, callback: Callable[[], None], nbytes: int) -> None:
        """Write `nbytes` of outputs (cause compulsory) in the port's idle time, or, while
        draining, ahead of the loads not yet started; `callback()` runs when the last byte
        has crossed the port."""
        rate = self._rate  # transfer_cycles, written out: this runs per job
        write = _WriteBack(
            self.env._now + self._latency,
            0 if rate is None else -(-nbytes * rate.denominator // rate.numerator),
            nbytes,
            self.layer,
            callback,
        )
        if self.draining:
            self._drained(write, [])
            return
        self._writes.append(write)
        if len(self._writes) == 1:
            self._schedule_head()

    def drain(self) -> None:
        """A PE waits for output space: the write-backs waiting for idle cycles, and those
        issued until `draining` is cleared, go ahead of the loads not yet started (what the
        first has already crossed stays)."""
        self.draining = True
        now = self.env._now
        while self._writes:
            write = self._writes.popleft()
            served = [(a, min(z, now)) for a, z in write.pieces if a < now]
            self._drained(write, served)

    def spill(self, callback: Callable[[], None], nbytes: int) -> None:
        """Write `nbytes` of partial sums out to make room in the output buffer (cause
        spill), drained ahead of the loads not yet started; `callback()` runs when the last
        byte has crossed the port. A spill means a PE waits for space: the port drains."""
        if not self.draining:
            self.drain()
        now = self.env._now
        cycles = transfer_cycles(nbytes, self._rate)
        start, due = self._ahead_of_loads(now + self._latency, cycles)
        self._log.record(start, due, nbytes, OUTPUTS, Cause.SPILL, self.layer)
        self.env.call_in(due - now, callback)

    def _drained(self, write: _WriteBack, served: list[tuple[int, int]]) -> None:
        """Serve the rest of `write` (after the `served` pieces) ahead of the loads not yet
        started. A write-back whose end does not move keeps its place on the event queue."""
        rest = write.cycles - sum(z - a for a, z in served)
        if rest:
            start, due = self._ahead_of_loads(max(write.eligible, self.env._now), rest)
            write.pieces = [*served, (start, due)]
        else:
            due = max(write.eligible, self.env._now)
            write.pieces = served
        if write.token and due == write.due:  # already scheduled to end then
            return
        write.due = due
        write.token += 1
        token = write.token
        self.env.call_in(due - self.env._now, lambda: self._done(write, token))

    def _ahead_of_loads(self, eligible: int, cycles: int) -> tuple[int, int]:
        """Place a drained transfer of `cycles` that may start at `eligible`: after the
        drained transfers before it and after the load on the port then, ahead of every
        load that would start at `eligible` or later, which moves back by as much as it
        must. Returns its [start, end)."""
        now = self.env._now
        queued = self._queued
        while queued and queued[0].due <= now:
            queued.popleft()
        start = max(eligible, self._urgent_free_at)
        moved = 0
        for load in queued:  # in issue order, so in order of start
            if load.start >= eligible:
                break
            start = max(start, load.due)
            moved += 1
        end = start + cycles
        self._urgent_free_at = end
        if cycles:
            self._urgent.append((start, end))
        t = end
        for i in range(moved, len(queued)):
            load = queued[i]
            begin = max(load.eligible, t)
            if begin == load.start:  # and so every load after it
                break
            t = load.move(begin)
        self._free_at = max(self._free_at, t)
        self._rebuild_busy(now)
        return start, end

    def _rebuild_busy(self, now: int) -> None:
        """The port's busy intervals after a drain moved loads: loads and drained transfers
        not over, merged where back to back."""
        urgent = self._urgent
        while urgent and urgent[0][1] <= now:
            urgent.popleft()
        spans = sorted([*((a.start, a.due) for a in self._queued if a.due > a.start), *urgent])
        loads: deque[tuple[int, int]] = deque()
        for start, end in spans:
            if loads and loads[-1][1] == start:
                loads[-1] = (loads[-1][0], end)
            else:
                loads.append((start, end))
        self._loads = loads

    def _schedule_head(self) -> None:
        """(Re)schedule the first write-back's end: its cycles fill the gaps between the
        loads from when it may start."""
        write = self._writes[0]
        begin = max(write.eligible, self._writes_free_at)
        loads = self._loads
        while loads and loads[0][1] <= begin:  # loads over before it may start
            loads.popleft()
        if loads:
            write.pieces = in_gaps(begin, write.cycles, loads)
        else:  # no load ahead (the common case): one piece
            write.pieces = [(begin, begin + write.cycles)] if write.cycles else []
        write.due = write.pieces[-1][1] if write.pieces else begin
        write.token += 1
        # env.call_in written out, with a partial, not a lambda (called from C): two Python
        # frames less per write-back
        env = self.env
        heappush(
            env._queue, (write.due, NORMAL, next(env._eid), partial(self._done, write, write.token))
        )

    def _done(self, write: _WriteBack, token: int) -> None:
        if token != write.token:  # rescheduled since: a load took some of its cycles
            return
        pieces = write.pieces
        if len(pieces) == 1:  # the common case, without split_bytes or a call to record
            a_start, a_end, a_nbytes, a_operand, a_cause, a_layer = self._log.appends
            start, end = pieces[0]
            a_start(start)
            a_end(end)
            a_nbytes(write.nbytes)
            a_operand(OUTPUTS)
            a_cause(COMPULSORY)
            a_layer(write.layer)
        else:
            for start, end, nbytes in split_bytes(pieces, write.nbytes, write.cycles, write.due):
                self._log.record(start, end, nbytes, OUTPUTS, COMPULSORY, write.layer)
        if self._writes and self._writes[0] is write:  # served in idle cycles
            self._writes.popleft()
            self._writes_free_at = write.due
            if self._writes:
                self._schedule_head()
        write.callback()


class _Arrival(Event):
    """A load's end: an event that is triggered from its issue (as a Timeout is) and
    processed when `fire` runs at `due`. A drain that moves the load sets a later `due`
    and takes the event id a Timeout created then would take; the queue entry already
    there, when it comes up early, puts `fire` back on the queue at `due` under that id,
    so the order of processing is the one of an entry made at the move. Its log rows are
    retimed once, when it ends: a drain may move every queued load, and each of them many
    times."""

    __slots__ = ("clock", "log", "eligible", "start", "due", "row", "parts", "eid", "logged_at")

    def __init__(self, env: Clock, log: TransferLog, eligible: int, start: int, row: int):
        self.env = self.clock = env
        self.log = log
        self.callbacks: list = []
        self._ok = True
        self._value = None
        self.eligible, self.start, self.due = eligible, start, start
        self.row = row  # its first part's row in the transfer log
        self.parts: list[int] = []  # cycles of each logged part
        self.eid = 0  # the id of its latest move (0: never moved)
        self.logged_at = start  # the start its log rows hold

    def fire(self) -> None:
        """Process the event (Clock.step's work), or, moved since its entry was made, put
        itself back on the queue at its end."""
        clock = self.clock
        if clock._now != self.due:
            heappush(clock._queue, (self.due, NORMAL, self.eid, self.fire))
            return
        if self.logged_at != self.start:
            t, log = self.start, self.log
            for i, cycles in enumerate(self.parts):
                log.retime(self.row + i, t, t + cycles)
                t += cycles
            self.logged_at = self.start
        callbacks, self.callbacks = self.callbacks, None  # type: ignore[assignment]
        for callback in callbacks:
            callback(self)

    def move(self, start: int) -> int:
        """Start at `start` instead (never earlier); returns the new end."""
        if start == self.start:
            return self.due
        self.due += start - self.start
        self.start = start
        self.eid = next(self.clock._eid)
        return self.due


class _WriteBack:
    """A write-back waiting for, or using, the port's idle cycles."""

    __slots__ = ("eligible", "cycles", "nbytes", "layer", "callback", "pieces", "due", "token")

    def __init__(
        self, eligible: int, cycles: int, nbytes: int, layer: int, callback: Callable[[], None]
    ):
        self.eligible, self.cycles, self.nbytes = eligible, cycles, nbytes
        self.layer, self.callback = layer, callback
        self.pieces: list[tuple[int, int]] = []
        self.due = eligible
        self.token = 0


def in_gaps(begin: int, cycles: int, loads) -> list[tuple[int, int]]:
    """The [start, end) pieces in which `cycles` of port time, from `begin` on, fill the gaps
    between `loads` ([start, end) in order, not overlapping). Empty for no cycles."""
    pieces = []
    t, left = begin, cycles
    for start, end in loads:
        if not left:
            break
        if end <= t:
            continue
        if start > t:
            take = min(left, start - t)
            pieces.append((t, t + take))
            left -= take
        t = max(t, end)
    if left:
        pieces.append((t, t + left))
    return pieces


def split_bytes(pieces, nbytes: int, cycles: int, due: int):
    """(start, end, bytes) per piece: the bytes that have crossed by a piece's end are
    nbytes x (cycles served so far) / cycles, rounded down, and the last piece ends them.
    A transfer that takes no cycle (infinite bandwidth) is one row at `due`; no bytes, none."""
    if not pieces:
        return [(due, due, nbytes)] if nbytes else []
    rows, served, sent = [], 0, 0
    for start, end in pieces:
        served += end - start
        upto = nbytes if served == cycles else nbytes * served // cycles
        rows.append((start, end, upto - sent))
        sent = upto
    return rows
