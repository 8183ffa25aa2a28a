import sys
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from accelsim.errors import PolicyError
from accelsim.policies import Plan, Problem, available, load_policy, plan_layer


def test_unknown_policy_lists_the_known_names_sorted():
    with pytest.raises(PolicyError, match=r"unknown policy 'nope'; known: density-grouping, exact, "
                                          r"greedy, kk, lpt, multifit, portfolio, round-robin, work-stealing"):
        load_policy("nope")
    assert list(available()) == sorted(available())


@pytest.fixture
def plugin_dir(tmp_path, monkeypatch):
    (tmp_path / "myplugins.py").write_text(textwrap.dedent("""
        from accelsim.policies import Plan

        class Reverse:
            name = "reverse"
            def plan(self, problem):
                return Plan.static([list(range(problem.n_jobs))[::-1]] +
                                   [[] for _ in range(problem.n_pes - 1)])

        class NoPlan:
            name = "noplan"

        class Twice:
            name = "twice"
            def plan(self, problem):
                return Plan.static([[0, 0]] + [[] for _ in range(problem.n_pes - 1)])

        class NotAPlan:
            name = "notaplan"
            def plan(self, problem):
                return [[0]]

        class Crashes:
            name = "crashes"
            def plan(self, problem):
                raise KeyError("boom")
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    sys.modules.pop("myplugins", None)


def test_a_user_policy_by_module_and_class(plugin_dir):
    policy = load_policy("myplugins:Reverse")
    plan = plan_layer(policy, Problem([3, 1, 2], 2))
    assert plan.queues == ((2, 1, 0), ())


@pytest.mark.parametrize("ref, message", [
    ("myplugins:NoPlan", r"policy 'myplugins:NoPlan' \(myplugins:NoPlan\) has no plan\(problem\)"),
    ("myplugins:Missing", r"cannot load policy 'myplugins:Missing'.*AttributeError"),
    ("nomodule:X", r"cannot load policy 'nomodule:X'.*ModuleNotFoundError"),
])
def test_malformed_plugins_are_named(plugin_dir, ref, message):
    with pytest.raises(PolicyError, match=message):
        load_policy(ref)


@pytest.mark.parametrize("ref, message", [
    ("myplugins:Twice", r"policy 'twice' must place every job exactly once: missing \[1, 2\], "
                        r"repeated \[0\]"),
    ("myplugins:NotAPlan", r"policy 'notaplan' returned list, not a Plan"),
    ("myplugins:Crashes", r"policy 'crashes' failed: KeyError"),
])
def test_broken_plans_are_named(plugin_dir, ref, message):
    with pytest.raises(PolicyError, match=message):
        plan_layer(load_policy(ref), Problem([3, 1, 2], 2))


def test_plan_with_wrong_pe_count_or_bad_index():
    with pytest.raises(PolicyError, match="planned 1 PE queues for 2 PEs"):
        Plan.static([[0]]).check(1, 2, "p")
    with pytest.raises(PolicyError, match=r"outside \[0, 1\)"):
        Plan.static([[5], []]).check(1, 2, "p")


def _optimum(cycles, n):
    """Brute force optimal makespan for tiny instances."""
    best = [sum(cycles)]
    def go(i, loads):
        if max(loads) >= best[0]:
            return
        if i == len(cycles):
            best[0] = max(loads)
            return
        for p in range(n):
            loads[p] += cycles[i]
            go(i + 1, loads)
            loads[p] -= cycles[i]
    go(0, [0] * n)
    return best[0]


@settings(max_examples=60, deadline=None)
@given(cycles=st.lists(st.integers(0, 50), min_size=1, max_size=8), n=st.integers(1, 4),
       name=st.sampled_from(["round-robin", "lpt"]))
def test_static_plans_place_every_job_once_and_respect_bounds(cycles, n, name):
    problem = Problem(cycles, n)
    plan = plan_layer(load_policy(name), problem)
    assert sorted(j for q in plan.queues for j in q) == list(range(len(cycles)))
    makespan = plan.planned_makespan(problem.cycles)
    bound = max(-(-sum(cycles) // n), max(cycles))
    assert makespan >= bound
    if name == "lpt":
        opt = _optimum(cycles, n)
        assert makespan * 3 * n <= (4 * n - 1) * opt  # Graham: 4/3 - 1/(3P)


def test_greedy_is_dynamic_and_keeps_index_order():
    plan = plan_layer(load_policy("greedy"), Problem([5, 1, 4], 2))
    assert plan.dynamic and plan.order == (0, 1, 2)


def test_round_robin_deals_units_in_index_order():
    plan = plan_layer(load_policy("round-robin"), Problem(np.ones(5), 2))
    assert plan.queues == ((0, 2, 4), (1, 3))
