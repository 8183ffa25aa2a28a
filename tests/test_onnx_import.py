"""Importing real-world ONNX graphs: small graphs built here with onnx.helper, one per case
the importer handles (nothing downloaded). Shapes are checked against onnx's own reference
evaluator, weights against numpy."""

import numpy as np
import onnx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

from accelsim.errors import ConfigError
from accelsim.workload.networks.layers import LayerKind
from accelsim.workload.networks.onnx_import import import_onnx

RNG = np.random.default_rng(0)


def model(nodes, inits=(), shape=("N", 3, "H", "W"), name="g", outputs=("y",)):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))
    outs = [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs]
    inits = [numpy_helper.from_array(np.asarray(a, np.float32), n) for n, a in inits]
    graph = helper.make_graph(nodes, name, [x], outs, inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def save(tmp_path, m, name="m.onnx"):
    path = tmp_path / name
    onnx.save(m, path)
    return path


def weights(*shape):
    return RNG.normal(size=shape).astype(np.float32)


def run_shape(m, shape):
    """The output shape onnx's reference evaluator computes on a random input."""
    out = ReferenceEvaluator(m).run(None, {"x": RNG.normal(size=shape).astype(np.float32)})
    return out[0].shape


@settings(max_examples=40, deadline=None)
@given(
    k=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    pads=st.tuples(*[st.integers(0, 3)] * 4),
    auto=st.sampled_from(["NOTSET", "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"]),
    groups=st.sampled_from([1, 2]),
    size=st.tuples(st.integers(8, 12), st.integers(8, 12)),
)
def test_conv_geometry_gives_the_shape_onnx_computes(
    tmp_path_factory, k, stride, dilation, pads, auto, groups, size
):
    w = weights(4, 2 // groups, *k)
    extra = {"pads": list(pads)} if auto == "NOTSET" else {"auto_pad": auto}
    node = helper.make_node(
        "Conv", ["x", "w"], ["y"], name="c", strides=list(stride), dilations=list(dilation),
        group=groups, **extra,
    )  # fmt: skip
    m = model([node], [("w", w)], shape=("N", 2, "H", "W"))
    path = save(tmp_path_factory.mktemp("onnx"), m)
    imported = import_onnx(path, (2, *size))
    conv = imported.network.layer("c")
    assert (1, *conv.out_shape) == run_shape(m, (1, 2, *size))
    assert (
        conv.dense_macs == int(np.prod(run_shape(m, (1, 2, *size)))) * (2 // groups) * k[0] * k[1]
    )
    assert np.array_equal(imported.weights["c"], w)


def test_dynamic_input_needs_a_shape_and_a_given_shape_must_match_fixed_dims(tmp_path):
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="c")
    path = save(tmp_path, model([node], [("w", weights(4, 3, 3, 3))]))
    with pytest.raises(ConfigError, match=r"m.onnx: input 'x' has shape \['N', 3, 'H', 'W'\]"):
        import_onnx(path)
    assert import_onnx(path, (3, 16, 40)).network.layer("c").out_shape == (4, 14, 38)
    with pytest.raises(ConfigError, match=r"input_shape \[4, 16, 40\] does not match input 'x'"):
        import_onnx(path, (4, 16, 40))
    with pytest.raises(ConfigError, match=r"input_shape \[16, 40\] has 2 dimensions"):
        import_onnx(path, (16, 40))


def test_grouped_depthwise_rectangular_per_axis_and_1d_convs(tmp_path):
    nodes = [
        helper.make_node(
            "Conv", ["x", "w1"], ["a"], name="rect", strides=[2, 1], pads=[1, 0, 0, 2]
        ),
        helper.make_node("Conv", ["a", "dw"], ["b"], name="dw", group=8, pads=[1, 1, 1, 1]),
        helper.make_node("Conv", ["b", "g"], ["y"], name="grouped", group=2, dilations=[2, 2]),
    ]
    inits = [("w1", weights(8, 3, 3, 5)), ("dw", weights(8, 1, 3, 3)), ("g", weights(4, 4, 3, 3))]
    m = model(nodes, inits)
    imported = import_onnx(save(tmp_path, m), (3, 32, 100))
    rect, dw, grouped = imported.network.mac_layers
    assert (rect.stride, rect.pad, rect.out_shape) == ((2, 1), (1, 0, 0, 2), (8, 16, 98))
    assert (dw.groups, dw.sources, grouped.sources) == (8, ("rect",), ("dw",))
    assert (1, *grouped.out_shape) == run_shape(m, (1, 3, 32, 100))
    # a 1-D conv is a 2-D one on a single row
    one = model(
        [helper.make_node("Conv", ["x", "w"], ["y"], name="c1d", strides=[2], pads=[1, 2])],
        [("w", weights(6, 3, 5))],
        shape=(1, 3, 40),
    )
    layer = import_onnx(save(tmp_path, one, "one.onnx")).network.layer("c1d")
    assert (layer.k_h, layer.k_w, layer.in_h, layer.stride, layer.pad) == (
        1, 5, 1, (1, 2), (0, 0, 1, 2),
    )  # fmt: skip
    assert (1, layer.out_c, layer.out_w) == run_shape(one, (1, 3, 40))


def test_gemm_and_matmul_with_constant_weights_and_sequences(tmp_path):
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
        helper.make_node("Flatten", ["c"], ["f"], name="flat"),
        helper.make_node("Gemm", ["f", "fc1"], ["g"], name="fc1", transB=1),
        helper.make_node("MatMul", ["g", "fc2"], ["y"], name="fc2"),
    ]
    inits = [("w", weights(4, 3, 3, 3)), ("fc1", weights(10, 4 * 6 * 6)), ("fc2", weights(10, 7))]
    imported = import_onnx(save(tmp_path, model(nodes, inits)), (3, 8, 8))
    fc1, fc2 = imported.network.layer("fc1"), imported.network.layer("fc2")
    assert (fc1.kind, fc1.sources, fc1.in_c, fc1.out_c) == (LayerKind.FC, ("conv",), 144, 10)
    assert (fc2.sources, fc2.in_c, fc2.out_c) == (("fc1",), 10, 7)
    assert imported.weights["fc2"].shape == (7, 10)
    # a MatMul over a (1, T, K) sequence is the same fc at T positions: a 1x1 conv on a row
    seq = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv", strides=[8, 1]),
        helper.make_node("Squeeze", ["c", "axes"], ["s"], name="squeeze"),
        helper.make_node("Transpose", ["s"], ["t"], name="to_seq", perm=[0, 2, 1]),
        helper.make_node("MatMul", ["t", "proj"], ["y"], name="proj"),
    ]
    inits = [("w", weights(16, 3, 8, 3)), ("proj", weights(16, 37))]
    m = model(seq, inits)
    m.graph.initializer.append(numpy_helper.from_array(np.array([2], np.int64), "axes"))
    proj = import_onnx(save(tmp_path, m, "seq.onnx"), (3, 8, 50)).network.layer("proj")
    assert (proj.kind, proj.in_c, proj.in_h, proj.in_w, proj.out_c) == (
        LayerKind.CONV, 16, 1, 48, 37,
    )  # fmt: skip
    assert proj.dense_macs == 48 * 16 * 37


