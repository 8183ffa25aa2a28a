"""Plots of a run: PE timeline, per-PE utilization, stall breakdown, buffer occupancy.

Every function takes plain arrays (as stored in trace.npz), so the scripts in plots/ can
redraw from a result directory. The simulator core never imports this module. Beyond
MAX_PE_ROWS PEs the per-PE plots show bands of PEs, and no figure grows past MAX_FIGSIZE:
drawing time and file size stay flat from a few dozen PEs to thousands.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402

from accelsim.trace import BUFFER_NAMES, State, StateIntervals  # noqa: E402

COLORS = {State.BUSY: "#2ca02c", State.WAIT_WEIGHTS: "#9467bd", State.WAIT_INPUTS: "#d62728",
          State.WAIT_NOC: "#ff7f0e", State.WAIT_OUTPUT: "#8c564b", State.IDLE: "#d9d9d9"}
MAX_PE_ROWS = 64       # up to this many PEs, one row (timeline) or bar (utilization) per PE
BANDS = 32             # beyond, about this many bands of neighbouring PEs
TIME_BINS = 1000       # band rows are shares per time bin: about 1.5 px each at 14 in, 130 dpi
MAX_FIGSIZE = (14.0, 12.0)  # inches
CYCLES = FuncFormatter(lambda v, _: f"{v:,.0f}")   # whole cycles, no "1e6" offset
MAX_NAMES = 120        # layer names on one axis: 7-point labels at the width cap


def load_trace(result_dir: Path) -> dict[str, np.ndarray]:
    """The arrays of a result directory's trace.npz."""
    path = Path(result_dir) / "trace.npz"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no trace here; run `accelsim run SCENARIO --out "
                                f"{result_dir}` first")
    with np.load(path) as data:
        return {k: data[k] for k in data.files}


def intervals_of(trace: dict[str, np.ndarray]) -> StateIntervals:
    return StateIntervals(trace["pe"], trace["start"], trace["end"], trace["state"],
                          trace["held_by"])


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


