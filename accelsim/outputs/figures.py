"""Figures of the studies: per-layer nonzero histograms, measured against modelled sparsity,
sweep heatmaps and line plots, the sizing Pareto chart, the PE-model bars and the activation
trends. Each `*_figure` function returns a `matplotlib.figure.Figure` (built without pyplot,
in the current style and rcParams); `accelsim.outputs.plotting.save_figure` writes it as PNG,
SVG or PDF. The four figures of every run are in accelsim.outputs.plotting.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import Formatter, FuncFormatter, MaxNLocator, NullFormatter

MAX_FIGSIZE = (14.0, 12.0)  # inches


def _figsize(width: float, height: float) -> tuple[float, float]:
    """Figures grow with layers and swept values up to MAX_FIGSIZE: beyond, memory and drawing
    time grow and nothing more can be read."""
    return min(width, MAX_FIGSIZE[0]), min(height, MAX_FIGSIZE[1])


def nnz_histograms_figure(pruned, title: str = "") -> Figure:
    """One small histogram of per-filter nonzeros per layer (a PrunedNetwork)."""
    layers = pruned.layers
    cols = max(min(6, len(layers)), int(np.ceil(np.sqrt(len(layers)))))
    rows = -(-len(layers) // cols)
    fig = Figure(figsize=_figsize(2.6 * cols, 2.0 * rows + 0.6))
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax, p in zip(axes.flat, layers):
        nnz = np.asarray(p.filter_nnz)
        lo, hi = (int(nnz.min()), int(nnz.max())) if len(nnz) else (0, 0)
        if lo == hi:  # dense, or evenly pruned: one value, not a degenerate axis
            ax.bar([lo], [len(nnz)], width=max(1, lo * 0.02), color="#1f77b4")
            ax.set_xlim(lo - max(1, lo * 0.1), lo + max(1, lo * 0.1))
            ax.text(
                0.03,
                0.95,
                f"every filter\n{lo:,}",
                transform=ax.transAxes,
                ha="left",
                va="top",
                fontsize=7,
            )
        else:
            ax.hist(nnz, bins=min(40, max(5, len(nnz) // 4), hi - lo + 1), color="#1f77b4")
        ax.set_title(f"{p.layer.name} ({p.density:.0%} dense)", fontsize=7)
        ax.tick_params(labelsize=7)
        ax.xaxis.set_major_locator(MaxNLocator(4, integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(4, integer=True))
    for ax in list(axes.flat)[len(layers) :]:
        ax.axis("off")
    fig.suptitle(title or "nonzero weights per filter, per layer", fontsize=10)
    fig.supxlabel("nonzero weights in a filter", fontsize=9)
    fig.supylabel("filters", fontsize=9)
    fig.tight_layout()
    return fig


def measured_vs_model_figure(rows, title: str = "") -> Figure:
    """Per layer, each statistic measured (dots) against the fitted model (crosses): the
    per-filter nnz cv, the all-zero-kernel share and the all-zero-window share."""
    stats = [
        ("filter_cv", "per-filter nnz cv"),
        ("zero_kernels", "all-zero kernels"),
        ("zero_windows", "all-zero 3x3 windows"),
    ]
    x = np.arange(len(rows))
    size = _figsize(max(6.0, 0.16 * len(rows) + 2), 6.2)
    fig = Figure(figsize=size)
    axes = fig.subplots(len(stats), 1, sharex=True)
    for ax, (key, label) in zip(axes, stats):
        measured = [getattr(r.measured, key) for r in rows]
        modelled = [getattr(r.modelled, key) for r in rows]
        ax.vlines(x, measured, modelled, color="#bbbbbb", lw=1)
        point = np.array([r.kernel[0] * r.kernel[1] > 1 for r in rows])
        ax.plot(x[point], np.array(measured)[point], "o", ms=3.5, color="#1f77b4", label="measured")
        ax.plot(
            x[~point],
            np.array(measured)[~point],
            "o",
            ms=3.5,
            mfc="none",
            color="#1f77b4",
            label="measured, 1x1 kernel (all-zero = pruned weight)",
        )
        ax.plot(x, modelled, "x", ms=4, color="#d62728", label="fitted model")
        ax.set_ylabel(label, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=7, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=3, frameon=False)
    step = max(1, len(rows) // 40)
    axes[-1].set_xticks(x[::step], [r.layer for r in rows][::step], rotation=90, fontsize=6)
    axes[-1].set_xlabel("conv layer, in network order", fontsize=8)
    # a long source path (an ncnn model deep in its wheel) wraps instead of running off
    title = title or "measured against modelled sparsity, per layer"
    fig.suptitle(
        "\n".join(_wrap(line, int(size[0] * 13)) for line in title.splitlines()), fontsize=9
    )
    fig.tight_layout()
    return fig


def heatmap_figure(
    rows: list[dict],
    x: str,
    y: str,
    metric: str,
    title: str = "",
    best=min,
    where: Mapping[str, object] | None = None,
    over: tuple[str, ...] | None = None,
    pes: Mapping[str, int] | None = None,
) -> Figure:
    """`metric` over two swept axes; where other axes vary, each cell shows the best value
    (`best`: min for cycles, max for utilization). A cell whose every point failed is grey and
    says so; a sweep where every point failed says that instead of drawing a colour bar.

    `where` (axis -> value) keeps only the rows at those values, a slice the title names;
    `over` names the axes the best is taken over (None: "the other swept fields", (): none);
    `pes` (a swept pe_cols or pe_rows -> the other dimension, the same on every point) makes
    that axis count PEs."""
    where, pes = dict(where or {}), dict(pes or {})
    rows = sliced(rows, where)
    xs = sorted({r[x] for r in rows}, key=_order)
    ys = sorted({r[y] for r in rows}, key=_order)
    grid = np.full((len(ys), len(xs)), np.nan)
    allotted = np.zeros(grid.shape, dtype=bool)  # the cell's value is an allotment run's
    for r in rows:
        if r.get(metric) is None:
            continue
        i, j = ys.index(r[y]), xs.index(r[x])
        v = r[metric]
        if np.isnan(grid[i, j]) or best(grid[i, j], v) != grid[i, j]:
            grid[i, j] = v
            allotted[i, j] = r.get("allotted_from_point") not in (None, "")
    fig = Figure(figsize=_figsize(max(5.0, 1.1 * len(xs) + 2.5), max(3.5, 0.6 * len(ys) + 2)))
    ax = fig.subplots()
    ax.imshow(
        np.where(np.isnan(grid), 1, 0), cmap="Greys", vmin=0, vmax=4, aspect="auto", origin="lower"
    )  # failed cells: light grey
    if np.isnan(grid).all():
        error = next((str(r.get("error")) for r in rows if r.get("error")), "no results")
        ax.text(
            0.5,
            0.5,
            "every point failed:\n" + _wrap(error, 60),
            ha="center",
            va="center",
            fontsize=8,
            transform=ax.transAxes,
        )
    else:
        im = ax.imshow(grid, cmap="viridis", aspect="auto", origin="lower")
        fig.colorbar(
            im,
            ax=ax,
            label=_label(metric),
            format=_TickValues(metric),
        )
        # one digit more than the short form where cells would read the same without it
        cells = _TickValues(metric)
        cells.set_locs(sorted(set(grid[~np.isnan(grid)].tolist())))
        base = 1 if metric in ("utilization", "share_busy") else 0
        precision = base + (cells._precision() > base)
        for i in range(len(ys)):
            for j in range(len(xs)):
                v = grid[i, j]
                if np.isnan(v):
                    ax.text(j, i, "failed", ha="center", va="center", fontsize=7, color="black")
                    continue
                r, g, b, _ = im.cmap(im.norm(v))
                dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.5  # text that reads on the cell
                ax.text(
                    j,
                    i,
                    cells._label(v, precision) + ("*" if allotted[i, j] else ""),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if dark else "black",
                )
    ax.set_xticks(range(len(xs)), [_tick(x, v, pes.get(x)) for v in xs], fontsize=8)
    ax.set_yticks(range(len(ys)), [_tick(y, v, pes.get(y)) for v in ys], fontsize=8)
    width, height = fig.get_size_inches()
    ax.set_xlabel(_fit(_label(x, pes.get(x)), int(width * 10)))
    ax.set_ylabel(_fit(_label(y, pes.get(y)), int(height * 10)))
    if not title:
        lowest = "lowest" if best is min else "highest"
        title = _label(metric) + _slice_text(where)
        if over is None:
            title += f": {lowest} over the other swept fields"
        elif over:
            title += f": {lowest} over {', '.join(_short(a) for a in over)}"
    values = grid[~np.isnan(grid)]
    if len(values) > 1 and values.min() > 0 and values.max() / values.min() < 1.05:
        # colours stretch over the range, which can be a sliver of the values
        spread = values.max() / values.min() - 1
        title += (
            f" (cells within {spread:.2%} of each other)" if spread else " (every cell the same)"
        )
    ax.set_title(_wrap(title, int(fig.get_figwidth() * 12)), fontsize=10)
    if allotted.any():
        fig.text(
            0.01,
            0.01,
            _wrap(
                "* runs with the buffer sizes of a smaller point that was faster "
                "(allotted_from_point in results.csv)",
                int(width * 14),
            ),
            fontsize=7,
            va="bottom",
        )
        fig.tight_layout(rect=(0, 0.06, 1, 1))
    else:
        fig.tight_layout()
    return fig


def sweep_line_figure(
    rows: list[dict],
    x: str,
    metric: str,
    lines: tuple[str, ...] = (),
    title: str = "",
    where: Mapping[str, object] | None = None,
    pes: Mapping[str, int] | None = None,
) -> Figure:
    """`metric` against one numeric swept axis `x`, one line per combination of the
    categorical axes `lines` (the policy, say); failed points are left out of their line
    and counted in the legend. A power-of-two axis (PEs, buffer sizes) is drawn on a log2
    scale, so each doubling is one step. `where` and `pes` as for heatmap_figure: a slice
    of the rows, and an axis of PE columns or rows drawn as PEs."""
    where = dict(where or {})
    rows = sliced(rows, where)
    k_pes = (pes or {}).get(x, 1)
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault(tuple(r[a] for a in lines), []).append(r)
    fig = Figure(figsize=(7.0, 4.3))
    ax = fig.subplots()
    markers = "osD^vP*X"
    for k, (key, members) in enumerate(sorted(groups.items(), key=lambda kv: _order(kv[0]))):
        done = sorted((r for r in members if r.get(metric) is not None), key=lambda r: r[x])
        failed = len(members) - len(done)
        label = ", ".join(f"{_NAMES.get(a, a)} {v}" for a, v in zip(lines, key)) or metric
        label += f" ({failed} failed)" if failed else ""
        ax.plot(
            [r[x] * k_pes for r in done],
            [r[metric] for r in done],
            marker=markers[k % len(markers)],
            markersize=4,
            label=label,
        )
    values = sorted({r[x] * k_pes for r in rows if isinstance(r[x], (int, float))})
    if len(values) > 2 and all(
        v > 0 and float(v).is_integer() and not int(v) & (int(v) - 1) for v in values
    ):
        ax.set_xscale("log", base=2)
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xticks(values, [_tick(x, v) for v in values])
    ax.yaxis.set_major_formatter(_TickValues(metric))
    if metric in SHARES:  # a share on its whole scale: 5 % does not look like nothing
        ax.set_ylim(0, 1)
    xlabel = _label(x, (pes or {}).get(x))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(_label(metric))
    ax.grid(alpha=0.3)
    if lines:
        ax.legend(fontsize="small")
    title = title or (
        f"{_label(metric)} against {xlabel.split(' [')[0].split(':')[0]}{_slice_text(where)}"
    )
    ax.set_title(_wrap(title, 84), fontsize=10)
    fig.tight_layout()
    return fig


SHARES = ("utilization", "share_busy")  # result columns that are shares of 1

_NAMES = {
    "pe_rows": "PE rows (PEs per column)",
    "pe_cols": "PE columns (PEs per row)",
    "macs_per_cycle": "MACs per cycle per PE",
    "dram_bytes_per_cycle": "DRAM bandwidth (bytes per cycle)",
    "noc_bytes_per_cycle": "interconnect bandwidth (bytes per cycle)",
    "input_queue_depth": "input queue depth (jobs per PE)",
    "cycles": "cycles",
    "seconds": "latency (s)",
    "utilization": "utilization",
    "share_busy": "share of PE-cycles busy",
    "energy_uj": "energy (uJ)",
    "static_energy_uj": "static energy (uJ)",
    "area_mm2": "area (mm$^2$, 45 nm)",
    "dram_bytes": "DRAM traffic (KiB)",
    "dram_extra_bytes": "DRAM traffic beyond compulsory (KiB)",
    "buffer_bytes": "on-chip buffers (KiB)",
    "makespan_over_bound": "cycles / compute bound",
    "pe_lanes": "MAC lanes",
}


def _label(field: str, pes: int | None = None) -> str:
    """A swept field or result column for an axis: its readable name with its unit (byte
    sizes in KiB), then the scenario field in brackets. A swept pe_cols (pe_rows) with the
    other dimension `pes` on every point counts PEs: "PEs: PE columns x 4 rows"."""
    last = field.rsplit(".", 1)[-1]
    name = _NAMES.get(last, last.replace("_bytes", " (KiB)").replace("_", " "))
    if pes is not None and last in ("pe_cols", "pe_rows"):
        other = "row" if last == "pe_cols" else "column"
        name = f"PEs: {_short(field)} x {pes} {other}{'s' * (pes != 1)}"
    return name if name == field or field in _NAMES else f"{name} [{field}]"


def _fit(label: str, chars: int) -> str:
    """An axis label longer than `chars` with its scenario field on a line of its own."""
    return label.replace(" [", "\n[") if len(label) > chars else label


def _short(field: str) -> str:
    """A field's readable name without unit or note: "PE columns", "output buffer"."""
    last = field.rsplit(".", 1)[-1]
    return _NAMES.get(last, last.replace("_bytes", "").replace("_", " ")).split(" (")[0]


