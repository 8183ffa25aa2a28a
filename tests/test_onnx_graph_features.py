"""What held-out real ONNX files carry beyond a plain CNN, one small graph each, built here
with onnx.helper: state and rate inputs beside the data, raw audio (N, L), If subgraphs, a
zero Pad before a Conv, channels-last (NHWC) images, QDQ int8 weights, W @ x products,
Gemm's transA, fp16 weights, external data and the operators of early opsets. MACs are
checked against shapes onnx's reference evaluator computes."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator
from test_onnx_import import const, model, save, weights

from accelsim.errors import ConfigError
from accelsim.workload.networks import onnx_import
from accelsim.workload.networks.layers import LayerKind
from accelsim.workload.networks.onnx_import import import_onnx

RNG = np.random.default_rng(1)


def ints(m, **values):
    for name, value in values.items():
        m.graph.initializer.append(numpy_helper.from_array(np.array(value, np.int64), name))
    return m


def audio_model(nodes, inits=(), extra_inputs=()):
    """(batch, samples) audio with a state (2, batch, 8) and a sample rate after it, the
    order Silero-style exports list them in."""
    m = model(nodes, inits, shape=("batch", "samples"))
    state = helper.make_tensor_value_info("state", TensorProto.FLOAT, [2, "batch", 8])
    sr = helper.make_tensor_value_info("sr", TensorProto.INT64, [])
    m.graph.input.extend([state, sr, *extra_inputs])
    return m


def test_audio_samples_with_state_and_rate_inputs_import_with_one_length(tmp_path):
    nodes = [
        helper.make_node("Unsqueeze", ["x", "one"], ["u"], name="unsq"),
        helper.make_node("Conv", ["u", "stft"], ["c"], name="stft", strides=[4]),
        helper.make_node("Gather", ["state", "zero"], ["h"], name="h0", axis=0),
        helper.make_node("Relu", ["c"], ["y"], name="relu"),
    ]
    m = ints(audio_model(nodes, [("stft", weights(6, 1, 8))]), one=[1], zero=0)
    path = save(tmp_path, m)
    with pytest.raises(
        ConfigError, match=r"input 'x' has shape \['batch', 'samples'\]: .*--input-shape L[,)]"
    ):
        import_onnx(path)
    imported = import_onnx(path, (64,))
    conv = imported.network.layer("stft")
    assert imported.input_shape == (64,)
    assert imported.summary()[0].startswith("input 64; kept 1 layers (1 conv)")
    assert (conv.in_c, conv.in_h, conv.in_w, conv.out_c, conv.out_w) == (1, 1, 64, 6, 15)
    assert conv.sources == ("x",) and imported.network.layer("x").out_shape == (1, 1, 64)
    state = np.zeros((2, 1, 8), np.float32)
    out = ReferenceEvaluator(m).run(
        None, {"x": RNG.normal(size=(1, 64)).astype(np.float32), "state": state, "sr": 16000}
    )[0]
    assert conv.dense_macs == out.shape[1] * out.shape[2] * 8


def test_no_data_input_is_one_line(tmp_path):
    m = model([helper.make_node("Relu", ["x"], ["y"])], shape=[4])
    with pytest.raises(
        ConfigError, match=r"m.onnx: expected an image input .*got \[\('x', \[4\]\)\]"
    ):
        import_onnx(save(tmp_path, m))


def branch(name, nodes, inits=(), out="b"):
    inits = [numpy_helper.from_array(np.asarray(a, np.float32), n) for n, a in inits]
    outs = [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)]
    return helper.make_graph(nodes, name, [], outs, inits)


def if_model():
    """A rate-selected model (If on the sr input: then 16 kHz, else 8 kHz), and inside the
    16 kHz one an If on the input's rank, known once the shape is fixed."""
    squeeze = branch("squeeze", [helper.make_node("Identity", ["c16"], ["sq"])], out="sq")
    keep = branch("keep", [helper.make_node("Unsqueeze", ["c16", "one"], ["kp"])], out="kp")
    rank = [
        helper.make_node("Shape", ["c16"], ["s"]),
        helper.make_node("Size", ["s"], ["n"]),
        helper.make_node("Equal", ["n", "three"], ["is3"]),
        helper.make_node("Not", ["is3"], ["not3"]),
        helper.make_node(
            "If", ["not3"], ["b16"], name="rank", then_branch=keep, else_branch=squeeze
        ),
    ]
    then = branch(
        "k16",
        [helper.make_node("Conv", ["u", "w16"], ["c16"], name="conv16", strides=[2]), *rank],
        [("w16", weights(4, 1, 5))],
        out="b16",
    )
    other = branch(
        "k8",
        [helper.make_node("Conv", ["u", "w8"], ["b8"], name="conv8")],
        [("w8", weights(3, 1, 3))],
        out="b8",
    )
    nodes = [
        helper.make_node("Unsqueeze", ["x", "one"], ["u"], name="unsq"),
        helper.make_node("Equal", ["sr", "rate"], ["is16k"], name="is16k"),
        helper.make_node("If", ["is16k"], ["b"], name="by_rate", then_branch=then, else_branch=other),
        helper.make_node("Relu", ["b"], ["y"], name="relu"),
    ]  # fmt: skip
    return ints(audio_model(nodes), one=[1], three=3, rate=16000)


