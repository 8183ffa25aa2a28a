"""Number-partitioning heuristics for P identical PEs, on unit loads.

Each function takes the loads (cycles) of the items to place and returns the PE of every
item. Policies apply them to units (a filter group over all its tiles): see classic.LPT.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right

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
    sizes = loads[order].tolist()
    total = int(loads.sum())
    lo = max(ceil_div(total, n_pes), int(loads.max())) - 1   # FFD cannot do better than this
    hi = max(ceil_div(2 * total, n_pes), int(loads.max()))   # FFD always fits here (CGJ)
    best = _ffd(sizes, n_pes, hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if best is not None and mid >= best[1]:
            hi = mid        # FFD packs exactly as at hi for any capacity >= its fullest bin
            continue
        packed = _ffd(sizes, n_pes, mid)
        if packed is None:
            lo = mid
        else:
            hi, best = mid, packed
    pe_of = np.empty(len(loads), dtype=np.int64)
    pe_of[order] = best[0]
    return pe_of


def _ffd(sizes: list[int], n_pes: int, capacity: int) -> tuple[list[int], int] | None:
    """First Fit Decreasing of `sizes` (decreasing) into n_pes bins of `capacity`: (bin of each
    size, fullest bin), or None if a size fits no bin.

    Filled bin by bin, which packs exactly as item by item: an item joins the first bin it
    fits, and a bin takes, largest first, every item that still fits when its turn comes.
    Each step jumps to the first remaining size that fits (a bisection, then `skip`, the next
    remaining position, path-compressed), so a pass costs O(n log n), not O(n P)."""
    n = len(sizes)
    neg = [-s for s in sizes]                      # ascending, for bisect
    skip = list(range(n + 1))                      # skip[i] == i: position i not yet packed

    def next_left(i: int) -> int:
        root = i
        while skip[root] != root:
            root = skip[root]
        while skip[i] != root:
            skip[i], i = root, skip[i]
        return root

    bin_of = [0] * n
    left, fullest = sum(sizes), 0
    for b in range(n_pes):
        first = next_left(0)
        if first == n:
            break
        if sizes[first] > capacity or left > (n_pes - b) * capacity:
            return None                            # some item cannot fit any more
        room, i = capacity, first
        while True:
            i = next_left(bisect_left(neg, -room, i))
            if i == n:
                break
            bin_of[i] = b
            room -= sizes[i]
            skip[i] = i + 1
            i += 1
        left -= capacity - room
        fullest = max(fullest, capacity - room)
    if next_left(0) != n:
        return None
    return bin_of, fullest


def kk_assignment(loads: np.ndarray, n_pes: int) -> np.ndarray:
    """Karmarkar-Karp largest differencing, m-way (Karmarkar and Karp 1982; the form Korf
    uses to seed complete search): every item starts as a partition (load, 0, ..., 0); the
    two partitions with the largest spread (max - min) are merged, largest subset with
    smallest, until one partition is left. Typically within a fraction of a percent of
    optimal on many-item instances.

    A partition keeps only its nonempty subsets (see `_Partition`), so all of them together
    hold at most n, where P sums per partition held n x P; a merge inserts the smaller
    partition's subsets into the larger by bisection, O(smaller x log P), where a dense merge
    sorts P sums. Subsets are joined by union-find over the items, resolved once at the end."""
    loads = np.asarray(loads, dtype=np.int64)
    n = len(loads)
    if n == 0 or n_pes == 1:
        return np.zeros(n, dtype=np.int64)
    sizes = loads.tolist()
    parent = list(range(n))   # union-find: a subset is named by one of its items, its root
    heap: list = [(-s, i, None) for i, s in enumerate(sizes)]   # None: item i on its own
    heapq.heapify(heap)
    counter = n
    while len(heap) > 1:
        _, i, a = heapq.heappop(heap)
        _, j, b = heapq.heappop(heap)
        a = a or _Partition.single(i, sizes[i])
        b = b or _Partition.single(j, sizes[j])
        merged = a.merge(b, n_pes, parent)
        heapq.heappush(heap, (-merged.spread(n_pes), counter, merged))
        counter += 1
    _, i, root = heap[0]
    root = root or _Partition.single(i, sizes[i])
    pe_of_root = np.zeros(n, dtype=np.int64)
    pe_of_root[root.true_reps()] = np.arange(len(root.negs))
    for pos, rep in root.zeros.items():
        pe_of_root[rep] = pos
    find = np.array(parent, dtype=np.int64)
    while True:                                # pointer jumping to every item's root
        up = find[find]
        if np.array_equal(up, find):
            break
        find = up
    return pe_of_root[find]


class _Partition:
    """One partial partition of KK into P subsets, sorted by decreasing sum, ties in the order
    a stable sort of the dense merge would give (that order decides which PE gets which
    subset, so it is kept exactly).

    Only nonempty subsets are stored: `negs` are minus the positive sums (ascending, for
    bisect) and `reps` the subsets' union-find roots; `zeros` maps the position of a subset of
    zero sum that holds zero-load items to its root. A merge pairs position i of the first
    partition with P-1-i of the second, so the second's equal sums come out in reverse order:
    instead of reversing them, `rev` says that within each run of equal sums the stored order
    is the reverse of the true one."""

    __slots__ = ("negs", "reps", "rev", "zeros")

    def __init__(self, negs, reps, rev, zeros):
        self.negs, self.reps, self.rev, self.zeros = negs, reps, rev, zeros

    @classmethod
    def single(cls, item: int, size: int) -> _Partition:
        if size > 0:
            return cls([-size], [item], False, {})
        return cls([], [], False, {0: item})

    def spread(self, n_pes: int) -> int:
        if not self.negs:
            return 0
        return self.negs[-1] - self.negs[0] if len(self.negs) == n_pes else -self.negs[0]

    def true_reps(self, lo: int = 0) -> list[int]:
        """Roots of the subsets at true positions >= lo, a run boundary, in true order."""
        if not self.rev:
            return self.reps[lo:]
        negs, reps, out = self.negs, self.reps, []
        while lo < len(negs):
            hi = bisect_right(negs, negs[lo], lo)
            out.extend(reps[lo:hi][::-1])
            lo = hi
        return out

    def stored(self, t: int) -> int:
        """Where the subset at true position t is stored."""
        if not self.rev:
            return t
        lo = bisect_left(self.negs, self.negs[t])
        return lo + bisect_right(self.negs, self.negs[t], t) - 1 - t

    def cut(self, keep: int) -> tuple[list[int], list[int]]:
        """Drop the subsets at true positions >= keep; return their (negs, reps), true order."""
        negs, reps = self.negs, self.reps
        gone = negs[keep:]
        if keep >= len(negs):
            return gone, []
        if not self.rev:
            gone_reps = reps[keep:]
        else:                                      # the run holding `keep` may be split
            lo = bisect_left(negs, negs[keep])
            hi = bisect_right(negs, negs[keep], keep)
            kept = keep - lo                       # its true first ones: stored last
            gone_reps = reps[lo:hi - kept][::-1] + self.true_reps(hi)
            reps[lo:hi] = reps[hi - kept:hi]
        del negs[keep:], reps[keep:]
        return gone, gone_reps

    def merge(self, other: _Partition, n_pes: int, parent: list[int]) -> _Partition:
        """Subset i of self with subset P-1-i of other, sorted again; self and other are used
        up. The partition with more subsets is updated in place: only the other's subsets
        (and as many of its own) are inserted, each by bisection."""
        a, b, p = self, other, n_pes
        ka, kb = len(a.negs), len(b.negs)
        both = max(0, ka + kb - p)                 # positions where both subsets are nonempty

        def join(x: int, y: int) -> int:
            if x < 0:
                return y
            if y >= 0:
                parent[y] = x
            return x

        zeros: dict[int, int] = {}                 # zero subsets that stay apart: at i + kb
        for i, rep in a.zeros.items():
            if i < p - kb:
                zeros[i + kb] = rep
        for j, rep in b.zeros.items():
            i = p - 1 - j
            if i >= ka:
                zeros[i + kb] = join(zeros.get(i + kb, -1), rep)
        if ka >= kb:
            # keep a's subsets [0, ka - both); new: the overlaps, then b's alone (i ascending)
            a_negs, a_reps = a.cut(ka - both)
            b_reps = b.true_reps()
            for j, rep in b.zeros.items():         # b's zero subsets met a's lone subsets
                if p - 1 - j < ka:
                    join(a.reps[a.stored(p - 1 - j)], rep)
            new = [(a_negs[t] + b.negs[kb - 1 - t], join(a_reps[t], b_reps[kb - 1 - t]))
                   for t in range(both)]
            new += [(b.negs[j], join(b_reps[j], a.zeros.get(p - 1 - j, -1)))
                    for j in range(kb - both - 1, -1, -1)]
            base, rev, at_end = a, a.rev, not a.rev
        else:
            # keep b's subsets [0, kb - both): they come last among equal sums, reversed
            b_negs, b_reps = b.cut(kb - both)
            a_reps = a.true_reps()
            for i, rep in a.zeros.items():         # a's zero subsets met b's lone subsets
                if i >= p - kb:
                    join(b.reps[b.stored(p - 1 - i)], rep)
            new = [(a.negs[i] + b_negs[ka - 1 - i], join(a_reps[i], b_reps[ka - 1 - i]))
                   for i in range(ka - 1, ka - both - 1, -1)]
            new += [(a.negs[i], join(a_reps[i], b.zeros.get(p - 1 - i, -1)))
                    for i in range(ka - both - 1, -1, -1)]
            base, rev, at_end = b, not b.rev, not b.rev
        # `new` is in the order that makes, within a run of equal sums, the stored order
        # right: inserted after the run (bisect_right) or before it (bisect_left)
        insert = bisect_right if at_end else bisect_left
        negs, reps = base.negs, base.reps
        for neg, rep in new:
            k = insert(negs, neg)
            negs.insert(k, neg)
            reps.insert(k, rep)
        base.rev, base.zeros = rev, zeros
        return base


def lockstep_rounds(loads: np.ndarray, n_pes: int) -> tuple[np.ndarray, np.ndarray]:
    """Density grouping for lock-step hardware, after SparTen's greedy balancing (Gondimalla
    et al., MICRO 2019): sort by load and deal in rounds of P, snaking (PE 0..P-1, then
    P-1..0), so the items broadcast together are of similar length and no round waits long
    for its densest member; snaking also evens the PEs' totals. Returns (PE, round)."""
    loads = np.asarray(loads, dtype=np.int64)
    order = np.argsort(-loads, kind="stable")
    r, pos = np.divmod(np.arange(len(loads)), n_pes)
    pe_of = np.empty(len(loads), dtype=np.int64)
    rank = np.empty(len(loads), dtype=np.int64)
    pe_of[order] = np.where(r % 2 == 0, pos, n_pes - 1 - pos)
    rank[order] = np.arange(len(loads))
    return pe_of, rank