def _tick(field: str, v, pes: int | None = None) -> str:
    """A swept value as its axis names it: byte sizes in KiB (512, 1,024), PE columns or
    rows times `pes` (the PEs), others as given."""
    if field.endswith("_bytes") and isinstance(v, (int, float)) and np.isfinite(v):
        return f"{v / 1024:,.4g}"
    if pes is not None and isinstance(v, int):
        return f"{v * pes:,}"
    return f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v)


def _slice_text(where: Mapping[str, object]) -> str:
    """ " at policy = lpt, output buffer = 128 KiB": the slice a figure shows, or "" for
    all the points."""
    if not where:
        return ""
    return " at " + ", ".join(
        f"{_short(a)} = {_tick(a, v)}{' KiB' * a.endswith('_bytes')}" for a, v in where.items()
    )


def sliced(rows: list[dict], where: Mapping[str, object]) -> list[dict]:
    """The rows whose every axis in `where` has its value (131072 matches 131072.0, true
    matches no 1)."""
    return [
        r
        for r in rows
        if all(
            a in r and isinstance(r[a], bool) == isinstance(v, bool) and r[a] == v
            for a, v in where.items()
        )
    ]


def _value(metric: str, v: float, digits: int = 1, figures: int = 4) -> str:
    """A metric's value: shares as percentages (`digits` decimals), byte counts in KiB,
    others short (_si, `figures` significant figures)."""
    if metric in ("utilization", "share_busy"):
        return f"{v:.{digits}%}"
    if metric.endswith("_bytes"):
        return _si(v / 1024, figures)
    return _si(v, figures)


