"""The report's figures follow from the run: energy = counts x table, shares sum to one,
speedups and bounds are ratios of the runs they name."""

import math

import numpy as np
import pytest

from accelsim.config import EnergyTable
from accelsim.pipeline import run_scenario
from accelsim.scenario import load_scenario, scenario_from_dict
from accelsim.trace import Operand
from accelsim.workload import load_network
from accelsim.workload.sparsity.pruning import weight_shape

LENET = {
    "workload": {"network": "lenet5"},
    "pruning": {"profile": "han2015-lenet5"},
    "hardware": {"pe_rows": 2, "pe_cols": 2, "dram_bytes_per_cycle": 8},
}


def test_energy_is_access_counts_times_the_table():
    table = {
        "mac_pj": 1.0,
        "noc_pj_per_byte": 2.0,
        "dram_pj_per_byte": 100.0,
        "sram_8kb_pj_per_byte": 3.0,
        "sram_32kb_pj_per_byte": 3.0,
        "sram_1mb_pj_per_byte": 3.0,
    }
    outcome = run_scenario(scenario_from_dict({**LENET, "energy": table}, "<t>"), baselines=False)
    result, total = outcome.result, outcome.report.total
    tr = result.transfers
    assert total.energy_pj["mac"] == result.executed_macs == outcome.pruned.pruned_macs
    assert total.energy_pj["dram"] == 100.0 * tr["bytes"].sum()
    assert total.energy_pj["noc"] == 2.0 * sum(l.noc_bytes for l in result.layers)
    fills = tr["bytes"][tr["operand"] == Operand.WEIGHTS].sum()
    reads = sum(l.weight_buffer_reads for l in result.layers)
    assert total.energy_pj["weight_buffer"] == 3.0 * (fills + reads)
    per_layer = sum(l.energy_pj["dram"] for l in outcome.report.layers)
    assert math.isclose(per_layer, total.energy_pj["dram"])


def test_sram_energy_grows_with_capacity_between_horowitz_points():
    t = EnergyTable()
    assert t.sram_pj_per_byte(4096) == 1.25 and t.sram_pj_per_byte(32768) == 2.5
    assert t.sram_pj_per_byte(2**20) == t.sram_pj_per_byte(math.inf) == 12.5
    assert 2.5 < t.sram_pj_per_byte(2**17) < 12.5


def test_shares_speedups_and_bounds_are_consistent():
    outcome = run_scenario(scenario_from_dict(LENET, "<t>"))
    report = outcome.report
    for layer, run, dense, rr in zip(
        report.layers, outcome.result.layers, outcome.dense.layers, outcome.round_robin.layers
    ):
        assert math.isclose(sum(layer.states.values()), 1.0)
        assert layer.utilization == layer.states["busy"]
        assert layer.speedup_vs_dense == dense.cycles / run.cycles
        assert layer.speedup_vs_round_robin == rr.cycles / run.cycles
        assert layer.makespan_over_bound == run.cycles / run.lower_bound >= 1
        assert layer.compute_makespan >= layer.lower_bound
    assert report.total.cycles == sum(l.cycles for l in report.layers)
    assert outcome.dense.executed_macs == load_network("lenet5").dense_macs


def test_magnitude_pruned_weights_from_an_npz_file(tmp_path):
    rng = np.random.default_rng(5)
    net = load_network("lenet5")
    np.savez(
        tmp_path / "w.npz", **{l.name: rng.normal(size=weight_shape(l)) for l in net.mac_layers}
    )
    (tmp_path / "s.toml").write_text(
        "[workload]\nnetwork = 'lenet5'\n[pruning]\nweights = 'w.npz'\n"
        "keep = {conv1 = 0.66, conv2 = 0.12, ip1 = 0.08, ip2 = 0.19}\n"
    )
    outcome = run_scenario(load_scenario(tmp_path / "s.toml"), baselines=False)
    kept = {p.layer.name: p.nnz for p in outcome.pruned.layers}
    assert kept == {"conv1": 330, "conv2": 3000, "ip1": 32000, "ip2": 950}
    assert outcome.result.executed_macs == outcome.pruned.pruned_macs


def test_an_unreadable_weights_file_is_named(tmp_path):
    (tmp_path / "w.npz").write_text("not a zip")
    (tmp_path / "s.toml").write_text(
        "[workload]\nnetwork = 'lenet5'\n[pruning]\nweights = 'w.npz'\nkeep = 0.5\n"
    )
    from accelsim.errors import ConfigError

    with pytest.raises(ConfigError, match=r"w.npz: not an .npz archive of arrays \(weights file\)"):
        run_scenario(load_scenario(tmp_path / "s.toml"), baselines=False)


def test_summary_says_what_the_run_was_given(tmp_path):
    """Seed, pruning, mapping, energy and area tables: a result names its own inputs."""
    import json
    from pathlib import Path

    from accelsim.cli import main

    scenario = Path(__file__).parent.parent / "scenarios" / "lenet5_real.toml"
    for seed in (1, 2):
        assert (
            main(
                [
                    "run",
                    str(scenario),
                    "--seed",
                    str(seed),
                    "--out",
                    str(tmp_path / str(seed)),
                    "-q",
                    "--no-plots",
                    "--no-baselines",
                ]
            )
            == 0
        )
    runs = [json.loads((tmp_path / s / "summary.json").read_text())["inputs"] for s in "12"]
    assert [r["seed"] for r in runs] == [1, 2]
    assert runs[0]["mapping"]["tile_h"] == runs[0]["mapping"]["tile_w"]
    assert runs[0]["energy"]["mac_pj"] > 0 and runs[0]["area"]["sram_um2_per_kib"] > 0
    assert runs[0]["source"].endswith("lenet5_real.toml") and runs[0]["engine"] == "auto"
