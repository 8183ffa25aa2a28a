"""ONNX models in and out (the `accelsim[onnx]` extra).

`load_onnx(path)` turns a CNN into a Network and its real weights, ready for pruning:
- Conv (with groups) becomes a conv layer; Gemm and MatMul become fc layers;
- MaxPool, AveragePool and their Global forms become pool layers (shapes only);
- BatchNormalization right after a Conv is folded into its weights (gamma / sqrt(var + eps)
  per filter), anywhere else it is ignored; activations, Dropout, LRN, Flatten, Reshape,
  Identity and Softmax pass shapes through; Add of two tensors is a residual join, Add of a
  constant is a bias and passes through;
- weights come from initializers or Constant nodes; the batch dimension is taken as 1.
Anything else is rejected with the node and its operator named. `to_onnx` writes a network
and its weights back, so a shipped network makes the identical workload after a round trip.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from accelsim.errors import ConfigError
from accelsim.workload.networks.layers import Layer, LayerKind, Network, check_shapes

PASS_THROUGH = {
    "Relu",
    "LeakyRelu",
    "Sigmoid",
    "Tanh",
    "Clip",
    "Dropout",
    "Identity",
    "Softmax",
    "LRN",
    "Flatten",
    "Reshape",
    "HardSwish",
    "HardSigmoid",
    "Elu",
    "Selu",
    "PRelu",
    "Mul",
    "Div",
    "Sub",
}


def _onnx():
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError:
        raise ConfigError(
            "reading ONNX needs the onnx package: pip install 'accelsim[onnx]'"
        ) from None
    return onnx, numpy_helper


def _safe(name: str) -> str:
    return name.replace("+", "_").replace(",", "_") or "layer"


def load_onnx(path: str | Path) -> tuple[Network, dict[str, np.ndarray]]:
    onnx, numpy_helper = _onnx()
    src = str(path)
    try:
        model = onnx.load(src)
    except Exception as exc:  # protobuf errors have many types
        raise ConfigError(f"{src}: not a readable ONNX model: {exc}") from None
    graph = model.graph
    consts = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant":
            attr = {a.name: a for a in node.attribute}
            if "value" not in attr:
                raise ConfigError(
                    f"{src}: Constant node {node.name or node.output[0]!r} has no tensor 'value'"
                )
            consts[node.output[0]] = numpy_helper.to_array(attr["value"].t)
    inputs = [i for i in graph.input if i.name not in consts]
    if len(inputs) != 1:
        raise ConfigError(f"{src}: expected one image input; got {[i.name for i in inputs]}")
    given = [d.dim_value or d.dim_param or "?" for d in inputs[0].type.tensor_type.shape.dim]
    if len(given) != 4:
        raise ConfigError(f"{src}: input {inputs[0].name!r} has shape {given}; expected NCHW")
    if not all(isinstance(d, int) and d > 0 for d in given[1:]):  # the batch is taken as 1
        raise ConfigError(
            f"{src}: input {inputs[0].name!r} has shape {given}: channels, "
            f"height and width must be fixed numbers (export with a fixed "
            f"input size)"
        )
    dims = [1, *given[1:]]
    name = _safe(inputs[0].name)
    layers = [Layer(name, LayerKind.INPUT, (), dims[1], dims[2], dims[3], dims[1])]
    producer = {inputs[0].name: name}  # tensor -> layer that produces it
    shape = {name: tuple(dims[1:])}  # layer -> (C, H, W) it produces
    weights: dict[str, np.ndarray] = {}
    used = {name}

    def layer_name(node) -> str:
        base = _safe(node.name or node.output[0])
        candidate, k = base, 1
        while candidate in used:
            candidate, k = f"{base}_{k}", k + 1
        used.add(candidate)
        return candidate

    def source(node, i=0) -> str:
        tensor = node.input[i]
        if tensor not in producer:
            raise ConfigError(
                f"{src}: node {node.name!r} ({node.op_type}) reads {tensor!r}, "
                f"which no supported node produces"
            )
        return producer[tensor]

    def weight(node, i) -> np.ndarray:
        if len(node.input) <= i or node.input[i] not in consts:
            raise ConfigError(
                f"{src}: node {node.name!r} ({node.op_type}): input {i} must be "
                f"a constant weight tensor"
            )
        return np.asarray(consts[node.input[i]], dtype=np.float32)

    def add(node, op: str, where: str) -> None:
        """One node: a layer appended, a tensor renamed, or a ConfigError."""
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        if op == "Constant":
            return
        if op == "Conv":
            src_layer = source(node)
            c, h, w = shape[src_layer]
            kernel = weight(node, 1)
            groups = int(attrs.get("group", 1))
            if kernel.ndim != 4:
                raise ConfigError(
                    f"{where}: weights {kernel.shape} are not a 2-D "
                    f"convolution's (filters, channels, height, width)"
                )
            if list(attrs.get("kernel_shape", kernel.shape[2:])) != list(kernel.shape[2:]):
                raise ConfigError(
                    f"{where}: kernel_shape {list(attrs['kernel_shape'])} does "
                    f"not match weights {kernel.shape}"
                )
            geometry = _geometry(where, attrs)
            lname = layer_name(node)
            layer = Layer(
                lname,
                LayerKind.CONV,
                (src_layer,),
                c,
                h,
                w,
                kernel.shape[0],
                kernel.shape[2],
                kernel.shape[3],
                groups=groups,
                **geometry,
            )
            if kernel.shape[1] * groups != c:
                raise ConfigError(
                    f"{where}: weights {kernel.shape} do not match {c} input "
                    f"channels in {groups} groups"
                )
            weights[lname] = kernel
        elif op in ("Gemm", "MatMul"):
            src_layer = source(node)
            c, h, w = shape[src_layer]
            mat = weight(node, 1)
            if op == "Gemm" and attrs.get("transA", 0):
                raise ConfigError(f"{where}: transA = 1 is not supported")
            if op == "MatMul" or not attrs.get("transB", 0):
                mat = mat.T
            if mat.shape[1] != c * h * w:
                raise ConfigError(
                    f"{where}: weights {mat.shape} do not match {c * h * w} input features"
                )
            lname = layer_name(node)
            layer = Layer(lname, LayerKind.FC, (src_layer,), c * h * w, 1, 1, mat.shape[0])
            weights[lname] = mat
        elif op in ("MaxPool", "AveragePool", "GlobalMaxPool", "GlobalAveragePool"):
            src_layer = source(node)
            c, h, w = shape[src_layer]
            if op.startswith("Global"):
                k_h, k_w, geometry = h, w, {}
            else:
                k_h, k_w = attrs["kernel_shape"]
                geometry = _geometry(where, attrs)
            if attrs.get("ceil_mode", 0):
                raise ConfigError(f"{where}: ceil_mode = 1 is not supported")
            layer = Layer(
                layer_name(node), LayerKind.POOL, (src_layer,), c, h, w, c, k_h, k_w, **geometry
            )
        elif op in ("Add", "Sum") and all(i in producer for i in node.input):
            sources = tuple(source(node, i) for i in range(len(node.input)))
            c, h, w = shape[sources[0]]
            layer = Layer(layer_name(node), LayerKind.ADD, sources, c, h, w, c)
        elif op in ("Add", "Sum") or op in PASS_THROUGH:
            producer[node.output[0]] = source(node)  # a bias, activation or reshape
            return
        elif op == "BatchNormalization":
            src_layer = source(node)
            if (
                src_layer in weights
                and layers[-1].name == src_layer
                and layers[-1].kind is LayerKind.CONV
            ):
                gamma, var = weight(node, 1), weight(node, 4)
                eps = float(attrs.get("epsilon", 1e-5))
                if not np.all(var + eps > 0) or not np.isfinite(gamma).all():
                    raise ConfigError(
                        f"{where}: variance + epsilon must be > 0 and scale "
                        f"finite to fold it into {src_layer}'s weights"
                    )
                scale = gamma / np.sqrt(var + eps)
                weights[src_layer] = weights[src_layer] * scale.reshape(-1, 1, 1, 1)
            producer[node.output[0]] = src_layer
            return
        else:
            raise ConfigError(
                f"{where}: operator {op} is not supported (supported: Conv, "
                f"Gemm, MatMul, pools, Add, BatchNormalization and "
                f"shape-preserving ops)"
            )
        if not node.output:
            raise ConfigError(f"{where}: has no output")
        layers.append(layer)
        producer[node.output[0]] = layer.name
        shape[layer.name] = layer.out_shape

    for node in graph.node:
        op = node.op_type
        where = f"{src}: node {node.name or (node.output[0] if node.output else '?')!r} ({op})"
        try:
            add(node, op, where)
        except ConfigError:
            raise
        except (ValueError, TypeError, KeyError, IndexError) as exc:  # attributes, shapes
            raise ConfigError(f"{where}: {exc}") from None
    network = Network(_safe(graph.name) or Path(src).stem, layers)
    check_shapes(network, src)
    return network, weights


def _geometry(where: str, attrs: dict) -> dict:
    """Layer keywords stride, pad (top, bottom, left, right) and dilation from a 2-D Conv or
    pool node's attributes; ONNX orders pads (top, left, bottom, right)."""
    strides = [int(s) for s in attrs.get("strides", [1, 1])]
    pads = [int(p) for p in attrs.get("pads", [0, 0, 0, 0])]
    dilations = [int(d) for d in attrs.get("dilations", [1, 1])]
    if attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise ConfigError(f"{where}: auto_pad is not supported; give pads explicitly")
    if (len(strides), len(pads), len(dilations)) != (2, 4, 2):
        raise ConfigError(
            f"{where}: strides {strides}, pads {pads}, dilations {dilations}: a 2-D layer "
            f"has 2 strides, 4 pads and 2 dilations"
        )
    top, left, bottom, right = pads
    return {
        "stride": tuple(strides),
        "pad": (top, bottom, left, right),
        "dilation": tuple(dilations),
    }