def test_if_subgraphs_are_inlined_on_the_branch_they_take(tmp_path):
    """The rate If's condition is known only at run time: its then branch is walked and the
    summary says so; the inner If's condition (the rank, 3) is a constant: else branch."""
    m = if_model()
    imported = import_onnx(save(tmp_path, m), (40,))
    conv = imported.network.layer("conv16")
    assert [l.name for l in imported.network.mac_layers] == ["conv16"]
    assert (conv.in_w, conv.out_c, conv.out_w, conv.stride) == (40, 4, 18, (1, 2))
    assert conv.sources == ("x",)
    assert imported.branches == (
        "If 'by_rate': then branch (condition known only at run time)",
        "If 'rank': else branch (condition is False)",
    )
    assert imported.summary()[-1].startswith("subgraphs inlined: If 'by_rate': then branch")
    # the inlined graph computes what the If graph computes at 16 kHz
    flat = onnx_import._inlined(
        onnx, onnx_import._inlined(onnx, m, 2, "then_branch"), 7, "else_branch"
    )
    assert not any(n.op_type == "If" for n in flat.graph.node)
    feed = {
        "x": RNG.normal(size=(1, 40)).astype(np.float32),
        "state": np.zeros((2, 1, 8), np.float32),
    }
    want = ReferenceEvaluator(m).run(None, {**feed, "sr": np.array(16000)})[0]
    got = ReferenceEvaluator(flat).run(None, {**feed, "sr": np.array(16000)})[0]
    assert np.array_equal(want, got) and want.shape == (1, 4, 18)


def test_if_beyond_the_inlining_limit_is_listed_not_simulated(tmp_path, monkeypatch):
    monkeypatch.setattr(onnx_import, "MAX_INLINED", 0)
    with pytest.raises(ConfigError, match=r"nothing to simulate \(not simulated: If 1\)"):
        import_onnx(save(tmp_path, if_model()), (40,))


def test_a_zero_pad_before_a_conv_is_its_padding_and_keeps_the_edge(tmp_path):
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["a"], name="c1"),
        helper.make_node(
            "Pad", ["a", "pads"], ["p"], name="pad"
        ),  # top 1, left 2, bottom 3, right 0
        helper.make_node("Conv", ["p", "w2"], ["y"], name="c2", strides=[2, 2]),
    ]
    m = ints(
        model(nodes, [("w1", weights(4, 3, 1, 1)), ("w2", weights(5, 4, 3, 3))]),
        pads=[0, 0, 1, 2, 0, 0, 3, 0],
    )
    imported = import_onnx(save(tmp_path, m), (3, 9, 10))
    c2 = imported.network.layer("c2")
    assert c2.sources == ("c1",) and c2.pad == (1, 3, 2, 0)
    out = ReferenceEvaluator(m).run(None, {"x": RNG.normal(size=(1, 3, 9, 10)).astype(np.float32)})[
        0
    ]
    assert (1, *c2.out_shape) == out.shape
    # reflect padding is not zeros: the Pad stays a node, the conv reads its output as given
    m.graph.node[1].attribute.append(helper.make_attribute("mode", "reflect"))
    c2 = import_onnx(save(tmp_path, m, "reflect.onnx"), (3, 9, 10)).network.layer("c2")
    assert c2.sources == () and c2.pad == (0, 0, 0, 0) and (c2.in_h, c2.in_w) == (13, 12)


