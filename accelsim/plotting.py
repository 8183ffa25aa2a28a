"""Plots of a run: PE timeline, per-PE utilization, stall breakdown, buffer occupancy.

Every function takes plain arrays (as stored in trace.npz), so the scripts in plots/ can
redraw from a result directory. The simulator core never imports this module.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from accelsim.trace import State, StateIntervals  # noqa: E402

COLORS = {State.BUSY: "#2ca02c", State.WAIT_WEIGHTS: "#9467bd", State.WAIT_INPUTS: "#d62728",
          State.WAIT_NOC: "#ff7f0e", State.WAIT_OUTPUT: "#8c564b", State.IDLE: "#d9d9d9"}
BUFFER_NAMES = ["weight", "input", "output"]


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


def draw_timeline(ax, states: StateIntervals, n_pes: int, layer_start=(), layer_end=(),
                  layer_name=()) -> None:
    """One row per PE, coloured by state; thin lines and labels mark the layers."""
    for state in State:  # one collection per state: artists per interval cost seconds
        sel = states.state == state
        if sel.any():
            ax.add_collection(PolyCollection(
                _rectangles(states.start[sel], states.end[sel], states.pe[sel] - 0.4,
                            states.pe[sel] + 0.4),
                facecolors=COLORS[state], linewidth=0, rasterized=True))
    end = int(states.end.max()) if len(states.end) else 1
    for x in layer_start[1:]:
        ax.axvline(x, color="black", linewidth=0.4, alpha=0.5)
    ax.set_xlim(0, end)
    ax.set_ylim(n_pes - 0.5, -0.5)
    step = max(1, n_pes // 16)
    ax.set_yticks(np.arange(0, n_pes, step))
    ax.set_ylabel("PE")
    ax.set_xlabel("cycle")
    if len(layer_name):
        top = ax.secondary_xaxis("top")
        wide = [(t0, t1, n) for t0, t1, n in zip(layer_start, layer_end, layer_name)
                if (t1 - t0) / end > 0.012]
        top.set_xticks([(t0 + t1) / 2 for t0, t1, _ in wide], [str(n) for _, _, n in wide],
                       rotation=90, fontsize=6)
        top.tick_params(length=0)
    ax.legend(handles=[Patch(color=COLORS[s], label=s.label) for s in State],
              loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=len(State), fontsize=8,
              frameon=False)


def _rectangles(x0, x1, y0, y1) -> np.ndarray:
    """(n, 4, 2) corners of n rectangles, in the order Axes.broken_barh uses."""
    return np.stack([np.stack([x0, y0], -1), np.stack([x0, y1], -1),
                     np.stack([x1, y1], -1), np.stack([x1, y0], -1)], 1).astype(float)


def save_timeline(trace: dict[str, np.ndarray], path: Path, title: str = "") -> None:
    n_pes = int(trace["n_pes"])
    fig, ax = plt.subplots(figsize=(14, max(3.5, 0.22 * n_pes + 3.0)))
    draw_timeline(ax, intervals_of(trace), n_pes, trace["layer_start"], trace["layer_end"],
                  trace["layer_name"])
    ax.set_title(title or "PE timeline")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def save_utilization(trace: dict[str, np.ndarray], path: Path, title: str = "") -> None:
    """Stacked bars: the share of each PE's cycles in each state."""
    n_pes = int(trace["n_pes"])
    cycles = intervals_of(trace).cycles_by_state(n_pes)
    share = cycles / np.maximum(cycles.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.35 * n_pes + 2), 4))
    bottom = np.zeros(n_pes)
    for state in State:
        ax.bar(np.arange(n_pes), share[:, state], bottom=bottom, color=COLORS[state],
               label=state.label, width=0.85)
        bottom += share[:, state]
    ax.set_xlabel("PE")
    ax.set_ylabel("share of cycles")
    ax.set_ylim(0, 1)
    ax.set_xticks(np.arange(n_pes))
    ax.tick_params(axis="x", labelsize=7)
    ax.set_title(title or f"per-PE utilization (mean busy {share[:, State.BUSY].mean():.1%})")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=len(State), fontsize=8,
              frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def save_stall_breakdown(layers: list[dict], path: Path, title: str = "") -> None:
    """Per layer, the share of PE-cycles in each state (from summary.json's layers)."""
    names = [l["name"] for l in layers]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.3 * len(names) + 2), 4.5))
    bottom = np.zeros(len(names))
    for state in State:
        share = np.array([l["states"][state.label] for l in layers])
        ax.bar(np.arange(len(names)), share, bottom=bottom, color=COLORS[state],
               label=state.label, width=0.85)
        bottom += share
    ax.set_xticks(np.arange(len(names)), names, rotation=90, fontsize=7)
    ax.set_ylabel("share of PE-cycles")
    ax.set_ylim(0, 1)
    ax.set_title(title or "where PE-cycles go, per layer")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, 1.15), ncol=len(State), fontsize=8,
              frameon=False)
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
            ax.axhline(cap / 1024, color="red", linestyle="--", linewidth=0.8, label="capacity")
            ax.legend(loc="upper right", fontsize=7)
        ax.set_ylabel(f"{BUFFER_NAMES[b]} KiB")
    axes[-1].set_xlabel("cycle")
    axes[0].set_title("buffer occupancy")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def save_nnz_histograms(pruned, path: Path, title: str = "") -> None:
    """One small histogram of per-filter nonzeros per layer (a PrunedNetwork)."""
    layers = pruned.layers
    cols = min(6, len(layers))
    rows = -(-len(layers) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.6 * cols, 2.0 * rows + 0.6), squeeze=False)
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
    fig, ax = plt.subplots(figsize=(max(4.5, 0.9 * len(xs) + 2.5), max(3.5, 0.6 * len(ys) + 2)))
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
        sc = ax.scatter([c.area / 1024 for c in ok], [c.cycles for c in ok],
                        c=[c.energy_uj for c in ok], cmap="viridis", s=30)
        fig.colorbar(sc, ax=ax, label="energy (uJ)")
    front = sizing.front
    ax.plot([c.area / 1024 for c in front], [c.cycles for c in front], color="black",
            linewidth=0.8, marker="o", markersize=3, label="Pareto front")
    ax.axhline(sizing.target_cycles, color="red", linestyle="--", linewidth=0.8,
               label=f"target {sizing.target_cycles:,} cycles")
    if sizing.best is not None:
        b = sizing.best
        ax.scatter([b.area / 1024], [b.cycles], marker="*", s=200, color="red", zorder=3,
                   label=f"smallest meeting it: {b.pes} PEs, buffers x{b.scale:g}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("area proxy (KiB-equivalent: lanes x lane_bytes + buffer bytes)")
    ax.set_ylabel("latency (cycles)")
    ax.set_title(title or "sizing")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
