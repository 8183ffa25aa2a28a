"""On-chip buffers.

`BlockBuffer` holds weight or input blocks. The loader (`load_in_order`, one process for both
buffers) walks the dispatch sequence and loads each block a delivery needs, weights then
inputs, reserving space from the moment the load begins. A block
is pinned while any issued delivery still needs it; unpinned blocks that will be used again
stay resident until the eviction plan (`accelsim.engine.hw.eviction`: furthest next use first, decided
before the layer from the fetch order) names them as the victims of a later load, and are
loaded again later: that is refetch traffic. A load waits for its victims' pins to drop, so
prefetch issues the same loads as no prefetch, only earlier. A buffer never holds more than
its capacity.

`OutputBuffer` holds output tiles (partial sums when input channels are split) from the first
job that writes one until its write-back to DRAM completes.
"""

from __future__ import annotations

from array import array
from collections import deque
from collections.abc import Callable
from itertools import accumulate

import numpy as np
import simpy
from simpy.events import Event

from accelsim.engine.hw.clock import Clock
from accelsim.engine.hw.dram import DramPort
from accelsim.engine.hw.eviction import eviction_plan, next_uses
from accelsim.trace import Cause, LevelTrace, Operand

COMPULSORY, OUTPUTS = Cause.COMPULSORY, Operand.OUTPUTS
CAUSES = list(Cause)  # by value: Cause(c) costs a microsecond a block


def _kib(n: float) -> str:
    """A byte count for people: 3 B, 12.5 KiB, 1.2 MiB."""
    if n < 10 * 1024 or n == float("inf"):
        return f"{n:g} B"
    if n < 10 * 1024 * 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n / 1024 / 1024:.1f} MiB"