def test_a_channels_last_image_transposed_before_the_first_conv(tmp_path):
    """Keras and tf2onnx exports take (N, H, W, C) and transpose it: the input layer is the
    (C, H, W) image the first conv reads; a residual Add of channels-last maps joins the
    convs before it."""
    nodes = [
        helper.make_node("Transpose", ["x"], ["t"], name="to_nchw", perm=[0, 3, 1, 2]),
        helper.make_node("Conv", ["t", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Transpose", ["c"], ["a"], name="a", perm=[0, 2, 3, 1]),
        helper.make_node("Transpose", ["a"], ["t2"], name="t2", perm=[0, 3, 1, 2]),
        helper.make_node("Conv", ["t2", "w2"], ["c2"], name="conv2", pads=[1, 1, 1, 1]),
        helper.make_node("Transpose", ["c2"], ["b"], name="b", perm=[0, 2, 3, 1]),
        helper.make_node("Add", ["a", "b"], ["y"], name="join"),
    ]
    inits = [("w", weights(8, 3, 3, 3)), ("w2", weights(8, 8, 3, 3))]
    imported = import_onnx(save(tmp_path, model(nodes, inits, shape=("N", 12, 16, 3))))
    net = imported.network
    assert imported.input_shape == (12, 16, 3)
    assert net.layer("x").out_shape == (3, 12, 16)
    assert net.layer("conv").sources == ("x",) and net.layer("conv2").sources == ("conv",)
    join = net.layer("join")
    assert (join.kind, join.sources, join.out_shape) == (
        LayerKind.ADD, ("conv", "conv2"), (8, 12, 16),
    )  # fmt: skip
    # padded channels-last, then transposed: the conv reads a larger map, the input is C, H, W
    padded = [
        helper.make_node("Pad", ["x", "pads"], ["p"], name="pad_hw"),
        helper.make_node("Transpose", ["p"], ["t"], name="to_nchw", perm=[0, 3, 1, 2]),
        helper.make_node("Conv", ["t", "w"], ["y"], name="conv"),
    ]
    m = ints(model(padded, inits[:1], shape=("N", 12, 16, 3)), pads=[0, 1, 1, 0, 0, 1, 1, 0])
    net = import_onnx(save(tmp_path, m, "padded.onnx")).network
    assert net.layer("x").out_shape == (3, 12, 16)
    assert (net.layer("conv").in_h, net.layer("conv").in_w) == (14, 18)


def test_qdq_int8_weights_dequantize_per_channel_with_their_zeros(tmp_path):
    q = RNG.integers(-8, 8, size=(4, 3, 3, 3)).astype(np.int8)
    zero = np.array([0, 1, -2, 3], np.int8)
    scale = np.array([0.5, 0.25, 2.0, 1.0], np.float32)
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"], name="q_in"),
        helper.make_node("DequantizeLinear", ["xq", "xs", "xz"], ["xd"], name="dq_in"),
        helper.make_node("DequantizeLinear", ["wq", "ws", "wz"], ["w"], name="dq_w", axis=0),
        helper.make_node("Conv", ["xd", "w"], ["y"], name="conv"),
    ]
    m = model(nodes, [("xs", 0.1), ("ws", scale)])
    m.graph.initializer.extend([
        numpy_helper.from_array(q, "wq"), numpy_helper.from_array(zero, "wz"),
        numpy_helper.from_array(np.array(0, np.uint8), "xz"),
    ])  # fmt: skip
    imported = import_onnx(save(tmp_path, m), (3, 8, 8))
    want = (q.astype(np.float32) - zero.reshape(-1, 1, 1, 1)) * scale.reshape(-1, 1, 1, 1)
    assert np.array_equal(imported.weights["conv"], want)
    assert (
        int((imported.weights["conv"] == 0).sum())
        == int((q == zero.reshape(-1, 1, 1, 1)).sum())
        > 0
    )
    assert dict(imported.kept) == {"Conv": 1} and dict(imported.not_simulated) == {}
    # opset 21's blocks: a scale per 2 input channels of each filter
    blocked = onnx_import._dequantized(
        q[:, :2], np.full((4, 1, 3, 3), 0.5), None, {"axis": 1, "block_size": 2}
    )
    assert np.array_equal(blocked, q[:, :2].astype(np.float32) * 0.5)


def test_weight_first_matmul_and_gemm_trans_a_are_kept(tmp_path):
    """W @ x over a (1, K, T) sequence (FSMN, conformer feed-forwards) is a 1x1 conv of K
    channels at T positions; Gemm(transA) reads its data operand (K, M) transposed."""
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),  # (1, 6, 1, 20)
        helper.make_node("Squeeze", ["c", "two"], ["s"], name="sq"),  # (1, 6, 20)
        helper.make_node("MatMul", ["proj", "s"], ["p"], name="wx"),  # (5, 6) @ -> (1, 5, 20)
        helper.make_node("ReduceMean", ["p"], ["r"], name="mean", axes=[2], keepdims=0),  # (1, 5)
        helper.make_node("Transpose", ["r"], ["rt"], name="rt", perm=[1, 0]),  # (5, 1)
        helper.make_node("Gemm", ["rt", "fc"], ["y"], name="fc", transA=1, transB=1),  # (1, 7)
    ]
    m = ints(
        model(nodes, [("w", weights(6, 3, 1, 1)), ("proj", weights(5, 6)), ("fc", weights(7, 5))]),
        two=[2],
    )
    imported = import_onnx(save(tmp_path, m), (3, 1, 20))
    wx, fc = imported.network.layer("wx"), imported.network.layer("fc")
    assert (wx.kind, wx.in_c, wx.in_w, wx.out_c, wx.sources) == (
        LayerKind.CONV,
        6,
        20,
        5,
        ("conv",),
    )
    assert wx.dense_macs == 5 * 6 * 20
    assert np.array_equal(imported.weights["wx"][:, :, 0, 0], m_init(m, "proj"))
    assert (fc.kind, fc.in_c, fc.out_c) == (LayerKind.FC, 5, 7)
    assert np.array_equal(imported.weights["fc"], m_init(m, "fc"))
    out = ReferenceEvaluator(m).run(None, {"x": RNG.normal(size=(1, 3, 1, 20)).astype(np.float32)})[
        0
    ]
    assert out.shape == (1, 7)


