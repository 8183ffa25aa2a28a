"""Exact planning with CP-SAT (OR-Tools, the `accelsim[exact]` extra).

Stronger than a plain 0/1 assignment model:
- units of equal length are one *type*, and the model counts how many of each type each PE
  gets (integers y[t, p]) instead of placing each unit: identical filters stop multiplying
  the search space;
- PE loads are ordered (load_0 >= load_1 >= ...), removing the PEs' symmetry;
- the makespan is bounded below by LB0/LB1 and above by the best of several heuristics
  (KK, MULTIFIT, LPT, each improved), whose plan is given as a complete hint;
- when that heuristic already meets the bound, optimality is proven without a search.
The result says whether optimality was proven, and the best bound found either way.
"""

from __future__ import annotations

import time

import numpy as np

from accelsim.errors import PolicyError
from accelsim.policies.classic import lpt_assignment
from accelsim.policies.partition import improve_assignment, kk_assignment, multifit_assignment
from accelsim.policies.problem import Plan, Problem, by_size
from accelsim.policies.rounds import (
    Rounds,
    improve_rounds,
    in_rounds,
    kk_rounds,
    lpt_rounds,
    multifit_rounds,
    unit_rounds,
)


def _makespan(loads, pe_of, n_pes) -> int:
    return int(np.bincount(pe_of, weights=loads, minlength=n_pes).max(initial=0))


def best_heuristic(loads: np.ndarray, n_pes: int) -> np.ndarray:
    """The best of KK, MULTIFIT and LPT, each passed through the improvement step."""
    candidates = [
        kk_assignment(loads, n_pes),
        multifit_assignment(loads, n_pes),
        lpt_assignment(loads, n_pes)[0],
    ]
    improved = [improve_assignment(loads, c, n_pes) for c in candidates]
    return min(improved, key=lambda a: _makespan(loads, a, n_pes))


def best_in_rounds(r: Rounds, n_pes: int) -> np.ndarray:
    """best_heuristic on a layer: KK, MULTIFIT and LPT inside the broadcast rounds, each
    improved without leaving them."""
    candidates = [kk_rounds(r, n_pes), multifit_rounds(r, n_pes), lpt_rounds(r, n_pes)]
    improved = [improve_rounds(r, c, n_pes) for c in candidates]
    return min(improved, key=lambda a: _makespan(r.loads, a, n_pes))


