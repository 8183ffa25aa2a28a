import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from accelsim.errors import ConfigError
from accelsim.studies.sweep import ResultStore, batches, load_sweep, run_batch, run_point, run_sweep

BASE = """name = "tiny"
seed = 1
policy = "lpt"
[workload]
network = "lenet5"
[pruning]
profile = "han2015-lenet5"
[hardware]
pe_rows = 1
pe_cols = 2
"""


def make(tmp_path, grid, extra=""):
    (tmp_path / "base.toml").write_text(BASE)
    (tmp_path / "s.toml").write_text(f'name = "s"\nbase = "base.toml"\n{extra}\n[grid]\n{grid}')
    return load_sweep(tmp_path / "s.toml")


GRID = '"hardware.pe_cols" = [1, 2, 3]\npolicy = ["lpt", "round-robin"]\n'


def results(sweep, store):
    return {
        r["key"]: {k: v for k, v in r.items() if k != "wall_seconds"}
        for r in store.rows(p.key for p in sweep.points)
    }


def test_serial_local_pool_and_dask_give_the_same_rows(tmp_path):
    sweep = make(tmp_path, GRID)
    assert len(sweep.points) == 6
    outs = []
    for name, kwargs in (
        ("serial", {}),
        ("pool", {"jobs": 2}),
        ("dask", {"jobs": 2, "dask": "local"}),
    ):
        store = ResultStore(tmp_path / name / "r.sqlite")
        assert run_sweep(sweep, store, quiet=True, **kwargs) == 6
        outs.append(results(sweep, store))
        store.close()
    assert outs[0] == outs[1] == outs[2]
    assert len(outs[0]) == 6 and all(r["cycles"] > 0 for r in outs[0].values())


