import heapq
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accelsim.errors import PolicyError
from accelsim.policies import Plan, Problem, available, load_policy, plan_layer
from accelsim.workload.jobs import Job


def test_unknown_policy_lists_the_known_names_sorted():
    with pytest.raises(
        PolicyError,
        match=r"unknown policy 'nope'; known: density-grouping, exact, "
        r"greedy, hardware-aware, kk, lpt, multifit, portfolio, "
        r"round-robin, work-stealing",
    ):
        load_policy("nope")
    assert list(available()) == sorted(available())


@pytest.fixture
def plugin_dir(tmp_path, monkeypatch):
    (tmp_path / "myplugins.py").write_text(
        textwrap.dedent("""
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
    """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    sys.modules.pop("myplugins", None)


def test_a_user_policy_by_module_and_class(plugin_dir):
    policy = load_policy("myplugins:Reverse")
    plan = plan_layer(policy, Problem([3, 1, 2], 2))
    assert plan.queues == ((2, 1, 0), ())


@pytest.mark.parametrize(
    "ref, message",
    [
        (
            "myplugins:NoPlan",
            r"policy 'myplugins:NoPlan' \(myplugins:NoPlan\) has no plan\(problem\)",
        ),
        ("myplugins:Missing", r"cannot load policy 'myplugins:Missing'.*AttributeError"),
        ("nomodule:X", r"cannot load policy 'nomodule:X'.*ModuleNotFoundError"),
    ],
)
def test_malformed_plugins_are_named(plugin_dir, ref, message):
    with pytest.raises(PolicyError, match=message):
        load_policy(ref)


@pytest.mark.parametrize(
    "ref, message",
    [
        (
            "myplugins:Twice",
            r"policy 'twice' must place every job exactly once: missing \[1, 2\], "
            r"repeated \[0\]",
        ),
        ("myplugins:NotAPlan", r"policy 'notaplan' returned list, not a Plan"),
        ("myplugins:Crashes", r"policy 'crashes' failed: KeyError"),
    ],
)
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
@given(
    cycles=st.lists(st.integers(0, 50), min_size=1, max_size=8),
    n=st.integers(1, 4),
    name=st.sampled_from(["round-robin", "lpt"]),
)
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


# Straightforward references (the first implementations, O(n P)): the fast ones must give the
# same plans, ties included.


def _ref_lpt(loads, n):
    heap, pe_of = [(0, p) for p in range(n)], np.zeros(len(loads), dtype=np.int64)
    for i in np.argsort(-np.asarray(loads), kind="stable"):
        load, p = heapq.heappop(heap)
        pe_of[i] = p
        heapq.heappush(heap, (load + int(loads[i]), p))
    return pe_of


def _ref_ffd(loads, order, n, capacity):
    bins, pe_of = np.zeros(n, dtype=np.int64), np.zeros(len(loads), dtype=np.int64)
    for i in order:
        fits = np.flatnonzero(bins <= capacity - loads[i])
        if not len(fits):
            return None
        pe_of[i] = fits[0]
        bins[fits[0]] += loads[i]
    return pe_of


def _ref_multifit(loads, n):
    order = np.argsort(-loads, kind="stable")
    total = int(loads.sum())
    lo = max(-(-total // n), int(loads.max())) - 1
    hi = max(-(-2 * total // n), int(loads.max()))
    best = _ref_ffd(loads, order, n, hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        packed = _ref_ffd(loads, order, n, mid)
        if packed is None:
            lo = mid
        else:
            hi, best = mid, packed
    return best


def _ref_kk(loads, n):
    """Every partial partition as a dense vector of P sums; each merge remembers how it
    permuted the subsets."""
    heap, merges = [], []
    for i, x in enumerate(loads):
        sums = np.zeros(n, dtype=np.int64)
        sums[0] = x
        heap.append((-int(x), i, i, sums))
    heapq.heapify(heap)
    counter = len(loads)
    while len(heap) > 1:
        _, _, node_a, a = heapq.heappop(heap)
        _, _, node_b, b = heapq.heappop(heap)
        b_rev = np.arange(n)[::-1]
        merged = a + b[b_rev]
        order = np.argsort(-merged, kind="stable")
        merged = merged[order]
        merges.append((node_a, node_b, order, b_rev[order]))
        heapq.heappush(
            heap, (-int(merged[0] - merged[-1]), counter, len(loads) + len(merges) - 1, merged)
        )
        counter += 1
    pe_of = np.zeros(len(loads), dtype=np.int64)
    stack = [(heap[0][2], np.arange(n))]
    while stack:
        node, pe_of_subset = stack.pop()
        if node < len(loads):
            pe_of[node] = pe_of_subset[0]
            continue
        node_a, node_b, a_of, b_of = merges[node - len(loads)]
        map_a, map_b = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
        map_a[a_of] = pe_of_subset
        map_b[b_of] = pe_of_subset
        stack += [(node_a, map_a), (node_b, map_b)]
    return pe_of


def _ref_improve(loads, pe_of, n, max_rounds=10_000):
    """Every round, the gain of every (item of the top PE, item or empty slot elsewhere)."""
    pe_of = np.array(pe_of, dtype=np.int64)
    pe_load = np.bincount(pe_of, weights=loads, minlength=n).astype(np.int64)
    for _ in range(max_rounds):
        top = int(np.argmax(pe_load))
        mine = np.flatnonzero(pe_of == top)
        if len(mine) == 0 or n == 1:
            break
        others = np.flatnonzero(pe_of != top)
        peers = np.flatnonzero(np.arange(n) != top)
        v = np.concatenate((loads[others], np.zeros(len(peers), dtype=np.int64)))
        v_pe = np.concatenate((pe_of[others], peers))
        v_item = np.concatenate((others, np.full(len(peers), -1)))
        gap = pe_load[top] - pe_load[v_pe]
        d = loads[mine][:, None] - v[None, :]
        gain = np.where((d > 0) & (d < gap), np.minimum(d, gap - d), 0)
        best = int(np.argmax(gain))
        if gain.flat[best] <= 0:
            break
        i, k = divmod(best, len(v))
        pe_of[mine[i]] = v_pe[k]
        if v_item[k] >= 0:
            pe_of[v_item[k]] = top
        pe_load[top] -= d[i, k]
        pe_load[v_pe[k]] += d[i, k]
    return pe_of


def _ref_plan(problem, pe_of_job, rank):
    queues = [[] for _ in range(problem.n_pes)]
    for j, (pe, r) in enumerate(zip(pe_of_job, rank)):
        job = problem.jobs[j]
        queues[int(pe)].append((job.tile, job.input_block, int(r), j))
    return tuple(tuple(key[-1] for key in sorted(q)) for q in queues)


# ties and zero loads are where orders could differ: few distinct values, often zero
loads_st = st.one_of(
    st.lists(st.integers(0, 4), min_size=1, max_size=60),
    st.lists(st.integers(0, 300), min_size=1, max_size=60),
)


@settings(max_examples=300, deadline=None)
@given(loads=loads_st, n=st.integers(1, 12))
def test_partitioning_heuristics_equal_the_references(loads, n):
    from accelsim.policies.classic import lpt_assignment
    from accelsim.policies.partition import improve_assignment, kk_assignment, multifit_assignment
    from accelsim.policies.rounds import deal_rounds, rounds_of

    loads = np.array(loads, dtype=np.int64)
    assert lpt_assignment(loads, n)[0].tolist() == _ref_lpt(loads, n).tolist()
    assert multifit_assignment(loads, n).tolist() == _ref_multifit(loads, n).tolist()
    assert kk_assignment(loads, n).tolist() == _ref_kk(loads, n).tolist()
    rounds = rounds_of(loads, np.zeros(len(loads), dtype=np.int64), n)
    pe, rank = deal_rounds(rounds, n), rounds.rank
    k = np.argsort(-loads, kind="stable")
    assert rank[k].tolist() == list(range(len(loads)))
    full = len(loads) // n * n  # full rounds snake; the last, partial one
    assert pe[k[:full]].tolist() == [
        (r % n if r // n % 2 == 0 else n - 1 - r % n) for r in range(full)
    ]
    totals = np.bincount(pe[k[:full]], weights=loads[k[:full]], minlength=n)
    assert pe[k[full:]].tolist() == np.argsort(totals, kind="stable")[: len(loads) - full].tolist()
    for start in (_ref_lpt(loads, n), np.arange(len(loads)) % n, np.zeros(len(loads), int)):
        for rounds in (2, 10_000):
            assert (
                improve_assignment(loads, start, n, rounds).tolist()
                == _ref_improve(loads, start, n, rounds).tolist()
            )
        # the work cap stops after the round that passes it: here, the first
        assert (
            improve_assignment(loads, start, n, max_work=0).tolist()
            == _ref_improve(loads, start, n, 1).tolist()
        )


@settings(max_examples=40, deadline=None)
@given(loads=st.lists(st.integers(0, 5000), min_size=50, max_size=400), n=st.integers(2, 64))
def test_karmarkar_karp_equals_the_reference_on_many_items(loads, n):
    from accelsim.policies.partition import kk_assignment

    loads = np.array(loads, dtype=np.int64)
    assert kk_assignment(loads, n).tolist() == _ref_kk(loads, n).tolist()


def _jobs(units, tiles, cycles):
    """Units of two conv groups: each tile has one input block per group."""
    return tuple(
        Job(j, 0, u, t, 0, (u,), c, c, u, 2 * t + u % 2, t)
        for j, (u, t, c) in enumerate(zip(units, tiles, cycles))
    )


@settings(max_examples=100, deadline=None)
@given(data=st.data(), n=st.integers(1, 6))
def test_plans_of_layers_equal_the_reference(data, n):
    """Jobs grouped into units over tiles: every static policy's queues are its reference
    assignment of unit loads, ordered by tile, input block, rank, then job."""
    from accelsim.policies import by_size
    from accelsim.policies.exact import best_heuristic

    n_units = data.draw(st.integers(1, 12))
    n_tiles = data.draw(st.integers(1, 4))
    cycles = data.draw(
        st.lists(st.integers(0, 9), min_size=n_units * n_tiles, max_size=n_units * n_tiles)
    )
    units = [u for _ in range(n_tiles) for u in range(n_units)]
    tiles = [t for t in range(n_tiles) for _ in range(n_units)]
    problem = Problem(cycles, n, _jobs(units, tiles, cycles))
    loads = np.bincount(units, weights=cycles, minlength=n_units).astype(np.int64)
    assert problem.unit_loads()[1].tolist() == loads.tolist()
    rank = by_size(loads)[units]
    expected = {
        "round-robin": (np.array(units) % n, range(len(cycles))),
        "lpt": (_ref_lpt(loads, n)[units], rank),
        "kk": (_ref_kk(loads, n)[units], rank),
        "multifit": (_ref_multifit(loads, n)[units], rank),
        "lpt+improve": (_ref_improve(loads, _ref_lpt(loads, n), n)[units], rank),
        "portfolio": (best_heuristic(loads, n)[units], rank),
    }
    for name, (pe, r) in expected.items():
        assert plan_layer(load_policy(name), problem).queues == _ref_plan(problem, pe, r), name


@settings(max_examples=60, deadline=None)
@given(loads=loads_st, n=st.integers(1, 8))
def test_portfolio_is_the_best_improved_heuristic(loads, n):
    from accelsim.policies.exact import best_heuristic

    loads = np.array(loads, dtype=np.int64)
    spans = [
        np.bincount(_ref_improve(loads, a, n), weights=loads, minlength=n).max()
        for a in (_ref_kk(loads, n), _ref_multifit(loads, n), _ref_lpt(loads, n))
    ]
    assert np.bincount(best_heuristic(loads, n), weights=loads, minlength=n).max() == min(spans)


def test_walking_units_runs_each_unit_over_all_its_tiles_before_the_next():
    # units 0 and 1 on PE 0, unit 2 on PE 1, three tiles; two conv groups
    units = [u for _ in range(3) for u in range(3)]
    tiles = [t for t in range(3) for _ in range(3)]
    cycles = [5, 3, 4] * 3
    problem = Problem(cycles, 2, _jobs(units, tiles, cycles))
    pe_of_unit, rank = np.array([0, 0, 1]), np.array([0, 1, 2])
    by_tiles = Plan.from_unit_assignment(problem, pe_of_unit, rank)
    by_units = Plan.from_unit_assignment(problem, pe_of_unit, rank, walk="units")
    assert [problem.units[list(q)].tolist() for q in by_tiles.queues] == [[0, 1] * 3, [2] * 3]
    assert [problem.units[list(q)].tolist() for q in by_units.queues] == [
        [0, 0, 0, 1, 1, 1],
        [2] * 3,
    ]
    assert problem.tiles[list(by_units.queues[0])].tolist() == [0, 1, 2] * 2
    with pytest.raises(ValueError, match="walk"):
        Plan.from_unit_assignment(problem, pe_of_unit, rank, walk="diagonal")
