"""Scheduling on its own: any list of job durations, no network or hardware around it.

    from accelsim.policies.schedule import plan
    s = plan([120, 80, 75, 60, 33], n_pes=2, policy="kk")
    s.makespan, s.bounds.best, s.ratio, s.queues, s.loads

Bounds on the makespan of any assignment of the jobs to P identical PEs:
LB0 = max(ceil(total / P), longest job); LB1 = p(P) + p(P+1) over the durations sorted in
decreasing order (with more jobs than PEs, two of the P+1 longest share a PE); and, when the
exact solver proves it, the optimum itself.
"""

from __future__ import annotations

import heapq
import time

import numpy as np
from attrs import field, frozen

from accelsim.policies.problem import Plan, Policy, Problem, plan_layer
from accelsim.policies.registry import load_policy
from accelsim.units import ceil_div


@frozen
class Bounds:
    lb0: int
    lb1: int
    optimum: int | None = None  # proven by the exact solver, when it did

    @property
    def best(self) -> int:
        return max(self.lb0, self.lb1, self.optimum or 0)

    @property
    def which(self) -> str:
        if self.optimum is not None and self.optimum >= max(self.lb0, self.lb1):
            return "optimum"
        return "LB1" if self.lb1 > self.lb0 else "LB0"


def bounds(cycles, n_pes: int, optimum: int | None = None) -> Bounds:
    """LB0 and LB1 of a set of job durations on n_pes PEs."""
    cycles = np.asarray(cycles, dtype=np.int64)
    if len(cycles) == 0:
        return Bounds(0, 0, optimum)
    lb0 = max(ceil_div(int(cycles.sum()), n_pes), int(cycles.max()))
    lb1 = 0
    if len(cycles) > n_pes:
        top = np.sort(cycles)[::-1]
        lb1 = int(top[n_pes - 1] + top[n_pes])
    return Bounds(lb0, lb1, optimum)


@frozen
class Schedule:
    policy: str
    n_pes: int
    queues: tuple[tuple[int, ...], ...] | None  # per PE, job order (static; stealing: start)
    order: tuple[int, ...] | None  # dynamic policies: the central queue
    loads: np.ndarray = field(eq=False)
    makespan: int
    bounds: Bounds
    plan_seconds: float = field(eq=False)
    proven_optimal: bool = False

    @property
    def ratio(self) -> float:
        return self.makespan / self.bounds.best if self.bounds.best else 1.0

    def as_dict(self) -> dict:
        return {
            "policy": self.policy,
            "n_pes": self.n_pes,
            "makespan": self.makespan,
            "best_bound": self.bounds.best,
            "bound_kind": self.bounds.which,
            "lb0": self.bounds.lb0,
            "lb1": self.bounds.lb1,
            "optimum": self.bounds.optimum,
            "ratio": self.ratio,
            "proven_optimal": self.proven_optimal,
            "plan_seconds": self.plan_seconds,
            "loads": self.loads.tolist(),
            "queues": None if self.queues is None else [list(q) for q in self.queues],
        }


def list_schedule(cycles: np.ndarray, order, n_pes: int) -> np.ndarray:
    """PE loads when jobs in `order` go to the PE that frees first, the lowest index on a tie
    (a dynamic plan's outcome with ideal hardware)."""
    free = [(0, p) for p in range(n_pes)]
    cycles = np.asarray(cycles).tolist()
    for j in order:
        t, p = free[0]
        heapq.heapreplace(free, (t + cycles[j], p))
    loads = np.zeros(n_pes, dtype=np.int64)
    for t, p in free:
        loads[p] = t
    return loads


def steal_schedule(cycles: np.ndarray, queues, n_pes: int) -> np.ndarray:
    """PE loads under work stealing with ideal hardware: a PE that frees up takes its own
    next job, else the last job of the PE with the most jobs left (the lowest index on a
    tie)."""
    pending = [list(q) for q in queues]
    cycles = np.asarray(cycles).tolist()
    loads = [0] * n_pes
    heads = [0] * n_pes
    ready = [(0, p) for p in range(n_pes)]
    # PEs by jobs left, most first; an entry is stale once that PE's count has changed
    most = [(-len(q), p) for p, q in enumerate(pending) if q]
    heapq.heapify(most)
    left = sum(len(q) for q in pending)
    while left:
        t, p = heapq.heappop(ready)
        if heads[p] < len(pending[p]):
            j = pending[p][heads[p]]
            heads[p] += 1
            victim = p
        else:
            while -most[0][0] != len(pending[most[0][1]]) - heads[most[0][1]]:
                heapq.heappop(most)
            victim = most[0][1]
            j = pending[victim].pop()
        if len(pending[victim]) > heads[victim]:
            heapq.heappush(most, (heads[victim] - len(pending[victim]), victim))
        left -= 1
        loads[p] += cycles[j]
        heapq.heappush(ready, (t + cycles[j], p))
    return np.array(loads, dtype=np.int64)


def plan(job_cycles, n_pes: int, policy: str | Policy = "lpt") -> Schedule:
    """Plan any list of job durations (cycles) on n_pes identical PEs with a policy."""
    cycles = np.asarray(job_cycles, dtype=np.int64)
    if cycles.ndim != 1 or (cycles < 0).any():
        raise ValueError("job_cycles must be a flat list of non-negative integers")
    if n_pes < 1:
        raise ValueError(f"n_pes must be >= 1: {n_pes}")
    pol = load_policy(policy) if isinstance(policy, str) else policy
    t0 = time.perf_counter()
    result = plan_layer(pol, Problem(cycles, n_pes))
    seconds = time.perf_counter() - t0
    return schedule_of(result, cycles, n_pes, pol.name, seconds)


def schedule_of(
    result: Plan, cycles: np.ndarray, n_pes: int, name: str, seconds: float
) -> Schedule:
    if result.steal:
        loads = steal_schedule(cycles, result.queues, n_pes)
    elif result.dynamic:
        loads = list_schedule(cycles, result.order, n_pes)
    else:
        assert result.queues is not None  # not dynamic: a static plan, which has queues
        loads = np.array([int(cycles[list(q)].sum()) for q in result.queues], dtype=np.int64)
    proven = bool(result.info.get("proven_optimal", False))
    opt = int(loads.max(initial=0)) if proven else None
    return Schedule(
        policy=name,
        n_pes=n_pes,
        queues=result.queues,
        order=result.order,
        loads=loads,
        makespan=int(loads.max(initial=0)),
        bounds=bounds(cycles, n_pes, opt),
        plan_seconds=seconds,
        proven_optimal=proven,
    )
