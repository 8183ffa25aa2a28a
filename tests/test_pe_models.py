"""PE compute models: the same nonzero work, different cycles. Dense equals the analytic
count, window skipping equals dense when no window is all zero, every model sits between
zero-skipping and its own cycles on dense weights, and every model's executed work is the
pruned work."""

import math

import attrs
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from simkit import conv, conv_layers, fitted, jobs_for, pruned

from accelsim.config import Hardware, Mapping
from accelsim.engine.assemble import simulate
from accelsim.errors import ConfigError
from accelsim.policies import load_policy
from accelsim.scenario import scenario_from_dict
from accelsim.units import ceil_div
from accelsim.workload.jobs import build_layer_jobs
from accelsim.workload.pe_models import window_costs
from accelsim.workload.sparsity.pruning import PrunedLayer

MODELS = ["zero-skip", "window", "lane-group", "dense"]


def masked(layer, mask) -> PrunedLayer:
    mask = np.asarray(mask, dtype=bool).reshape(
        layer.out_c, layer.channels_per_group, layer.k_h, layer.k_w
    )
    return PrunedLayer(layer, mask.reshape(layer.out_c, -1).sum(axis=1), mask=mask)


def cycles(layer, model, lanes=4, window=3, mapping=Mapping()):
    hw = Hardware(macs_per_cycle=lanes, pe_model=model, pe_window=window)
    return build_layer_jobs(0, layer, mapping, hw).cycles.tolist()


@pytest.mark.parametrize("k, lanes, tile", [(3, 4, 0), (5, 8, 2), (1, 3, 3), (7, 16, 0)])
def test_dense_model_on_a_dense_mask_is_the_analytic_count(k, lanes, tile):
    layer = conv(in_c=3, hw=8, out_c=5, k=k, pad=k // 2)
    full = masked(layer, np.ones(layer.weights))
    jobs = build_layer_jobs(
        0, full, Mapping(tile, tile), Hardware(macs_per_cycle=lanes, pe_model="dense")
    )
    pixels = [
        min(tile or 8, 8 - r) * min(tile or 8, 8 - c)
        for r in range(0, 8, tile or 8)
        for c in range(0, 8, tile or 8)
    ]
    assert jobs.cycles.tolist() == [
        ceil_div(3 * k * k * p, lanes) for p in pixels for _ in range(5)
    ]
    assert jobs.total_cycles >= ceil_div(layer.dense_macs, lanes)


def test_dense_model_skips_nothing_on_a_pruned_mask():
    layer = conv(in_c=3, hw=6, out_c=4, k=3)
    sparse = pruned(layer, density=0.3)
    assert cycles(sparse, "dense") == cycles(sparse.dense(), "dense")
    assert cycles(sparse, "zero-skip") < cycles(sparse, "dense")


def test_window_skipping_with_no_all_zero_window_equals_dense():
    """5x5 kernels in 3x3 windows: windows of 3x3, 3x2, 2x3, 2x2; one nonzero in each."""
    layer = conv(in_c=2, hw=7, out_c=3, k=5, pad=2)
    mask = np.zeros((3, 2, 5, 5), dtype=bool)
    mask[:, :, 0, 0] = mask[:, :, 0, 4] = mask[:, :, 4, 0] = mask[:, :, 4, 4] = True
    layer_p = masked(layer, mask)
    assert cycles(layer_p, "window") == cycles(layer_p, "dense")
    assert cycles(layer_p, "zero-skip") < cycles(layer_p, "window")


def test_window_skipping_skips_exactly_the_all_zero_windows():
    layer = conv(in_c=2, hw=4, out_c=1, k=5, pad=2)
    mask = np.zeros((1, 2, 5, 5), dtype=bool)
    mask[0, 0, 1, 1] = True  # channel 0: the 3x3 window only
    mask[0, 1, 4, 3:5] = True  # channel 1: the 2x2 corner window only
    assert window_costs(masked(layer, mask), 3).tolist() == [[9, 4]]
    # 13 slots per pixel, 16 pixels, 4 lanes
    assert cycles(masked(layer, mask), "window") == [ceil_div(13 * 16, 4)]
    # a 1x1 window is zero-skipping
    assert cycles(masked(layer, mask), "window", window=1) == cycles(
        masked(layer, mask), "zero-skip"
    )


def test_a_lane_group_step_lasts_as_long_as_its_densest_kernel():
    """4 channels on 2 lanes: groups {0, 1} and {2, 3}; kernel counts 1, 5 | 0, 0."""
    layer = conv(in_c=4, hw=2, out_c=1, k=3)
    mask = np.zeros((1, 4, 3, 3), dtype=bool)
    mask[0, 0].flat[:1] = True
    mask[0, 1].flat[:5] = True
    # steps: max(1, 5) + max(0, 0) = 5 per pixel, 4 pixels; zero-skip: 6 x 4 / 2 lanes
    assert cycles(masked(layer, mask), "lane-group", lanes=2) == [5 * 4]
    assert cycles(masked(layer, mask), "zero-skip", lanes=2) == [6 * 4 // 2]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    layers=conv_layers(),
    lanes=st.integers(1, 8),
    window=st.integers(1, 3),
    fpj=st.integers(1, 3),
    splits=st.integers(1, 2),
)
def test_every_model_lies_between_zero_skip_and_dense_and_conserves_work(
    layers, lanes, window, fpj, splits
):
    for i, layer in enumerate(layers):
        mapping = Mapping(
            filters_per_job=fpj, channel_splits=min(splits, layer.layer.channels_per_group)
        )
        for m in MODELS:
            hw = Hardware(macs_per_cycle=lanes, pe_model=m, pe_window=window)
            lj = build_layer_jobs(i, layer, mapping, hw)
            full = build_layer_jobs(i, layer.dense(), mapping, hw)
            floor = build_layer_jobs(i, layer, mapping, attrs.evolve(hw, pe_model="zero-skip"))
            assert [j.macs for j in lj.jobs] == [j.macs for j in floor.jobs], m
            assert sum(j.macs for j in lj.jobs) == layer.pruned_macs, m
            # never faster than skipping every zero, never slower than the same PE on dense
            # weights (lane-group lanes idle when a job has fewer channels than lanes)
            assert (floor.cycles <= lj.cycles).all() and (lj.cycles <= full.cycles).all(), m
            if m == "dense":
                assert lj.cycles.tolist() == full.cycles.tolist()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layers=conv_layers(max_layers=2), model=st.sampled_from(MODELS))
