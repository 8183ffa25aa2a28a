"""ONNX models out (the `accelsim[onnx]` extra): `to_onnx` writes a network and its weights,
so a shipped network makes the identical workload after a round trip through
`accelsim.workload.networks.onnx_import`, which reads real-world graphs in.
"""

from __future__ import annotations

import numpy as np

from accelsim.errors import ConfigError
from accelsim.workload.networks.layers import Layer, LayerKind, Network
from accelsim.workload.networks.onnx_import import onnx_modules


def _onnx_pads(layer: Layer) -> list[int]:
    top, bottom, left, right = layer.pad
    return [top, left, bottom, right]


def to_onnx(network: Network, weights: dict[str, np.ndarray]):
    """An ONNX model of the network with the given weights (layer name -> array)."""
    onnx, numpy_helper = onnx_modules()
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
