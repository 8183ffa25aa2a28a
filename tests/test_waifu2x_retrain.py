"""Prune-and-retrain of waifu2x upconv_7: hand-written gradients checked numerically, the
pruning schedule, and the shipped retrained counts against the one-shot ones."""

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from accelsim.training.waifu2x_retrain import (
    KEEP,
    PATCH,
    PlainConvNet,
    photo_patches,
    prune_with_retraining,
)
from accelsim.workload.networks.layers import Layer, LayerKind
from accelsim.workload.networks.ncnn_io import NcnnConvs


def toy_convs(rng, slope=0.1, channels=(3, 4, 5)):
    layers, w, b = [], {}, {}
    size = PATCH
    for i, (c, o) in enumerate(zip(channels, channels[1:])):
        name = f"conv{i}"
        layers.append(
            Layer(name, LayerKind.CONV, (f"conv{i - 1}",) if i else (), c, size, size, o, 3, 3)
        )
        w[name] = rng.normal(size=(o, c, 3, 3)).astype(np.float32)
        b[name] = rng.normal(size=o).astype(np.float32) * 0.1
        size -= 2
    return NcnnConvs(layers, w, b, {l.name: slope for l in layers})


@pytest.mark.parametrize("slope", [0.0, 0.1, 1.0])
def test_backward_matches_numerical_gradients(slope):
    rng = np.random.default_rng(0)
    convs = toy_convs(rng, slope)
    net = PlainConvNet(convs)
    for k in net.w:
        net.w[k], net.b[k] = net.w[k].astype(np.float64), net.b[k].astype(np.float64)
    x = rng.normal(size=(2, 3, 7, 7))
    target = rng.normal(size=(2, 5, 3, 3))

    def loss():
        return float(((net.forward(x)[0] - target) ** 2).sum())

    out, cache = net.forward(x)
    grads, bias_grads = net.backward(2 * (out - target), cache)
    for name in net.w:
        for params, g in ((net.w[name].reshape(-1), grads[name]), (net.b[name], bias_grads[name])):
            for i in rng.choice(params.size, 3, replace=False):
                old = params[i]
                params[i] = old + 1e-6
                up = loss()
                params[i] = old - 1e-6
                down = loss()
                params[i] = old
                assert np.isclose(g.reshape(-1)[i], (up - down) / 2e-6, rtol=1e-5), name


def test_iterative_pruning_reaches_keep_exactly_and_retraining_beats_one_shot():
    rng = np.random.default_rng(1)
    convs = toy_convs(rng, channels=(3, 8, 8))
    train = photo_patches(rng, 16, test=False)
    test = photo_patches(rng, 8, test=True)
    assert train.shape == (16, 3, PATCH, PATCH) and 0 <= train.min() and train.max() <= 1
    # small products: BLAS threads only wait for each other on a busy machine
    with threadpool_limits(1):
        net, error, one_shot = prune_with_retraining(
            convs, train, test, rounds=2, steps=10, finetune=5, seed=0
        )
    for name, w in net.w.items():
        assert net.mask[name].sum() == round(KEEP * w.size)
        assert not w[~net.mask[name]].any()  # removed weights stayed zero through Adam
    assert error < one_shot