class BlockBuffer:
    def __init__(
        self,
        env: Clock,
        name: str,
        buffer_id: int,
        operand: Operand,
        capacity_bytes: float,
        block_bytes: np.ndarray,
        unique_bytes: np.ndarray,
        extra_cause: np.ndarray,
        fetch_sequence: list[list[int]],
        prefetch: bool,
        position: Callable[[], int],
        wait_position: Callable[[int], simpy.Event],
        dram: DramPort,
        levels: LevelTrace,
        predicted: list[list[int]] | None = None,
        in_flight: int = 1,
    ):
        """`fetch_sequence` lists the blocks of each delivery in order; loads evict the
        victims `eviction_plan` gives them. When deliveries are decided at run time (work
        stealing) it starts empty and grows by `append`; `predicted` (same length as the
        final sequence) then stands in for the future, and a load that needs space evicts,
        when it is issued, the unpinned block whose predicted next use is furthest ahead.
        `in_flight`: how many deliveries the PEs' queues hold (see `eviction_plan`)."""
        self.env = env
        self.name = name
        self._id = buffer_id
        self._operand = operand
        self.capacity = capacity_bytes
        self._bytes = np.asarray(block_bytes, dtype=np.int64).tolist()
        self._unique = np.asarray(unique_bytes, dtype=np.int64).tolist()
        self._extra = [CAUSES[c] for c in np.asarray(extra_cause, dtype=np.int64).tolist()]
        self.sequence = fetch_sequence
        self._prefetch = prefetch
        self._position = position
        self._wait_position = wait_position
        self._dram = dram
        self._record_level = levels.record
        n = len(self._bytes)
        plan = fetch_sequence if predicted is None else predicted
        self._total = len(plan)
        self._appended: simpy.Event | None = None
        # the positions that use each block, in order, flat: block b's uses not yet issued
        # are _uses[_next[b]:_stop[b]]
        uses, self._next, self._stop = next_uses(plan, n)
        self._uses = array("q", uses)
        # the victims of each load, by flat index (static sequences); None: chosen at run time
        self._victims = (
            None
            if predicted is not None
            else eviction_plan(fetch_sequence, self._bytes, capacity_bytes, in_flight)
        )
        self._first = list(accumulate(map(len, plan), initial=0))  # flat index of each position
        self._resident = bytearray(n)
        self._loaded_once = bytearray(n)
        self._pins = [0] * n
        self._evictable: dict[int, None] = {}
        self.ready: list[simpy.Event | None] = [None] * n
        self.used = 0
        self.peak = 0
        self.issued = 0  # positions whose loads have all been issued
        self._issue_waiter: tuple[int, simpy.Event] | None = None
        self._space: simpy.Event | None = None
        self._waiting_for = -1

    # -- the fill process ---------------------------------------------------------------------
    @property
    def positions(self) -> int:
        return self._total

    def fill_position(self, pos: int):
        """Issue the loads of dispatch position `pos` in order, as space allows: a generator
        that waits for the position to be decided (dynamic plans), for the dispatcher to
        reach it (without prefetch), and for space."""
        env, sequence, resident, pins = self.env, self.sequence, self._resident, self._pins
        while pos >= len(sequence):
            self._appended = Event(env)
            yield self._appended
        blocks = sequence[pos]
        if not self._prefetch and self._position() < pos:
            yield self._wait_position(pos)
        victims, flat = self._victims, self._first[pos]
        for i, b in enumerate(blocks):
            self._next[b] += 1
            if resident[b]:
                if pins[b] == 0 and victims is None:
                    del self._evictable[b]
                pins[b] += 1
                continue
            if victims is not None:
                for v in victims.get(flat + i, ()):
                    while pins[v]:  # an earlier delivery still uses it
                        yield from self._wait_space(b)
                    self._free(v)
            need = self._bytes[b]
            while self.capacity - self.used < need:
                if self._evictable:
                    self._evict_one()
                    continue
                yield from self._wait_space(b)
            self._load(b)
        self.issued = pos + 1
        waiter = self._issue_waiter
        if waiter is not None and waiter[0] < self.issued:
            self._issue_waiter = None
            waiter[1].succeed()

    def _wait_space(self, b: int):
        """Wait, on behalf of block b, until a job releases a block."""
        self._waiting_for = b
        self._space = Event(self.env)
        yield self._space
        self._space = None
        self._waiting_for = -1

    def _load(self, b: int) -> None:
        size = self._bytes[b]
        self.used += size
        if self.used > self.peak:
            self.peak = self.used
        self._record_level(self._id, self.env._now, self.used)
        self._resident[b] = True
        self._pins[b] = 1
        if self._loaded_once[b]:
            self.ready[b] = self._dram.transfer(self._operand, size, Cause.REFETCH)
        else:
            self._loaded_once[b] = True
            unique = self._unique[b]
            self.ready[b] = self._dram.transfer(
                self._operand, unique, COMPULSORY, size - unique, self._extra[b]
            )

    def _evict_one(self) -> None:
        uses, nxt = self._uses, self._next
        victim = max(self._evictable, key=lambda b: uses[nxt[b]])
        del self._evictable[victim]
        self._free(victim)

    def _free(self, b: int) -> None:
        self._resident[b] = False
        self.ready[b] = None
        self.used -= self._bytes[b]
        self._record_level(self._id, self.env._now, self.used)

    # -- used by the dispatcher and the PEs ----------------------------------------------------
    def wait_issued(self, pos: int) -> simpy.Event:
        """An event that fires once every load of dispatch position `pos` has been issued."""
        ev = Event(self.env)
        self._issue_waiter = (pos, ev)
        return ev

    def append(self, blocks: list[int]) -> None:
        """The blocks of the next delivery, decided at run time."""
        self.sequence.append(blocks)
        if self._appended is not None and not self._appended.triggered:
            self._appended.succeed()

    def blocks_at(self, pos: int) -> list[int]:
        return self.sequence[pos]

    def release(self, b: int) -> None:
        """A job that used block b has finished."""
        pins = self._pins
        pins[b] -= 1
        if pins[b]:
            return
        if self._next[b] < self._stop[b]:  # used again later: keep it until evicted
            if self._victims is None:
                self._evictable[b] = None
        else:
            self._free(b)
        space = self._space
        if space is not None and not space.triggered:
            space.succeed()

    def describe(self) -> str | None:
        if self._waiting_for < 0:
            return None
        pinned = sum(1 for p in self._pins if p)
        return (
            f"{self.name} buffer loader waits for {_kib(self._bytes[self._waiting_for])} for "
            f"block {self._waiting_for}; it holds {_kib(self.used)} of {_kib(self.capacity)} "
            f"in {pinned} blocks pinned by deliveries not yet finished"
        )


def load_in_order(weights: BlockBuffer, inputs: BlockBuffer):
    """The loader process, one for both buffers: it walks the dispatch positions in order and
    issues each position's weight blocks, then its input block, so loads cross the DRAM
    port in the order they are first needed, whichever buffer they go to (with a loader
    per buffer, a weight buffer large enough to take a whole layer put all its weights on
    the port ahead of the first input tile, and a larger buffer made the layer slower)."""
    for pos in range(weights.positions):
        yield from weights.fill_position(pos)
        yield from inputs.fill_position(pos)


