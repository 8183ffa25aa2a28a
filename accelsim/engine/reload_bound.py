"""Bytes a buffer of a given capacity must load again, whatever it chooses to evict.

A buffer serves a fixed sequence of *uses*: at use t, a set of blocks S_t must all be in it
at once (a broadcast's weight blocks, its input block, the output tile a job starts). Take a
block b used at t1 and next at t2 > t1 + 1. At every use t strictly between, either b is
still in the buffer, or it left after t1 and must come back before t2: one more load of b's
bytes inside (t1, t2). So with the variable z_I = 1 when interval I = (t1, t2) of a block of
w_I bytes has such a reload, any buffer that never holds more than C bytes satisfies, at each
use t,

    sum of w_I z_I over the intervals I that contain t  >=  d_t
    d_t = live_t + |S_t| - C      live_t: the bytes of the blocks whose interval contains t

(blocks kept across t and the blocks of S_t share C), and it reloads at least sum w_I z_I
bytes. Relaxing y_I = w_I z_I to any value in [0, w_I] leaves a covering problem on a line:
each y_I covers a contiguous run of uses. `reload_bytes_bound` returns its exact optimum,
the greedy that walks the uses in order and covers each deficit from the intervals that
reach furthest ahead: an exchange argument shows some optimum agrees with it step by step
(docs/model.md, "Bounds of the hardware"). The relaxation's optimum is at most any integer
solution's cost, so no buffer can reload fewer bytes, whichever blocks it evicts and
whatever their sizes (Belady's rule is not byte-optimal for blocks of unequal size; this
bound does not rely on it).
"""

from __future__ import annotations

import heapq
import math

import numpy as np


def reload_bytes_bound(
    use: np.ndarray, block: np.ndarray, block_bytes: np.ndarray, capacity_bytes: float
) -> int:
    """A lower bound on the bytes loaded again (beyond each block's first load).

    Parameters
    ----------
    use, block
        Pairs (use index, block id), one per block a use needs, in any order; the uses are
        numbered in the order they happen (repeated pairs count once).
    block_bytes
        Bytes of each block id.
    capacity_bytes
        What the buffer holds; infinite: nothing is ever reloaded.
    """
    use = np.asarray(use, dtype=np.int64)
    block = np.asarray(block, dtype=np.int64)
    sizes = np.asarray(block_bytes, dtype=np.int64)
    if not len(use) or math.isinf(capacity_bytes) or int(sizes.sum()) <= capacity_bytes:
        return 0  # every block fits at once: nothing need leave
    capacity = int(capacity_bytes)
    span = int(use.max()) + 1
    pairs = np.unique(block * span + use)  # each (block, use) once, by block then use
    b, t = pairs // span, pairs % span
    if int(sizes[np.unique(b)].sum()) <= capacity:
        return 0
    n_uses = int(t.max()) + 1
    need = np.bincount(t, weights=sizes[b], minlength=n_uses).astype(np.int64)
    # intervals between consecutive uses of a block that contain at least one use
    again = (b[1:] == b[:-1]) & (t[1:] - t[:-1] >= 2)
    lo, hi, w = t[:-1][again] + 1, t[1:][again] - 1, sizes[b[:-1][again]]
    delta = np.zeros(n_uses + 1, dtype=np.int64)
    np.add.at(delta, lo, w)
    np.add.at(delta, hi + 1, -w)
    live = np.cumsum(delta[:-1])
    demand = np.clip(live + need - capacity, 0, live)  # need > capacity: fit check's job
    return _cover(lo, hi, w, demand)


