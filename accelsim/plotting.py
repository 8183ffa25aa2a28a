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
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from accelsim.trace import State, StateIntervals  # noqa: E402

COLORS = {State.BUSY: "#2ca02c", State.WAIT_WEIGHTS: "#9467bd", State.WAIT_INPUTS: "#d62728",
          State.WAIT_NOC: "#ff7f0e", State.WAIT_OUTPUT: "#8c564b", State.IDLE: "#d9d9d9"}
BUFFER_NAMES = ["weight", "input", "output"]
MAX_PE_ROWS = 64       # up to this many PEs, one row (timeline) or bar (utilization) per PE
BANDS = 32             # beyond, about this many bands of neighbouring PEs
TIME_BINS = 1000       # band rows are shares per time bin: about 1.5 px each at 14 in, 130 dpi
MAX_FIGSIZE = (14.0, 12.0)  # inches
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
        wide = [(t0, t1, n) for t0, t1, n in zip(layer_start, layer_end, layer_name)
                if (t1 - t0) / (hi - lo) > 0.012]
        top.set_xticks([(t0 + t1) / 2 for t0, t1, _ in wide], [str(n) for _, _, n in wide],
                       rotation=90, fontsize=6)
        top.tick_params(length=0)
    ax.legend(handles=[Patch(color=COLORS[s], label=s.label) for s in State],
              loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=len(State), fontsize=8,
              frameon=False)


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
    n_pes = int(trace["n_pes"])
    states = intervals_of(trace)
    if window:
        states = states.window(*window)
    rows = -(-n_pes // band_size(n_pes))
    fig, ax = plt.subplots(figsize=_figsize(14, max(3.5, 0.22 * rows + 3.0)))
    draw_timeline(ax, states, n_pes, trace["layer_start"], trace["layer_end"],
                  trace["layer_name"], window)
    ax.set_title(title or "PE timeline")
    fig.tight_layout()
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
    ax.set_title(title or f"{what} (mean busy {busy.mean():.1%})")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def save_stall_breakdown(layers: list[dict], path: Path, title: str = "") -> None:
    """Per layer, the share of PE-cycles in each state (from summary.json's layers)."""
    names = [l["name"] for l in layers]
    fig, ax = plt.subplots(figsize=_figsize(max(6.0, 0.3 * len(names) + 2), 4.5))
    bottom = np.zeros(len(names))
    for state in State:
        share = np.array([l["states"][state.label] for l in layers])
        ax.bar(np.arange(len(names)), share, bottom=bottom, color=COLORS[state],
               label=state.label, width=0.85)
        bottom += share
    step = -(-len(names) // MAX_NAMES)  # at the width cap, more names would overlap
    ax.set_xticks(np.arange(0, len(names), step), names[::step], rotation=90, fontsize=7)
    ax.set_xlim(-0.6, len(names) - 0.4)
    ax.set_ylabel("share of PE-cycles")
    ax.set_ylim(0, 1)
    ax.set_title(title or "where PE-cycles go, per layer")
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def save_buffer_occupancy(trace: dict[str, np.ndarray], path: Path,
                          capacities: dict[str, float] | None = None) -> None:
    fig, axes = plt.subplots(3, 1, figsize=(12, 6), sharex=True)
    for b, ax in enumerate(axes):
        sel = trace["level_buffer"] == b
        t, level = trace["level_t"][sel], trace["level_bytes"][sel]
        if len(t):
            ax.step(t, level / 1024, where="post", color="#1f77b4", linewidth=0.8)
        cap = (capacities or {}).get(BUFFER_NAMES[b])
        if cap is not None and np.isfinite(cap):
            ax.axhline(cap / 1024, color="red", linestyle="--", linewidth=0.8)
        ax.set_ylabel(f"{BUFFER_NAMES[b]} KiB")
    axes[-1].set_xlabel("cycle")
    axes[0].set_title("buffer occupancy")
    axes[0].legend(handles=[Line2D([], [], color="red", linestyle="--", linewidth=0.8,
                                   label="capacity")],
                   loc="lower right", bbox_to_anchor=(1.0, 1.0), fontsize=7, frameon=False)
    fig.tight_layout()
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
        ax.hist(p.filter_nnz, bins=min(40, max(5, len(p.filter_nnz) // 4)), color="#1f77b4")
        ax.set_title(f"{p.layer.name} ({p.density:.0%})", fontsize=7)
        ax.tick_params(labelsize=6)
    for ax in list(axes.flat)[len(layers):]:
        ax.axis("off")
    fig.suptitle(title or "nonzero weights per filter, per layer", fontsize=9)
    fig.supxlabel("nonzeros in a filter", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def save_measured_vs_model(rows, path: Path, title: str = "") -> None:
    """Per layer, each statistic measured (dots) against the fitted model (crosses): the
    per-filter nnz cv, the all-zero-kernel share and the all-zero-window share."""
    stats = [("filter_cv", "per-filter nnz cv"), ("zero_kernels", "all-zero kernels"),
             ("zero_windows", "all-zero 3x3 windows")]
    x = np.arange(len(rows))
    fig, axes = plt.subplots(len(stats), 1, sharex=True,
                             figsize=_figsize(max(6.0, 0.16 * len(rows) + 2), 6.2))
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
    fig.suptitle(title or "measured against modelled sparsity, per layer", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def save_heatmap(rows: list[dict], x: str, y: str, metric: str, path: Path, title: str = "",
                 best=min) -> None:
    """`metric` over two swept axes; where other axes vary, each cell shows the best value
    (`best`: min for cycles, max for utilization). Points that failed are left blank."""
    rows = [r for r in rows if r.get(metric) is not None]
    xs = sorted({r[x] for r in rows}, key=_order)
    ys = sorted({r[y] for r in rows}, key=_order)
    grid = np.full((len(ys), len(xs)), np.nan)
    for r in rows:
        i, j = ys.index(r[y]), xs.index(r[x])
        v = r[metric]
        grid[i, j] = v if np.isnan(grid[i, j]) else best(grid[i, j], v)
    fig, ax = plt.subplots(figsize=_figsize(max(4.5, 0.9 * len(xs) + 2.5),
                                            max(3.5, 0.6 * len(ys) + 2)))
    im = ax.imshow(grid, cmap="viridis", aspect="auto", origin="lower")
    for i in range(len(ys)):
        for j in range(len(xs)):
            if not np.isnan(grid[i, j]):
                v = grid[i, j]
                ax.text(j, i, f"{v:.1%}" if metric == "utilization" else f"{v:,.3g}",
                        ha="center", va="center", fontsize=7, color="white")
    ax.set_xticks(range(len(xs)), [str(v) for v in xs], fontsize=8)
    ax.set_yticks(range(len(ys)), [str(v) for v in ys], fontsize=8)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    fig.colorbar(im, ax=ax, label=metric)
    ax.set_title(title or f"{metric} ({best.__name__} over other axes)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _order(v):
    return (0, v, "") if isinstance(v, (int, float)) else (1, 0, str(v))


def save_pareto(sizing, path: Path, clock_hz: float, title: str = "") -> None:
    """Latency against area for every simulated configuration, coloured by energy; the
    Pareto front joined, the target and the chosen configuration marked."""
    ok = [c for c in sizing.simulated if c.feasible]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    if ok:
        sc = ax.scatter([c.area_mm2 for c in ok], [c.cycles for c in ok],
                        c=[c.energy_uj for c in ok], cmap="viridis", s=30)
        fig.colorbar(sc, ax=ax, label="energy (uJ)")
    front = sizing.front
    ax.plot([c.area_mm2 for c in front], [c.cycles for c in front], color="black",
            linewidth=0.8, marker="o", markersize=3, label="Pareto front")
    ax.axhline(sizing.target_cycles, color="red", linestyle="--", linewidth=0.8,
               label=f"target {sizing.target_cycles:,} cycles")
    if sizing.best is not None:
        b = sizing.best
        ax.scatter([b.area_mm2], [b.cycles], marker="*", s=200, color="red", zorder=3,
                   label=f"smallest meeting it: {b.pes} PEs, buffers x{b.scale:g}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    # plain numbers on the log axes (5, 10, 20 mm^2; 2M, 3M cycles), not 6 x 10^0
    def plain(v, _):
        return f"{v / 1e6:g}M" if v >= 1e6 else f"{v:,.4g}"
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(matplotlib.ticker.FuncFormatter(plain))
        axis.set_minor_formatter(matplotlib.ticker.FuncFormatter(plain))
    ax.set_xlabel("area (mm$^2$, 45 nm: MAC lanes, index logic, buffers, interconnect)")
    ax.set_ylabel("latency (cycles)")
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