def improve_assignment(loads: np.ndarray, pe_of: np.ndarray, n_pes: int,
                       max_rounds: int = 10_000) -> np.ndarray:
    """Local search: move one item off the most loaded PE, or swap it for a smaller item of
    another PE, whenever that lowers the larger of the two loads; the best such move each
    round (ties: the top PE's lowest item, then a swap with the lowest item, then a move to
    the lowest PE), until none is left or after `max_rounds`. Never makes the makespan worse;
    each move strictly lowers the sum of squared loads, so it ends.

    A move that closes a gap g between the top PE and another gains at most g // 2, so each
    round looks at the other PEs from the least loaded up, in blocks doubling in size, and
    stops at the first PE whose g // 2 is below the best gain found: typically a few PEs, not
    all of them."""
    loads = np.asarray(loads, dtype=np.int64)
    pe_of = np.array(pe_of, dtype=np.int64)
    pe_load = np.bincount(pe_of, weights=loads, minlength=n_pes).astype(np.int64)
    if n_pes == 1:
        return pe_of
    by_pe = np.argsort(pe_of, kind="stable")
    ends = np.cumsum(np.bincount(pe_of, minlength=n_pes))
    items = np.split(by_pe, ends[:-1])             # each PE's items, ascending
    for _ in range(max_rounds):
        top = int(np.argmax(pe_load))
        if len(items[top]) == 0:
            break
        move = _best_move(loads, pe_of, pe_load, items, top)
        if move is None:
            break
        item, q, swap, moved = move
        pe_of[item] = q
        items[top] = items[top][items[top] != item]
        items[q] = np.insert(items[q], np.searchsorted(items[q], item), item)
        if swap >= 0:
            pe_of[swap] = top
            items[q] = items[q][items[q] != swap]
            items[top] = np.insert(items[top], np.searchsorted(items[top], swap), swap)
        pe_load[top] -= moved
        pe_load[q] += moved
    return pe_of