def m_init(m, name):
    return next(numpy_helper.to_array(t) for t in m.graph.initializer if t.name == name)


def test_fp16_weights_cast_to_float_and_external_data(tmp_path):
    w = weights(4, 3, 3, 3)
    nodes = [
        helper.make_node("Cast", ["w16"], ["w"], name="to_float", to=TensorProto.FLOAT),
        helper.make_node("Conv", ["x", "w"], ["y"], name="conv"),
    ]
    m = model(nodes)
    m.graph.initializer.append(numpy_helper.from_array(w.astype(np.float16), "w16"))
    folder = tmp_path / "ext"
    folder.mkdir()
    onnx.save(m, folder / "m.onnx", save_as_external_data=True, location="m.data", size_threshold=0)
    imported = import_onnx(folder / "m.onnx", (3, 8, 8))
    assert np.array_equal(imported.weights["conv"], w.astype(np.float16).astype(np.float32))
    (folder / "m.data").unlink()
    with pytest.raises(ConfigError, match=r"m.onnx: not a readable ONNX model: .*m.data"):
        import_onnx(folder / "m.onnx", (3, 8, 8))


def test_where_inference_gives_up_the_walk_computes_the_same_shapes(tmp_path, monkeypatch):
    """Opset 7's Upsample (scales an attribute), opset 9's Slice (attributes), a Pad with
    computed pads, an edge Pad before a pool and a ReduceMean: the network read with ONNX
    shape inference and without it (the walk's own shapes) is the same."""
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Upsample", ["c"], ["u"], name="up", scales=[1.0, 1.0, 2.0, 2.0]),
        helper.make_node("Slice", ["u"], ["s"], name="crop", starts=[1, 0], ends=[-1, 100], axes=[2, 3]),
        helper.make_node("Pad", ["s"], ["p"], name="edge", mode="edge", pads=[0, 0, 1, 1, 0, 0, 1, 1]),
        helper.make_node("MaxPool", ["p"], ["m"], name="pool", kernel_shape=[3, 3], strides=[2, 2]),
        helper.make_node("ReduceMean", ["m"], ["r"], name="mean", axes=[2, 3], keepdims=0),
        helper.make_node("Gemm", ["r", "fc"], ["y"], name="fc", transB=1),
    ]  # fmt: skip
    m = model(nodes, [("w", weights(4, 3, 3, 3)), ("fc", weights(6, 4))])
    m.opset_import[0].version = 7
    m.ir_version = 3
    path = save(tmp_path, m)
    inferred = import_onnx(path, (3, 10, 8)).network
    monkeypatch.setattr(onnx_import, "_inferred_shapes", lambda *args: {})
    walked = import_onnx(path, (3, 10, 8)).network
    assert walked == inferred
    pool = walked.layer("pool")
    assert (pool.in_h, pool.in_w, pool.out_h, pool.out_w) == (20, 18, 9, 8)
    assert walked.layer("fc").in_c == 4


