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
        self._arrival: simpy.Event | None = None

    def has_room(self) -> bool:
        return len(self.queue) < self.depth

    def deliver(self, job: Job) -> None:
        self.queue.append(job)
        self.last_weight_block = job.weight_block
        self._status.fed(self.index)
        self.wake()

    def wake(self) -> None:
        """Resume a starving PE: a job arrived, or no more jobs will come."""
        arrival = self._arrival
        if arrival is not None:
            self._arrival = None
            arrival.succeed()

    def run(self):
        """Serve delivered jobs until the dispatcher has nothing more for this PE."""
        env, i, queue, status, enter = self.env, self.index, self.queue, self._status, self._enter
        weights, inputs, outputs = self._weights, self._inputs, self._outputs
        progress = self._progress
        while True:
            if not queue:
                if not status.has_more(i):
                    enter(i, IDLE, env.now)
                    return
                status.starve(i)
                self._arrival = Event(env)     # deliver() or wake() fires it
                yield self._arrival
                continue
            job = queue[0]
            space = outputs.reserve(job.output_block, i)
            if space is not None:
                enter(i, WAIT_OUTPUT, env.now)
                yield space
            enter(i, BUSY, env.now)
            if job.cycles:
                yield Timeout(env, job.cycles)
            self.executed_macs += job.macs
            weights.release(job.weight_block)
            inputs.release(job.input_block)
            outputs.contribute(job.output_block)
            queue.popleft()
            progress.job_done()
            status.slot_freed(i)

    def describe(self) -> str | None:
        state = self._trace.current(self.index)
        if state is None or state[0] in (State.BUSY, State.IDLE):
            return None
        text = f"PE {self.index} is in {State(state[0]).label}"
        if state[1] >= 0:
            text += f" (held by PE {state[1]})"
        return text + f" with {len(self.queue)} queued jobs"
