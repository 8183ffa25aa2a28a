"""The run's figures show each PE's states where their axes say, in the palette their legend
shows (a style sheet recolours both), stay bounded at any PE count (per-PE rows become bands
that keep every PE-cycle), never let layer names collide, and save as real PNG, SVG and PDF
files, choosing the format by the file name's extension."""

import subprocess
import sys
from pathlib import Path

import matplotlib.image
import matplotlib.style
import numpy as np
import pytest
from cycler import cycler
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.backends.backend_agg import FigureCanvasAgg

from accelsim.errors import ConfigError
from accelsim.outputs import plotting
from accelsim.outputs.plotting import MAX_FIGSIZE, band_cycles, band_size, palette
from accelsim.trace import State, StateIntervals, StateTrace

PLOTS = Path(__file__).resolve().parent.parent / "plots"


def random_trace(n_pes: int, changes: int = 20, seed: int = 0) -> dict[str, np.ndarray]:
    """A trace.npz-like dict: each PE starts idle and changes state `changes` times over
    [0, 1000), so its intervals cover [0, 1000) as the simulator's do."""
    rng = np.random.default_rng(seed)
    trace = StateTrace(n_pes)
    for pe in range(n_pes):
        trace.enter(pe, State.IDLE, 0)
        for t in np.sort(rng.integers(0, 1000, changes)):
            trace.enter(pe, State(rng.integers(len(State))), int(t), int(rng.integers(-1, 2)))
    s = trace.close(1000)
    return {
        "pe": s.pe,
        "start": s.start,
        "end": s.end,
        "state": s.state,
        "held_by": s.held_by,
        "n_pes": np.array(n_pes),
        "layer_start": np.array([0, 400]),
        "layer_end": np.array([400, 1000]),
        "layer_name": np.array(["conv1", "fc"]),
        "level_buffer": np.array([0, 1, 2]),
        "level_t": np.array([0, 10, 20]),
        "level_bytes": np.array([100, 200, 300]),
    }


def trace_of(states: StateIntervals, n_pes: int, layers=((0, 1, "all"),)) -> dict:
    """A trace.npz-like dict of these intervals and layers (start, end, name)."""
    return {
        "pe": states.pe,
        "start": states.start,
        "end": states.end,
        "state": states.state,
        "held_by": states.held_by,
        "n_pes": np.array(n_pes),
        "layer_start": np.array([l[0] for l in layers]),
        "layer_end": np.array([l[1] for l in layers]),
        "layer_name": np.array([l[2] for l in layers]),
        "level_buffer": np.array([], dtype=int),
        "level_t": np.array([], dtype=int),
        "level_bytes": np.array([], dtype=int),
    }


