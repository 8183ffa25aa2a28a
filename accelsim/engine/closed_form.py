"""The closed-form engine: a layer computed without SimPy, exact where timing cannot interleave.

When a layer's plan is static and its buffers can never push back (the weight and input
buffers hold every block of the layer at once, and the output tiles never overflow: see
`not_exact_because` and `overflows`), nothing in the SimPy model depends on the order in
which same-time events are processed: every load is issued when the layer starts (weights
first, then inputs, in dispatch order, back to back on the DRAM port), no PE ever waits
for output space, and what remains is a recurrence over the broadcasts in dispatch order:

    t = when the previous broadcast was delivered
    t = max(t, weights ready)            the dispatcher waits: wait_weights
    t = max(t, input ready)              wait_inputs
    t = max(t, F[p][k - depth]) per PE   a full input queue holds it back: wait_inputs, held_by p
    t = t + NoC cycles                   wait_noc
    every member p starts its job at max(t, F[p][k - 1]) and finishes `cycles` later.

A PE with an empty queue is in the state of whatever the dispatcher waits on, so its idle
gaps are read off the dispatcher's stage timeline with `searchsorted`. With queues that
never fill, deliveries and job starts are max-plus scans; otherwise one loop over the
broadcasts' members (`_lock_step`). Output tiles are
written back when their last contribution finishes, in the port's cycles that no load uses
(all of them after the loads here); the layer ends when the last write-back has crossed the
port. Same-time write-backs may cross the port, and blocks released in one cycle may
leave, in another order than under SimPy: per-transfer rows and a buffer's level within a
cycle can differ, never the bytes, a buffer's level at the end of a cycle, the layer's
end, or any PE's state (the tests check the two engines agree on all of those).

Without prefetch (`double_buffered = false`) a load is issued when the dispatcher reaches
its broadcast, so its timing interleaves with the jobs' ends: the closed form then applies
only if the DRAM port is instantaneous (infinite bandwidth, zero latency).
"""

from __future__ import annotations

import math
import sys
from collections import deque

import attrs
import numpy as np
from attrs import frozen

from accelsim.config import Hardware
from accelsim.engine.broadcasts import Broadcasts
from accelsim.engine.hw.clock import PastDeadline
from accelsim.engine.hw.dram import in_gaps, split_bytes
from accelsim.engine.hw.eviction import eviction_plan, next_uses
from accelsim.trace import Cause, Operand, State
from accelsim.units import exact_rate, transfer_cycles
from accelsim.workload.jobs import LayerJobs

WEIGHT_BUFFER, INPUT_BUFFER, OUTPUT_BUFFER = 0, 1, 2


def not_exact_because(layer: LayerJobs, hw: Hardware, dynamic: bool) -> str | None:
    """None when the closed form may be exact for this layer and plan (then `overflows` has
    the last word on the output buffer); else why it is not."""
    if dynamic:
        return "the plan is dynamic (decided at run time)"
    why = (
        "loads are not prefetched (double_buffered = false)"
        if not hw.double_buffered
        else "the input queues are deeper than 1"
        if hw.input_queue_depth != 1
        else None
    )
    for what, sizes, capacity in (
        ("weight", layer.weight_bytes, hw.weight_buffer_bytes),
        ("input", layer.input_bytes, hw.input_buffer_bytes),
    ):
        need = int(sizes.sum())
        if why and not math.isinf(capacity) and need > capacity:
            return (
                f"the {what} buffer ({int(capacity)} B) cannot hold all {need} B of the "
                f"layer's {what} blocks at once, and {why}"
            )
    instant_dram = math.isinf(hw.dram_bytes_per_cycle) and hw.dram_latency_cycles == 0
    if not hw.double_buffered and not instant_dram:
        return "loads without prefetch (double_buffered = false) wait for the dispatcher"
    return None


def blocks_fit(layer: LayerJobs, hw: Hardware) -> bool:
    """Whether the weight and the input buffer each hold all of the layer's blocks at once."""
    return all(
        math.isinf(capacity) or int(sizes.sum()) <= capacity
        for sizes, capacity in (
            (layer.weight_bytes, hw.weight_buffer_bytes),
            (layer.input_bytes, hw.input_buffer_bytes),
        )
    )


class NotExact(Exception):
    """Raised by run_layer when a condition only the plan shows rules the closed form out."""


def timeline_or_note(
    layer: LayerJobs,
    bc: Broadcasts | None,
    hw: Hardware,
    dynamic: bool,
    deadline: int | None = None,
) -> tuple[LayerTimeline | None, str | None]:
    """The layer's closed-form timeline from cycle 0, or None and why it would not be exact.
    With a `deadline`, PastDeadline as soon as a streamed layer is known to end after it."""
    note = not_exact_because(layer, hw, dynamic)
    if note is not None:
        return None, note
    # not dynamic, or not_exact_because would have said so: a static plan, whose broadcasts
    # the callers pass
    assert bc is not None
    try:
        timeline = run_layer(layer, bc, hw, 0, deadline)
    except NotExact as exc:
        return None, str(exc)
    note = overflows(timeline, hw)
    return (None, note) if note else (timeline, None)


def layer_end(layer: LayerJobs, bc: Broadcasts, hw: Hardware) -> int | None:
    """The layer's end from cycle 0 under a static plan, or None where the closed form
    would not be exact: what a planner scoring plans needs (the end of timeline_or_note's
    timeline, the same number), without the PE states, buffer levels and DRAM rows that
    only reports read."""
    got = end_and_output_peak(layer, bc, hw)
    return None if got is None else got[0]


def end_and_output_peak(
    layer: LayerJobs, bc: Broadcasts, hw: Hardware, deadline: int | None = None
) -> tuple[int, int] | None:
    """layer_end with the output buffer's peak (what the mapper keeps to reuse a run on
    other buffers); PastDeadline once a streamed layer is known to end after `deadline`."""
    if not_exact_because(layer, hw, False) is not None:
        return None
    try:
        end, output_peak = _run(layer, bc, hw, 0, False, deadline)
    except NotExact:
        return None
    return (end, output_peak) if output_peak <= hw.output_buffer_bytes else None


