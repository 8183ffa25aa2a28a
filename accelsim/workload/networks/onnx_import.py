"""Real-world ONNX graphs in as a Network and its weights (the `accelsim[onnx]` extra).

`import_onnx(path, input_shape)` walks the graph in node order and keeps what the
accelerator runs, folds what changes only the weights, and passes everything else through:
- kept: Conv (grouped, depthwise, dilated, rectangular kernels, strides per axis, pads per
  side or auto_pad, 1-D convs as a 1-row map) becomes a conv layer; Gemm and MatMul with a
  constant weight matrix become an fc layer, or a 1x1 conv over the positions when the input
  has more than one row (a (1, T, K) sequence, a (T, K) matrix); pools become pool layers (shapes only); Add or
  Sum of two or more tensors of one shape from kept layers becomes an add layer;
- folded: a BatchNormalization, or a Mul by a per-channel constant, reading a kept layer's
  output that nothing else reads scales that layer's weights per filter, as exporters fold
  them (the shift goes to the bias, which accelsim does not count);
- passed through: every node without MACs (activations, element-wise ops with a constant in
  either operand, Reshape, Transpose, Slice, Pad, Split, Concat, Resize, ...). A layer reads
  the kept layer whose output reaches it through such nodes if the shape still matches;
  otherwise (Concat, Resize, Split, ...) its sources are outside the model (topology
  UNMODELLED, `-`) and its input shape is the one shape inference gives;
- not simulated: nodes with MACs that accelsim cannot model (ConvTranspose, recurrent
  cells, products of two activations, subgraphs): passed through and listed.
Weights come from initializers, Constant nodes, or constant arithmetic on them (Identity,
Cast, Transpose, Reshape, Squeeze, Unsqueeze). Tensor shapes come from ONNX shape inference
once the image input's dimensions are fixed: the batch is 1, and `input_shape` (C, H, W)
sets the dimensions the file leaves dynamic.
"""

from __future__ import annotations

import collections
from pathlib import Path

import numpy as np
from attrs import field, frozen

from accelsim.errors import ConfigError
from accelsim.workload.networks.layers import Layer, LayerKind, Network, check_shapes

# nodes with MACs that accelsim does not model: kept out of the network and listed
UNMODELLED_MACS = {
    "ConvTranspose",
    "ConvInteger",
    "QLinearConv",
    "MatMulInteger",
    "QLinearMatMul",
    "LSTM",
    "GRU",
    "RNN",
    "Einsum",
    "Attention",
    "If",
    "Loop",
    "Scan",
}
# nodes whose output has their first input's shape: the fallback where inference has none
SHAPE_KEEPING = {
    "Relu",
    "LeakyRelu",
    "Sigmoid",
    "HardSigmoid",
    "HardSwish",
    "Tanh",
    "Clip",
    "Elu",
    "Selu",
    "Gelu",
    "Mish",
    "Softplus",
    "PRelu",
    "Dropout",
    "Identity",
    "Cast",
    "Softmax",
    "LogSoftmax",
    "LRN",
    "BatchNormalization",
    "InstanceNormalization",
    "LayerNormalization",
    "Neg",
    "Abs",
    "Exp",
    "Sqrt",
    "Erf",
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Pow",
    "Max",
    "Min",
    "Sum",
}
POOLS = {"MaxPool", "AveragePool", "GlobalMaxPool", "GlobalAveragePool"}


def onnx_modules():
    """The onnx package and its numpy_helper, or one line saying how to install them."""
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError:
        raise ConfigError(
            "reading ONNX needs the onnx package: pip install 'accelsim[onnx]'"
        ) from None
    return onnx, numpy_helper


def _counts(ops) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(collections.Counter(ops).items()))


@frozen
class Imported:
    """A graph as accelsim reads it: the network, its weights by layer name, and what
    happened to each node, as (operator, count) pairs sorted by operator."""

    network: Network
    weights: dict = field(eq=False, repr=False)
    kept: tuple[tuple[str, int], ...]
    folded: tuple[tuple[str, int], ...]
    passed: tuple[tuple[str, int], ...]
    not_simulated: tuple[tuple[str, int], ...]
    input_shape: tuple[int, int, int]

    def summary(self) -> list[str]:
        """What was kept, folded, passed through and left out, one line each."""

        def text(pairs):
            return ", ".join(f"{op} {n}" for op, n in pairs) or "none"

        kinds = collections.Counter(layer.kind.value for layer in self.network.layers[1:])
        c, h, w = self.input_shape
        return [
            f"input {c}x{h}x{w}; kept {sum(kinds.values())} layers "
            f"({', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))}) from {text(self.kept)}",
            f"folded into the weights before them: {text(self.folded)}",
            f"passed through (no MACs): {text(self.passed)}",
            f"not simulated (MACs accelsim does not model): {text(self.not_simulated)}",
        ]


