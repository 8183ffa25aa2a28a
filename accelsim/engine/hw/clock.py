"""The simulation clock: a SimPy environment with a cheaper way to run a callback later.

The model's per-job events (a job's end, a write-back's end, a starving PE's resumption) have
exactly one callback and nobody waits on them. `call_in` puts the callback itself on SimPy's
event queue, keyed exactly as a Timeout scheduled at the same moment would be (time, NORMAL
priority, the next event id), so the order of processing is the same, without building an
Event (an object, a callback list and a value per job). `step` and the inlined loop
`run_until` process both kinds of entry.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from heapq import heappop, heappush

import simpy
from simpy.core import EmptySchedule, StopSimulation
from simpy.events import NORMAL, URGENT, Event, EventPriority


class PastDeadline(Exception):
    """A run stopped at its deadline before it was done (Clock.run_until): it would end
    later than that. The mapper's way to drop a candidate that cannot win."""


class Clock(simpy.Environment):
    """SimPy's environment plus bare-callback entries. It reads SimPy internals (the
    environment's `_queue`, `_now`, `_eid`; an event's `callbacks`, `_ok`, `_value`,
    `_defused`), so pyproject pins SimPy's major version; the model's components read
    `env._now` where they run per job (`now` is a property)."""

    # Narrower than SimPy's declarations: every delay the model schedules is a whole number
    # of cycles (units.transfer_cycles, validated integer durations), so time stays an int;
    # and the queue also holds the bare callbacks of `call_in`, which SimPy's annotation of
    # `_queue` (Events only) does not admit.
    _now: int
    _queue: list[tuple[int, EventPriority, int, Event | Callable[[], None]]]  # type: ignore[assignment]

    @property
    def now(self) -> int:
        """The current simulation time, in cycles."""
        return self._now

    def call_in(self, delay: int, callback: Callable[[], None]) -> None:
        """Run `callback()` `delay` cycles from now, in the place a Timeout created now
        would take. `delay` >= 0 is the caller's to ensure (a Timeout checks; this runs per
        job, on durations validated before the run)."""
        heappush(self._queue, (self._now + delay, NORMAL, next(self._eid), callback))

    def start_now(self, callback: Callable[[], None]) -> None:
        """Run `callback()` now, in the place a process started now would take its first
        step (its Initialize event is URGENT): for a component that is a process only to
        start, and whose end nobody waits for (a PE)."""
        heappush(self._queue, (self._now, URGENT, next(self._eid), callback))

    def step(self) -> None:
        """SimPy's step, for a queue that also holds `call_in` entries."""
        try:
            self._now, _, _, entry = heappop(self._queue)
        except IndexError:
            raise EmptySchedule from None
        if not isinstance(entry, Event):
            entry()
            return
        # SimPy types `callbacks` as a list but sets it to None once processed (its own step
        # carries the same ignore)
        callbacks, entry.callbacks = entry.callbacks, None  # type: ignore[assignment]
        try:
            for callback in callbacks:
                callback(entry)
        except StopSimulation:  # `run(until=...)`: the rest of the callbacks stay due
            entry.callbacks = callbacks[callbacks.index(callback) + 1 :]
            self.schedule(entry, EventPriority(-1))  # ahead of everything due now, as SimPy does
            raise
        if not entry._ok and not hasattr(entry, "_defused"):
            _crash(entry)

    def run_until(self, done: simpy.Event, deadline: int | None = None) -> int:
        """Process the queue until `done` has been processed; returns the number of entries
        processed. Raises EmptySchedule if the queue runs dry first (a deadlock), and
        PastDeadline if an entry due after `deadline` comes first. A failed event crashes the
        run, as in `Environment.step`."""
        queue = self._queue
        limit = sys.maxsize if deadline is None else deadline
        steps = 0
        while done.callbacks is not None:
            try:
                self._now, _, _, entry = heappop(queue)
            except IndexError:
                raise EmptySchedule from None
            if self._now > limit:
                raise PastDeadline(self._now)
            steps += 1
            if not isinstance(entry, Event):
                entry()
                continue
            callbacks, entry.callbacks = entry.callbacks, None  # type: ignore[assignment]
            for callback in callbacks:
                callback(entry)
            if not entry._ok and not hasattr(entry, "_defused"):
                _crash(entry)
        return steps


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection inside: for a SimPy layer's run, which builds its jobs,
    broadcasts and buffers' plans as tens of thousands of small objects that live until
    the layer ends (every collection meanwhile scans them, and the first full one the whole
    heap: 6 % of a job's CPU on ResNet-18 at 7x7 tiles, 16 PEs), and whose per-job objects
    die by reference count. The collector resumes as it was (a caller may have paused it)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def _crash(event: Event):
    """Re-raise a failed event's exception, as SimPy does (a copy with a new traceback)."""
    exc = type(event._value)(*event._value.args)
    exc.__cause__ = event._value
    raise exc