@pytest.mark.slow
def test_a_killed_sweep_resumes_with_every_point_exactly_once(tmp_path):
    grid = '"hardware.pe_cols" = [1, 2, 3, 4, 5, 6, 7, 8]\npolicy = ["lpt", "round-robin", "kk"]\n'
    sweep = make(tmp_path, grid)
    db = tmp_path / "out" / "results.sqlite"
    cmd = [
        sys.executable,
        "-m",
        "accelsim",
        "sweep",
        str(tmp_path / "s.toml"),
        "--out",
        str(tmp_path / "out"),
        "-q",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    killed_at = None
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None:
        if db.exists():
            try:
                n = sqlite3.connect(db).execute("SELECT count(*) FROM results").fetchone()[0]
            except sqlite3.OperationalError:
                n = 0
            if n >= 3:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                killed_at = n
                break
        time.sleep(0.02)
    assert killed_at is not None, "the sweep finished before it could be killed"
    store = ResultStore(db)
    survived = len(store.keys())
    assert killed_at <= survived < len(sweep.points)
    store.close()
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    assert f"({len(sweep.points) - survived} run now, {survived} from earlier runs)" in done.stdout
    rows = sqlite3.connect(db).execute("SELECT key, point FROM results").fetchall()
    assert len(rows) == len(sweep.points) == len({k for k, _ in rows})
    assert sorted(p for _, p in rows) == list(range(len(sweep.points)))


def test_a_changed_base_gets_new_keys(tmp_path):
    before = {p.key for p in make(tmp_path, GRID).points}
    again = {p.key for p in make(tmp_path, GRID).points}
    (tmp_path / "base.toml").write_text(BASE.replace("seed = 1", "seed = 2"))
    after = {p.key for p in load_sweep(tmp_path / "s.toml").points}
    assert before == again and not before & after


def test_a_seeded_sample_of_the_grid(tmp_path):
    a = make(tmp_path, GRID, "sample = 3\nseed = 5")
    b = make(tmp_path, GRID, "sample = 3\nseed = 5")
    assert len(a.points) == 3 and [p.params for p in a.points] == [p.params for p in b.points]


def test_a_sample_of_a_grid_larger_than_int64_is_drawn_without_listing_it(tmp_path):
    """11 axes of 59 values: 3e19 points, past int64; two are drawn, the same for one seed,
    each value from its axis."""
    axes = [
        "pe_cols",
        "pe_rows",
        "macs_per_cycle",
        "job_overhead_cycles",
        "dram_latency_cycles",
        "input_queue_depth",
        "weight_bits",
        "activation_bits",
        "psum_bits",
        "pe_window",
        "index_bits",
    ]
    grid = "".join(f'"hardware.{a}" = {list(range(1, 60))}\n' for a in axes)
    grid += '"hardware.pe_model" = ["window"]\n'  # pe_window has an effect only there
    a = make(tmp_path, grid, "sample = 2\nseed = 7")
    b = make(tmp_path, grid, "sample = 2\nseed = 7")
    assert 59 ** len(axes) > 2**63
    assert len(a.points) == 2 and [p.params for p in a.points] == [p.params for p in b.points]
    assert all(1 <= p.params[f"hardware.{x}"] <= 59 for p in a.points for x in axes)


@pytest.mark.parametrize(
    "grid, extra, message",
    [
        (
            '"hardware.pe_rows" = [1, 0]',
            "",
            r"s.toml: point 1 \(hardware.pe_rows=0 on base base.toml\): "
            r"\[hardware\] 'pe_rows' must be an integer from 1 to 65,536: 0",
        ),
        ('"hardware.pe_rows" = 4', "", r"\[grid\] hardware.pe_rows = 4: must be a non-empty list"),
        ('"hardware.lanes" = [4]', "", r"\[hardware\] unknown field 'lanes'"),
        ('policy = ["lpt"]', "colour = 1", r"s.toml: unknown field 'colour'"),
        ('policy = ["lpt"]', "sample = -1", r"sample = -1: must be an integer >= 0"),
        (
            'policy = ["lpt"]',
            '[plot]\nx = "policy"\ny = "nope"',
            r"\[plot\] .* two axes of \[grid\]",
        ),
    ],
)
def test_malformed_sweeps_name_the_field(tmp_path, grid, extra, message):
    with pytest.raises(ConfigError, match=message):
        make(tmp_path, grid, extra)


def test_missing_base(tmp_path):
    (tmp_path / "s.toml").write_text('base = "nowhere.toml"\n[grid]\npolicy = ["lpt"]\n')
    with pytest.raises(ConfigError, match="base = 'nowhere.toml': no such file"):
        load_sweep(tmp_path / "s.toml")


def test_sweep_command_writes_rows_and_heatmaps(tmp_path, capsys):
    from accelsim.cli import main

    make(tmp_path, GRID)
    assert main(["sweep", str(tmp_path / "s.toml"), "--out", str(tmp_path / "o"), "-q"]) == 0
    assert "6 of 6 points done (6 run now, 0 from earlier runs)" in capsys.readouterr().out
    header = (tmp_path / "o" / "results.csv").read_text().splitlines()[0]
    for column in (
        "hardware.pe_cols",
        "policy",
        "cycles",
        "utilization",
        "share_idle",
        "dram_bytes",
        "energy_uj",
        "pe_lanes",
        "buffer_bytes",
    ):
        assert column in header
    # one numeric axis (pe_cols) beside the policy: a line per policy, not a heatmap
    assert (tmp_path / "o" / "line_cycles.png").stat().st_size > 0


def test_unreadable_and_malformed_sweep_files(tmp_path):
    with pytest.raises(ConfigError, match=r"nothere.toml: cannot read sweep"):
        load_sweep(tmp_path / "nothere.toml")
    (tmp_path / "bad.toml").write_text("[grid\n")
    with pytest.raises(ConfigError, match=r"bad.toml: not valid TOML"):
        load_sweep(tmp_path / "bad.toml")


def test_batches_hold_every_point_once_and_share_pruning(tmp_path):
    sweep = make(
        tmp_path, '"hardware.pe_cols" = [1, 2, 3, 4, 5]\nseed = [1, 2]\npolicy = ["lpt", "kk"]\n'
    )
    for workers in (1, 2, 8):
        cut = batches(list(sweep.points), workers)
        flat = [p.key for b in cut for p in b]
        assert sorted(flat) == sorted(p.key for p in sweep.points)
        assert all(1 <= len(b) <= 32 for b in cut)
        seeds = [[p.params["seed"] for p in b] for b in cut]
        assert sum(len(set(s)) > 1 for s in seeds) <= 1  # one batch at most straddles seeds


def test_a_batch_gives_what_single_points_give(tmp_path):
    sweep = make(tmp_path, '"hardware.pe_cols" = [1, 3]\nseed = [1, 2]\n')
    base = str(sweep.base_dir)
    alone = [run_point(p.scenario, base) for p in sweep.points]
    together = run_batch([p.scenario for p in sweep.points], base)
    strip = [{k: v for k, v in r.items() if k != "wall_seconds"} for r in alone]
    assert strip == [{k: v for k, v in r.items() if k != "wall_seconds"} for r in together]
    assert len({r["cycles"] for r in alone}) == 4


@pytest.mark.slow
def test_a_pool_worker_keeps_its_pruning_for_the_next_batch_only(tmp_path):
    """A pool worker's next batch reuses the pruned network of the one before (same rows as
    a fresh batch); a batch that prunes otherwise drops it."""
    from accelsim.studies import sweep as module

    sweep = make(tmp_path, '"hardware.pe_cols" = [1, 3]\nseed = [1, 2]\n')
    base, parent = str(sweep.base_dir), os.getppid()
    point = {(p.params["hardware.pe_cols"], p.params["seed"]): p.scenario for p in sweep.points}
    first, second, other = [point[1, 1]], [point[3, 1]], [point[1, 2]]
    module._WORKER_MEMO.clear()
    run_batch(first, base, parent)
    pruned = {k: v for k, v in module._WORKER_MEMO.items() if isinstance(k, str)}
    assert len(pruned) == 1
    kept = run_batch(second, base, parent)
    assert all(module._WORKER_MEMO[k] is v for k, v in pruned.items())
    strip = [{k: v for k, v in r.items() if k != "wall_seconds"} for r in kept]
    fresh = run_batch(second, base)
    assert strip == [{k: v for k, v in r.items() if k != "wall_seconds"} for r in fresh]
    run_batch(other, base, parent)
    assert not set(pruned) & set(module._WORKER_MEMO)
    module._WORKER_MEMO.clear()


def test_csv_columns_do_not_depend_on_where_a_failed_point_falls(tmp_path):
    from accelsim.studies.sweep import write_csv

    ok = {"policy": "lpt", "cycles": 10, "utilization": 0.5}
    bad = {"policy": "kk", "error": "cannot run"}
    heads = []
    for rows in ([ok, bad], [bad, ok]):
        write_csv(rows, tmp_path / "r.csv")
        heads.append((tmp_path / "r.csv").read_text().splitlines()[0])
    assert heads[0] == heads[1] == "policy,cycles,utilization,error"


ACT = """name = "act"
network = "lenet5"
source = "a test"
[density]
conv1 = 0.66
conv2 = 0.12
ip1 = 0.08
ip2 = 0.19
[activation_density]
conv2 = {conv2}
ip1 = {ip1}
"""


@pytest.mark.slow
def test_editing_any_file_a_point_reads_gives_it_a_new_key_and_fresh_numbers(tmp_path):
    """A measured-mask file and an activation profile file, edited between two runs of the
    same sweep: the resumed sweep's rows equal a fresh sweep's, never the old numbers."""
    import shutil

    from accelsim.workload.sparsity.measured import measured_path

    base = tmp_path / "base.toml"
    base.write_text(
        'name = "m"\n[workload]\nnetwork = "real_waifu2x_upconv7"\n'
        'activation_density = "act.toml"\n[pruning]\nmeasured = "m.npz"\n'
        "[mapping]\ntile_h = 16\ntile_w = 16\n[hardware]\npe_rows = 2\npe_cols = 4\npe_skips_activations = true\n"
    )
    (tmp_path / "s.toml").write_text(
        'name = "s"\nbase = "base.toml"\n[grid]\n"hardware.pe_cols" = [4, 8]\n'
    )
    # the activation profile names waifu2x's layers
    from accelsim.workload.networks.topology import load_network

    names = [l.name for l in load_network("real_waifu2x_upconv7").mac_layers]
    act = "[activation_density]\n" + "".join(f"{n} = {{d}}\n" for n in names[1:])

    def edit(variant, density):
        shutil.copy(measured_path(f"waifu2x_upconv7.{variant}"), tmp_path / "m.npz")
        (tmp_path / "act.toml").write_text(act.replace("{d}", str(density)))

    def rows(store_dir):
        sweep = load_sweep(tmp_path / "s.toml")
        store = ResultStore(store_dir / "r.sqlite")
        run_sweep(sweep, store, quiet=True)
        out = sorted((r["point"], r["cycles"]) for r in store.rows(p.key for p in sweep.points))
        store.close()
        return out

    edit("layer50", 0.5)
    first = rows(tmp_path / "resumed")
    for variant, density in (("layer80", 0.5), ("layer80", 0.25)):
        edit(variant, density)
        resumed = rows(tmp_path / "resumed")
        assert resumed == rows(tmp_path / f"fresh-{variant}-{density}")
        assert resumed != first
        first = resumed