def const(name, array):
    value = numpy_helper.from_array(np.asarray(array, np.float32), name)
    return helper.make_node("Constant", [], [name], name=f"{name}.const", value=value)


def test_batchnorm_and_channel_scales_fold_and_constants_in_either_operand_order(tmp_path):
    w = weights(4, 3, 3, 3)
    gamma, var = np.array([1, 2, 3, 4], np.float32), np.array([3, 3, 3, 3], np.float32)
    scale = np.array([0.5, 1, 2, 4], np.float32).reshape(1, 4, 1, 1)
    nodes = [
        const("w", w), const("g", gamma), const("beta", np.zeros(4)), const("mu", np.zeros(4)),
        const("var", var), const("k", scale), const("half", [0.5]),
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
        helper.make_node("BatchNormalization", ["c", "g", "beta", "mu", "var"], ["bn"],
                         name="bn", epsilon=1.0),
        helper.make_node("Mul", ["k", "bn"], ["m"], name="scale"),  # constant first
        helper.make_node("Mul", ["half", "m"], ["h"], name="half_mul"),
        helper.make_node("Sub", ["half", "h"], ["s"], name="sub_from_constant"),
        helper.make_node("Conv", ["s", "w2"], ["y"], name="conv2"),
    ]  # fmt: skip
    imported = import_onnx(save(tmp_path, model(nodes, [("w2", weights(2, 4, 1, 1))])), (3, 8, 8))
    folded = w * (gamma / np.sqrt(var + 1.0)).reshape(-1, 1, 1, 1) * scale.reshape(-1, 1, 1, 1)
    assert np.allclose(imported.weights["conv"], folded * 0.5)
    assert dict(imported.folded) == {"BatchNormalization": 1, "Mul": 2}
    assert dict(imported.passed) == {"Sub": 1}
    assert imported.network.layer("conv2").sources == ("conv",)


