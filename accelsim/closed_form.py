"""The closed-form engine: a layer computed without SimPy, exact where timing cannot interleave.

When a layer's plan is static and its buffers can never push back (each buffer holds every
block of the layer at once, or is unbounded), nothing in the SimPy model depends on the order
in which same-time events are processed: every load is issued when the layer starts (weights
first, then inputs, in dispatch order, back to back on the FIFO DRAM port), no PE ever waits
for output space, and what remains is a recurrence over the broadcasts in dispatch order:

    t = when the previous broadcast was delivered
    t = max(t, weights ready)            the dispatcher waits: wait_weights
    t = max(t, input ready)              wait_inputs
    t = max(t, F[p][k - depth]) per PE   a full input queue holds it back: wait_inputs, held_by p
    t = t + NoC cycles                   wait_noc
    every member p starts its job at max(t, F[p][k - 1]) and finishes `cycles` later.

A PE with an empty queue is in the state of whatever the dispatcher waits on, so its idle
gaps are read off the dispatcher's stage timeline with `searchsorted`. Output tiles are
written back, FIFO on the same port, when their last contribution finishes; the layer ends
when the last write-back has crossed the port. Same-time write-backs may cross the port in
another order than under SimPy: per-transfer rows can differ, never the bytes, the layer's
end, or any PE's state (the tests check the two engines agree on all of those).

Without prefetch (`double_buffered = false`) a load is issued when the dispatcher reaches
its broadcast, so its timing interleaves with write-backs: the closed form then applies only
if the DRAM port is instantaneous (infinite bandwidth, zero latency).
"""

from __future__ import annotations

import math

import attrs
import numpy as np
from attrs import frozen

from accelsim.config import Hardware
from accelsim.trace import Cause, Operand, State
from accelsim.units import exact_rate, transfer_cycles
from accelsim.workload.jobs import LayerJobs

WEIGHT_BUFFER, INPUT_BUFFER, OUTPUT_BUFFER = 0, 1, 2


def not_exact_because(layer: LayerJobs, hw: Hardware, dynamic: bool) -> str | None:
    """None when the closed form may be exact for this layer and plan (then `overflows` has
    the last word on the output buffer); else why it is not."""
    if dynamic:
        return "the plan is dynamic (decided at run time)"
    for what, sizes, capacity in (("weight", layer.weight_bytes, hw.weight_buffer_bytes),
                                  ("input", layer.input_bytes, hw.input_buffer_bytes)):
        need = int(sizes.sum())
        if not math.isinf(capacity) and need > capacity:
            return (f"the {what} buffer ({int(capacity)} B) cannot hold all {need} B of the "
                    f"layer's {what} blocks at once")
    need = int(layer.output_bytes.sum())
    if not math.isinf(hw.output_buffer_bytes) and need > hw.output_buffer_bytes \
            and (layer.output_uses > 1).any():
        return (f"partial sums (channel splits) with an output buffer ({int(hw.output_buffer_bytes)}"
                f" B) that cannot hold all {need} B of the layer's output tiles at once")
    instant_dram = math.isinf(hw.dram_bytes_per_cycle) and hw.dram_latency_cycles == 0
    if not hw.double_buffered and not instant_dram:
        return "loads without prefetch (double_buffered = false) interleave with write-backs"
    return None


def overflows(timeline: LayerTimeline, hw: Hardware) -> str | None:
    """Why the closed form is not exact after all: its own output tiles would not fit.

    Without partial sums an output tile is held from its first job until its write-back, so
    if the unbounded buffer of the closed form never holds more than the capacity (tiles
    leaving before others arrive at equal times, as they can under SimPy), no job of the
    SimPy model ever waits for output space and the two timelines are the same."""
    if timeline.peaks[OUTPUT_BUFFER] <= hw.output_buffer_bytes:
        return None
    buffer, t, level = timeline.levels
    at = int(t[(buffer == OUTPUT_BUFFER) & (level > hw.output_buffer_bytes)][0])
    return (f"the output buffer ({int(hw.output_buffer_bytes)} B) would need "
            f"{timeline.peaks[OUTPUT_BUFFER]} B at cycle {at} of the layer")


