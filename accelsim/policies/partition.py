"""Number-partitioning heuristics for P identical PEs, on unit loads.

Each function takes the loads (cycles) of the items to place and returns the PE of every
item. Policies apply them to units (a filter group over all its tiles): see classic.LPT.
"""

from __future__ import annotations

import heapq

import numpy as np

from accelsim.units import ceil_div


def multifit_assignment(loads: np.ndarray, n_pes: int) -> np.ndarray:
    """MULTIFIT (Coffman, Garey and Johnson, SIAM J. Comput. 1978): binary search on a bin
    capacity C, packing with First Fit Decreasing; keeps the smallest C that fits P bins.
    Guarantee 13/11 of optimal (Yue 1990) plus the search's resolution, here exact integers."""
    loads = np.asarray(loads, dtype=np.int64)
    if len(loads) == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(-loads, kind="stable")
    total = int(loads.sum())
    lo = max(ceil_div(total, n_pes), int(loads.max())) - 1   # FFD cannot do better than this
    hi = max(ceil_div(2 * total, n_pes), int(loads.max()))   # FFD always fits here (CGJ)
    best = _ffd(loads, order, n_pes, hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        packed = _ffd(loads, order, n_pes, mid)
        if packed is None:
            lo = mid
        else:
            hi, best = mid, packed
    return best


def _ffd(loads, order, n_pes, capacity) -> np.ndarray | None:
    """First Fit Decreasing into n_pes bins of `capacity`; None if an item does not fit."""
    bins = np.zeros(n_pes, dtype=np.int64)
    pe_of = np.empty(len(loads), dtype=np.int64)
    for i in order:
        fits = np.flatnonzero(bins <= capacity - loads[i])
        if not len(fits):
            return None
        pe_of[i] = fits[0]
        bins[fits[0]] += loads[i]
    return pe_of


def kk_assignment(loads: np.ndarray, n_pes: int) -> np.ndarray:
    """Karmarkar-Karp largest differencing, m-way (Karmarkar and Karp 1982; the form Korf
    uses to seed complete search): every item starts as a partition (load, 0, ..., 0); the
    two partitions with the largest spread (max - min) are merged, largest subset with
    smallest, until one partition is left. Typically within a fraction of a percent of
    optimal on many-item instances."""
    loads = np.asarray(loads, dtype=np.int64)
    n = len(loads)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    # node k < n is item k; node n + i is the i-th merge. a_of[s] / b_of[s] name the subsets
    # of the two merged partitions that form subset s of the result.
    merges: list[tuple[int, int, np.ndarray, np.ndarray]] = []
    heap = []
    for i in range(n):
        sums = np.zeros(n_pes, dtype=np.int64)
        sums[0] = loads[i]
        heap.append((-int(loads[i]), i, i, sums))
    heapq.heapify(heap)
    counter = n
    while len(heap) > 1:
        _, _, node_a, a = heapq.heappop(heap)
        _, _, node_b, b = heapq.heappop(heap)
        b_rev = np.arange(n_pes)[::-1]                 # a descending meets b ascending
        merged = a + b[b_rev]
        order = np.argsort(-merged, kind="stable")
        merged = merged[order]
        merges.append((node_a, node_b, order, b_rev[order]))
        spread = int(merged[0] - merged[-1])
        heapq.heappush(heap, (-spread, counter, n + len(merges) - 1, merged))
        counter += 1
    root = heap[0][2]
    pe_of = np.empty(n, dtype=np.int64)
    stack = [(root, np.arange(n_pes))]
    while stack:
        node, pe_of_subset = stack.pop()
        if node < n:
            pe_of[node] = pe_of_subset[0]
            continue
        node_a, node_b, a_of, b_of = merges[node - n]
        map_a = np.empty(n_pes, dtype=np.int64)
        map_b = np.empty(n_pes, dtype=np.int64)
        map_a[a_of] = pe_of_subset
        map_b[b_of] = pe_of_subset
        stack.append((node_a, map_a))
        stack.append((node_b, map_b))
    return pe_of


def lockstep_rounds(loads: np.ndarray, n_pes: int) -> tuple[np.ndarray, np.ndarray]:
    """Density grouping for lock-step hardware, after SparTen's greedy balancing (Gondimalla
    et al., MICRO 2019): sort by load and deal in rounds of P, snaking (PE 0..P-1, then
    P-1..0), so the items broadcast together are of similar length and no round waits long
    for its densest member; snaking also evens the PEs' totals. Returns (PE, round)."""
    loads = np.asarray(loads, dtype=np.int64)
    order = np.argsort(-loads, kind="stable")
    pe_of = np.empty(len(loads), dtype=np.int64)
    rank = np.empty(len(loads), dtype=np.int64)
    for k, i in enumerate(order):
        r, pos = divmod(k, n_pes)
        pe_of[i] = pos if r % 2 == 0 else n_pes - 1 - pos
        rank[i] = k
    return pe_of, rank


def improve_assignment(loads: np.ndarray, pe_of: np.ndarray, n_pes: int,
                       max_rounds: int = 10_000) -> np.ndarray:
    """Local search: move one item off the most loaded PE, or swap it for a smaller item of
    another PE, whenever that lowers the larger of the two loads; the best such move each
    round, until none is left. Never makes the makespan worse; each move strictly lowers
    the sum of squared loads, so it ends."""
    loads = np.asarray(loads, dtype=np.int64)
    pe_of = np.array(pe_of, dtype=np.int64)
    pe_load = np.bincount(pe_of, weights=loads, minlength=n_pes).astype(np.int64)
    everyone = np.arange(n_pes)
    for _ in range(max_rounds):
        top = int(np.argmax(pe_load))
        mine = np.flatnonzero(pe_of == top)
        if len(mine) == 0 or n_pes == 1:
            break
        others = np.flatnonzero(pe_of != top)
        peers = everyone[everyone != top]
        # candidates on other PEs: their items (a swap) and nothing at all (a move)
        v = np.concatenate((loads[others], np.zeros(len(peers), dtype=np.int64)))
        v_pe = np.concatenate((pe_of[others], peers))
        v_item = np.concatenate((others, np.full(len(peers), -1)))
        gap = pe_load[top] - pe_load[v_pe]
        d = loads[mine][:, None] - v[None, :]
        gain = np.where((d > 0) & (d < gap), np.minimum(d, gap - d), 0)
        best = int(np.argmax(gain))
        if gain.flat[best] <= 0:
            break
        i, k = divmod(best, len(v))
        item, q, swap, moved = mine[i], int(v_pe[k]), int(v_item[k]), int(d[i, k])
        pe_of[item] = q
        if swap >= 0:
            pe_of[swap] = top
        pe_load[top] -= moved
        pe_load[q] += moved
    return pe_of
