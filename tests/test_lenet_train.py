"""The LeNet-5 reproduction: its hand-written gradients, and the weights it shipped."""

from importlib import resources

import numpy as np
import pytest

from accelsim.training.lenet_train import HAN_DENSITY, LeNet5


def _loss(net, x, y):
    logits, _ = net.forward(x)
    z = logits - logits.max(1, keepdims=True)
    return float(-(z[np.arange(len(y)), y] - np.log(np.exp(z).sum(1))).mean())


def test_backward_matches_numerical_gradients():
    rng = np.random.default_rng(0)
    net = LeNet5(rng)
    for k in net.w:
        net.w[k] = net.w[k].astype(np.float64)
        net.b[k] = net.b[k].astype(np.float64)
    x = rng.random((3, 1, 28, 28))
    y = np.array([1, 7, 3])
    logits, cache = net.forward(x)
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    p[np.arange(3), y] -= 1
    grads, _ = net.backward(p / 3, cache)
    for name in net.w:
        flat = net.w[name].reshape(-1)
        for i in rng.choice(flat.size, 4, replace=False):
            old = flat[i]
            flat[i] = old + 1e-5
            up = _loss(net, x, y)
            flat[i] = old - 1e-5
            down = _loss(net, x, y)
            flat[i] = old
            assert np.isclose(
                grads[name].reshape(-1)[i], (up - down) / 2e-5, rtol=1e-4, atol=1e-7
            ), name


SHIPPED = resources.files("accelsim.workload") / "weights" / "lenet5_han2015.npz"


def test_shipped_weights_have_hans_densities_and_keep_the_accuracy():
    with np.load(SHIPPED) as data:
        for name, density in HAN_DENSITY.items():
            w = data[name]
            assert abs(np.count_nonzero(w) - density * w.size) <= 1, name
        assert data["accuracy_dense"] - data["accuracy_pruned"] <= 0.005
        assert data["accuracy_dense"] > 0.95
    assert SHIPPED.stat().st_size < 2 * 1024 * 1024
    trained = resources.files("accelsim.workload") / "weights" / "lenet5_trained.npz"
    assert trained.stat().st_size < 2 * 1024 * 1024


@pytest.mark.slow
def test_quick_training_run_writes_pruned_weights(tmp_path):
    from accelsim.training.lenet_train import main

    assert main(["--quick", "--out", str(tmp_path / "w.npz")]) == 0
    with np.load(tmp_path / "w.npz") as data:
        for name, density in HAN_DENSITY.items():
            assert abs(np.count_nonzero(data[name]) - density * data[name].size) <= 1
        assert data["accuracy_pruned"] > 0.5  # learned something in two epochs
    assert (tmp_path / "lenet5_trained.npz").is_file()


def test_by_default_training_writes_outside_the_package():
    from accelsim.training import lenet_train

    assert lenet_train.OUT == lenet_train.Path("results") / "lenet5_han2015.npz"
    import accelsim.workload

    assert lenet_train.SHIPPED.parent.parent == lenet_train.Path(accelsim.workload.__file__).parent