def _si(v: float, figures: int = 4) -> str:
    """Four (or `figures`) significant figures with a k or M suffix: 6.325M, 951.5k, 812."""
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= scale:
            return f"{v / scale:.{figures}g}{suffix}"
    return f"{v:.{figures}g}"


class _TickValues(Formatter):
    """Tick labels in _value's short form, with as many digits as the ticks need to differ:
    a colour bar over 20.349 M to 20.357 M labelled every 2,000 cycles read '20.35M' at
    four ticks out of five with four figures."""

    def __init__(self, metric: str):
        self.metric = metric
        self._ticks: list[float] = []

    def set_locs(self, locs) -> None:
        """The values being labelled (matplotlib passes the ticks before labelling them)."""
        self._ticks = list(locs)

    def __call__(self, x, pos=None) -> str:
        return self._label(x, self._precision())

    def _label(self, x, precision: int) -> str:
        return _value(self.metric, x, precision, precision + 4)

    def _precision(self) -> int:
        for precision in range(6):
            if len({self._label(v, precision) for v in self._ticks}) == len(self._ticks):
                return precision
        return 6


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width)[:6])


def _order(v):
    return (0, v, "") if isinstance(v, (int, float)) else (1, 0, str(v))


def pareto_figure(sizing, clock_hz: float, title: str = "", unit: str = "cycles") -> Figure:
    """Latency against area for every simulated configuration, coloured by energy; the
    Pareto front joined, the target and the chosen configuration marked. Latency is in the
    unit the target was asked in: cycles, or ms at `clock_hz`."""
    per = 1.0 if unit == "cycles" else 1e3 / clock_hz  # cycles -> the unit shown

    def drawable(c) -> bool:  # an infinite area (ideal buffers) has no place on the chart
        return c.feasible and math.isfinite(c.area_mm2) and c.area_mm2 >= 0

    ok = [c for c in sizing.simulated if drawable(c)]
    # constrained: the legend below the axes, the colour bar beside, neither on a point
    fig = Figure(figsize=(7, 5.2), layout="constrained")
    ax = fig.subplots()
    if not ok:  # nothing to place on log axes: say so, keep the file
        ax.text(
            0.5,
            0.5,
            (
                "no configuration could run"
                if not any(c.feasible for c in sizing.simulated)
                else "no configuration that ran has a finite area (ideal buffers)"
            )
            + f"\ntarget {sizing.target_cycles:,} cycles; sizing.json lists every run",
            ha="center",
            va="center",
            transform=ax.transAxes,
        )
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(title or "sizing")
        return fig
    sc = ax.scatter(
        [c.area_mm2 for c in ok],
        [c.cycles * per for c in ok],
        c=[c.energy_uj for c in ok],
        cmap="viridis",
        s=30,
    )
    fig.colorbar(sc, ax=ax, label="energy (uJ)").ax.tick_params(labelsize="small")
    dense = [c for c in getattr(sizing, "references", ()) if drawable(c)]
    if dense:  # the dense systolic reference (size --reference): same axes, open squares
        ax.scatter(
            [c.area_mm2 for c in dense],
            [c.cycles * per for c in dense],
            marker="s",
            facecolors="none",
            edgecolors="grey",
            s=30,
            label=f"dense systolic reference ({dense[0].design})",
        )
    front = [c for c in sizing.front if drawable(c)]
    ax.plot(
        [c.area_mm2 for c in front],
        [c.cycles * per for c in front],
        color="black",
        linewidth=0.8,
        marker="o",
        markersize=3,
        label="Pareto front",
    )
    shown = (
        f"{sizing.target_cycles:,} cycles"
        if unit == "cycles"
        else f"{sizing.target_cycles * per:g} ms ({sizing.target_cycles:,} cycles)"
    )
    drawn = [c.cycles for c in ok]
    if min(drawn) / 10 <= sizing.target_cycles <= max(drawn) * 10:
        ax.axhline(
            sizing.target_cycles * per,
            color="red",
            linestyle="--",
            linewidth=0.8,
            label=f"target {shown}",
        )
    else:  # a far target would squash every point into one line
        ax.plot(
            [],
            [],
            color="red",
            linestyle="--",
            linewidth=0.8,
            label=f"target {shown}: off the chart",
        )
    if sizing.best is not None and drawable(sizing.best):
        b = sizing.best
        ax.scatter(
            [b.area_mm2],
            [b.cycles * per],
            marker="*",
            s=200,
            color="red",
            edgecolors="black",
            linewidths=0.5,
            zorder=5,  # above the front's line and markers
            label=f"smallest meeting it: {b.pes} PEs, buffers x{b.scale:g}",
        )
    if all(c.area_mm2 > 0 for c in ok):  # an [area] table of zeros has no log scale
        ax.set_xscale("log")
    ax.set_yscale("log")
    for axis, values in (
        (ax.xaxis, [c.area_mm2 for c in ok + dense]),
        (ax.yaxis, [c.cycles * per for c in ok + dense]),
    ):
        axis.set_major_formatter(FuncFormatter(_plain))
        axis.set_minor_formatter(FuncFormatter(_minor_labels(values)))
        axis.set_tick_params(which="both", labelsize="small")  # one size, major or minor
    ax.set_xlabel("area (mm$^2$, 45 nm: MAC lanes, index logic, buffers, interconnect)")
    ax.set_ylabel(f"latency ({unit})")
    ax.set_title(title or "sizing")
    fig.legend(
        *ax.get_legend_handles_labels(),
        loc="outside lower center",
        ncol=2,
        fontsize="small",
        frameon=False,
    )
    return fig