def _onnx_pads(layer: Layer) -> list[int]:
    top, bottom, left, right = layer.pad
    return [top, left, bottom, right]


def to_onnx(network: Network, weights: dict[str, np.ndarray]):
    """An ONNX model of the network with the given weights (layer name -> array)."""
    onnx, numpy_helper = _onnx()
    helper = onnx.helper
    nodes, inits = [], []
    first = network.layers[0]
    graph_input = helper.make_tensor_value_info(
        first.name, onnx.TensorProto.FLOAT, [1, first.in_c, first.in_h, first.in_w]
    )
    for layer in network.layers[1:]:
        srcs = list(layer.sources)
        if layer.kind is LayerKind.CONV:
            w = np.asarray(weights[layer.name], dtype=np.float32).reshape(
                layer.out_c, layer.channels_per_group, layer.k_h, layer.k_w
            )
            inits.append(numpy_helper.from_array(w, f"{layer.name}.weight"))
            nodes.append(
                helper.make_node(
                    "Conv",
                    [srcs[0], f"{layer.name}.weight"],
                    [layer.name],
                    name=layer.name,
                    strides=list(layer.stride),
                    pads=_onnx_pads(layer),
                    dilations=list(layer.dilation),
                    group=layer.groups,
                    kernel_shape=[layer.k_h, layer.k_w],
                )
            )
        elif layer.kind is LayerKind.FC:
            w = np.asarray(weights[layer.name], dtype=np.float32).reshape(layer.out_c, -1)
            inits.append(numpy_helper.from_array(w, f"{layer.name}.weight"))
            flat = f"{layer.name}.flat"
            nodes.append(helper.make_node("Flatten", [srcs[0]], [flat], name=flat))
            nodes.append(
                helper.make_node(
                    "Gemm", [flat, f"{layer.name}.weight"], [layer.name], name=layer.name, transB=1
                )
            )
        elif layer.kind is LayerKind.POOL:
            nodes.append(
                helper.make_node(
                    "MaxPool",
                    srcs,
                    [layer.name],
                    name=layer.name,
                    kernel_shape=[layer.k_h, layer.k_w],
                    strides=list(layer.stride),
                    pads=_onnx_pads(layer),
                )
            )
        elif layer.kind is LayerKind.ADD:
            nodes.append(helper.make_node("Add", srcs, [layer.name], name=layer.name))
        else:
            raise ConfigError(f"layer {layer.name}: kind {layer.kind} cannot be exported")
    last = network.layers[-1]
    dims = [1, last.out_c] if last.kind is LayerKind.FC else [1, *last.out_shape]
    output = helper.make_tensor_value_info(last.name, onnx.TensorProto.FLOAT, dims)
    graph = helper.make_graph(nodes, network.name, [graph_input], [output], inits)
    return helper.make_model(graph, producer_name="accelsim")
