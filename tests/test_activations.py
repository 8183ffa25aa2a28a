"""Activation sparsity: a two-sided PE skips zero inputs, so a job keeps the share of its
nonzero-weight MACs whose input is nonzero, per input tile and channel, seeded; a
weight-only PE ignores it; bad values are one line."""

import attrs
import numpy as np
import pytest

from accelsim.config import Hardware, Mapping
from accelsim.errors import ConfigError
from accelsim.pipeline import run_scenario
from accelsim.scenario import scenario_from_dict
from accelsim.workload.jobs import build_layer_jobs

from simkit import conv, pruned

TWO_SIDED = Hardware(macs_per_cycle=4, pe_skips_activations=True)


def sparse_inputs(density, cv, seed=3):
    return attrs.evolve(pruned(conv(in_c=6, hw=8, out_c=4), density=0.5, seed=seed),
                        activation_density=density, activation_cv=cv)


def test_a_weight_only_pe_and_dense_inputs_change_nothing():
    base = build_layer_jobs(0, sparse_inputs(1.0, 0.0), Mapping(tile_h=2), TWO_SIDED)
    weight_only = build_layer_jobs(0, sparse_inputs(0.3, 0.5), Mapping(tile_h=2),
                                   attrs.evolve(TWO_SIDED, pe_skips_activations=False))
    assert base.jobs == weight_only.jobs


def test_uniform_input_density_scales_every_job():
    layer = sparse_inputs(0.5, 0.0)
    full = build_layer_jobs(0, attrs.evolve(layer, activation_density=1.0), Mapping(tile_h=2),
                            TWO_SIDED)
    half = build_layer_jobs(0, layer, Mapping(tile_h=2), TWO_SIDED)
    assert [j.macs for j in half.jobs] == [-(-j.macs // 2) for j in full.jobs]
    assert [j.cycles for j in half.jobs] == [-(-(-(-j.macs // 2)) // 4) for j in full.jobs]


def test_spread_inputs_vary_a_units_work_from_tile_to_tile_and_follow_the_seed():
    jobs = build_layer_jobs(0, sparse_inputs(0.4, 0.6), Mapping(tile_h=1), TWO_SIDED)
    per_tile = {}
    for j in jobs.jobs:
        per_tile.setdefault(j.unit, []).append(j.macs)
    assert all(len(set(v)) > 1 for v in per_tile.values())
    again = build_layer_jobs(0, sparse_inputs(0.4, 0.6), Mapping(tile_h=1), TWO_SIDED)
    other = build_layer_jobs(0, sparse_inputs(0.4, 0.6, seed=4), Mapping(tile_h=1), TWO_SIDED)
    assert again.jobs == jobs.jobs and other.jobs != jobs.jobs
    layer = sparse_inputs(0.4, 0.6)
    assert sum(j.macs for j in jobs.jobs) < layer.pruned_macs
    assert sum(j.macs for j in jobs.jobs) == pytest.approx(0.4 * layer.pruned_macs, rel=0.35)


LENET = {"workload": {"network": "lenet5", "activation_density": {"default": 0.5,
                                                                   "conv1": 1.0}},
         "pruning": {"profile": "han2015-lenet5"}, "baselines": False,
         "hardware": {"pe_skips_activations": True}}


def test_the_run_reports_executed_apart_from_pruned_macs():
    outcome = run_scenario(scenario_from_dict(LENET, "<t>"))
    total, layers = outcome.report.total, outcome.report.layers
    assert layers[0].executed_macs == layers[0].pruned_macs            # conv1: dense inputs
    assert all(l.executed_macs < l.pruned_macs for l in layers[1:])
    assert total.executed_macs == sum(l.executed_macs for l in layers) \
        == sum(int(lj.column("macs").sum()) for lj in outcome.jobs)
    assert any(n.startswith("activation sparsity: ") for n in outcome.report.notes)


@pytest.mark.parametrize("workload, message", [
    ({"activation_density": 0}, r"activation_density = 0: must be a fraction"),
    ({"activation_density": {"conv9": 0.5}}, r"activation_density.conv9: lenet5 has no MAC "
                                             r"layer 'conv9'"),
    ({"activation_density": {"ip1": True}}, r"activation_density.ip1 = True: must be"),
    ({"activation_cv": -1}, r"activation_cv = -1: must be a number from 0 to 10")])
def test_bad_activation_values_are_one_line(workload, message):
    data = {**LENET, "workload": {"network": "lenet5", **workload}}
    with pytest.raises(ConfigError, match=r"<t>: \[workload\] " + message):
        scenario_from_dict(data, "<t>")


def test_both_engines_agree_under_activation_sparsity():
    from accelsim.assemble import simulate
    from accelsim.policies import load_policy
    hw = Hardware(pe_rows=1, pe_cols=3, macs_per_cycle=4, input_queue_depth=2,
                  pe_skips_activations=True).ideal_memory()
    jobs = [build_layer_jobs(0, sparse_inputs(0.4, 0.6), Mapping(tile_h=2), hw)]
    reference = simulate(jobs, hw, load_policy("lpt"), engine="simpy")
    fast = simulate(jobs, hw, load_policy("lpt"), engine="auto")
    assert fast.layers[0].engine == "fast"
    assert (fast.makespan, fast.executed_macs) == (reference.makespan,
                                                   reference.executed_macs)
    assert np.array_equal(fast.states.end, reference.states.end)