@frozen
class _Tensor:
    """What flows on an edge: the kept layer it comes from (None: from outside the model)
    and its full shape (batch first; None where inference gives none)."""

    layer: str | None
    shape: tuple[int, ...] | None


def _chw(shape: tuple[int, ...]) -> tuple[int, int, int]:
    """(C, H, W) of a batch-first tensor: (N, C, L) is one row of L, (N, K) a 1x1 map."""
    if len(shape) == 4:
        return shape[1], shape[2], shape[3]
    if len(shape) == 3:
        return shape[1], 1, shape[2]
    return int(np.prod(shape[1:], dtype=np.int64)), 1, 1


def import_onnx(path: str | Path, input_shape=None) -> Imported:
    """The network, weights and report of an ONNX file; `input_shape` = (C, H, W) for an
    input whose dimensions the file leaves open. Every refusal names the file and node."""
    onnx, numpy_helper = onnx_modules()
    src = str(path)
    try:
        model = onnx.load(src)
    except Exception as exc:  # protobuf errors have many types
        raise ConfigError(f"{src}: not a readable ONNX model: {exc}") from None
    graph = model.graph
    consts = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    image, dims = _image_input(src, graph, consts, input_shape)
    inferred = _inferred_shapes(onnx, model, image, dims)
    readers = collections.Counter(t for node in graph.node for t in node.input if t)
    readers.update(o.name for o in graph.output)
    walk = _Walk(src, onnx, numpy_helper, consts, inferred, readers)
    walk.start(image, dims)
    for node in graph.node:
        where = f"{src}: node {node.name or (node.output[0] if node.output else '?')!r}"
        where += f" ({node.op_type})"
        try:
            walk.node(node, where)
        except ConfigError:
            raise
        except (ValueError, TypeError, KeyError, IndexError) as exc:  # attributes, shapes
            raise ConfigError(f"{where}: {exc}") from None
    if not any(layer.has_macs for layer in walk.layers):
        raise ConfigError(
            f"{src}: no Conv, Gemm or MatMul with constant weights: nothing to simulate"
        )
    network = Network(_safe(graph.name) or Path(src).stem, walk.layers)
    check_shapes(network, src)
    return Imported(
        network,
        walk.weights,
        _counts(walk.kept),
        _counts(walk.folded),
        _counts(walk.passed),
        _counts(walk.not_simulated),
        tuple(dims[1:]),
    )


def _safe(name: str) -> str:
    return name.replace("+", "_").replace(",", "_") or "layer"


def _image_input(src: str, graph, consts: dict, input_shape) -> tuple[object, list[int]]:
    """The one 4-D (or 3-D) input that is not a weight, and its dimensions with the batch
    at 1 and the open ones from input_shape."""
    inputs = [i for i in graph.input if i.name not in consts]
    ranked = [i for i in inputs if len(i.type.tensor_type.shape.dim) in (3, 4)]
    if len(ranked) != 1:
        raise ConfigError(
            f"{src}: expected one image input (N, C, H, W) or sequence (N, C, L); got "
            f"{[(i.name, _dims_of(i)) for i in inputs]}"
        )
    image = ranked[0]
    given = _dims_of(image)
    if input_shape is not None:
        want = [int(d) for d in input_shape]
        if len(want) != len(given) - 1:
            raise ConfigError(
                f"{src}: input_shape {list(input_shape)} has {len(want)} dimensions; input "
                f"{image.name!r} {given} needs {len(given) - 1} (all but the batch)"
            )
        for d, w in zip(given[1:], want):
            if isinstance(d, int) and d > 0 and d != w:
                raise ConfigError(
                    f"{src}: input_shape {want} does not match input {image.name!r} of "
                    f"fixed shape {given}: leave input_shape out or match it"
                )
        given = [given[0], *want]
    if not all(isinstance(d, int) and d > 0 for d in given[1:]):
        raise ConfigError(
            f"{src}: input {image.name!r} has shape {given}: give the open dimensions "
            f"(accelsim import --input-shape C,H,W, or [workload] input_shape = [C, H, W])"
        )
    return image, [1, *given[1:]]


