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
from typing import NamedTuple

import simpy
from simpy.events import Timeout

from accelsim.engine.hw.buffer import BlockBuffer
from accelsim.engine.hw.noc import Interconnect
from accelsim.engine.hw.status import DispatchStatus
from accelsim.trace import State
from accelsim.workload.jobs import LayerJobs, RunJob

WAIT_INPUTS, WAIT_NOC = State.WAIT_INPUTS, State.WAIT_NOC


class Group(NamedTuple):
    """One delivery: jobs that share an input block, with their PEs (-1: chosen at run time).
    A tuple: one is built per broadcast of every layer SimPy runs."""

    input_block: int
    members: tuple[tuple[int, RunJob], ...]


def static_groups(queues: tuple[tuple[int, ...], ...], layer: LayerJobs) -> list[Group]:
    """Merge the PEs' queues into broadcasts: repeatedly take the lowest input block any PE
    needs next and send it to every PE whose next job reads it (one job each)."""
    jobs = layer.run_jobs()
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


def dynamic_groups(order, layer: LayerJobs, jobs=None) -> list[Group]:
    """A dynamic plan's deliveries, one job each, of `jobs` (by default `layer.run_jobs()`)."""
    jobs = layer.run_jobs() if jobs is None else jobs
    return [Group(jobs[j].input_block, ((-1, jobs[j]),)) for j in order]


def interleaved(queues: tuple[tuple[int, ...], ...]) -> list[int]:
    """The jobs of several queues, round by round: the order stealing is expected to follow."""
    depth = max((len(q) for q in queues), default=0)
    return [q[i] for i in range(depth) for q in queues if i < len(q)]


class StealingQueues:
    """Work stealing between PE queues: a PE that frees a slot takes its own next job, or else
    the last job of the PE with the most jobs left (ties: lowest index). It sees job counts,
    never durations: what the hardware can know."""

    def __init__(self, queues: tuple[tuple[int, ...], ...], layer: LayerJobs, jobs=None):
        jobs = layer.run_jobs() if jobs is None else jobs
        self._pending = [deque(jobs[j] for j in q) for q in queues]

    def next_for(self, pe: int) -> RunJob:
        if self._pending[pe]:
            return self._pending[pe].popleft()
        victim = max(range(len(self._pending)), key=lambda p: (len(self._pending[p]), -p))
        return self._pending[victim].pop()


class Dispatcher:
    def __init__(
        self,
        env: simpy.Environment,
        groups: list[Group],
        dynamic: bool,
        status: DispatchStatus,
        pes: list,
        weights: BlockBuffer,
        inputs: BlockBuffer,
        noc: Interconnect,
        layer: LayerJobs,
        stealing: StealingQueues | None = None,
    ):
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
        self._input_bytes = layer.input_bytes.tolist()  # Python ints: read per delivery
        self._weight_bytes = layer.weight_bytes.tolist()
        self.input_reads = 0
        self.weight_reads = 0

    def run(self):
        env, status, pes, noc = self.env, self._status, self._pes, self._noc
        stealing, weights, inputs = self._stealing, self._weights, self._inputs
        operands = ((weights, State.WAIT_WEIGHTS), (inputs, State.WAIT_INPUTS))
        input_bytes, weight_bytes = self._input_bytes, self._weight_bytes
        delivered = status.delivered
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
            for buffer, state in operands:  # every operand block loaded, in order
                if buffer.issued <= pos:
                    status.set_stage(state)
                    yield self._wait(buffer.wait_issued(pos))
                ready = buffer.ready
                for b in buffer.sequence[pos]:  # buffer.blocks_at(pos), per delivery
                    if ready[b].callbacks is not None:  # not yet processed
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
                    while len(pes[pe].queue) >= pes[pe].depth:  # no room
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
            for pe, job in members:  # a PE's delivery, written out: this runs per job
                p = pes[pe]
                p.queue.append(job)
                p.last_weight_block = job.weight_block
                delivered(p)
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