def _cover(lo: np.ndarray, hi: np.ndarray, w: np.ndarray, demand: np.ndarray) -> int:
    """The least sum of y_I, 0 <= y_I <= w_I, such that the y_I of the intervals
    [lo_I, hi_I] containing each point t sum to at least demand[t] (demand[t] never above
    the w_I of the intervals containing t)."""
    short = np.flatnonzero(demand > 0)
    if not len(short):
        return 0
    order = np.argsort(lo, kind="stable")
    lo, hi, w = lo[order].tolist(), hi[order].tolist(), w[order].tolist()
    heap: list[tuple[int, int]] = []  # (-last use covered, interval), furthest first
    left = w[:]  # bytes of each interval not yet counted
    running = 0  # reloaded bytes counted that cover the current use
    ends: list[tuple[int, int]] = []  # (last use covered, bytes) of counted reloads
    nxt = 0
    total = 0
    for u, d in zip(short.tolist(), demand[short].tolist()):
        while nxt < len(lo) and lo[nxt] <= u:
            heapq.heappush(heap, (-hi[nxt], nxt))
            nxt += 1
        while ends and ends[0][0] < u:  # reloads whose intervals end before u
            running -= heapq.heappop(ends)[1]
        deficit = d - running
        while deficit > 0 and heap:  # demand <= live: intervals containing u suffice
            end, i = heap[0]
            take = min(left[i], deficit)
            left[i] -= take
            if not left[i]:
                heapq.heappop(heap)
            deficit -= take
            total += take
            running += take
            heapq.heappush(ends, (-end, take))
    return total


def spill_bytes_bound(
    queues,
    delivery: np.ndarray,
    output_block: np.ndarray,
    output_bytes: np.ndarray,
    capacity_bytes: float,
    depth: int,
) -> int:
    """A lower bound on the output buffer's spill traffic (out and back) for a static plan:
    `queues[p]` is PE p's jobs in order, `delivery[j]` the index of the broadcast that
    delivers job j, `depth` the PEs' queue depth. The larger of two bounds, each twice (out
    and back) a covering optimum as in `reload_bytes_bound`:

    - per PE: a PE runs its queue in order, so between two of its jobs into one output tile,
      the tile is open (expects more partial sums) when the PE starts each job in between:
      in the buffer or spilled. A spill inside one PE's interval may serve another PE's, so
      the largest per PE counts, not the sum.
    - all PEs: right after broadcast g, PE p has finished at least the jobs its queue holds
      `depth` places before its last job delivered so far (the queue had room), and has not
      started any job of a later broadcast. A tile with a job finished so and a job still to
      be delivered is open, in the buffer or spilled, from that broadcast until the one that
      delivers its last job; the open tiles beyond the capacity are spilled (each tile at
      least once, and read back).
    """
    block = np.asarray(output_block, dtype=np.int64)
    sizes = np.asarray(output_bytes, dtype=np.int64)
    if math.isinf(capacity_bytes) or not len(block) or int(sizes.sum()) <= capacity_bytes:
        return 0  # every tile fits at once: nothing need spill
    best = 0
    for queue in queues:
        if len(queue) > 2:
            jobs = np.asarray(queue, dtype=np.int64)
            best = max(
                best, reload_bytes_bound(np.arange(len(jobs)), block[jobs], sizes, capacity_bytes)
            )
    delivery = np.asarray(delivery, dtype=np.int64)
    n = len(sizes)
    opened = np.full(n, np.iinfo(np.int64).max)  # broadcast after which a job is done
    for queue in queues:
        if len(queue) > depth:
            jobs = np.asarray(queue, dtype=np.int64)
            np.minimum.at(opened, block[jobs[:-depth]], delivery[jobs[depth:]])
    last = np.full(n, -1, dtype=np.int64)
    np.maximum.at(last, block, delivery)
    keep = opened <= last - 1
    if keep.any():
        lo, hi, w = opened[keep], last[keep] - 1, sizes[keep]
        delta = np.zeros(int(hi.max()) + 2, dtype=np.int64)
        np.add.at(delta, lo, w)
        np.add.at(delta, hi + 1, -w)
        live = np.cumsum(delta[:-1])
        best = max(best, _cover(lo, hi, w, np.maximum(live - int(capacity_bytes), 0)))
    return 2 * best
