"""The bounds a planner uses to drop candidate plans unsimulated: never above the plan's
simulated cycles (SimPy, the reference, on any buffers, port and queue depth); the memo of
broadcast orders gives what `broadcasts` gives; an evaluator given a cutoff makes the same
keep-or-drop call as one that simulates every plan, and hardware-aware plans the same."""

import math

import attrs
import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from simkit import conv, conv_layers, fitted, jobs_for, pruned

from accelsim.config import Hardware, Mapping
from accelsim.engine import closed_form
from accelsim.engine.assemble import FixedPlan, PlanEvaluator, layer_problem, simulate
from accelsim.engine.broadcast_memo import BroadcastMemo
from accelsim.engine.broadcasts import broadcasts
from accelsim.engine.plan_bounds import PlanBounds
from accelsim.policies import Plan, by_size, load_policy
from accelsim.policies.hardware_aware import HardwareAware

CAPACITIES = st.sampled_from([64, 512, 4096, math.inf])
hardware = st.builds(
    Hardware,
    pe_rows=st.integers(1, 2),
    pe_cols=st.integers(1, 3),
    macs_per_cycle=st.integers(1, 8),
    job_overhead_cycles=st.integers(0, 3),
    weight_buffer_bytes=CAPACITIES,
    input_buffer_bytes=CAPACITIES,
    output_buffer_bytes=CAPACITIES,
    double_buffered=st.booleans(),
    dram_bytes_per_cycle=st.sampled_from([1, 2.5, 16, math.inf]),
    dram_latency_cycles=st.sampled_from([0, 3, 20]),
    noc_bytes_per_cycle=st.sampled_from([1, 8, math.inf]),
    multicast=st.booleans(),
    input_queue_depth=st.sampled_from([1, 1, 2, 3]),
)
mappings = st.builds(
    Mapping,
    tile_h=st.integers(0, 4),
    tile_w=st.integers(0, 4),
    filters_per_job=st.integers(1, 2),
    channel_splits=st.sampled_from([1, 1, 2]),
)


def random_plans(problem, rng, n):
    """Unit assignments at random, walking tiles or units (queues that go back)."""
    _, loads = problem.unit_loads()
    for i in range(n):
        pe_of_unit = rng.integers(0, problem.n_pes, len(loads))
        yield Plan.from_unit_assignment(
            problem, pe_of_unit, by_size(loads), ("tiles", "units")[i % 2]
        )


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layers=conv_layers(max_layers=1), mapping=mappings, hw=hardware, seed=st.integers(0, 99))
def test_no_bound_exceeds_the_simulated_cycles(layers, mapping, hw, seed):
    jobs = jobs_for(layers, mapping, hw)
    hw = fitted(hw, jobs, slack=1)
    layer = jobs[0]
    problem, bounds = layer_problem(layer, hw), PlanBounds(layer, hw)
    # where every block fits, the closed form on an output buffer that never fills (the
    # evaluator's bound for a plan whose output tiles overflow the real one)
    fits = closed_form.not_exact_because(layer, hw, False) is None and closed_form.blocks_fit(
        layer, hw
    )
    open_output = attrs.evolve(hw, output_buffer_bytes=math.inf)
    for plan in random_plans(problem, np.random.default_rng(seed), 2):
        cycles = simulate([layer], hw, FixedPlan(plan), engine="simpy").makespan
        bc = broadcasts(plan.queues, layer)
        assert bounds.port_floor <= cycles
        assert bounds.queue(plan.queues) <= cycles
        assert bounds.loads(bc) <= cycles
        if fits:
            end, output_peak = closed_form.end_and_output_peak(layer, bc, open_output)
            assert end <= cycles
            event("output overflows" if output_peak > hw.output_buffer_bytes else "fits")


