"""Activation sparsity: a two-sided PE skips zero inputs, so a job keeps the share of its
nonzero-weight MACs whose input is nonzero, per input tile and channel, seeded; a
weight-only PE ignores it; bad values are one line."""

import attrs
import numpy as np
import pytest
from simkit import conv, pruned

from accelsim.config import Hardware, Mapping
from accelsim.errors import ConfigError
from accelsim.pipeline import run_scenario
from accelsim.scenario import scenario_from_dict
from accelsim.workload.jobs import build_layer_jobs

TWO_SIDED = Hardware(macs_per_cycle=4, pe_skips_activations=True)


def sparse_inputs(density, cv, seed=3):
    return attrs.evolve(
        pruned(conv(in_c=6, hw=8, out_c=4), density=0.5, seed=seed),
        activation_density=density,
        activation_cv=cv,
    )


def test_a_weight_only_pe_and_dense_inputs_change_nothing():
    base = build_layer_jobs(0, sparse_inputs(1.0, 0.0), Mapping(tile_h=2), TWO_SIDED)
    weight_only = build_layer_jobs(
        0,
        sparse_inputs(0.3, 0.5),
        Mapping(tile_h=2),
        attrs.evolve(TWO_SIDED, pe_skips_activations=False),
    )
    assert base.jobs == weight_only.jobs


