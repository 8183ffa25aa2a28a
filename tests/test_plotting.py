"""Plots show each PE's states where their axes say and stay bounded at any PE count: per-PE
rows become bands of PEs that keep every PE-cycle, pictures stop growing at MAX_SIZE, layer names
never collide, and each function writes its PNG, even for an empty run."""

import subprocess
import sys
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from accelsim.outputs import plotting
from accelsim.outputs.charts import rgb
from accelsim.outputs.plotting import COLORS, MAX_SIZE, band_cycles, band_size
from accelsim.trace import State, StateIntervals, StateTrace


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


def png_shape(path) -> tuple[int, int]:
    """(height, width) of a PNG file."""
    width, height = Image.open(path).size
    return height, width


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


def colour_at(canvas, x: float, y: float) -> np.ndarray:
    """The RGB of the pixel at canvas position (x, y)."""
    return canvas.pixels()[int(np.floor(y)), int(np.floor(x))].astype(int)


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


def test_a_small_timeline_shows_each_pes_states_where_they_happen():
    # PE 0 busy for 300 cycles; PE 1 waits for inputs, then busy from cycle 100
    states = StateIntervals(
        np.array([0, 1, 1]),
        np.array([0, 0, 100]),
        np.array([300, 100, 300]),
        np.array([State.BUSY, State.WAIT_INPUTS, State.BUSY], dtype=np.int8),
        np.array([-1, -1, -1]),
    )
    canvas, ax, mix = plotting.draw_timeline(trace_of(states, 2, [(0, 300, "conv")]))
    busy, waiting = np.array(rgb(COLORS[State.BUSY])), np.array(rgb(COLORS[State.WAIT_INPUTS]))
    row0, row1, between = float(ax.py(0.5)), float(ax.py(1.5)), float(ax.py(1.0))
    for t in (1, 99, 150, 299):
        assert (colour_at(canvas, ax.px(t), row0) == busy).all()
        assert (colour_at(canvas, ax.px(t), between) == 255).all()  # white gap between rows
    for t in (1, 50, 99):
        assert (colour_at(canvas, ax.px(t), row1) == waiting).all()
    for t in (101, 200, 299):
        assert (colour_at(canvas, ax.px(t), row1) == busy).all()
    # the strip below: before cycle 100 half the PEs wait (top half red), then all are busy
    assert (colour_at(canvas, mix.px(50), mix.py(0.25)) == busy).all()
    assert (colour_at(canvas, mix.px(50), mix.py(0.75)) == waiting).all()
    assert (colour_at(canvas, mix.px(200), mix.py(0.75)) == busy).all()


