"""A policy that plans against the hardware model itself, not against job durations alone.

Textbook policies balance the sum of job cycles per PE. The accelerator adds its own terms:
under lock-step (input_queue_depth = 1) the k-th jobs of the PEs on one input block go out
together and the round lasts as long as the slowest, deliveries that cannot overlap compute,
memory, output space. `hardware-aware` therefore scores plans by the layer's simulated
cycles: the closed form (accelsim.engine.closed_form) where it is exact, the SimPy model otherwise.

It starts from the best of round-robin, LPT, KK, MULTIFIT, density grouping and portfolio
*as simulated*, then improves the assignment of units (filter groups over all their tiles) to
PEs by local search: swaps of units of neighbouring size (they trade places between rounds),
swaps of any two units, and moves off the most loaded PE, keeping a change only when the
layer simulates in fewer cycles. When a layer has fewer units than PEs it also tries
spreading each unit's tiles over several PEs (whole-unit plans would leave PEs idle), and on
layers of several tiles it chooses how each PE walks them: tile by tile (inputs broadcast
once, weights resent when a PE holds several units) or unit by unit (weights kept, inputs
broadcast again). What it optimizes is the layer's simulated cycles on the given hardware;
it is never worse than any of its starting plans, round-robin included.

A candidate of the search is kept only when it simulates in fewer cycles than the best so
far, so the search passes that best as a cutoff: the evaluator may then score a candidate
by a lower bound that already reaches it (the DRAM port's time, each PE's jobs and
deliveries, the dispatch with every block prefetched: accelsim.engine.plan_bounds) or stop
its run there, without simulating it to its end. The starting plans are scored in full
until one has needed SimPy (which decides the budget below), the later ones against the
cutoff too. The search keeps and drops the same candidates as with every one simulated,
so the plan is the same, only found sooner.

The budget is a number of candidate plans per layer, so the same seed gives the same plan on
any machine: `evaluations` (default 200) where the closed form runs; where SimPy must run (the
closed form cannot compute the layer, or a starting plan would overflow the output buffer), the six
starting plans and then at most a tenth of `evaluations`, within `simpy_jobs` simulated
jobs for the layer, the starting plans' SimPy runs counted in (default 200,000: about 3-4
s of SimPy), so a large layer that the closed form cannot compute costs seconds, not
minutes (pruned VGG-16 planned in 42 s before this cap). The starting plans always run: a
layer whose starts alone simulate that many jobs gets no search beyond them; a layer of up
to 7,692 jobs keeps all 20 plans after its starts. At 100,000 jobs, vgg16_pruned's
conv2_1 (8,192 jobs) lost a plan 755 cycles faster that its search finds later.

`seconds` (default 0: none) also caps each layer's search, after its starting plans, and
the plan still depends only on the seed: a second counts as JOB_SCORES_PER_SECOND
job-scores (one job of the layer in one simulated plan), not as time read off a clock, so
the search stops after the same evaluations on every machine and under any load; only how
long that takes varies (about `seconds` where the closed form scores layers whose blocks
fit, on the benchmark machine; streamed layers and SimPy cost several times more, and
SimPy's own caps above apply). A budget
read off a clock would make the plan, and so every file of the run, depend on the
machine's speed and load, which files that must be identical for a seed do not allow.
"""

from __future__ import annotations

import numpy as np

from accelsim.policies.classic import LPT, RoundRobin
from accelsim.policies.heuristics import DensityGrouping, KarmarkarKarp, Multifit, Portfolio
from accelsim.policies.problem import Plan, Problem, by_size

# what the closed form scores per CPU second, in jobs x plans, on layers whose blocks fit
# their buffers (1.2 M on the benchmark machine; streamed layers 0.2 M):
# benchmarks/planning_speed.py prints both
JOB_SCORES_PER_SECOND = 1_000_000