def test_a_batchnorm_whose_input_is_read_twice_is_not_folded(tmp_path):
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c", "g", "b", "b", "g"], ["bn"], name="bn"),
        helper.make_node("Add", ["bn", "c"], ["y"], name="join"),
    ]
    inits = [("w", weights(3, 3, 3, 3)), ("g", np.full(3, 4.0)), ("b", np.zeros(3))]
    imported = import_onnx(save(tmp_path, model(nodes, inits)), (3, 8, 8))
    assert dict(imported.folded) == {} and dict(imported.passed) == {"BatchNormalization": 1}
    assert imported.network.layer("join").sources == ("conv", "conv")


def test_a_feature_pyramid_keeps_concat_resize_split_and_add_as_edges(tmp_path):
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], name="c1", pads=[1, 1, 1, 1]),
        helper.make_node("Conv", ["c1", "w2"], ["c2"], name="c2", strides=[2, 2], pads=[1] * 4),
        helper.make_node("Resize", ["c2", "", "scales"], ["up"], name="up", mode="nearest"),
        helper.make_node("Concat", ["c1", "up"], ["cat"], name="cat", axis=1),
        helper.make_node("Split", ["cat", "halves"], ["s1", "s2"], name="split", axis=1),
        helper.make_node("Conv", ["s1", "w3"], ["p1"], name="p1"),
        helper.make_node("Conv", ["s2", "w3"], ["p2"], name="p2"),
        helper.make_node("Add", ["p1", "p2"], ["y"], name="join"),
    ]
    inits = [
        ("w1", weights(8, 3, 3, 3)),
        ("w2", weights(8, 8, 3, 3)),
        ("w3", weights(4, 8, 1, 1)),
        ("scales", [1, 1, 2, 2]),
    ]
    m = model(nodes, inits)
    m.graph.initializer.append(numpy_helper.from_array(np.array([8, 8], np.int64), "halves"))
    imported = import_onnx(save(tmp_path, m), (3, 16, 16))
    net = imported.network
    assert [l.name for l in net.mac_layers] == ["c1", "c2", "p1", "p2"]
    p1 = net.layer("p1")
    assert (p1.sources, p1.in_c, p1.in_h) == ((), 8, 16)  # fed by Split: outside the model
    assert net.layer("join").sources == ("p1", "p2")
    assert dict(imported.passed) == {"Concat": 1, "Resize": 1, "Split": 1}
    assert (1, *net.layer("join").out_shape) == run_shape(m, (1, 3, 16, 16))


