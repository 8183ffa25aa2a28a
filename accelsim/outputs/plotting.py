"""Plots of a run: PE timeline, per-PE utilization, stall breakdown, buffer occupancy.

Every function takes plain arrays (as stored in trace.npz), so the scripts in plots/ can
redraw from a result directory. Drawn with accelsim.outputs.charts (Pillow), not matplotlib, whose
import alone costs more than all four plots: `accelsim run` never imports matplotlib. Beyond
MAX_PE_ROWS PEs the per-PE plots show bands of PEs, and no picture grows past MAX_SIZE:
drawing time and file size stay flat from a few dozen PEs to thousands.
"""

from __future__ import annotations

import math
import zipfile
from pathlib import Path

import numpy as np

from accelsim.errors import ConfigError
from accelsim.outputs.charts import (
    DPI,
    PX_PER_PT,
    Axes,
    Canvas,
    nice_ticks,
    rgb,
    text_width,
    tick_labels,
)
from accelsim.trace import BUFFER_NAMES, State, StateIntervals

COLORS = {
    State.BUSY: "#2ca02c",
    State.WAIT_WEIGHTS: "#9467bd",
    State.WAIT_INPUTS: "#d62728",
    State.WAIT_NOC: "#ff7f0e",
    State.WAIT_OUTPUT: "#8c564b",
    State.IDLE: "#d9d9d9",
}
PALETTE = np.array([rgb(COLORS[s]) for s in State] + [(255, 255, 255)], dtype=np.uint8)
LEGEND = [(s.label, COLORS[s]) for s in State]
MAX_PE_ROWS = 64  # up to this many PEs, one row (timeline) or bar (utilization) per PE
BANDS = 32  # beyond, about this many bands of neighbouring PEs
MAX_SIZE = (14 * DPI, 12 * DPI)  # (width, height) in pixels: 14 x 12 inches at 130 dpi
MAX_NAMES = 120  # layer names on one axis: 7-point labels at the width cap