def overflows(timeline: LayerTimeline, hw: Hardware) -> str | None:
    """Why the closed form is not exact after all: its own output tiles would not fit.

    An output tile is held from its first job (its first chunk's, with partial sums) until
    its write-back, so if the unbounded buffer of the closed form never holds more than the
    capacity (tiles
    leaving before others arrive at equal times, as they can under SimPy), no job of the
    SimPy model ever waits for output space and the two timelines are the same."""
    if timeline.peaks[OUTPUT_BUFFER] <= hw.output_buffer_bytes:
        return None
    buffer, t, level = timeline.levels
    at = int(t[(buffer == OUTPUT_BUFFER) & (level > hw.output_buffer_bytes)][0])
    return (
        f"the output buffer ({int(hw.output_buffer_bytes)} B) would need "
        f"{timeline.peaks[OUTPUT_BUFFER]} B at cycle {at} of the layer"
    )


def output_peak_floor(layer: LayerJobs, bc: Broadcasts, hw: Hardware) -> int:
    """A lower bound on the output peak of the layer's closed-form timeline (whose output
    buffer is unbounded), from its broadcasts alone. At depth 1 every member of a broadcast
    starts its job when the broadcast is delivered, deliveries come in dispatch order, and
    each output tile is held from its first job's start until its write-back, after its
    last job ends. So when broadcast g is delivered, every tile with a job in g or before
    and a job of a cycle or more in g or after is held (its first job has started, its
    busy later job has not ended): the most bytes of such tiles over the broadcasts. With
    channel splits this sees a tile's partial sums held across the broadcasts between its
    chunks. Above the output buffer, the closed form would find its tiles overflow: the
    mapper then runs SimPy at once. 0 at other depths."""
    if hw.input_queue_depth != 1 or not bc.n_groups:
        return 0
    gid = np.repeat(np.arange(bc.n_groups), np.diff(bc.offsets))
    busy = np.asarray(layer.cycles, dtype=np.int64)[bc.job] > 0
    tile = layer.column("output_block")[bc.job]
    n_tiles = max(len(layer.output_bytes), 1)
    first = np.full(n_tiles, bc.n_groups, dtype=np.int64)
    np.minimum.at(first, tile, gid)  # the broadcast of each tile's first job
    last = np.full(n_tiles, -1, dtype=np.int64)
    np.maximum.at(last, tile[busy], gid[busy])  # and of its last job of a cycle or more
    held = last >= first
    change = np.zeros(bc.n_groups + 1, dtype=np.int64)
    size = np.asarray(layer.output_bytes, dtype=np.int64)[held]
    np.add.at(change, first[held], size)
    np.add.at(change, last[held] + 1, -size)
    return int(np.cumsum(change[:-1]).max(initial=0))


@frozen
class LayerTimeline:
    """What the closed form computes for one layer, in the trace's own columns."""

    end: int
    states: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # pe, t, state, held_by
    levels: tuple[np.ndarray, np.ndarray, np.ndarray]  # buffer, t, bytes
    transfers: tuple[np.ndarray, ...]  # start, end, bytes, operand, cause, layer
    executed_macs: int
    noc_bytes: int
    weight_reads: int
    input_reads: int
    output_writes: int
    psum_bytes: int
    peaks: tuple[int, int, int]

    def shifted(self, start: int) -> LayerTimeline:
        """The same layer started at `start` instead of 0: at a barrier the DRAM port is
        idle, so a layer's timeline only moves with its start."""
        pe, t, state, held = self.states
        buffer, lt, level = self.levels
        t0, t1, *rest = self.transfers
        return attrs.evolve(
            self,
            end=self.end + start,
            states=(pe, t + start, state, held),
            levels=(buffer, lt + start, level),
            transfers=(t0 + start, t1 + start, *rest),
        )