def _plain(v: float, _=None) -> str:
    """A log axis's number as people write it (5, 10, 20 mm^2; 2M, 3M cycles), not 6 x 10^0."""
    return f"{v / 1e6:g}M" if v >= 1e6 else f"{v:,.0f}" if v >= 1000 else f"{v:g}"


def _minor_labels(values: list[float]):
    """Labels of a log axis's minor ticks: every one (2 to 9) when the data span less than a
    decade, else only 2 and 5, so labels never run into each other."""
    lo, hi = min(values), max(values)
    every = lo > 0 and hi / lo < 10

    def label(v: float, _=None) -> str:
        mantissa = round(v / 10 ** math.floor(math.log10(v) + 1e-9), 6) if v > 0 else 0
        return _plain(v) if every or mantissa in (2, 5) else ""

    return label


def pe_models_figure(cycles: dict[str, list[int]], layers: list[str], title: str = "") -> Figure:
    """Each layer's cycles under each PE model, as a fraction of the dense PE's: bars below 1
    are what the model's skipping saves on that layer."""
    dense = np.maximum(np.asarray(cycles["dense"], dtype=float), 1)
    width = 0.8 / len(cycles)
    x = np.arange(len(layers))
    fig = Figure(figsize=(min(MAX_FIGSIZE[0], max(6.0, 0.55 * len(layers) + 2)), 4))
    ax = fig.subplots()
    for i, (model, values) in enumerate(cycles.items()):
        ax.bar(
            x + (i - (len(cycles) - 1) / 2) * width,
            np.asarray(values) / dense,
            width,
            label=f"{model} (total {sum(values) / sum(cycles['dense']):.2f})",
        )
    ax.axhline(1.0, color="black", linewidth=0.6)
    ax.set_xticks(
        x,
        layers,
        rotation=45 if len(layers) > 6 else 0,
        ha="right" if len(layers) > 6 else "center",
        fontsize=8,
    )
    ax.set_ylabel("cycles / dense PE's cycles")
    ax.set_title(_wrap(title or "PE models", int(fig.get_figwidth() * 11)), fontsize=11)
    ax.legend(fontsize=8, title="PE model (all layers)", title_fontsize=8)
    fig.tight_layout()
    return fig