def load_trace(result_dir: Path) -> dict[str, np.ndarray]:
    """The arrays of a result directory's trace.npz."""
    path = Path(result_dir) / "trace.npz"
    if not path.is_file():
        raise ConfigError(
            f"{path}: no trace here; run `accelsim run SCENARIO --out {result_dir}` first"
        )
    try:
        with np.load(path, allow_pickle=False) as data:
            trace = {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ConfigError(
            f"{path}: not a trace written by accelsim ({exc or type(exc).__name__}); run "
            f"`accelsim run SCENARIO --out {result_dir}` again"
        ) from None
    missing = [k for k in ("pe", "start", "end", "state", "held_by") if k not in trace]
    if missing:
        raise ConfigError(
            f"{path}: the trace lacks {', '.join(missing)}; run `accelsim run SCENARIO "
            f"--out {result_dir}` again"
        )
    return trace


def intervals_of(trace: dict[str, np.ndarray]) -> StateIntervals:
    return StateIntervals(
        trace["pe"], trace["start"], trace["end"], trace["state"], trace["held_by"]
    )


def band_size(n_pes: int) -> int:
    """PEs per row of the per-PE plots: 1 up to MAX_PE_ROWS PEs; beyond, about BANDS bands of
    neighbouring PEs, since a thousand one-pixel rows can be neither drawn cheaply nor read."""
    return 1 if n_pes <= MAX_PE_ROWS else -(-n_pes // BANDS)


def band_cycles(states: StateIntervals, n_pes: int, band: int, edges: np.ndarray) -> np.ndarray:
    """(bands, states, bins) PE-cycles that each band of `band` PEs spends in each state within
    each time bin [edges[k], edges[k + 1]); `edges` are increasing integer cycles.

    Exact, without a loop: per (band, state), F(e) = sum of clip(e, start, end) - start over
    the intervals = e * (starts - ends before e) - (sum of those starts - ends), read at every
    edge by a binary search in the sorted starts and ends; the bins are the differences of F.
    """
    lo, hi = int(edges[0]), int(edges[-1])
    n_groups = -(-n_pes // band) * len(State)
    group = (states.pe // band).astype(np.int64) * len(State) + states.state
    span = hi - lo + 1
    # clipping to [lo, hi] shifts F by a constant per interval, which the differences drop
    t = np.concatenate([states.start, states.end]).clip(lo, hi) - lo
    key = np.tile(group, 2) * span + t
    order = np.argsort(key, kind="stable")
    sign = np.repeat(np.array([1, -1], dtype=np.int64), len(group))[order]
    key, t = key[order], t[order]
    count = np.concatenate([[0], np.cumsum(sign)])
    total = np.concatenate([[0], np.cumsum(sign * t)])
    e = edges.astype(np.int64) - lo
    first = np.arange(n_groups)[:, None] * span
    before = np.searchsorted(key, first + e)
    skip = np.searchsorted(key, first)
    f = e * (count[before] - count[skip]) - (total[before] - total[skip])
    return np.diff(f, axis=1).reshape(n_groups // len(State), len(State), len(e) - 1)


def layer_label_positions(
    layer_start, layer_end, layer_name, lo: float, hi: float, min_gap: float = 0.006
) -> tuple[list[float], list[str]]:
    """Where each layer's name goes above a time axis [lo, hi]: the middle of the part of the
    layer inside the window, moved just enough that names stay at least `min_gap` of the width
    apart (pushed right past short layers, pulled back left at the end of the axis). When more
    names are shown than fit, every k-th is kept."""
    mids, names = [], []
    for t0, t1, name in zip(layer_start, layer_end, layer_name):
        a, b = max(float(t0), lo), min(float(t1), hi)
        if b > a:
            mids.append((a + b) / 2)
            names.append(str(name))
    gap = min_gap * (hi - lo)
    fit = int((hi - lo) / gap) + 1
    step = -(-len(mids) // fit) if mids else 1
    mids, names = mids[::step], names[::step]
    at = []
    for m in mids:  # right past the names before
        at.append(max(m, at[-1] + gap) if at else m)
    limit = hi
    for i in range(len(at) - 1, -1, -1):  # back left of the axis end and the next
        at[i] = min(at[i], limit)
        limit = at[i] - gap
    return at, names


def band_rows(n_pes: int) -> tuple[int, np.ndarray]:
    """PEs per row of the per-PE plots and each row's label."""
    band = band_size(n_pes)
    first = np.arange(0, n_pes, band)
    if band == 1:
        return band, first.astype(str)
    return band, np.array([f"{a}-{min(a + band, n_pes) - 1}" for a in first])


def _edges(lo: int, hi: int, columns: int) -> np.ndarray:
    """Integer cycle edges of one time bin per pixel column (fewer when the window has fewer
    cycles than the axes have pixels: the image is then stretched)."""
    n_bins = max(1, min(columns, hi - lo))
    return lo + np.arange(n_bins + 1) * (hi - lo) // n_bins


def _pixel_rows(height: int, rows: int, fill: float) -> tuple[np.ndarray, np.ndarray]:
    """For each pixel row of an axes of `rows` data rows (row 0 on top): its data row and its
    level in the row's bar, 0 at the bar's bottom to 1 at its top, outside [0, 1) in the gap
    around the bar (the bar fills `fill` of the row)."""
    y = (np.arange(height) + 0.5) * rows / height
    row = np.minimum(y.astype(np.int64), rows - 1)
    level = ((row + 1 - y) - (1 - fill) / 2) / fill
    return row, level


def _stacked_pixels(share: np.ndarray, row: np.ndarray, level: np.ndarray) -> np.ndarray:
    """RGB pixels of stacked state shares: share is (rows, states, bins); pixel (i, j) shows the
    state whose slice of row[i]'s bin j holds level[i] (busy at the bottom), white above the
    stack's top and outside [0, 1). `row` must not decrease (pixel rows top to bottom)."""
    top = np.cumsum(share, axis=1)
    state = np.empty((len(row), share.shape[2]), dtype=np.uint8)
    first = np.flatnonzero(np.r_[True, row[1:] != row[:-1]])
    for a, b in zip(first, np.r_[first[1:], len(row)]):  # one data row at a time
        state[a:b] = (top[row[a]][None] <= level[a:b, None, None]).sum(axis=1, dtype=np.uint8)
    state[(level < 0) | (level >= 1)] = len(State)
    return PALETTE[state]


def _darken(image: np.ndarray, ax: Axes, xs) -> None:
    """Layer boundaries at cycles xs, in a picture of the axes' size, as one-pixel columns at
    half brightness (black at 50 % alpha)."""
    cols = np.floor(ax.px(np.asarray(xs, dtype=float))).astype(np.int64) - ax.left
    image[:, cols[(cols > 0) & (cols < ax.width)]] //= 2


def _layer_names(canvas: Canvas, ax: Axes, starts, ends, names, points: float) -> None:
    """Layer names standing above the axes, one line height apart at least."""
    gap = (1.15 * points * PX_PER_PT) / ax.width
    at, shown = layer_label_positions(starts, ends, names, *ax.xlim, gap)
    for x, name in zip(ax.px(at), shown):
        canvas.vertical_text(float(x), ax.top - 5, name, points, "bottom")


def _time_ticks(ax: Axes) -> np.ndarray:
    """Round cycle counts along a time axis, one per 150 pixels or so (labels of 9 digits
    take about 80)."""
    return nice_ticks(*ax.xlim, max(3, ax.width // 150))


def _names_height(names, points: float) -> float:
    """Pixels that the longest of these names takes as vertical text."""
    return max((text_width(str(n), points) for n in names), default=0)


def draw_timeline(
    trace: dict[str, np.ndarray], title: str = "", window: tuple[int, int] | None = None
) -> tuple[Canvas, Axes, Axes]:
    """The PE rows above a strip of the whole array's state mix; returns the canvas, the rows'
    axes (x in cycles, y in rows of PEs or bands of PEs, see band_size) and the strip's.

    Each row (a PE, or a band of PEs) stacks, per pixel column, the share of its cycles in
    each state in that bin (busy at the bottom), in the states' own colours: a blend of two
    states' colours would read as a third one. So does the strip for all PEs. `window` (t0,
    t1) limits the cycles shown."""
    n_pes = int(trace["n_pes"])
    states = intervals_of(trace)
    if window:
        states = states.window(*window)
    band, row_labels = band_rows(n_pes)
    rows = len(row_labels)
    end = int(states.end.max()) if len(states.end) else 1
    lo, hi = window or (0, end)
    starts, ends, names = trace["layer_start"], trace["layer_end"], trace["layer_name"]
    rows_in = max(3.5, 0.22 * rows + 3.0)
    width, height = MAX_SIZE[0], min(round((rows_in + 1.2) * DPI), MAX_SIZE[1])
    canvas = Canvas(width, height)
    label_pt = 7 if band > 1 else 9
    left = (
        12
        + 1.3 * 10 * PX_PER_PT * (2 if band > 1 else 1)
        + 14
        + max(text_width(str(r), label_pt) for r in row_labels)
    )
    top = 14 + 12 * PX_PER_PT + 10 + _names_height(names, 6) + (10 if len(names) else 0)
    bottom = height - 112
    plot_h = bottom - top - 18
    split = top + plot_h * rows_in / (rows_in + 1.0)
    ax = canvas.axes(left, top, width - 45, split, (lo, hi), (rows, 0))
    mix = canvas.axes(left, split + 18, width - 45, bottom, (lo, hi), (0, 1))

    edges = _edges(lo, hi, ax.width)
    cycles = band_cycles(states, n_pes, band, edges)
    pes = np.minimum(band, n_pes - np.arange(rows) * band)
    share = cycles / (pes[:, None, None] * np.maximum(np.diff(edges), 1))
    row, level = _pixel_rows(ax.height, rows, 0.8)
    image = ax.fit(_stacked_pixels(share, row, level))
    _darken(image, ax, starts[1:])
    ax.image(image)
    total = cycles.sum(axis=0, keepdims=True) / (n_pes * np.maximum(np.diff(edges), 1))
    row, level = _pixel_rows(mix.height, 1, 1.0)
    strip = mix.fit(_stacked_pixels(total, row, level))
    _darken(strip, mix, starts[1:])
    mix.image(strip)

    ticks = _time_ticks(ax)
    for a in (ax, mix):
        a.frame()
    ax.xticks(ticks)
    if band == 1:
        shown = np.arange(0, n_pes, max(1, n_pes // 16))
        reach = ax.yticks(shown + 0.5, row_labels[shown].tolist(), label_pt)
        ax.ylabel("PE", reach + 8)
    else:
        reach = ax.yticks(np.arange(rows) + 0.5, row_labels.tolist(), label_pt)
        ax.ylabel(
            f"rows are bands of {band} PEs: share of the band's PEs in each state,\n"
            f"per {(hi - lo) / (len(edges) - 1):,.0f}-cycle bin",
            reach + 8,
            9,
        )
    below = mix.xticks(ticks, tick_labels(ticks))
    mix.xlabel("cycle", below + 6)
    reach = mix.yticks([0, 0.5, 1], ["0.0", "0.5", "1.0"], 7)
    mix.ylabel("all PEs", reach + 6, 8)
    if len(names):
        _layer_names(canvas, ax, starts, ends, names, 6)
    canvas.text(width / 2, 14, title or "PE timeline", 12, "ma")
    canvas.legend(LEGEND, width / 2, height - 20)
    return canvas, ax, mix


def save_timeline(
    trace: dict[str, np.ndarray], path: Path, title: str = "", window: tuple[int, int] | None = None
) -> None:
    draw_timeline(trace, title, window)[0].save(path)


def draw_utilization(trace: dict[str, np.ndarray], title: str = "") -> tuple[Canvas, Axes]:
    """Stacked bars: the share of each PE's cycles in each state. Beyond MAX_PE_ROWS PEs, one
    bar per band of PEs (band_size), with the range of busy shares over the band's PEs."""
    n_pes = int(trace["n_pes"])
    cycles = intervals_of(trace).cycles_by_state(n_pes)
    busy = cycles[:, State.BUSY] / np.maximum(cycles.sum(axis=1), 1)
    band, labels = band_rows(n_pes)
    first = np.arange(0, n_pes, band)
    cycles = np.add.reduceat(cycles, first, axis=0)
    rows = len(first)
    share = cycles / np.maximum(cycles.sum(axis=1, keepdims=True), 1)
    width = round(min(max(6.0, 0.35 * rows + 2), MAX_SIZE[0] / DPI) * DPI)
    height = 4 * DPI
    canvas = Canvas(width, height)
    key = [("busy, range over the band's PEs", ("line", (0, 0, 0))), *LEGEND]
    key_width = 2.6 * 8 * PX_PER_PT + max(text_width(label, 8) for label, _ in key)
    right = width - (90 if band == 1 else 85 + key_width)
    bottom = height - (120 if band == 1 else 130)
    ax = canvas.axes(95, 40, right, bottom, (-0.75, rows - 0.25), (0, 1))
    x = np.arange(rows)
    stacked_bars(ax, x, share.T)
    mean = busy.mean()
    ax.hline(mean, (0, 0, 0), dashed=True)
    ax.frame()
    for k, text in enumerate(("mean busy", f"{mean:.1%}")):
        canvas.text(ax.right + 6, float(ax.py(mean)) + (k - 0.5) * 15, text, 7, "lm")
    ticks = nice_ticks(0, 1, 6)
    reach = ax.yticks(ticks, tick_labels(ticks), 10)
    ax.ylabel("share of cycles", reach + 8)
    if band == 1:
        below = ax.xticks(x, labels.tolist(), 7)
        ax.xlabel("PE", below + 4)
        what = "per-PE utilization"
        canvas.legend(LEGEND, (ax.left + ax.right) / 2, height - 25)
    else:
        low, high = np.minimum.reduceat(busy, first), np.maximum.reduceat(busy, first)
        for xi, a, b in zip(x, low, high):
            canvas.line(
                [
                    (round(float(ax.px(xi))), float(ax.py(a))),
                    (round(float(ax.px(xi))), float(ax.py(b))),
                ],
                (0, 0, 0),
                width=2,
            )
        below = ax.xticks(x, labels.tolist(), 7, rotate=True)
        ax.xlabel(f"PEs: bars are bands of {band} PEs", below + 4)
        what = f"utilization per band of {band} PEs"
        canvas.legend(key, ax.right + 75, (ax.top + ax.bottom) / 2, column=True)
    spread = f"busy {busy.min():.1%} to {busy.max():.1%} across PEs"
    ax.title(f"{title + ': ' if title else ''}{what}; {spread}", 10, 8)
    return canvas, ax


def save_utilization(trace: dict[str, np.ndarray], path: Path, title: str = "") -> None:
    draw_utilization(trace, title)[0].save(path)


def stacked_bars(ax: Axes, x: np.ndarray, heights: np.ndarray, width: float = 0.85) -> None:
    """Bars at x stacked from heights (states, bars), busy at the bottom."""
    top = np.cumsum(heights, axis=0)
    for state in State:
        ax.bars(x, top[state] - heights[state], top[state], width, COLORS[state])


def draw_stall_breakdown(layers: list[dict], title: str = "") -> tuple[Canvas, Axes, Axes]:
    """Per layer (from summary.json's layers): above, its cycles split by state, so a layer's
    bar is as tall as the time it takes; below, the shares of its PE-cycles in each state."""
    names = [l["name"] for l in layers]
    x = np.arange(len(names))
    cycles = np.array([l["cycles"] for l in layers], dtype=float)
    scale, unit = _cycle_unit(cycles.max(initial=1))
    width = round(min(max(7.0, 0.3 * len(names) + 3), MAX_SIZE[0] / DPI) * DPI)
    height = round(6.5 * DPI)
    canvas = Canvas(width, height)
    share = np.array([[l["states"][st.label] for l in layers] for st in State]).reshape(
        len(State), len(names)
    )
    xlim = (-0.6, len(names) - 0.4)
    left, right = 100, width - 190
    step = max(
        -(-len(names) // MAX_NAMES),  # at the width cap, more names would overlap
        math.ceil(1.2 * 7 * PX_PER_PT / ((right - left) / max(len(names), 1))),
    )
    shown = names[::step]
    bottom = height - 16 - _names_height(shown, 7)
    top = 56 + 10 * PX_PER_PT + 14
    panel = (bottom - top - 40) / 2.3
    tallest = cycles.max(initial=1) / scale * 1.05
    upper = canvas.axes(left, top, right, top + panel, xlim, (0, tallest))
    lower = canvas.axes(left, bottom - 1.3 * panel, right, bottom, xlim, (0, 1))
    stacked_bars(upper, x, share * cycles / scale)
    stacked_bars(lower, x, share)
    for ax, ticks, label in (
        (upper, nice_ticks(0, tallest, 6), "cycles" if scale == 1 else f"cycles ({unit})"),
        (lower, nice_ticks(0, 1, 6), "share of PE-cycles"),
    ):
        ax.frame()
        reach = ax.yticks(ticks, tick_labels(ticks), 10)
        ax.ylabel(label, reach + 8)
    upper.xticks(x)
    upper.title("each layer's cycles, split by the PEs' states", 9)
    lower.title("share of each layer's PE-cycles in each state", 9)
    lower.xticks(x[::step], shown, 7, rotate=True)
    canvas.text(width / 2, 14, title or "where PE-cycles go, per layer", 12, "ma")
    canvas.legend(LEGEND, right + 30, (top + bottom) / 2, column=True)
    return canvas, upper, lower


def save_stall_breakdown(layers: list[dict], path: Path, title: str = "") -> None:
    draw_stall_breakdown(layers, title)[0].save(path)


def _cycle_unit(largest: float) -> tuple[float, str]:
    """A scale that keeps cycle axis labels short: cycles, thousands or millions."""
    for scale, unit in ((1e6, "millions"), (1e3, "thousands")):
        if largest >= 10 * scale:
            return scale, unit
    return 1.0, "cycles"


def draw_buffer_occupancy(
    trace: dict[str, np.ndarray], capacities: dict[str, float] | None = None, title: str = ""
) -> tuple[Canvas, list[Axes]]:
    """Each buffer's bytes over time against its capacity (dashed, named in the y label, so
    no legend covers the data), with the layer boundaries and names."""
    starts, ends, names = trace["layer_start"], trace["layer_end"], trace["layer_name"]
    end = int(ends.max()) if len(ends) else 1
    width, height = 12 * DPI, round(6.5 * DPI)
    canvas = Canvas(width, height)
    top = 14 + 12 * PX_PER_PT + 10 + _names_height(names, 6) + (10 if len(names) else 0)
    bottom = height - 78
    panel = (bottom - top - 2 * 16) / 3
    axes = []
    for b, name in enumerate(BUFFER_NAMES):
        sel = trace["level_buffer"] == b
        t, kib = trace["level_t"][sel], trace["level_bytes"][sel] / 1024
        cap = (capacities or {}).get(name)
        finite = cap is not None and np.isfinite(cap)
        ymax = cap / 1024 * 1.08 if finite else max(float(kib.max(initial=0)) * 1.05, 1.0)
        y0 = top + b * (panel + 16)
        ax = canvas.axes(118, y0, width - 45, y0 + panel, (0, end), (0, ymax))
        ax.vlines(starts[1:], (191, 191, 191))
        if finite:
            ax.hline(cap / 1024, "#ff0000", dashed=True)
        ax.step(t, kib, "#1f77b4")
        ax.frame()
        ticks = nice_ticks(0, ymax, 5)
        reach = ax.yticks(ticks, tick_labels(ticks), 10)
        label = f"{name} KiB" + (f"\n(capacity {cap / 1024:,.0f}, red)" if finite else "")
        ax.ylabel(label, reach + 6, 9)
        axes.append(ax)
    ticks = _time_ticks(axes[0])
    for ax in axes[:-1]:
        ax.xticks(ticks)
    below = axes[-1].xticks(ticks, tick_labels(ticks))
    axes[-1].xlabel("cycle", below + 6)
    if len(starts):
        _layer_names(canvas, axes[0], starts, ends, names, 6)
    canvas.text(width / 2, 14, title or "buffer occupancy", 12, "ma")
    return canvas, axes


def save_buffer_occupancy(
    trace: dict[str, np.ndarray],
    path: Path,
    capacities: dict[str, float] | None = None,
    title: str = "",
) -> None:
    draw_buffer_occupancy(trace, capacities, title)[0].save(path)
