"""The order in which a static plan's jobs are broadcast, as flat arrays both engines read.

A streaming accelerator walks its input tiles: the dispatcher repeatedly takes the lowest
input block any PE needs next and sends it to every PE whose next job reads it, one job
each, never reordering a PE's own jobs (see accelsim.engine.hw.dispatch).
"""

from __future__ import annotations

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

    def groups(self, layer: LayerJobs) -> list:
        """The broadcasts as the SimPy dispatcher's Group values."""
        from accelsim.engine.hw.dispatch import Group

        jobs, off = layer.jobs, self.offsets.tolist()
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
    same_pe = pe[1:] == pe[:-1]
    if (same_pe & (block[1:] < block[:-1])).any():
        from accelsim.engine.hw.dispatch import static_groups  # a queue goes back: the merge

        groups = static_groups(queues, layer)
        return Broadcasts(
            np.fromiter((p for g in groups for p, _ in g.members), dtype=np.int64, count=len(pe)),
            np.fromiter(
                (j.index for g in groups for _, j in g.members), dtype=np.int64, count=len(pe)
            ),
            np.concatenate(([0], np.cumsum([len(g.members) for g in groups]))).astype(np.int64),
        )
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
