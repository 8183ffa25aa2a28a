"""Static heuristics beyond LPT, each balancing units (see classic.LPT), and the
improvement step any static plan can be passed through (`NAME+improve`)."""

from __future__ import annotations

from itertools import chain

import numpy as np

from accelsim.errors import PolicyError
from accelsim.policies.partition import improve_assignment, kk_assignment, multifit_assignment
from accelsim.policies.problem import Plan, Policy, Problem, by_size, plan_units
from accelsim.policies.rounds import (
    aligned,
    deal_rounds,
    improve_rounds,
    in_rounds,
    kk_rounds,
    multifit_rounds,
    unit_rounds,
)


class Multifit:
    """MULTIFIT (Coffman, Garey, Johnson 1978): bisection on a capacity, First Fit
    Decreasing; within 13/11 of optimal. First Fit fills PEs one after another with the
    longest units, and its textbook plan ran up to 1.33x slower than round-robin on the
    accelerator; on a layer it packs inside broadcast rounds (accelsim.policies.rounds)."""

    name = "multifit"

    def plan(self, problem: Problem) -> Plan:
        return plan_units(problem, multifit_assignment, multifit_rounds)


class KarmarkarKarp:
    """Karmarkar-Karp largest differencing, m-way (1982): merge the two partial partitions
    with the largest spread until one is left. No constant guarantee, but typically within
    a fraction of a percent on layers with many filters."""

    name = "kk"

    def plan(self, problem: Problem) -> Plan:
        return plan_units(problem, kk_assignment, kk_rounds)


class DensityGrouping:
    """For lock-step (depth-1) broadcast hardware, after SparTen's greedy balancing
    (Gondimalla et al., MICRO 2019): each input block's units sorted by nnz and dealt in
    snaking rounds of P, so each broadcast step holds filters of similar density and is not
    held back by one dense filter. On decoupled hardware it is a fair but not a tight
    partition."""

    name = "density-grouping"

    def plan(self, problem: Problem) -> Plan:
        r = unit_rounds(problem)
        return Plan.from_unit_assignment(problem, deal_rounds(r, problem.n_pes), r.rank)


class Improved:
    """A static policy followed by local search (moves and swaps off the most loaded PE).
    The planned makespan is never worse than the base plan's. Within a tile each PE runs its
    units longest first: for a fixed partition that aligned order keeps lock-step broadcast
    steps as short as they can be. On a layer whose base plan keeps the broadcast rounds
    (accelsim.policies.rounds), the search only trades units within a round."""

    def __init__(self, base: Policy):
        self.base = base
        self.name = f"{base.name}+improve"

    def plan(self, problem: Problem) -> Plan:
        base = self.base.plan(problem)
        if base.dynamic:
            raise PolicyError(
                f"policy {self.name!r}: {self.base.name!r} is dynamic; only a "
                f"static plan can be improved"
            )
        assert base.queues is not None  # not dynamic: a static plan, which has queues
        units, loads = problem.unit_loads()
        jobs = np.fromiter(chain.from_iterable(base.queues), dtype=np.int64)
        pe_of_unit = np.zeros(len(loads), dtype=np.int64)
        pe_of_unit[units[jobs]] = np.repeat(np.arange(problem.n_pes), [len(q) for q in base.queues])
        if in_rounds(problem):
            r = unit_rounds(problem)
            if aligned(r, pe_of_unit):  # keep the rounds the base plan kept
                return Plan.from_unit_assignment(
                    problem, improve_rounds(r, pe_of_unit, problem.n_pes), r.rank
                )
        improved = improve_assignment(loads, pe_of_unit, problem.n_pes)
        return Plan.from_unit_assignment(problem, improved, by_size(loads))


class Portfolio:
    """The best of KK, MULTIFIT and LPT, each passed through the improvement step: a few
    milliseconds for hundreds of units, and never worse than any of them."""

    name = "portfolio"

    def plan(self, problem: Problem) -> Plan:
        from accelsim.policies.exact import best_heuristic, best_in_rounds  # the same

        return plan_units(problem, best_heuristic, best_in_rounds)