@frozen
class LayerTimeline:
    """What the closed form computes for one layer, in the trace's own columns."""

    end: int
    states: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]   # pe, t, state, held_by
    levels: tuple[np.ndarray, np.ndarray, np.ndarray]               # buffer, t, bytes
    transfers: tuple[np.ndarray, ...]     # start, end, bytes, operand, cause, layer
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
        return attrs.evolve(self, end=self.end + start, states=(pe, t + start, state, held),
                            levels=(buffer, lt + start, level),
                            transfers=(t0 + start, t1 + start, *rest))


class _Port:
    """The FIFO DRAM port, as DramPort computes it, logging rows into lists."""

    def __init__(self, hw: Hardware, free_at: int, layer: int):
        self.rate = exact_rate(hw.dram_bytes_per_cycle)
        self.latency = hw.dram_latency_cycles
        self.free_at = free_at
        self.layer = layer
        self.rows: list[tuple[int, int, int, int, int, int]] = []

    def transfer(self, now: int, parts, operand: Operand) -> int:
        """When the last byte of the parts has crossed the port (DramPort.transfer)."""
        t = max(now + self.latency, self.free_at)
        for nbytes, cause in parts:
            end = t + transfer_cycles(nbytes, self.rate)
            if nbytes:
                self.rows.append((t, end, nbytes, operand, cause, self.layer))
            t = end
        self.free_at = max(self.free_at, t)
        return t


