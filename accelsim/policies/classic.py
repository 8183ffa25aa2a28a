"""The baseline and two classic list schedulers."""

from __future__ import annotations

import heapq

import numpy as np

from accelsim.policies import Plan, Problem


class RoundRobin:
    """The sparsity-unaware baseline: filter groups dealt to PEs in index order (unit u to PE
    u mod P, every tile of a unit on the same PE), as a dense design would map them."""

    name = "round-robin"

    def plan(self, problem: Problem) -> Plan:
        pe = [problem.unit(j) % problem.n_pes for j in range(problem.n_jobs)]
        return Plan.from_assignment(problem, pe)


class LPT:
    """Longest Processing Time first (Graham, 1969): jobs in decreasing length, each to the
    least-loaded PE. Makespan within 4/3 - 1/(3P) of optimal. Each PE runs its jobs tile by
    tile, longest first within a tile, which also lines up similar jobs for lock-step."""

    name = "lpt"

    def plan(self, problem: Problem) -> Plan:
        order = np.argsort(-problem.cycles, kind="stable")
        loads = [(0, p) for p in range(problem.n_pes)]
        pe_of_job = np.empty(problem.n_jobs, dtype=np.int64)
        for j in order:
            load, p = heapq.heappop(loads)
            pe_of_job[j] = p
            heapq.heappush(loads, (load + int(problem.cycles[j]), p))
        rank = np.empty(problem.n_jobs, dtype=np.int64)
        rank[order] = np.arange(problem.n_jobs)
        return Plan.from_assignment(problem, pe_of_job, rank)


class Greedy:
    """Dynamic greedy list scheduling: jobs in index order from a central queue, each to the
    first PE that frees a queue slot. Uses no durations: only what the hardware sees."""

    name = "greedy"

    def plan(self, problem: Problem) -> Plan:
        return Plan.central(range(problem.n_jobs))


BUILTIN = (RoundRobin, LPT, Greedy)
