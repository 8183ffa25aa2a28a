"""The studies' figures stay bounded and label what they show."""

from types import SimpleNamespace

import matplotlib.image
import numpy as np
import pytest

from accelsim.outputs import figures
from accelsim.outputs.figures import MAX_FIGSIZE
from accelsim.outputs.plotting import save_figure


@pytest.mark.slow
def test_per_layer_figures_stop_growing(tmp_path):
    rng = np.random.default_rng(0)
    pruned = SimpleNamespace(
        layers=[
            SimpleNamespace(
                filter_nnz=rng.integers(0, 50, 16), density=0.5, layer=SimpleNamespace(name=f"l{i}")
            )
            for i in range(40)
        ]
    )
    rows = [{"a": a, "b": b, "cycles": a * b} for a in range(30) for b in range(12)]
    drawn = {
        "nnz": figures.nnz_histograms_figure(pruned),
        "heatmap": figures.heatmap_figure(rows, "a", "b", "cycles"),
        "pe_models": figures.pe_models_figure(
            {m: list(range(1, 151)) for m in ("zero-skip", "dense")},
            [f"layer{i}" for i in range(150)],
        ),
    }
    for name, fig in drawn.items():
        save_figure(fig, tmp_path / f"{name}.png", dpi=100)
        height, width = matplotlib.image.imread(tmp_path / f"{name}.png").shape[:2]
        assert height <= MAX_FIGSIZE[1] * 100 and width <= MAX_FIGSIZE[0] * 100, name


def test_heatmap_labels_values_and_failed_points():
    assert figures._label("hardware.pe_cols") == "PE columns (PEs per row) [hardware.pe_cols]"
    assert (
        figures._label("hardware.input_buffer_bytes")
        == "input buffer (KiB) [hardware.input_buffer_bytes]"
    )
    assert figures._label("policy") == "policy"
    assert [figures._si(v) for v in (6_325_034, 951_493, 812, 1.5)] == [
        "6.325M",
        "951.5k",
        "812",
        "1.5",
    ]
    rows = [
        {
            "x": a,
            "y": b,
            "cycles": None if a == b == 2 else 1000 * a * b,
            "error": "too big" if a == b == 2 else None,
        }
        for a in (1, 2)
        for b in (1, 2)
    ]
    fig = figures.heatmap_figure(rows, "x", "y", "cycles")
    texts = [(t.get_text(), t.get_color()) for t in fig.axes[0].texts]
    assert ("failed", "black") in texts and len(fig.axes) == 2  # the axes and a colour bar
    shown = dict(texts)
    assert {"1k", "2k"} <= shown.keys()
    assert shown["1k"] != shown["2k"]  # text colour follows the cell's lightness
    failed = [{**r, "cycles": None, "error": "job needs 2880 B"} for r in rows]
    fig = figures.heatmap_figure(failed, "x", "y", "cycles")
    assert len(fig.axes) == 1  # no colour bar for nothing
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert any(t.startswith("every point failed:\njob needs 2880 B") for t in texts)


def test_a_narrow_range_still_gets_distinct_tick_and_cell_labels():
    # VGG-16's buffer sweep spans 20,348,717 to 20,357,256 cycles: four figures printed
    # '20.35M' at most colour bar ticks and on every cell
    values = {(1, 1): 20_348_717, (1, 2): 20_349_094, (2, 1): 20_356_879, (2, 2): 20_357_256}
    rows = [{"x": a, "y": b, "cycles": v} for (a, b), v in values.items()]
    fig = figures.heatmap_figure(rows, "x", "y", "cycles")
    fig.canvas.draw()
    ticks = [t.get_text() for t in fig.axes[1].get_yticklabels() if t.get_text()]
    assert len(ticks) >= 3 and len(set(ticks)) == len(ticks), ticks
    # cells take one figure more where four would read the same: the columns differ
    assert {t.get_text() for t in fig.axes[0].texts} == {"20.349M", "20.357M"}


