"""Lower bounds on a static plan's cycles that cost a fraction of simulating the plan.

A planner that scores plans by simulated cycles (hardware-aware's local search) keeps a
candidate only when it is faster than the best so far; a candidate whose lower bound is
already at least that best can be dropped unsimulated, with the same outcome as simulating
it. Each bound here holds for the SimPy model and the closed form alike, at any buffer
sizes, with or without prefetch:

- `port_floor`: no plan of the layer beats its DRAM port, which carries every block of the
  layer and every output tile, one transfer after another, the first a latency after the
  start. It does not depend on the plan.
- `queue`: a PE runs its queue one job after another, the first not before its own blocks
  have crossed the port (a latency and their transfers) and been delivered; at input-queue
  depth 1 each next job is delivered only after the current one has ended, and that
  delivery takes at least the interconnect cycles of the job's input block and (when its
  weights change) its weight block, so jobs and deliveries add up; a job that is its
  tile's only one is followed by that tile's write-back. Read off the plan's queues,
  without its broadcasts.
- `loads`: the dispatch of the plan's broadcasts, each waiting for its blocks' first
  loads as if every load were issued at the start, back to back on the port in the order
  the loader issues them (by broadcast, weights before inputs), then each output tile's
  write-back a latency and its transfer after its last job. The loader never issues a load
  before the start, refetches and write-backs only delay the first loads, and waiting for
  buffer space or the port only raises the terms of a max-plus recurrence: the closed form
  computes exactly this dispatch where every block fits, so it pays only for layers whose
  blocks stream through a buffer that cannot hold them all.

`PlanBounds` holds what the bounds read that does not depend on the plan (durations of each
job, each delivery and each transfer), computed once per layer: a search asks for the
bounds of hundreds of plans of one layer.
"""

from __future__ import annotations

from itertools import chain

import numpy as np

from accelsim.config import Hardware
from accelsim.engine import closed_form
from accelsim.engine.broadcasts import Broadcasts
from accelsim.workload.jobs import LayerJobs