def pixels(fig) -> np.ndarray:
    """The figure drawn by Agg: (height, width, 4) uint8, row 0 at the top."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())


def colour_at(image: np.ndarray, ax, x: float, y: float) -> np.ndarray:
    """The RGB at data point (x, y) of `ax`."""
    px, py = ax.transData.transform((x, y))
    return image[int(image.shape[0] - py), int(px), :3].astype(int)


def rgb255(colour) -> np.ndarray:
    return np.rint(np.array(colour[:3]) * 255).astype(int)


def states_of(*rows) -> StateIntervals:
    """Intervals from (pe, start, end, state) rows."""
    pe, start, end, state = (np.array(c) for c in zip(*rows))
    return StateIntervals(pe, start, end, state.astype(np.int8), np.full(len(pe), -1))


def test_one_row_per_pe_up_to_64_then_about_32_bands():
    assert [band_size(n) for n in (1, 16, 64, 65, 256, 1000, 1024)] == [1, 1, 1, 3, 8, 32, 32]


def test_band_cycles_of_a_small_trace():
    # PE 0: busy [0, 10), idle [10, 20); PE 1: wait_inputs [0, 5), busy [5, 20)
    states = StateIntervals(
        np.array([0, 0, 1, 1]),
        np.array([0, 10, 0, 5]),
        np.array([10, 20, 5, 20]),
        np.array([State.BUSY, State.IDLE, State.WAIT_INPUTS, State.BUSY]),
        np.full(4, -1),
    )
    cycles = band_cycles(states, 2, 2, np.array([0, 10, 20]))
    expected = np.zeros((1, len(State), 2), dtype=np.int64)
    expected[0, State.BUSY] = [15, 10]
    expected[0, State.WAIT_INPUTS] = [5, 0]
    expected[0, State.IDLE] = [0, 10]
    np.testing.assert_array_equal(cycles, expected)


@settings(max_examples=50, deadline=None)
@given(
    n_pes=st.integers(1, 150),
    band=st.integers(1, 40),
    seed=st.integers(0, 1000),
    cuts=st.lists(st.integers(0, 1000), min_size=2, max_size=30, unique=True),
)
def test_bands_keep_every_pe_cycle_of_each_state(n_pes, band, seed, cuts):
    trace = random_trace(n_pes, 5, seed)
    states = plotting.intervals_of(trace)
    edges = np.sort(cuts)
    cycles = band_cycles(states, n_pes, band, edges)
    window = states.window(edges[0], edges[-1]).cycles_by_state(n_pes)
    per_band = np.add.reduceat(window, np.arange(0, n_pes, band), axis=0)
    np.testing.assert_array_equal(cycles.sum(axis=2), per_band)
    pes = np.minimum(band, n_pes - np.arange(0, n_pes, band))
    np.testing.assert_array_equal(cycles.sum(axis=1), pes[:, None] * np.diff(edges))


def test_layer_names_survive_short_layers_and_zooming():
    starts = np.array([0, 1000, 1002, 1004, 2000])
    ends = np.array([1000, 1002, 1004, 2000, 3000])
    names = np.array(["a", "b", "c", "d", "e"])
    at, shown = plotting.layer_label_positions(starts, ends, names, 0, 3000)
    assert shown == ["a", "b", "c", "d", "e"]  # 2-cycle layers keep their names
    assert all(b - a >= 0.006 * 3000 - 1e-9 for a, b in zip(at, at[1:]))
    at, shown = plotting.layer_label_positions(starts, ends, names, 1500, 1800)
    assert shown == ["d"] and 1500 < at[0] < 1800  # a layer wider than the window


@settings(max_examples=100, deadline=None)
@given(
    lengths=st.lists(st.integers(1, 10_000), min_size=1, max_size=300),
    gap=st.floats(0.001, 0.05),
    data=st.data(),
)
def test_layer_names_never_collide_and_stay_on_the_axis(lengths, gap, data):
    ends = np.cumsum(lengths)
    starts = ends - lengths
    names = np.array([f"l{i}" for i in range(len(lengths))])
    lo = data.draw(st.integers(0, int(ends[-1]) - 1))
    hi = data.draw(st.integers(lo + 1, int(ends[-1])))
    at, shown = plotting.layer_label_positions(starts, ends, names, lo, hi, gap)
    inside = [str(n) for a, b, n in zip(starts, ends, names) if min(b, hi) > max(a, lo)]
    assert set(shown) <= set(inside) and shown == sorted(shown, key=inside.index)
    if len(inside) <= 1 / gap:  # room for every name: each one is shown
        assert shown == inside
    assert all(lo <= a <= hi for a in at)
    assert all(b - a >= gap * (hi - lo) * (1 - 1e-9) for a, b in zip(at, at[1:]))


def test_a_small_timeline_shows_each_pes_states_where_they_happen():
    # PE 0 busy for 300 cycles; PE 1 waits for inputs, then busy from cycle 100
    states = states_of((0, 0, 300, State.BUSY), (1, 0, 100, State.WAIT_INPUTS), (1, 100, 300, 0))
    fig = plotting.timeline_figure(trace_of(states, 2, [(0, 300, "conv")]))
    ax, mix = fig.axes[:2]
    image = pixels(fig)
    colours = palette()
    busy, waiting = rgb255(colours[State.BUSY]), rgb255(colours[State.WAIT_INPUTS])
    for t in (1, 99, 150, 299):
        assert (colour_at(image, ax, t, 0.5) == busy).all()
        assert (colour_at(image, ax, t, 1.0) == 255).all()  # the axes' face between rows
    for t in (1, 50, 99):
        assert (colour_at(image, ax, t, 1.5) == waiting).all()
    for t in (101, 200, 299):
        assert (colour_at(image, ax, t, 1.5) == busy).all()
    # the strip below: before cycle 100 half the PEs wait (top half), then all are busy
    assert (colour_at(image, mix, 50, 0.25) == busy).all()
    assert (colour_at(image, mix, 50, 0.75) == waiting).all()
    assert (colour_at(image, mix, 200, 0.75) == busy).all()


def test_a_pixel_column_stacks_the_states_of_its_bin_in_their_own_colours():
    # 60,000 cycles in fewer pixels: PE 1 changes state inside a pixel's bin; the column
    # shows busy below and waiting above, never a blend that reads as a third state
    states = states_of(
        (0, 0, 60000, State.WAIT_INPUTS),
        (1, 0, 30017, State.WAIT_INPUTS),
        (1, 30017, 60000, State.BUSY),
    )
    fig = plotting.timeline_figure(trace_of(states, 2, [(0, 60000, "conv")]))
    ax = fig.axes[0]
    image = pixels(fig)
    colours = palette()
    allowed = {tuple(rgb255(colours[s])) for s in (State.BUSY, State.WAIT_INPUTS)}
    x, top = (int(v) for v in ax.transData.transform((30017, 1.15)))
    _, bottom = (int(v) for v in ax.transData.transform((30017, 1.85)))
    h = image.shape[0]
    column = {tuple(c) for c in image[h - top : h - bottom, x, :3].astype(int).tolist()}
    assert column <= allowed and len(column) == 2


def test_1024_pes_are_32_bands_stacking_the_share_of_their_pes_in_each_state():
    # even PEs busy and odd PEs idle up to PE 511; PEs 512 on waiting for weights
    n = 1024
    pe = np.arange(n)
    state = np.where(pe >= 512, State.WAIT_WEIGHTS, np.where(pe % 2, State.IDLE, State.BUSY))
    states = StateIntervals(
        pe, np.zeros(n, dtype=np.int64), np.full(n, 1000), state.astype(np.int8), np.full(n, -1)
    )
    fig = plotting.timeline_figure(trace_of(states, n, [(0, 1000, "conv")]))
    ax = fig.axes[0]
    assert ax.get_ylim() == (32, 0)
    image, colours = pixels(fig), palette()
    for band, low, high in (
        (0, State.BUSY, State.IDLE),
        (15, State.BUSY, State.IDLE),
        (16, State.WAIT_WEIGHTS, State.WAIT_WEIGHTS),
        (31, State.WAIT_WEIGHTS, State.WAIT_WEIGHTS),
    ):
        # the band's bar fills 0.8 of its row: busy in its lower half, idle in its upper half
        assert (colour_at(image, ax, 500, band + 0.7) == rgb255(colours[low])).all()
        assert (colour_at(image, ax, 500, band + 0.3) == rgb255(colours[high])).all()


def test_a_window_narrower_than_the_pixels_shows_each_cycle_where_the_axis_says():
    states = states_of(
        (0, 0, 120, State.BUSY), (0, 120, 130, State.WAIT_NOC), (0, 130, 1000, State.BUSY)
    )
    fig = plotting.timeline_figure(trace_of(states, 1, [(0, 1000, "conv")]), window=(100, 150))
    ax = fig.axes[0]
    assert ax.get_xlim() == (100, 150)
    image, colours = pixels(fig), palette()
    for t, s in ((101, 0), (119.5, 0), (120.5, 3), (129.5, 3), (130.5, 0), (149, 0)):
        assert (colour_at(image, ax, t, 0.5) == rgb255(colours[State(s)])).all(), t


def test_a_style_sheet_recolours_the_drawing_and_its_legend_together():
    style = {
        "axes.prop_cycle": cycler(
            color=["#000001", "#000002", "#123456", "#654321", "#0000aa", "#00aa00"]
        )
    }
    states = states_of((0, 0, 1000, State.BUSY), (1, 0, 1000, State.WAIT_INPUTS))
    trace = trace_of(states, 2)
    with matplotlib.style.context(style):
        timeline = plotting.timeline_figure(trace)
        utilization = plotting.utilization_figure(trace)
    # busy is C2, wait_inputs C3 of the style's cycle: drawn so, and so in the legend
    image = pixels(timeline)
    swatches = {t.get_text(): h for h, t in zip(*_legend(timeline))}
    for pe, state, hex_colour in ((0, State.BUSY, "#123456"), (1, State.WAIT_INPUTS, "#654321")):
        drawn = colour_at(image, timeline.axes[0], 500, pe + 0.5)
        want = rgb255(matplotlib.colors.to_rgba(hex_colour))
        assert (drawn == want).all()
        assert (rgb255(swatches[state.label].get_facecolor()) == want).all()
    bars = {t.get_text(): h for h, t in zip(*_legend(utilization))}
    drawn = [c for c in utilization.axes[0].collections if len(c.get_facecolor())]
    assert (
        rgb255(bars["busy"].get_facecolor()).tolist()
        == rgb255(drawn[State.BUSY].get_facecolor()[0]).tolist()
        == [0x12, 0x34, 0x56]
    )


def _legend(fig):
    legend = fig.legends[0]
    return legend.legend_handles, legend.get_texts()


def test_colors_given_to_a_figure_override_the_palette():
    states = states_of((0, 0, 1000, State.IDLE))
    fig = plotting.timeline_figure(trace_of(states, 1), colors={State.IDLE: "#ff00ff"})
    assert (colour_at(pixels(fig), fig.axes[0], 500, 0.5) == [255, 0, 255]).all()


def test_pdf_and_svg_are_vector_with_the_timeline_rows_as_images(tmp_path):
    fig = plotting.timeline_figure(random_trace(16))
    pdf = plotting.save_figure(fig, tmp_path / "t.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    # two images (the rows, the strip; the rows' transparent gaps in a soft mask), the rest vector
    assert pdf.count(b"/Subtype /Image") - pdf.count(b"/SMask") == 2
    assert b"/Font" in pdf  # text as text
    svg = plotting.save_figure(fig, tmp_path / "t.svg").read_text()
    assert svg.count("<image ") == 2 and svg.count("<path ") > 20
    png = plotting.save_figure(fig, tmp_path / "t.png", dpi=50)
    assert matplotlib.image.imread(png).shape[1] == round(MAX_FIGSIZE[0] * 50)
    # no creation date: the same figure gives the same bytes
    assert plotting.save_figure(fig, tmp_path / "u.pdf").read_bytes() == pdf


def test_pdfs_embed_truetype_fonts_and_leave_the_callers_rcparams_alone(tmp_path):
    fig = plotting.stalls_figure(
        [{"name": "conv1", "cycles": 10, "states": {s.label: 1 / len(State) for s in State}}],
        "fonts: mm$^2$",  # mathtext too
    )
    with matplotlib.rc_context({"pdf.fonttype": 3}):
        pdf = plotting.save_figure(fig, tmp_path / "f.pdf").read_bytes()
        assert matplotlib.rcParams["pdf.fonttype"] == 3
    assert b"/Type3" not in pdf and (b"/TrueType" in pdf or b"/CIDFontType2" in pdf)


def test_a_style_is_a_known_name_or_a_style_sheet_else_one_line(tmp_path):
    with plotting.style_context("ggplot"):
        assert matplotlib.rcParams["axes.facecolor"] == "#E5E5E5"
    sheet = tmp_path / "paper.mplstyle"
    sheet.write_text("axes.facecolor: 123456\n")
    with plotting.style_context(str(sheet)):
        assert matplotlib.rcParams["axes.facecolor"] == "#123456"
    assert matplotlib.rcParams["axes.facecolor"] != "#123456"
    empty = tmp_path / "empty.mplstyle"
    empty.write_text("# nothing\n")
    for style, message in (
        ("ggplott", "neither a matplotlib style name nor a file"),
        (str(tmp_path / "missing.mplstyle"), "neither a matplotlib style name nor a file"),
        (str(empty), "sets no rcParams"),
    ):
        with pytest.raises(ConfigError, match=message) as caught:
            plotting.style_context(style)
        assert "\n" not in str(caught.value) and style in str(caught.value)


@pytest.mark.parametrize("name", ["t.jpg", "t", "t.PNG.txt"])
def test_an_unknown_extension_is_refused_in_one_line(tmp_path, name):
    fig = plotting.utilization_figure(random_trace(2))
    with pytest.raises(ConfigError, match=r"unknown figure format .*\.png, \.svg or \.pdf"):
        plotting.save_figure(fig, tmp_path / name)
    assert not (tmp_path / name).exists()


def test_figures_stop_growing():
    for n_pes in (16, 64, 1024):
        trace = random_trace(n_pes, 5)
        for fig in (
            plotting.timeline_figure(trace, window=(100, 900)),
            plotting.utilization_figure(trace),
        ):
            width, height = fig.get_size_inches()
            assert width <= MAX_FIGSIZE[0] and height <= MAX_FIGSIZE[1], n_pes
    layers = [
        {"name": f"layer{i}.conv", "cycles": 1000 + i, "states": {s.label: 1 / 6 for s in State}}
        for i in range(150)
    ]
    width, height = plotting.stalls_figure(layers).get_size_inches()
    assert width <= MAX_FIGSIZE[0] and height <= MAX_FIGSIZE[1]


def test_utilization_bars_stack_each_pes_shares():
    # PE 0 busy throughout; PE 1 busy for the first half, then idle
    states = states_of((0, 0, 1000, State.BUSY), (1, 0, 500, State.BUSY), (1, 500, 1000, 5))
    fig = plotting.utilization_figure(trace_of(states, 2))
    ax, image, colours = fig.axes[0], pixels(fig), palette()
    assert (colour_at(image, ax, 0, 0.9) == rgb255(colours[State.BUSY])).all()
    assert (colour_at(image, ax, 1, 0.25) == rgb255(colours[State.BUSY])).all()
    assert (colour_at(image, ax, 1, 0.9) == rgb255(colours[State.IDLE])).all()  # mean: 0.75
    assert (colour_at(image, ax, 0.5, 0.25) == 255).all()  # between the bars


def test_buffer_levels_are_steps_under_the_capacity_line():
    trace = random_trace(1)
    trace.update(
        level_buffer=np.array([0, 0, 0]),
        level_t=np.array([0, 400, 700]),
        level_bytes=np.array([512, 1024, 0]),
    )
    fig = plotting.buffers_figure(trace, {"weight": 2048.0})
    weight = fig.axes[0]
    line = weight.lines[0]
    np.testing.assert_array_equal(line.get_xdata(), [0, 400, 700])
    np.testing.assert_array_equal(line.get_ydata(), [0.5, 1.0, 0])
    assert line.get_drawstyle() == "steps-post"
    assert weight.get_ylim() == (0, 2.0 * 1.08)


@settings(max_examples=60, deadline=None)
@given(
    levels=st.lists(st.integers(0, 1000), min_size=1, max_size=400),
    columns=st.integers(1, 30),
)
def test_a_long_buffer_line_keeps_each_columns_first_last_lowest_and_highest(levels, columns):
    t = np.arange(len(levels)) * 3
    level = np.array(levels, dtype=float)
    kept_t, kept = plotting._envelope(t, level, 0, int(t[-1]) + 1, columns)
    assert len(kept) <= max(4 * columns, len(levels))
    assert set(kept_t.tolist()) <= set(t.tolist()) and (np.diff(kept_t) > 0).all()
    column = t * columns // (int(t[-1]) + 1)
    kept_column = kept_t * columns // (int(t[-1]) + 1)
    for c in np.unique(column):
        mine = level[column == c]
        theirs = kept[kept_column == c]
        assert theirs[0] == mine[0] and theirs[-1] == mine[-1]
        assert theirs.min() == mine.min() and theirs.max() == mine.max()


def test_empty_runs_still_get_their_figures(tmp_path):
    """No intervals (nothing ran), no layers, no buffer traffic: files, not exceptions."""
    empty = StateIntervals(*(np.array([], dtype=np.int64) for _ in range(5)))
    trace = trace_of(empty, 4, [])
    for name, fig in (
        ("timeline", plotting.timeline_figure(trace)),
        ("utilization", plotting.utilization_figure(trace)),
        ("buffers", plotting.buffers_figure(trace)),
        ("stalls", plotting.stalls_figure([])),
    ):
        path = plotting.save_figure(fig, tmp_path / f"{name}.png")
        assert matplotlib.image.imread(path).shape[0] > 100


def test_stall_bars_are_as_tall_as_each_layers_cycles(monkeypatch):
    drawn = []
    monkeypatch.setattr(plotting, "stacked_bars", lambda ax, x, h, c, **k: drawn.append(h))
    layers = [
        {
            "name": n,
            "cycles": c,
            "states": {s.label: (1.0 if s == State.BUSY else 0.0) for s in State},
        }
        for n, c in (("big", 3_000_000), ("small", 30_000))
    ]
    plotting.stalls_figure(layers)
    cycles, shares = drawn
    np.testing.assert_allclose(cycles.sum(axis=0), [3000, 30])  # in thousands
    np.testing.assert_allclose(shares.sum(axis=0), [1, 1])


def test_a_run_without_plots_imports_no_matplotlib_and_figures_no_pyplot():
    code = "import sys, accelsim.cli, accelsim.pipeline; sys.exit('matplotlib' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
    code = (
        "import sys; from accelsim.outputs import plotting, figures; "
        "sys.exit('matplotlib.pyplot' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def _script(name, *args):
    return subprocess.run(
        [sys.executable, str(PLOTS / name), *map(str, args)], capture_output=True, text=True
    )


def test_timeline_script_rejects_an_empty_window_in_one_line(tmp_path):
    done = _script("timeline.py", tmp_path, "--window", 5, 5)
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1].endswith("--window 5 5: T1 must be after T0")


@pytest.mark.slow
def test_plot_scripts_choose_the_format_by_extension_and_refuse_bad_input(tmp_path):
    np.savez(tmp_path / "trace.npz", **random_trace(4))
    done = _script("timeline.py", tmp_path, "--out", tmp_path / "t.pdf", "--window", 100, 200)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "t.pdf").read_bytes().startswith(b"%PDF-")
    done = _script("utilization.py", tmp_path, "--format", "svg")
    assert done.returncode == 0 and (tmp_path / "utilization.svg").read_text().startswith("<?xml")
    for name, args, says in (
        ("timeline.py", ("--out", tmp_path / "t.gif"), "unknown figure format '.gif'"),
        ("timeline.py", ("--window", 5000, 6000), "the run ends at cycle 1,000"),
        ("utilization.py", ("--out", tmp_path / "u.svg", "--format", "pdf"), "pick one"),
        ("utilization.py", ("--style", tmp_path / "none.mplstyle"), "none.mplstyle"),
    ):
        done = _script(name, tmp_path, *args)
        assert done.returncode == 2 and len(done.stderr.splitlines()) == 1, done.stderr
        assert says in done.stderr
    assert not (tmp_path / "timeline_5000_6000.png").exists()


def test_the_timeline_script_refuses_bad_input_in_one_line(tmp_path):
    """A missing, corrupt or incomplete trace, a window that overflows or starts after the
    run, an --out into a missing folder: one line and exit 2, never a traceback."""
    import subprocess
    import sys

    script = Path(__file__).resolve().parents[1] / "plots" / "timeline.py"
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "trace.npz").write_text("junk")
    (tmp_path / "part").mkdir()
    np.savez(tmp_path / "part" / "trace.npz", pe=np.zeros(1))
    ok = tmp_path / "ok"
    ok.mkdir()
    np.savez(
        ok / "trace.npz",
        pe=np.zeros(1, np.int64),
        start=np.zeros(1, np.int64),
        end=np.full(1, 10, np.int64),
        state=np.zeros(1, np.int64),
        held_by=np.full(1, -1, np.int64),
    )
    for argv, words in (
        (["none"], "no trace here"),
        (["bad"], "not a trace written by accelsim"),
        (["part"], "the trace lacks start"),
        (["ok", "--window", "0", str(2**70)], "--window"),
        (["ok", "--window", "50", "60"], "the run ends at cycle 10"),
        (["ok", "--out", str(tmp_path / "nowhere" / "t.png")], "no directory"),
    ):
        done = subprocess.run(
            [sys.executable, str(script), *argv], cwd=tmp_path, capture_output=True, text=True
        )
        # argparse's usage block (wrapped over lines) comes before its own one-line error
        lines = [l for l in done.stderr.splitlines() if "error:" in l]
        assert done.returncode == 2 and len(lines) == 1 and words in lines[0], done.stderr


def _no_two_overlap(boxes) -> bool:
    boxes = sorted(boxes, key=lambda b: b.x0)
    return all(a.x1 <= b.x0 for a, b in zip(boxes, boxes[1:]))


@pytest.mark.parametrize("n_pes", [16, 48, 64])
def test_utilization_pe_labels_never_run_together_and_the_legend_stays_in_the_figure(n_pes):
    fig = plotting.utilization_figure(random_trace(n_pes, changes=3))
    FigureCanvasAgg(fig).draw()
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    shown = [t for t in ax.get_xticklabels() if t.get_text()]
    assert _no_two_overlap([t.get_window_extent(renderer) for t in shown])
    assert shown[0].get_text() == "0" and len(shown) >= min(n_pes, 16)
    (legend,) = fig.legends
    box, page = legend.get_window_extent(renderer), fig.bbox
    assert page.x0 <= box.x0 and box.x1 <= page.x1
    assert box.x0 > ax.get_window_extent(renderer).x1  # right of the bars, not on them
