"""The dispatcher: delivers jobs from the buffers over the interconnect into PE queues.

Static plans are delivered as broadcasts: one input block goes to every PE whose next job
reads it, each of those PEs receiving that one job, once every member's operands are on chip
and every member's queue has room (so depth 1 is lock-step). Broadcasts follow input-block
order, as a streaming accelerator walks its input tiles, and never reorder a PE's own jobs.
Dynamic plans keep a central queue: the next job goes to the first PE that frees a slot.

A PE whose queue is empty is in the state of what its next delivery waits for; the
`DispatchStatus` board records that for every starving PE whenever the dispatcher's stage
changes, naming the PE whose full queue holds a broadcast back.
"""

from __future__ import annotations

import heapq
from collections import deque
from typing import TYPE_CHECKING

import simpy
from attrs import frozen
from simpy.events import Event, Timeout

from accelsim.hw.buffer import BlockBuffer
from accelsim.hw.clock import Clock
from accelsim.hw.noc import Interconnect
from accelsim.trace import State, StateTrace, state_key
from accelsim.workload.jobs import Job, LayerJobs

if TYPE_CHECKING:
    from accelsim.hw.pe import PE

WAIT_INPUTS, WAIT_NOC = State.WAIT_INPUTS, State.WAIT_NOC


@frozen
class Group:
    """One delivery: jobs that share an input block, with their PEs (-1: chosen at run time)."""

    input_block: int
    members: tuple[tuple[int, Job], ...]


def static_groups(queues: tuple[tuple[int, ...], ...], layer: LayerJobs) -> list[Group]:
    """Merge the PEs' queues into broadcasts: repeatedly take the lowest input block any PE
    needs next and send it to every PE whose next job reads it (one job each)."""
    jobs = layer.jobs
    heads = [(jobs[q[0]].input_block, pe) for pe, q in enumerate(queues) if q]
    heapq.heapify(heads)
    position = [0] * len(queues)
    groups = []
    while heads:
        block = heads[0][0]
        members = []
        while heads and heads[0][0] == block:
            _, pe = heapq.heappop(heads)
            members.append((pe, jobs[queues[pe][position[pe]]]))
        for pe, _job in members:
            position[pe] += 1
            if position[pe] < len(queues[pe]):
                heapq.heappush(heads, (jobs[queues[pe][position[pe]]].input_block, pe))
        groups.append(Group(block, tuple(members)))
    return groups


def dynamic_groups(order, layer: LayerJobs) -> list[Group]:
    return [Group(layer.jobs[j].input_block, ((-1, layer.jobs[j]),)) for j in order]


def interleaved(queues: tuple[tuple[int, ...], ...]) -> list[int]:
    """The jobs of several queues, round by round: the order stealing is expected to follow."""
    depth = max((len(q) for q in queues), default=0)
    return [q[i] for i in range(depth) for q in queues if i < len(q)]


class StealingQueues:
    """Work stealing between PE queues: a PE that frees a slot takes its own next job, or else
    the last job of the PE with the most jobs left (ties: lowest index). It sees job counts,
    never durations: what the hardware can know."""

    def __init__(self, queues: tuple[tuple[int, ...], ...], layer: LayerJobs):
        self._pending = [deque(layer.jobs[j] for j in q) for q in queues]

    def next_for(self, pe: int) -> Job:
        if self._pending[pe]:
            return self._pending[pe].popleft()
        victim = max(range(len(self._pending)), key=lambda p: (len(self._pending[p]), -p))
        return self._pending[victim].pop()


class DispatchStatus:
    """Shared by the dispatcher and the PEs: what the next delivery waits for, who starves,
    which PEs have room, and how many jobs each PE still expects."""

    # a starving PE fed when nothing else is due starts in `settle`, without an event (a
    # test turns this off to show that it changes nothing but the event count)
    start_in_settle = True

    def __init__(self, env: Clock, n_pes: int, expected: list[int] | None,
                 n_jobs: int, trace: StateTrace, depth: int):
        self.env = env
        self.stage: tuple[State, int] = (State.WAIT_INPUTS, -1)
        self._stage_key = state_key(*self.stage)
        self._current = trace.current_keys
        self._t_appends, self._key_appends = (
            list(columns) for columns in zip(*(trace.appends(p) for p in range(n_pes))))
        self._starving: dict[int, None] = {}
        self._expected = expected  # static: jobs still to deliver per PE; dynamic: None
        self._undispatched = n_jobs
        self.position = -1
        self._position_waiters: list[tuple[int, simpy.Event]] = []
        dynamic = expected is None
        self.free_slots: deque[int] | None = (
            # no more slots per PE than the layer has jobs: a deeper queue is never used
            deque(p for _ in range(min(depth, n_jobs)) for p in range(n_pes))
            if dynamic else None)
        self._room_waiter: tuple[int, simpy.Event] | None = None
        self.pes: list[PE] = []
        self._arrived: list[PE] = []   # fed during this dispatcher step; start when it ends

    def delivered(self, pe: PE) -> None:
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
            queue = env._queue          # env.peek(), written out: this runs per job
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
        key = self._stage_key      # trace.enter(pe, *self.stage, now), written out: per job
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
        key = self._stage_key = state_key(state, held_by)
        now, current = self.env._now, self._current
        t_appends, key_appends = self._t_appends, self._key_appends
        for pe in self._starving:       # trace.enter, written out: this runs per broadcast
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


