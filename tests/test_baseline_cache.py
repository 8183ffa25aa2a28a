"""Baselines are remembered across runs, keyed by everything their simulation depends on."""

import json

import attrs

from accelsim.baseline_cache import BaselineCache, dense_key, jobs_key
from accelsim.cli import main
from accelsim.pipeline import run_scenario
from accelsim.scenario import scenario_from_dict
from accelsim.workload.jobs import build_jobs

LENET = {
    "workload": {"network": "lenet5"},
    "pruning": {"profile": "han2015-lenet5"},
    "hardware": {"pe_rows": 2, "pe_cols": 2},
    "mapping": {"tile_h": 0, "tile_w": 0},  # fixed: the keys of jobs built from it
}


def test_a_second_run_reuses_both_baselines_and_reports_the_same(tmp_path):
    scenario = scenario_from_dict(LENET, "<t>")
    cache = BaselineCache(tmp_path)
    first = run_scenario(scenario, cache=cache)
    again = run_scenario(scenario, policy="kk", cache=cache)
    assert first.dense is not None and first.round_robin is not None
    assert again.dense is None and again.round_robin is None  # both from the cache
    assert again.dense_cycles == tuple(l.cycles for l in first.dense.layers)
    assert again.round_robin_cycles == tuple(l.cycles for l in first.round_robin.layers)
    fresh = run_scenario(scenario, policy="kk")
    assert again.report.to_json() == fresh.report.to_json()


def test_keys_change_with_the_hardware_the_jobs_and_the_mapping():
    scenario = scenario_from_dict(LENET, "<t>")
    hw = scenario.hardware
    jobs = build_jobs(scenario.pruned(), scenario.mapping, hw)
    other_seed = build_jobs(scenario.pruned(seed=2), scenario.mapping, hw)
    layers = [p.layer for p in scenario.pruned().layers]
    assert jobs_key("rr", jobs, hw) == jobs_key("rr", jobs, attrs.evolve(hw))
    assert jobs_key("rr", jobs, hw) != jobs_key("rr", other_seed, hw)
    assert jobs_key("rr", jobs, hw) != jobs_key("rr", jobs, attrs.evolve(hw, pe_cols=3))
    assert dense_key(layers, scenario.mapping, hw) != dense_key(
        layers, attrs.evolve(scenario.mapping, tile_h=4), hw
    )
    assert dense_key(layers, scenario.mapping, hw) != jobs_key("dense", jobs, hw)


def test_the_cli_caches_unless_told_not_to(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ACCELSIM_CACHE_DIR", str(tmp_path / "cache"))
    toml = tmp_path / "s.toml"
    toml.write_text('[workload]\nnetwork = "lenet5"\n[pruning]\nprofile = "han2015-lenet5"\n')
    outs = []
    for i, extra in enumerate(([], [], ["--no-cache"])):
        assert (
            main(["run", str(toml), "--out", str(tmp_path / f"o{i}"), "--no-plots", "-q", *extra])
            == 0
        )
        outs.append(json.loads((tmp_path / f"o{i}" / "summary.json").read_text()))
    assert (tmp_path / "cache" / "baselines.sqlite").is_file()
    speedups = [[l["speedup_vs_dense"] for l in o["layers"]] for o in outs]
    assert speedups[0] == speedups[1] == speedups[2]


def test_an_unusable_cache_is_one_line_naming_it(tmp_path, capsys, monkeypatch):
    toml = tmp_path / "s.toml"
    toml.write_text('[workload]\nnetwork = "lenet5"\n[pruning]\nprofile = "han2015-lenet5"\n')
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "baselines.sqlite").write_bytes(b"this is not a database" * 100)
    for where in (blocker / "cache", corrupt):
        monkeypatch.setenv("ACCELSIM_CACHE_DIR", str(where))
        assert main(["run", str(toml), "--out", str(tmp_path / "o"), "--no-plots", "-q"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "baseline cache" in err[0] and "--no-cache" in err[0]
        assert str(where) in err[0]
    assert (
        main(["run", str(toml), "--out", str(tmp_path / "o"), "--no-plots", "-q", "--no-cache"])
        == 0
    )
