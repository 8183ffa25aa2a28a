"""Real-world ONNX graphs in as a Network and its weights (the `accelsim[onnx]` extra).

`import_onnx(path, input_shape)` walks the graph in node order and keeps what the
accelerator runs, folds what changes only the weights, and passes everything else through:
- kept: Conv (grouped, depthwise, dilated, rectangular kernels, strides per axis, pads per
  side or auto_pad, 1-D convs as a 1-row map; a zero Pad just before it is its padding)
  becomes a conv layer; Gemm and MatMul with a constant weight matrix become an fc layer,
  or a 1x1 conv over the positions when the input has more than one row (a (1, T, K)
  sequence, a (T, K) matrix, or W @ x over a (1, K, T) one; transA and transB read);
  quantized ConvInteger, QLinearConv, MatMulInteger, QLinearMatMul and onnxruntime's QGemm
  likewise, their weights less the weight zero point, and its FusedConv, FusedGemm and
  FusedMatMul as the plain ones; a ConvTranspose whose kernel equals its strides (no pads,
  dilation, groups or output padding: a detector head's 2x2 upsampling) becomes the 1x1
  conv it is, each input pixel's products landing in their own block of outputs; pools
  become pool layers (shapes only); Add, Sum or QLinearAdd of two or more tensors of one
  shape from kept layers becomes an add layer (channels-last (N, H, W, C) maps too);
- folded: a BatchNormalization, or a Mul by a per-channel constant, reading a kept layer's
  output that nothing else reads scales that layer's weights per filter, as exporters fold
  them (the shift goes to the bias, which accelsim does not count); an Add (or x - c) of a
  per-channel constant there is a bias, folded the same way, so a BatchNorm after it folds;
- passed through: every node without MACs (activations, element-wise ops with a constant in
  either operand, Reshape, Transpose, Slice, Pad, Split, Concat, Resize, reductions, ...).
  A layer reads the kept layer whose output reaches it through such nodes if the shape
  still matches; otherwise (Concat, Resize, Split, ...) its sources are outside the model
  (topology UNMODELLED, `-`) and its input shape is the one shape inference gives;
- inlined: an If is replaced by the branch it takes, its condition folded from constants
  and the fixed shapes, or its then branch where the condition is known only at run time
  (a sample rate input); the walk then starts again, and `Imported.branches` says which;
- not simulated: nodes with MACs that accelsim cannot model (any other ConvTranspose,
  whose blocks of outputs overlap, recurrent cells, products of two activations, Loop and
  Scan bodies, attention and other onnxruntime contrib ops): passed through and listed.
The data input (an image, a sequence, raw audio (N, L) or token ids) is, of the inputs of
rank 2 to 4 that are not weights, the one the first Conv, Gemm or MatMul reads, else the
first; the others (states, caches, masks, rates, image sizes) are data from outside the
model. A channels-last image that a Transpose makes (N, C, H, W) is
an input layer of that (C, H, W).
Weights come from initializers, Constant nodes, or constant arithmetic on them (Identity,
Cast, Transpose, Reshape, Squeeze, Unsqueeze, DequantizeLinear of int8 weights per tensor,
channel or block). Tensor shapes come from ONNX shape inference once the data input's
dimensions are fixed: the batch is 1, and `input_shape` ((C, H, W), (C, L) or (L,): all
but the batch) sets the dimensions the file leaves dynamic. Where inference stops (a
Reshape to a shape computed from Shape nodes, the outputs of an LSTM, pads computed at run
time), the walk computes the shapes itself: Shape and Size of a known shape are constants,
constant arithmetic (Gather, Slice, Concat, Add, Sub, Mul, Div, comparisons, Not,
ConstantOfShape, Shape of a constant) is evaluated, and Reshape, Transpose, Squeeze,
Unsqueeze, Concat, Gather, Slice, Split, Pad, Resize, Upsample, reductions and recurrent
cells get their outputs' shapes from their inputs (early opsets' attributes read too).
"""

from __future__ import annotations

import collections
from pathlib import Path

import numpy as np
from attrs import field, frozen

from accelsim.errors import ConfigError
from accelsim.workload.networks.layers import (
    MAX_CHANNELS,
    MAX_SIDE,
    Layer,
    LayerKind,
    Network,
    check_shapes,
)