def test_a_pixel_column_stacks_the_states_of_its_bin_in_their_own_colours():
    # 6,000 cycles in fewer pixels: PE 1 changes state halfway through a pixel's bin; the
    # column shows busy below and waiting above, never a blend that reads as a third state
    def draw(change):
        states = StateIntervals(
            np.array([0, 1, 1]),
            np.array([0, 0, change]),
            np.array([6000, change, 6000]),
            np.array([State.WAIT_INPUTS, State.WAIT_INPUTS, State.BUSY], dtype=np.int8),
            np.full(3, -1),
        )
        return plotting.draw_timeline(trace_of(states, 2, [(0, 6000, "conv")]))

    _, ax, _ = draw(3000)
    edges = plotting._edges(0, 6000, ax.width)
    column = int(np.argmax(np.diff(edges)[len(edges) // 2 :] >= 4)) + len(edges) // 2
    e0, e1 = edges[column], edges[column + 1]
    canvas, ax, _ = draw(e0 + (e1 - e0) // 2)
    busy, waiting = rgb(COLORS[State.BUSY]), rgb(COLORS[State.WAIT_INPUTS])
    pixels = canvas.pixels()
    x = ax.left + column
    # row 1's bar spans y = 1.9 (level 0) up to y = 1.1 (level 1)
    assert (pixels[int(ax.py(1.9 - 0.8 * 0.2)), x] == busy).all()
    assert (pixels[int(ax.py(1.9 - 0.8 * 0.8)), x] == waiting).all()
    colours = {tuple(c) for c in pixels[int(ax.py(1.85)) : int(ax.py(1.15)), x]}
    assert colours <= {tuple(busy), tuple(waiting)}
    assert (pixels[int(ax.py(1.5)), x + 1] == busy).all()


def test_1024_pes_are_32_bands_stacking_the_share_of_their_pes_in_each_state():
    # even PEs busy and odd PEs idle up to PE 511; PEs 512 on waiting for weights
    n = 1024
    pe = np.arange(n)
    state = np.where(pe >= 512, State.WAIT_WEIGHTS, np.where(pe % 2, State.IDLE, State.BUSY))
    states = StateIntervals(
        pe, np.zeros(n, dtype=np.int64), np.full(n, 1000), state.astype(np.int8), np.full(n, -1)
    )
    canvas, ax, _ = plotting.draw_timeline(trace_of(states, n, [(0, 1000, "conv")]))
    assert ax.ylim == (32, 0)
    for band, low, high in (
        (0, State.BUSY, State.IDLE),
        (15, State.BUSY, State.IDLE),
        (16, State.WAIT_WEIGHTS, State.WAIT_WEIGHTS),
        (31, State.WAIT_WEIGHTS, State.WAIT_WEIGHTS),
    ):
        # the band's bar fills 0.8 of its row: busy in its lower half, idle in its upper half
        assert (colour_at(canvas, ax.px(500), ax.py(band + 0.7)) == rgb(COLORS[low])).all()
        assert (colour_at(canvas, ax.px(500), ax.py(band + 0.3)) == rgb(COLORS[high])).all()


def test_a_window_narrower_than_the_pixels_shows_each_cycle_where_the_axis_says():
    states = StateIntervals(
        np.array([0, 0, 0]),
        np.array([0, 120, 130]),
        np.array([120, 130, 1000]),
        np.array([State.BUSY, State.WAIT_NOC, State.BUSY], dtype=np.int8),
        np.full(3, -1),
    )
    canvas, ax, _ = plotting.draw_timeline(
        trace_of(states, 1, [(0, 1000, "conv")]), window=(100, 150)
    )
    assert ax.xlim == (100, 150)
    for t, s in (
        (101, State.BUSY),
        (119.5, State.BUSY),
        (120.5, State.WAIT_NOC),
        (129.5, State.WAIT_NOC),
        (130.5, State.BUSY),
        (149, State.BUSY),
    ):
        assert (colour_at(canvas, ax.px(t), ax.py(0.5)) == rgb(COLORS[s])).all(), t


def test_layer_boundaries_are_drawn_as_darker_columns():
    states = StateIntervals(
        np.array([0]),
        np.array([0]),
        np.array([1000]),
        np.array([State.BUSY], dtype=np.int8),
        np.full(1, -1),
    )
    canvas, ax, _ = plotting.draw_timeline(trace_of(states, 1, [(0, 400, "a"), (400, 1000, "b")]))
    column = int(np.floor(ax.px(400)))
    y = int(ax.py(0.5))
    assert (canvas.pixels()[y, column] == np.array(rgb(COLORS[State.BUSY])) // 2).all()
    assert (canvas.pixels()[y, column + 3] == rgb(COLORS[State.BUSY])).all()


def test_utilization_bars_stack_each_pes_shares():
    # PE 0 busy throughout; PE 1 busy for the first half, then idle
    states = StateIntervals(
        np.array([0, 1, 1]),
        np.array([0, 0, 500]),
        np.array([1000, 500, 1000]),
        np.array([State.BUSY, State.BUSY, State.IDLE], dtype=np.int8),
        np.full(3, -1),
    )
    canvas, ax = plotting.draw_utilization(trace_of(states, 2))
    busy, idle = rgb(COLORS[State.BUSY]), rgb(COLORS[State.IDLE])
    assert (colour_at(canvas, ax.px(0), ax.py(0.9)) == busy).all()
    assert (colour_at(canvas, ax.px(1), ax.py(0.25)) == busy).all()
    assert (colour_at(canvas, ax.px(1), ax.py(0.75)) == idle).all()
    assert (colour_at(canvas, ax.px(0.5), ax.py(0.25)) == 255).all()  # between the bars


def test_per_pe_figures_stop_growing(tmp_path):
    for n_pes in (16, 64, 1024):
        trace = random_trace(n_pes, 5)
        plotting.save_timeline(trace, tmp_path / f"timeline{n_pes}.png", window=(100, 900))
        plotting.save_utilization(trace, tmp_path / f"utilization{n_pes}.png")
        for name in ("timeline", "utilization"):
            height, width = png_shape(tmp_path / f"{name}{n_pes}.png")
            assert height <= MAX_SIZE[1] and width <= MAX_SIZE[0], (name, n_pes)
    assert png_shape(tmp_path / "timeline64.png")[0] == MAX_SIZE[1]


def test_per_layer_figures_stop_growing(tmp_path):
    layers = [
        {
            "name": f"layer{i}.conv",
            "cycles": 1000 + i,
            "states": {s.label: 1 / len(State) for s in State},
        }
        for i in range(150)
    ]
    plotting.save_stall_breakdown(layers, tmp_path / "stalls.png")
    height, width = png_shape(tmp_path / "stalls.png")
    assert height <= MAX_SIZE[1] and width <= MAX_SIZE[0]


def test_buffer_occupancy_png_is_written(tmp_path):
    plotting.save_buffer_occupancy(
        random_trace(4), tmp_path / "buffers.png", {"weight": 1024.0, "input": float("inf")}
    )
    assert png_shape(tmp_path / "buffers.png") == (845, 1560)


def test_buffer_levels_are_steps_under_the_capacity_line():
    trace = random_trace(1)
    trace.update(
        level_buffer=np.array([0, 0, 0]),
        level_t=np.array([0, 400, 700]),
        level_bytes=np.array([512, 1024, 0]),
    )
    canvas, axes = plotting.draw_buffer_occupancy(trace, {"weight": 2048.0})
    weight = axes[0]
    blue = np.array(rgb("#1f77b4"))
    assert (colour_at(canvas, weight.px(200), weight.py(0.5)) == blue).all()  # 512 B
    assert (colour_at(canvas, weight.px(550), weight.py(1.0)) == blue).all()  # 1024 B
    assert weight.ylim == (0, 2.0 * 1.08)


def test_empty_runs_still_get_their_plots(tmp_path):
    """No intervals (nothing ran), no layers, no buffer traffic: files, not exceptions."""
    empty = StateIntervals(*(np.array([], dtype=np.int64) for _ in range(5)))
    trace = trace_of(empty, 4, [])
    plotting.save_timeline(trace, tmp_path / "timeline.png")
    plotting.save_utilization(trace, tmp_path / "utilization.png")
    plotting.save_buffer_occupancy(trace, tmp_path / "buffers.png")
    plotting.save_stall_breakdown([], tmp_path / "stalls.png")
    for name in ("timeline", "utilization", "buffers", "stalls"):
        assert png_shape(tmp_path / f"{name}.png")[0] > 100


def test_run_plots_do_not_import_matplotlib():
    code = (
        "import sys, accelsim.cli, accelsim.pipeline, accelsim.outputs.plotting; "
        "sys.exit('matplotlib' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


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


def test_stall_bars_are_as_tall_as_each_layers_cycles(tmp_path, monkeypatch):
    drawn = []
    monkeypatch.setattr(plotting, "stacked_bars", lambda ax, x, h, **k: drawn.append(h))
    layers = [
        {
            "name": n,
            "cycles": c,
            "states": {s.label: (1.0 if s == State.BUSY else 0.0) for s in State},
        }
        for n, c in (("big", 3_000_000), ("small", 30_000))
    ]
    plotting.save_stall_breakdown(layers, tmp_path / "stalls.png")
    cycles, shares = drawn
    np.testing.assert_allclose(cycles.sum(axis=0), [3000, 30])  # in thousands
    np.testing.assert_allclose(shares.sum(axis=0), [1, 1])


def test_timeline_script_rejects_an_empty_window_in_one_line(tmp_path):
    script = Path(__file__).resolve().parent.parent / "plots" / "timeline.py"
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path), "--window", "5", "5"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1].endswith("--window 5 5: T1 must be after T0")


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
        lines = [l for l in done.stderr.splitlines() if not l.startswith("usage:")]
        assert done.returncode == 2 and len(lines) == 1 and words in lines[0], done.stderr