def _dims_of(value_info) -> list:
    return [d.dim_value or d.dim_param or "?" for d in value_info.type.tensor_type.shape.dim]


def _inferred_shapes(onnx, model, image, dims) -> dict[str, tuple[int, ...]]:
    """Every tensor shape ONNX shape inference finds once the image input is fixed; a model
    it cannot follow leaves shapes to the walk (kept layers compute their own)."""
    fixed = onnx.ModelProto()
    fixed.CopyFrom(model)
    for value in fixed.graph.input:
        if value.name == image.name:
            for dim, size in zip(value.type.tensor_type.shape.dim, dims):
                dim.Clear()
                dim.dim_value = size
    del fixed.graph.value_info[:]  # shapes recorded for another input size would conflict
    try:
        fixed = onnx.shape_inference.infer_shapes(fixed, data_prop=True)
    except Exception:  # inference errors have many types; the walk reports what it misses
        return {}
    shapes = {}
    for value in [*fixed.graph.value_info, *fixed.graph.output]:
        dim = value.type.tensor_type.shape.dim
        if value.type.tensor_type.HasField("shape") and all(d.dim_value > 0 for d in dim):
            shapes[value.name] = tuple(int(d.dim_value) for d in dim)
    return shapes


class _Walk:
    """The graph walk's state: tensors seen, layers kept, weights, and the node report."""

    def __init__(self, src, onnx, numpy_helper, consts, inferred, readers):
        self.src = src
        self.onnx = onnx
        self.numpy_helper = numpy_helper
        self.consts = consts
        self.inferred = inferred
        self.tensors: dict[str, _Tensor] = {}  # data tensors only (from the image)
        self.layers: list[Layer] = []
        self.by_name: dict[str, Layer] = {}
        self.weights: dict[str, np.ndarray] = {}
        self.direct: dict[str, str] = {}  # a kept layer's own output tensor -> layer
        self.readers = readers  # tensor -> how many nodes (and graph outputs) read it
        self.kept: list[str] = []
        self.folded: list[str] = []
        self.passed: list[str] = []
        self.not_simulated: list[str] = []
        self.used: set[str] = set()

    def start(self, image, dims) -> None:
        name = self.unique(image.name)
        c, h, w = _chw(tuple(dims))
        self.append(Layer(name, LayerKind.INPUT, (), c, h, w, c))
        self.tensors[image.name] = _Tensor(name, tuple(dims))

    def unique(self, base: str) -> str:
        base = _safe(base)
        candidate, k = base, 1
        while candidate in self.used:
            candidate, k = f"{base}_{k}", k + 1
        self.used.add(candidate)
        return candidate

    def append(self, layer: Layer) -> None:
        self.layers.append(layer)
        self.by_name[layer.name] = layer

    # -- tensors ------------------------------------------------------------------------

    def shape(self, tensor: str, where: str) -> tuple[int, ...]:
        known = self.tensors[tensor].shape or self.inferred.get(tensor)
        if known is None:
            raise ConfigError(
                f"{where}: the shape of its input {tensor!r} is unknown (ONNX shape "
                f"inference could not follow the graph to it)"
            )
        return known

    def source(self, tensor: str, chw: tuple[int, int, int], fc: bool = False) -> tuple:
        """The kept layer feeding `tensor`, if its output still has the shape read (for an
        fc, the same number of features); () otherwise: fed from outside the model."""
        name = self.tensors[tensor].layer
        if name is None:
            return ()
        out = self.by_name[name].out_shape
        if out == chw or (fc and int(np.prod(out)) == int(np.prod(chw))):
            return (name,)
        return ()

    def const(self, tensor: str) -> np.ndarray | None:
        return self.consts.get(tensor) if tensor else None

    def weight(self, node, i: int, where: str) -> np.ndarray:
        w = self.const(node.input[i]) if len(node.input) > i else None
        if w is None:
            raise ConfigError(f"{where}: input {i} must be a constant weight tensor")
        return np.asarray(w, dtype=np.float32)

    def output(self, node, layer: str | None, shape=None) -> None:
        for i, tensor in enumerate(node.output):
            if tensor:
                known = shape if i == 0 and shape is not None else self.inferred.get(tensor)
                self.tensors[tensor] = _Tensor(layer, known)

    # -- nodes --------------------------------------------------------------------------

    def node(self, node, where: str) -> None:
        op = node.op_type
        attrs = {a.name: self.onnx.helper.get_attribute_value(a) for a in node.attribute}
        data = [t for t in node.input if t in self.tensors]
        if not data:
            self.constant(node, op, attrs)
            return
        if op == "Conv" and self.const(node.input[1]) is not None and data == [node.input[0]]:
            self.conv(node, attrs, where)
        elif op in ("Gemm", "MatMul") and self.linear_weights(node, op, attrs) is not None:
            self.linear(node, op, attrs, where)
        elif op in POOLS:
            self.pool(node, op, attrs, where)
        elif op in ("BatchNormalization", "Mul") and self.fold(node, op, data, where):
            return
        elif op in ("Add", "Sum") and len(data) >= 2 and self.join(node, data):
            return
        elif op in UNMODELLED_MACS or op in ("Conv", "Gemm", "MatMul"):
            self.not_simulated.append(op)
            self.output(node, None)
        else:
            self.pass_through(node, op, data)

    def constant(self, node, op: str, attrs: dict) -> None:
        """A node of weights and shapes only: its value is kept where the weights need it."""
        if op == "Constant":
            value = _constant_value(self.numpy_helper, attrs)
            if value is not None:
                self.consts[node.output[0]] = value
            return
        args = [self.const(t) for t in node.input]
        if not node.input or any(a is None for a in args):
            return  # computed from shapes at run time: not a weight
        value = _fold_constant(op, args, attrs)
        if value is not None:
            self.consts[node.output[0]] = value

    def conv(self, node, attrs: dict, where: str) -> None:
        x = node.input[0]
        shape = self.shape(x, where)
        kernel = self.weight(node, 1, where)
        one_d = kernel.ndim == 3
        if kernel.ndim not in (3, 4) or len(shape) != kernel.ndim:
            raise ConfigError(
                f"{where}: weights {kernel.shape} on input {shape}: only 1-D and 2-D "
                f"convolutions (filters, channels, [height,] width) are read"
            )
        if one_d:  # a 1-D conv is a 2-D one on a single row
            kernel = kernel[:, :, None, :]
            attrs = _as_2d(attrs)
        if list(attrs.get("kernel_shape", kernel.shape[2:])) != list(kernel.shape[2:]):
            raise ConfigError(
                f"{where}: kernel_shape {list(attrs['kernel_shape'])} does not match "
                f"weights {kernel.shape}"
            )
        c, h, w = _chw(shape)
        groups = int(attrs.get("group", 1))
        if kernel.shape[1] * groups != c:
            raise ConfigError(
                f"{where}: weights {kernel.shape} do not match {c} input channels in "
                f"{groups} groups"
            )
        geometry = _geometry(where, attrs, (h, w), kernel.shape[2:])
        name = self.unique(node.name or node.output[0])
        layer = Layer(
            name,
            LayerKind.CONV,
            self.source(x, (c, h, w)),
            c,
            h,
            w,
            kernel.shape[0],
            kernel.shape[2],
            kernel.shape[3],
            groups=groups,
            **geometry,
        )
        self.keep(node, layer, kernel, "Conv")
        out = (1, layer.out_c, layer.out_w) if one_d else (1, *layer.out_shape)
        self.output(node, name, out)

    def linear_weights(self, node, op: str, attrs: dict) -> np.ndarray | None:
        """(out, in) weights of a Gemm or MatMul whose second operand is constant."""
        if len(node.input) < 2 or node.input[0] not in self.tensors:
            return None
        mat = self.const(node.input[1])
        if mat is None or mat.ndim != 2 or (op == "Gemm" and attrs.get("transA", 0)):
            return None
        mat = np.asarray(mat, dtype=np.float32)
        return mat if op == "Gemm" and attrs.get("transB", 0) else mat.T

    def linear(self, node, op: str, attrs: dict, where: str) -> None:
        x = node.input[0]
        mat = self.linear_weights(node, op, attrs)
        shape = self.shape(x, where)
        name = self.unique(node.name or node.output[0])
        features = shape[-1]
        if mat.shape[1] != features:
            raise ConfigError(
                f"{where}: weights {mat.shape} (out, in) do not match {features} input "
                f"features of {shape}"
            )
        positions = int(np.prod(shape[:-1]))  # rows of the product: 1 at batch 1
        if positions == 1:
            sources = self.source(x, (features, 1, 1), fc=True)
            layer = Layer(name, LayerKind.FC, sources, features, 1, 1, mat.shape[0])
            weights = mat
        else:  # the same matrix at every position of a sequence: a 1x1 conv on a row
            chw = (features, 1, positions)
            layer = Layer(name, LayerKind.CONV, self.source(x, chw), *chw, mat.shape[0], 1, 1)
            weights = mat[:, :, None, None]
        self.keep(node, layer, weights, op)
        self.output(node, name, (*shape[:-1], mat.shape[0]))

    def keep(self, node, layer: Layer, weights: np.ndarray, op: str) -> None:
        self.append(layer)
        self.weights[layer.name] = weights
        self.direct[node.output[0]] = layer.name
        self.kept.append(op)

    def pool(self, node, op: str, attrs: dict, where: str) -> None:
        x = node.input[0]
        shape = self.shape(x, where)
        if len(shape) != 4:
            self.pass_through(node, op, [x])
            return
        c, h, w = _chw(shape)
        if op.startswith("Global"):
            k_h, k_w, geometry = h, w, {}
        else:
            k_h, k_w = attrs["kernel_shape"]
            geometry = _geometry(where, attrs, (h, w), (k_h, k_w))
        layer = Layer(
            self.unique(node.name or node.output[0]),
            LayerKind.POOL,
            self.source(x, (c, h, w)),
            c,
            h,
            w,
            c,
            k_h,
            k_w,
            **geometry,
        )
        out = self.inferred.get(node.output[0])
        if layer.out_h < 1 or layer.out_w < 1 or (out and _chw(out) != layer.out_shape):
            self.pass_through(node, op, [x])  # ceil_mode: a shape the layer does not hold
            return
        self.append(layer)
        self.kept.append(op)
        self.output(node, layer.name, (1, *layer.out_shape))

    def fold(self, node, op: str, data: list[str], where: str) -> bool:
        """Scale the weights of the kept layer whose own output this node alone reads."""
        x = data[0]
        owner = self.direct.get(x)
        if len(data) != 1 or owner is None or self.readers[x] != 1:
            return False
        filters = self.weights[owner].shape[0]
        if op == "BatchNormalization":
            if node.input[0] != x or any(self.const(t) is None for t in node.input[1:5]):
                return False
            gamma, var = self.weight(node, 1, where), self.weight(node, 4, where)
            eps = float(node_attr(self.onnx, node, "epsilon", 1e-5))
            if not np.all(var + eps > 0) or not np.isfinite(gamma).all():
                raise ConfigError(
                    f"{where}: variance + epsilon must be > 0 and scale finite to fold it "
                    f"into {owner}'s weights"
                )
            scale = gamma / np.sqrt(var + eps)
        else:
            other = next(t for t in node.input if t != x)
            scale = self.const(other)
            if scale is None or scale.size not in (1, filters) or not _per_channel(scale):
                return False
            scale = np.broadcast_to(np.asarray(scale, dtype=np.float32).ravel(), (filters,))
        if scale.size != filters:
            return False
        shape = (-1,) + (1,) * (self.weights[owner].ndim - 1)
        self.weights[owner] = self.weights[owner] * scale.reshape(shape)
        self.folded.append(op)
        self.direct[node.output[0]] = owner
        self.tensors[node.output[0]] = self.tensors[x]
        return True

    def join(self, node, data: list[str]) -> bool:
        """Add or Sum of tensors from kept layers, all of one shape: an add layer."""
        shapes = {self.tensors[t].shape or self.inferred.get(t) for t in data}
        if len(shapes) != 1 or None in shapes:
            return False
        shape = shapes.pop()
        chw = _chw(shape)
        sources = [self.source(t, chw) for t in data]
        if not all(sources):
            return False
        name = self.unique(node.name or node.output[0])
        self.append(Layer(name, LayerKind.ADD, tuple(s[0] for s in sources), *chw, chw[0]))
        self.kept.append(node.op_type)
        self.output(node, name, shape)
        return True

    def pass_through(self, node, op: str, data: list[str]) -> None:
        """No MACs: the output carries the kept layer of its main input (the first one of
        the output's shape, as a broadcast Mul's large operand); consumers check shapes."""
        self.passed.append(op)
        if op in ("Shape", "Size"):
            return  # its output is arithmetic on shapes, not data
        out = self.inferred.get(node.output[0]) if node.output else None
        first = self.tensors[data[0]].shape or self.inferred.get(data[0])
        if out is None and op == "Flatten" and first is not None:
            axis = int(node_attr(self.onnx, node, "axis", 1)) % len(first)
            out = (int(np.prod(first[:axis])), int(np.prod(first[axis:])))
        if out is None and op in SHAPE_KEEPING:
            out = first
        same = [t for t in data if (self.tensors[t].shape or self.inferred.get(t)) == out]
        if same:  # element-wise: the operand of the output's shape is the data it carries
            layer = self.tensors[same[0]].layer
        elif len(data) == 1 and len(node.output) == 1:  # a reshape of one tensor
            layer = self.tensors[data[0]].layer
        else:  # Concat, Split and the like: new data, from outside the model
            layer = None
        self.output(node, layer, out)