def run_layer(layer: LayerJobs, groups, hw: Hardware, start: int) -> LayerTimeline:
    """The layer's timeline from `start` (a barrier: the DRAM port is free by then), for the
    static broadcast `groups` of accelsim.hw.dispatch.static_groups."""
    n_pes, depth = hw.n_pes, hw.input_queue_depth
    port = _Port(hw, start, layer.index)

    # loads: every block once, in order of first use; with prefetch all of them at the
    # start, weights then inputs (the two loaders run in that order), else when the
    # dispatcher reaches the block's first broadcast (then the port is instantaneous)
    loads = []
    for operand, sizes, unique, extra, attr in (
            (Operand.WEIGHTS, layer.weight_bytes, layer.weight_bytes, None, "weight_block"),
            (Operand.INPUTS, layer.input_bytes, layer.input_unique_bytes,
             layer.input_extra_cause, "input_block")):
        first = {}
        for g, group in enumerate(groups):
            for _, job in group.members:
                first.setdefault(getattr(job, attr), g)
        parts = {b: [(int(unique[b]), Cause.COMPULSORY),
                     (int(sizes[b] - unique[b]),
                      Cause.COMPULSORY if extra is None else Cause(int(extra[b])))]
                 for b in first}
        loads.append((operand, first, parts, np.full(len(sizes), start, dtype=np.int64)))
    prefetch = hw.double_buffered
    if prefetch:
        for operand, first, parts, ready in loads:
            for b in first:
                ready[b] = port.transfer(start, parts[b], operand)
    pending = [[[] for _ in groups] for _ in loads]     # blocks first used by each broadcast
    for (_, first, _, _), per_group in zip(loads, pending):
        for b, g in first.items():
            per_group[g].append(b)
    reach = np.empty(len(groups), dtype=np.int64)

    # the dispatcher's recurrence over broadcasts
    rate = exact_rate(hw.noc_bytes_per_cycle)
    w_bytes, in_bytes = layer.weight_bytes, layer.input_bytes
    ready_w, ready_i = loads[0][3], loads[1][3]
    finishes: list[list[int]] = [[] for _ in range(n_pes)]
    last_weights = [-1] * n_pes
    stage_t, stage_state, stage_held = [start], [int(State.WAIT_INPUTS)], [-1]
    job_pe, job_start, job_end, job_index = [], [], [], []
    noc_bytes = weight_reads = input_reads = 0
    t = start
    wait_w, wait_i, wait_noc = int(State.WAIT_WEIGHTS), int(State.WAIT_INPUTS), int(State.WAIT_NOC)
    for g, group in enumerate(groups):
        members = group.members
        reach[g] = t
        if not prefetch:
            for (operand, _, parts, ready), per_group in zip(loads, pending):
                for b in per_group[g]:
                    ready[b] = port.transfer(t, parts[b], operand)
        r = max(int(ready_w[job.weight_block]) for _, job in members)
        if r > t:
            stage_t.append(t), stage_state.append(wait_w), stage_held.append(-1)
            t = r
        r = int(ready_i[group.input_block])
        if r > t:
            stage_t.append(t), stage_state.append(wait_i), stage_held.append(-1)
            t = r
        for pe, _ in members:
            done = finishes[pe]
            if len(done) >= depth:
                r = done[len(done) - depth]
                if r > t:
                    stage_t.append(t), stage_state.append(wait_i), stage_held.append(pe)
                    t = r
        nbytes = int(in_bytes[group.input_block])
        reads = nbytes * (1 if hw.multicast else len(members))
        new_weights = sum(int(w_bytes[job.weight_block]) for pe, job in members
                          if last_weights[pe] != job.weight_block)
        input_reads += reads
        weight_reads += new_weights
        noc_bytes += reads + new_weights
        cycles = transfer_cycles(reads + new_weights, rate)
        if cycles:
            stage_t.append(t), stage_state.append(wait_noc), stage_held.append(-1)
            t += cycles
        for pe, job in members:
            last_weights[pe] = job.weight_block
            done = finishes[pe]
            s = t if not done or done[-1] <= t else done[-1]
            done.append(s + job.cycles)
            job_pe.append(pe), job_start.append(s), job_end.append(s + job.cycles)
            job_index.append(job.index)

    jobs = layer.jobs
    job_pe = np.asarray(job_pe, dtype=np.int64)
    job_start = np.asarray(job_start, dtype=np.int64)
    job_end = np.asarray(job_end, dtype=np.int64)
    job_index = np.asarray(job_index, dtype=np.int64)

    # write-backs: each output tile when its last contribution ends, FIFO on the port
    out_block = np.fromiter((jobs[j].output_block for j in job_index), dtype=np.int64,
                            count=len(job_index))
    n_out = len(layer.output_bytes)
    first_start = np.full(n_out, np.iinfo(np.int64).max)
    np.minimum.at(first_start, out_block, job_start)
    last_end = np.full(n_out, -1, dtype=np.int64)
    np.maximum.at(last_end, out_block, job_end)
    written = np.flatnonzero(last_end >= 0)
    order = written[np.lexsort((written, last_end[written]))]
    written_at = np.empty(n_out, dtype=np.int64)
    for b in order.tolist():
        written_at[b] = port.transfer(int(last_end[b]),
                                      [(int(layer.output_write_bytes[b]), Cause.COMPULSORY)],
                                      Operand.OUTPUTS)
    end = max(int(written_at[written].max(initial=start)), int(job_end.max(initial=start)))

    # buffer levels: a block is held from its load (weights, inputs: at the start) or first
    # job (outputs) until its last user ends (weights, inputs) or its write-back is done
    out_sizes = np.asarray(layer.output_bytes, dtype=np.int64)
    levels = []
    for buffer, blocks, sizes, held_from, held_until in (
            (WEIGHT_BUFFER, _blocks(jobs, job_index, "weight_block"), layer.weight_bytes,
             None, None),
            (INPUT_BUFFER, _blocks(jobs, job_index, "input_block"), layer.input_bytes,
             None, None),
            (OUTPUT_BUFFER, out_block, out_sizes, first_start, written_at)):
        used = np.unique(blocks)
        if held_from is None:
            first = loads[buffer][1]
            held_from = np.full(len(sizes), start, dtype=np.int64)
            if not prefetch and first:
                b, g = np.array(list(first.items())).T
                held_from[b] = reach[g]
            held_until = np.full(len(sizes), -1, dtype=np.int64)
            np.maximum.at(held_until, blocks, job_end)
        levels.append(_levels(buffer, used, np.asarray(sizes, dtype=np.int64),
                              held_from, held_until))
    peaks = tuple(int(l[2].max(initial=0)) for l in levels)
    level_cols = tuple(np.concatenate([l[i] for l in levels]) for i in range(3))

    states = _pe_states(n_pes, start, end, job_pe, job_start, job_end,
                        np.asarray(stage_t, dtype=np.int64), np.asarray(stage_state),
                        np.asarray(stage_held))
    contributions = np.bincount(out_block, minlength=len(out_sizes))
    rows = np.asarray(port.rows, dtype=np.int64).reshape(-1, 6)
    return LayerTimeline(
        end=end, states=states,
        levels=level_cols,
        transfers=tuple(rows[:, i] for i in range(6)),
        executed_macs=sum(jobs[j].macs for j in job_index.tolist()),
        noc_bytes=noc_bytes, weight_reads=weight_reads, input_reads=input_reads,
        output_writes=int(out_sizes[out_block].sum()),
        psum_bytes=int((out_sizes * np.maximum(contributions - 1, 0)).sum()),
        peaks=peaks)