class Dispatcher:
    def __init__(self, env: simpy.Environment, groups: list[Group], dynamic: bool,
                 status: DispatchStatus, pes: list, weights: BlockBuffer, inputs: BlockBuffer,
                 noc: Interconnect, layer: LayerJobs, stealing: StealingQueues | None = None):
        """`groups` are the deliveries in order; with `stealing` they are only the predicted
        order, and each delivery's job is chosen when a PE frees a slot."""
        self.env = env
        self.groups = groups
        self._dynamic = dynamic
        self._stealing = stealing
        self._status = status
        self._pes = pes
        self._weights = weights
        self._inputs = inputs
        self._noc = noc
        self._input_bytes = layer.input_bytes.tolist()   # Python ints: read per delivery
        self._weight_bytes = layer.weight_bytes.tolist()
        self.input_reads = 0
        self.weight_reads = 0

    def run(self):
        env, status, pes, noc = self.env, self._status, self._pes, self._noc
        stealing, weights, inputs = self._stealing, self._weights, self._inputs
        operands = ((weights, State.WAIT_WEIGHTS), (inputs, State.WAIT_INPUTS))
        input_bytes, weight_bytes = self._input_bytes, self._weight_bytes
        for pos, group in enumerate(self.groups):
            status.reach(pos)
            if stealing is not None:
                while not status.free_slots:
                    status.set_stage(WAIT_INPUTS)
                    yield self._wait(status.wait_room(-1))
                pe = status.free_slots.popleft()
                job = stealing.next_for(pe)
                group = Group(job.input_block, ((pe, job),))
                weights.append([job.weight_block])
                inputs.append([job.input_block])
            for buffer, state in operands:      # every operand block loaded, in order
                if buffer.issued <= pos:
                    status.set_stage(state)
                    yield self._wait(buffer.wait_issued(pos))
                ready = buffer.ready
                for b in buffer.blocks_at(pos):
                    if ready[b].callbacks is not None:     # not yet processed
                        status.set_stage(state)
                        yield self._wait(ready[b])
            if stealing is not None:
                members = group.members
            elif self._dynamic:
                while not status.free_slots:
                    status.set_stage(WAIT_INPUTS)
                    yield self._wait(status.wait_room(-1))
                members = ((status.free_slots.popleft(), group.members[0][1]),)
            else:
                members = group.members
                for pe, _job in members:
                    while len(pes[pe].queue) >= pes[pe].depth:       # no room
                        status.set_stage(WAIT_INPUTS, pe)
                        yield self._wait(status.wait_room(pe))
            in_bytes = input_bytes[group.input_block]
            w_bytes = 0
            for pe, job in members:
                if pes[pe].last_weight_block != job.weight_block:
                    w_bytes += weight_bytes[job.weight_block]
            self.input_reads += in_bytes * (1 if noc.multicast else len(members))
            self.weight_reads += w_bytes
            cycles = noc.delivery_cycles(in_bytes, len(members), w_bytes)
            if cycles:
                status.set_stage(WAIT_NOC)
                yield self._wait(Timeout(env, cycles))
            for pe, job in members:
                pes[pe].deliver(job)
        status.reach(len(self.groups))
        status.finish()
        status.settle()

    def _wait(self, event: simpy.Event) -> simpy.Event:
        """The event to yield, once the PEs fed during this step have started."""
        self._status.settle()
        return event

    def describe(self) -> str:
        state, held = self._status.stage
        where = f"delivery {self._status.position + 1} of {len(self.groups)}"
        if held >= 0:
            return f"dispatcher waits at {where} for room in PE {held}'s input queue"
        return f"dispatcher waits at {where} ({state.label})"