def _cycles(nbytes: np.ndarray, bytes_per_cycle: float) -> np.ndarray:
    """units.transfer_cycles over an array: ceil(bytes / rate), exactly, 0 at infinite rate."""
    rate = exact_rate(bytes_per_cycle)
    nbytes = np.asarray(nbytes, dtype=np.int64)
    if rate is None:
        return np.zeros_like(nbytes)
    num, den = rate
    return -((-nbytes * den) // num)


def _fifo(issue: np.ndarray, cycles: np.ndarray, latency: int, free_at: int) -> np.ndarray:
    """End times of transfers issued in this order on a first-come port (DramPort.transfer):
    each starts at max(issue + latency, previous end). A max-plus scan, no loop."""
    if not len(issue):
        return issue
    done = np.cumsum(cycles)
    before = done - cycles
    return done + np.maximum.accumulate(np.maximum(issue + latency - before, free_at))


def _segment_scan(pe: np.ndarray, ready: np.ndarray, cycles: np.ndarray) -> np.ndarray:
    """Per PE (members sorted by PE, then run order): F[k] = max(ready[k], F[k-1]) + c[k]."""
    if not len(pe):
        return ready
    c = np.cumsum(cycles)
    seg_first = np.ones(len(pe), dtype=bool)
    seg_first[1:] = pe[1:] != pe[:-1]
    base = np.maximum.accumulate(np.where(seg_first, np.arange(len(pe)), 0))
    before = c - cycles - (c - cycles)[base]  # cycles of the PE's earlier jobs
    key = ready - before
    span = int(np.abs(key).max()) * 2 + 1  # keeps one PE's scan out of the next
    seg = np.cumsum(seg_first)
    best = np.maximum.accumulate(key + seg * span) - seg * span
    return best + before + cycles


def run_layer(
    layer: LayerJobs, bc: Broadcasts, hw: Hardware, start: int, deadline: int | None = None
) -> LayerTimeline:
    """The layer's timeline from `start` (a barrier: the DRAM port is idle by then). A
    streamed layer stops with PastDeadline once a job would start after `deadline`."""
    timeline = _run(layer, bc, hw, start, True, deadline)
    assert isinstance(timeline, LayerTimeline)
    return timeline


def _run(
    layer: LayerJobs,
    bc: Broadcasts,
    hw: Hardware,
    start: int,
    detail: bool,
    deadline: int | None = None,
):
    """run_layer's work; with `detail` False only (end, output buffer peak), without the
    records that only the timeline needs."""
    n_pes, depth = hw.n_pes, hw.input_queue_depth
    cycles = np.asarray(layer.cycles, dtype=np.int64)
    m_pe, m_job = bc.pe, bc.job
    n_members, n_groups, off = len(m_pe), bc.n_groups, bc.offsets
    size = np.diff(off)
    gid = np.repeat(np.arange(n_groups), size)
    m_w = layer.column("weight_block")[m_job]
    m_i = layer.column("input_block")[m_job]
    m_c = cycles[m_job]
    m_o = layer.column("output_block")[m_job]
    g_in = m_i[off[:-1]]
    latency = hw.dram_latency_cycles

    # loads: each block once, in order of first use; with prefetch all at the start, back to
    # back on the port in the loader's order: by broadcast, its weights before its input
    loads = []
    for operand, used, sizes, unique, extra in (
        (Operand.WEIGHTS, m_w, layer.weight_bytes, layer.weight_bytes, None),
        (Operand.INPUTS, m_i, layer.input_bytes, layer.input_unique_bytes, layer.input_extra_cause),
    ):
        blocks, first = np.unique(used, return_index=True)
        o = np.argsort(first, kind="stable")
        blocks, first = blocks[o], first[o]
        uniq = np.asarray(unique, dtype=np.int64)[blocks]
        rest = np.asarray(sizes, dtype=np.int64)[blocks] - uniq
        rest_cause = (
            np.full(len(blocks), Cause.COMPULSORY) if extra is None else np.asarray(extra)[blocks]
        )
        loads.append((operand, blocks, gid[first], uniq, rest, rest_cause))
    prefetch = hw.double_buffered
    ready = [
        np.full(len(layer.weight_bytes), start, dtype=np.int64),
        np.full(len(layer.input_bytes), start, dtype=np.int64),
    ]
    n_w = len(loads[0][1])
    order = np.lexsort(
        (
            np.arange(n_w + len(loads[1][1])),
            np.repeat([0, 1], [n_w, len(loads[1][1])]),
            np.concatenate([loads[0][2], loads[1][2]]),
        )
    )
    load_op, load_gid, load_uniq, load_rest, load_rest_cause = (
        np.concatenate(columns)[order]
        for columns in zip(*((np.full(len(l[1]), l[0]), *l[2:]) for l in loads))
    )
    part_bytes = np.column_stack((load_uniq, load_rest)).ravel()
    part_cycles = _cycles(part_bytes, hw.dram_bytes_per_cycle)
    free_at = start
    streams = not blocks_fit(layer, hw)  # then _Streamed puts every load on the port
    if prefetch and not streams:
        part_end = _fifo(
            np.full(len(part_bytes), start, dtype=np.int64), part_cycles, latency, start
        )
        ends = np.empty(len(order), dtype=np.int64)
        ends[order] = part_end[1::2]
        ready[0][loads[0][1]] = ends[:n_w]
        ready[1][loads[1][1]] = ends[n_w:]
        free_at = int(part_end.max(initial=start))

    # what each broadcast waits for besides queue room: operands, then the NoC
    if n_groups:
        ready_w = np.maximum.reduceat(ready[0][m_w], off[:-1])
        ready_i = ready[1][g_in]
    else:
        ready_w = ready_i = np.zeros(0, dtype=np.int64)
    by_pe, prev, g_inputs, g_weights, noc = _deliveries(layer, bc, hw)
    counts = np.bincount(m_pe, minlength=n_pes)
    streamed = None
    if streams:  # not_exact_because: prefetched, lock-step
        if (noc == 0).any():
            raise NotExact(
                "blocks are streamed through a buffer that cannot hold them all, "
                "and a broadcast takes no interconnect cycle (then the order of "
                "same-cycle events decides which wait a PE records)"
            )
        if (m_c == 0).any():
            raise NotExact(
                "blocks are streamed through a buffer that cannot hold them all, "
                "and a job takes no cycle"
            )
        streamed = _Streamed(layer, hw, start, off, m_w, m_i, m_o, detail)
        reach, finish, stages = streamed.run(m_pe, m_c, prev, noc, deadline)
    elif counts.max(initial=0) <= depth:
        reach, delivered, stages = _decoupled(start, ready_w, ready_i, noc)
        finish = np.empty(n_members, dtype=np.int64)
        finish[by_pe] = _segment_scan(m_pe[by_pe], delivered[gid][by_pe], m_c[by_pe])
    else:
        back = _back(by_pe, counts, depth)
        if detail:
            reach, finish, stages = _lock_step(
                start, off, m_pe, m_c, back, prev, ready_w, ready_i, noc, depth == 1
            )
        else:  # the end alone: no stage timeline to record
            ready = np.maximum(ready_w, ready_i)
            finish = _lock_step_finish(start, off, m_pe, m_c, back, prev, ready, noc, depth == 1)
    begin = finish - m_c

    # write-backs: each output tile when its last contribution ends, in order after the loads
    out_sizes = np.asarray(layer.output_bytes, dtype=np.int64)
    n_out = len(out_sizes)
    last_end = np.full(n_out, -1, dtype=np.int64)
    np.maximum.at(last_end, m_o, finish)
    first_start = np.full(n_out, np.iinfo(np.int64).max)
    np.minimum.at(first_start, m_o, begin)
    written = np.flatnonzero(last_end >= 0)
    if streamed is not None:
        written_at = np.asarray(streamed.written_at, dtype=np.int64)
        end = max(int(written_at.max(initial=start)), int(finish.max(initial=start)))
        if not detail:
            output = _levels(OUTPUT_BUFFER, written, out_sizes, first_start, written_at)
            return end, int(output[2].max(initial=0))
        cols: list[np.ndarray] = (
            [np.asarray(c, dtype=np.int64).reshape(-1) for c in zip(*streamed.rows)]
            if streamed.rows
            else [np.zeros(0, dtype=np.int64)] * 5
        )
    else:
        written = written[np.argsort(last_end[written], kind="stable")]
        wb_bytes = np.asarray(layer.output_write_bytes, dtype=np.int64)[written]
        wb_cycles = _cycles(wb_bytes, hw.dram_bytes_per_cycle)
        wb_end = _fifo(last_end[written], wb_cycles, latency, free_at)
        written_at = np.full(n_out, -1, dtype=np.int64)
        written_at[written] = wb_end
        end = max(int(wb_end.max(initial=start)), int(finish.max(initial=start)))
        if not detail:
            output = _levels(OUTPUT_BUFFER, written, out_sizes, first_start, written_at)
            return end, int(output[2].max(initial=0))

        # DRAM rows: load parts (at the start, or when the dispatcher reaches their broadcast)
        load_operand = np.repeat(load_op, 2)
        load_cause = np.column_stack(
            (np.full(len(load_op), Cause.COMPULSORY), load_rest_cause)
        ).ravel()
        load_end = part_end if prefetch else np.repeat(reach[load_gid], 2)
        rows = [
            (load_end - part_cycles, load_end, part_bytes, load_operand, load_cause),
            (
                wb_end - wb_cycles,
                wb_end,
                wb_bytes,
                np.full(len(written), Operand.OUTPUTS),
                np.full(len(written), Cause.COMPULSORY),
            ),
        ]
        cols = [np.concatenate([r[i] for r in rows]) for i in range(5)]
    keep = cols[2] > 0
    transfers: tuple[np.ndarray, ...] = (
        *(c[keep].astype(np.int64) for c in cols[:3]),
        cols[3][keep].astype(np.int8),
        cols[4][keep].astype(np.int8),
        np.full(int(keep.sum()), layer.index, dtype=np.int32),
    )

    # buffer levels: a block is held from its load (weights, inputs) or first job (outputs)
    # until its last user ends (weights, inputs) or its write-back is done; streamed blocks
    # come and go as the loaders and the jobs recorded them
    levels = [] if streamed is None else [l.levels() for l in streamed.loaders]
    for buffer, used, sizes, load in (
        (WEIGHT_BUFFER, m_w, layer.weight_bytes, loads[0]),
        (INPUT_BUFFER, m_i, layer.input_bytes, loads[1]),
    )[len(levels) :]:
        held_from = np.full(len(sizes), start, dtype=np.int64)
        if not prefetch:
            held_from[load[1]] = reach[load[2]]
        held_until = np.full(len(sizes), -1, dtype=np.int64)
        np.maximum.at(held_until, used, finish)
        levels.append(
            _levels(buffer, load[1], np.asarray(sizes, dtype=np.int64), held_from, held_until)
        )
    levels.append(_levels(OUTPUT_BUFFER, written, out_sizes, first_start, written_at))

    contributions = np.bincount(m_o, minlength=n_out)
    level_buffer, level_t, level_bytes = (np.concatenate([l[i] for l in levels]) for i in range(3))
    w_peak, i_peak, o_peak = (int(l[2].max(initial=0)) for l in levels)  # weights, inputs, outputs
    return LayerTimeline(
        end=end,
        states=_pe_states(n_pes, start, end, m_pe, begin, finish, *stages),
        levels=(level_buffer, level_t, level_bytes),
        transfers=transfers,
        executed_macs=int(layer.column("macs").sum()),
        noc_bytes=int(g_inputs.sum() + g_weights.sum()),
        weight_reads=int(g_weights.sum()),
        input_reads=int(g_inputs.sum()),
        output_writes=int(out_sizes[m_o].sum()),
        psum_bytes=int((out_sizes * np.maximum(contributions - 1, 0)).sum()),
        peaks=(w_peak, i_peak, o_peak),
    )


def _deliveries(layer: LayerJobs, bc: Broadcasts, hw: Hardware):
    """What the dispatcher sends: members per PE in run order (`by_pe`), each member's
    previous member on its PE (-1: none), and per broadcast its input and weight bytes and
    its interconnect cycles (a PE receives a weight block when its previous job used
    another)."""
    m_pe, off = bc.pe, bc.offsets
    m_w = layer.column("weight_block")[bc.job]
    by_pe = np.lexsort((np.arange(len(m_pe)), m_pe))
    prev = np.full(len(m_pe), -1, dtype=np.int64)
    same = m_pe[by_pe][1:] == m_pe[by_pe][:-1]
    prev[by_pe[1:][same]] = by_pe[:-1][same]
    new_weights = (prev < 0) | (m_w != m_w[np.maximum(prev, 0)])
    w_delivered = np.where(new_weights, np.asarray(layer.weight_bytes, dtype=np.int64)[m_w], 0)
    g_weights = np.add.reduceat(w_delivered, off[:-1]) if bc.n_groups else w_delivered[:0]
    g_in = layer.column("input_block")[bc.job[off[:-1]]]
    size = 1 if hw.multicast else np.diff(off)
    g_inputs = np.asarray(layer.input_bytes, dtype=np.int64)[g_in] * size
    return by_pe, prev, g_inputs, g_weights, _cycles(g_inputs + g_weights, hw.noc_bytes_per_cycle)


def _back(by_pe: np.ndarray, counts: np.ndarray, depth: int) -> np.ndarray:
    """Each member's job `depth` places earlier on its PE (-1: none), whose end frees the
    queue slot it is delivered into."""
    back = np.full(len(by_pe), -1, dtype=np.int64)
    rank = np.arange(len(by_pe)) - np.repeat(np.cumsum(counts) - counts, counts)
    later = rank >= depth  # rank of by_pe[i] on its PE
    back[by_pe[later]] = by_pe[np.flatnonzero(later) - depth]
    return back


def ideal_memory_end(layer: LayerJobs, bc: Broadcasts, hw: Hardware) -> int:
    """A lower bound on a static plan's cycles on `hw`, from its dispatch alone: the same
    broadcasts, queues and interconnect with every block on chip from cycle 0, then each
    output tile's write-back (one latency and its transfer) after its last job.

    Why it bounds the real run: the dispatcher sends the same broadcasts in the same order
    and each PE runs its queue in order, so every delivery, job start and job end is a max
    of sums of earlier times and fixed durations; waiting for weights, inputs, output space
    or the port only raises terms of those maxima, never lowers one. It holds for every
    queue depth, for finite and unbounded buffers alike; the mapper uses it to rule
    candidates out before simulating them (accelsim.engine.mapper)."""
    if not layer.n_jobs:
        return 0
    m_pe, off = bc.pe, bc.offsets
    m_c = np.asarray(layer.cycles, dtype=np.int64)[bc.job]
    by_pe, prev, _, _, noc = _deliveries(layer, bc, hw)
    counts = np.bincount(m_pe, minlength=hw.n_pes)
    zero = np.zeros(bc.n_groups, dtype=np.int64)
    depth = hw.input_queue_depth
    if counts.max(initial=0) <= depth:
        _, delivered, _ = _decoupled(0, zero, zero, noc)
        finish = np.empty(len(m_pe), dtype=np.int64)
        gid = np.repeat(np.arange(bc.n_groups), np.diff(off))
        finish[by_pe] = _segment_scan(m_pe[by_pe], delivered[gid][by_pe], m_c[by_pe])
    else:
        back = _back(by_pe, counts, depth)
        finish = _lock_step_finish(0, off, m_pe, m_c, back, prev, zero, noc, depth == 1)
    m_o = layer.column("output_block")[bc.job]
    last_end = np.full(len(layer.output_bytes), -1, dtype=np.int64)
    np.maximum.at(last_end, m_o, finish)
    write_bytes = np.asarray(layer.output_write_bytes, dtype=np.int64)
    written = (last_end >= 0) & (write_bytes > 0)
    tail = (
        last_end[written]
        + hw.dram_latency_cycles
        + _cycles(write_bytes[written], hw.dram_bytes_per_cycle)
    )
    return int(max(finish.max(), tail.max(initial=0)))


_WAIT_W, _WAIT_I, _WAIT_NOC = int(State.WAIT_WEIGHTS), int(State.WAIT_INPUTS), int(State.WAIT_NOC)


def _decoupled(start, ready_w, ready_i, noc):
    """Queues that never fill: each broadcast waits for its operands and the NoC only, so
    delivery times are a max-plus scan. Returns (when the dispatcher reaches each broadcast,
    when it delivers it, the stage timeline)."""
    n = len(noc)
    x = np.maximum(np.maximum(ready_w, ready_i), start)
    done = np.cumsum(noc)
    before = done - noc
    delivered = done + np.maximum.accumulate(x - before) if n else done
    reach = np.concatenate(([start], delivered[:-1])).astype(np.int64)
    after_w = np.maximum(reach, ready_w)
    arrive = np.maximum(after_w, ready_i)
    t = np.column_stack((reach, after_w, arrive)).ravel()
    state = np.tile([_WAIT_W, _WAIT_I, _WAIT_NOC], n)
    keep = np.column_stack((ready_w > reach, ready_i > after_w, noc > 0)).ravel()
    stages = (
        np.concatenate(([start], t[keep])).astype(np.int64),
        np.concatenate(([_WAIT_I], state[keep])),
        np.full(int(keep.sum()) + 1, -1),
    )
    return reach, delivered, stages


def _lock_step(start, off, m_pe, m_c, back, prev, ready_w, ready_i, noc, depth_one):
    """Queues that fill: a broadcast also waits for a slot in each member's queue, freed when
    the job `depth` deliveries earlier ends. A loop over members, on plain ints."""
    off, pe, c, back, prev = (a.tolist() for a in (off, m_pe, m_c, back, prev))
    ready_w, ready_i, noc = ready_w.tolist(), ready_i.tolist(), noc.tolist()
    n_groups = len(noc)
    finish = [0] * len(pe)
    reach = [0] * n_groups
    stage_t, stage_state, stage_held = [start], [_WAIT_I], [-1]
    t = start
    for g in range(n_groups):
        reach[g] = t
        r = ready_w[g]
        if r > t:
            stage_t.append(t), stage_state.append(_WAIT_W), stage_held.append(-1)
            t = r
        r = ready_i[g]
        if r > t:
            stage_t.append(t), stage_state.append(_WAIT_I), stage_held.append(-1)
            t = r
        lo, hi = off[g], off[g + 1]
        for m in range(lo, hi):
            b = back[m]
            if b >= 0 and finish[b] > t:
                stage_t.append(t), stage_state.append(_WAIT_I), stage_held.append(pe[m])
                t = finish[b]
        r = noc[g]
        if r:
            stage_t.append(t), stage_state.append(_WAIT_NOC), stage_held.append(-1)
            t += r
        if depth_one:  # the PE's previous job ended before its slot was free
            for m in range(lo, hi):
                finish[m] = t + c[m]
        else:
            for m in range(lo, hi):
                b = prev[m]
                finish[m] = (t if b < 0 or finish[b] <= t else finish[b]) + c[m]
    return (
        np.asarray(reach, dtype=np.int64),
        np.asarray(finish, dtype=np.int64),
        (np.asarray(stage_t, dtype=np.int64), np.asarray(stage_state), np.asarray(stage_held)),
    )


def _lock_step_finish(start, off, m_pe, m_c, back, prev, ready, noc, depth_one):
    """_lock_step's job ends alone (no stage timeline), with `ready` the max of its two
    operand times: what a bound or a score needs, at a fraction of the cost.

    Why it is the same number: a broadcast's delivery is max(previous delivery, ready, the
    ends of the jobs holding its members' slots) + NoC cycles, the order of those maxima
    does not matter. At depth 1 a slot is held by the member's previous job, which ends at
    its own broadcast's delivery plus its cycles, so a broadcast waits on (earlier
    broadcast, cycles) pairs: only the longest per earlier broadcast counts, and lock-step
    rounds have about one such pair per broadcast instead of one per member."""
    n_groups = len(noc)
    gid = np.repeat(np.arange(n_groups), np.diff(off))
    if not depth_one:
        return _lock_step_members(start, off, m_c, back, prev, ready, noc)
    held = np.flatnonzero(back >= 0)
    g, gb, cb = gid[held], gid[back[held]], m_c[back[held]]
    if (gb == g - 1).all():  # each broadcast waits on the one before only: a scan
        return _lock_step_rounds(start, g, cb, ready, noc)[gid] + m_c
    o = np.lexsort((cb, gb, g))
    g, gb, cb = g[o], gb[o], cb[o]
    last = np.ones(len(g), dtype=bool)  # the longest of each (broadcast, earlier broadcast)
    last[:-1] = (g[1:] != g[:-1]) | (gb[1:] != gb[:-1])
    g, gb, cb = g[last], gb[last], cb[last]
    bounds = np.searchsorted(g, np.arange(n_groups + 1)).tolist()
    gb_l, cb_l = gb.tolist(), cb.tolist()
    delivered = [0] * n_groups
    t = start
    for k, (r, n) in enumerate(zip(ready.tolist(), noc.tolist())):
        if r > t:
            t = r
        for j in range(bounds[k], bounds[k + 1]):
            v = delivered[gb_l[j]] + cb_l[j]
            if v > t:
                t = v
        t += n
        delivered[k] = t
    return np.asarray(delivered, dtype=np.int64)[gid] + m_c


def _lock_step_rounds(start, g, cb, ready, noc):
    """Deliveries at depth 1 when every member's previous job was in the broadcast just
    before (lock-step rounds: each PE in every broadcast): with c_g the longest of those
    jobs, T[g] = max(T[g-1] + c_g, ready[g]) + noc[g], since T[g-1] + c_g >= T[g-1]. A
    max-plus scan: with A the running sum of c + noc, T[g] = A[g] + max(start, the
    running max of ready + noc - A), exact in integers."""
    longest = np.zeros(len(noc), dtype=np.int64)
    np.maximum.at(longest, g, cb)
    total = np.cumsum(longest + noc)
    return total + np.maximum(np.maximum.accumulate(ready + noc - total), start)


def _lock_step_members(start, off, m_c, back, prev, ready, noc):
    """_lock_step_finish at depths above 1: a member's slot is held by the job `depth`
    places earlier, and it starts once its previous job ends; a loop over members."""
    off, c, back, prev = (a.tolist() for a in (off, m_c, back, prev))
    finish = [0] * len(c)
    t = start
    for g, (r, n) in enumerate(zip(ready.tolist(), noc.tolist())):
        if r > t:
            t = r
        lo, hi = off[g], off[g + 1]
        for m in range(lo, hi):
            b = back[m]
            if b >= 0 and finish[b] > t:
                t = finish[b]
        t += n
        for m in range(lo, hi):
            b = prev[m]
            finish[m] = (t if b < 0 or finish[b] <= t else finish[b]) + c[m]
    return np.asarray(finish, dtype=np.int64)


class _Port:
    """DramPort over plain ints: loads first come, first served, logging each part's row;
    write-backs collected and served in the loads' gaps once the layer's loads are known."""

    def __init__(self, hw: Hardware, start: int, record: bool = True):
        self.rate = exact_rate(hw.dram_bytes_per_cycle)
        self.latency = hw.dram_latency_cycles
        self.free_at = start
        self.record = record  # keep the rows (a timeline), or only the times (a plan's end)
        self.rows: list[tuple[int, int, int, int, int]] = []  # start, end, bytes, op, cause
        self.loads: deque[tuple[int, int]] = deque()  # [start, end) of each load
        self.writes: list[tuple[int, int]] = []  # (issued, bytes) of each write-back

    def transfer(
        self,
        now: int,
        operand: int,
        nbytes: int,
        cause: int,
        extra: int = 0,
        extra_cause: int = Cause.COMPULSORY,
    ) -> int:
        """When the last byte of a load has crossed the port. (The two parts are written
        out: this runs per load of every plan a planner scores.)"""
        t = start = now + self.latency
        if t < self.free_at:
            t = start = self.free_at
        if nbytes:
            end = t + transfer_cycles(nbytes, self.rate)
            if self.record:
                self.rows.append((t, end, nbytes, operand, cause))
            t = end
        if extra:
            end = t + transfer_cycles(extra, self.rate)
            if self.record:
                self.rows.append((t, end, extra, operand, extra_cause))
            t = end
        self.free_at = t
        if t > start:  # back to back with the previous load: one interval
            loads = self.loads
            if loads and loads[-1][1] == start:
                loads[-1] = (loads[-1][0], t)
            else:
                loads.append((start, t))
        return t

    def write_back(self, now: int, nbytes: int) -> None:
        """DramPort.write_back: served by `written_at`, once every load is issued."""
        self.writes.append((now, nbytes))

    def written_at(self) -> list[int]:
        """When each write-back, in issue order, has crossed the port: in order, in the
        cycles no load uses (DramPort._schedule_head)."""
        loads, done, free_at = self.loads, [], 0
        for issued, nbytes in self.writes:
            cycles = transfer_cycles(nbytes, self.rate)
            begin = max(issued + self.latency, free_at)
            while loads and loads[0][1] <= begin:
                loads.popleft()
            pieces = in_gaps(begin, cycles, loads)
            free_at = pieces[-1][1] if pieces else begin
            done.append(free_at)
            if self.record:
                for a, z, part in split_bytes(pieces, nbytes, cycles, free_at):
                    self.rows.append((a, z, part, Operand.OUTPUTS, Cause.COMPULSORY))
        return done


def _no_level(now: int) -> None:
    """_Loader._level when nothing is recorded."""


class _Loader:
    """BlockBuffer's part of the loader (prefetching) and its releases, on plain ints: loads a
    position's blocks in order, each once the victims `eviction_plan` gives it have been
    released and evicted and there is space."""

    def __init__(
        self,
        port: _Port,
        buffer: int,
        operand: int,
        capacity: float,
        sizes: np.ndarray,
        unique: np.ndarray,
        extra_cause: np.ndarray,
        off: np.ndarray,
        used: np.ndarray,
        in_flight: int,
        record: bool = True,
    ):
        self.port, self.buffer, self.operand, self.capacity = port, buffer, operand, capacity
        self.sizes, self.unique = sizes.tolist(), unique.tolist()
        self.extra_cause = extra_cause.tolist()
        self.off, self.seq = off.tolist(), used.tolist()
        n, n_groups = len(self.sizes), len(self.off) - 1
        sequence = [self.seq[a:z] for a, z in zip(self.off[:-1], self.off[1:])]
        # block b's uses not yet issued are uses[nxt[b]:stop[b]] (as in BlockBuffer)
        _, self.nxt, self.stop = next_uses(sequence, n)
        # a buffer that holds every block never evicts (eviction_plan would say so after a
        # pass over the sequence; the other buffer of a streamed layer usually fits)
        self.victims = (
            {}
            if sum(self.sizes) <= capacity
            else eviction_plan(sequence, self.sizes, capacity, in_flight)
        )
        self.resident = [False] * n
        self.loaded_once = [False] * n
        self.pins = [0] * n
        self.ready = [0] * n  # when the resident copy of each block has arrived
        self.used = 0
        self.level_t: list[int] = []
        self.level_bytes: list[int] = []
        if not record:  # a plan's end only: no level rows
            self._level = _no_level  # type: ignore[method-assign]
        self.issued_at: list[int | None] = [None] * n_groups  # done with position g
        self.at = 0  # the member it is at within its position
        self.waiting = False  # counted this block's use, waits for space
        self.blocked = False  # waits for a release

    def _level(self, now: int) -> None:
        self.level_t.append(now)
        self.level_bytes.append(self.used)

    def fill_position(self, now: int, pos: int) -> bool:
        """The loader at cycle `now` on position `pos`'s blocks of this buffer: True when they
        are all issued, False when it must wait for a release."""
        off, seq, sizes, nxt = self.off, self.seq, self.sizes, self.nxt
        resident, pins = self.resident, self.pins
        self.blocked = False
        hi = off[pos + 1]
        while off[pos] + self.at < hi:
            b = seq[off[pos] + self.at]
            if not self.waiting:
                nxt[b] += 1
                if resident[b]:
                    pins[b] += 1
                    self.at += 1
                    continue
                self.waiting = True
            for v in self.victims.get(off[pos] + self.at, ()):
                if not resident[v]:  # evicted before this wait
                    continue
                if pins[v]:
                    self.blocked = True
                    return False
                resident[v] = False
                self.used -= sizes[v]
                self._level(now)
            need = sizes[b]
            if self.capacity - self.used < need:
                self.blocked = True
                return False
            self.waiting = False
            self.used += need
            self._level(now)
            resident[b] = True
            pins[b] = 1
            if self.loaded_once[b]:
                self.ready[b] = self.port.transfer(now, self.operand, need, Cause.REFETCH)
            else:
                self.loaded_once[b] = True
                unique = self.unique[b]
                self.ready[b] = self.port.transfer(
                    now, self.operand, unique, Cause.COMPULSORY, need - unique, self.extra_cause[b]
                )
            self.at += 1
        self.issued_at[pos] = now
        self.at = 0
        return True

    def release(self, now: int, b: int) -> bool:
        """A job that used block b ended; True if that wakes a blocked loader."""
        self.pins[b] -= 1
        if self.pins[b]:
            return False
        if self.nxt[b] >= self.stop[b]:
            self.resident[b] = False
            self.used -= self.sizes[b]
            self._level(now)
        return self.blocked

    def levels(self):
        n = len(self.level_t)
        return (
            np.full(n, self.buffer, dtype=np.int8),
            np.asarray(self.level_t, dtype=np.int64),
            np.asarray(self.level_bytes, dtype=np.int64),
        )


class _Streamed:
    """Lock-step broadcasts with weights or inputs streamed through a buffer that cannot hold
    them all: the loader, the jobs' releases and write-backs and the DRAM port, replayed
    in the order the SimPy model processes them, one loop over the broadcasts (the
    write-backs' ends last: they never delay a load, `_Port.written_at`).

    Why the order is known: the loader (load_in_order, prefetching) waits only for a release
    in one buffer (of a victim the eviction plan names, or of space), and wakes on every
    release there; it then runs after every job that
    ends in that cycle (their ends were scheduled before its wake-up), so in a cycle the
    ending jobs release their blocks and write back their tiles in the order they started
    (broadcast, then member), and then the loader issues its loads. It needs releases only from
    jobs already delivered, so when the dispatcher needs broadcast g's blocks, every release
    that can let the loader issue them is known. The dispatcher's waits are those of
    _lock_step, with a broadcast's weights (inputs) ready when the loader has issued them
    and they have crossed the port. Same-cycle order cannot change a recorded wait because
    every broadcast then ends its step with interconnect cycles (run_layer checks), and
    every job takes a cycle at least."""

    def __init__(
        self,
        layer: LayerJobs,
        hw: Hardware,
        start: int,
        off: np.ndarray,
        m_w: np.ndarray,
        m_i: np.ndarray,
        m_o: np.ndarray,
        record: bool = True,
    ):
        self.start = start
        self.off = off.tolist()
        self.port = _Port(hw, start, record)
        self.loaders = [
            _Loader(
                self.port,
                WEIGHT_BUFFER,
                Operand.WEIGHTS,
                hw.weight_buffer_bytes,
                layer.weight_bytes,
                layer.weight_bytes,
                np.full(len(layer.weight_bytes), Cause.COMPULSORY),
                off,
                m_w,
                hw.input_queue_depth,
                record,
            ),
            _Loader(
                self.port,
                INPUT_BUFFER,
                Operand.INPUTS,
                hw.input_buffer_bytes,
                layer.input_bytes,
                layer.input_unique_bytes,
                layer.input_extra_cause,
                off,
                m_i,
                hw.input_queue_depth,
                record,
            ),
        ]
        self.w, self.i, self.o = m_w.tolist(), m_i.tolist(), m_o.tolist()
        self.out_write = layer.output_write_bytes.tolist()
        self.out_left = layer.output_uses.tolist()
        self.written: list[int] = []  # output blocks in the order they are written back
        self.written_at = [-1] * len(self.out_write)
        self.pos = 0  # the loader's position, and buffer there (0, 1)
        self.part = 0

    @property
    def rows(self):
        return self.port.rows

    def fill(self, now: int) -> None:
        """load_in_order at cycle `now`: each position's weights, then its input, until a
        buffer has no space."""
        while self.pos < len(self.off) - 1:
            while self.part < 2:
                if not self.loaders[self.part].fill_position(now, self.pos):
                    return
                self.part += 1
            self.pos += 1
            self.part = 0

    def job_ends(self, now: int, m: int) -> bool:
        """PE.serve when member m's job ends: release its weights and its inputs, then
        contribute its output (the last contribution writes the tile back). True if a
        release wakes the loader."""
        weights, inputs = self.loaders
        woken = weights.release(now, self.w[m])
        woken = inputs.release(now, self.i[m]) or woken
        o = self.o[m]
        self.out_left[o] -= 1
        if self.out_left[o] == 0:
            self.port.write_back(now, self.out_write[o])
            self.written.append(o)
        return woken

    def run(self, m_pe, m_c, prev, noc, deadline=None):
        """The dispatcher's loop (_lock_step at depth 1) with the loaders and the port;
        PastDeadline once a job would start after `deadline` (it ends later still)."""
        import heapq

        start, off = self.start, self.off
        limit = sys.maxsize if deadline is None else deadline
        weights, inputs = self.loaders
        self.fill(start)
        pe, c, back, noc = m_pe.tolist(), m_c.tolist(), prev.tolist(), noc.tolist()
        finish = [0] * len(pe)
        reach = [0] * len(noc)
        events: list[tuple[int, int]] = []  # (end, member): jobs not yet ended
        stage_t, stage_state, stage_held = [start], [_WAIT_I], [-1]
        t = start
        for g in range(len(noc)):
            reach[g] = t
            while weights.issued_at[g] is None or inputs.issued_at[g] is None:
                if not events:  # a loader waits for space: run the jobs'
                    raise NotExact("a loader would wait for space no job frees")  # ends
                now = events[0][0]
                woken = False
                while events and events[0][0] == now:
                    woken |= self.job_ends(now, heapq.heappop(events)[1])
                if woken:
                    self.fill(now)
            lo, hi = off[g], off[g + 1]
            for loader, used, state in ((weights, self.w, _WAIT_W), (inputs, self.i, _WAIT_I)):
                ready = loader.ready
                r = loader.issued_at[g]
                for m in range(lo, hi):
                    if ready[used[m]] > r:
                        r = ready[used[m]]
                if r > t:
                    stage_t.append(t), stage_state.append(state), stage_held.append(-1)
                    t = r
            for m in range(lo, hi):
                b = back[m]
                if b >= 0 and finish[b] > t:
                    stage_t.append(t), stage_state.append(_WAIT_I), stage_held.append(pe[m])
                    t = finish[b]
            stage_t.append(t), stage_state.append(_WAIT_NOC), stage_held.append(-1)
            t += noc[g]
            if t > limit:
                raise PastDeadline(t)
            for m in range(lo, hi):
                finish[m] = t + c[m]
                heapq.heappush(events, (finish[m], m))
        while events:
            end, m = heapq.heappop(events)
            self.job_ends(end, m)
        for o, at in zip(self.written, self.port.written_at()):
            self.written_at[o] = at
        return (
            np.asarray(reach, dtype=np.int64),
            np.asarray(finish, dtype=np.int64),
            (np.asarray(stage_t, dtype=np.int64), np.asarray(stage_state), np.asarray(stage_held)),
        )


def _levels(
    buffer: int, used: np.ndarray, sizes: np.ndarray, held_from: np.ndarray, held_until: np.ndarray
):
    """(buffer, t, bytes held) rows for blocks held over [held_from, held_until]. At equal
    times blocks leave before others arrive (a finished job frees its blocks before the
    dispatcher moves on), except a block held for no time, which leaves after it arrived."""
    t = np.concatenate((held_from[used], held_until[used]))
    delta = np.concatenate((sizes[used], -sizes[used]))
    instant = held_until[used] == held_from[used]
    rank = np.concatenate((np.ones(len(used)), np.where(instant, 2, 0)))
    o = np.lexsort((rank, t))
    return np.full(len(o), buffer, dtype=np.int8), t[o], np.cumsum(delta[o])


def _pe_states(n_pes, start, end, job_pe, job_start, job_end, stage_t, stage_state, stage_held):
    """State records per PE in time order: before each job the dispatcher's stages over the
    PE's wait, then busy; idle after its last job and at the layer's end."""
    # the stage timeline: at equal times the last change is the one in force
    keep = np.ones(len(stage_t), dtype=bool)
    keep[:-1] = stage_t[1:] != stage_t[:-1]
    stage_t, stage_state, stage_held = stage_t[keep], stage_state[keep], stage_held[keep]

    order = np.lexsort((job_start, job_pe))  # per PE, in run order
    pe, s, f = job_pe[order], job_start[order], job_end[order]
    first = np.ones(len(pe), dtype=bool)
    first[1:] = pe[1:] != pe[:-1]
    gap_from = np.where(first, start, np.roll(f, 1))
    waits = s > gap_from
    # a wait [a, b) shows the stage in force at a, then every change strictly inside
    lo = np.searchsorted(stage_t, gap_from, side="right")
    hi = np.searchsorted(stage_t, s, side="left")
    n_changes = np.where(waits, np.maximum(hi - lo, 0) + 1, 0)
    per_job = n_changes + 1  # the waits, then busy
    offsets = np.concatenate(([0], np.cumsum(per_job)))
    n = int(offsets[-1])
    rec_pe = np.repeat(pe, per_job)
    rec_t = np.empty(n, dtype=np.int64)
    rec_state = np.empty(n, dtype=np.int8)
    rec_held = np.empty(n, dtype=np.int32)
    busy_at = offsets[1:] - 1
    rec_t[busy_at], rec_state[busy_at], rec_held[busy_at] = s, State.BUSY, -1
    w = np.flatnonzero(waits)
    if len(w):
        counts = n_changes[w]
        base = np.repeat(offsets[w], counts)
        k = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        # k = 0: the stage in force at the wait's start (index lo - 1); k > 0: change lo+k-1
        idx = np.repeat(lo[w] - 1, counts) + k
        times = stage_t[idx]
        times[k == 0] = gap_from[w]
        rec_t[base + k] = times
        rec_state[base + k] = stage_state[idx]
        rec_held[base + k] = stage_held[idx]

    # idle after each PE's last job (or from the start), and at the layer's end
    last_end = np.full(n_pes, start, dtype=np.int64)
    np.maximum.at(last_end, pe, f)
    pes = np.arange(n_pes)
    records = [
        (rec_pe, rec_t, rec_state, rec_held),
        (pes, last_end, np.full(n_pes, State.IDLE), np.full(n_pes, -1)),
        (pes, np.full(n_pes, end), np.full(n_pes, State.IDLE), np.full(n_pes, -1)),
    ]
    cat = [np.concatenate([r[i] for r in records]) for i in range(4)]
    o = np.argsort(cat[0], kind="stable")
    return (
        cat[0][o].astype(np.int32),
        cat[1][o].astype(np.int64),
        cat[2][o].astype(np.int8),
        cat[3][o].astype(np.int32),
    )