def test_on_one_pe_with_memory_free_the_queue_bound_is_the_run():
    """One PE at depth 1 and DRAM for free: each job waits for the one before, then for its
    own delivery (its input, and its weights when they change), and nothing else; the bound
    is then the run, for either walk."""
    layer = pruned(conv("c", in_c=4, hw=6, out_c=3, k=3), 0.6)
    hw = Hardware(pe_rows=1, pe_cols=1, macs_per_cycle=2).ideal_memory()
    hw = attrs.evolve(hw, noc_bytes_per_cycle=8)
    layer = jobs_for([layer], Mapping(3, 3), hw)[0]
    problem = layer_problem(layer, hw)
    for plan in random_plans(problem, np.random.default_rng(0), 4):
        cycles = simulate([layer], hw, FixedPlan(plan)).makespan
        assert PlanBounds(layer, hw).queue(plan.queues) == cycles


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layers=conv_layers(max_layers=1), mapping=mappings, hw=hardware)
def test_the_port_floor_is_a_latency_and_every_compulsory_transfer(layers, mapping, hw):
    """With buffers that hold everything (no refetch, no spill), the port's busy time in a
    run is exactly what the floor adds to one latency."""
    hw = attrs.evolve(
        hw, weight_buffer_bytes=math.inf, input_buffer_bytes=math.inf, output_buffer_bytes=math.inf
    )
    layer = jobs_for(layers, mapping, hw)[0]
    run = simulate([layer], hw, load_policy("lpt"), engine="simpy")
    busy = int((run.transfers["end"] - run.transfers["start"]).sum())
    assert PlanBounds(layer, hw).port_floor == hw.dram_latency_cycles + busy


def test_the_loads_bound_is_the_run_when_blocks_fit_and_one_tile_is_written():
    """Every block fits and is prefetched: the bound's dispatch is the closed form's, and
    with one output tile its write-back waits for nothing but its last job."""
    layer = pruned(conv("c", in_c=4, hw=4, out_c=2, k=3), 0.5)
    hw = Hardware(pe_rows=1, pe_cols=2, dram_bytes_per_cycle=2, dram_latency_cycles=9)
    layer = jobs_for([layer], Mapping(0, 0, filters_per_job=2, channel_splits=2), hw)[0]
    assert len(layer.output_bytes) == 1 and layer.n_jobs == 2
    plan = load_policy("round-robin").plan(layer_problem(layer, hw))
    cycles = simulate([layer], hw, FixedPlan(plan), engine="simpy").makespan
    assert PlanBounds(layer, hw).loads(broadcasts(plan.queues, layer)) == cycles


class Exact:
    """An evaluator that simulates every plan, ignoring any cutoff: the reference."""

    def __init__(self, layer, hw):
        self._inner = PlanEvaluator(layer, hw)

    @property
    def simpy_runs(self):
        return self._inner.simpy_runs

    def __call__(self, plan, cutoff=None):
        return self._inner(plan)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layers=conv_layers(max_layers=1), mapping=mappings, hw=hardware, seed=st.integers(0, 99))
def test_a_cutoff_keeps_and_drops_the_plans_simulation_would(layers, mapping, hw, seed):
    jobs = jobs_for(layers, mapping, hw)
    hw = fitted(hw, jobs, slack=1)
    layer = jobs[0]
    problem = layer_problem(layer, hw)
    exact, cut = Exact(layer, hw), PlanEvaluator(layer, hw)
    rng = np.random.default_rng(seed)
    for plan in random_plans(problem, rng, 6):
        cycles = exact(plan)
        for cutoff in (cycles, cycles + 1, int(rng.integers(0, 2 * cycles + 2))):
            got = cut(plan, cutoff=cutoff)
            assert got == cycles if cycles < cutoff else got >= cutoff
        assert cut(plan) == cycles


@pytest.mark.parametrize("depth", [1, 2])
def test_hardware_aware_plans_the_same_with_and_without_cutoffs(depth):
    """A layer whose weights stream through a small buffer (the streamed closed form at
    depth 1, SimPy at depth 2) and one whose blocks fit: the search drops candidates
    unsimulated, keeps the same ones, and so ends on the same plan."""
    layers = [
        pruned(conv("a", in_c=16, hw=8, out_c=24, k=3), 0.5, cv=0.8),
        pruned(conv("b", in_c=8, hw=8, out_c=12, k=1, pad=0), 0.4, cv=0.8),
    ]
    hw = Hardware(
        pe_rows=2,
        pe_cols=2,
        job_overhead_cycles=4,
        weight_buffer_bytes=1024,
        noc_bytes_per_cycle=8,
        input_queue_depth=depth,
        dram_latency_cycles=20,
    )
    jobs = jobs_for(layers, Mapping(4, 4), hw)
    assert [closed_form.blocks_fit(layer, hw) for layer in jobs] == [False, True]
    ruled_out = 0
    for layer in jobs:
        problem = layer_problem(layer, hw)
        policy = HardwareAware(evaluations=40, seed=3)
        mine = policy.plan(problem)
        reference = policy.plan(
            attrs.evolve(problem, evaluate=Exact(layer, hw))  # type: ignore[arg-type]
        )
        assert mine.queues == reference.queues and mine.info == reference.info
        ruled_out += len(problem.evaluate._at_least)  # plans not simulated to their end
    assert ruled_out


