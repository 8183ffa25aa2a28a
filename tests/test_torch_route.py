"""The PyTorch route: a model pruned with torch.nn.utils.prune, exported by
torch.onnx.export (accelsim.training.torch_export made tests/data/torch_pruned_cnn.onnx and
its .nnz.json with PyTorch 2.13; torch is not needed here), imported and run by accelsim."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from accelsim.workload.networks.onnx_import import import_onnx

DATA = Path(__file__).parent / "data"
MODEL = DATA / "torch_pruned_cnn.onnx"
META = json.loads((DATA / "torch_pruned_cnn.nnz.json").read_text())


def module_of(layer_name: str) -> str:
    """The PyTorch module a layer of the export comes from: '/rect/Conv' is 'rect'."""
    return layer_name.strip("/").split("/")[0]


def test_the_masks_are_the_zeros_torch_prune_left():
    imported = import_onnx(MODEL, tuple(META["input_shape"]))
    net = imported.network
    assert {
        module_of(l.name): int((imported.weights[l.name] != 0).sum()) for l in net.mac_layers
    } == META["nnz"]
    # the exporter folded the BatchNorm (eval mode); a (2, 1) stride, a depthwise conv, a
    # residual Add and a Resize + Concat merge come through
    assert dict(imported.folded) == {}
    rect = net.layer("/rect/Conv")
    assert rect.stride == (2, 1) and (rect.out_h, rect.out_w) == (8, 48)
    assert net.layer("/dw/Conv").groups == 24
    assert net.layer("/Add").sources == ("/rect/Conv", "/pw/Conv")
    assert net.layer("/lateral/Conv").sources == ()  # fed by Concat: outside the model
    assert {"Resize": 1, "Concat": 1} == {
        op: n for op, n in imported.passed if op in ("Resize", "Concat")
    }
    lateral = imported.weights["/lateral/Conv"]
    empty = (lateral.reshape(lateral.shape[0], -1) != 0).sum(axis=1) == 0
    assert empty.sum() == 8  # ln_structured removed a quarter of its 32 filters whole


@pytest.mark.parametrize("shape", [(3, 32, 96), (3, 48, 160), (3, 64, 64)])
def test_the_dynamic_height_and_width_take_any_input_shape(shape):
    net = import_onnx(MODEL, shape).network
    rect = net.layer("/rect/Conv")
    h, w = shape[1], shape[2]
    assert (rect.in_h, rect.in_w) == (-(-h // 2), -(-w // 2))
    assert (rect.out_h, rect.out_w) == (-(-h // 4), -(-w // 2))
    assert rect.dense_macs == rect.out_h * rect.out_w * 24 * 16 * 9
    assert net.layer("/fc/Gemm").in_c == 32


def test_accelsim_import_and_run_execute_every_nonzero_the_export_kept(tmp_path, capsys):
    from accelsim.cli import main
    from accelsim.pipeline import run_scenario
    from accelsim.scenario import load_scenario

    shutil.copy(MODEL, tmp_path / "m.onnx")
    assert (
        main(
            [
                "import",
                str(tmp_path / "m.onnx"),
                "--input-shape",
                "3,32,96",
                "--out",
                str(tmp_path / "w"),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "kept 9 layers (1 add, 6 conv, 1 fc, 1 pool)" in printed
    hw = "[hardware]\npe_rows = 2\npe_cols = 2\n[mapping]\ntile_h = 4\ntile_w = 8\n"
    (tmp_path / "imported.toml").write_text(
        f"[workload]\nnetwork = 'w/m.csv'\n[pruning]\nmeasured = 'w/m.npz'\n{hw}"
    )
    (tmp_path / "direct.toml").write_text(
        "[workload]\nnetwork = 'm.onnx'\ninput_shape = [3, 32, 96]\n"
        f"[pruning]\nweights = 'm.onnx'\n{hw}"
    )
    imported, direct = (load_scenario(tmp_path / f"{n}.toml") for n in ("imported", "direct"))
    a, b = imported.pruned(), direct.pruned()
    assert {module_of(p.layer.name): p.nnz for p in a.layers} == META["nnz"]
    assert [p.filter_nnz.tolist() for p in a.layers] == [p.filter_nnz.tolist() for p in b.layers]
    outcome = run_scenario(imported, baselines=False)
    want = sum(p.nnz * p.layer.out_h * p.layer.out_w for p in a.layers)
    assert outcome.result.executed_macs == a.pruned_macs == want
    assert np.isclose(a.nnz / imported.network.weights, 1 - 0.519, atol=0.001)