def _blocks(jobs, job_index: np.ndarray, attr: str) -> np.ndarray:
    return np.fromiter((getattr(jobs[j], attr) for j in job_index.tolist()), dtype=np.int64,
                       count=len(job_index))


def _levels(buffer: int, used: np.ndarray, sizes: np.ndarray, held_from: np.ndarray,
            held_until: np.ndarray):
    """(buffer, t, bytes held) rows for blocks held over [held_from, held_until]. At equal
    times blocks leave before others arrive (a finished job frees its blocks before the
    dispatcher moves on), except a block held for no time, which leaves after it arrived."""
    t = np.concatenate((held_from[used], held_until[used]))
    delta = np.concatenate((sizes[used], -sizes[used]))
    instant = held_until[used] == held_from[used]
    rank = np.concatenate((np.ones(len(used)), np.where(instant, 2, 0)))
    o = np.lexsort((rank, t))
    return np.full(len(o), buffer, dtype=np.int8), t[o], np.cumsum(delta[o])


def _pe_states(n_pes, start, end, job_pe, job_start, job_end, stage_t, stage_state,
               stage_held):
    """State records per PE in time order: before each job the dispatcher's stages over the
    PE's wait, then busy; idle after its last job and at the layer's end."""
    # the stage timeline: at equal times the last change is the one in force
    keep = np.ones(len(stage_t), dtype=bool)
    keep[:-1] = stage_t[1:] != stage_t[:-1]
    stage_t, stage_state, stage_held = stage_t[keep], stage_state[keep], stage_held[keep]

    order = np.lexsort((job_start, job_pe))     # per PE, in run order
    pe, s, f = job_pe[order], job_start[order], job_end[order]
    first = np.ones(len(pe), dtype=bool)
    first[1:] = pe[1:] != pe[:-1]
    gap_from = np.where(first, start, np.roll(f, 1))
    waits = s > gap_from
    # a wait [a, b) shows the stage in force at a, then every change strictly inside
    lo = np.searchsorted(stage_t, gap_from, side="right")
    hi = np.searchsorted(stage_t, s, side="left")
    n_changes = np.where(waits, np.maximum(hi - lo, 0) + 1, 0)
    per_job = n_changes + 1                                  # the waits, then busy
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
    records = [(rec_pe, rec_t, rec_state, rec_held),
               (pes, last_end, np.full(n_pes, State.IDLE), np.full(n_pes, -1)),
               (pes, np.full(n_pes, end), np.full(n_pes, State.IDLE), np.full(n_pes, -1))]
    cat = [np.concatenate([r[i] for r in records]) for i in range(4)]
    o = np.argsort(cat[0], kind="stable")
    return (cat[0][o].astype(np.int32), cat[1][o].astype(np.int64), cat[2][o].astype(np.int8),
            cat[3][o].astype(np.int32))
