import numpy as np
from simkit import conv

from accelsim.cli import main
from accelsim.workload import load_network
from accelsim.workload.sparsity.pruning import PrunedLayer, PrunedNetwork, weight_shape
from accelsim.workload.sparsity.stats import layer_stats


def test_stats_from_a_known_mask():
    layer = conv(in_c=2, hw=4, out_c=2, k=1, pad=0)  # 2 filters x 2 channels x 1x1
    mask = np.array([[1, 0], [1, 1]], dtype=bool).reshape(2, 2, 1, 1)
    p = PrunedLayer(layer, mask.reshape(2, -1).sum(1), mask=mask)
    s = layer_stats(PrunedNetwork(load_network("lenet5"), [p]))[0]
    assert (s.dense_macs, s.pruned_macs, s.density) == (64, 48, 0.75)
    assert s.nnz_mean == 1.5 and np.isclose(s.nnz_cv, 0.5 / 1.5)
    assert np.isclose(s.max_over_mean, 2 / 1.5) and s.zero_kernels == 0.25
    assert np.isclose(s.ideal_speedup, 64 / 48)


def test_workload_command(tmp_path, capsys):
    rng = np.random.default_rng(0)
    net = load_network("lenet5")
    np.savez(
        tmp_path / "w.npz", **{l.name: rng.normal(size=weight_shape(l)) for l in net.mac_layers}
    )
    (tmp_path / "s.toml").write_text(
        "name = 'w'\n[workload]\nnetwork = 'lenet5'\n[pruning]\n"
        "weights = 'w.npz'\nmethod = 'balanced'\nkeep = 0.5\n"
    )
    assert main(["workload", str(tmp_path / "s.toml"), "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "balanced pruning" in out and "conv2" in out and "total" in out
    row = next(l for l in out.splitlines() if l.startswith("conv2"))
    assert " 0.000 " in row  # balanced: every filter has the same nonzeros
    assert (tmp_path / "nnz_histograms.png").stat().st_size > 0