def unit_bound(loads: np.ndarray, n_pes: int) -> int:
    if len(loads) == 0:
        return 0
    lb = max(-(-int(loads.sum()) // n_pes), int(loads.max()))
    if len(loads) > n_pes:
        top = np.sort(loads)[::-1]
        lb = max(lb, int(top[n_pes - 1] + top[n_pes]))
    return lb


class Exact:
    """Minimum makespan by CP-SAT within a budget, warm-started by the best heuristic.
    Plan.info tells whether optimality was proven, and the bound.

    The budget `time_limit_s` is CP-SAT's deterministic time (`max_deterministic_time`), a
    count of the solver's own work in its units of seconds (0.9-1.1 CPU seconds each on one
    core of the benchmark machine), not a clock: the search stops after the same work on any
    machine and under any load, so the same seed gives the same plan, and its CPU is bounded.
    A wall-clock limit would make the plan, and every file of the run, depend on how busy
    the machine was. `workers` > 1 runs CP-SAT's subsolvers interleaved in one thread
    (`interleave_search`), which is what keeps them deterministic; its batches may overrun
    the budget by a few tenths of a unit.

    On a layer with its hardware it plans inside the broadcast rounds, as every partitioning
    policy does there (accelsim.policies.rounds): optimality is then among plans that keep
    them (Plan.info["within_rounds"]).

    The model has one variable per (unit length, PE), and building it alone costs about 10 us
    per variable, beyond the budget. A model of more than `variables_per_second` times
    the budget (a quarter of it spent building) is not built: the heuristic's plan is
    returned, and Plan.info says so."""

    name = "exact"
    requires = ("ortools", "accelsim[exact]")  # (module, what to pip install)
    # a day per layer; subsolvers; CP-SAT's random_seed is a 32-bit signed integer
    option_limits = {"time_limit_s": 86_400.0, "workers": 256, "seed": 2**31 - 1}

    def __init__(
        self,
        time_limit_s: float = 10.0,
        workers: int = 1,
        seed: int = 0,
        variables_per_second: int = 25_000,
    ):
        self.time_limit_s = time_limit_s
        self.workers = workers
        self.seed = seed
        self.variables_per_second = variables_per_second

    def plan(self, problem: Problem) -> Plan:
        try:
            from ortools.sat.python import cp_model
        except ImportError:
            raise PolicyError(
                "policy 'exact' needs OR-Tools: pip install 'accelsim[exact]'"
            ) from None
        t0 = time.perf_counter()
        units, loads = problem.unit_loads()
        n = problem.n_pes
        rounds = unit_rounds(problem) if in_rounds(problem) else None
        incumbent = best_heuristic(loads, n) if rounds is None else best_in_rounds(rounds, n)
        group = np.zeros(len(loads), dtype=np.int64) if rounds is None else rounds.round_of
        best = _makespan(loads, incumbent, n)
        bound = unit_bound(loads, n)
        status = "bound met by heuristic"
        variables = len(np.unique(group * (int(loads.max(initial=0)) + 1) + loads)) * n
        limit = int(self.variables_per_second * self.time_limit_s)
        if best > bound and variables > limit:
            status = (
                f"not solved: the model would have {variables} variables, more than "
                f"{limit} for a budget of {self.time_limit_s:g} s; the heuristic's plan"
            )
        elif best > bound:
            solved = self._solve(
                cp_model, loads, n, incumbent, bound, best, None if rounds is None else group
            )
            status, bound, found = solved
            if found is not None and _makespan(loads, found, n) < best:
                incumbent, best = found, _makespan(loads, found, n)
        proven = best == bound
        info = {
            "proven_optimal": proven and len(loads) == problem.n_jobs,
            "optimal_over_units": proven,
            "bound": bound,
            "makespan": best,
            "status": status,
            "within_rounds": rounds is not None,
            "seconds": time.perf_counter() - t0,
        }
        plan = Plan.from_unit_assignment(
            problem, incumbent, by_size(loads) if rounds is None else rounds.rank
        )
        return Plan(queues=plan.queues, info=info)

    def _solve(self, cp_model, loads, n, incumbent, bound, best, group=None):
        """Units of one length (and, inside broadcast rounds, one round: `group`) are a
        type; a PE then takes at most one unit of each round."""
        key = loads if group is None else group * (int(loads.max(initial=0)) + 1) + loads
        _, first, inverse, counts = np.unique(
            key, return_index=True, return_inverse=True, return_counts=True
        )
        types = loads[first]
        model = cp_model.CpModel()
        y = [
            [model.new_int_var(0, int(c), f"y{t}_{p}") for p in range(n)]
            for t, c in enumerate(counts)
        ]
        pe_load = []
        for p in range(n):
            pe_load.append(model.new_int_var(0, best, f"load{p}"))
            model.add(pe_load[p] == sum(int(types[t]) * y[t][p] for t in range(len(types))))
        for t, c in enumerate(counts):
            model.add(sum(y[t]) == int(c))
        if group is not None:
            type_group = group[first]
            for k in np.unique(type_group).tolist():
                ts = np.flatnonzero(type_group == k).tolist()
                for p in range(n):
                    model.add(sum(y[t][p] for t in ts) <= 1)
        for p in range(n - 1):
            model.add(pe_load[p] >= pe_load[p + 1])
        makespan = model.new_int_var(bound, best, "makespan")
        model.add(makespan == pe_load[0])
        model.minimize(makespan)
        # complete hint: the incumbent, PEs renumbered by decreasing load
        hint_loads = np.bincount(incumbent, weights=loads, minlength=n)
        rename = np.empty(n, dtype=np.int64)
        rename[np.argsort(-hint_loads, kind="stable")] = np.arange(n)
        hint = np.zeros((len(types), n), dtype=np.int64)
        np.add.at(hint, (inverse, rename[incumbent]), 1)
        for t in range(len(types)):
            for p in range(n):
                model.add_hint(y[t][p], int(hint[t, p]))
        solver = cp_model.CpSolver()
        solver.parameters.max_deterministic_time = self.time_limit_s  # work, not a clock
        solver.parameters.num_workers = self.workers
        solver.parameters.interleave_search = self.workers > 1  # one thread: reproducible
        solver.parameters.random_seed = self.seed
        code = solver.solve(model)
        name = solver.status_name(code)
        if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return name, bound, None
        found = np.empty(len(loads), dtype=np.int64)
        for t in range(len(types)):
            members = iter(np.flatnonzero(inverse == t))
            for p in range(n):
                for _ in range(solver.value(y[t][p])):
                    found[next(members)] = p
        new_bound = max(bound, int(np.ceil(solver.best_objective_bound - 1e-9)))
        if code == cp_model.OPTIMAL:
            new_bound = int(solver.objective_value)
        return name, new_bound, found