def test_no_mac_nodes_pass_through_and_unmodelled_macs_are_listed(tmp_path):
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[0, 0, 1, 1]),
        helper.make_node("HardSwish", ["c"], ["a"], name="hs"),
        helper.make_node("Clip", ["a", "lo", "hi"], ["b"], name="clip"),
        helper.make_node("Sigmoid", ["b"], ["sg"], name="sig"),
        helper.make_node("Pad", ["sg", "pads"], ["p"], name="pad"),
        helper.make_node("Slice", ["p", "starts", "ends", "axes"], ["sl"], name="slice"),
        helper.make_node("ReduceMean", ["sl"], ["rm"], name="se_pool", axes=[2, 3], keepdims=1),
        helper.make_node("Mul", ["sl", "rm"], ["se"], name="se_scale"),
        helper.make_node("Shape", ["se"], ["shape"], name="shape"),
        helper.make_node("Gather", ["shape", "one"], ["ch"], name="gather", axis=0),
        helper.make_node("Unsqueeze", ["ch", "zero"], ["ch1"], name="unsq"),
        helper.make_node("Concat", ["minus1", "ch1"], ["new"], name="cat_shape", axis=0),
        helper.make_node("Transpose", ["se"], ["t"], name="tr", perm=[0, 2, 3, 1]),
        helper.make_node("Reshape", ["t", "new"], ["r"], name="reshape"),
        helper.make_node("MatMul", ["r", "proj"], ["q"], name="q"),
        helper.make_node("Transpose", ["q"], ["qt"], name="qt", perm=[1, 0]),
        helper.make_node("MatMul", ["q", "qt"], ["att"], name="attention"),
        helper.make_node("Softmax", ["att"], ["y"], name="softmax"),
    ]
    ints = {
        "pads": [0, 0, 1, 1, 0, 0, 1, 1], "starts": [1, 1], "ends": [-1, -1], "axes": [2, 3],
        "one": 1, "zero": [0], "minus1": [-1],
    }  # fmt: skip
    m = model(nodes, [("w", weights(6, 3, 3, 3)), ("lo", 0), ("hi", 6), ("proj", weights(6, 5))])
    for name, value in ints.items():
        m.graph.initializer.append(numpy_helper.from_array(np.array(value, np.int64), name))
    imported = import_onnx(save(tmp_path, m), (3, 8, 8))
    assert [(l.name, l.kind.value) for l in imported.network.layers] == [
        ("x", "input"),
        ("conv", "conv"),
        ("q", "conv"),  # (49, 6) @ (6, 5): the fc at 7 x 7 positions
    ]
    q = imported.network.layer("q")
    assert (q.in_c, q.in_w, q.out_c) == (6, 49, 5)
    assert dict(imported.not_simulated) == {"MatMul": 1}
    passed = dict(imported.passed)
    for op in ("HardSwish", "Clip", "Sigmoid", "Pad", "Slice", "ReduceMean", "Mul", "Shape"):
        assert passed[op] == 1, op
    assert "Gather" not in passed  # arithmetic on shapes only


def test_constant_arithmetic_on_weights_and_what_is_not_simulated(tmp_path):
    w = weights(3, 3, 3, 4)  # stored (out, in, w, h): transposed to (out, in, h, w) in the graph
    nodes = [
        helper.make_node("Transpose", ["wt"], ["w"], name="wT", perm=[0, 1, 3, 2]),
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
        helper.make_node("ConvTranspose", ["c", "up"], ["y"], name="deconv", strides=[2, 2]),
    ]  # a 3x3 kernel at stride 2: neighbouring pixels' products overlap, not a 1x1 conv
    imported = import_onnx(
        save(tmp_path, model(nodes, [("wt", w), ("up", weights(3, 2, 3, 3))])), (3, 8, 8)
    )
    assert np.array_equal(imported.weights["conv"], w.transpose(0, 1, 3, 2))
    assert dict(imported.not_simulated) == {"ConvTranspose": 1}
    lines = imported.summary()
    assert lines[0] == "input 3x8x8; kept 1 layers (1 conv) from Conv 1"
    assert lines[3] == "not simulated (MACs accelsim does not model): ConvTranspose 1"


