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
    lo = max(ceil_div(total, n_pes), int(loads.max())) - 1  # FFD cannot do better than this
    hi = max(ceil_div(2 * total, n_pes), int(loads.max()))  # FFD always fits here (CGJ)
    best = _ffd(sizes, n_pes, hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if best is not None and mid >= best[1]:
            hi = mid  # FFD packs exactly as at hi for any capacity >= its fullest bin
            continue
        packed = _ffd(sizes, n_pes, mid)
        if packed is None:
            lo = mid
        else:
            hi, best = mid, packed
    assert best is not None  # FFD fits at the first hi (CGJ), and best only takes packings
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
    neg = [-s for s in sizes]  # ascending, for bisect
    skip = list(range(n + 1))  # skip[i] == i: position i not yet packed

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
            return None  # some item cannot fit any more
        room, i = capacity, first
        while True:
            i = bisect_left(neg, -room, i)
            if skip[i] != i:  # (a call only when it must skip)
                i = next_left(i)
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
    parent = list(range(n))  # union-find: a subset is named by one of its items, its root
    heap: list = [(-s, i, None) for i, s in enumerate(sizes)]  # None: item i on its own
    heapq.heapify(heap)
    counter = n
    while len(heap) > 1:
        _, i, a = heapq.heappop(heap)
        _, j, b = heapq.heappop(heap)
        a = a or _Partition.single(i, sizes[i])
        if b is None and sizes[j] > 0 and not a.zeros:
            merged = a.add(j, sizes[j], n_pes, parent)  # most merges: one item joins
        else:
            merged = a.merge(b or _Partition.single(j, sizes[j]), n_pes, parent)
        heapq.heappush(heap, (-merged.spread(n_pes), counter, merged))
        counter += 1
    _, i, root = heap[0]
    root = root or _Partition.single(i, sizes[i])
    pe_of_root = np.zeros(n, dtype=np.int64)
    pe_of_root[root.true_reps()] = np.arange(len(root.negs))
    for pos, rep in root.zeros.items():
        pe_of_root[rep] = pos
    return pe_of_root[roots(parent)]


def roots(parent) -> np.ndarray:
    """Every item's union-find root, by pointer jumping (log depth numpy steps)."""
    find = np.array(parent, dtype=np.int64)
    while True:
        up = find[find]
        if np.array_equal(up, find):
            return find
        find = up


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
        else:  # the run holding `keep` may be split
            lo = bisect_left(negs, negs[keep])
            hi = bisect_right(negs, negs[keep], keep)
            kept = keep - lo  # its true first ones: stored last
            gone_reps = reps[lo : hi - kept][::-1] + self.true_reps(hi)
            reps[lo:hi] = reps[hi - kept : hi]
        del negs[keep:], reps[keep:]
        return gone, gone_reps

    def add(self, item: int, size: int, n_pes: int, parent: list[int]) -> _Partition:
        """merge() with one item of positive size, when self has no zero subsets: the item
        takes an empty subset, or joins the smallest one (true position P-1)."""
        negs, reps = self.negs, self.reps
        neg, rep = -size, item
        if len(negs) == n_pes:
            last = self.stored(n_pes - 1)
            neg += negs.pop(last)
            rep = reps.pop(last)
            parent[item] = rep
        k = (bisect_left if self.rev else bisect_right)(negs, neg)
        negs.insert(k, neg)
        reps.insert(k, rep)
        return self

    def merge(self, other: _Partition, n_pes: int, parent: list[int]) -> _Partition:
        """Subset i of self with subset P-1-i of other, sorted again; self and other are used
        up. The partition with more subsets is updated in place: only the other's subsets
        (and as many of its own) are inserted, each by bisection."""
        a, b, p = self, other, n_pes
        ka, kb = len(a.negs), len(b.negs)
        both = max(0, ka + kb - p)  # positions where both subsets are nonempty

        def join(x: int, y: int) -> int:
            if x < 0:
                return y
            if y >= 0:
                parent[y] = x
            return x

        zeros: dict[int, int] = {}  # zero subsets that stay apart: at i + kb
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
            for j, rep in b.zeros.items():  # b's zero subsets met a's lone subsets
                if p - 1 - j < ka:
                    join(a.reps[a.stored(p - 1 - j)], rep)
            new = [
                (a_negs[t] + b.negs[kb - 1 - t], join(a_reps[t], b_reps[kb - 1 - t]))
                for t in range(both)
            ]
            new += [
                (b.negs[j], join(b_reps[j], a.zeros.get(p - 1 - j, -1)))
                for j in range(kb - both - 1, -1, -1)
            ]
            base, rev, at_end = a, a.rev, not a.rev
        else:
            # keep b's subsets [0, kb - both), which come out last among equal sums and in
            # reverse; new: the overlaps, then a's alone (i descending)
            b_negs, b_reps = b.cut(kb - both)
            a_reps = a.true_reps()
            for i, rep in a.zeros.items():  # a's zero subsets met b's lone subsets
                if i >= p - kb:
                    join(b.reps[b.stored(p - 1 - i)], rep)
            new = [
                (a.negs[i] + b_negs[ka - 1 - i], join(a_reps[i], b_reps[ka - 1 - i]))
                for i in range(ka - 1, ka - both - 1, -1)
            ]
            new += [
                (a.negs[i], join(a_reps[i], b.zeros.get(p - 1 - i, -1)))
                for i in range(ka - both - 1, -1, -1)
            ]
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


def improve_assignment(
    loads: np.ndarray,
    pe_of: np.ndarray,
    n_pes: int,
    max_rounds: int = 10_000,
    max_work: int = 60_000_000,
) -> np.ndarray:
    """Local search: move one item off the most loaded PE, or swap it for a smaller item of
    another PE, whenever that lowers the larger of the two loads; the best such move each
    round (ties: the top PE's lowest item, then a swap with the lowest item, then a move to
    the lowest PE), until none is left. Never makes the makespan worse; each move strictly
    lowers the sum of squared loads, so it ends.

    Capped, deterministically, at `max_rounds` rounds and at the round that takes the values
    compared past `max_work` (60 M: about a quarter of a second). Real layers stay far below
    (50,000 ResNet-50 jobs on 1,024 PEs: 500 rounds, 40 M); 50,000 uniform random loads on
    1,024 PEs would take 2,000 rounds and 300 M."""
    search = _LocalSearch(loads, pe_of, n_pes)
    for _ in range(max_rounds if n_pes > 1 else 0):
        if search.work > max_work:
            break
        move = search.best_move()
        if move is None:
            break
        search.apply(*move)
    return search.pe_of


class _LocalSearch:
    """The state of improve_assignment, and its best move without an (items x candidates)
    matrix per round.

    A move or swap across a gap g (top load - other load) moving d cycles gains
    min(d, g - d), at most g // 2. So the best gain is sought among the other PEs from the
    least loaded up, in blocks doubling in size, until no PE left can beat it; within a
    block, for each (item of the top PE, PE) only the two values next to the ideal
    d = g / 2 can be best, found by bisection in each PE's sorted loads."""

    def __init__(self, loads, pe_of, n_pes: int):
        self.loads = np.asarray(loads, dtype=np.int64)
        self.pe_of = np.array(pe_of, dtype=np.int64)
        self.pe_load = np.bincount(self.pe_of, weights=self.loads, minlength=n_pes).astype(np.int64)
        by_pe = np.argsort(self.pe_of, kind="stable")
        ends = np.cumsum(np.bincount(self.pe_of, minlength=n_pes))[:-1]
        self.items = np.split(by_pe, ends)  # each PE's items, ascending
        # each PE's item loads, sorted, after a 0 that stands for a move there
        self.values = [np.concatenate(([0], np.sort(self.loads[i]))) for i in self.items]
        self.span = int(self.loads.max(initial=0)) + 2  # keys: block * span + value
        self.seen = 1  # PEs the last round looked at
        self.work = 0  # values compared, for the cap

    def apply(self, item: int, q: int, swap: int, moved: int) -> None:
        top = int(self.pe_of[item])
        self._place(item, top, q)
        if swap >= 0:
            self._place(swap, q, top)
        self.pe_load[top] -= moved
        self.pe_load[q] += moved

    def _place(self, item: int, src: int, dst: int) -> None:
        size = self.loads[item]
        self.pe_of[item] = dst
        self.items[src] = self.items[src][self.items[src] != item]
        self.items[dst] = np.insert(self.items[dst], np.searchsorted(self.items[dst], item), item)
        self.values[src] = np.delete(self.values[src], np.searchsorted(self.values[src], size))
        self.values[dst] = np.insert(
            self.values[dst], np.searchsorted(self.values[dst], size), size
        )

    def best_move(self) -> tuple[int, int, int, int] | None:
        """(item, to PE, item swapped back or -1, cycles moved), or None if nothing lowers
        the larger load."""
        top = int(np.argmax(self.pe_load))
        mine = self.items[top]
        if len(mine) == 0:
            return None
        gap = self.pe_load[top] - self.pe_load
        best = self._best_gain(np.unique(self.loads[mine]), gap, top)
        if best <= 0:
            return None
        # Gain `best` means d = best or d = g - best, with g >= 2 best. Take the first such
        # pair in the order of a full search: the top PE's lowest item, a swap with the
        # lowest item, a move to the lowest PE.
        loads, pe_of = self.loads, self.pe_of
        far = np.flatnonzero(gap[pe_of] >= 2 * best)  # items of PEs far enough below
        self.work += len(pe_of)
        value, reach = loads[far], loads[far] + gap[pe_of[far]]
        movable = np.flatnonzero(gap >= 2 * best)
        start, rows = 0, 1
        while start < len(mine):  # the top PE's items, in doubling chunks
            sizes = loads[mine[start : start + rows]][:, None]
            swaps = (value == sizes - best) | (reach == sizes + best)
            moves = (sizes == best) | (gap[movable] == sizes + best)
            self.work += len(sizes) * (len(far) + len(movable))
            found = np.flatnonzero(swaps.any(axis=1) | moves.any(axis=1))
            if len(found):
                r = int(found[0])
                item, size = int(mine[start + r]), int(sizes[r, 0])
                if swaps[r].any():
                    swap = int(far[np.argmax(swaps[r])])
                    return item, int(pe_of[swap]), swap, size - int(loads[swap])
                return item, int(movable[np.argmax(moves[r])]), -1, size
            start += rows
            rows *= 2
        raise AssertionError("a gain was found but no move gives it")

    def _best_gain(self, sizes: np.ndarray, gap: np.ndarray, top: int) -> int:
        """The largest gain over all PEs. The first block is half as many PEs as the last
        round needed (rounds tend to look alike); which PEs are looked at never changes the
        result, only how many numpy calls it takes."""
        by_gap = np.argsort(-gap, kind="stable")
        best, seen, block = 0, 0, max(1, self.seen // 2)
        while seen < len(by_gap) and gap[by_gap[seen]] // 2 > best:
            pes = by_gap[seen : seen + block]
            best = max(best, self._block_gain(sizes, gap, pes[pes != top]))
            seen += block
            block *= 2
        self.seen = seen
        return best

    def _block_gain(self, sizes: np.ndarray, gap: np.ndarray, pes: np.ndarray) -> int:
        """The best gain between the top PE's item sizes and the PEs `pes`."""
        values = [self.values[q] for q in pes]
        if not values:
            return 0
        flat = np.concatenate(values)
        seg = np.repeat(np.arange(len(pes)), [len(v) for v in values])
        keys = seg * self.span + flat
        self.work += len(keys) + len(sizes) * len(pes)
        g = gap[pes][None, :]
        ideal = np.clip((2 * sizes[:, None] - g) // 2, -1, self.span - 2)  # d = g / 2
        b = np.arange(len(pes))[None, :]
        right = np.searchsorted(keys, b * self.span + ideal, side="right")
        best = 0
        for c in (right - 1, right):  # the nearest value on either side
            at = np.clip(c, 0, len(keys) - 1)
            d = sizes[:, None] - flat[at]
            ok = (c >= 0) & (c < len(keys)) & (seg[at] == b) & (d > 0) & (d < g)
            best = max(best, int(np.where(ok, np.minimum(d, g - d), 0).max(initial=0)))
        return best
