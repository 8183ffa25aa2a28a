"""The hardware-aware policy scores plans by simulated cycles: never worse than any plan it
starts from, on any hardware, and the same plan for the same seed."""

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from simkit import conv_layers, fitted, jobs_for

from accelsim.config import Hardware, Mapping
from accelsim.engine.assemble import layer_problem, simulate
from accelsim.errors import PolicyError
from accelsim.policies import load_policy
from accelsim.policies.hardware_aware import HardwareAware
from accelsim.policies.schedule import plan

hardware = st.builds(
    Hardware,
    pe_rows=st.integers(1, 2),
    pe_cols=st.integers(2, 4),
    macs_per_cycle=st.integers(1, 8),
    job_overhead_cycles=st.integers(0, 3),
    weight_buffer_bytes=st.sampled_from([512, 10**7, math.inf]),
    input_buffer_bytes=st.sampled_from([512, 10**7, math.inf]),
    output_buffer_bytes=st.sampled_from([512, 10**7, math.inf]),
    dram_bytes_per_cycle=st.sampled_from([2.5, 16, math.inf]),
    dram_latency_cycles=st.sampled_from([0, 10]),
    noc_bytes_per_cycle=st.sampled_from([4, 64, math.inf]),
    input_queue_depth=st.sampled_from([1, 1, 2, 8]),
)
mappings = st.builds(
    Mapping, tile_h=st.integers(0, 4), tile_w=st.integers(0, 4), filters_per_job=st.integers(1, 2)
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layers=conv_layers(max_layers=2), mapping=mappings, hw=hardware)
def test_never_slower_than_the_plans_it_starts_from(layers, mapping, hw):
    jobs = jobs_for(layers, mapping, hw)
    hw = fitted(hw, jobs, slack=1)
    mine = simulate(jobs, hw, HardwareAware(evaluations=30))
    for name in ("round-robin", "lpt", "kk", "multifit", "density-grouping", "portfolio"):
        other = simulate(jobs, hw, load_policy(name))
        for a, b in zip(mine.layers, other.layers):
            assert a.cycles <= b.cycles, (name, a.name)


def test_same_seed_same_plan_and_it_beats_round_robin_under_lock_step():
    from pathlib import Path

    from accelsim.scenario import load_scenario

    scenario = load_scenario(Path(__file__).parent.parent / "scenarios" / "lockstep.toml")
    jobs = __import__("accelsim").build_jobs(
        scenario.pruned(), scenario.mapping, scenario.hardware
    )[:2]
    hw = scenario.hardware
    a = HardwareAware(evaluations=40).plan(layer_problem(jobs[1], hw))
    b = HardwareAware(evaluations=40).plan(layer_problem(jobs[1], hw))
    assert a.queues == b.queues and a.info["evaluations"] == 40
    ours = simulate(jobs, hw, HardwareAware(evaluations=40)).makespan
    assert ours < simulate(jobs, hw, load_policy("round-robin")).makespan


def test_without_hardware_it_solves_the_textbook_problem():
    s = plan([9, 7, 6, 5, 4, 3], 3, HardwareAware())
    assert s.makespan == plan([9, 7, 6, 5, 4, 3], 3, "portfolio").makespan == 12


def test_fewer_units_than_pes_spreads_tiles_over_the_idle_pes():
    import numpy as np
    from simkit import conv, pruned

    layer = pruned(conv("c", in_c=4, hw=8, out_c=2, k=1, pad=0), 1.0)  # 2 filters
    hw = Hardware(pe_rows=1, pe_cols=4, macs_per_cycle=1, input_queue_depth=8).ideal_memory()
    jobs = jobs_for([layer], Mapping(4, 4), hw)  # 4 tiles
    whole_units = simulate(jobs, hw, load_policy("lpt"))
    spread = simulate(jobs, hw, HardwareAware(evaluations=10))
    assert spread.makespan * 2 == whole_units.makespan  # 4 PEs busy, not 2
    busy = np.unique(spread.states.pe[spread.states.state == 0])
    assert busy.tolist() == [0, 1, 2, 3]


