"""Plots stay readable and bounded at any PE count: per-PE rows become bands of PEs that keep
every PE-cycle, figures stop growing at MAX_FIGSIZE, and each function writes its PNG."""

import matplotlib.image
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from accelsim import plotting
from accelsim.plotting import MAX_FIGSIZE, band_cycles, band_size, plt
from accelsim.trace import State, StateIntervals, StateTrace

DPI = 130
MAX_PIXELS = (MAX_FIGSIZE[1] * DPI, MAX_FIGSIZE[0] * DPI)  # (height, width)


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
    return {"pe": s.pe, "start": s.start, "end": s.end, "state": s.state, "held_by": s.held_by,
            "n_pes": np.array(n_pes), "layer_start": np.array([0, 400]),
            "layer_end": np.array([400, 1000]), "layer_name": np.array(["conv1", "fc"]),
            "level_buffer": np.array([0, 1, 2]), "level_t": np.array([0, 10, 20]),
            "level_bytes": np.array([100, 200, 300])}


def png_shape(path) -> tuple[int, int]:
    return matplotlib.image.imread(path).shape[:2]


def test_one_row_per_pe_up_to_64_then_about_32_bands():
    assert [band_size(n) for n in (1, 16, 64, 65, 256, 1000, 1024)] == [1, 1, 1, 3, 8, 32, 32]


def test_band_cycles_of_a_small_trace():
    # PE 0: busy [0, 10), idle [10, 20); PE 1: wait_inputs [0, 5), busy [5, 20)
    states = StateIntervals(np.array([0, 0, 1, 1]), np.array([0, 10, 0, 5]),
                            np.array([10, 20, 5, 20]),
                            np.array([State.BUSY, State.IDLE, State.WAIT_INPUTS, State.BUSY]),
                            np.full(4, -1))
    cycles = band_cycles(states, 2, 2, np.array([0, 10, 20]))
    expected = np.zeros((1, len(State), 2), dtype=np.int64)
    expected[0, State.BUSY] = [15, 10]
    expected[0, State.WAIT_INPUTS] = [5, 0]
    expected[0, State.IDLE] = [0, 10]
    np.testing.assert_array_equal(cycles, expected)


@settings(max_examples=50, deadline=None)
@given(n_pes=st.integers(1, 150), band=st.integers(1, 40), seed=st.integers(0, 1000),
       cuts=st.lists(st.integers(0, 1000), min_size=2, max_size=30, unique=True))
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


def test_small_timeline_is_one_image_whose_pixels_mix_the_states_of_their_bin():
    import matplotlib.colors
    from accelsim.trace import StateIntervals
    # PE 0 busy for 300 cycles; PE 1 waits for inputs, then busy from cycle 100
    states = StateIntervals(np.array([0, 1, 1]), np.array([0, 0, 100]),
                            np.array([300, 100, 300]),
                            np.array([State.BUSY, State.WAIT_INPUTS, State.BUSY], dtype=np.int8),
                            np.array([-1, -1, -1]))
    fig, ax = plt.subplots()
    plotting.draw_timeline(ax, states, 2)
    (image,) = ax.get_images()
    pixels = np.asarray(image.get_array())
    assert pixels.shape == (20, 300, 3) and not ax.collections
    rgb = lambda s: np.rint(255 * np.array(matplotlib.colors.to_rgb(plotting.COLORS[s])))
    assert (pixels[[0, 9, 10, 19]] == 255).all()               # the white gaps between rows
    assert (pixels[1:9] == rgb(State.BUSY)).all()
    assert (pixels[11:19, :100] == rgb(State.WAIT_INPUTS)).all()
    assert (pixels[11:19, 100:] == rgb(State.BUSY)).all()
    assert ax.get_ylabel() == "PE"
    plt.close(fig)
    # 6,000 cycles in 2,000 pixels: the bin [3000, 3003) is a third waiting, two thirds busy
    states = StateIntervals(np.array([0, 1, 1]), np.array([0, 0, 3001]),
                            np.array([6000, 3001, 6000]), states.state, states.held_by)
    fig, ax = plt.subplots()
    plotting.draw_timeline(ax, states, 2)
    mixed = np.asarray(ax.get_images()[0].get_array())[15, 1000]
    want = (rgb(State.WAIT_INPUTS) + 2 * rgb(State.BUSY)) / 3
    assert np.abs(mixed - want).max() <= 1
    plt.close(fig)


