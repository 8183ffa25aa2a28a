"""How many cycles a static plan needs at least from each broadcast's delivery to its end.

Why: the mapper stops a candidate's SimPy run once it cannot beat the best so far. Waiting
for the clock to pass the best cycles makes a run that falls behind early pay for almost
all of its run; with these suffix bounds it stops as soon as the time now plus the least
time still to go from the dispatcher's position passes the best.

The dispatch of `closed_form.ideal_memory_end` (every block on chip, the same broadcasts,
queues and interconnect) is a max-plus system: a delivery D[g] >= D[g-1] + noc[g] and
>= the end of each job holding a member's queue slot + noc[g]; a job ends at
F[m] >= max(D[g], F[previous job on its PE]) + cycles[m]; the layer ends at or after every
F[m] and, for a job into a written tile, a latency and the tile's write transfer after it.
In a real run, on any buffers, prefetch or port, every one of these inequalities holds (a
wait only adds to the right-hand sides), so the end is at least D[g] plus the longest path
from g's delivery to the end in this system: `after_delivery[g]`, computed backwards over
the broadcasts. The dispatcher delivers broadcast g no earlier than it reaches it, so at any
moment the run has not yet passed the broadcast it works on, the layer ends at least
`now + after_delivery[position]` (`assemble.simulate`'s `remaining_cycles`).
"""

from __future__ import annotations

import numpy as np

from accelsim.config import Hardware
from accelsim.engine import closed_form
from accelsim.engine.broadcasts import Broadcasts
from accelsim.workload.jobs import LayerJobs


def after_delivery(layer: LayerJobs, bc: Broadcasts, hw: Hardware) -> np.ndarray:
    """Per broadcast g, the least cycles from its delivery to the layer's end (module
    docstring); `noc[0] + after_delivery[0]` is `closed_form.ideal_memory_end`."""
    n_groups = bc.n_groups
    if not n_groups:
        return np.zeros(0, dtype=np.int64)
    m_pe, off = bc.pe, bc.offsets
    m_c = np.asarray(layer.cycles, dtype=np.int64)[bc.job]
    by_pe, prev, _, _, noc = closed_form._deliveries(layer, bc, hw)
    counts = np.bincount(m_pe, minlength=hw.n_pes)
    depth = hw.input_queue_depth
    n = len(m_pe)
    # the job after each on its PE, and the member whose slot each job's end frees
    after = np.full(n, -1, dtype=np.int64)
    after[prev[prev >= 0]] = np.flatnonzero(prev >= 0)
    frees = np.full(n, -1, dtype=np.int64)
    if counts.max(initial=0) > depth:
        back = closed_form._back(by_pe, counts, depth)
        frees[back[back >= 0]] = np.flatnonzero(back >= 0)
    # after a job's end: its tile's write-back, if the tile is written
    write = np.asarray(layer.output_write_bytes, dtype=np.int64)[
        layer.column("output_block")[bc.job]
    ]
    tail = np.where(
        write > 0, hw.dram_latency_cycles + closed_form._cycles(write, hw.dram_bytes_per_cycle), 0
    )
    gid = np.repeat(np.arange(n_groups), np.diff(off))
    after_l, frees_l, c_l, tail_l, gid_l = (a.tolist() for a in (after, frees, m_c, tail, gid))
    off_l, noc_l = off.tolist(), noc.tolist()
    from_end = [0] * n  # least cycles from each job's end to the layer's end
    from_delivery = [0] * n_groups
    for g in range(n_groups - 1, -1, -1):
        best = noc_l[g + 1] + from_delivery[g + 1] if g + 1 < n_groups else 0
        for m in range(off_l[g], off_l[g + 1]):
            t = tail_l[m]
            a = after_l[m]
            if a >= 0 and c_l[a] + from_end[a] > t:
                t = c_l[a] + from_end[a]
            f = frees_l[m]
            if f >= 0:
                h = gid_l[f]
                if noc_l[h] + from_delivery[h] > t:
                    t = noc_l[h] + from_delivery[h]
            from_end[m] = t
            if c_l[m] + t > best:
                best = c_l[m] + t
        from_delivery[g] = best
    return np.asarray(from_delivery, dtype=np.int64)


__all__ = ["after_delivery"]
