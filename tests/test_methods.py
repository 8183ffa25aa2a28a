"""The pruning family on real weight arrays."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accelsim.errors import ConfigError
from accelsim.workload import load_network
from accelsim.workload.sparsity.methods import nm_mask, prune_weights
from accelsim.workload.sparsity.pruning import weight_shape

NET = load_network("lenet5")


def weights(seed=0, zeros=0.0):
    rng = np.random.default_rng(seed)
    out = {}
    for l in NET.mac_layers:
        w = rng.normal(size=weight_shape(l))
        w[rng.random(w.shape) < zeros] = 0.0
        out[l.name] = w
    return out


@settings(max_examples=20, deadline=None)
@given(keep=st.floats(0, 1), seed=st.integers(0, 50))
def test_layer_wise_keeps_exactly_the_fraction_per_layer(keep, seed):
    p = prune_weights(NET, weights(seed), "layer", keep)
    for layer in p.layers:
        assert layer.nnz == round(keep * layer.layer.weights)


@settings(max_examples=20, deadline=None)
@given(keep=st.floats(0.01, 1), seed=st.integers(0, 50))
def test_global_keeps_the_fraction_overall_with_one_threshold(keep, seed):
    w = weights(seed)
    p = prune_weights(NET, w, "global", keep)
    total = sum(x.size for x in w.values())
    assert p.nnz == round(keep * total)
    kept = np.concatenate([np.abs(w[l.layer.name])[l.mask] for l in p.layers])
    dropped = np.concatenate([np.abs(w[l.layer.name])[~l.mask] for l in p.layers])
    if len(kept) and len(dropped):
        assert kept.min() >= dropped.max()


@pytest.mark.parametrize("n, m", [(2, 4), (1, 4), (4, 8), (1, 2)])
def test_nm_keeps_exactly_n_in_every_group_of_m(n, m):
    p = prune_weights(NET, weights(), "nm", n=n, m=m)
    for layer in p.layers:
        rows = layer.mask.reshape(layer.layer.out_c, -1)
        full = rows.shape[1] // m * m
        groups = rows[:, :full].reshape(rows.shape[0], -1, m)
        assert (groups.sum(axis=2) == n).all(), layer.layer.name
        assert (rows[:, full:].sum(axis=1) <= n).all()


def test_nm_never_keeps_a_zero():
    mask = nm_mask(np.array([[0.0, 0.0, 0.0, 5.0, 1.0, 2.0, 3.0, 0.0]]), 2, 4)
    assert mask.tolist() == [[False, False, False, True, False, True, True, False]]


def test_balanced_gives_every_filter_the_same_work():
    p = prune_weights(NET, weights(), "balanced", 0.25)
    for layer in p.layers:
        assert len(set(layer.filter_nnz.tolist())) == 1
        assert layer.filter_nnz[0] == round(0.25 * layer.layer.weights_per_filter)


def test_already_pruned_weights_load_as_they_are():
    w = weights(zeros=0.9)
    for method in ("layer", "global", "balanced"):
        p = prune_weights(NET, w, method, 1.0)
        for layer in p.layers:
            assert np.array_equal(layer.mask, w[layer.layer.name] != 0)


def test_bad_method_and_bad_nm():
    with pytest.raises(ConfigError, match="w.npz: method = 'random': must be one of layer"):
        prune_weights(NET, weights(), "random", src="w.npz")
    with pytest.raises(ConfigError, match="n = 5, m = 4: need integers 1 <= n <= m"):
        prune_weights(NET, weights(), "nm", n=5, m=4, src="w.npz")
    with pytest.raises(ConfigError, match="method 'global' takes one keep fraction"):
        prune_weights(NET, weights(), "global", {"conv1": 0.5}, src="w.npz")


def test_scenario_chooses_a_method(tmp_path):
    from accelsim.scenario import load_scenario

    np.savez(tmp_path / "w.npz", **weights())
    (tmp_path / "s.toml").write_text(
        "[workload]\nnetwork = 'lenet5'\n[pruning]\n"
        "weights = 'w.npz'\nmethod = 'nm'\nn = 1\nm = 4\n"
    )
    pruned = load_scenario(tmp_path / "s.toml").pruned()
    assert pruned.layers[1].nnz == 50 * 20 * 25 // 4 + 0  # 500 per filter -> 125 groups
    (tmp_path / "s.toml").write_text(
        "[workload]\nnetwork = 'lenet5'\n[pruning]\n"
        "weights = 'w.npz'\nmethod = 'nm'\nn = 3\nm = 2\n"
    )
    with pytest.raises(ConfigError, match=r"\[pruning\] n = 3, m = 2"):
        load_scenario(tmp_path / "s.toml")


@settings(max_examples=300, deadline=None)
@given(values=st.lists(st.integers(-3, 3), min_size=1, max_size=80), keep=st.integers(0, 90))
def test_magnitude_mask_keeps_the_largest_earliest_first_as_a_stable_sort_would(values, keep):
    from accelsim.workload.sparsity.pruning import magnitude_mask

    w = np.array(values, dtype=np.float32)
    order = np.argsort(-np.abs(w), kind="stable")[: min(keep, len(w))]
    expected = np.zeros(len(w), dtype=bool)
    expected[order] = True
    assert magnitude_mask(w, keep).tolist() == expected.tolist()
