"""Builds the shipped topologies; `python -m accelsim.workload.networks.zoo FOLDER` writes them as CSV
(`python -m accelsim.workload.networks.zoo accelsim/workload/topologies` rewrites the shipped files).

The files are the data; this script is how they were made (and a test checks they agree).
Layer names follow the reference implementations (Caffe for LeNet-5 and AlexNet,
torchvision for VGG-16, ResNet and the names in Distiller's pruning tables).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from accelsim.workload.networks.layers import Layer, LayerKind, Network
from accelsim.workload.networks.topology import write_topology


class _Builder:
    """Appends layers, tracking the shape each one produces."""

    def __init__(self, name: str, c: int, h: int, w: int):
        self.name = name
        self.layers = [Layer("data", LayerKind.INPUT, (), c, h, w, c)]
        self.shape = {"data": (c, h, w)}
        self.last = "data"

    def _add(self, name, kind, src, out_c=1, k=1, stride=1, pad=0, groups=1, k_w=None):
        src = src or self.last
        c, h, w = self.shape[src]
        layer = Layer(name, kind, (src,), c, h, w, out_c, k, k_w or k, stride, pad, groups)
        self.layers.append(layer)
        self.shape[name] = layer.out_shape
        self.last = name
        return name

    def conv(self, name, out_c, k, stride=1, pad=0, groups=1, src=None):
        return self._add(name, LayerKind.CONV, src, out_c, k, stride, pad, groups)

    def pool(self, name, k, stride, pad=0, src=None):
        c = self.shape[src or self.last][0]
        return self._add(name, LayerKind.POOL, src, c, k, stride, pad)

    def global_pool(self, name, src=None):
        c, h, w = self.shape[src or self.last]
        return self._add(name, LayerKind.POOL, src, c, h, h, 0, k_w=w)

    def fc(self, name, out_c, src=None):
        src = src or self.last
        c, h, w = self.shape[src]
        layer = Layer(name, LayerKind.FC, (src,), c * h * w, 1, 1, out_c)
        self.layers.append(layer)
        self.shape[name] = layer.out_shape
        self.last = name
        return name

    def add(self, name, a, b):
        c, h, w = self.shape[a]
        self.layers.append(Layer(name, LayerKind.ADD, (a, b), c, h, w, c))
        self.shape[name] = (c, h, w)
        self.last = name
        return name

    def network(self) -> Network:
        return Network(self.name, self.layers)


def lenet5() -> Network:
    """Caffe's LeNet-5 variant 20-50-500-10 on 28x28 MNIST."""
    b = _Builder("lenet5", 1, 28, 28)
    b.conv("conv1", 20, 5)
    b.pool("pool1", 2, 2)
    b.conv("conv2", 50, 5)
    b.pool("pool2", 2, 2)
    b.fc("ip1", 500)
    b.fc("ip2", 10)
    return b.network()


def alexnet() -> Network:
    """BVLC AlexNet (Caffe): 227x227 input, groups=2 on conv2, conv4, conv5."""
    b = _Builder("alexnet", 3, 227, 227)
    b.conv("conv1", 96, 11, stride=4)
    b.pool("pool1", 3, 2)
    b.conv("conv2", 256, 5, pad=2, groups=2)
    b.pool("pool2", 3, 2)
    b.conv("conv3", 384, 3, pad=1)
    b.conv("conv4", 384, 3, pad=1, groups=2)
    b.conv("conv5", 256, 3, pad=1, groups=2)
    b.pool("pool5", 3, 2)
    b.fc("fc6", 4096)
    b.fc("fc7", 4096)
    b.fc("fc8", 1000)
    return b.network()


def vgg16() -> Network:
    b = _Builder("vgg16", 3, 224, 224)
    for stage, (n, width) in enumerate([(2, 64), (2, 128), (3, 256), (3, 512), (3, 512)], 1):
        for i in range(1, n + 1):
            b.conv(f"conv{stage}_{i}", width, 3, pad=1)
        b.pool(f"pool{stage}", 2, 2)
    b.fc("fc6", 4096)
    b.fc("fc7", 4096)
    b.fc("fc8", 1000)
    return b.network()


def _resnet(name: str, bottleneck: bool, blocks: list[int]) -> Network:
    """torchvision ResNet; bottlenecks are v1.5 (stride on the 3x3 conv)."""
    b = _Builder(name, 3, 224, 224)
    b.conv("conv1", 64, 7, stride=2, pad=3)
    b.pool("maxpool", 3, 2, pad=1)
    expansion = 4 if bottleneck else 1
    in_c = 64
    for stage, n in enumerate(blocks, 1):
        width = 64 * 2 ** (stage - 1)
        for i in range(n):
            stride = 2 if (i == 0 and stage > 1) else 1
            p = f"layer{stage}.{i}"
            block_in = b.last
            if bottleneck:
                b.conv(f"{p}.conv1", width, 1)
                b.conv(f"{p}.conv2", width, 3, stride=stride, pad=1)
                b.conv(f"{p}.conv3", width * expansion, 1)
            else:
                b.conv(f"{p}.conv1", width, 3, stride=stride, pad=1)
                b.conv(f"{p}.conv2", width, 3, pad=1)
            main = b.last
            shortcut = block_in
            if stride != 1 or in_c != width * expansion:
                shortcut = b.conv(
                    f"{p}.downsample.0", width * expansion, 1, stride=stride, src=block_in
                )
            b.add(f"{p}.add", main, shortcut)
            in_c = width * expansion
    b.global_pool("avgpool")
    b.fc("fc", 1000)
    return b.network()


def resnet18() -> Network:
    return _resnet("resnet18", False, [2, 2, 2, 2])


def resnet50() -> Network:
    return _resnet("resnet50", True, [3, 4, 6, 3])


def mobilenet_v1() -> Network:
    """MobileNet-v1, width 1.0, 224x224: depthwise-separable blocks (dw has groups = in_c)."""
    b = _Builder("mobilenet_v1", 3, 224, 224)
    b.conv("conv0", 32, 3, stride=2, pad=1)
    plan = (
        [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)]
        + [(512, 1)] * 5
        + [(1024, 2), (1024, 1)]
    )
    c = 32
    for i, (out_c, stride) in enumerate(plan, 1):
        b.conv(f"conv{i}_dw", c, 3, stride=stride, pad=1, groups=c)
        b.conv(f"conv{i}_pw", out_c, 1)
        c = out_c
    b.global_pool("avgpool")
    b.fc("fc", 1000)
    return b.network()


ZOO = {f.__name__: f for f in (lenet5, alexnet, vgg16, resnet18, resnet50, mobilenet_v1)}


def main(argv: list[str] | None = None) -> int:
    """The folder is a required argument, so neither `--help` nor a bare run can overwrite
    the package's own files by accident."""
    parser = argparse.ArgumentParser(
        prog="python -m accelsim.workload.networks.zoo",
        description="write the shipped topologies as CSV files",
    )
    parser.add_argument("folder", type=Path, help="directory for <network>.csv (created)")
    folder = parser.parse_args(argv).folder
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, build in ZOO.items():
            (folder / f"{name}.csv").write_text(write_topology(build()))
            print(f"wrote {folder / name}.csv")
    except OSError as exc:
        print(f"zoo: error: {folder}: cannot write there: {exc.strerror or exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
