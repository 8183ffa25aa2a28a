import gzip
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from perfetto.protos.perfetto.trace.perfetto_trace_pb2 import Trace

from accelsim.cli import main

ROOT = Path(__file__).parent.parent


def small_scenario(tmp_path, **extra):
    text = (
        "name = 'small'\nseed = 4\npolicy = 'lpt'\n[workload]\nnetwork = 'lenet5'\n"
        "[pruning]\nprofile = 'han2015-lenet5'\n[hardware]\npe_rows = 2\npe_cols = 2\n"
    )
    path = tmp_path / "small.toml"
    path.write_text(text)
    return path


def test_run_writes_every_result_file_and_prints_the_table(tmp_path, capsys):
    out = tmp_path / "out"
    assert (
        main(["run", str(small_scenario(tmp_path)), "--out", str(out), "-q", "--trace", "all"]) == 0
    )
    printed = capsys.readouterr().out
    assert "total" in printed and "x dense" in printed and "conv1" in printed
    for name in (
        "summary.json",
        "layers.csv",
        "trace.npz",
        "trace.pftrace.gz",
        "timeline.png",
        "utilization.png",
        "stalls.png",
        "buffers.png",
        "report.html",
    ):
        assert (out / name).stat().st_size > 0, name
    summary = json.loads((out / "summary.json").read_text())
    total = summary["total"]
    assert total["executed_macs"] == total["pruned_macs"] > 0
    assert abs(sum(total["states"].values()) - 1) < 1e-9
    assert total["speedup_vs_dense"] > 1 and total["makespan_over_bound"] >= 1
    area = summary["hardware"]["area_mm2"]
    assert area["weight_buffer"] + area["input_buffer"] + area["output_buffer"] == pytest.approx(
        (512 * 4551 + 64 * 195) / 1e6
    )  # 8 KiB banks
    assert area["total"] == pytest.approx(sum(v for k, v in area.items() if k != "total"))
    rows = (out / "layers.csv").read_text().splitlines()
    assert rows[0].startswith("layer,jobs,cycles") and rows[-1].startswith("total,")
    assert len(rows) == 1 + 4 + 1
    with np.load(out / "trace.npz") as trace:
        assert trace["end"].max() == total["cycles"]
    packets = Trace.FromString(gzip.decompress((out / "trace.pftrace.gz").read_bytes())).packet
    assert any(p.track_event.name == "busy" for p in packets)


def test_policy_and_seed_override(tmp_path, capsys):
    path = small_scenario(tmp_path)
    outs = []
    for seed in ("1", "1", "2"):
        out = tmp_path / f"o{seed}{len(outs)}"
        assert (
            main(
                [
                    "run",
                    str(path),
                    "--out",
                    str(out),
                    "-q",
                    "--no-plots",
                    "--policy",
                    "greedy",
                    "--seed",
                    seed,
                ]
            )
            == 0
        )
        outs.append(json.loads((out / "summary.json").read_text()))
    assert outs[0]["policy"] == "greedy"
    assert outs[0]["total"]["cycles"] == outs[1]["total"]["cycles"]
    # a profile fixes each layer's nonzeros; the seed moves them between filters
    assert outs[0]["total"]["pruned_macs"] == outs[2]["total"]["pruned_macs"]
    assert outs[0]["total"]["cycles"] != outs[2]["total"]["cycles"]