def test_a_seconds_budget_counts_job_scores_not_a_clock():
    from pathlib import Path

    from accelsim.policies import hardware_aware
    from accelsim.scenario import load_scenario

    scenario = load_scenario(Path(__file__).parent.parent / "scenarios" / "lockstep.toml")
    layer = __import__("accelsim").build_jobs(
        scenario.pruned(), scenario.mapping, scenario.hardware
    )[1]
    hw = scenario.hardware
    # a budget of 25 plans of this layer, in seconds: the search stops there, on any machine
    seconds = 25 * layer.n_jobs / hardware_aware.JOB_SCORES_PER_SECOND
    a = HardwareAware(evaluations=40, seconds=seconds).plan(layer_problem(layer, hw))
    b = HardwareAware(evaluations=40, seconds=seconds).plan(layer_problem(layer, hw))
    assert a.queues == b.queues and a.info["evaluations"] == b.info["evaluations"] == 25
    # a larger budget than the evaluations leaves the evaluations in charge
    c = HardwareAware(evaluations=40, seconds=1e3).plan(layer_problem(layer, hw))
    assert c.info["evaluations"] == 40
    with pytest.raises(PolicyError, match="seconds"):
        load_policy("hardware-aware", {"seconds": 1e9})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    layers=conv_layers(max_layers=1),
    mapping=mappings,
    n_pes=st.integers(1, 6),
    seed=st.integers(0, 99),
)
def test_the_search_builds_the_queues_plan_from_unit_assignment_would(layers, mapping, n_pes, seed):
    import numpy as np

    from accelsim.policies import Plan, by_size
    from accelsim.policies.hardware_aware import _UnitQueues

    hw = Hardware(pe_rows=1, pe_cols=n_pes)
    problem = layer_problem(jobs_for(layers, mapping, hw)[0], hw)
    _, loads = problem.unit_loads()
    rng = np.random.default_rng(seed)
    rank = by_size(loads) if seed % 2 else rng.permutation(len(loads))  # the search's, any
    queues = _UnitQueues(problem, rank)
    for walk in ("tiles", "units"):
        pe_of_unit = rng.integers(0, n_pes, len(loads))
        want = Plan.from_unit_assignment(problem, pe_of_unit, rank, walk)
        assert queues.plan(pe_of_unit, walk).queues == want.queues


def _pruned_layer(out, k, c, density, seed):
    from accelsim.workload.networks.layers import Layer, Network
    from accelsim.workload.sparsity.pruning import SparsityProfile, prune_with_profile

    layer = Layer(
        name="conv", kind="conv", in_c=c, out_c=k, in_h=out + 2, in_w=out + 2, k_h=3, k_w=3
    )
    return prune_with_profile(
        Network("t", [layer]), SparsityProfile.uniform(density, 0.3), seed
    ).layers[0]


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    pruned=st.builds(
        _pruned_layer,
        out=st.integers(1, 8),
        k=st.integers(1, 10),
        c=st.integers(1, 6),
        density=st.sampled_from([0.3, 1.0]),
        seed=st.integers(0, 5),
    ),
    hw=hardware,
)
def test_the_chosen_mapping_planned_with_the_search_is_never_slower_than_its_rank(pruned, hw):
    """The mapper ranks candidates with mapping_policy (the starting plans, no search); the
    search run on the chosen mapping alone starts from the plan that ranked it."""
    from accelsim.engine.mapper import map_layer
    from accelsim.errors import AccelsimError
    from accelsim.policies import mapping_policy
    from accelsim.workload.jobs import build_layer_jobs

    policy = HardwareAware(evaluations=30, seed=3)
    stand_in = mapping_policy(policy)
    assert (stand_in.evaluations, stand_in.seed) == (0, 3)
    assert mapping_policy(load_policy("lpt")).name == "lpt"  # no stand-in: itself
    try:
        choice = map_layer(pruned, Mapping(mode="auto"), hw, stand_in)
    except AccelsimError:  # nothing fits these buffers
        return
    layer = build_layer_jobs(0, pruned, choice.mapping, hw)
    assert simulate([layer], hw, policy).layers[0].cycles <= choice.cycles


@pytest.mark.slow
def test_an_auto_mapped_run_says_the_mapper_used_the_stand_in():
    from accelsim.pipeline import run_scenario
    from accelsim.scenario import scenario_from_dict

    lenet = {
        "workload": {"network": "lenet5"},
        "pruning": {"density": 0.3},
        "hardware": {"pe_rows": 2, "pe_cols": 2},
        "policy": "hardware-aware",
        "policy_options": {"evaluations": 20},
    }
    out = run_scenario(scenario_from_dict(lenet, "<t>"), baselines=False)
    assert any("hardware-aware's cheaper stand-in" in n for n in out.report.notes)
    lpt = scenario_from_dict({**lenet, "policy": "lpt", "policy_options": {}}, "<t>")
    assert not any("stand-in" in n for n in run_scenario(lpt, baselines=False).report.notes)


def test_the_simpy_budget_counts_the_starting_plans_runs():
    """Where SimPy must score the plans, `simpy_jobs` caps the layer's SimPy jobs with the
    starting plans' runs counted in: a cap they already use up leaves no search."""
    from simkit import conv, pruned

    from accelsim.engine import closed_form

    layer = pruned(conv("c", in_c=8, hw=8, out_c=16, k=3), 0.5)
    hw = Hardware(
        pe_rows=1, pe_cols=4, input_queue_depth=2, weight_buffer_bytes=600, input_buffer_bytes=512
    )
    jobs = jobs_for([layer], Mapping(4, 4), hw)
    assert closed_form.not_exact_because(jobs[0], hw, False) is not None  # SimPy scores
    n = jobs[0].n_jobs

    def evaluations(simpy_jobs):
        plan = HardwareAware(evaluations=200, simpy_jobs=simpy_jobs).plan(
            layer_problem(jobs[0], hw)
        )
        return plan.info["evaluations"]

    starts = evaluations(n)  # the starts alone: the cap is used up
    assert starts <= 7  # six starts and the unit-by-unit walk
    assert evaluations(10**6) == 6 + 20  # a tenth of the evaluations after the starts
    # room for 6 runs after the starts, were theirs not counted: at least one start ran
    assert evaluations(6 * n) <= 6 + 5