def test_1024_pe_timeline_has_32_rows_of_32_pes():
    trace = random_trace(1024, 5)
    fig, ax = plt.subplots()
    plotting.draw_timeline(ax, plotting.intervals_of(trace), 1024)
    assert len(ax.get_yticks()) == 32 and ax.get_yticklabels()[-1].get_text() == "992-1023"
    assert "bands of 32 PEs" in ax.get_ylabel()
    assert len(ax.collections) == len(State)
    plt.close(fig)


def test_per_pe_figures_stop_growing(tmp_path):
    for n_pes in (16, 64, 1024):
        trace = random_trace(n_pes, 5)
        plotting.save_timeline(trace, tmp_path / f"timeline{n_pes}.png", window=(100, 900))
        plotting.save_utilization(trace, tmp_path / f"utilization{n_pes}.png")
        for name in ("timeline", "utilization"):
            height, width = png_shape(tmp_path / f"{name}{n_pes}.png")
            assert height <= MAX_PIXELS[0] and width <= MAX_PIXELS[1], (name, n_pes)
    assert png_shape(tmp_path / "timeline64.png")[0] == MAX_PIXELS[0]


def test_per_layer_figures_stop_growing(tmp_path):
    layers = [{"name": f"layer{i}.conv", "cycles": 1000 + i,
               "states": {s.label: 1 / len(State) for s in State}} for i in range(150)]
    plotting.save_stall_breakdown(layers, tmp_path / "stalls.png")
    height, width = png_shape(tmp_path / "stalls.png")
    assert height <= MAX_FIGSIZE[1] * DPI and width <= MAX_FIGSIZE[0] * DPI


def test_buffer_occupancy_png_is_written(tmp_path):
    plotting.save_buffer_occupancy(random_trace(4), tmp_path / "buffers.png",
                                   {"weight": 1024.0, "input": float("inf")})
    assert png_shape(tmp_path / "buffers.png") == (6.5 * DPI, 12 * DPI)


def test_layer_names_survive_short_layers_and_zooming():
    starts = np.array([0, 1000, 1002, 1004, 2000])
    ends = np.array([1000, 1002, 1004, 2000, 3000])
    names = np.array(["a", "b", "c", "d", "e"])
    at, shown = plotting.layer_label_positions(starts, ends, names, 0, 3000)
    assert shown == ["a", "b", "c", "d", "e"]              # 2-cycle layers keep their names
    assert all(b - a >= 0.006 * 3000 - 1e-9 for a, b in zip(at, at[1:]))
    at, shown = plotting.layer_label_positions(starts, ends, names, 1500, 1800)
    assert shown == ["d"] and 1500 < at[0] < 1800         # a layer wider than the window


def test_stall_bars_are_as_tall_as_each_layers_cycles(tmp_path, monkeypatch):
    drawn = []
    monkeypatch.setattr(plotting, "stacked_bars", lambda ax, x, h, **k: drawn.append(h))
    layers = [{"name": n, "cycles": c, "states": {s.label: (1.0 if s == State.BUSY else 0.0)
                                                  for s in State}}
              for n, c in (("big", 3_000_000), ("small", 30_000))]
    plotting.save_stall_breakdown(layers, tmp_path / "stalls.png")
    cycles, shares = drawn
    np.testing.assert_allclose(cycles.sum(axis=0), [3000, 30])   # in thousands
    np.testing.assert_allclose(shares.sum(axis=0), [1, 1])