def node_attr(onnx, node, name: str, default):
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def _per_channel(scale: np.ndarray) -> bool:
    """A constant that multiplies whole channels: (C,), (C, 1, 1) or (1, C, 1, 1)."""
    dims = [d for d in scale.shape if d != 1]
    return len(dims) <= 1 and (scale.ndim <= 1 or scale.shape[-1] == 1 or scale.size == 1)


def _constant_value(numpy_helper, attrs: dict) -> np.ndarray | None:
    if "value" in attrs:
        return numpy_helper.to_array(attrs["value"])
    for key in ("value_float", "value_floats", "value_int", "value_ints"):
        if key in attrs:
            return np.asarray(attrs[key])
    return None


def _fold_constant(op: str, args: list, attrs: dict) -> np.ndarray | None:
    """The value of a node computed from constants alone, for the few ops exporters put
    between a weight and its Conv or MatMul; None for anything else."""
    x = args[0]
    if op in ("Identity", "Cast"):
        return x
    if op == "Transpose":
        return np.transpose(x, attrs.get("perm"))
    if op == "Reshape" and len(args) > 1:
        shape = [int(d) if d != 0 else x.shape[i] for i, d in enumerate(args[1])]
        return x.reshape(shape)
    if op in ("Squeeze", "Unsqueeze"):
        axes = attrs.get("axes", list(args[1]) if len(args) > 1 else None)
        if op == "Squeeze":
            return np.squeeze(x, axis=tuple(axes) if axes is not None else None)
        for axis in sorted(int(a) % (x.ndim + len(axes)) for a in axes):
            x = np.expand_dims(x, axis)
        return x
    return None


