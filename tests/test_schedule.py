"""The standalone scheduling API: every policy on bare job durations."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_policies import _optimum

from accelsim.policies import Problem, plan_layer
from accelsim.policies.schedule import bounds, plan

STATIC = [
    "round-robin",
    "lpt",
    "multifit",
    "kk",
    "density-grouping",
    "portfolio",
    "lpt+improve",
    "kk+improve",
    "multifit+improve",
]
durations = st.lists(st.integers(0, 200), min_size=1, max_size=9)


@settings(max_examples=80, deadline=None)
@given(
    cycles=durations,
    n=st.integers(1, 4),
    name=st.sampled_from(STATIC + ["greedy", "work-stealing"]),
)
def test_every_policy_places_each_job_once_and_respects_every_bound(cycles, n, name):
    s = plan(cycles, n, name)
    placed = s.order if s.queues is None else [j for q in s.queues for j in q]
    assert sorted(placed) == list(range(len(cycles)))  # stealing: where the PEs start
    if name in STATIC:
        assert s.loads.tolist() == [sum(cycles[j] for j in q) for q in s.queues]
    assert s.loads.sum() == sum(cycles)
    assert s.makespan >= s.bounds.lb0 and s.makespan >= s.bounds.lb1
    assert s.makespan >= _optimum(cycles, n)
    assert plan(cycles, n, name) == s  # deterministic


@settings(max_examples=80, deadline=None)
@given(cycles=durations, n=st.integers(1, 4))
def test_bounds_are_valid_and_lb1_is_tight_where_it_should_be(cycles, n):
    b = bounds(cycles, n)
    opt = _optimum(cycles, n)
    assert b.lb0 <= opt and b.lb1 <= opt and b.best <= opt


@settings(max_examples=60, deadline=None)
@given(
    cycles=durations,
    n=st.integers(1, 4),
    base=st.sampled_from(["round-robin", "lpt", "multifit", "kk"]),
)
def test_improvement_never_makes_a_plan_worse(cycles, n, base):
    assert plan(cycles, n, base + "+improve").makespan <= plan(cycles, n, base).makespan


def test_lb1_example_and_bound_kind():
    b = bounds([10, 10, 10, 1], 2)  # three jobs of 10 on 2 PEs: two share a PE
    assert (b.lb0, b.lb1, b.best, b.which) == (16, 20, 20, "LB1")


def test_heuristics_on_a_textbook_instance():
    # Graham's worst case for LPT on 2 PEs: 3,3,2,2,2 -> LPT 7, optimum 6
    assert plan([3, 3, 2, 2, 2], 2, "lpt").makespan == 7
    assert plan([3, 3, 2, 2, 2], 2, "kk").makespan == 7  # differencing pairs 3-3, then 2-2
    assert plan([3, 3, 2, 2, 2], 2, "multifit").makespan == 6
    assert plan([3, 3, 2, 2, 2], 2, "lpt+improve").makespan == 6


def test_bad_inputs():
    with pytest.raises(ValueError, match="non-negative"):
        plan([3, -1], 2)
    with pytest.raises(ValueError, match="n_pes must be >= 1"):
        plan([3], 0)


@settings(max_examples=30, deadline=None)
@given(cycles=st.lists(st.integers(1, 60), min_size=1, max_size=9), n=st.integers(1, 4))
def test_exact_is_optimal_and_no_worse_than_any_heuristic(cycles, n):
    from accelsim.policies.exact import Exact

    s = plan(cycles, n, Exact(time_limit_s=5, workers=1))
    assert s.proven_optimal and s.makespan == _optimum(cycles, n)
    assert s.bounds.which == "optimum" and s.ratio == 1.0
    for name in STATIC:
        assert s.makespan <= plan(cycles, n, name).makespan


def test_exact_says_when_it_has_not_proved_anything():
    from accelsim.policies.exact import Exact

    rng = np.random.default_rng(0)
    cycles = rng.integers(100, 5000, 300)
    s = plan(cycles, 32, Exact(time_limit_s=0.05, workers=1))
    assert s.makespan <= plan(cycles, 32, "kk").makespan
    assert s.proven_optimal == (s.makespan == s.bounds.best)


@pytest.mark.parametrize("workers", [1, 2])
def test_exact_budget_is_work_not_a_clock(monkeypatch, workers):
    """CP-SAT stops on its deterministic time, never on a clock, so a search cut by its
    budget gives the same plan on every run, whatever the load."""
    from ortools.sat.python import cp_model

    from accelsim.policies.exact import Exact

    seen = []
    solve = cp_model.CpSolver.solve

    def spy(self, *a, **k):
        seen.append(self.parameters)
        return solve(self, *a, **k)

    monkeypatch.setattr(cp_model.CpSolver, "solve", spy)
    rng = np.random.default_rng(0)
    cycles = rng.integers(100, 5000, 300)
    policy = Exact(time_limit_s=0.05, workers=workers, variables_per_second=10**7)
    runs = [plan(cycles, 32, policy) for _ in range(2)]
    assert runs[0].queues == runs[1].queues and not runs[0].proven_optimal
    assert len(seen) == 2
    for params in seen:
        assert params.max_deterministic_time == 0.05
        assert params.max_time_in_seconds == cp_model.CpSolver().parameters.max_time_in_seconds
        assert params.num_workers == workers and params.interleave_search == (workers > 1)


def test_exact_without_ortools_names_the_extra(monkeypatch):
    import builtins

    from accelsim.errors import PolicyError
    from accelsim.policies.exact import Exact

    real = builtins.__import__

    def no_ortools(name, *a, **k):
        if name.startswith("ortools"):
            raise ImportError(name)
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_ortools)
    with pytest.raises(PolicyError, match=r"needs OR-Tools: pip install 'accelsim\[exact\]'"):
        plan([5, 4, 3, 3], 2, Exact())


@settings(max_examples=40, deadline=None)
@given(cycles=durations, n=st.integers(1, 4))
def test_portfolio_is_at_least_as_good_as_each_improved_heuristic(cycles, n):
    best = plan(cycles, n, "portfolio").makespan
    for name in ("lpt+improve", "kk+improve", "multifit+improve"):
        assert best <= plan(cycles, n, name).makespan


def _ref_list_schedule(cycles, order, n):
    loads = np.zeros(n, dtype=np.int64)
    for j in order:
        loads[int(np.argmin(loads))] += cycles[j]
    return loads


def _ref_steal_schedule(cycles, queues, n):
    """Every steal scans all PEs for the one with the most jobs left."""
    import heapq

    pending, heads, loads = [list(q) for q in queues], [0] * n, np.zeros(n, dtype=np.int64)
    ready = [(0, p) for p in range(n)]
    for _ in range(sum(len(q) for q in pending)):
        t, p = heapq.heappop(ready)
        if heads[p] < len(pending[p]):
            j = pending[p][heads[p]]
            heads[p] += 1
        else:
            victim = max(range(n), key=lambda q: (len(pending[q]) - heads[q], -q))
            j = pending[victim].pop()
        loads[p] += cycles[j]
        heapq.heappush(ready, (t + int(cycles[j]), p))
    return loads


@settings(max_examples=150, deadline=None)
@given(data=st.data(), n=st.integers(1, 6))
def test_dynamic_outcomes_equal_the_references(data, n):
    from accelsim.policies.schedule import list_schedule, steal_schedule

    cycles = np.array(data.draw(st.lists(st.integers(0, 9), min_size=1, max_size=30)))
    order = data.draw(st.permutations(range(len(cycles))))
    assert list_schedule(cycles, order, n).tolist() == _ref_list_schedule(cycles, order, n).tolist()
    pe = data.draw(st.lists(st.integers(0, n - 1), min_size=len(cycles), max_size=len(cycles)))
    queues = [[j for j in order if pe[j] == p] for p in range(n)]
    assert (
        steal_schedule(cycles, queues, n).tolist()
        == _ref_steal_schedule(cycles, queues, n).tolist()
    )


def test_exact_returns_the_portfolio_plan_when_its_model_is_too_large():
    from accelsim.policies.exact import Exact

    rng = np.random.default_rng(0)
    cycles = rng.integers(100, 5000, 300)
    s = plan(cycles, 32, Exact(time_limit_s=1, workers=1, variables_per_second=100))
    portfolio = plan(cycles, 32, "portfolio")
    assert s.queues == portfolio.queues and not s.proven_optimal
    assert s.makespan > s.bounds.best  # else the bound would have been met without a model
    policy = Exact(time_limit_s=1, variables_per_second=100)
    info = plan_layer(policy, Problem(cycles, 32)).info
    assert (
        info["status"].startswith("not solved: the model would have") and not info["proven_optimal"]
    )