class PlanBounds:
    """The bounds for the plans of one layer on `hw`."""

    def __init__(self, layer: LayerJobs, hw: Hardware):
        self._layer, self._hw = layer, hw
        self._cycles = np.asarray(layer.cycles, dtype=np.int64)
        self._weight_block = layer.column("weight_block")
        self._input_block = layer.column("input_block")
        self._output_block = layer.column("output_block")
        dram, noc = hw.dram_bytes_per_cycle, hw.noc_bytes_per_cycle
        # per job: the interconnect cycles of its delivery, without and with its weights
        inputs = np.asarray(layer.input_bytes, dtype=np.int64)[self._input_block]
        weights = np.asarray(layer.weight_bytes, dtype=np.int64)[self._weight_block]
        self._noc = closed_form._cycles(inputs, noc)
        self._noc_weights = closed_form._cycles(inputs + weights, noc)
        # per block: the port cycles of the two parts of its first load (a weight block's
        # bytes and nothing; an input block's unique bytes, then its halo)
        w_bytes = np.asarray(layer.weight_bytes, dtype=np.int64)
        unique = np.asarray(layer.input_unique_bytes, dtype=np.int64)
        self._load_cycles = (
            closed_form._cycles(np.column_stack((w_bytes, np.zeros_like(w_bytes))), dram),
            closed_form._cycles(
                np.column_stack((unique, np.asarray(layer.input_bytes) - unique)), dram
            ),
        )
        write = np.asarray(layer.output_write_bytes, dtype=np.int64)
        self._written = write > 0  # a tile written back with no byte waits for nothing
        self._write_cycles = closed_form._cycles(write, dram)
        latency = hw.dram_latency_cycles
        # per job: before it can start on its PE, its own blocks must have crossed the port
        # (a latency, then each load's parts) and, when it is the PE's first, be delivered
        # with its weights; after it ends, its tile's write-back when it is the tile's only
        # job (the write-back then waits for it alone)
        self._head = latency + np.maximum(
            self._load_cycles[0].sum(axis=1)[self._weight_block],
            self._load_cycles[1].sum(axis=1)[self._input_block],
        )
        if hw.input_queue_depth != 1:  # at depth 1 every delivery is counted in `queue`
            self._head = self._head + self._noc_weights
        alone = (layer.output_uses == 1) & self._written
        self._tail = np.where(
            alone[self._output_block], latency + self._write_cycles[self._output_block], 0
        )
        self.port_floor = self._port_floor()

    def _port_floor(self) -> int:
        """The DRAM port's own time for the layer: a latency, then every used block's first
        load and every output tile's write-back back to back. 0 without jobs."""
        if not self._layer.n_jobs:
            return 0
        loads = sum(
            int(c[np.unique(used)].sum())
            for c, used in zip(self._load_cycles, (self._weight_block, self._input_block))
        )
        writes = int(self._write_cycles[self._layer.output_uses > 0].sum())
        return self._hw.dram_latency_cycles + loads + writes

    def queue(self, queues) -> int:
        """Over the PEs, the latest end of a job in the PE's queue order: the first job's
        blocks loaded and delivered, then the jobs' cycles one after another plus, at
        input-queue depth 1, each job's delivery over the interconnect (its input block, and
        its weight block when the PE's previous job used another); after a job, its tile's
        write-back when it is the tile's only job."""
        lengths = np.fromiter(map(len, queues), dtype=np.int64, count=len(queues))
        pe = np.repeat(np.arange(len(queues)), lengths)
        job = np.fromiter(chain.from_iterable(queues), dtype=np.int64, count=len(pe))
        if not len(job):
            return 0
        first = np.zeros(len(job), dtype=bool)
        first[np.cumsum(lengths)[lengths > 0] - lengths[lengths > 0]] = True
        per_job = self._cycles[job]
        if self._hw.input_queue_depth == 1:
            w = self._weight_block[job]
            new = first.copy()
            new[1:] |= w[1:] != w[:-1]
            per_job = per_job + np.where(new, self._noc_weights[job], self._noc[job])
        done = np.cumsum(per_job)
        start = np.flatnonzero(first)  # where each PE's queue begins, in PE order
        before = (done - per_job)[start]  # cycles of the PEs before it
        k = np.cumsum(first) - 1  # the queue each job is in, among the non-empty ones
        ends = done - before[k] + self._head[job[start]][k]
        return int((ends + self._tail[job]).max())

    def loads(self, bc: Broadcasts) -> int:
        """The plan's dispatch with every block ready when its first load, issued at the
        start in the loader's order, has crossed the port; then each tile's own
        write-back."""
        layer, hw = self._layer, self._hw
        if not layer.n_jobs:
            return 0
        off, m_pe, m_c = bc.offsets, bc.pe, self._cycles[bc.job]
        gid = np.repeat(np.arange(bc.n_groups), np.diff(off))
        m_w, m_i = self._weight_block[bc.job], self._input_block[bc.job]
        # first loads in the loader's order: by broadcast of first use, weights first, then
        # in order of first use within the broadcast
        firsts = []
        for kind, used, cycles in zip((0, 1), (m_w, m_i), self._load_cycles):
            used_blocks, used_first = np.unique(used, return_index=True)
            firsts.append(
                (used_blocks, used_first, np.full(len(used_blocks), kind), cycles[used_blocks])
            )
        blocks, first, operand, part_cycles = (np.concatenate(c) for c in zip(*firsts))
        order = np.lexsort((first, operand, gid[first]))
        part_end = closed_form._fifo(
            np.zeros(2 * len(order), dtype=np.int64),
            part_cycles[order].ravel(),
            hw.dram_latency_cycles,
            0,
        )
        loaded = np.empty(len(order), dtype=np.int64)
        loaded[order] = part_end[1::2]
        n_w = len(firsts[0][0])
        ready_w = np.zeros(len(layer.weight_bytes), np.int64)
        ready_i = np.zeros(len(layer.input_bytes), np.int64)
        ready_w[blocks[:n_w]] = loaded[:n_w]
        ready_i[blocks[n_w:]] = loaded[n_w:]
        g_ready_w = np.maximum.reduceat(ready_w[m_w], off[:-1])
        g_ready_i = ready_i[m_i[off[:-1]]]
        by_pe, prev, _, _, noc = closed_form._deliveries(layer, bc, hw)
        counts = np.bincount(m_pe, minlength=hw.n_pes)
        depth = hw.input_queue_depth
        if counts.max(initial=0) <= depth:
            _, delivered, _ = closed_form._decoupled(0, g_ready_w, g_ready_i, noc)
            finish = np.empty(len(m_pe), dtype=np.int64)
            finish[by_pe] = closed_form._segment_scan(
                m_pe[by_pe], delivered[gid][by_pe], m_c[by_pe]
            )
        else:
            back = closed_form._back(by_pe, counts, depth)
            _, finish, _ = closed_form._lock_step(
                0, off, m_pe, m_c, back, prev, g_ready_w, g_ready_i, noc, depth == 1
            )
        last_end = np.full(len(layer.output_bytes), -1, dtype=np.int64)
        np.maximum.at(last_end, self._output_block[bc.job], finish)
        written = (last_end >= 0) & self._written
        tail = last_end[written] + hw.dram_latency_cycles + self._write_cycles[written]
        return int(max(finish.max(), tail.max(initial=0)))