@pytest.mark.parametrize("depth", [1, 2])
def test_the_evaluator_counts_what_scored_each_plan(depth):
    """Weights that stream through a small buffer: a plan the closed form scores (depth 1)
    counts once in closed_form_runs, one SimPy runs (depth 2: the closed form is not exact
    there) once in simpy_runs; a plan scored before counts in neither
    (benchmarks/hardware_aware_search.py reads the counts)."""
    layer = pruned(conv("a", in_c=16, hw=8, out_c=24, k=3), 0.5, cv=0.8)
    hw = Hardware(
        pe_rows=2,
        pe_cols=2,
        job_overhead_cycles=4,  # the streamed closed form needs every job to take a cycle
        weight_buffer_bytes=1024,
        output_buffer_bytes=2**20,
        input_queue_depth=depth,
    )
    layer = jobs_for([layer], Mapping(4, 4), hw)[0]
    assert not closed_form.blocks_fit(layer, hw)
    problem = layer_problem(layer, hw)
    evaluate = PlanEvaluator(layer, hw)
    plan = load_policy("lpt").plan(problem)
    cycles = evaluate(plan)
    counts = (evaluate.closed_form_runs, evaluate.simpy_runs)
    assert counts == ((1, 0) if depth == 1 else (0, 1))
    assert evaluate(plan) == cycles
    assert (evaluate.closed_form_runs, evaluate.simpy_runs) == counts
    assert cycles == simulate([layer], hw, FixedPlan(plan), engine="simpy").makespan


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layers=conv_layers(max_layers=1), mapping=mappings, seed=st.integers(0, 99))
def test_the_memo_gives_the_broadcasts_of_every_plan(layers, mapping, seed):
    """Plans that trade units between PEs read the same blocks in the same places (a hit)
    or not (a merge); either way the memo's order is broadcasts' own."""
    hw = Hardware(pe_rows=1, pe_cols=3)
    layer = jobs_for(layers, mapping, hw)[0]
    problem = layer_problem(layer, hw)
    memo = BroadcastMemo(layer, limit=3)
    rng = np.random.default_rng(seed)
    plans = list(random_plans(problem, rng, 4))
    _, loads = problem.unit_loads()
    for walk in ("tiles", "units"):  # the same assignment with units permuted
        pe_of_unit = rng.integers(0, hw.n_pes, len(loads))
        for _ in range(3):
            rank = rng.permutation(len(loads))
            plans.append(Plan.from_unit_assignment(problem, pe_of_unit, rank, walk))
    for plan in plans + plans[::-1]:
        got, want = memo(plan.queues), broadcasts(plan.queues, layer)
        assert np.array_equal(got.pe, want.pe) and np.array_equal(got.job, want.job)
        assert np.array_equal(got.offsets, want.offsets)
    assert len(memo._kept) <= 3


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    layers=conv_layers(max_layers=1),
    mapping=mappings,
    hw=hardware,
    tiles=st.integers(1, 3),
    seed=st.integers(0, 99),
)
def test_an_output_buffer_that_overflows_only_delays_a_plan_whose_blocks_fit(
    layers, mapping, hw, tiles, seed
):
    """The evaluator stops a plan whose output tiles would overflow the buffer (SimPy runs
    it) once the closed form on an unbounded output buffer ends past the cutoff: with every
    block on chip, waiting for output space and spilling partial sums only delay."""
    jobs = jobs_for(layers, mapping, hw)
    hw = fitted(hw, jobs, slack=1)
    layer = jobs[0]
    halves = 2 if hw.double_buffered else 1  # a double-buffered one holds tiles in half
    hw = attrs.evolve(hw, output_buffer_bytes=int(layer.output_bytes.max()) * tiles * halves)
    if closed_form.not_exact_because(layer, hw, False) or not closed_form.blocks_fit(layer, hw):
        return
    open_output = attrs.evolve(hw, output_buffer_bytes=math.inf)
    for plan in random_plans(layer_problem(layer, hw), np.random.default_rng(seed), 2):
        end, output_peak = closed_form.end_and_output_peak(
            layer, broadcasts(plan.queues, layer), open_output
        )
        cycles = simulate([layer], hw, FixedPlan(plan), engine="simpy").makespan
        assert end <= cycles
        event("overflows" if output_peak > hw.output_buffer_bytes else "fits")
