"""Broadcast rounds: what a static plan must balance on the accelerator, not on paper.

The dispatcher sends each input block to every PE whose next job reads it, in block order,
and a broadcast waits for room in all its members' queues. With `input_queue_depth = 1` (lock
step) a slot is held until its job ends, so the jobs the PEs run k-th on a block form a
*round* that lasts as long as its longest job: a layer takes about the sum, over tiles and
blocks, of each round's longest job, whatever the PEs' totals. That sum is smallest when each
block's units are sorted by length and cut into rounds of P (the k-th round holds the k-th P
longest): any other cut puts a longer job into some round. Deeper queues loosen the coupling
but do not remove it: a PE with more jobs on a block than the others holds every later
broadcast back once it is `depth` jobs behind. Blocks with fewer than P units (a depthwise
layer's, one unit each) go out one after another, so consecutive ones are cut together: P
of them run at once only on P different PEs.

Measured with textbook partitions (balanced totals, rounds ignored): MULTIFIT, which fills
PEs one after another, ran 0.76-0.84x round-robin's speed on the lock-step scenarios and
0.75, 0.82 and 0.89x on pruned VGG-16 at depths 2, 3 and 4; on pruned AlexNet's grouped
convolutions (32 lock-step PEs) every textbook partition took 1.68-1.80 M cycles of rounds
where sorted rounds take 1.31 M.

So on the hardware every partitioning policy plans inside these rounds: the rounds are fixed,
and the policy's own rule (LPT, Karmarkar-Karp, MULTIFIT, snaking, local search, CP-SAT)
decides which PE takes which unit of each round, one unit per PE per round, balancing the PEs'
totals, which decide how blocks overlap on deeper queues. On a bare list of durations
(`accelsim schedule`) the textbook algorithms run unchanged.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left

import numpy as np
from attrs import frozen

from accelsim.policies.partition import roots
from accelsim.units import ceil_div


def in_rounds(problem) -> bool:
    """Whether `problem` is a layer on broadcast hardware, whose plans should keep rounds."""
    return problem.hw is not None and problem.layer is not None and problem.n_pes > 1


@frozen
class Rounds:
    """Units in round order (each block's units longest first, cut every P) and where each
    round starts in that order; `loads` are the units' cycles over all their tiles."""

    order: np.ndarray
    starts: np.ndarray  # n_rounds + 1 offsets into `order`
    loads: np.ndarray
    packed: np.ndarray  # per round: cut from a run of blocks of fewer than P units each

    @property
    def n_rounds(self) -> int:
        return len(self.starts) - 1

    def members(self, k: int) -> np.ndarray:
        return self.order[self.starts[k] : self.starts[k + 1]]

    @property
    def rank(self) -> np.ndarray:
        """Each unit's place in round order: within a tile and block, a PE's queue order."""
        rank = np.empty(len(self.order), dtype=np.int64)
        rank[self.order] = np.arange(len(self.order))
        return rank

    @property
    def round_of(self) -> np.ndarray:
        out = np.empty(len(self.order), dtype=np.int64)
        out[self.order] = np.repeat(np.arange(self.n_rounds), np.diff(self.starts))
        return out

    def by_longest(self) -> np.ndarray:
        """Round indices, longest first member first (LPT's and MULTIFIT's order)."""
        return np.argsort(-self.loads[self.order[self.starts[:-1]]], kind="stable")


def rounds_of(loads: np.ndarray, block: np.ndarray, n_pes: int) -> Rounds:
    """Each block's units sorted by decreasing load (ties by index), cut into rounds of P.
    Consecutive blocks of fewer than P units each (a depthwise layer's, one unit a block)
    are cut together, in block order: the dispatcher sends them one after another, so P of
    them run at once only if they are on P different PEs."""
    loads = np.asarray(loads, dtype=np.int64)
    n = len(loads)
    order = np.lexsort((np.arange(n), -loads, np.asarray(block)))
    b = np.asarray(block)[order]
    first = np.r_[True, b[1:] != b[:-1]] if n else np.zeros(0, dtype=bool)
    size = np.diff(np.r_[np.flatnonzero(first), n])  # units of each block, in order
    short = np.repeat(size < n_pes, size)
    cut = first & ~(short & np.r_[False, short[:-1]])  # not between two short blocks
    pos = np.arange(n) - np.maximum.accumulate(np.where(cut, np.arange(n), 0))
    starts = np.r_[np.flatnonzero(cut | (pos % n_pes == 0)), n].astype(np.int64)
    return Rounds(order, starts, loads, short[starts[:-1]])


def unit_rounds(problem) -> Rounds:
    """The rounds of a layer's units; a unit's block is the input block of its first job."""
    units, loads = problem.unit_loads()
    block = np.zeros(len(loads), dtype=np.int64)
    if problem.n_jobs:
        order = np.lexsort((problem.tiles, units))
        first = order[np.r_[True, units[order][1:] != units[order][:-1]]]
        block[units[first]] = problem.inputs[first]
    return rounds_of(loads, block, problem.n_pes)


def deal_rounds(r: Rounds, n_pes: int) -> np.ndarray:
    """Density grouping: each full round dealt to PEs 0, 1, ... and the next full one to
    P-1, P-2, ... (snaking evens the totals of rounds sorted longest first); a full round
    of packed blocks (a depthwise layer's channels, in block order, not by length) always
    to PEs 0, 1, ..., so that no PE gets two consecutive blocks where rounds meet; a round
    of fewer than P units (a block's last) goes to the least loaded PEs, longest unit
    first, since dealing it from PE 0 would stack such rounds on a few PEs."""
    pe_of = np.empty(len(r.order), dtype=np.int64)
    pe_load = np.zeros(n_pes, dtype=np.int64)
    full = 0
    for k in range(r.n_rounds):
        members = r.members(k)
        if len(members) == n_pes and r.packed[k]:
            pes = np.arange(n_pes)
        elif len(members) == n_pes:
            pes = np.arange(n_pes) if full % 2 == 0 else np.arange(n_pes)[::-1]
            full += 1
        else:
            pes = np.argsort(pe_load, kind="stable")[: len(members)]
        pe_of[members] = pes
        pe_load[pes] += r.loads[members]
    return pe_of


def lpt_rounds(r: Rounds, n_pes: int) -> np.ndarray:
    """LPT inside rounds: rounds by decreasing longest unit, each round's units, longest
    first, to the least loaded PEs (ties by PE index)."""
    pe_load = np.zeros(n_pes, dtype=np.int64)
    pe_of = np.empty(len(r.order), dtype=np.int64)
    for k in r.by_longest():
        members = r.members(k)
        pes = np.argsort(pe_load, kind="stable")[: len(members)]
        pe_of[members] = pes
        pe_load[pes] += r.loads[members]
    return pe_of


def kk_rounds(r: Rounds, n_pes: int) -> np.ndarray:
    """Karmarkar-Karp differencing whose starting partitions are the rounds (one unit per
    subset, the rest empty): the two partitions of largest spread are merged, largest subset
    with smallest, so every PE ends with at most one unit of each round."""
    n = len(r.order)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    parent = np.arange(n)
    heap = []
    for k in range(r.n_rounds):
        members = r.members(k)
        sums = np.zeros(n_pes, dtype=np.int64)
        reps = np.full(n_pes, -1, dtype=np.int64)
        sums[: len(members)], reps[: len(members)] = r.loads[members], members
        heap.append((-int(sums[0] - sums[-1]), k, sums, reps))
    heapq.heapify(heap)
    counter = len(heap)
    while len(heap) > 1:
        _, _, sa, ra = heapq.heappop(heap)
        _, _, sb, rb = heapq.heappop(heap)
        sb, rb = sb[::-1], rb[::-1]
        both = (ra >= 0) & (rb >= 0)
        parent[rb[both]] = ra[both]
        sums, reps = sa + sb, np.where(ra >= 0, ra, rb)
        order = np.argsort(-sums, kind="stable")
        sums, reps = sums[order], reps[order]
        heapq.heappush(heap, (-int(sums[0] - sums[-1]), counter, sums, reps))
        counter += 1
    reps = heap[0][3]
    pe_of_root = np.zeros(n, dtype=np.int64)
    pe_of_root[reps[reps >= 0]] = np.flatnonzero(reps >= 0)
    return pe_of_root[roots(parent)]


def multifit_rounds(r: Rounds, n_pes: int) -> np.ndarray:
    """MULTIFIT inside rounds: bisection on a capacity C, packing rounds by decreasing
    longest unit, each round's units shortest first into the fullest PE that still has room
    and holds no unit of that round yet; the smallest C that packs. (First Fit Decreasing by
    PE index would give PE 0 the longest unit of every round and need a far larger C.)"""
    n = len(r.order)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    rounds = r.by_longest()
    lo = max(ceil_div(int(r.loads.sum()), n_pes), int(r.loads.max())) - 1
    hi = int(np.bincount(lpt_rounds(r, n_pes), weights=r.loads, minlength=n_pes).max())
    best = _best_fit_rounds(r, rounds, n_pes, hi)
    while best is None:  # C = the total always packs
        hi = max(2 * hi, 1)
        best = _best_fit_rounds(r, rounds, n_pes, hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        packed = _best_fit_rounds(r, rounds, n_pes, mid)
        if packed is None:
            lo = mid
        else:
            hi, best = mid, packed
    return best


def _best_fit_rounds(r: Rounds, rounds: np.ndarray, n_pes: int, capacity: int) -> np.ndarray | None:
    """Every PE takes one unit of each full round: a unit fits a PE only if the room left
    still holds the shortest unit of every full round after its own."""
    loads, order, starts = r.loads.tolist(), r.order.tolist(), r.starts.tolist()
    size = np.diff(r.starts)[rounds]
    shortest = np.where(size == n_pes, r.loads[r.order[r.starts[1:] - 1]][rounds], 0)
    reserve = (np.cumsum(shortest[::-1])[::-1] - shortest).tolist()
    pe_load = [0] * n_pes
    pe_of = np.empty(len(order), dtype=np.int64)
    for k, held in zip(rounds.tolist(), reserve):
        rooms = sorted((capacity - load) * n_pes + p for p, load in enumerate(pe_load))
        for u in order[starts[k] : starts[k + 1]][::-1]:  # shortest first; rooms: (room, PE)
            at = bisect_left(rooms, (loads[u] + held) * n_pes)
            if at == len(rooms):
                return None
            p = rooms.pop(at) % n_pes
            pe_of[u] = p
            pe_load[p] += loads[u]
    return pe_of


def aligned(r: Rounds, pe_of: np.ndarray) -> bool:
    """Whether no PE holds two units of one round."""
    key = r.round_of * (int(pe_of.max(initial=0)) + 1) + pe_of
    return len(np.unique(key)) == len(key)


def improve_rounds(r: Rounds, pe_of: np.ndarray, n_pes: int, max_steps: int = 10_000) -> np.ndarray:
    """Local search that keeps the rounds: a unit of the most loaded PE trades places with
    the unit another PE holds in the same round, or moves to a PE with none there, whenever
    that lowers the larger of the two loads; the best such change each step. Each change
    lowers the sum of squared loads, so the search ends; `pe_of` must be aligned."""
    pe_of = np.array(pe_of, dtype=np.int64)
    slot = np.full((r.n_rounds, n_pes), -1, dtype=np.int64)
    round_of = r.round_of
    slot[round_of, pe_of] = np.arange(len(pe_of))
    loads = r.loads
    pe_load = np.bincount(pe_of, weights=loads, minlength=n_pes).astype(np.int64)
    for _ in range(max_steps if n_pes > 1 else 0):
        top = int(np.argmax(pe_load))
        ks = np.flatnonzero(slot[:, top] >= 0)
        if len(ks) == 0:
            break
        mine = loads[slot[ks, top]][:, None]
        other = slot[ks]
        theirs = np.where(other >= 0, loads[other], 0)
        worse = np.maximum(pe_load[top] - mine + theirs, pe_load[None, :] - theirs + mine)
        worse[:, top] = pe_load[top]
        i, q = np.unravel_index(int(np.argmin(worse)), worse.shape)
        if worse[i, q] >= pe_load[top]:
            break
        k = ks[i]
        u, v = slot[k, top], slot[k, q]
        slot[k, top], slot[k, q] = v, u
        pe_of[u] = q
        moved = int(loads[u]) - (int(loads[v]) if v >= 0 else 0)
        if v >= 0:
            pe_of[v] = top
        pe_load[top] -= moved
        pe_load[q] += moved
    return pe_of