def test_a_conv_transpose_whose_kernel_is_its_stride_is_the_1x1_conv_it_computes(tmp_path):
    """Each input pixel's products fill their own 2x3 block of outputs: the kept 1x1 conv
    (a filter per output channel and kernel position) and a depth-to-space give exactly
    onnx's own output, with the BatchNorm after it folded per output channel."""
    up, gamma, var = weights(4, 5, 2, 3), np.array([1, 2, 3, 4, 5], np.float32), np.ones(5)
    nodes = [
        helper.make_node("ConvTranspose", ["x", "up"], ["t"], name="up", strides=[2, 3]),
        helper.make_node("BatchNormalization", ["t", "g", "z", "z", "var"], ["y"], name="bn"),
        helper.make_node("Conv", ["y", "w"], ["out"], name="head"),
    ]
    inits = [("up", up), ("g", gamma), ("z", np.zeros(5)), ("var", var), ("w", weights(1, 5, 1, 1))]
    m = model(nodes, inits, shape=(1, 4, 6, 7), outputs=("y",))
    imported = import_onnx(save(tmp_path, m), None)
    layer = imported.network.layer("up")
    assert (layer.kind, layer.in_c, layer.in_h, layer.in_w) == (LayerKind.CONV, 4, 6, 7)
    assert (layer.out_c, layer.k_h, layer.k_w, layer.weights) == (30, 1, 1, up.size)
    assert layer.dense_macs == 6 * 7 * up.size  # every input pixel times every weight
    head = imported.network.layer("head")
    assert (head.sources, head.in_c, head.in_h, head.in_w) == ((), 5, 12, 21)
    assert dict(imported.kept) == {"Conv": 1, "ConvTranspose": 1}
    assert dict(imported.folded) == {"BatchNormalization": 1} and not imported.not_simulated
    x = RNG.normal(size=(1, 4, 6, 7)).astype(np.float32)
    want = ReferenceEvaluator(m).run(None, {"x": x})[0][0]
    z = np.einsum("fc,chw->fhw", imported.weights["up"][:, :, 0, 0], x[0])
    got = z.reshape(5, 2, 3, 6, 7).transpose(0, 3, 1, 4, 2).reshape(5, 12, 21)
    assert np.allclose(got, want, atol=1e-3)


def pruned_model(tmp_path):
    """A small pruned graph with a dynamic input: rectangular strides, a folded
    BatchNorm, a depthwise conv, a skip Add and a classifier."""
    w1 = weights(8, 3, 3, 5)
    w1[np.abs(w1) < 0.8] = 0
    fc = weights(10, 8)
    fc[:, ::2] = 0
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["a"], name="rect", strides=[2, 1], pads=[1, 0, 0, 2]),
        helper.make_node("BatchNormalization", ["a", "g", "z", "z", "g"], ["bn"], name="bn"),
        helper.make_node("Relu", ["bn"], ["r"], name="relu"),
        helper.make_node("Conv", ["r", "dw"], ["b"], name="dw", group=8, pads=[1, 1, 1, 1]),
        helper.make_node("Add", ["b", "r"], ["s"], name="skip"),
        helper.make_node("GlobalAveragePool", ["s"], ["p"], name="gap"),
        helper.make_node("Flatten", ["p"], ["f"], name="flat"),
        helper.make_node("Gemm", ["f", "fc"], ["y"], name="fc", transB=1),
    ]  # fmt: skip
    inits = [("w1", w1), ("g", np.full(8, 4.0)), ("z", np.zeros(8)), ("dw", weights(8, 1, 3, 3))]
    return save(tmp_path, model(nodes, [*inits, ("fc", fc)]))


def test_accelsim_import_writes_a_workload_that_runs_like_the_onnx_scenario(tmp_path, capsys):
    from accelsim.cli import main
    from accelsim.engine.assemble import simulate
    from accelsim.pipeline import run_scenario
    from accelsim.policies import load_policy
    from accelsim.scenario import load_scenario
    from accelsim.workload.jobs import build_jobs

    path = pruned_model(tmp_path)
    assert (
        main(["import", str(path), "--input-shape", "3,32,100", "--out", str(tmp_path / "w")]) == 0
    )
    printed = capsys.readouterr().out
    assert (
        "kept 5 layers (1 add, 2 conv, 1 fc, 1 pool) from Add 1, Conv 2, Gemm 1, GlobalAveragePool 1"
        in printed
    )
    assert "folded into the weights before them: BatchNormalization 1" in printed
    assert "passed through (no MACs): Flatten 1, Relu 1" in printed
    hw = "[hardware]\npe_rows = 2\npe_cols = 2\n[mapping]\ntile_h = 4\ntile_w = 8\n"
    (tmp_path / "imported.toml").write_text(
        f"[workload]\nnetwork = 'w/m.csv'\n[pruning]\nmeasured = 'w/m.npz'\n{hw}"
    )
    (tmp_path / "direct.toml").write_text(
        "[workload]\nnetwork = 'm.onnx'\ninput_shape = [3, 32, 100]\n"
        f"[pruning]\nweights = 'm.onnx'\n{hw}"
    )
    imported, direct = (load_scenario(tmp_path / f"{n}.toml") for n in ("imported", "direct"))
    a, b = imported.pruned(), direct.pruned()
    assert [p.filter_nnz.tolist() for p in a.layers] == [p.filter_nnz.tolist() for p in b.layers]
    assert a.layers[0].nnz == int((np.abs(weights_of(path, "w1")) >= 0.8).sum())
    # the scenario the import writes beside them runs the same workload: the README's third line
    assert f"run it: accelsim run {tmp_path / 'w' / 'm.toml'}" in printed
    written = load_scenario(tmp_path / "w" / "m.toml")
    assert written.network == imported.network
    assert [p.kernel_nnz().tolist() for p in written.pruned().layers] == [
        p.kernel_nnz().tolist() for p in a.layers
    ]
    outcome = run_scenario(imported, baselines=False)
    assert outcome.result.executed_macs == a.pruned_macs
    # both engines agree on the rectangular, asymmetrically padded layers
    jobs = build_jobs(a, imported.mapping, imported.hardware)
    policy = load_policy("lpt")
    ref = simulate(jobs, imported.hardware, policy, engine="simpy")
    auto = simulate(jobs, imported.hardware, policy, engine="auto")
    assert [l.cycles for l in ref.layers] == [l.cycles for l in auto.layers]


