"""Processing elements."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

import simpy
from simpy.events import Event, Timeout

from accelsim.hw.buffer import BlockBuffer, OutputBuffer
from accelsim.trace import State, StateTrace
from accelsim.workload.jobs import Job

if TYPE_CHECKING:
    from accelsim.assemble import LayerProgress
    from accelsim.hw.dispatch import DispatchStatus

# enum members looked up once: a class attribute lookup on an Enum costs more than the
# trace record it names, and these run per job
BUSY, WAIT_OUTPUT, IDLE = State.BUSY, State.WAIT_OUTPUT, State.IDLE


class PE:
    """A zero-skipping PE with an input queue of `depth` delivered jobs.

    A queue slot is held from delivery until the job finishes, so with depth 1 the PEs that
    share a broadcast advance in lock-step; deeper queues decouple them. The PE computes a job
    only when its operands were delivered and its output block has space.

    Jobs advance in callbacks of the events they wait for (output space, the job's timeout, a
    delivery to a starving PE) rather than by resuming a process: the same events, processed
    in the same order, without a process switch per job. A delivery to a starving PE needs no
    event when nothing else is due that cycle (DispatchStatus.arrive).
    """

    def __init__(self, env: simpy.Environment, index: int, depth: int, status: "DispatchStatus",
                 weights: BlockBuffer, inputs: BlockBuffer, outputs: OutputBuffer,
                 trace: StateTrace, progress: "LayerProgress"):
        self.env = env
        self.index = index
        self.depth = depth
        self.queue: deque[Job] = deque()
        self.last_weight_block = -1
        self.executed_macs = 0
        self._status = status
        self._weights = weights
        self._inputs = inputs
        self._outputs = outputs
        self._enter = trace.enter
        self._trace = trace
        self._progress = progress
        self._running: Job | None = None   # the job whose timeout is pending
        self._starving = False   # waits for a delivery (or for word that none will come)
        self._done: simpy.Event | None = None

    def has_room(self) -> bool:
        return len(self.queue) < self.depth

    def deliver(self, job: Job) -> None:
        self.queue.append(job)
        self.last_weight_block = job.weight_block
        self._status.delivered(self.index)
        if self._starving:
            self._starving = False
            self._status.arrive(self)

    def wake(self) -> None:
        """Resume a starving PE: no more jobs will come."""
        if self._starving:
            self._starving = False
            ev = Event(self.env)
            ev.callbacks.append(self.serve)
            ev.succeed()

    def run(self):
        """The PE's process: serve delivered jobs until the dispatcher has nothing more for
        this PE. assemble starts it in PE order, after the loader and the dispatcher."""
        self._done = Event(self.env)
        self.serve()
        yield self._done

    def serve(self, _event: simpy.Event | None = None) -> None:
        """Finish the running job if its time is up, then start the next queued one (running
        through jobs that take no time), or starve, or go idle for good. Called when the PE
        starts, when a job's timeout fires, and after an arrival."""
        queue, i, env = self.queue, self.index, self.env
        job = self._running
        self._running = None
        while True:
            if job is not None:
                self.executed_macs += job.macs
                self._weights.release(job.weight_block)
                self._inputs.release(job.input_block)
                self._outputs.contribute(job.output_block)
                queue.popleft()
                self._progress.job_done()
                self._status.slot_freed(i)
            if not queue:
                break
            job = queue[0]
            space = self._outputs.reserve(job.output_block, i)
            if space is not None:
                self._enter(i, WAIT_OUTPUT, env.now)
                space.callbacks.append(self._compute)
                return
            self._enter(i, BUSY, env.now)
            if job.cycles:
                self._running = job
                Timeout(env, job.cycles).callbacks.append(self.serve)
                return
        if self._status.starve(i):
            self._starving = True
            return
        self._enter(i, IDLE, env.now)
        self._done.succeed()

    def _compute(self, _event: simpy.Event) -> None:
        """Output space granted: compute the job at the head of the queue."""
        job = self._running = self.queue[0]
        self._enter(self.index, BUSY, self.env.now)
        if job.cycles:
            Timeout(self.env, job.cycles).callbacks.append(self.serve)
        else:
            self.serve()

    def describe(self) -> str | None:
        state = self._trace.current(self.index)
        if state is None or state[0] in (State.BUSY, State.IDLE):
            return None
        text = f"PE {self.index} is in {State(state[0]).label}"
        if state[1] >= 0:
            text += f" (held by PE {state[1]})"
        return text + f" with {len(self.queue)} queued jobs"
