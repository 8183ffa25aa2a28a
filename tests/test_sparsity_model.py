"""The sparsity model fitted to real masks: placement is exact, and the fit holds on layers
not used to fit it, within the tolerances docs/defaults.md states."""

import numpy as np
from hypothesis import given, settings, strategies as st

from accelsim.workload.sparsity_model import FITTED, SparsityModel, fit_report
from accelsim.workload.pruning import prune_with_profile, SparsityProfile
from accelsim.workload.topology import load_network


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 6), st.integers(1, 5), st.sampled_from([1, 3, 5]), st.integers(0, 99),
       st.floats(0, 2), st.floats(0, 2))
def test_placement_keeps_every_filters_count_and_fits_the_kernels(out_c, channels, k, seed,
                                                                  cs, ks):
    rng = np.random.default_rng(seed)
    nnz = rng.integers(0, channels * k * k + 1, size=out_c)
    mask = SparsityModel(0.2, cs, ks).place(nnz, channels, (k, k), rng)
    assert mask.shape == (out_c, channels, k, k)
    assert mask.reshape(out_c, -1).sum(axis=1).tolist() == nnz.tolist()


def test_fitted_model_reproduces_held_out_layers_within_the_stated_tolerance():
    _, rows = fit_report(FITTED)
    held = [r for r in rows if r.held_out and r.kernel[0] > 1]
    assert len(held) >= 20
    for stat in ("zero_kernels", "zero_windows"):
        err = [abs(getattr(r.measured, stat) - getattr(r.modelled, stat)) for r in held]
        assert np.median(err) <= 0.06, stat
    cv_err = [abs(r.measured.filter_cv - r.modelled.filter_cv) / r.measured.filter_cv
              for r in rows if r.held_out and r.measured.filter_cv > 0]
    assert np.median(cv_err) <= 0.35


def test_seeded_resnet18_spread_and_zero_kernels_come_from_the_fit():
    net = load_network("resnet18")
    layer = net.layer("layer1.0.conv1")
    fitted = prune_with_profile(net, SparsityProfile(name="p", nnz={layer.name: 8848},
                                                     default_density=1.0), seed=1)
    uniform = prune_with_profile(net, SparsityProfile(name="p", nnz={layer.name: 8848},
                                                      default_density=1.0, default_cv=0.3), 1)
    p, u = fitted.layers[1], uniform.layers[1]
    density = 8848 / layer.weights
    cv = p.filter_nnz.std() / p.filter_nnz.mean()
    assert abs(cv - FITTED.filter_cv(density)) < 0.1
    zero = (p.kernel_nnz() == 0).mean()
    assert u.placement is None  # a numeric cv keeps uniform placement
    uniform_zero = (u.kernel_nnz() == 0).mean()
    assert zero > uniform_zero + 0.05  # clustering: more all-zero kernels than uniform


def test_retraining_comparison_is_at_equal_density_on_every_lenet_layer():
    from accelsim.workload.sparsity_model import retraining_effect
    rows = retraining_effect()
    assert [name for name, _, _ in rows] == ["conv1", "conv2", "ip1", "ip2"]
    for _, once, again in rows:
        assert abs(once.density - again.density) < 1e-3
    # what the README reports: retraining widens the per-filter spread of conv2
    conv2 = rows[1]
    assert conv2[2].filter_cv > conv2[1].filter_cv