def weights_of(path, name):
    return next(
        numpy_helper.to_array(t) for t in onnx.load(path).graph.initializer if t.name == name
    )


@pytest.mark.parametrize(
    "line, message",
    [
        ("input_shape = [3, 32]\nnetwork = 'w.csv'", r"input_shape = \[3, 32\] has no effect"),
        ("input_shape = [3, 0, 8]\nnetwork = 'm.onnx'", r"input_shape = \[3, 0, 8\]: must be"),
        ("input_shape = '3,8,8'\nnetwork = 'm.onnx'", r"input_shape = '3,8,8': must be"),
        (
            "network = 'm.onnx'",
            r"network: .*m.onnx: input 'x' has shape \['N', 3, 'H', 'W'\]: give",
        ),
    ],
)
def test_a_bad_input_shape_is_one_line(tmp_path, line, message):
    from accelsim.scenario import load_scenario

    pruned_model(tmp_path)
    (tmp_path / "s.toml").write_text(f"[workload]\n{line}\n[pruning]\ndense = true\n")
    with pytest.raises(ConfigError, match=r"s.toml: \[workload\] " + message):
        load_scenario(tmp_path / "s.toml")


def test_quantized_convs_and_products_hold_their_integer_weights_less_the_zero_point(tmp_path):
    """ConvInteger and MatMulInteger (onnxruntime's dynamic quantization) are kept: a
    weight equal to its zero point is a zero, per output channel where the zero point is."""
    w = RNG.integers(0, 4, size=(4, 3, 3, 3)).astype(np.uint8)
    zp = np.array([0, 1, 2, 3], np.uint8)
    mat = RNG.integers(0, 3, size=(4, 5)).astype(np.uint8)
    nodes = [
        helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"], name="q"),
        helper.make_node("ConvInteger", ["xq", "w", "xz", "wz"], ["ci"], name="conv"),
        helper.make_node("Cast", ["ci"], ["cf"], name="cast", to=TensorProto.FLOAT),
        helper.make_node("Mul", ["cf", "xs"], ["c"], name="dequant"),
        helper.make_node("GlobalAveragePool", ["c"], ["p"], name="gap"),
        helper.make_node("Flatten", ["p"], ["f"], name="flat"),
        helper.make_node("DynamicQuantizeLinear", ["f"], ["fq", "fs", "fz"], name="q2"),
        helper.make_node("MatMulInteger", ["fq", "mat", "fz", "mz"], ["mi"], name="fc"),
        helper.make_node("Cast", ["mi"], ["y"], name="cast2", to=TensorProto.FLOAT),
    ]
    m = model(nodes)
    for name, value in (("w", w), ("wz", zp), ("mat", mat), ("mz", np.uint8(1))):
        m.graph.initializer.append(numpy_helper.from_array(np.asarray(value), name))
    imported = import_onnx(save(tmp_path, m), (3, 6, 6))
    assert dict(imported.kept) == {"ConvInteger": 1, "GlobalAveragePool": 1, "MatMulInteger": 1}
    assert np.array_equal(imported.weights["conv"], w - zp.reshape(-1, 1, 1, 1).astype(np.float32))
    assert np.array_equal(imported.weights["fc"], (mat.astype(np.float32) - 1).T)
    assert imported.network.layer("fc").sources == ("gap",)