def _as_2d(attrs: dict) -> dict:
    """A 1-D conv's attributes as a 2-D one's on a single row."""
    out = dict(attrs)
    if "kernel_shape" in attrs:
        out["kernel_shape"] = [1, *attrs["kernel_shape"]]
    for key, one in (("strides", 1), ("dilations", 1)):
        if key in attrs:
            out[key] = [one, *attrs[key]]
    if "pads" in attrs:
        begin, end = attrs["pads"]
        out["pads"] = [0, begin, 0, end]
    return out


def _geometry(where: str, attrs: dict, size: tuple[int, int], kernel) -> dict:
    """Layer keywords stride, pad (top, bottom, left, right) and dilation of a 2-D Conv or
    pool: ONNX orders pads (top, left, bottom, right); auto_pad SAME_UPPER / SAME_LOWER puts
    the odd row or column at the end / the start, as ONNX defines them."""
    strides = [int(s) for s in attrs.get("strides", [1, 1])]
    dilations = [int(d) for d in attrs.get("dilations", [1, 1])]
    auto = attrs.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else str(auto)
    if len(strides) != 2 or len(dilations) != 2:
        raise ConfigError(
            f"{where}: strides {strides}, dilations {dilations}: a 2-D layer has 2 of each"
        )
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        pads = [0, 0, 0, 0]
        for axis in (0, 1):
            extent = dilations[axis] * (int(kernel[axis]) - 1) + 1
            out = -(-size[axis] // strides[axis])
            total = max(0, (out - 1) * strides[axis] + extent - size[axis])
            small = total // 2
            begin = small if auto == "SAME_UPPER" else total - small
            pads[axis], pads[axis + 2] = begin, total - begin
    elif auto in ("NOTSET", "VALID"):
        pads = [int(p) for p in attrs.get("pads", [0, 0, 0, 0])] if auto == "NOTSET" else [0] * 4
    else:
        raise ConfigError(f"{where}: auto_pad = {auto!r}: not an ONNX auto_pad value")
    if len(pads) != 4:
        raise ConfigError(f"{where}: pads {pads}: a 2-D layer has 4")
    top, left, bottom, right = pads
    return {
        "stride": tuple(strides),
        "pad": (top, bottom, left, right),
        "dilation": tuple(dilations),
    }


def load_onnx(path: str | Path, input_shape=None) -> tuple[Network, dict[str, np.ndarray]]:
    """The network and its weights by layer name (import_onnx without the report)."""
    imported = import_onnx(path, input_shape)
    return imported.network, imported.weights
