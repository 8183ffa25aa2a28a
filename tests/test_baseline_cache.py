"""Baselines are remembered across runs, keyed by everything their simulation depends on."""

import json
import sqlite3

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accelsim.baseline_cache import BaselineCache, jobs_key
from accelsim.cli import main
from accelsim.errors import ConfigError
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
    dense = build_jobs(scenario.pruned().dense(), scenario.mapping, hw)
    tiled = build_jobs(scenario.pruned().dense(), attrs.evolve(scenario.mapping, tile_h=4), hw)
    assert jobs_key("rr", jobs, hw) == jobs_key("rr", jobs, attrs.evolve(hw))
    assert jobs_key("rr", jobs, hw) != jobs_key("rr", other_seed, hw)
    assert jobs_key("rr", jobs, hw) != jobs_key("rr", jobs, attrs.evolve(hw, pe_cols=3))
    assert jobs_key("dense", dense, hw) != jobs_key("dense", tiled, hw)
    assert jobs_key("dense", jobs, hw) != jobs_key("rr", jobs, hw)


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


TWO_SIDED = {
    "workload": {"network": "lenet5", "activation_density": 0.4, "activation_cv": 0.5},
    "pruning": {"profile": "han2015-lenet5"},
    "hardware": {"pe_rows": 2, "pe_cols": 2, "pe_skips_activations": True},
    "mapping": {"tile_h": 0, "tile_w": 0},  # the keys, not the mapper, are under test
}


def _speedups(outcome):
    return [l["speedup_vs_dense"] for l in json.loads(outcome.report.to_json())["layers"]]


@settings(max_examples=6, deadline=None)
@given(
    density=st.sampled_from([0.2, 0.4, 0.9]),
    cv=st.sampled_from([0.0, 0.5]),
    seed=st.integers(1, 3),
    policy=st.sampled_from(["lpt", "round-robin"]),
    engine=st.sampled_from(["auto", "simpy"]),
)
def test_a_cached_run_equals_a_fresh_one_whatever_changed_between_them(
    tmp_path_factory, density, cv, seed, policy, engine
):
    """The dense jobs of a two-sided PE depend on the activation density, its cv and the
    seed: a cache warmed by other values must not answer for these."""
    cache = BaselineCache(tmp_path_factory.mktemp("cache"))
    for warm in ({"activation_density": 0.4, "activation_cv": 0.5}, {"activation_density": 1}):
        data = {**TWO_SIDED, "workload": {"network": "lenet5", **warm}}
        run_scenario(scenario_from_dict(data, "<t>"), seed=1, cache=cache)
    data = {
        **TWO_SIDED,
        "workload": {"network": "lenet5", "activation_density": density, "activation_cv": cv},
    }
    scenario = scenario_from_dict(data, "<t>")
    cached = run_scenario(scenario, policy=policy, seed=seed, engine=engine, cache=cache)
    fresh = run_scenario(scenario, policy=policy, seed=seed, engine=engine)
    assert cached.report.to_json() == fresh.report.to_json()
    auto = run_scenario(scenario, policy=policy, seed=seed)  # the engine changes no number
    assert cached.dense_cycles == fresh.dense_cycles == auto.dense_cycles
    assert cached.round_robin_cycles == fresh.round_robin_cycles == auto.round_robin_cycles
    assert _speedups(cached) == _speedups(auto)


@pytest.mark.parametrize(
    "stored",
    [
        "[0, 0, 0, 0]",
        "[-5, 1, 1, 1]",
        "[1.5, 2, 3, 4]",
        "[1e30, 1, 1, 1]",
        "[1]",
        "[]",
        "{}",
        "not json",
        "[47000000000000000000000000, 1, 1, 1]",
        "[true, 1, 1, 1]",
    ],
)
def test_a_damaged_cache_row_is_simulated_again(tmp_path, stored):
    scenario = scenario_from_dict(LENET, "<t>")
    cache = BaselineCache(tmp_path)
    first = run_scenario(scenario, cache=cache)
    db = sqlite3.connect(tmp_path / "baselines.sqlite")
    db.execute("UPDATE baselines_v2 SET cycles = ?", (stored,))
    db.commit()
    again = run_scenario(scenario, policy="kk", cache=cache)
    assert again.dense is not None and again.round_robin is not None  # recomputed
    assert again.dense_cycles == first.dense_cycles
    assert _speedups(again) == _speedups(run_scenario(scenario, policy="kk"))


def test_an_implausible_row_with_a_matching_digest_is_not_trusted(tmp_path):
    """Even a row whose digest agrees (written by another tool) must fit the jobs."""
    from accelsim.baseline_cache import _digest

    scenario = scenario_from_dict(LENET, "<t>")
    cache = BaselineCache(tmp_path)
    first = run_scenario(scenario, cache=cache)
    db = sqlite3.connect(tmp_path / "baselines.sqlite")
    for key, text in db.execute("SELECT key, cycles FROM baselines_v2").fetchall():
        short = json.dumps(json.loads(text)[:-1])
        db.execute(
            "UPDATE baselines_v2 SET cycles = ?, digest = ? WHERE key = ?",
            (short, _digest(key, short), key),
        )
    db.commit()
    again = run_scenario(scenario, policy="kk", cache=cache)
    assert again.dense_cycles == first.dense_cycles and again.dense is not None


def test_a_dense_baseline_the_fast_engine_cannot_run_says_it_is_the_baseline(tmp_path):
    """The pruned layers fit the weight buffer at once, the dense ip1 does not: under
    engine = "fast" the error names the baseline and the way around it, before simulating."""
    hardware = {"pe_rows": 2, "pe_cols": 2, "input_queue_depth": 2, "weight_buffer_bytes": 65536}
    scenario = scenario_from_dict({**LENET, "hardware": hardware}, "<t>")
    run_scenario(scenario, engine="fast", baselines=False)  # the pruned network runs
    for cache in (None, BaselineCache(tmp_path)):
        with pytest.raises(ConfigError, match="dense baseline.*ip1.*'fast'.*--no-baselines"):
            run_scenario(scenario, engine="fast", cache=cache)
