"""ONNX import on models built here with onnx.helper (nothing downloaded)."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from accelsim.config import Hardware, Mapping
from accelsim.errors import ConfigError
from accelsim.workload import load_network
from accelsim.workload.jobs import build_jobs
from accelsim.workload.networks.onnx_import import load_onnx
from accelsim.workload.networks.onnx_io import to_onnx
from accelsim.workload.sparsity.methods import prune_weights
from accelsim.workload.sparsity.pruning import weight_shape


def random_weights(net, seed=0):
    rng = np.random.default_rng(seed)
    return {l.name: rng.normal(size=weight_shape(l)).astype(np.float32) for l in net.mac_layers}


@pytest.mark.parametrize("name", ["lenet5", "alexnet", "resnet18", "mobilenet_v1"])
@pytest.mark.slow
def test_round_trip_gives_the_identical_workload(name, tmp_path):
    net = load_network(name)
    w = random_weights(net)
    model = to_onnx(net, w)
    onnx.checker.check_model(model)
    onnx.save(model, tmp_path / "m.onnx")
    back, wb = load_onnx(tmp_path / "m.onnx")
    assert back == net
    assert all(np.array_equal(wb[k].reshape(w[k].shape), w[k]) for k in w)
    a = build_jobs(prune_weights(net, w, "layer", 0.3), Mapping(), Hardware())
    b = build_jobs(prune_weights(back, wb, "layer", 0.3), Mapping(), Hardware())
    assert [l.cycles.tolist() for l in a] == [l.cycles.tolist() for l in b]


def save(tmp_path, nodes, inits=(), inputs=None, name="tiny"):
    inputs = inputs or [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2, 6, 6])]
    out = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    graph = helper.make_graph(nodes, name, inputs, [out], list(inits))
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph), path)
    return path


def const(name, array):
    return helper.make_node(
        "Constant",
        [],
        [name],
        name=f"{name}.const",
        value=numpy_helper.from_array(np.asarray(array, np.float32), name),
    )


def test_constants_batchnorm_folding_matmul_and_pass_through(tmp_path):
    w = np.arange(4 * 2 * 3 * 3, dtype=np.float32).reshape(4, 2, 3, 3)
    gamma, var = np.array([1, 2, 3, 4], np.float32), np.array([3, 3, 3, 3], np.float32)
    fc = np.ones((4 * 3 * 3, 5), np.float32)  # MatMul weights are (in, out)
    nodes = [
        const("w", w),
        const("g", gamma),
        const("beta", np.zeros(4)),
        const("mu", np.zeros(4)),
        const("var", var),
        const("bias", np.zeros(4)),
        const("fcw", fc),
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1], strides=[1, 1]),
        helper.make_node(
            "BatchNormalization", ["c", "g", "beta", "mu", "var"], ["bn"], name="bn", epsilon=1.0
        ),
        helper.make_node("Relu", ["bn"], ["r"], name="relu"),
        helper.make_node("MaxPool", ["r"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["p"], ["f"], name="flat"),
        helper.make_node("MatMul", ["f", "fcw"], ["m"], name="fc"),
        helper.make_node("Add", ["m", "bias"], ["y"], name="fc_bias"),
    ]
    net, weights = load_onnx(save(tmp_path, nodes), (2, 6, 6))
    assert [(l.name, l.kind.value) for l in net.layers] == [
        ("x", "input"),
        ("conv", "conv"),
        ("pool", "pool"),
        ("fc", "fc"),
    ]
    assert net.layer("fc").in_c == 36 and net.layer("fc").out_c == 5
    scale = gamma / np.sqrt(var + 1.0)
    assert np.allclose(weights["conv"], w * scale.reshape(-1, 1, 1, 1))
    assert weights["fc"].shape == (5, 36)


def test_residual_add_and_global_pool(tmp_path):
    w = np.ones((2, 2, 1, 1), np.float32)
    nodes = [
        const("w", w),
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
        helper.make_node("Add", ["c", "x"], ["s"], name="join"),
        helper.make_node("GlobalAveragePool", ["s"], ["y"], name="gap"),
    ]
    net, _ = load_onnx(save(tmp_path, nodes), (2, 6, 6))
    assert net.layer("join").sources == ("conv", "x")
    assert net.layer("gap").out_shape == (2, 1, 1)


@pytest.mark.parametrize(
    "node, message",
    [
        (
            helper.make_node("Conv", ["x", "x"], ["y"], name="conv"),
            r"m.onnx: no Conv, Gemm or MatMul with constant weights: nothing to simulate",
        ),
        (
            helper.make_node(
                "MaxPool", ["x"], ["y"], name="pool", kernel_shape=[2, 2], pads=[0, 0, 1, 1, 0, 0]
            ),
            r"node 'pool' \(MaxPool\): pads \[0, 0, 1, 1, 0, 0\]: a 2-D layer has 4",
        ),
        (
            helper.make_node(
                "MaxPool", ["x"], ["y"], name="pool", kernel_shape=[2, 2], auto_pad="SAME"
            ),
            r"node 'pool' \(MaxPool\): auto_pad = 'SAME': not an ONNX auto_pad value",
        ),
    ],
)
def test_malformed_models_name_the_node_and_operator(tmp_path, node, message):
    with pytest.raises(ConfigError, match=message):
        load_onnx(save(tmp_path, [node]), (2, 6, 6))


def test_not_an_onnx_file(tmp_path):
    (tmp_path / "m.onnx").write_text("garbage")
    with pytest.raises(ConfigError, match="m.onnx: not a readable ONNX model"):
        load_onnx(tmp_path / "m.onnx")


def test_a_scenario_runs_an_onnx_model_with_its_weights(tmp_path):
    from accelsim.pipeline import run_scenario
    from accelsim.scenario import load_scenario

    net = load_network("lenet5")
    onnx.save(to_onnx(net, random_weights(net)), tmp_path / "lenet.onnx")
    (tmp_path / "s.toml").write_text(
        "[workload]\nnetwork = 'lenet.onnx'\n[pruning]\nweights = 'lenet.onnx'\n"
        "method = 'global'\nkeep = 0.1\n[hardware]\npe_rows = 2\npe_cols = 2\n"
    )
    outcome = run_scenario(load_scenario(tmp_path / "s.toml"), baselines=False)
    assert outcome.pruned.nnz == round(0.1 * net.weights)
    assert outcome.result.executed_macs == outcome.pruned.pruned_macs