def draw_timeline(ax, states: StateIntervals, n_pes: int, layer_start=(), layer_end=(),
                  layer_name=(), window: tuple[int, int] | None = None) -> None:
    """One row per PE (or band of PEs, see band_size), coloured by state; thin lines and labels
    mark the layers. `window` (t0, t1) limits the cycles shown."""
    end = int(states.end.max()) if len(states.end) else 1
    lo, hi = window or (0, end)
    band = band_size(n_pes)
    if band == 1:
        rows = n_pes
        _draw_rows(ax, states, n_pes, lo, hi)
        step = max(1, n_pes // 16)
        ax.set_yticks(np.arange(0, n_pes, step))
        ax.set_ylabel("PE")
    else:
        rows = -(-n_pes // band)
        bin_cycles = _draw_bands(ax, states, n_pes, band, lo, hi)
        first = np.arange(rows) * band
        ax.set_yticks(np.arange(rows), [f"{a}-{min(a + band, n_pes) - 1}" for a in first],
                      fontsize=7)
        ax.set_ylabel(f"rows are bands of {band} PEs: share of the band's PEs in each "
                      f"state, per {bin_cycles:,.0f}-cycle bin", fontsize=9)
    for x in layer_start[1:]:
        ax.axvline(x, color="black", linewidth=0.4, alpha=0.5)
    ax.set_xlim(lo, hi)
    ax.set_ylim(rows - 0.5, -0.5)
    ax.set_xlabel("cycle")
    if len(layer_name):
        top = ax.secondary_xaxis("top")
        at, names = layer_label_positions(layer_start, layer_end, layer_name, lo, hi)
        top.set_xticks(at, names, rotation=90, fontsize=6)
        top.tick_params(length=0)
    ax.legend(handles=[Patch(color=COLORS[s], label=s.label) for s in State],
              loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=len(State), fontsize=8,
              frameon=False)


def layer_label_positions(layer_start, layer_end, layer_name, lo: float, hi: float,
                          min_gap: float = 0.006) -> tuple[list[float], list[str]]:
    """Where each layer's name goes above a time axis [lo, hi]: the middle of the part of the
    layer inside the window, pushed right just enough that names of short layers do not
    overlap (at least `min_gap` of the width apart); names that would leave the axis drop."""
    at, names, last = [], [], -np.inf
    for t0, t1, name in zip(layer_start, layer_end, layer_name):
        a, b = max(float(t0), lo), min(float(t1), hi)
        if b <= a:
            continue
        x = max((a + b) / 2, last + min_gap * (hi - lo))
        if x > hi:
            break
        at.append(x)
        names.append(str(name))
        last = x
    return at, names


def draw_state_mix(ax, states: StateIntervals, n_pes: int, lo: int, hi: int,
                   layer_start=()) -> None:
    """The share of all PEs in each state over time, stacked (busy at the bottom): at full
    scale the stalls of single PE rows blur, their sum over the array does not."""
    n_bins = max(1, min(TIME_BINS, hi - lo))
    edges = lo + np.arange(n_bins + 1) * (hi - lo) // n_bins
    share = band_cycles(states, n_pes, n_pes, edges)[0] / (
        n_pes * np.maximum(np.diff(edges), 1))
    # drawn as one image (a pixel column per bin, 100 levels of share), cheaper than polygons
    level = (np.arange(100) + 0.5) / 100
    state = (np.cumsum(share, axis=0)[None, :, :] < level[:, None, None]).sum(axis=1)
    rgb = np.array([matplotlib.colors.to_rgb(COLORS[s]) for s in State] + [(1, 1, 1)])
    ax.imshow(rgb[np.minimum(state, len(State))], aspect="auto", interpolation="nearest",
              origin="lower", extent=(lo, hi, 0, 1))
    for x in layer_start[1:]:
        ax.axvline(x, color="black", linewidth=0.4, alpha=0.5)
    ax.set_xlim(lo, hi)
    ax.set_ylim(0, 1)
    ax.set_ylabel("all PEs", fontsize=8)
    ax.tick_params(axis="y", labelsize=7)


def _draw_bands(ax, states, n_pes, band, lo, hi) -> float:
    """Each band row stacks the share of its PEs in each state (busy at the bottom) per time
    bin, one step-shaped polygon per band in one collection per state. Returns the mean bin
    width in cycles."""
    n_bins = max(1, min(TIME_BINS, hi - lo))
    edges = lo + np.arange(n_bins + 1) * (hi - lo) // n_bins
    cycles = band_cycles(states, n_pes, band, edges)
    rows = np.arange(len(cycles))
    pes = np.minimum(band, n_pes - rows * band)
    share = cycles / (pes[:, None, None] * np.maximum(np.diff(edges), 1))
    top = np.cumsum(share, axis=1)
    x = np.repeat(edges, 2)[1:-1]  # each bin's left and right edge
    for state in State:
        if not cycles[:, state].any():
            continue
        upper = rows[:, None] + 0.4 - 0.8 * np.repeat(top[:, state], 2, axis=1)
        lower = rows[:, None] + 0.4 - 0.8 * np.repeat(top[:, state] - share[:, state], 2, axis=1)
        xs = np.broadcast_to(np.concatenate([x, x[::-1]]), (len(rows), 2 * len(x)))
        verts = np.stack([xs, np.concatenate([upper, lower[:, ::-1]], axis=1)], -1)
        ax.add_collection(PolyCollection(verts, facecolors=COLORS[state], linewidth=0,
                                         rasterized=True), autolim=False)
    return (hi - lo) / n_bins


def _draw_rows(ax, states, n_pes, lo, hi) -> None:
    """One row per PE as one image, a pixel column per time bin, each pixel the mix of the
    states' colours by their cycles in its bin (what anti-aliased rectangles would show).
    Drawing cost no longer grows with the number of intervals (the default run's
    timeline.png took 0.44 s of CPU as one collection of rectangles per state, 0.33 s so)."""
    n_bins = max(1, min(TIME_BINS * 2, hi - lo))
    edges = lo + np.arange(n_bins + 1) * (hi - lo) // n_bins
    share = band_cycles(states, n_pes, 1, edges) / np.maximum(np.diff(edges), 1)
    rgb = np.array([matplotlib.colors.to_rgb(COLORS[s]) for s in State])
    colour = np.einsum("psb,sc->pbc", share, rgb) + (1 - share.sum(axis=1))[..., None]
    # each PE: 8 sub-rows of colour between 1 white sub-row above and below (rows of 0.8)
    image = np.full((n_pes, 10, n_bins, 3), 255, dtype=np.uint8)
    image[:, 1:9] = np.rint(255 * colour.clip(0, 1))[:, None]
    ax.imshow(image.reshape(n_pes * 10, n_bins, 3), aspect="auto", interpolation="nearest",
              extent=(lo, hi, n_pes - 0.5, -0.5))


def _figsize(width: float, height: float) -> tuple[float, float]:
    """Figures grow with PEs and layers up to MAX_FIGSIZE: beyond, memory and drawing time grow
    and nothing more can be read."""
    return min(width, MAX_FIGSIZE[0]), min(height, MAX_FIGSIZE[1])


def save_timeline(trace: dict[str, np.ndarray], path: Path, title: str = "",
                  window: tuple[int, int] | None = None) -> None:
    """The PE rows (draw_timeline) above a strip of the whole array's state mix."""
    n_pes = int(trace["n_pes"])
    states = intervals_of(trace)
    if window:
        states = states.window(*window)
    rows = -(-n_pes // band_size(n_pes))
    end = int(states.end.max()) if len(states.end) else 1
    lo, hi = window or (0, end)
    height = max(3.5, 0.22 * rows + 3.0)
    fig, (ax, mix) = plt.subplots(2, 1, sharex=True, figsize=_figsize(14, height + 1.2),
                                  gridspec_kw={"height_ratios": [height, 1.0]})
    draw_timeline(ax, states, n_pes, trace["layer_start"], trace["layer_end"],
                  trace["layer_name"], window)
    ax.set_xlabel("")
    ax.get_legend().remove()
    draw_state_mix(mix, states, n_pes, lo, hi, trace["layer_start"])
    mix.set_xlabel("cycle")
    mix.xaxis.set_major_formatter(CYCLES)
    fig.legend(handles=[Patch(color=COLORS[s], label=s.label) for s in State],
               loc="lower center", ncol=len(State), fontsize=8, frameon=False)
    ax.set_title(title or "PE timeline")
    # fixed margins in inches: tight_layout would draw both images one more time
    h = fig.get_figheight()
    longest = max((len(str(n)) for n in trace["layer_name"]), default=0)
    above = 0.45 + min(0.052 * longest, 1.2)      # the title and the rotated layer names
    fig.subplots_adjust(left=0.9 / 14 + (0.35 if band_size(n_pes) > 1 else 0) / 14,
                        right=0.99, top=1 - above / h, bottom=0.85 / h, hspace=0.12)
    fig.savefig(path, dpi=130)
    plt.close(fig)


def save_utilization(trace: dict[str, np.ndarray], path: Path, title: str = "") -> None:
    """Stacked bars: the share of each PE's cycles in each state. Beyond MAX_PE_ROWS PEs, one
    bar per band of PEs (band_size), with the range of busy shares over the band's PEs."""
    n_pes = int(trace["n_pes"])
    cycles = intervals_of(trace).cycles_by_state(n_pes)
    busy = cycles[:, State.BUSY] / np.maximum(cycles.sum(axis=1), 1)
    band = band_size(n_pes)
    first = np.arange(0, n_pes, band)
    cycles = np.add.reduceat(cycles, first, axis=0)
    rows = len(first)
    share = cycles / np.maximum(cycles.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=_figsize(max(6.0, 0.35 * rows + 2), 4))
    bottom = np.zeros(rows)
    for state in State:
        ax.bar(np.arange(rows), share[:, state], bottom=bottom, color=COLORS[state],
               label=state.label, width=0.85)
        bottom += share[:, state]
    if band == 1:
        ax.set_xlabel("PE")
        ax.set_xticks(np.arange(n_pes))
        ax.tick_params(axis="x", labelsize=7)
        what = "per-PE utilization"
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=len(State), fontsize=8,
                  frameon=False)
    else:
        ax.vlines(np.arange(rows), np.minimum.reduceat(busy, first),
                  np.maximum.reduceat(busy, first), color="black", linewidth=1.2,
                  label="busy, range over the band's PEs")
        ax.set_xlabel(f"PEs: bars are bands of {band} PEs")
        ax.set_xticks(np.arange(rows), [f"{a}-{min(a + band, n_pes) - 1}" for a in first],
                      rotation=90, fontsize=7)
        what = f"utilization per band of {band} PEs"
        ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, frameon=False)
    ax.set_ylabel("share of cycles")
    ax.set_ylim(0, 1)
    ax.axhline(busy.mean(), color="black", linewidth=0.8, linestyle=":")
    ax.text(1.0, busy.mean(), f" mean busy\n {busy.mean():.1%}", transform=ax.get_yaxis_transform(),
            va="center", fontsize=7)
    spread = f"busy {busy.min():.1%} to {busy.max():.1%} across PEs"
    ax.set_title(f"{title + ': ' if title else ''}{what}; {spread}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def save_stall_breakdown(layers: list[dict], path: Path, title: str = "") -> None:
    """Per layer (from summary.json's layers): above, its cycles split by state, so a layer's
    bar is as tall as the time it takes; below, the shares of its PE-cycles in each state."""
    names = [l["name"] for l in layers]
    x = np.arange(len(names))
    cycles = np.array([l["cycles"] for l in layers], dtype=float)
    scale, unit = _cycle_unit(cycles.max(initial=1))
    fig, (top, ax) = plt.subplots(2, 1, sharex=True, figsize=_figsize(
        max(7.0, 0.3 * len(names) + 3), 6.5), gridspec_kw={"height_ratios": [1, 1.3]})
    share = np.array([[l["states"][st.label] for l in layers] for st in State])
    stacked_bars(top, x, share * cycles / scale)
    stacked_bars(ax, x, share)
    top.set_ylim(0, cycles.max(initial=1) / scale * 1.05)
    top.set_ylabel("cycles" if scale == 1 else f"cycles ({unit})")
    top.set_title("each layer's cycles, split by the PEs' states", fontsize=9)
    step = -(-len(names) // MAX_NAMES)  # at the width cap, more names would overlap
    ax.set_xticks(x[::step], names[::step], rotation=90, fontsize=7)
    ax.set_xlim(-0.6, len(names) - 0.4)
    ax.set_ylabel("share of PE-cycles")
    ax.set_ylim(0, 1)
    ax.set_title("share of each layer's PE-cycles in each state", fontsize=9)
    fig.suptitle(title or "where PE-cycles go, per layer")
    fig.legend(handles=[Patch(color=COLORS[st], label=st.label) for st in State],
               loc="center right", fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0, 1 - 1.3 / fig.get_figwidth(), 1))
    fig.savefig(path, dpi=130)
    plt.close(fig)


def stacked_bars(ax, x: np.ndarray, heights: np.ndarray, width: float = 0.85) -> None:
    """Bars at x stacked from heights (states, bars), one collection per state: a few
    hundred Rectangle artists from ax.bar cost more to draw than the rest of the figure."""
    top = np.cumsum(heights, axis=0)
    left, right = x - width / 2, x + width / 2
    for state in State:
        lo, hi = top[state] - heights[state], top[state]
        verts = np.stack([np.stack([left, left, right, right], 1),
                          np.stack([lo, hi, hi, lo], 1)], -1)
        ax.add_collection(PolyCollection(verts, facecolors=COLORS[state], linewidth=0))


def _cycle_unit(largest: float) -> tuple[float, str]:
    """A scale that keeps cycle axis labels short: cycles, thousands or millions."""
    for scale, unit in ((1e6, "millions"), (1e3, "thousands")):
        if largest >= 10 * scale:
            return scale, unit
    return 1.0, "cycles"


def save_buffer_occupancy(trace: dict[str, np.ndarray], path: Path,
                          capacities: dict[str, float] | None = None, title: str = "") -> None:
    """Each buffer's bytes over time against its capacity (dashed, named in the y label, so
    no legend covers the data), with the layer boundaries and names."""
    starts, ends = trace["layer_start"], trace["layer_end"]
    end = int(ends.max()) if len(ends) else 1
    fig, axes = plt.subplots(3, 1, figsize=(12, 6.5), sharex=True)
    for b, ax in enumerate(axes):
        sel = trace["level_buffer"] == b
        t, level = trace["level_t"][sel], trace["level_bytes"][sel]
        if len(t):
            ax.step(t, level / 1024, where="post", color="#1f77b4", linewidth=0.8)
        ax.vlines(starts[1:], 0, 1, transform=ax.get_xaxis_transform(), color="grey",
                  linewidth=0.4, alpha=0.6)
        cap = (capacities or {}).get(BUFFER_NAMES[b])
        label = f"{BUFFER_NAMES[b]} KiB"
        if cap is not None and np.isfinite(cap):
            ax.axhline(cap / 1024, color="red", linestyle="--", linewidth=0.8)
            ax.set_ylim(0, cap / 1024 * 1.08)
            label += f"\n(capacity {cap / 1024:,.0f}, red)"
        ax.set_ylabel(label, fontsize=9)
    axes[-1].set_xlim(0, end)
    axes[-1].set_xlabel("cycle")
    axes[-1].xaxis.set_major_formatter(CYCLES)
    if len(starts):
        top = axes[0].secondary_xaxis("top")
        at, names = layer_label_positions(starts, ends, trace["layer_name"], 0, end, 0.008)
        top.set_xticks(at, names, rotation=90, fontsize=6)
        top.tick_params(length=0)
    fig.suptitle(title or "buffer occupancy")
    fig.subplots_adjust(left=0.9 / 12, right=0.99, top=1 - 1.5 / 6.5, bottom=0.6 / 6.5,
                        hspace=0.15)      # fixed margins: tight_layout costs one more draw
    fig.savefig(path, dpi=130)
    plt.close(fig)


def save_nnz_histograms(pruned, path: Path, title: str = "") -> None:
    """One small histogram of per-filter nonzeros per layer (a PrunedNetwork)."""
    layers = pruned.layers
    cols = max(min(6, len(layers)), int(np.ceil(np.sqrt(len(layers)))))
    rows = -(-len(layers) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=_figsize(2.6 * cols, 2.0 * rows + 0.6),
                             squeeze=False)
    for ax, p in zip(axes.flat, layers):
        nnz = np.asarray(p.filter_nnz)
        lo, hi = (int(nnz.min()), int(nnz.max())) if len(nnz) else (0, 0)
        if lo == hi:        # dense, or evenly pruned: one value, not a degenerate axis
            ax.bar([lo], [len(nnz)], width=max(1, lo * 0.02), color="#1f77b4")
            ax.set_xlim(lo - max(1, lo * 0.1), lo + max(1, lo * 0.1))
            ax.text(0.03, 0.95, f"every filter\n{lo:,}", transform=ax.transAxes, ha="left",
                    va="top", fontsize=7)
        else:
            ax.hist(nnz, bins=min(40, max(5, len(nnz) // 4), hi - lo + 1), color="#1f77b4")
        ax.set_title(f"{p.layer.name} ({p.density:.0%} dense)", fontsize=7)
        ax.tick_params(labelsize=7)
        ax.xaxis.set_major_locator(MaxNLocator(4, integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(4, integer=True))
    for ax in list(axes.flat)[len(layers):]:
        ax.axis("off")
    fig.suptitle(title or "nonzero weights per filter, per layer", fontsize=10)
    fig.supxlabel("nonzero weights in a filter", fontsize=9)
    fig.supylabel("filters", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def save_measured_vs_model(rows, path: Path, title: str = "") -> None:
    """Per layer, each statistic measured (dots) against the fitted model (crosses): the
    per-filter nnz cv, the all-zero-kernel share and the all-zero-window share."""
    stats = [("filter_cv", "per-filter nnz cv"), ("zero_kernels", "all-zero kernels"),
             ("zero_windows", "all-zero 3x3 windows")]
    x = np.arange(len(rows))
    size = _figsize(max(6.0, 0.16 * len(rows) + 2), 6.2)
    fig, axes = plt.subplots(len(stats), 1, sharex=True, figsize=size)
    for ax, (key, label) in zip(axes, stats):
        measured = [getattr(r.measured, key) for r in rows]
        modelled = [getattr(r.modelled, key) for r in rows]
        ax.vlines(x, measured, modelled, color="#bbbbbb", lw=1)
        point = np.array([r.kernel[0] * r.kernel[1] > 1 for r in rows])
        ax.plot(x[point], np.array(measured)[point], "o", ms=3.5, color="#1f77b4",
                label="measured")
        ax.plot(x[~point], np.array(measured)[~point], "o", ms=3.5, mfc="none",
                color="#1f77b4", label="measured, 1x1 kernel (all-zero = pruned weight)")
        ax.plot(x, modelled, "x", ms=4, color="#d62728", label="fitted model")
        ax.set_ylabel(label, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=7, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=3,
                   frameon=False)
    step = max(1, len(rows) // 40)
    axes[-1].set_xticks(x[::step], [r.layer for r in rows][::step], rotation=90, fontsize=6)
    axes[-1].set_xlabel("conv layer, in network order", fontsize=8)
    # a long source path (an ncnn model deep in its wheel) wraps instead of running off
    title = title or "measured against modelled sparsity, per layer"
    fig.suptitle("\n".join(_wrap(line, int(size[0] * 13)) for line in title.splitlines()),
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def save_heatmap(rows: list[dict], x: str, y: str, metric: str, path: Path, title: str = "",
                 best=min) -> None:
    """`metric` over two swept axes; where other axes vary, each cell shows the best value
    (`best`: min for cycles, max for utilization). A cell whose every point failed is grey and
    says so; a sweep where every point failed says that instead of drawing a colour bar."""
    xs = sorted({r[x] for r in rows}, key=_order)
    ys = sorted({r[y] for r in rows}, key=_order)
    grid = np.full((len(ys), len(xs)), np.nan)
    for r in rows:
        if r.get(metric) is None:
            continue
        i, j = ys.index(r[y]), xs.index(r[x])
        v = r[metric]
        grid[i, j] = v if np.isnan(grid[i, j]) else best(grid[i, j], v)
    fig, ax = plt.subplots(figsize=_figsize(max(5.0, 1.1 * len(xs) + 2.5),
                                            max(3.5, 0.6 * len(ys) + 2)))
    ax.imshow(np.where(np.isnan(grid), 1, 0), cmap="Greys", vmin=0, vmax=4, aspect="auto",
              origin="lower")                                  # failed cells: light grey
    if np.isnan(grid).all():
        error = next((str(r.get("error")) for r in rows if r.get("error")), "no results")
        ax.text(0.5, 0.5, "every point failed:\n" + _wrap(error, 60), ha="center",
                va="center", fontsize=8, transform=ax.transAxes)
    else:
        im = ax.imshow(grid, cmap="viridis", aspect="auto", origin="lower")
        fig.colorbar(im, ax=ax, label=metric, format=FuncFormatter(
            lambda v, _: f"{v:.0%}" if metric == "utilization" else _si(v)))
        for i in range(len(ys)):
            for j in range(len(xs)):
                v = grid[i, j]
                if np.isnan(v):
                    ax.text(j, i, "failed", ha="center", va="center", fontsize=7, color="black")
                    continue
                r, g, b, _ = im.cmap(im.norm(v))
                dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.5  # text that reads on the cell
                ax.text(j, i, f"{v:.1%}" if metric == "utilization" else _si(v),
                        ha="center", va="center", fontsize=7, color="white" if dark else "black")
    ax.set_xticks(range(len(xs)), [str(v) for v in xs], fontsize=8)
    ax.set_yticks(range(len(ys)), [str(v) for v in ys], fontsize=8)
    ax.set_xlabel(_label(x))
    ax.set_ylabel(_label(y))
    ax.set_title(title or f"{metric}: {'lowest' if best is min else 'highest'} over the other "
                          f"swept fields", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


_NAMES = {"pe_rows": "PE rows", "pe_cols": "PE columns", "macs_per_cycle": "MACs per cycle",
          "dram_bytes_per_cycle": "DRAM bytes per cycle", "noc_bytes_per_cycle":
          "interconnect bytes per cycle", "input_queue_depth": "input queue depth",
          "cycles": "cycles", "utilization": "utilization"}


def _label(field: str) -> str:
    """A swept field for an axis: its readable name, then the scenario field in brackets."""
    last = field.rsplit(".", 1)[-1]
    name = _NAMES.get(last, last.replace("_bytes", " (bytes)").replace("_", " "))
    return name if name == field or field in _NAMES else f"{name} [{field}]"


def _si(v: float) -> str:
    """Four significant figures with a k or M suffix: 6.325M, 951.5k, 812."""
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= scale:
            return f"{v / scale:.4g}{suffix}"
    return f"{v:.4g}"


def _wrap(text: str, width: int) -> str:
    import textwrap
    return "\n".join(textwrap.wrap(text, width)[:6])


def _order(v):
    return (0, v, "") if isinstance(v, (int, float)) else (1, 0, str(v))


def save_pareto(sizing, path: Path, clock_hz: float, title: str = "",
                unit: str = "cycles") -> None:
    """Latency against area for every simulated configuration, coloured by energy; the
    Pareto front joined, the target and the chosen configuration marked. Latency is in the
    unit the target was asked in: cycles, or ms at `clock_hz`."""
    per = 1.0 if unit == "cycles" else 1e3 / clock_hz       # cycles -> the unit shown
    ok = [c for c in sizing.simulated if c.feasible]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    if ok:
        sc = ax.scatter([c.area_mm2 for c in ok], [c.cycles * per for c in ok],
                        c=[c.energy_uj for c in ok], cmap="viridis", s=30)
        fig.colorbar(sc, ax=ax, label="energy (uJ)")
    front = sizing.front
    ax.plot([c.area_mm2 for c in front], [c.cycles * per for c in front], color="black",
            linewidth=0.8, marker="o", markersize=3, label="Pareto front")
    shown = f"{sizing.target_cycles:,} cycles" if unit == "cycles" else \
        f"{sizing.target_cycles * per:g} ms ({sizing.target_cycles:,} cycles)"
    drawn = [c.cycles for c in ok] or [sizing.target_cycles]
    if min(drawn) / 10 <= sizing.target_cycles <= max(drawn) * 10:
        ax.axhline(sizing.target_cycles * per, color="red", linestyle="--", linewidth=0.8,
                   label=f"target {shown}")
    else:                 # a far target would squash every point into one line
        ax.plot([], [], color="red", linestyle="--", linewidth=0.8,
                label=f"target {shown}: off the chart")
    if sizing.best is not None:
        b = sizing.best
        ax.scatter([b.area_mm2], [b.cycles * per], marker="*", s=200, color="red", zorder=3,
                   label=f"smallest meeting it: {b.pes} PEs, buffers x{b.scale:g}")
    if all(c.area_mm2 > 0 for c in ok):    # an [area] table of zeros has no log scale
        ax.set_xscale("log")
    ax.set_yscale("log")
    # plain numbers on the log axes (5, 10, 20 mm^2; 2M, 3M cycles), not 6 x 10^0
    plain = FuncFormatter(lambda v, _: f"{v / 1e6:g}M" if v >= 1e6 else
                          f"{v:,.0f}" if v >= 1000 else f"{v:g}")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(plain)
        axis.set_minor_formatter(plain)
        axis.set_tick_params(which="minor", labelsize=7)
    ax.set_xlabel("area (mm$^2$, 45 nm: MAC lanes, index logic, buffers, interconnect)")
    ax.set_ylabel(f"latency ({unit})")
    ax.set_title(title or "sizing")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def save_pe_models(cycles: dict[str, list[int]], layers: list[str], path: Path,
                   title: str = "") -> None:
    """Each layer's cycles under each PE model, as a fraction of the dense PE's: bars below 1
    are what the model's skipping saves on that layer."""
    dense = np.maximum(np.asarray(cycles["dense"], dtype=float), 1)
    width = 0.8 / len(cycles)
    x = np.arange(len(layers))
    fig, ax = plt.subplots(figsize=(min(MAX_FIGSIZE[0], max(6.0, 0.55 * len(layers) + 2)), 4))
    for i, (model, values) in enumerate(cycles.items()):
        ax.bar(x + (i - (len(cycles) - 1) / 2) * width, np.asarray(values) / dense, width,
               label=f"{model} (total {sum(values) / sum(cycles['dense']):.2f})")
    ax.axhline(1.0, color="black", linewidth=0.6)
    ax.set_xticks(x, layers, rotation=45 if len(layers) > 6 else 0, ha="right"
                  if len(layers) > 6 else "center", fontsize=8)
    ax.set_ylabel("cycles / dense PE's cycles")
    ax.set_title(title or "PE models")
    ax.legend(fontsize=8, title="PE model (all layers)", title_fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