def activation_trends_figure(
    depths: list[int],
    efficiency: dict[str, list[float]],
    layers: list[str],
    flop: dict[str, list[float]],
    title: str = "",
) -> Figure:
    """Two panels: load efficiency (busy PE-cycles over PEs x makespan) against the input
    queue depth, one line per setting (every second one dashed: curves that coincide stay
    visible); and each layer's executed MACs as a share of its
    dense MACs, one bar per source (a published FLOP% beside the simulated one)."""
    fig = Figure(figsize=(13, 4.5))
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.6]})
    for i, (label, values) in enumerate(efficiency.items()):  # pairs: solid, then dashed
        left.plot(
            depths,
            100 * np.asarray(values),
            marker="os"[i % 2],
            markersize=3,
            linestyle="-" if i % 2 == 0 else "--",
            label=label,
        )
    left.set_xscale("log", base=2)
    ticks = [d for d in depths if d in (1, 2, 3, 4, 6, 8, 12, 16, 32, 64)]
    left.set_xticks(ticks, [str(d) for d in ticks], fontsize=8)
    left.xaxis.set_minor_formatter(NullFormatter())
    left.set_ylim(0, 102)
    left.set_xlabel("input queue depth (jobs per PE)")
    left.set_ylabel("load efficiency (%)")
    left.set_title("load balance against queue depth", fontsize=10)
    left.grid(alpha=0.3)
    left.legend(fontsize=7, loc="lower right")
    width = 0.8 / len(flop)
    x = np.arange(len(layers))
    for i, (label, values) in enumerate(flop.items()):
        right.bar(x + (i - (len(flop) - 1) / 2) * width, values, width, label=label)
    right.set_xticks(x, layers, rotation=45, ha="right", fontsize=8)
    right.set_ylabel("executed MACs / dense MACs (%)")
    right.set_title("work per layer, zero activations skipped", fontsize=10)
    right.legend(fontsize=8)
    fig.suptitle(title or "activation sparsity")
    fig.tight_layout()
    return fig
