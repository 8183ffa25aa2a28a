"""The shared boards of a layer's run: the dispatcher's status, which the PEs read and
update, and the layer's progress, which ends the layer when every job and write-back is done.

They sit below the PE and the dispatcher, so each of those imports them and neither imports
the other.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Protocol

import simpy
from attrs import define, field
from simpy.events import Event

from accelsim.engine.hw.buffer import OutputBuffer
from accelsim.engine.hw.clock import Clock
from accelsim.trace import State, StateTrace, state_key


class Fed(Protocol):
    """What the dispatch board needs of a PE: its index, to start serving, and to be woken
    when no more jobs will come."""

    index: int

    def serve(self) -> None: ...

    def wake(self) -> None: ...


@define(eq=False)
class LayerProgress:
    """Counts finished jobs and pending write-backs; `done` fires when both reach zero. The
    PEs count jobs down themselves and call `check` at zero."""

    env: simpy.Environment
    jobs_left: int
    outputs: OutputBuffer | None = None
    done: simpy.Event = field(init=False)

    def __attrs_post_init__(self):
        self.done = self.env.event()

    def check(self) -> None:
        if self.jobs_left == 0 and not self.done.triggered:
            # run_layer sets `outputs` before any job runs and clears it after `done`; this
            # is reached only once the jobs are done, not per job
            assert self.outputs is not None
            if self.outputs.pending_writebacks == 0:
                self.done.succeed()


class DispatchStatus:
    """Shared by the dispatcher and the PEs: what the next delivery waits for, who starves,
    which PEs have room, and how many jobs each PE still expects."""

    # a starving PE fed when nothing else is due starts in `settle`, without an event (a
    # test turns this off to show that it changes nothing but the event count)
    start_in_settle = True

    def __init__(
        self,
        env: Clock,
        n_pes: int,
        expected: list[int] | None,
        n_jobs: int,
        trace: StateTrace,
        depth: int,
    ):
        self.env = env
        self.stage: tuple[State, int] = (State.WAIT_INPUTS, -1)
        self._stage_key = state_key(*self.stage)
        self._current = trace.current_keys
        self._t_appends, self._key_appends = trace.t_appends, trace.key_appends
        self._starving: dict[int, None] = {}
        self._expected = expected  # static: jobs still to deliver per PE; dynamic: None
        self._undispatched = n_jobs
        self.position = -1
        self._position_waiters: list[tuple[int, simpy.Event]] = []
        dynamic = expected is None
        self.free_slots: deque[int] | None = (
            # no more slots per PE than the layer has jobs: a deeper queue is never used
            deque(p for _ in range(min(depth, n_jobs)) for p in range(n_pes)) if dynamic else None
        )
        self._room_waiter: tuple[int, simpy.Event] | None = None
        self.pes: Sequence[Fed] = []
        self._arrived: list[Fed] = []  # fed during this dispatcher step; start when it ends

    def delivered(self, pe: Fed) -> None:
        """A job reached `pe`'s queue: one fewer to come, and a starving `pe` resumes where
        an event scheduled now would be processed. When no other event is due this cycle,
        that is right after the dispatcher's current step, before anything the step
        schedules is processed: the PE then starts in `settle`, without an event; otherwise
        an event keeps its place."""
        i = pe.index
        self._undispatched -= 1
        if self._expected is not None:
            self._expected[i] -= 1
        if i in self._starving:
            del self._starving[i]
            env = self.env
            queue = env._queue  # env.peek(), written out: this runs per job
            if self.start_in_settle and (not queue or queue[0][0] > env._now):
                self._arrived.append(pe)
            else:
                env.call_in(0, pe.serve)

    def starve(self, pe: int) -> bool:
        """`pe` ran out of queued jobs: it starves in the current stage, or it is done for the
        layer (False) when no more jobs will come for it."""
        left = self._undispatched if self._expected is None else self._expected[pe]
        if left <= 0:
            return False
        self._starving[pe] = None
        key = self._stage_key  # trace.enter(pe, *self.stage, now), written out: per job
        if self._current[pe] != key:
            self._current[pe] = key
            self._t_appends[pe](self.env._now)
            self._key_appends[pe](key)
        return True

    def settle(self) -> None:
        """End of a dispatcher step: start the PEs that `delivered` held, in delivery order."""
        if self._arrived:
            arrived, self._arrived = self._arrived, []
            for pe in arrived:
                pe.serve()

    def set_stage(self, state: State, held_by: int = -1) -> None:
        """Every starving PE that expects more jobs now waits for this. An unchanged stage
        records nothing: each such PE entered it when it started starving or since. Every
        starving PE expects more jobs here: `starve` adds only such a PE, its next delivery
        removes it, and the dispatcher sets stages only before a delivery."""
        stage = (state, held_by)
        if stage == self.stage:
            return
        self.stage = stage
        key = self._stage_key = state | (held_by + 1) << 3  # state_key, written out
        now, current = self.env._now, self._current
        t_appends, key_appends = self._t_appends, self._key_appends
        for pe in self._starving:  # trace.enter, written out: this runs per broadcast
            if current[pe] != key:
                current[pe] = key
                t_appends[pe](now)
                key_appends[pe](key)

    def reach(self, pos: int) -> None:
        self.position = pos
        if self._position_waiters:
            ready = [w for w in self._position_waiters if w[0] <= pos]
            self._position_waiters = [w for w in self._position_waiters if w[0] > pos]
            for _, ev in ready:
                ev.succeed()

    def wait_position(self, pos: int) -> simpy.Event:
        """Fires when the dispatcher reaches delivery `pos` (single-buffered loads wait here)."""
        ev = Event(self.env)
        self._position_waiters.append((pos, ev))
        return ev

    def slot_freed(self, pe: int) -> None:
        if self.free_slots is not None:
            self.free_slots.append(pe)
        waiter = self._room_waiter
        if waiter is not None and (waiter[0] == pe or waiter[0] == -1):
            self._room_waiter = None
            waiter[1].succeed()

    def wait_room(self, pe: int) -> simpy.Event:
        """Fires when `pe` (or any PE, for -1) frees a queue slot."""
        ev = Event(self.env)
        self._room_waiter = (pe, ev)
        return ev

    def finish(self) -> None:
        """No more deliveries: every starving PE resumes, to go idle."""
        starving, self._starving = self._starving, {}
        for pe in starving:
            self.pes[pe].wake()
