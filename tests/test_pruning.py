import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from simkit import conv, pruned

from accelsim.errors import ConfigError
from accelsim.workload import load_network
from accelsim.workload.sparsity.methods import prune_magnitude
from accelsim.workload.sparsity.pruning import (
    PrunedLayer,
    SparsityProfile,
    load_profile,
    magnitude_mask,
    prune_with_profile,
    shipped_profiles,
    spread_nnz,
    weight_shape,
)


@given(
    total_frac=st.floats(0, 1),
    n=st.integers(1, 64),
    per=st.integers(1, 300),
    cv=st.floats(0, 3),
    seed=st.integers(0, 2**32 - 1),
)
def test_spread_hits_the_exact_total_within_caps(total_frac, n, per, cv, seed):
    total = round(total_frac * n * per)
    nnz = spread_nnz(total, n, per, cv, np.random.default_rng(seed))
    assert nnz.sum() == total
    assert nnz.min() >= 0 and nnz.max() <= per


def test_spread_has_the_requested_coefficient_of_variation():
    nnz = spread_nnz(40_000, 1000, 100, 0.3, np.random.default_rng(1))
    assert 0.27 < nnz.std() / nnz.mean() < 0.33


@pytest.mark.parametrize(
    "profile, network, nnz",
    [
        ("distiller-resnet18-agp", "resnet18", 4_680_578),
        ("distiller-resnet50-agp80", "resnet50", 5_108_133),
    ],
)
def test_distiller_profiles_reproduce_the_published_nonzero_counts(profile, network, nnz):
    p = prune_with_profile(load_network(network), load_profile(profile), seed=3)
    assert p.nnz == nnz


@pytest.mark.parametrize(
    "profile, network, density",
    [
        ("han2015-alexnet", "alexnet", 0.11),
        ("han2015-vgg16", "vgg16", 0.075),
        ("han2015-lenet5", "lenet5", 0.08),
    ],
)
def test_han_profiles_reproduce_the_published_total_density(profile, network, density):
    p = prune_with_profile(load_network(network), load_profile(profile), seed=3)
    assert abs(p.nnz / p.network.weights - density) < 0.005
    prof = load_profile(profile)
    for layer in p.layers:  # each layer exact to the weight
        assert layer.nnz == round(prof.density[layer.layer.name] * layer.layer.weights)


def test_every_shipped_profile_loads():
    assert {
        "han2015-alexnet",
        "han2015-vgg16",
        "distiller-resnet18-agp",
        "distiller-resnet50-agp80",
    } <= set(shipped_profiles())


def test_same_seed_same_counts_other_seed_other_counts():
    net = load_network("resnet18")
    prof = load_profile("distiller-resnet18-agp")
    a, b, c = (prune_with_profile(net, prof, s) for s in (1, 1, 2))
    assert a == b and a != c
    assert np.array_equal(a.layers[5].chunk_nnz(4), b.layers[5].chunk_nnz(4))


@settings(max_examples=40)
@given(density=st.floats(0.01, 1), k=st.integers(1, 4), seed=st.integers(0, 99))
def test_chunk_counts_partition_each_filter_exactly(density, k, seed):
    layer = pruned(conv(in_c=4, out_c=6), density, 0.5, seed)
    chunks = layer.chunk_nnz(k)
    assert chunks.shape == (6, k)
    assert np.array_equal(chunks.sum(axis=1), layer.filter_nnz)
    sizes = np.diff(layer.chunk_bounds(k)) * 9
    assert (chunks <= sizes).all() and (chunks >= 0).all()


def test_magnitude_pruning_keeps_exactly_the_largest_weights():
    rng = np.random.default_rng(0)
    net = load_network("lenet5")
    weights = {l.name: rng.normal(size=weight_shape(l)) for l in net.mac_layers}
    weights["ip1"] = weights["ip1"].reshape(500, 800)  # fc weights as (out, in) also load
    p = prune_magnitude(net, weights, 0.25)
    for layer in p.layers:
        w = np.abs(weights[layer.layer.name]).ravel()
        assert layer.nnz == round(0.25 * w.size)
        kept = np.sort(w)[::-1][: layer.nnz]
        assert np.isclose(
            np.abs(weights[layer.layer.name]).ravel()[layer.mask.ravel()].sum(), kept.sum()
        )
        chunks = layer.chunk_nnz(min(2, layer.layer.channels_per_group))
        assert np.array_equal(chunks.sum(axis=1), layer.filter_nnz)


def test_magnitude_mask_is_deterministic_on_ties():
    mask = magnitude_mask(np.ones((2, 3)), 2)
    assert mask.ravel().tolist() == [True, True, False, False, False, False]


def test_magnitude_pruning_errors_name_the_file_and_layer():
    net = load_network("lenet5")
    with pytest.raises(ConfigError, match="w.npz: no weights for layer 'conv1'"):
        prune_magnitude(net, {}, 0.5, src="w.npz")
    with pytest.raises(
        ConfigError, match=r"w.npz: conv1 has shape \(3,\); expected \(20, 1, 5, 5\)"
    ):
        prune_magnitude(net, {"conv1": np.ones(3)}, 0.5, src="w.npz")


def test_dense_layer_has_every_weight_and_no_index():
    layer = pruned(conv(), 0.3).dense()
    assert layer.nnz == layer.layer.weights and not layer.compressed
    assert np.array_equal(layer.chunk_nnz(2), np.tile([18, 18], (8, 1)))


@pytest.mark.parametrize(
    "text, message",
    [
        ("cv = -1\n[density]\nc=0.5", r"p.toml: cv = -1: must be a number in \[0.0, 100.0\]"),
        ("cv = inf\n[density]\nc=0.5", r"p.toml: cv = inf: must be a number in \[0.0, 100.0\]"),
        ("[density]\nc = 1.5", r"p.toml: density.c = 1.5: must be a number in \[0.0, 1.0\]"),
        ("[nnz]\nc = 'x'", r"p.toml: nnz.c = 'x': must be an integer >= 0"),
        ("colour = 3", r"p.toml: unknown field 'colour'"),
        ("[density", r"p.toml: cannot read profile"),
    ],
)
def test_bad_profile_values_are_rejected(text, message):
    with pytest.raises(ConfigError, match=message):
        SparsityProfile.from_toml("p.toml", text)


def test_profile_missing_a_layer_or_naming_a_stranger():
    net = load_network("lenet5")
    with pytest.raises(ConfigError, match=r"\[density\] has no value for layer 'conv1'"):
        prune_with_profile(net, SparsityProfile("p", density={"conv2": 0.5}), 1, "p.toml")
    with pytest.raises(
        ConfigError,
        match=r"layer 'conv9' is not a MAC layer of "
        r"lenet5; did you mean 'conv[12]'\?",
    ):
        prune_with_profile(
            net, SparsityProfile("p", density={"conv9": 0.5}, default_density=0.5), 1, "p.toml"
        )


def test_filter_nnz_shape_and_range_are_validated():
    with pytest.raises(ValueError, match="filter_nnz has shape"):
        PrunedLayer(conv(out_c=8), np.ones(3))
    with pytest.raises(ValueError, match=r"must lie in \[0, 36\]"):
        PrunedLayer(conv(out_c=8), np.full(8, 37))
