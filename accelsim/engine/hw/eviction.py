"""Which blocks each load evicts: one plan per buffer and layer, made before the layer runs.

Shared by both engines (the SimPy `BlockBuffer` and the closed form's `_Loader`). The plan is
Belady's (furthest next use first) applied to the fetch sequence as if each position's loads
were issued when that position is needed, so it does not depend on timing: the loader makes
the same loads and the same evictions with or without prefetch, and prefetch only issues
them earlier (the "conservative" integrated prefetching of Cao, Felten, Karlin and Li,
SIGMETRICS 1995). A loader that chose its victims at the moment it runs ahead would instead
evict blocks it is about to need for blocks needed later, and refetch them (issue 26).
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from itertools import chain

import numpy as np

DEAD = 1  # in place of minus the next use: the block is not used again


def next_uses(sequence: list[list[int]], n_blocks: int) -> tuple[list[int], list[int], list[int]]:
    """Every position that uses each block, in order, flat: block b's uses are
    `uses[start[b]:stop[b]]` (one list per block would cost far more memory)."""
    count = list(map(len, sequence))
    block = np.fromiter(chain.from_iterable(sequence), dtype=np.int64, count=sum(count))
    pos = np.repeat(np.arange(len(sequence), dtype=np.int64), count)
    order = np.argsort(block, kind="stable")
    bounds = np.searchsorted(block[order], np.arange(n_blocks + 1)).tolist()
    return pos[order].tolist(), bounds[:-1], bounds[1:]


def eviction_plan(
    sequence: list[list[int]], sizes: list[int], capacity_bytes: float, in_flight: int = 1
) -> dict[int, tuple[int, ...]]:
    """For each load that needs room, the blocks to evict first, keyed by the load's flat
    index in `sequence` (position by position, member by member).

    A block is resident from its load until it is evicted or until the end of the position
    of its last use. A load at position q that does not fit evicts resident blocks not used
    at q, the one whose next use is furthest ahead first (ties: the one that entered the
    ranking first), until it fits; blocks used at the `in_flight` positions before q come
    last, furthest first, because without prefetch the loads of q are issued while those
    deliveries may still compute with them (pure Belady evicts exactly those under cyclic
    reuse, and every load would wait for a job to end). `in_flight` is how many deliveries
    the PEs' queues hold: the queue depth for broadcasts to every PE, the number of PEs
    times the depth for a central queue. Every victim is used again only after q: the
    loader never evicts a block it needs before the one it loads. The ranking does not
    depend on the capacity (a stack algorithm). A position's distinct blocks must fit the
    capacity together (`check_fits`)."""
    if math.isinf(capacity_bytes) or sum(sizes) <= capacity_bytes:
        return {}  # every block fits at once: no load ever needs room
    uses, nxt, stop = next_uses(sequence, len(sizes))
    resident = bytearray(len(sizes))
    used = 0
    # (-next use, entry order, block) of the blocks last used before the deliveries that may
    # still compute, furthest first; lazily pruned (an entry is stale once its block has
    # left or been used again)
    ranking: list[tuple[int, int, int]] = []
    # the same entries of the blocks those deliveries used, by position: the oldest
    # delivery is the likeliest to have finished, so its blocks go first
    recent: deque[tuple[int, tuple[int, int, int]]] = deque()
    entries = 0
    plan: dict[int, tuple[int, ...]] = {}
    flat = 0

    def valid(entry: tuple[int, int, int]) -> bool:
        u = entry[2]
        return bool(resident[u]) and nxt[u] < stop[u] and uses[nxt[u]] == -entry[0]

    for pos, blocks in enumerate(sequence):
        while recent and recent[0][0] < pos - in_flight:  # that delivery has finished
            entry = recent.popleft()[1]
            if entry[0] == DEAD:
                if resident[entry[2]]:
                    resident[entry[2]] = False
                    used -= sizes[entry[2]]
            else:
                heapq.heappush(ranking, entry)
        for b in blocks:
            nxt[b] += 1
            if not resident[b]:
                victims = []
                while capacity_bytes - used < sizes[b]:
                    v = -1
                    while ranking and not valid(ranking[0]):
                        heapq.heappop(ranking)
                    if ranking and -ranking[0][0] > pos:
                        v = heapq.heappop(ranking)[2]
                    else:  # oldest delivery first, furthest first within one
                        for _, entry in recent:
                            if (
                                entry[0] == DEAD
                                and resident[entry[2]]
                                or (valid(entry) and -entry[0] > pos)
                            ):
                                v = entry[2]
                                break
                    if v < 0:
                        raise ValueError(
                            f"position {pos}'s blocks do not fit {capacity_bytes} B together"
                        )
                    resident[v] = False
                    used -= sizes[v]
                    if nxt[v] < stop[v]:  # else it leaves when its last job ends: no victim
                        victims.append(v)
                if victims:
                    plan[flat] = tuple(victims)
                resident[b] = True
                used += sizes[b]
            flat += 1
        done = []
        for b in dict.fromkeys(blocks):  # the position is done: rank or drop its blocks
            # a block past its last use still takes room while its delivery may compute
            done.append((-uses[nxt[b]] if nxt[b] < stop[b] else DEAD, entries, b))
            entries += 1
        recent.extend((pos, entry) for entry in sorted(done))
    return plan
