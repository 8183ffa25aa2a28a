"""The order in which a static plan's jobs are broadcast, as flat arrays both engines read.

A streaming accelerator walks its input tiles: the dispatcher repeatedly takes the lowest
input block any PE needs next and sends it to every PE whose next job reads it, one job
each, never reordering a PE's own jobs (see accelsim.engine.hw.dispatch).
"""

from __future__ import annotations

import heapq
from itertools import chain

import numpy as np
from attrs import frozen

from accelsim.workload.jobs import LayerJobs


@frozen
class Broadcasts:
    """A static plan's deliveries in dispatch order, flat: member m delivers job `job[m]` to
    PE `pe[m]`; broadcast g is members offsets[g]:offsets[g + 1] (see dispatch.static_groups)."""

    pe: np.ndarray
    job: np.ndarray
    offsets: np.ndarray

    @property
    def n_groups(self) -> int:
        return len(self.offsets) - 1

    def groups(self, layer: LayerJobs, jobs=None) -> list:
        """The broadcasts as the SimPy dispatcher's Group values, of `jobs` (the layer's
        RunJobs; by default `layer.run_jobs()`)."""
        from accelsim.engine.hw.dispatch import Group

        jobs, off = layer.run_jobs() if jobs is None else jobs, self.offsets.tolist()
        pe, job = self.pe.tolist(), list(map(jobs.__getitem__, self.job.tolist()))
        out = []
        for lo, hi in zip(off, off[1:]):
            members = tuple(zip(pe[lo:hi], job[lo:hi]))
            out.append(Group(members[0][1].input_block, members))
        return out

    def weight_bytes_at_once(self, layer: LayerJobs) -> np.ndarray:
        """Per broadcast, the bytes of the distinct weight blocks its members need on chip."""
        gid = np.repeat(np.arange(self.n_groups), np.diff(self.offsets))
        block = layer.column("weight_block")[self.job]
        n_blocks = max(len(layer.weight_bytes), 1)
        pairs = np.unique(gid * n_blocks + block)  # (broadcast, block), each pair once
        return np.bincount(
            pairs // n_blocks,
            weights=np.asarray(layer.weight_bytes)[pairs % n_blocks],
            minlength=self.n_groups,
        ).astype(np.int64)


def broadcasts(queues, layer: LayerJobs) -> Broadcasts:
    """The broadcast order of dispatch.static_groups: repeatedly the lowest input block any
    PE needs next, to every PE whose next job reads it. When every queue reads its input
    blocks in non-decreasing order (tile by tile), the k-th job of PE p on block b goes out
    in the k-th broadcast of b, so a sort by (block, k, PE) gives the order at once."""
    input_block = layer.column("input_block")
    lengths = [len(q) for q in queues]
    pe = np.repeat(np.arange(len(queues)), lengths)
    job = np.fromiter(chain.from_iterable(queues), dtype=np.int64, count=len(pe))
    block = input_block[job]
    pe_start = np.concatenate(([0], np.cumsum(lengths))).tolist()
    same_pe = pe[1:] == pe[:-1]
    if (same_pe & (block[1:] < block[:-1])).any():  # a queue goes back: the merge
        return _merge(queues, [block[a:z].tolist() for a, z in zip(pe_start, pe_start[1:])])
    # k: how many earlier jobs of the same PE read the same block
    first_of_run = np.ones(len(pe), dtype=bool)
    first_of_run[1:] = (block[1:] != block[:-1]) | ~same_pe
    run_start = np.maximum.accumulate(np.where(first_of_run, np.arange(len(pe)), 0))
    k = np.arange(len(pe)) - run_start
    order = np.lexsort((pe, k, block))
    new_group = np.ones(len(order), dtype=bool)
    new_group[1:] = (block[order][1:] != block[order][:-1]) | (k[order][1:] != k[order][:-1])
    return Broadcasts(
        pe[order], job[order], np.append(np.flatnonzero(new_group), len(order)).astype(np.int64)
    )


def _merge(queues, blocks: list[list[int]]) -> Broadcasts:
    """dispatch.static_groups (the reference the tests compare with) on plain ints: the
    same heap merge of the queues by input block (`blocks[p]`: the input block of each job
    of queue p), without a Job or a Group per delivery. Planners score thousands of plans
    that walk units (their queues go back to earlier tiles), so this runs per plan."""
    heads = [(b[0], p) for p, b in enumerate(blocks) if b]
    heapq.heapify(heads)
    position = [0] * len(queues)
    out_pe: list[int] = []
    out_job: list[int] = []
    offsets = [0]
    while heads:
        block = heads[0][0]
        members = []
        while heads and heads[0][0] == block:
            members.append(heapq.heappop(heads)[1])
        for p in members:
            k = position[p]
            out_pe.append(p)
            out_job.append(queues[p][k])
            position[p] = k = k + 1
            if k < len(blocks[p]):
                heapq.heappush(heads, (blocks[p][k], p))
        offsets.append(len(out_pe))
    return Broadcasts(
        np.array(out_pe, dtype=np.int64),
        np.array(out_job, dtype=np.int64),
        np.array(offsets, dtype=np.int64),
    )
