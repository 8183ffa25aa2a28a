"""Processing elements."""

from __future__ import annotations

from collections import deque
from heapq import heappush

import simpy
from simpy.events import NORMAL

from accelsim.engine.hw.buffer import BlockBuffer, OutputBuffer
from accelsim.engine.hw.clock import Clock
from accelsim.engine.hw.status import DispatchStatus, LayerProgress
from accelsim.trace import State, StateTrace, state_key
from accelsim.workload.jobs import RunJob

# enum members looked up once: a class attribute lookup on an Enum costs more than the
# trace record it names, and these run per job
BUSY, WAIT_OUTPUT, IDLE = State.BUSY, State.WAIT_OUTPUT, State.IDLE
BUSY_KEY = state_key(BUSY, -1)  # as StateTrace records it


class PE:
    """A zero-skipping PE with an input queue of `depth` delivered jobs.

    A queue slot is held from delivery until the job finishes, so with depth 1 the PEs that
    share a broadcast advance in lock-step; deeper queues decouple them. The PE computes a job
    only when its operands were delivered and its output block has space.

    Jobs advance in callbacks of what they wait for (output space, the job's end, a delivery
    to a starving PE) rather than by resuming a process: processed in the same order,
    without a process switch per job. A delivery to a starving PE needs no
    event when nothing else is due that cycle (DispatchStatus.delivered). The dispatcher
    delivers a job itself: it appends it to `queue`, sets `last_weight_block` and tells
    the board (a call less per job than a `deliver` method).
    """

    # slots: attribute reads in `serve` run twice per job
    __slots__ = (
        "env",
        "index",
        "depth",
        "queue",
        "last_weight_block",
        "executed_macs",
        "_status",
        "_weights",
        "_inputs",
        "_outputs",
        "_enter",
        "_current",
        "_t_append",
        "_key_append",
        "_trace",
        "_progress",
        "_running",
    )

    def __init__(self, env: Clock, index: int, depth: int, trace: StateTrace):
        """A PE of a run; `for_layer` connects it to each layer's boards and buffers. One
        PE serves every layer of a run: building PEs per layer made 21,504 PEs (and as many
        queues) for ResNet-18 at 1,024 PEs, which the garbage collector then scanned."""
        self.env = env
        self.index = index
        self.depth = depth
        self.queue: deque[RunJob] = deque()
        self._enter = trace.enter
        self._current = trace.current_keys
        self._t_append, self._key_append = trace.t_appends[index], trace.key_appends[index]
        self._trace = trace

    def for_layer(
        self,
        status: DispatchStatus,
        weights: BlockBuffer,
        inputs: BlockBuffer,
        outputs: OutputBuffer,
        progress: LayerProgress,
    ) -> None:
        """Connect to a layer's dispatch board, buffers and progress, with nothing queued
        or run yet (a layer ends only when every job has run, so the queue is empty)."""
        assert not self.queue
        self.last_weight_block = -1
        self.executed_macs = 0
        self._status = status
        self._weights = weights
        self._inputs = inputs
        self._outputs = outputs
        self._progress = progress
        self._running: RunJob | None = None  # the job whose end is due

    def wake(self) -> None:
        """Resume this starving PE: no more jobs will come."""
        self.env.call_in(0, self.serve)

    def start(self) -> None:
        """Start serving the layer's jobs: `Clock.start_now(pe.start)`, in PE order after the
        loader's and the dispatcher's processes, takes the place a process of the PE would
        take. Nobody waits for a PE's end (the layer ends on LayerProgress.done), so a
        process (its Initialize, its end and its termination: three events a PE a layer,
        21,504 layer-PEs on ResNet-18 at 1,024 PEs) would add nothing but cost."""
        self.serve()

    def serve(self) -> None:
        """Finish the running job if its time is up, then start the next queued one (running
        through jobs that take no time), or starve, or go idle for good. Called when the PE
        starts, when a job's end comes, and after an arrival. This runs twice per job, so
        `trace.enter(i, BUSY, now)` and the layer's job count are written out in place."""
        queue, i, env = self.queue, self.index, self.env
        job = self._running
        if job is not None:
            self._running = None
        while True:
            if job is not None:
                _cycles, macs, weight_block, input_block, output_block = job
                self.executed_macs += macs
                self._weights.release(weight_block)
                self._inputs.release(input_block)
                self._outputs.contribute(output_block)
                queue.popleft()
                progress = self._progress
                progress.jobs_left -= 1
                if not progress.jobs_left:
                    progress.check()
                self._status.slot_freed(i)
            if not queue:
                break
            job = queue[0]
            space = self._outputs.reserve(job.output_block, i)
            if space is not None:
                self._enter(i, WAIT_OUTPUT, env._now)
                space.callbacks.append(self._compute)
                return
            if self._current[i] != BUSY_KEY:
                self._current[i] = BUSY_KEY
                self._t_append(env._now)
                self._key_append(BUSY_KEY)
            cycles = job.cycles
            if cycles:
                self._running = job
                # env.call_in(cycles, self.serve), written out: this runs per job
                heappush(env._queue, (env._now + cycles, NORMAL, next(env._eid), self.serve))
                return
        if self._status.starve(i):  # resumed by a delivery or by `wake`
            return
        self._enter(i, IDLE, env._now)

    def _compute(self, _event: simpy.Event) -> None:
        """Output space granted: compute the job at the head of the queue."""
        job = self._running = self.queue[0]
        self._enter(self.index, BUSY, self.env._now)
        if job.cycles:
            self.env.call_in(job.cycles, self.serve)
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