def test_a_bias_add_keeps_the_layer_for_the_batchnorm_after_it(tmp_path):
    w = weights(4, 3, 1, 1)
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
        helper.make_node("Add", ["bias", "c"], ["cb"], name="bias"),  # constant first
        helper.make_node("BatchNormalization", ["cb", "g", "z", "z", "g"], ["bn"], name="bn"),
        helper.make_node("Sub", ["bn", "bias"], ["y"], name="shift"),
    ]
    inits = [("w", w), ("bias", np.ones((4, 1, 1))), ("g", np.full(4, 4.0)), ("z", np.zeros(4))]
    imported = import_onnx(save(tmp_path, model(nodes, inits)), (3, 5, 5))
    assert dict(imported.folded) == {"Add": 1, "BatchNormalization": 1, "Sub": 1}
    assert np.allclose(imported.weights["conv"], w * 4 / np.sqrt(4 + 1e-5))


def test_shapes_inference_leaves_open_are_computed_from_shape_nodes_and_recurrent_cells(
    tmp_path,
):
    """After an LSTM, ONNX shape inference gives up; the walk follows the Transpose and the
    Reshape to a shape computed by Shape, Gather, Div, Unsqueeze and Concat to the
    classifier."""
    hidden = 6
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv", strides=[4, 1]),  # (1,4,1,W)
        helper.make_node("Squeeze", ["c", "two"], ["s"], name="sq"),  # (1, 4, W)
        helper.make_node("Transpose", ["s"], ["t"], name="seq", perm=[2, 0, 1]),  # (W, 1, 4)
        helper.make_node("LSTM", ["t", "wi", "ri"], ["h"], name="lstm", hidden_size=hidden),
        helper.make_node("Shape", ["h"], ["hs"], name="shape"),
        helper.make_node("Gather", ["hs", "zero"], ["steps"], name="steps"),
        helper.make_node("Div", ["steps", "one"], ["per"], name="div"),  # inference stops
        helper.make_node("Unsqueeze", ["per", "zeros"], ["steps1"], name="unsq"),
        helper.make_node("Concat", ["steps1", "minus1"], ["new"], name="cat", axis=0),
        helper.make_node("Reshape", ["h", "new"], ["r"], name="reshape"),  # (W, 6)
        helper.make_node("Gemm", ["r", "fc"], ["y"], name="fc", transB=1),
    ]
    m = model(nodes, [("w", weights(4, 3, 4, 3)), ("wi", weights(1, 4 * hidden, 4))])
    ints = {"two": [2], "zero": 0, "one": 1, "zeros": [0], "minus1": [-1]}
    for name, value in ints.items():
        m.graph.initializer.append(numpy_helper.from_array(np.array(value, np.int64), name))
    m.graph.initializer.append(numpy_helper.from_array(weights(1, 4 * hidden, hidden), "ri"))
    m.graph.initializer.append(numpy_helper.from_array(weights(5, hidden), "fc"))
    imported = import_onnx(save(tmp_path, m), (3, 4, 12))
    fc = imported.network.layer("fc")
    assert (fc.kind, fc.in_c, fc.in_w, fc.out_c) == (LayerKind.CONV, hidden, 10, 5)
    assert run_shape(m, (1, 3, 4, 12)) == (10, 5)
    assert dict(imported.not_simulated) == {"LSTM": 1}


@pytest.mark.parametrize(
    "stem", ["plain", 'quote"d', "back\\slash", "del\x7fete", "tab\tbed", "naïve"]
)
def test_the_written_scenario_names_its_files_whatever_their_names(stem, tmp_path):
    import tomllib

    from accelsim.workload.importer import scenario_text

    text = scenario_text(
        tmp_path / f"{stem}.onnx", tmp_path / f"{stem}.csv", tmp_path / f"{stem}.npz"
    )
    data = tomllib.loads(text)
    assert data == {"workload": {"network": f"{stem}.csv"}, "pruning": {"measured": f"{stem}.npz"}}
