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
from itertools import chain

import numpy as np


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
    sequence: list[list[int]], sizes: list[int], capacity_bytes: float
) -> dict[int, tuple[int, ...]]:
    """For each load that needs room, the blocks to evict first, keyed by the load's flat
    index in `sequence` (position by position, member by member).

    A block is resident from its load until it is evicted or until the end of the position
    of its last use. A load at position q that does not fit evicts resident blocks not used
    at q, the one whose next use is furthest ahead first (ties: the one that entered the
    ranking first), until it fits; blocks used at position q - 1 come last, furthest first,
    because without prefetch the loads of q are issued while q - 1 still computes with them
    (pure Belady evicts exactly those under cyclic reuse, and every load would wait for a
    job to end). Every victim is used again only after q: the loader never evicts a block
    it needs before the one it loads. A position's distinct blocks must fit the capacity
    together (`check_fits`)."""
    if math.isinf(capacity_bytes):
        return {}
    uses, nxt, stop = next_uses(sequence, len(sizes))
    last = [-1] * len(sizes)  # the last position that used each block so far
    resident = bytearray(len(sizes))
    used = 0
    ranking: list[tuple[int, int, int]] = []  # (-next use, entry order, block), lazily pruned
    entries = 0
    plan: dict[int, tuple[int, ...]] = {}
    flat = 0
    for pos, blocks in enumerate(sequence):
        for b in blocks:
            nxt[b] += 1
            if not resident[b]:
                victims = []
                held = []  # entries of blocks used at q - 1 or at q, furthest first
                while capacity_bytes - used < sizes[b]:
                    v = -1
                    while ranking:
                        entry = heapq.heappop(ranking)
                        neg_next, _, u = entry
                        # stale once its block left or was used since it was ranked
                        if not resident[u] or nxt[u] >= stop[u] or uses[nxt[u]] != -neg_next:
                            continue
                        if last[u] == pos - 1 or -neg_next == pos:
                            held.append(entry)
                            continue
                        v = u
                        break
                    if v < 0:
                        if not held or -held[0][0] == pos:
                            raise ValueError(
                                f"position {pos}'s blocks do not fit {capacity_bytes} B together"
                            )
                        v = held.pop(0)[2]
                    resident[v] = False
                    used -= sizes[v]
                    victims.append(v)
                for entry in held:
                    heapq.heappush(ranking, entry)
                if victims:
                    plan[flat] = tuple(victims)
                resident[b] = True
                used += sizes[b]
            flat += 1
        for b in dict.fromkeys(blocks):  # the position is done: rank or drop its blocks
            last[b] = pos
            if nxt[b] < stop[b]:
                heapq.heappush(ranking, (-uses[nxt[b]], entries, b))
                entries += 1
            elif resident[b]:
                resident[b] = False
                used -= sizes[b]
    return plan