def test_the_simulator_executes_the_pruned_work_under_every_model(layers, model):
    hw = Hardware(pe_rows=1, pe_cols=2, macs_per_cycle=4, pe_model=model)
    jobs = jobs_for(layers, Mapping(tile_h=3), hw)
    result = simulate(jobs, fitted(hw, jobs), load_policy("lpt"))
    assert result.executed_macs == sum(p.pruned_macs for p in layers)
    busy = sum(int(l.cycles.sum()) for l in jobs)
    assert result.makespan >= math.ceil(busy / hw.n_pes)


def test_a_bad_pe_model_is_one_line_naming_it():
    with pytest.raises(
        ConfigError,
        match=r"<t>: \[hardware\] 'pe_model' must be one of "
        r"zero-skip, window, lane-group, dense: 'sparse'",
    ):
        scenario_from_dict(
            {
                "workload": {"network": "lenet5"},
                "pruning": {"dense": True},
                "hardware": {"pe_model": "sparse"},
            },
            "<t>",
        )


def test_the_comparison_scenario_runs_every_model_on_the_same_work(tmp_path, capsys, monkeypatch):
    import runpy
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "scenarios" / "pe_models.py"
    monkeypatch.setattr(sys, "argv", ["pe_models.py", "--out", str(tmp_path)])
    runpy.run_path(str(script), run_name="__main__")
    out = capsys.readouterr().out
    assert "executed MACs in every run: " in out and "differ" not in out
    speedups = next(l for l in out.splitlines() if l.startswith("speedup over dense"))
    zero_skip, window, lane_group, dense = map(float, speedups.split()[-4:])
    assert zero_skip >= max(window, lane_group) and dense == 1.0
    assert (tmp_path / "pe_models.png").stat().st_size > 0