class OutputBuffer:
    """Output tiles from the first job that writes one until its write-back completes.

    With `spill`, when a job needs space and the buffer is full of tiles still waiting for
    partial sums from later channel chunks, the oldest such tile that no PE is computing into
    is written to DRAM and read back when its next chunk starts (cause SPILL); without it,
    such a configuration can deadlock, and the run ends with a DeadlockError.
    """

    def __init__(
        self,
        env: Clock,
        buffer_id: int,
        capacity_bytes: float,
        block_bytes: np.ndarray,
        write_bytes: np.ndarray,
        uses: np.ndarray,
        dram: DramPort,
        levels: LevelTrace,
        on_written: Callable[[], None],
        spill: bool = True,
    ):
        self.env = env
        self._id = buffer_id
        self.capacity = capacity_bytes
        self._bytes = np.asarray(block_bytes, dtype=np.int64).tolist()
        self._write = np.asarray(write_bytes, dtype=np.int64).tolist()
        self._left = np.asarray(uses, dtype=np.int64).tolist()
        self._dram = dram
        self._record_level = levels.record
        # LevelTrace.record written out per job (_take, _written): no layer extends the
        # levels while this one runs
        self._level_appends = levels.appends
        self._on_written = on_written
        self._spill_allowed = spill
        n = len(self._bytes)
        self._resident = bytearray(n)
        self._active = [0] * n  # jobs computing into the block now
        self._spilled = bytearray(n)
        self._open: dict[int, None] = {}  # resident blocks still expecting chunks, oldest first
        self._waiters: deque[tuple[int, int, simpy.Event]] = deque()
        self._spilling = 0  # bytes being written out, freed when the write ends
        # blocks being written back: the port serves write-backs in order
        self._writing: deque[int] = deque()
        self.used = 0
        self.peak = 0
        self.pending_writebacks = 0
        self.psum_bytes = 0  # partial sums read back for accumulation
        self.write_bytes = 0  # results written by PEs

    def reserve(self, b: int, pe: int) -> simpy.Event | None:
        """Space for output block b before a job computes into it; None if it is there."""
        if self._resident[b]:
            self._active[b] += 1
            return None
        if (
            not self._waiters
            and not self._spilled[b]
            and self.capacity - self.used >= self._bytes[b]
        ):
            self._take(b)
            return None
        ev = Event(self.env)
        self._waiters.append((b, pe, ev))
        self._dram.drain()
        self._serve()
        return ev

    def _take(self, b: int) -> None:
        self._resident[b] = True
        self._active[b] = 1
        if self._left[b]:
            self._open[b] = None
        used = self.used = self.used + self._bytes[b]
        if used > self.peak:
            self.peak = used
        a_buffer, a_t, a_level = self._level_appends  # self._record_level, written out
        a_buffer(self._id)
        a_t(self.env._now)
        a_level(used)

    def _serve(self) -> None:
        """Grant waiting reservations in order, spilling idle open blocks to make room."""
        while self._waiters:
            b, _pe, ev = self._waiters[0]
            if self._resident[b]:
                self._waiters.popleft()
                self._active[b] += 1
                ev.succeed()
                continue
            need = self._bytes[b]
            if self.capacity - self.used >= need:
                self._waiters.popleft()
                self._take(b)
                if self._spilled[b]:
                    self._spilled[b] = False
                    back = self._dram.transfer(OUTPUTS, need, Cause.SPILL)

                    def granted(_e: Event, ev: Event = ev) -> None:
                        ev.succeed()

                    back.callbacks.append(granted)
                else:
                    ev.succeed()
                continue
            while self._spill_allowed and self.capacity - self.used + self._spilling < need:
                victim = next((v for v in self._open if self._active[v] == 0), None)
                if victim is None:
                    break
                self._spill(victim)
            return
        self._dram.draining = False  # nobody waits for space

    def _spill(self, b: int) -> None:
        del self._open[b]
        self._resident[b] = False
        self._spilled[b] = True
        self._spilling += self._bytes[b]
        self._dram.spill(lambda: self._spilled_out(b), self._bytes[b])

    def _spilled_out(self, b: int) -> None:
        self._spilling -= self._bytes[b]
        self.used -= self._bytes[b]
        self._record_level(self._id, self.env._now, self.used)
        self._serve()

    def contribute(self, b: int) -> None:
        """A job finished writing (or accumulating into) block b; the last one writes it back."""
        size = self._bytes[b]
        self.write_bytes += size
        self._active[b] -= 1
        left = self._left[b] - 1
        self._left[b] = left
        if left:
            self.psum_bytes += size
            if self._waiters:
                self._serve()  # an idle open block may now be spilled
            return
        del self._open[b]
        self.pending_writebacks += 1
        self._writing.append(b)
        self._dram.write_back(self._written, self._write[b])

    def _written(self) -> None:
        b = self._writing.popleft()
        self._resident[b] = False
        used = self.used = self.used - self._bytes[b]
        a_buffer, a_t, a_level = self._level_appends  # self._record_level, written out
        a_buffer(self._id)
        a_t(self.env._now)
        a_level(used)
        self.pending_writebacks -= 1
        if self._waiters:
            self._serve()
        if not self.pending_writebacks:  # else the layer cannot end yet
            self._on_written()

    def describe(self) -> str | None:
        if not self._waiters:
            return None
        b, pe, _ = self._waiters[0]
        return (
            f"PE {pe} waits for {_kib(self._bytes[b])} of output buffer for block {b}; it "
            f"holds {_kib(self.used)} of {_kib(self.capacity)}, {len(self._open)} blocks "
            f"still waiting for partial sums from jobs not yet run"
            + ("" if self._spill_allowed else " (hardware.psum_spill = false)")
        )
