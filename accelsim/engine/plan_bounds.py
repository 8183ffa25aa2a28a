"""Lower bounds on a static plan's cycles that cost a fraction of simulating the plan.

A planner that scores plans by simulated cycles (hardware-aware's local search) keeps a
candidate only when it is faster than the best so far; a candidate whose lower bound is
already at least that best can be dropped unsimulated, with the same outcome as simulating
it. Each bound here holds for the SimPy model and the closed form alike, at any buffer
sizes, with or without prefetch:

- `port_floor`: no plan of the layer beats its DRAM port, which carries every block of the
  layer and every output tile, one transfer after another, the first a latency after the
  start. It does not depend on the plan.
- `queue_bound`: at input-queue depth 1 a PE's next job is delivered only after its current
  job has ended, and that delivery takes at least the interconnect cycles of the PE's own
  input block and (when its weights change) its weight block; so each PE's jobs and their
  deliveries add up. Read off the plan's queues, without its broadcasts.
- `loads_bound`: the dispatch of the plan's broadcasts, each waiting for its blocks' first
  loads as if every load were issued at the start, back to back on the port in the order
  the loader issues them (by broadcast, weights before inputs), then each output tile's
  write-back a latency and its transfer after its last job. The loader never issues a load
  before the start, refetches and write-backs only delay the first loads, and waiting for
  buffer space or the port only raises the terms of a max-plus recurrence: the closed form
  computes exactly this dispatch where every block fits, so it pays only for layers whose
  blocks stream through a buffer that cannot hold them all.
"""

from __future__ import annotations

from itertools import chain

import numpy as np

from accelsim.config import Hardware
from accelsim.engine import closed_form
from accelsim.engine.broadcasts import Broadcasts
from accelsim.workload.jobs import LayerJobs


def _load_parts(layer: LayerJobs) -> tuple[np.ndarray, np.ndarray]:
    """Per weight block and per input block, the bytes of the two parts its first load moves
    (a weight block's bytes and nothing; an input block's unique bytes, then its halo)."""
    weights = np.asarray(layer.weight_bytes, dtype=np.int64)
    weights = np.column_stack((weights, np.zeros_like(weights)))
    unique = np.asarray(layer.input_unique_bytes, dtype=np.int64)
    inputs = np.column_stack((unique, np.asarray(layer.input_bytes, dtype=np.int64) - unique))
    return weights, inputs


def port_floor(layer: LayerJobs, hw: Hardware) -> int:
    """The DRAM port's own time for the layer: a latency, then every used block's first
    load and every output tile's write-back back to back. 0 without jobs."""
    if not layer.n_jobs:
        return 0
    weights, inputs = _load_parts(layer)
    rate = hw.dram_bytes_per_cycle
    parts = [
        closed_form._cycles(weights[np.unique(layer.column("weight_block"))], rate),
        closed_form._cycles(inputs[np.unique(layer.column("input_block"))], rate),
        closed_form._cycles(np.asarray(layer.output_write_bytes)[layer.output_uses > 0], rate),
    ]
    return hw.dram_latency_cycles + int(sum(int(p.sum()) for p in parts))


def queue_bound(layer: LayerJobs, hw: Hardware, queues) -> int:
    """The largest over the PEs of their jobs' cycles plus, at input-queue depth 1, each
    job's delivery over the interconnect (its input block, and its weight block when the
    PE's previous job used another), in the order of the PE's queue."""
    lengths = [len(q) for q in queues]
    pe = np.repeat(np.arange(len(queues)), lengths)
    job = np.fromiter(chain.from_iterable(queues), dtype=np.int64, count=len(pe))
    per_job = np.asarray(layer.cycles, dtype=np.int64)[job]
    if hw.input_queue_depth == 1 and len(job):
        w = layer.column("weight_block")[job]
        new = np.ones(len(job), dtype=bool)
        new[1:] = (w[1:] != w[:-1]) | (pe[1:] != pe[:-1])
        delivered = np.asarray(layer.input_bytes, dtype=np.int64)[
            layer.column("input_block")[job]
        ] + np.where(new, np.asarray(layer.weight_bytes, dtype=np.int64)[w], 0)
        per_job = per_job + closed_form._cycles(delivered, hw.noc_bytes_per_cycle)
    return int(np.bincount(pe, weights=per_job, minlength=1).max())


def loads_bound(layer: LayerJobs, bc: Broadcasts, hw: Hardware) -> int:
    """The plan's dispatch with every block ready when its first load, issued at the start
    in the loader's order, has crossed the port; then each tile's own write-back."""
    if not layer.n_jobs:
        return 0
    off, m_pe, m_c = bc.offsets, bc.pe, np.asarray(layer.cycles, dtype=np.int64)[bc.job]
    gid = np.repeat(np.arange(bc.n_groups), np.diff(off))
    m_w = layer.column("weight_block")[bc.job]
    m_i = layer.column("input_block")[bc.job]
    # first loads in the loader's order: by broadcast of first use, weights first, then
    # in order of first use within the broadcast
    firsts = []
    for kind, used, sizes in zip((0, 1), (m_w, m_i), _load_parts(layer)):
        used_blocks, used_first = np.unique(used, return_index=True)
        firsts.append(
            (used_blocks, used_first, np.full(len(used_blocks), kind), sizes[used_blocks])
        )
    blocks, first, operand, parts = (np.concatenate(c) for c in zip(*firsts))
    order = np.lexsort((first, operand, gid[first]))
    part_cycles = closed_form._cycles(parts[order].ravel(), hw.dram_bytes_per_cycle)
    part_end = closed_form._fifo(
        np.zeros(len(part_cycles), dtype=np.int64), part_cycles, hw.dram_latency_cycles, 0
    )
    loaded = np.empty(len(order), dtype=np.int64)
    loaded[order] = part_end[1::2]
    n_w = len(firsts[0][0])
    ready = [
        np.zeros(len(layer.weight_bytes), np.int64),
        np.zeros(len(layer.input_bytes), np.int64),
    ]
    ready[0][blocks[:n_w]] = loaded[:n_w]
    ready[1][blocks[n_w:]] = loaded[n_w:]
    ready_w = np.maximum.reduceat(ready[0][m_w], off[:-1])
    ready_i = ready[1][m_i[off[:-1]]]
    by_pe, prev, _, _, noc = closed_form._deliveries(layer, bc, hw)
    counts = np.bincount(m_pe, minlength=hw.n_pes)
    depth = hw.input_queue_depth
    if counts.max(initial=0) <= depth:
        _, delivered, _ = closed_form._decoupled(0, ready_w, ready_i, noc)
        finish = np.empty(len(m_pe), dtype=np.int64)
        finish[by_pe] = closed_form._segment_scan(m_pe[by_pe], delivered[gid][by_pe], m_c[by_pe])
    else:
        back = closed_form._back(by_pe, counts, depth)
        _, finish, _ = closed_form._lock_step(
            0, off, m_pe, m_c, back, prev, ready_w, ready_i, noc, depth == 1
        )
    last_end = np.full(len(layer.output_bytes), -1, dtype=np.int64)
    np.maximum.at(last_end, layer.column("output_block")[bc.job], finish)
    write_bytes = np.asarray(layer.output_write_bytes, dtype=np.int64)
    written = (last_end >= 0) & (write_bytes > 0)
    tail = (
        last_end[written]
        + hw.dram_latency_cycles
        + closed_form._cycles(write_bytes[written], hw.dram_bytes_per_cycle)
    )
    return int(max(finish.max(), tail.max(initial=0)))