def test_computed_pads_are_folded_from_constant_arithmetic(tmp_path, monkeypatch):
    """Pads a PyTorch export computes at run time from constants (ConstantOfShape, Concat,
    Reshape, Slice, Transpose, Cast, Shape of a constant): the walk evaluates them."""
    zero = numpy_helper.from_array(np.array([0], np.int64))
    nodes = [
        const("c1", [2, 1]),
        helper.make_node("ConstantOfShape", ["six"], ["zeros"], name="zeros", value=zero),
        helper.make_node("Cast", ["c1"], ["c1i"], name="c1i", to=TensorProto.INT64),
        helper.make_node("Concat", ["c1i", "zeros"], ["cat"], name="cat", axis=0),
        helper.make_node("Reshape", ["cat", "shape"], ["r"], name="r"),
        helper.make_node("Slice", ["r", "start", "end", "axis0", "step"], ["sl"], name="sl"),
        helper.make_node("Transpose", ["sl"], ["t"], name="t", perm=[1, 0]),
        helper.make_node("Reshape", ["t", "flat"], ["pads"], name="pads"),
        helper.make_node("Pad", ["x", "pads"], ["p"], name="pad"),
        helper.make_node("Conv", ["p", "w"], ["y"], name="conv"),
    ]
    m = ints(
        model(nodes, [("w", weights(4, 3, 3, 3))]),
        six=[6], shape=[-1, 2], start=[-1], end=[-1000], axis0=[0], step=[-1], flat=[-1],
    )  # fmt: skip
    monkeypatch.setattr(onnx_import, "_inferred_shapes", lambda *args: {})
    conv = import_onnx(save(tmp_path, m), (3, 8, 8)).network.layer("conv")
    want = ReferenceEvaluator(m).run(None, {"x": RNG.normal(size=(1, 3, 8, 8)).astype(np.float32)})[
        0
    ]
    assert (1, *conv.out_shape) == want.shape
    assert conv.sources == ("x",) and conv.pad == (0, 0, 2, 1)