def _best_move(loads, pe_of, pe_load, items, top) -> tuple[int, int, int, int] | None:
    """The best move or swap off PE `top`: (item, to PE, item swapped back or -1, cycles
    moved), or None if nothing lowers the larger load."""
    mine = items[top]
    gap = pe_load[top] - pe_load
    by_gap = np.argsort(-gap, kind="stable")
    best, seen, size = 0, 0, 1
    while seen < len(by_gap) and gap[by_gap[seen]] // 2 > best:
        block = by_gap[seen:seen + size]
        best = max(best, int(_gains(loads, gap, mine, block[block != top], items).max(initial=0)))
        seen += size
        size *= 2
    if best <= 0:
        return None
    # Gain `best` means d = best or d = g - best, with g >= 2 best. Take the first such pair
    # in the order of a full search: the top PE's lowest item, a swap with the lowest item,
    # a move to the lowest PE.
    far = np.flatnonzero(gap[pe_of] >= 2 * best)         # items of PEs far enough below
    value, reach = loads[far], loads[far] + gap[pe_of[far]]
    movable = np.flatnonzero(gap >= 2 * best)
    for item in mine.tolist():
        size = int(loads[item])
        hit = np.flatnonzero((value == size - best) | (reach == size + best))
        if len(hit):
            swap = int(far[hit[0]])
            return item, int(pe_of[swap]), swap, size - int(loads[swap])
        hit = np.flatnonzero((size == best) | (gap[movable] == size + best))
        if len(hit):
            return item, int(movable[hit[0]]), -1, size
    raise AssertionError("a gain was found but no move gives it")


def _gains(loads, gap, mine, pes, items) -> np.ndarray:
    """Gain of every (item of the top PE, candidate): candidates are the items of `pes` (a
    swap) and `pes` themselves (a move, value 0); invalid pairs gain 0."""
    others = np.concatenate([items[q] for q in pes] + [np.zeros(0, dtype=np.int64)])
    value = np.concatenate((loads[others], np.zeros(len(pes), dtype=np.int64)))
    g = np.concatenate((gap[np.repeat(pes, [len(items[q]) for q in pes])], gap[pes]))
    d = loads[mine][:, None] - value[None, :]
    return np.where((d > 0) & (d < g), np.minimum(d, g - d), 0)