def test_a_one_axis_sweep_is_a_line_per_policy_with_failed_points_left_out():
    rows = [
        {"hardware.pe_cols": c, "policy": p, "cycles": None if (c, p) == (8, "kk") else 100 // c}
        for c in (1, 2, 4, 8)
        for p in ("lpt", "kk")
    ]
    fig = figures.sweep_line_figure(rows, "hardware.pe_cols", "cycles", ("policy",))
    ax = fig.axes[0]
    lines = {l.get_label(): l for l in ax.get_lines()}
    assert set(lines) == {"policy kk (1 failed)", "policy lpt"}
    assert list(lines["policy lpt"].get_xdata()) == [1, 2, 4, 8]
    assert list(lines["policy kk (1 failed)"].get_ydata()) == [100, 50, 25]
    assert ax.get_xscale() == "log"  # powers of two: a doubling per step
    assert ax.get_xlabel() == "PE columns (PEs per row) [hardware.pe_cols]"


def test_heatmap_ticks_and_values_carry_their_units():
    rows = [
        {"hardware.input_buffer_bytes": b, "hardware.pe_cols": c, "dram_bytes": 2048 * c}
        for b in (65536, 1 << 20)
        for c in (2, 4)
    ]
    fig = figures.heatmap_figure(
        rows, "hardware.pe_cols", "hardware.input_buffer_bytes", "dram_bytes"
    )
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["64", "1,024"]
    # the field on its own line where the label is longer than the axis
    assert ax.get_ylabel() == "input buffer (KiB)\n[hardware.input_buffer_bytes]"
    assert {t.get_text() for t in ax.texts} == {"4", "8"}  # KiB of DRAM traffic


def test_plot_metrics_are_checked_before_anything_runs(tmp_path):
    from accelsim.errors import ConfigError
    from accelsim.studies.sweep import DEFAULT_METRICS, load_sweep

    base = tmp_path / "base.toml"
    base.write_text("[workload]\nnetwork = 'lenet5'\n[pruning]\nprofile = 'han2015-lenet5'\n")
    sweep = tmp_path / "s.toml"
    grid = "[grid]\n'hardware.pe_cols' = [1, 2]\npolicy = ['lpt', 'kk']\n"
    sweep.write_text(f"name = 's'\nbase = 'base.toml'\n{grid}[plot]\nmetrics = ['energy_uj']\n")
    assert load_sweep(sweep).metrics == ("energy_uj",)
    sweep.write_text(f"name = 's'\nbase = 'base.toml'\n{grid}")
    assert load_sweep(sweep).metrics == DEFAULT_METRICS
    sweep.write_text(f"name = 's'\nbase = 'base.toml'\n{grid}[plot]\nmetrics = ['energy']\n")
    with pytest.raises(
        ConfigError, match=r"\[plot\] metrics: unknown field 'energy'; did you mean 'energy_uj'"
    ):
        load_sweep(sweep)


@pytest.mark.slow
def test_sweep_draws_a_line_plot_for_one_axis_and_heatmaps_for_energy_and_area(tmp_path):
    from accelsim.cli import main

    (tmp_path / "base.toml").write_text(
        "[workload]\nnetwork = 'lenet5'\n[pruning]\nprofile = 'han2015-lenet5'\n"
    )
    one = tmp_path / "one.toml"
    one.write_text(
        "name = 'one'\nbase = 'base.toml'\n[grid]\n'hardware.pe_cols' = [1, 2]\n"
        "policy = ['lpt', 'round-robin']\n"
    )
    assert main(["sweep", str(one), "--out", str(tmp_path / "o"), "-q", "--format", "svg"]) == 0
    assert (tmp_path / "o" / "line_cycles.svg").read_text().startswith("<?xml")
    two = tmp_path / "two.toml"
    two.write_text(
        "name = 'two'\nbase = 'base.toml'\n[grid]\n'hardware.pe_cols' = [1, 2]\n"
        "'hardware.pe_rows' = [1, 2]\n"
    )
    assert main(["sweep", str(two), "--out", str(tmp_path / "t"), "-q"]) == 0
    for metric in ("cycles", "utilization", "energy_uj", "area_mm2"):
        assert (tmp_path / "t" / f"heatmap_{metric}.png").is_file(), metric


def test_a_slice_keeps_its_points_and_the_title_names_it():
    rows = [
        {
            "hardware.pe_cols": c,
            "hardware.output_buffer_bytes": b,
            "policy": p,
            "cycles": 1000 * c + b // 1024 + (7 if p == "kk" else 0),
        }
        for c in (2, 4)
        for b in (65536, 131072)
        for p in ("lpt", "kk")
    ]
    where = {"policy": "kk", "hardware.output_buffer_bytes": 131072}
    fig = figures.heatmap_figure(
        rows, "hardware.pe_cols", "policy", "cycles", where={"hardware.output_buffer_bytes": 131072}
    )
    assert "output buffer = 128 KiB" in fig.axes[0].get_title()
    # the best over the other fields (lpt, 64 KiB) would show 2.064k; the slice shows 2.128k
    fig = figures.heatmap_figure(
        rows,
        "hardware.pe_cols",
        "hardware.output_buffer_bytes",
        "cycles",
        where={"policy": "kk"},
        over=(),
    )
    texts = {t.get_text() for t in fig.axes[0].texts}
    assert texts == {"2.071k", "2.135k", "4.071k", "4.135k"}
    assert fig.axes[0].get_title() == "cycles at policy = kk"
    fig = figures.sweep_line_figure(rows, "hardware.pe_cols", "cycles", where=where)
    (line,) = fig.axes[0].get_lines()
    assert list(line.get_ydata()) == [2135, 4135]
    assert fig.axes[0].get_title().endswith("at policy = kk, output buffer = 128 KiB")
    assert figures.sliced(rows, {"policy": "kk", "hardware.pe_cols": 2.0}) == [
        r for r in rows if r["policy"] == "kk" and r["hardware.pe_cols"] == 2
    ]
    assert figures.sliced([{"a": 1}], {"a": True}) == []


def test_an_axis_of_pe_columns_counts_pes_when_the_rows_are_fixed():
    rows = [{"hardware.pe_cols": c, "cycles": 100 // c} for c in (1, 2, 4, 8)]
    fig = figures.sweep_line_figure(rows, "hardware.pe_cols", "cycles", pes={"hardware.pe_cols": 4})
    ax = fig.axes[0]
    assert list(ax.get_lines()[0].get_xdata()) == [4, 8, 16, 32]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["4", "8", "16", "32"]
    assert ax.get_xlabel() == "PEs: PE columns x 4 rows [hardware.pe_cols]"
    rows = [
        {"hardware.pe_rows": r, "hardware.input_buffer_bytes": b, "cycles": r * b}
        for r in (1, 2)
        for b in (65536, 131072)
    ]
    fig = figures.heatmap_figure(
        rows,
        "hardware.pe_rows",
        "hardware.input_buffer_bytes",
        "cycles",
        pes={"hardware.pe_rows": 16},
    )
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["16", "32"]
    assert ax.get_xlabel() == "PEs: PE rows x 16 columns [hardware.pe_rows]"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["64", "128"]  # KiB, as before


def _sweep_file(tmp_path, text: str):
    (tmp_path / "base.toml").write_text(
        "[workload]\nnetwork = 'lenet5'\n[pruning]\nprofile = 'han2015-lenet5'\n"
        "[hardware]\npe_rows = 2\n"
    )
    path = tmp_path / "s.toml"
    path.write_text(
        "name = 's'\nbase = 'base.toml'\n[grid]\n'hardware.pe_cols' = [1, 2]\n"
        "'hardware.output_buffer_bytes' = [65536, 131072]\npolicy = ['lpt', 'kk']\n" + text
    )
    return path


@pytest.mark.parametrize(
    "plot, message",
    [
        ("slice = 'lpt'", r"\[plot\] slice = 'lpt': must be a table of swept fields"),
        ("slice = { policy = 'greedy' }", r"\[plot\] slice policy = 'greedy': not one of its"),
        ("slice = { polcy = 'lpt' }", r"\[plot\] slice: unknown field 'polcy'; did you mean"),
        (
            "x = 'policy'\ny = 'hardware.pe_cols'\nslice = { policy = 'lpt' }",
            r"\[plot\] slice fixes 'policy', which the heatmap draws as an axis",
        ),
    ],
)
def test_a_bad_slice_is_one_line_before_anything_runs(tmp_path, plot, message):
    from accelsim.errors import ConfigError
    from accelsim.studies.sweep import load_sweep

    with pytest.raises(ConfigError, match=message) as caught:
        load_sweep(_sweep_file(tmp_path, "[plot]\n" + plot + "\n"))
    assert "\n" not in str(caught.value) and "s.toml" in str(caught.value)


def test_a_slice_reads_nested_or_dotted_fields_and_the_free_axes_are_plotted(tmp_path):
    from accelsim.studies.sweep import load_sweep

    sweep = load_sweep(
        _sweep_file(tmp_path, "[plot]\nslice = { policy = 'kk', hardware = { pe_cols = 2 } }\n")
    )
    assert dict(sweep.slice) == {"policy": "kk", "hardware.pe_cols": 2}
    assert sweep.plot is None  # one axis left: a line plot, not a heatmap
    sweep = load_sweep(
        _sweep_file(tmp_path, "[plot]\nslice = { 'hardware.output_buffer_bytes' = 131072 }\n")
    )
    assert sweep.plot == ("hardware.pe_cols", "policy")
    assert dict(sweep.pe_factor) == {"hardware.pe_cols": 2}  # pe_rows = 2 on every point


def test_a_line_plots_ticks_have_thousands_separators():
    rows = [{"hardware.pe_cols": c, "cycles": 10_000 // c} for c in (4, 16, 64, 256)]
    fig = figures.sweep_line_figure(rows, "hardware.pe_cols", "cycles", pes={"hardware.pe_cols": 4})
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels == ["16", "64", "256", "1,024"]


def test_a_share_is_drawn_on_its_whole_scale():
    rows = [{"hardware.pe_cols": c, "utilization": 0.8 / c} for c in (1, 2, 4, 8)]
    fig = figures.sweep_line_figure(rows, "hardware.pe_cols", "utilization")
    assert fig.axes[0].get_ylim() == (0, 1)