def test_one_length_on_the_command_line_and_in_a_scenario(tmp_path, capsys):
    from accelsim.cli import main
    from accelsim.scenario import load_scenario

    nodes = [
        helper.make_node("Unsqueeze", ["x", "one"], ["u"], name="unsq"),
        helper.make_node("Conv", ["u", "w"], ["y"], name="conv", strides=[2]),
    ]
    save(tmp_path, ints(audio_model(nodes, [("w", weights(4, 1, 5))]), one=[1]), "a.onnx")
    out = tmp_path / "w"
    assert main(["import", str(tmp_path / "a.onnx"), "--input-shape", "40", "--out", str(out)]) == 0
    assert "input 40; kept 1 layers (1 conv)" in capsys.readouterr().out
    (tmp_path / "s.toml").write_text(
        "[workload]\nnetwork = 'a.onnx'\ninput_shape = [40]\n[pruning]\ndense = true\n"
    )
    conv = load_scenario(tmp_path / "s.toml").network.layer("conv")
    assert (conv.in_w, conv.out_w) == (40, 18)
    with pytest.raises(SystemExit):
        main(["import", str(tmp_path / "a.onnx"), "--input-shape", "0"])
    assert "'0': must be C,H,W (or C,L, or L)" in capsys.readouterr().err


def test_the_data_input_is_the_one_the_first_conv_reads(tmp_path):
    """PaddleDetection lists `im_shape` (N, 2) before the image and `scale_factor` after
    it: the image is the input the first Conv reads, the others are data from outside."""
    nodes = [
        helper.make_node("Conv", ["image", "w"], ["c"], name="conv"),
        helper.make_node("Mul", ["im_shape", "scale_factor"], ["y"], name="boxes"),
    ]
    m = model(nodes, [("w", weights(4, 3, 3, 3))])
    del m.graph.input[:]
    m.graph.input.extend(
        helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)
        for name, shape in (
            ("im_shape", ["N", 2]),
            ("image", ["N", 3, 16, 16]),
            ("scale_factor", ["N", 2]),
        )
    )
    imported = import_onnx(save(tmp_path, m))
    assert imported.input_shape == (3, 16, 16)
    assert imported.network.layer("conv").sources == ("image",)


def test_a_3d_conv_and_a_loop_body_are_listed_not_simulated(tmp_path):
    """Held-out files may hold what accelsim does not model: a Conv3d on a 5-D tensor made
    from the image, and a Loop whose body holds a Conv. Both are listed and the 2-D conv
    before them is kept; nothing is refused."""
    body = helper.make_graph(
        [
            helper.make_node("Identity", ["cond"], ["cond_out"]),
            helper.make_node("Conv", ["c", "wl"], ["cl"], name="loop_conv"),
        ],
        "body",
        [
            helper.make_tensor_value_info("i", TensorProto.INT64, []),
            helper.make_tensor_value_info("cond", TensorProto.BOOL, []),
        ],
        [
            helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
            helper.make_tensor_value_info("cl", TensorProto.FLOAT, None),
        ],
        [numpy_helper.from_array(weights(4, 4, 1, 1), "wl")],
    )
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
        helper.make_node("Unsqueeze", ["c", "two"], ["c5"], name="to_5d"),
        helper.make_node("Conv", ["c5", "w3d"], ["v"], name="conv3d"),
        helper.make_node("Loop", ["trips", ""], ["scan"], name="loop", body=body),
        helper.make_node("Relu", ["c"], ["y"], name="relu"),
    ]
    m = ints(
        model(nodes, [("w", weights(4, 3, 3, 3)), ("w3d", weights(2, 4, 1, 3, 3))]),
        two=[2],
        trips=2,
    )
    imported = import_onnx(save(tmp_path, m), (3, 8, 8))
    assert [l.name for l in imported.network.mac_layers] == ["conv"]
    assert dict(imported.not_simulated) == {"Conv": 1, "Loop": 1}