class HardwareAware:
    name = "hardware-aware"
    # simulations per layer: 10^5 closed-form runs are minutes per layer; more is a typo
    option_limits = {"evaluations": 100_000, "simpy_jobs": 100_000_000, "seconds": 86_400.0}

    def __init__(
        self,
        evaluations: int = 200,
        seed: int = 0,
        simpy_jobs: int = 200_000,
        seconds: float = 0.0,
    ):
        self.evaluations = evaluations
        self.seed = seed
        self.simpy_jobs = simpy_jobs
        self.seconds = seconds

    def mapping_policy(self) -> HardwareAware:
        """What the mapper ranks candidate mappings with (accelsim.policies.mapping_policy):
        this policy without its search, so the best of its starting plans as simulated
        (spread tiles and the unit-by-unit walk included). The search costs up to
        `evaluations` simulations a candidate, and a layer has hundreds of candidates;
        run on the chosen mapping alone, it starts from the plan that ranked it, so the
        layer is never slower than the mapper's score for it."""
        return HardwareAware(0, self.seed, self.simpy_jobs, self.seconds)

    def plan(self, problem: Problem) -> Plan:
        simulated = problem.evaluate
        if simulated is None or problem.n_jobs == 0:
            return Portfolio().plan(problem)  # durations only: the textbook problem
        runs_before = simulated.simpy_runs
        units = problem.units
        _, loads = problem.unit_loads()
        rank = by_size(loads)
        best: Plan | None = None
        best_name = ""
        best_cycles: int | None = None
        starts = (RoundRobin(), LPT(), KarmarkarKarp(), Multifit(), DensityGrouping(), Portfolio())
        for policy in starts:
            plan = policy.plan(problem)
            # once a start has needed SimPy the budget below is decided, and a later start
            # matters only if it is faster than the best: it may be cut off
            decided = simulated.simpy_runs != runs_before
            cycles = simulated(plan, cutoff=best_cycles if decided else None)
            if best_cycles is None or cycles < best_cycles:
                best, best_name, best_cycles = plan, policy.name, cycles
        # `starts` is not empty, and every starting policy plans static queues
        assert best is not None and best_cycles is not None and best.queues is not None
        # the closed form's output condition depends on the plan: a start that needed SimPy
        # puts the layer on SimPy's budget
        # SimPy jobs the starts ran, each counted whole even when a cutoff stopped it
        simpy_left = self.simpy_jobs - (simulated.simpy_runs - runs_before) * problem.n_jobs
        budget = (
            self.evaluations
            if simulated.simpy_runs == runs_before
            else len(starts) + min(self.evaluations // 10, max(simpy_left, 0) // problem.n_jobs)
        )
        if self.seconds > 0:  # job-scores, not a clock: see the module docstring
            budget = min(budget, int(self.seconds * JOB_SCORES_PER_SECOND) // problem.n_jobs)
        spread = _spread(problem, loads)
        if spread is not None:
            cycles = simulated(spread, cutoff=best_cycles)
            if cycles < best_cycles:  # the search below moves whole units: skip it
                return Plan(
                    queues=spread.queues,
                    info={
                        "simulated_cycles": cycles,
                        "started_from": "spread tiles",
                        "evaluations": len(starts) + 1,
                    },
                )
        pe_of_unit = np.zeros(len(loads), dtype=np.int64)
        for pe, queue in enumerate(best.queues):
            pe_of_unit[units[list(queue)]] = pe
        # the starting plans' own within-tile order; the search keeps units longest first
        queues = _UnitQueues(problem, rank)
        if best_name != "round-robin":
            best = queues.plan(pe_of_unit, "tiles")
        used, walk = len(starts), "tiles"
        if problem.tiles.max(initial=0) > 0:  # unit by unit keeps weights, resends inputs
            plan = queues.plan(pe_of_unit, "units")
            cycles = simulated(plan, cutoff=best_cycles)
            used += 1
            if cycles < best_cycles:
                best, best_cycles, walk = plan, cycles, "units"
        rng = np.random.default_rng(self.seed)
        order = np.argsort(-loads, kind="stable")
        n_units, n_pes = len(loads), problem.n_pes
        while used < budget and n_units > 1 and n_pes > 1:
            trial = pe_of_unit.copy()
            kind = rng.random()
            if kind < 0.5:  # neighbours in size trade PEs
                k = int(rng.integers(0, n_units - 1))
                a, b = order[k], order[min(n_units - 1, k + int(rng.integers(1, n_pes + 1)))]
                trial[a], trial[b] = pe_of_unit[b], pe_of_unit[a]
            elif kind < 0.8:  # any two units trade PEs
                a, b = rng.choice(n_units, 2, replace=False)
                trial[a], trial[b] = pe_of_unit[b], pe_of_unit[a]
            else:  # a unit leaves the most loaded PE
                load = np.bincount(pe_of_unit, weights=loads, minlength=n_pes)
                mine = np.flatnonzero(pe_of_unit == int(np.argmax(load)))
                trial[rng.choice(mine)] = int(rng.integers(0, n_pes))
            if np.array_equal(trial, pe_of_unit):
                continue
            used += 1
            plan = queues.plan(trial, walk)
            cycles = simulated(plan, cutoff=best_cycles)
            if cycles < best_cycles:
                best, best_cycles, pe_of_unit = plan, cycles, trial
        return Plan(
            queues=best.queues,
            info={
                "simulated_cycles": best_cycles,
                "started_from": best_name,
                "walk": walk,
                "evaluations": used,
            },
        )


def _spread(problem: Problem, loads: np.ndarray) -> Plan | None:
    """With fewer units than PEs, whole-unit plans leave PEs idle. Here each unit gets k
    PEs (the largest units one more when P is not a multiple) that take its tiles in turn,
    so PEs holding different units work on different tiles at once; its weights are sent
    to each of them. None when there are enough units, or a single tile."""
    n_units, n_pes = len(loads), problem.n_pes
    tiles = problem.tiles
    if n_units >= n_pes or n_units == 0 or tiles.max(initial=0) == 0:
        return None
    order = np.argsort(-loads, kind="stable")
    share = np.full(n_units, n_pes // n_units)
    share[order[: n_pes % n_units]] += 1
    first = np.zeros(n_units, dtype=np.int64)
    first[order] = np.concatenate(([0], np.cumsum(share[order])[:-1]))
    units = problem.units
    pe = first[units] + tiles % share[units]
    return Plan.from_assignment(problem, pe, by_size(loads)[units])


class _UnitQueues:
    """Plan.from_unit_assignment(problem, pe_of_unit, rank, walk) for the many assignments
    of one search: the order of a PE's jobs (tile, input block, rank; or rank, tile, input
    block; ties by job) does not depend on the assignment, so it is sorted once per walk,
    and each plan only sorts the jobs by PE, keeping that order (a stable sort)."""

    def __init__(self, problem: Problem, rank: np.ndarray):
        self._units, self._n_pes = problem.units, problem.n_pes
        job_rank = np.asarray(rank, dtype=np.int64)[problem.units]
        self._within = {
            "tiles": np.lexsort((job_rank, problem.inputs, problem.tiles)),
            "units": np.lexsort((problem.inputs, problem.tiles, job_rank)),
        }
        # a narrow PE column sorts in linear time (numpy's radix sort for 16 bits or less)
        self._pe_type = np.int16 if self._n_pes <= np.iinfo(np.int16).max else np.int64

    def plan(self, pe_of_unit: np.ndarray, walk: str) -> Plan:
        pe = np.asarray(pe_of_unit)[self._units]
        within = self._within[walk]
        jobs = within[np.argsort(pe[within].astype(self._pe_type), kind="stable")].tolist()
        ends = np.cumsum(np.bincount(pe, minlength=self._n_pes)).tolist()
        return Plan(queues=tuple(tuple(jobs[a:b]) for a, b in zip([0, *ends], ends)))