def test_uniform_input_density_scales_every_job():
    layer = sparse_inputs(0.5, 0.0)
    full = build_layer_jobs(
        0, attrs.evolve(layer, activation_density=1.0), Mapping(tile_h=2), TWO_SIDED
    )
    half = build_layer_jobs(0, layer, Mapping(tile_h=2), TWO_SIDED)
    assert [j.macs for j in half.jobs] == [-(-j.macs // 2) for j in full.jobs]
    assert [j.cycles for j in half.jobs] == [-(-(-(-j.macs // 2)) // 4) for j in full.jobs]  # noqa: B002


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


LENET = {
    "workload": {"network": "lenet5", "activation_density": {"default": 0.5, "conv1": 1.0}},
    "pruning": {"profile": "han2015-lenet5"},
    "baselines": False,
    "hardware": {"pe_skips_activations": True},
}


def test_the_run_reports_executed_apart_from_pruned_macs():
    outcome = run_scenario(scenario_from_dict(LENET, "<t>"))
    total, layers = outcome.report.total, outcome.report.layers
    assert layers[0].executed_macs == layers[0].pruned_macs  # conv1: dense inputs
    assert all(l.executed_macs < l.pruned_macs for l in layers[1:])
    assert (
        total.executed_macs
        == sum(l.executed_macs for l in layers)
        == sum(int(lj.column("macs").sum()) for lj in outcome.jobs)
    )
    assert any(n.startswith("activation sparsity: ") for n in outcome.report.notes)


@pytest.mark.parametrize(
    "workload, message",
    [
        ({"activation_density": 0}, r"activation_density = 0: must be a fraction"),
        (
            {"activation_density": {"conv9": 0.5}},
            r"activation_density.conv9: lenet5 has no MAC "
            r"layer 'conv9'",
        ),
        ({"activation_density": {"ip1": True}}, r"activation_density.ip1 = True: must be"),
        ({"activation_cv": -1}, r"activation_cv = -1: must be a number from 0 to 10"),
    ],
)
def test_bad_activation_values_are_one_line(workload, message):
    data = {**LENET, "workload": {"network": "lenet5", **workload}}
    with pytest.raises(ConfigError, match=r"<t>: \[workload\] " + message):
        scenario_from_dict(data, "<t>")


def test_both_engines_agree_under_activation_sparsity():
    from accelsim.engine.assemble import simulate
    from accelsim.policies import load_policy

    hw = Hardware(
        pe_rows=1, pe_cols=3, macs_per_cycle=4, input_queue_depth=2, pe_skips_activations=True
    ).ideal_memory()
    jobs = [build_layer_jobs(0, sparse_inputs(0.4, 0.6), Mapping(tile_h=2), hw)]
    reference = simulate(jobs, hw, load_policy("lpt"), engine="simpy")
    fast = simulate(jobs, hw, load_policy("lpt"), engine="auto")
    assert fast.layers[0].engine == "fast"
    assert (fast.makespan, fast.executed_macs) == (reference.makespan, reference.executed_macs)
    assert np.array_equal(fast.states.end, reference.states.end)


def fully_connected(in_c=128, out_c=64, density=0.1, seed=5):
    return pruned(
        conv("fc", in_c=in_c, hw=1, out_c=out_c, k=1, pad=0), density=density, cv=0.5, seed=seed
    )


def test_a_fully_connected_input_is_zero_or_not_and_a_job_keeps_exactly_its_hits():
    """One pixel per channel: each input is zero or not (no fractional inputs), and each job
    executes exactly its filter's nonzero weights whose input is nonzero."""
    layer = attrs.evolve(fully_connected(), activation_density=0.4, activation_cv=0.3)
    density = layer.input_activation_density([1])
    assert set(np.unique(density)) == {0.0, 1.0}
    jobs = build_layer_jobs(0, layer, Mapping(), TWO_SIDED)
    hits = layer.kernel_nnz() @ density[0]
    assert [j.macs for j in jobs.jobs] == hits.astype(int).tolist()
    assert [j.cycles for j in jobs.jobs] == [-(-int(h) // 4) for h in hits]


def test_a_tiles_inputs_are_whole_pixels():
    layer = sparse_inputs(0.4, 0.6)
    pixels = np.array([9, 16, 25])
    density = layer.input_activation_density(pixels)
    assert np.allclose(density * pixels[:, None], np.round(density * pixels[:, None]))
    assert density.shape == (3, 6) and 0 < density.mean() < 1


def test_per_column_jobs_of_a_fully_connected_layer_need_deeper_queues():
    """EIE's setting: every PE holds a slice of the rows, each input column is one broadcast,
    and a PE's work on a column is its rows' nonzeros there, different on every column; the
    queue lets PEs run ahead of one another, so the same work finishes sooner with depth."""
    from accelsim.engine.assemble import simulate
    from accelsim.policies import load_policy

    hw = Hardware(pe_rows=1, pe_cols=8, macs_per_cycle=1).ideal_memory()
    jobs = [
        build_layer_jobs(0, fully_connected(), Mapping(filters_per_job=8, channel_splits=128), hw)
    ]
    spans = [
        simulate(jobs, attrs.evolve(hw, input_queue_depth=d), load_policy("lpt")).makespan
        for d in (1, 2, 4, 16)
    ]
    assert spans[0] > spans[1] > spans[2] >= spans[3] >= -(-jobs[0].total_cycles // 8)


VGG_CONV1_2 = {
    "workload": {"network": "vgg16", "layers": ["conv1_2"], "activation_density": "han2015-vgg16"},
    "pruning": {"profile": "han2015-vgg16"},
    "baselines": False,
    "hardware": {"pe_skips_activations": True},
}


def test_a_profile_gives_cited_densities_and_the_executed_share_is_weights_times_inputs():
    """Han et al. 2015, Table 4: conv1_2 keeps 22 % of its weights and reads conv1_1's 53 %
    nonzero activations; its FLOP% is 12 %."""
    scenario = scenario_from_dict(VGG_CONV1_2, "<t>")
    assert scenario.activation_density["conv1_2"] == 0.53
    assert scenario.activation_density["fc6"] == 0.19
    layer = scenario.pruned().layers[0]
    jobs = build_layer_jobs(0, layer, Mapping(tile_h=28, tile_w=28), scenario.hardware)
    executed = sum(j.macs for j in jobs.jobs) / layer.layer.dense_macs
    assert executed == pytest.approx(0.22 * 0.53, rel=0.03)


@pytest.mark.parametrize(
    "value, message",
    [
        ("han2015-lenet5", r"the profile has no \[activation_density\] table"),
        ("nope", r"profile 'nope' is neither shipped"),
    ],
)
def test_a_profile_without_activation_densities_is_one_line(value, message):
    data = {**VGG_CONV1_2, "workload": {**VGG_CONV1_2["workload"], "activation_density": value}}
    with pytest.raises(
        ConfigError,
        match=rf"<t>: \[workload\] activation_density = "
        rf"'{value}': .*{message}",
    ):
        scenario_from_dict(data, "<t>")


def test_a_zero_input_column_is_never_broadcast_nor_its_weights_fetched():
    """EIE skips zero activations before they reach a queue: a job whose input block is all
    zeros is not sent, its unit's weights are not fetched, its block not loaded; the rest
    runs as before, on both engines, with every byte moved once."""
    from accelsim.engine.assemble import simulate
    from accelsim.policies import load_policy
    from accelsim.trace import Operand

    layer = attrs.evolve(fully_connected(), activation_density=0.4, activation_cv=0.3)
    hw = Hardware(
        pe_rows=1, pe_cols=8, macs_per_cycle=1, pe_skips_activations=True, input_queue_depth=2
    )
    mapping = Mapping(filters_per_job=8, channel_splits=128)
    jobs = build_layer_jobs(0, layer, mapping, hw)
    every = build_layer_jobs(0, layer, mapping, attrs.evolve(hw, pe_skips_activations=False))
    active = layer.input_activation_density([1])[0] > 0
    chunks = jobs.unit_chunk[jobs.column("unit")]
    assert sorted(set(chunks.tolist())) == np.flatnonzero(active).tolist()
    assert jobs.n_jobs == 8 * active.sum() < 8 * 128
    heard = active[jobs.unit_chunk]
    assert (jobs.weight_bytes[~heard] == 0).all() and every.weight_bytes[~heard].sum() > 0
    assert np.array_equal(jobs.weight_bytes[heard], every.weight_bytes[heard])
    assert jobs.output_uses.tolist() == [active.sum()] * 8
    assert int(jobs.column("macs").sum()) == int((layer.kernel_nnz() @ active).sum())
    reference = simulate([jobs], hw, load_policy("lpt"), engine="simpy")
    fast = simulate([jobs], hw, load_policy("lpt"), engine="auto")
    assert (fast.makespan, fast.executed_macs) == (reference.makespan, reference.executed_macs)
    moved = reference.transfers
    weights = moved["bytes"][moved["operand"] == Operand.WEIGHTS].sum()
    inputs = moved["bytes"][moved["operand"] == Operand.INPUTS].sum()
    assert weights == jobs.weight_bytes.sum() and inputs == jobs.input_bytes.sum()


def test_an_output_whose_inputs_are_all_zero_is_still_produced():
    layer = attrs.evolve(fully_connected(in_c=8), activation_density=0.01, activation_cv=0.0)
    dead = attrs.evolve(layer, activation_cv=0.5)  # draws: almost every input is zero
    hw = Hardware(pe_rows=1, pe_cols=2, macs_per_cycle=1, pe_skips_activations=True)
    jobs = build_layer_jobs(0, dead, Mapping(filters_per_job=32, channel_splits=8), hw)
    assert (dead.input_activation_density([1]) == 0).all()
    assert jobs.n_jobs == 2 and jobs.output_uses.tolist() == [1, 1]
    assert int(jobs.column("macs").sum()) == 0
