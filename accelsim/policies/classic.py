"""The baseline and two classic list schedulers."""

from __future__ import annotations

import heapq

import numpy as np

from accelsim.policies.problem import Plan, Problem, plan_units
from accelsim.policies.rounds import lpt_rounds


class RoundRobin:
    """The sparsity-unaware baseline: filter groups dealt to PEs in index order (unit u to PE
    u mod P, every tile of a unit on the same PE), as a dense design would map them."""

    name = "round-robin"

    def plan(self, problem: Problem) -> Plan:
        return Plan.from_assignment(problem, problem.units % problem.n_pes)


def lpt_assignment(loads: np.ndarray, n_pes: int) -> tuple[np.ndarray, np.ndarray]:
    """Graham's LPT: items in decreasing size (ties by index), each to the least-loaded PE
    (ties by PE index). Returns (PE of each item, rank of each item in that order)."""
    loads = np.asarray(loads, dtype=np.int64)
    order = np.argsort(-loads, kind="stable")
    heap = [(0, p) for p in range(n_pes)]
    placed = []
    for size in loads[order].tolist():  # plain ints: numpy scalars would triple the loop
        load, p = heap[0]
        heapq.heapreplace(heap, (load + size, p))
        placed.append(p)
    pe_of = np.empty(len(loads), dtype=np.int64)
    pe_of[order] = placed
    rank = np.empty(len(loads), dtype=np.int64)
    rank[order] = np.arange(len(loads))
    return pe_of, rank


class LPT:
    """Longest Processing Time first (Graham, 1969): in decreasing length, each to the
    least-loaded PE; makespan within 4/3 - 1/(3P) of optimal.

    It balances units (a filter group over all its tiles), so a unit's weights stay on one PE
    and every broadcast tile finds the PEs equally loaded; without tiles a unit is one job,
    and on a bare list of durations this is Graham's LPT exactly. Within a tile each PE runs
    its longest units first, which lines up similar jobs for lock-step hardware. On a layer
    it places the units of each broadcast round instead (accelsim.policies.rounds)."""

    name = "lpt"

    def plan(self, problem: Problem) -> Plan:
        return plan_units(problem, lambda loads, n: lpt_assignment(loads, n)[0], lpt_rounds)


class Greedy:
    """Dynamic greedy list scheduling: jobs in index order from a central queue, each to the
    first PE that frees a queue slot. Uses no durations: only what the hardware sees."""

    name = "greedy"

    def plan(self, problem: Problem) -> Plan:
        return Plan.central(range(problem.n_jobs))


class WorkStealing:
    """Dynamic work stealing (after Blumofe and Leiserson 1999): PEs start from the
    sparsity-unaware round-robin queues; at run time a PE with a free slot takes its own next
    job, or steals the last job of the PE with the most jobs left. It sees job counts, never
    durations, and balances what round-robin could not."""

    name = "work-stealing"

    def plan(self, problem: Problem) -> Plan:
        return Plan.stealing(RoundRobin().plan(problem).queues)