def test_errors_are_one_line_and_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        "[workload]\nnetwork = 'lenet5'\n[pruning]\ndense = true\n"
        "[hardware]\ndram_bytes_per_cycle = 0\n"
    )
    assert main(["run", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "bad.toml: [hardware] 'dram_bytes_per_cycle'" in err
    assert main(["run", str(small_scenario(tmp_path)), "--policy", "nope", "-q"]) == 2
    assert "--policy: unknown policy 'nope'" in capsys.readouterr().err  # the flag, named


def test_console_script_runs_as_a_module(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "accelsim", "policies"], capture_output=True, text=True, check=True
    )
    assert "lpt" in done.stdout and "round-robin" in done.stdout


def test_schedule_command_text_and_json(tmp_path, capsys):
    jobs = tmp_path / "jobs.csv"
    jobs.write_text("cycles\n3\n3\n2\n2\n2\n")
    assert main(["schedule", str(jobs), "--pes", "2", "--policy", "multifit"]) == 0
    out = capsys.readouterr().out
    assert "makespan 6;" in out and "best bound 6 (LB0" in out and "PE   1: load" in out
    assert main(["schedule", str(jobs), "--pes", "2", "--policy", "exact", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["makespan"] == 6 and data["proven_optimal"] and data["bound_kind"] == "optimum"
    assert sorted(j for q in data["queues"] for j in q) == [0, 1, 2, 3, 4]


def test_schedule_command_bad_rows(tmp_path, capsys):
    jobs = tmp_path / "jobs.csv"
    jobs.write_text("3\n2.5\n")
    assert main(["schedule", str(jobs), "--pes", "2"]) == 2
    assert "jobs.csv: row 2: duration = '2.5'" in capsys.readouterr().err


def test_compare_command(tmp_path, capsys):
    out = tmp_path / "cmp"
    assert (
        main(
            [
                "compare",
                str(small_scenario(tmp_path)),
                "--out",
                str(out),
                "-q",
                "--policies",
                "round-robin,lpt,kk+improve,greedy",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "round-robin loses" in printed and "kk+improve" in printed
    data = json.loads((out / "compare.json").read_text())
    assert [p["policy"] for p in data["policies"]] == ["round-robin", "lpt", "kk+improve", "greedy"]
    assert all(p["makespan_over_bound"] >= 1 for p in data["policies"])
    assert (out / "compare.png").stat().st_size > 0


def test_summary_is_strict_json_and_the_same_bytes_for_the_same_seed(tmp_path, capsys):
    path = small_scenario(tmp_path)
    path.write_text(path.read_text() + "weight_buffer_bytes = inf\ndram_bytes_per_cycle = inf\n")
    texts = []
    for run in ("a", "b"):
        out = tmp_path / run
        assert main(["run", str(path), "--out", str(out), "-q", "--no-plots"]) == 0
        texts.append((out / "summary.json").read_bytes())
        timings = json.loads((out / "timings.json").read_text())
        assert timings["simulation_wall_seconds"] >= 0
    assert texts[0] == texts[1]
    strict = json.loads(
        texts[0],
        parse_constant=lambda c: (_ for _ in ()).throw(AssertionError(f"not strict JSON: {c}")),
    )
    assert strict["hardware"]["weight_buffer_bytes"] is None  # unbounded: null
    assert "wall_seconds" not in json.dumps(strict)


def test_version(capsys):
    import importlib.metadata

    import pytest

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"accelsim {importlib.metadata.version('accelsim')}"


def without_ortools(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "ortools" else real(name, *a)
    )


def test_policies_say_which_need_an_extra(capsys, monkeypatch):
    assert main(["policies"]) == 0
    lines = {l.split()[0]: l for l in capsys.readouterr().out.splitlines()}
    assert "needs accelsim[exact]: installed" in lines["exact"]
    assert "needs" not in lines["lpt"]
    without_ortools(monkeypatch)
    assert main(["policies"]) == 0
    lines = {l.split()[0]: l for l in capsys.readouterr().out.splitlines()}
    assert "needs accelsim[exact]: not installed (pip install 'accelsim[exact]')" in lines["exact"]


def test_compare_defaults_to_what_is_installed_and_says_what_it_left_out(monkeypatch):
    from accelsim.policies import available
    from accelsim.studies import compare

    everything, left_out = compare.policies_for(None, 1.0)
    assert left_out == {} and "exact" in [p.name for p in everything]
    without_ortools(monkeypatch)
    chosen, left_out = compare.policies_for(None, 1.0)
    assert left_out == {"exact": "accelsim[exact]"}
    assert [p.name for p in chosen] == [p.name for p in everything if p.name != "exact"]
    assert len(chosen) == len(available()) - 1 + len(compare.DEFAULT_EXTRAS)
    named, left_out = compare.policies_for(["lpt", "exact"], 1.0)  # named: kept
    assert [p.name for p in named] == ["lpt", "exact"] and left_out == {}


def test_compare_progress_counts_policies_and_layers_and_no_nan(tmp_path, capsys):
    out = tmp_path / "cmp"
    assert (
        main(
            [
                "compare",
                str(small_scenario(tmp_path)),
                "--out",
                str(out),
                "--policies",
                "lpt,kk,exact",
            ]
        )
        == 0
    )
    captured = capsys.readouterr()
    # not a terminal: one line per policy as it starts planning and as it starts simulating
    assert captured.err.splitlines() == [
        f"policy {i}/3 {name}: {step} 4 layers"
        for i, name in enumerate(("lpt", "kk", "exact"), 1)
        for step in ("planning", "simulating")
    ]
    assert "nan" not in captured.out.lower().replace("planned", "")
    rows = [l for l in captured.out.splitlines() if l.startswith(("lpt ", "kk ", "exact "))]
    assert len(rows) >= 3 and all(" - " in l or l.rstrip().endswith("-") for l in rows[:3])


def test_schedule_reads_quoted_csv_and_a_misspelt_policy_gets_a_suggestion(tmp_path, capsys):
    jobs = tmp_path / "jobs.csv"
    jobs.write_text('"cycles","name"\n"3","a, b"\n3,c\n\n2,d\n')
    assert main(["schedule", str(jobs), "--pes", "2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["makespan"] == 5
    assert main(["schedule", str(jobs), "--pes", "2", "--policy", "ltp"]) == 2
    assert "unknown policy 'ltp'; did you mean 'lpt'?" in capsys.readouterr().err


def test_compare_per_layer_columns_follow_the_summary_order(tmp_path, capsys):
    assert (
        main(
            [
                "compare",
                str(small_scenario(tmp_path)),
                "--out",
                str(tmp_path / "c"),
                "-q",
                "--policies",
                "greedy,round-robin,lpt",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out.splitlines()
    summary = [
        l.split()[0]
        for l in out[out.index(next(l for l in out if l.startswith("policy  "))) + 2 :]
        if l.split() and l.split()[0] in ("greedy", "round-robin", "lpt")
    ][:3]
    header = next(l for l in out if l.startswith("layer ") and "binds" in l).split()[2:]
    assert header == summary and sorted(summary) == ["greedy", "lpt", "round-robin"]


def test_run_and_compare_output_fits_100_columns(tmp_path, capsys):
    path = small_scenario(tmp_path)
    assert main(["run", str(path), "--out", str(tmp_path / "r"), "-q", "--no-plots"]) == 0
    assert (
        main(
            [
                "compare",
                str(path),
                "--out",
                str(tmp_path / "c"),
                "-q",
                "--policies",
                "round-robin,lpt,kk,multifit,portfolio,lpt+improve,kk+improve,greedy,"
                "work-stealing,density-grouping",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    # the lines naming files written hold the test's own folder, whose length is pytest's
    assert max(len(line) for line in out.splitlines() if str(tmp_path) not in line) <= 100
    assert "work-stealing" in out and "layer2" not in out  # lenet5: conv1, conv2, ip1, ip2
    # every policy still has a column in the per-layer blocks, alone or as "+k" tied with it
    heads = [
        t
        for l in out.splitlines()
        if l.startswith("layer ") and "binds" in l and "DRAM" not in l
        for t in l.split()[2:]
    ]
    tied = sum(int(t[1:]) for t in heads if t.startswith("+"))
    assert len([t for t in heads if not t.startswith("+")]) + tied == 10


def test_compare_names_the_policies_that_tie_and_shows_only_layers_that_differ(tmp_path):
    from accelsim.scenario import load_scenario
    from accelsim.studies import compare

    scenario = load_scenario(small_scenario(tmp_path))
    names = ["lpt", "kk", "multifit", "portfolio", "round-robin", "greedy"]
    runs = compare.compare(scenario, compare.policies_for(names, 1.0)[0])
    groups = compare.ties(runs)
    assert groups  # static policies under lock-step cut the same rounds here
    for group in groups:
        assert len({tuple(l.cycles for l in r.result.layers) for r in group}) == 1
        sentence = compare.tie_sentence(group)
        assert sentence.startswith(f"{len(group)} ") and sentence.count(".") >= 1
        assert all(r.policy in sentence for r in group)
        assert "input_queue_depth = 1" in sentence  # the small scenario is lock-step
    text = compare.table(runs)
    shown = [
        l.split()[0]
        for l in text[text.index("makespan / best compute bound in") :].splitlines()[3:]
    ]
    layers = [l.name for l in runs[0].result.layers]
    for i, name in enumerate(layers):
        differ = len({r.result.layers[i].cycles for r in runs}) > 1
        assert (name in shown) == differ, name
    # the chart: one bar per group of tied policies, named by the group
    ax = compare.chart_figure(runs, "t").axes[0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert len(labels) == len(ax.patches) == len(runs) - sum(len(g) - 1 for g in groups)
    for group in groups:
        (label,) = [l for l in labels if l.startswith(f"{len(group)} tied:")]
        assert all(r.policy in label for r in group)
    # the bound's dashed line is inside the axes, and the legend covers no bar
    fig = ax.figure
    FigureCanvasAgg(fig).draw()
    low, high = ax.get_ylim()
    assert low < 1.0 < high
    legend = ax.get_legend().get_window_extent()
    assert not any(legend.overlaps(bar.get_window_extent()) for bar in ax.patches)


def test_compare_refuses_a_policy_named_twice(tmp_path, capsys):
    scenario = Path(__file__).parent.parent / "scenarios" / "lenet5_real.toml"
    assert (
        main(["compare", str(scenario), "--policies", "lpt,kk,lpt", "--out", str(tmp_path), "-q"])
        == 2
    )
    err = capsys.readouterr().err
    assert "--policies names lpt more than once" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "compare.json").exists()


LENET_TOML = '[workload]\nnetwork = "lenet5"\n[pruning]\nprofile = "han2015-lenet5"\n'


@pytest.mark.parametrize(
    "command, blocker",
    [
        ("run", "summary.json"),
        ("run", "trace.npz"),
        ("run", "timeline.png"),
        ("size", "sizing.json"),
        ("run", "dangling"),
        ("run", "long"),
        ("run", "empty"),
    ],
)
def test_an_unusable_out_is_refused_in_one_line_before_any_work(
    tmp_path, capsys, monkeypatch, command, blocker
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.toml").write_text(LENET_TOML)
    out = tmp_path / "o"
    if blocker == "dangling":
        out.symlink_to(tmp_path / "nowhere")
    elif blocker == "long":
        out = tmp_path / ("x" * 300) / "o"
    elif blocker == "empty":
        out = ""
    else:
        (out / blocker).mkdir(parents=True)
    argv = [command, "s.toml", "--out", str(out), "-q"]
    argv += ["--latency-target", "1", "--max-pes", "2"] if command == "size" else ["--no-cache"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--out" in err[0] and "Traceback" not in err[0]
    assert not (tmp_path / "results").exists()  # nothing written, no empty folder left


def test_a_refused_run_leaves_no_empty_results_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.toml").write_text(LENET_TOML)
    assert main(["run", "s.toml", "--policy", "nope", "-q", "--no-cache"]) == 2
    assert not (tmp_path / "results").exists()


def test_the_summary_and_timings_say_which_engine_did_the_work(tmp_path, capsys):
    """Under the closed form no event is simulated: 'simulated 0 events' would say nothing
    ran; the line and timings.json name the engine and how many layers each computed."""
    scenario = small_scenario(tmp_path)
    for engine in ("fast", "simpy"):
        out = tmp_path / engine
        argv = ["run", str(scenario), "--out", str(out), "-q", "--no-plots", "--no-cache"]
        assert main([*argv, "--engine", engine]) == 0
        printed = " ".join(capsys.readouterr().out.split())
        timings = json.loads((out / "timings.json").read_text())
        assert timings["layers_by_engine"] == {
            "fast": 4 * (engine == "fast"),
            "simpy": 4 * (engine == "simpy"),
        }
        if engine == "fast":
            assert "closed form for 4 layers" in printed and "0 events" not in printed
            assert timings["events"] == 0
        else:
            assert timings["events"] > 0
            assert f"simulated {timings['events']:,} events for 4 layers" in printed


def test_style_draws_the_figures_in_a_style_sheet_and_refuses_an_unknown_one(tmp_path, capsys):
    import matplotlib.image

    (tmp_path / "base.toml").write_text(LENET_TOML)
    sheet = tmp_path / "magenta.mplstyle"
    sheet.write_text("figure.facecolor: ff00ff\n")
    args = ["workload", str(tmp_path / "base.toml"), "--out", str(tmp_path / "o")]
    assert main([*args, "--style", str(sheet)]) == 0
    corner = matplotlib.image.imread(tmp_path / "o" / "nnz_histograms.png")[0, 0, :3]
    assert list(corner) == [1.0, 0.0, 1.0]
    capsys.readouterr()
    assert main([*args[:-1], str(tmp_path / "p"), "--style", "ggplott"]) == 2
    err = capsys.readouterr().err
    assert "--style 'ggplott': neither a matplotlib style name nor a file" in err
    assert len(err.splitlines()) == 1 and not (tmp_path / "p").exists()


def test_a_run_that_maps_its_layers_says_so_while_it_maps(tmp_path, capsys):
    # the scenario gives no tiling numbers: the mapper runs first, for the policy and for the
    # dense baseline, and a log gets one line as each starts
    out = tmp_path / "out"
    assert main(["run", str(small_scenario(tmp_path)), "--out", str(out), "--no-plots"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[:2] == [
        "mapper (lpt): mapping 4 layers",
        "mapper (dense design): mapping 4 layers",
    ]
    assert "lpt: planning 4 layers" in err[2:]
    # the default trace is the columns alone: the gzipped Perfetto trace costs more to write
    # than the run to simulate, so it is written only when asked for
    assert (out / "trace.npz").exists() and not (out / "trace.pftrace.gz").exists()