# nodes with MACs that accelsim does not model: kept out of the network and listed
UNMODELLED_MACS = {
    "ConvTranspose",
    "LSTM",
    "DynamicQuantizeLSTM",
    "GRU",
    "RNN",
    "Einsum",
    "Attention",
    "If",
    "Loop",
    "Scan",
    # onnxruntime's contrib operators with MACs that accelsim does not read
    "QAttention",
    "MultiHeadAttention",
    "GroupQueryAttention",
    "MatMulNBits",
    "DynamicQuantizeMatMul",
    "MatMulIntegerToFloat",
    "NhwcConv",
    "QLinearConvTranspose",
    "DeformConv",
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
    "QuantizeLinear",
    "DequantizeLinear",
    "DynamicQuantizeLinear",
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
# reductions over axes: no MACs in accelsim's sense (a mean over the map is a global pool)
REDUCTIONS = {"ReduceMean", "ReduceMax", "ReduceMin", "ReduceSum", "ReduceL2", "ReduceProd"}
POOLS = {"MaxPool", "AveragePool", "GlobalMaxPool", "GlobalAveragePool", "QLinearGlobalAveragePool"}
# onnxruntime's quantized element-wise ops (QOperator format): the data in their first input
SHAPE_KEEPING |= {"QLinearSigmoid", "QLinearLeakyRelu", "QLinearSoftmax"}
# quantized convs and products: (weight input, weight zero-point input); the weight a layer
# holds is the integer weight less its zero point, so its zeros are the quantized zeros
QUANTIZED = {
    "ConvInteger": (1, 3),
    "QLinearConv": (3, 5),
    "MatMulInteger": (1, 3),
    "QLinearMatMul": (3, 5),
    "QGemm": (3, 5),  # onnxruntime's quantized Gemm (com.microsoft), QOperator format
}
# onnxruntime's fused operators (com.microsoft) are a Conv, Gemm or MatMul and an activation
CONVS = ("Conv", "ConvInteger", "QLinearConv", "FusedConv")
LINEARS = ("Gemm", "MatMul", "MatMulInteger", "QLinearMatMul", "QGemm", "FusedGemm", "FusedMatMul")
PRODUCTS = ("MatMul", "MatMulInteger", "QLinearMatMul")  # the LINEARS without transA, transB


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


def _text(pairs) -> str:
    return ", ".join(f"{op} {n}" for op, n in pairs) or "none"


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
    input_shape: tuple[int, ...]
    # each If walked: which branch, and why (its condition's value, or unknown until run time)
    branches: tuple[str, ...] = ()

    def summary(self) -> list[str]:
        """What was kept, folded, passed through and left out, one line each."""

        kinds = collections.Counter(layer.kind.value for layer in self.network.layers[1:])
        lines = [
            f"input {'x'.join(map(str, self.input_shape))}; kept {sum(kinds.values())} layers "
            f"({', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))}) from {_text(self.kept)}",
            f"folded into the weights before them: {_text(self.folded)}",
            f"passed through (no MACs): {_text(self.passed)}",
            f"not simulated (MACs accelsim does not model): {_text(self.not_simulated)}",
        ]
        if self.branches:
            lines.append(f"subgraphs inlined: {'; '.join(self.branches)}")
        return lines


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
    return _read(path, input_shape)[0]


def inlined_model(path: str | Path, input_shape=None):
    """The ONNX model the walk read in the end, every If replaced by the branch it took:
    a runtime computes every kept layer's shapes on it (tests/test_wheel_models.py checks
    the MACs against onnxruntime's)."""
    return _read(path, input_shape)[1]


def _read(path: str | Path, input_shape) -> tuple[Imported, object]:
    onnx, numpy_helper = onnx_modules()
    src = str(path)
    try:
        model = onnx.load(src)
    except Exception as exc:  # protobuf errors have many types (a missing external file)
        raise ConfigError(f"{src}: not a readable ONNX model: {exc}") from None
    branches: list[str] = []
    while True:  # each If met is replaced by the branch it takes, then the walk starts again
        try:
            return _import_graph(src, onnx, numpy_helper, model, input_shape, branches), model
        except _Inline as chosen:
            model = _inlined(onnx, model, chosen.index, chosen.branch)
            branches.append(chosen.why)


MAX_INLINED = 32  # If nodes inlined at most; any further one is listed as not simulated


class _Inline(Exception):  # noqa: N818 (a control-flow signal, not an error)
    """The walk met If node `index` of the top graph and knows which branch it takes."""

    def __init__(self, index: int, branch: str, why: str):
        super().__init__(why)
        self.index, self.branch, self.why = index, branch, why


def _inlined(onnx, model, index: int, branch: str):
    """The model with If node `index` replaced by the nodes and constants of `branch`, whose
    outputs become the If's outputs through Identity nodes: a graph ONNX shape inference
    and the walk follow like any other (subgraph names never shadow the outer graph's)."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    graph = out.graph
    node = graph.node[index]
    body = next(a.g for a in node.attribute if a.name == branch)
    nodes = [*graph.node[:index], *body.node]
    nodes += [
        onnx.helper.make_node("Identity", [b.name], [o], name=f"{node.name or o}/{branch}/{k}")
        for k, (b, o) in enumerate(zip(body.output, node.output))
        if o
    ]
    nodes += graph.node[index + 1 :]
    del graph.node[:]
    graph.node.extend(nodes)
    graph.initializer.extend(body.initializer)
    return out


def _import_graph(src: str, onnx, numpy_helper, model, input_shape, branches: list) -> Imported:
    graph = model.graph
    consts = {}
    for tensor in graph.initializer:
        try:
            consts[tensor.name] = numpy_helper.to_array(tensor)
        except (ValueError, TypeError, OSError) as exc:  # dims that do not match the data
            raise ConfigError(
                f"{src}: initializer {tensor.name!r} of dims {list(tensor.dims)}: {exc}"
            ) from None
    image, dims, side = _image_input(src, graph, consts, input_shape)
    inferred = _inferred_shapes(onnx, model, {image.name: dims, **side})
    readers = collections.Counter(t for node in graph.node for t in node.input if t)
    readers.update(o.name for o in graph.output)
    walk = _Walk(src, onnx, numpy_helper, consts, inferred, readers)
    walk.start(image, dims, side)
    for index, node in enumerate(graph.node):
        where = f"{src}: node {node.name or (node.output[0] if node.output else '?')!r}"
        where += f" ({node.op_type})"
        if node.op_type == "If" and len(branches) < MAX_INLINED:
            raise _Inline(index, *walk.branch(node))
        try:
            walk.node(node, where)
        except ConfigError:
            raise
        except (
            ValueError,
            TypeError,
            KeyError,
            IndexError,
            AttributeError,
            ArithmeticError,
        ) as exc:
            # attributes missing or of another type, shapes that do not fit: one line
            raise ConfigError(f"{where}: {exc}") from None
    if not any(layer.has_macs for layer in walk.layers):
        raise ConfigError(
            f"{src}: no Conv, Gemm or MatMul with constant weights: nothing to simulate"
            + (
                f" (not simulated: {_text(_counts(walk.not_simulated))})"
                if walk.not_simulated
                else ""
            )
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
        tuple(branches),
    )


def _safe(name: str) -> str:
    return name.replace("+", "_").replace(",", "_") or "layer"


def _image_input(src: str, graph, consts: dict, input_shape) -> tuple[object, list[int], dict]:
    """The data input (of the inputs of rank 2 to 4 that are not weights, the one the
    first MAC node reads; states, caches, masks, rates and image sizes are not it),
    its dimensions with the batch at 1 and the open ones from input_shape, and the other
    inputs' dimensions, an open one taking the data input's value of the same name."""
    inputs = [i for i in graph.input if i.name not in consts]
    ranked = [i for i in inputs if len(i.type.tensor_type.shape.dim) in (2, 3, 4)]
    if not ranked:
        raise ConfigError(
            f"{src}: expected an image input (N, C, H, W), a sequence (N, C, L) or a flat "
            f"input (N, L); got {[(i.name, _dims_of(i)) for i in inputs]}"
        )
    image = _data_input(graph, ranked)
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
        names = {2: "L", 3: "C,L", 4: "C,H,W"}[len(given)]
        raise ConfigError(
            f"{src}: input {image.name!r} has shape {given}: give the open dimensions "
            f"(accelsim import --input-shape {names}, or [workload] input_shape = "
            f"[{names.replace(',', ', ')}])"
        )
    limits = [MAX_CHANNELS] + [MAX_SIDE] * (len(given) - 2)
    if any(d > hi for d, hi in zip(given[1:], limits)):
        raise ConfigError(
            f"{src}: input {image.name!r} has shape {given}: at most {MAX_CHANNELS:,} "
            f"channels and {MAX_SIDE:,} rows or columns"
        )
    dims = [1, *given[1:]]
    # a dimension's name -> its value here (unnamed ones, "?", match nothing)
    named = {d: v for d, v in zip(_dims_of(image), dims) if d != "?"}
    side = {
        i.name: [d if isinstance(d, int) else named.get(d, d) for d in _dims_of(i)]
        for i in inputs
        if i is not image
    }
    return image, dims, side


def _data_input(graph, ranked: list):
    """Of the inputs of rank 2 to 4, the one that reaches the first Conv, Gemm or MatMul
    in node order (a detector's image before its `im_shape` and `scale_factor`, audio
    features before their caches; the first listed of those reaching it), else the first:
    exporters list the data first."""
    reach = {i.name: {i.name} for i in ranked}  # tensor -> the inputs it is computed from
    for node in graph.node:
        origins = set().union(*(reach.get(t, set()) for t in node.input if t))
        if not origins:
            continue
        if node.op_type in CONVS or node.op_type in LINEARS:
            first = reach.get(node.input[0], set()) or origins
            return next(i for i in ranked if i.name in first)
        for t in node.output:
            reach[t] = origins
    return ranked[0]


def _dims_of(value_info) -> list:
    return [d.dim_value or d.dim_param or "?" for d in value_info.type.tensor_type.shape.dim]


def _inferred_shapes(onnx, model, fixed_dims: dict) -> dict[str, tuple[int, ...]]:
    """Every tensor shape ONNX shape inference finds once the inputs' dimensions are fixed
    (those known); a model it cannot follow leaves shapes to the walk (kept layers compute
    their own)."""
    fixed = onnx.ModelProto()
    fixed.CopyFrom(model)
    for value in fixed.graph.input:
        for dim, size in zip(value.type.tensor_type.shape.dim, fixed_dims.get(value.name, [])):
            if isinstance(size, int):
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
        # a kept ConvTranspose -> its filters per output channel (k_h * k_w, channel-major)
        self.blocks: dict[str, int] = {}
        # a zero Pad's output -> (its input, the pads it adds: top, bottom, left, right)
        self.padded: dict[str, tuple[str, tuple[int, int, int, int]]] = {}
        self.readers = readers  # tensor -> how many nodes (and graph outputs) read it
        self.kept: list[str] = []
        self.folded: list[str] = []
        self.passed: list[str] = []
        self.not_simulated: list[str] = []
        self.used: set[str] = set()

    def start(self, image, dims, side: dict) -> None:
        """The data input as the input layer; the other inputs (states, caches, masks,
        rates) as data from outside the model."""
        name = self.unique(image.name)
        c, h, w = _chw(tuple(dims))
        self.append(Layer(name, LayerKind.INPUT, (), c, h, w, c))
        self.tensors[image.name] = _Tensor(name, tuple(dims))
        for tensor, shape in side.items():
            known = all(isinstance(d, int) and d > 0 for d in shape)
            self.tensors[tensor] = _Tensor(None, tuple(shape) if known else None)

    def relayout_input(self, chw: tuple[int, int, int]) -> None:
        """The input layer as the first layer reading it sees it: a Keras or tf2onnx export
        takes the image channels-last (N, H, W, C) and transposes it to (N, C, H, W); the
        layers see the transposed image, so the input layer is that."""
        first = self.layers[0]
        if any(first.name in layer.sources for layer in self.layers[1:]):
            return  # already read as it is: left so
        moved = Layer(first.name, LayerKind.INPUT, (), *chw, chw[0])
        self.layers[0] = moved
        self.by_name[first.name] = moved

    def branch(self, node) -> tuple[str, str]:
        """The branch an If takes, and why: its condition's value where it is a constant
        (from the weights or the shapes fixed here), else its then branch, said as such."""
        cond = self.const(node.input[0])
        label = f"If {node.name or node.output[0]!r}"
        if cond is None:
            return "then_branch", f"{label}: then branch (condition known only at run time)"
        taken = "then_branch" if bool(np.asarray(cond).ravel()[0]) else "else_branch"
        return taken, f"{label}: {taken.replace('_', ' ')} (condition is {bool(np.ravel(cond)[0])})"

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
        if name == self.layers[0].name and out != chw and sorted(out) == sorted(chw):
            self.relayout_input(chw)  # an NHWC image input, transposed before its first layer
            out = chw
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

    def has_weight(self, node, op: str) -> bool:
        at = QUANTIZED.get(op, (1, None))[0]
        return len(node.input) > at and self.const(node.input[at]) is not None

    def layer_weight(self, node, op: str, where: str) -> np.ndarray:
        """A conv's or product's weights; a quantized one's less its zero point, which is
        a scalar or one per output channel (the first axis of a conv's weights, the last
        of a product's)."""
        at, zero_at = QUANTIZED.get(op, (1, None))
        w = self.weight(node, at, where)
        zero = self.const(node.input[zero_at]) if zero_at and len(node.input) > zero_at else None
        if zero is None or np.asarray(zero).size == 1:
            return w - (float(np.asarray(zero).ravel()[0]) if zero is not None else 0.0)
        zero = np.asarray(zero, dtype=np.float32).ravel()
        trans_b = op not in PRODUCTS and node_attr(self.onnx, node, "transB", 0)
        axis = 0 if op in CONVS or trans_b else w.ndim - 1  # the output channels' axis
        if zero.size != w.shape[axis]:
            raise ConfigError(
                f"{where}: weight zero point of {zero.size} values for weights {w.shape}: "
                f"one, or one per output channel"
            )
        shape = [1] * w.ndim
        shape[axis] = -1
        return w - zero.reshape(shape)

    def output(self, node, layer: str | None, shape=None) -> None:
        """Record the node's outputs as data from `layer`; a shape ONNX inference has no
        value for is `shape` (the first output's, or one per output in a list)."""
        own = shape if isinstance(shape, list) else [shape]
        for i, tensor in enumerate(node.output):
            if tensor:
                mine = own[i] if i < len(own) else None
                known = mine if i == 0 and mine is not None else self.inferred.get(tensor)
                self.tensors[tensor] = _Tensor(layer, known or mine)

    # -- nodes --------------------------------------------------------------------------

    def node(self, node, where: str) -> None:
        op = node.op_type
        attrs = {a.name: self.onnx.helper.get_attribute_value(a) for a in node.attribute}
        data = [t for t in node.input if t in self.tensors]
        if not data and op not in ("If", "Loop", "Scan"):  # subgraphs read data by name
            self.constant(node, op, attrs)
            return
        if (
            op in CONVS
            and node.input[0] in self.tensors
            and self.has_weight(node, op)
            and (self.conv(node, op, attrs, where))
        ):
            return
        elif op in LINEARS and self.linear_operands(node, op, attrs, where) is not None:
            self.linear(node, op, attrs, where)
        elif op == "ConvTranspose" and self.conv_transpose(node, attrs, where):
            return
        elif op in POOLS:
            self.pool(node, op, attrs, where)
        elif op in ("BatchNormalization", "Mul", "Add", "Sub") and self.fold(node, op, data, where):
            return
        elif op in ("Add", "Sum", "QLinearAdd") and len(data) >= 2 and self.join(node, data):
            return
        elif op in UNMODELLED_MACS or op in CONVS or op in LINEARS:
            self.not_simulated.append(op)
            self.output(node, None, _recurrent_shapes(self, node, op, attrs))
        else:
            self.pass_through(node, op, attrs, data)

    def constant(self, node, op: str, attrs: dict) -> None:
        """A node of weights and shapes only: its value is kept where the weights need it."""
        if op == "Constant":
            value = _constant_value(self.numpy_helper, attrs)
            if value is not None:
                self.consts[node.output[0]] = value
            return
        args = [self.const(t) for t in node.input]
        if not node.input or any(a is None for t, a in zip(node.input, args) if t):
            return  # computed from data at run time: not a weight nor a known shape
        attrs = {k: _attr_array(self.numpy_helper, v) for k, v in attrs.items()}
        value = _fold_constant(op, _legacy_args(op, args, attrs), attrs)
        if value is not None:
            self.consts[node.output[0]] = value

    def conv(self, node, op: str, attrs: dict, where: str) -> bool:
        """Keep a 1-D or 2-D conv; False (listed, not simulated) for a 3-D one."""
        if self.const(node.input[QUANTIZED.get(op, (1, None))[0]]).ndim not in (3, 4):
            return False
        x = node.input[0]
        extra = (0, 0, 0, 0)
        auto = attrs.get("auto_pad", b"NOTSET")
        if x in self.padded and auto in (b"NOTSET", "NOTSET", b"VALID", "VALID"):
            x, extra = self.padded[x]  # a zero Pad before the Conv is its padding
        shape = self.shape(x, where)
        kernel = self.layer_weight(node, op, where)
        one_d = kernel.ndim == 3
        if len(shape) != kernel.ndim:
            raise ConfigError(
                f"{where}: weights {kernel.shape} on input {shape}: a conv's weights have "
                f"the rank of its input (filters, channels, [height,] width)"
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
        geometry["pad"] = tuple(a + b for a, b in zip(geometry["pad"], extra))
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
        self.keep(node, layer, kernel, op)
        out = (1, layer.out_c, layer.out_w) if one_d else (1, *layer.out_shape)
        self.output(node, name, out)
        return True

    def conv_transpose(self, node, attrs: dict, where: str) -> bool:
        """Keep a ConvTranspose whose kernel equals its strides: output pixel (s_h i + a,
        s_w j + b) of channel o is the sum over c of x[c, i, j] W[c, o, a, b], so it is a
        1x1 conv with a filter per (o, a, b) on the input map, followed by a depth-to-space
        rearrangement without MACs; the MACs and weights are the ConvTranspose's own. Its
        readers see the upsampled map, which is not the layer's output shape, so they read
        it from outside the model, as after a Resize. False (listed, not simulated) for any
        other ConvTranspose: there outputs sum products of neighbouring input pixels."""
        x = node.input[0]
        if x not in self.tensors or not self.has_weight(node, "ConvTranspose"):
            return False
        w = self.weight(node, 1, where)
        shape = self.tensors[x].shape or self.inferred.get(x)
        if w.ndim != 4 or shape is None or len(shape) != 4:
            return False
        c, h, width = _chw(shape)
        channels, out_c, kh, kw = w.shape
        auto = attrs.get("auto_pad", b"NOTSET")
        auto = auto.decode() if isinstance(auto, bytes) else str(auto)
        if (
            channels != c
            or [int(s) for s in attrs.get("strides", [1, 1])] != [kh, kw]
            or [int(d) for d in attrs.get("dilations", [1, 1])] != [1, 1]
            or int(attrs.get("group", 1)) != 1
            or any(int(p) for p in attrs.get("pads", [0]))
            or any(int(p) for p in attrs.get("output_padding", [0]))
            or "output_shape" in attrs
            or auto not in ("NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER")  # all pad 0 here
        ):
            return False
        name = self.unique(node.name or node.output[0])
        filters = out_c * kh * kw
        layer = Layer(
            name, LayerKind.CONV, self.source(x, (c, h, width)), c, h, width, filters, 1, 1
        )
        self.keep(node, layer, w.transpose(1, 2, 3, 0).reshape(filters, c, 1, 1), "ConvTranspose")
        self.blocks[name] = kh * kw
        self.output(node, name, (1, out_c, h * kh, width * kw))
        return True

    def linear_operands(self, node, op: str, attrs: dict, where: str):
        """(out, in) weights, the data operand and the axis of its features, of a Gemm or
        MatMul with one constant 2-D operand: x @ W (the second; transA puts the features
        second-last, transB the weights' outputs first) or W @ x (a MatMul's first
        operand: a (N, K, T) sequence, features on the second-last axis); None otherwise."""
        at = QUANTIZED.get(op, (1, None))[0]
        first, second = node.input[0], node.input[at]
        mat = self.const(second)
        if first in self.tensors and mat is not None and mat.ndim == 2:
            mat = self.layer_weight(node, op, where)
            trans_a, trans_b = (
                op not in PRODUCTS and attrs.get(k, 0) for k in ("transA", "transB")
            )
            return (mat if trans_b else mat.T), first, -2 if trans_a else -1
        mat = self.const(first)
        if op == "MatMul" and second in self.tensors and mat is not None and mat.ndim == 2:
            shape = self.known(second)
            if shape is not None and len(shape) >= 2:
                return self.weight(node, 0, where), second, -2
        return None

    def linear(self, node, op: str, attrs: dict, where: str) -> None:
        mat, x, axis = self.linear_operands(node, op, attrs, where)
        shape = self.shape(x, where)
        axis %= len(shape)
        name = self.unique(node.name or node.output[0])
        features = shape[axis]
        if mat.shape[1] != features:
            raise ConfigError(
                f"{where}: weights {mat.shape} (out, in) do not match {features} input "
                f"features (axis {axis}) of {shape}"
            )
        positions = int(np.prod(shape)) // features  # rows of the product: 1 at batch 1
        if positions == 1:
            sources = self.source(x, (features, 1, 1), fc=True)
            layer = Layer(name, LayerKind.FC, sources, features, 1, 1, mat.shape[0])
            weights = mat
        else:  # the same matrix at every position of a sequence: a 1x1 conv on a row
            chw = (features, 1, positions)
            layer = Layer(name, LayerKind.CONV, self.source(x, chw), *chw, mat.shape[0], 1, 1)
            weights = mat[:, :, None, None]
        self.keep(node, layer, weights, op)
        if op not in PRODUCTS and axis == len(shape) - 2:  # transA: A^T B is (.., M, N)
            out = (*shape[:-2], shape[-1], mat.shape[0])
        else:
            out = (*shape[:axis], mat.shape[0], *shape[axis + 1 :])
        self.output(node, name, out)

    def keep(self, node, layer: Layer, weights: np.ndarray, op: str) -> None:
        self.append(layer)
        self.weights[layer.name] = weights
        self.direct[node.output[0]] = layer.name
        self.kept.append(op)

    def pool(self, node, op: str, attrs: dict, where: str) -> None:
        x = node.input[0]
        shape = self.shape(x, where)
        if len(shape) != 4 or attrs.get("channels_last", 0):
            self.pass_through(node, op, attrs, [x])
            return
        c, h, w = _chw(shape)
        if "Global" in op:
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
            self.pass_through(node, op, attrs, [x])  # ceil_mode: a shape the layer does not hold
            return
        self.append(layer)
        self.kept.append(op)
        self.output(node, layer.name, (1, *layer.out_shape))

    def fold(self, node, op: str, data: list[str], where: str) -> bool:
        """Scale the weights of the kept layer whose own output this node alone reads; an
        Add or Sub of a per-channel constant there is its bias, which accelsim does not
        count, so the layer's output goes on through it."""
        x = data[0]
        owner = self.direct.get(x)
        if len(data) != 1 or owner is None or self.readers[x] != 1:
            return False
        blocks = self.blocks.get(owner, 1)  # a ConvTranspose's filters per output channel
        filters = self.weights[owner].shape[0] // blocks
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
            if op in ("Add", "Sub"):
                if op == "Sub" and node.input[0] != x:
                    return False  # constant - x negates the weights: left as it is
                self.folded.append(op)
                self.direct[node.output[0]] = owner
                self.tensors[node.output[0]] = self.tensors[x]
                return True
            scale = np.broadcast_to(np.asarray(scale, dtype=np.float32).ravel(), (filters,))
        if scale.size != filters:
            return False
        shape = (-1,) + (1,) * (self.weights[owner].ndim - 1)
        scale = np.repeat(np.asarray(scale, dtype=np.float32).ravel(), blocks)
        self.weights[owner] = self.weights[owner] * scale.reshape(shape)
        self.folded.append(op)
        self.direct[node.output[0]] = owner
        self.tensors[node.output[0]] = self.tensors[x]
        return True

    def join(self, node, data: list[str]) -> bool:
        """Add or Sum of tensors from kept layers, all of one shape: an add layer. An
        export that keeps channels last between its convs (a TensorFlow model converted to
        PyTorch: Transpose, Conv, Transpose back) adds (N, H, W, C) maps: the same join."""
        shapes = {self.tensors[t].shape or self.inferred.get(t) for t in data}
        if len(shapes) != 1 or None in shapes:
            return False
        shape = shapes.pop()
        # channels-last (N, H, W, C) maps between transposed convs join as (C, H, W) ones
        views = [_chw(shape), *([(shape[3], shape[1], shape[2])] if len(shape) == 4 else [])]
        for chw in views:
            sources = [self.source(t, chw) for t in data]
            if all(sources):
                break
        else:
            return False
        name = self.unique(node.name or node.output[0])
        self.append(Layer(name, LayerKind.ADD, tuple(s[0] for s in sources), *chw, chw[0]))
        self.kept.append(node.op_type)
        self.output(node, name, shape)
        return True

    def known(self, tensor: str) -> tuple[int, ...] | None:
        if tensor in self.tensors:
            return self.tensors[tensor].shape or self.inferred.get(tensor)
        return None

    def pass_through(self, node, op: str, attrs: dict, data: list[str]) -> None:
        """No MACs: the output carries the kept layer of its main input (the first one of
        the output's shape, as a broadcast Mul's large operand); consumers check shapes.
        A shape that ONNX inference leaves open (a Reshape to a shape computed from Shape
        nodes, after an LSTM) is computed here from the shapes and constants known."""
        self.passed.append(op)
        first = self.known(data[0])
        if op in ("Shape", "Size"):  # arithmetic on shapes, not data: a constant once known
            if first is not None and node.output:
                value = _shape_value(op, first, attrs)
                self.consts[node.output[0]] = value
            return
        try:
            own = _own_shapes(self, node, op, attrs, data)
        except (ValueError, TypeError, IndexError):  # operands this reading cannot follow
            own = [None]
        out = (self.inferred.get(node.output[0]) if node.output else None) or own[0]
        if out is None and op in SHAPE_KEEPING:
            out = first
        if op == "Pad" and node.output:
            self.zero_pad(node, attrs, data[0])
        if (
            op == "Transpose"
            and list(attrs.get("perm", ())) == [0, 3, 1, 2]
            and self.tensors[data[0]].layer == self.layers[0].name
        ):  # a channels-last image (N, H, W, C) made channels-first, maybe padded before
            h, w, c = self.layers[0].out_shape
            self.relayout_input((c, h, w))
        same = [t for t in data if self.known(t) == out]
        if same:  # element-wise: the operand of the output's shape is the data it carries
            layer = self.tensors[same[0]].layer
        elif len(data) == 1 and len(node.output) == 1:  # a reshape of one tensor
            layer = self.tensors[data[0]].layer
        else:  # Concat, Split and the like: new data, from outside the model
            layer = None
        self.output(node, layer, [out, *own[1:]])

    def zero_pad(self, node, attrs: dict, x: str) -> None:
        """Remember a Pad that adds zeros around the map only (not the batch or channels),
        so a Conv reading it takes the pads as its own and reads the Pad's input."""
        shape = self.known(x)
        pads, axes = _pad_amounts(self, node, attrs)
        mode = attrs.get("mode", b"constant")
        value = self.const(node.input[2]) if len(node.input) > 2 else attrs.get("value", 0.0)
        if (
            shape is None
            or len(shape) not in (3, 4)
            or pads is None
            or mode not in (b"constant", "constant")
            or value is None
            or np.any(np.asarray(value) != 0)
        ):
            return
        rank = len(shape)
        full = [0] * (2 * rank)
        for k, axis in enumerate(axes):
            full[axis], full[axis + rank] = pads[k], pads[k + len(axes)]
        if any(p < 0 for p in full) or any(full[a] or full[a + rank] for a in (0, 1)):
            return
        if rank == 3:  # a 1-D map is one row
            spatial = (0, 0, full[2], full[5])
        else:
            spatial = (full[2], full[6], full[3], full[7])
        self.padded[node.output[0]] = (x, spatial)


def _pad_amounts(walk: _Walk, node, attrs: dict) -> tuple[list[int] | None, list[int]]:
    """A Pad's pads (all begins, then all ends) and the axes they apply to, where known:
    an attribute before opset 11, inputs after (axes from opset 18)."""
    shape = walk.known(node.input[0]) or ()
    pads = walk.const(node.input[1]) if len(node.input) > 1 else attrs.get("pads")
    axes = walk.const(node.input[3]) if len(node.input) > 3 else None
    rank = len(shape)
    chosen = [int(a) % rank for a in np.ravel(axes)] if axes is not None else list(range(rank))
    if pads is None or np.size(pads) != 2 * len(chosen):
        return None, chosen
    return [int(p) for p in np.ravel(pads)], chosen


def _shape_value(op: str, shape: tuple[int, ...], attrs: dict) -> np.ndarray:
    """The value of a Shape (with its start and end) or Size node on a known shape."""
    if op == "Size":
        return np.asarray(int(np.prod(shape)), dtype=np.int64)
    start, end = attrs.get("start", 0), attrs.get("end", len(shape))
    return np.asarray(shape[start:end], dtype=np.int64)


def _own_shapes(walk: _Walk, node, op: str, attrs: dict, data: list[str]) -> list:
    """The output shapes of a MAC-free node from its inputs' shapes and constant operands,
    for where ONNX shape inference gives none; None where this reading cannot tell."""
    shape = walk.known(data[0])
    args = _legacy_args(op, [walk.const(t) for t in node.input], attrs)
    if shape is None:
        return [None]
    rank = len(shape)
    if op == "Flatten":
        axis = int(attrs.get("axis", 1)) % rank
        return [(int(np.prod(shape[:axis])), int(np.prod(shape[axis:])))]
    if op == "Reshape" and len(args) > 1 and args[1] is not None:
        want = [int(d) for d in np.asarray(args[1]).ravel()]
        if not attrs.get("allowzero", 0):
            want = [shape[i] if d == 0 else d for i, d in enumerate(want)]
        if want.count(-1) == 1:
            rest = int(np.prod([d for d in want if d != -1]))
            want[want.index(-1)] = int(np.prod(shape)) // max(rest, 1)
        return [tuple(want) if int(np.prod(want)) == int(np.prod(shape)) else None]
    if op == "Transpose":
        perm = attrs.get("perm", list(reversed(range(rank))))
        return [tuple(shape[p] for p in perm)]
    if op in ("Squeeze", "Unsqueeze"):
        if op == "Unsqueeze" and attrs.get("axes", args[1] if len(args) > 1 else None) is None:
            return [None]
        view = np.broadcast_to(np.zeros((), dtype=np.bool_), shape)  # no memory
        return [_fold_constant(op, [view, *args[1:]], attrs).shape]
    if op == "Concat":
        shapes = [
            walk.known(t) or (None if walk.const(t) is None else walk.const(t).shape)
            for t in node.input
        ]
        if any(s is None or len(s) != rank for s in shapes):
            return [None]
        axis = int(attrs.get("axis", 0)) % rank
        return [(*shape[:axis], sum(s[axis] for s in shapes), *shape[axis + 1 :])]
    if op == "Gather" and len(args) > 1 and args[1] is not None:
        axis = int(attrs.get("axis", 0)) % rank
        return [(*shape[:axis], *np.shape(args[1]), *shape[axis + 1 :])]
    if op == "Slice" and len(args) > 2 and args[1] is not None and args[2] is not None:
        axes = args[3] if len(args) > 3 and args[3] is not None else range(len(args[1]))
        steps = args[4] if len(args) > 4 and args[4] is not None else [1] * len(args[1])
        out = list(shape)
        for start, end, axis, step in zip(args[1], args[2], axes, steps):
            axis = int(axis) % rank
            end = int(min(max(int(end), -(2**62)), 2**62))
            out[axis] = len(range(shape[axis])[int(start) : end : int(step)])
        return [tuple(out)]
    if op == "Split":
        axis = int(attrs.get("axis", 0)) % rank
        sizes = args[1] if len(args) > 1 and args[1] is not None else attrs.get("split")
        if sizes is None:
            parts = int(attrs.get("num_outputs", len(node.output)))
            sizes = [-(-shape[axis] // parts)] * (parts - 1)
            sizes.append(shape[axis] - sum(sizes))
        return [(*shape[:axis], int(n), *shape[axis + 1 :]) for n in np.asarray(sizes).ravel()]
    if op in REDUCTIONS:  # axes an attribute, or an input from opset 18 (13 for ReduceSum)
        axes = attrs.get("axes", args[1] if len(args) > 1 else None)
        if axes is None:
            if attrs.get("noop_with_empty_axes", 0):
                return [shape]
            axes = range(rank)
        axes = {int(a) % rank for a in np.ravel(axes)}
        if attrs.get("keepdims", 1):
            return [tuple(1 if i in axes else d for i, d in enumerate(shape))]
        return [tuple(d for i, d in enumerate(shape) if i not in axes)]
    if op == "Pad":
        pads, axes = _pad_amounts(walk, node, attrs)
        if pads is None:
            return [None]
        out = list(shape)
        for k, axis in enumerate(axes):
            out[axis] += pads[k] + pads[k + len(axes)]
        return [tuple(out)]
    if op in ("Resize", "Upsample"):
        sizes = args[3] if len(args) > 3 else None
        scales = args[2] if len(args) > 2 else (args[1] if op == "Upsample" else None)
        if sizes is not None and np.size(sizes) == rank:
            return [tuple(int(d) for d in np.asarray(sizes).ravel())]
        if scales is not None and np.size(scales) == rank:
            return [tuple(int(np.floor(d * f)) for d, f in zip(shape, np.ravel(scales)))]
    return [None]


def _legacy_args(op: str, args: list, attrs: dict) -> list:
    """Operands that early opsets give as attributes (Slice before opset 10, Upsample's
    scales in opsets 7 and 8) as the later opsets' inputs."""
    if op == "Slice" and "starts" in attrs:
        return [args[0], attrs["starts"], attrs["ends"], attrs.get("axes")]
    if op == "Upsample" and "scales" in attrs:
        return [args[0], np.asarray(attrs["scales"], dtype=np.float32)]
    return args


def _recurrent_shapes(walk: _Walk, node, op: str, attrs: dict) -> list:
    """An LSTM, GRU or RNN's outputs (Y, Y_h[, Y_c]) from its input and hidden size, with
    the default layout (sequence, batch, features); nothing for other unmodelled nodes."""
    x = walk.known(node.input[0]) if node.input else None
    hidden = attrs.get("hidden_size")
    if (
        op not in ("LSTM", "DynamicQuantizeLSTM", "GRU", "RNN")
        or x is None
        or len(x) != 3
        or hidden is None
    ):
        return [None]
    if attrs.get("layout", 0):
        return [None]
    direction = attrs.get("direction", b"forward")
    dirs = 2 if direction in (b"bidirectional", "bidirectional") else 1
    seq, batch = x[0], x[1]
    state = (dirs, batch, hidden)
    return [(seq, dirs, batch, hidden), state, state]


def node_attr(onnx, node, name: str, default):
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def _per_channel(scale: np.ndarray) -> bool:
    """A constant that multiplies whole channels: (C,), (C, 1, 1) or (1, C, 1, 1)."""
    dims = [d for d in scale.shape if d != 1]
    return len(dims) <= 1 and (scale.ndim <= 1 or scale.shape[-1] == 1 or scale.size == 1)


def _attr_array(numpy_helper, value):
    """A tensor attribute (ConstantOfShape's value) as an array; any other as it is."""
    return numpy_helper.to_array(value) if hasattr(value, "raw_data") else value


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
    if op == "DequantizeLinear":  # a QDQ model's integer weights: (w - zero point) * scale
        return _dequantized(x, args[1], args[2] if len(args) > 2 else None, attrs)
    if op in ("Shape", "Size"):  # of a constant: shape arithmetic on a computed tensor
        return _shape_value(op, np.shape(x), attrs)
    if op in _UNARY:
        return _UNARY[op](np.asarray(x))
    if op in _ARITHMETIC and len(args) == 2:
        with np.errstate(all="ignore"):
            return np.asarray(_ARITHMETIC[op](np.asarray(x), np.asarray(args[1])))
    if op == "Gather" and len(args) == 2:
        return np.take(x, np.asarray(args[1], dtype=np.int64), axis=int(attrs.get("axis", 0)))
    if op == "Concat":
        return np.concatenate([np.atleast_1d(a) for a in args], axis=int(attrs.get("axis", 0)))
    if op == "Slice" and len(args) >= 3:
        axes = args[3] if len(args) > 3 and args[3] is not None else range(len(args[1]))
        steps = args[4] if len(args) > 4 and args[4] is not None else [1] * len(args[1])
        index = [slice(None)] * np.ndim(x)
        for start, end, axis, step in zip(args[1], args[2], axes, steps):
            end = int(min(max(int(end), -(2**62)), 2**62))
            index[int(axis)] = slice(int(start), end, int(step))
        return np.asarray(x)[tuple(index)]
    if op == "ConstantOfShape" and np.prod(x) <= MAX_CONSTANT:
        fill = attrs.get("value")
        value = np.asarray(fill).ravel()[0] if fill is not None else np.float32(0)
        return np.full([int(d) for d in np.ravel(x)], value)
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


def _dequantized(x, scale, zero, attrs: dict) -> np.ndarray:
    """DequantizeLinear on a constant: a scale (and zero point) for the whole tensor, one per
    slice along `axis` (per channel), or, from opset 21, one per block of `block_size`."""
    x = np.asarray(x, dtype=np.float32)
    scale = np.asarray(scale, dtype=np.float32)
    zero = np.zeros_like(scale) if zero is None else np.asarray(zero, dtype=np.float32)
    if scale.size > 1 and x.ndim > 1:
        axis = int(attrs.get("axis", 1)) % x.ndim
        block = int(attrs.get("block_size", 0))
        if block:  # scale has x's rank, axis shortened by the block size
            scale, zero = (np.repeat(a, block, axis=axis) for a in (scale, zero))
            index = tuple(slice(0, d) for d in x.shape)
            scale, zero = scale[index], zero[index]
        else:
            shape = [1] * x.ndim
            shape[axis] = -1
            scale, zero = scale.reshape(shape), zero.reshape(shape)
    return (x - zero) * scale


_UNARY = {
    "Neg": np.negative,
    "Floor": np.floor,
    "Ceil": np.ceil,
    "Abs": np.abs,
    "Not": np.logical_not,
}
MAX_CONSTANT = 1 << 20  # a ConstantOfShape larger than this is data, not a shape or weight
_ARITHMETIC = {
    "Add": np.add,
    "Sub": np.subtract,
    "Mul": np.multiply,
    "Div": lambda a, b: a // b if a.dtype.kind in "iu" and b.dtype.kind in "iu" else a / b,
    "Equal": np.equal,
    "Greater": np.greater,
    "Less": np.less,
    "And": np.logical_and,
    "Or": np.logical_or,
    "Max": np.maximum,
    "Min": np.minimum,
}


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
