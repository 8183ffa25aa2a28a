"""Figures of a run: PE timeline, per-PE utilization, stall breakdown, buffer occupancy.

Each `*_figure` function takes plain arrays (as stored in trace.npz, or summary.json's
layers) and returns a `matplotlib.figure.Figure`, for a user to restyle, compose and save;
`save_figure` writes one in the format its file name's extension names (png, svg, pdf). The
figures are built on `Figure` itself, not pyplot: no GUI backend, no global list of open
figures, and `savefig` loads only the Agg, PDF or SVG backend the file needs.

Colours come from one palette, `palette()`, read when a figure is built and used by the
drawing and its legend alike. The defaults (STATE_COLORS) are entries of the colour cycle
("C2" for busy, as matplotlib's tab10 cycle has it), so a style sheet that sets
`axes.prop_cycle` recolours the states, in the plot and in the legend; fonts, line widths and
face colours follow rcParams too (`with matplotlib.style.context(...)` around the call).

The timeline's rows are one RGBA image inside vector axes (interpolation "none": one image
pixel per device pixel at the figure's dpi, embedded unresampled in PDF and SVG), so its cost
and size do not grow with the trace; each pixel column stacks the states of its time bin in
their own colours, since a blend of two states' colours reads as a third one. Beyond
MAX_PE_ROWS PEs the per-PE figures show bands of neighbouring PEs, and no figure grows past
MAX_FIGSIZE: drawing time and file size stay flat from a few dozen PEs to thousands.
"""

from __future__ import annotations

import contextlib
import logging
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from matplotlib import colors as mcolors
from matplotlib import rc_context, rcParams
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from accelsim.errors import ConfigError
from accelsim.trace import BUFFER_NAMES, State, StateIntervals

FORMATS = ("png", "svg", "pdf")
STATE_COLORS: dict[State, str] = {
    State.BUSY: "C2",
    State.WAIT_WEIGHTS: "C4",
    State.WAIT_INPUTS: "C3",
    State.WAIT_NOC: "C1",
    State.WAIT_OUTPUT: "C5",
    State.IDLE: "#d9d9d9",  # light grey: idle must recede behind the states that matter
}
DPI = 130  # the default resolution of the raster formats and of the timeline's image
MAX_PE_ROWS = 64  # up to this many PEs, one row (timeline) or bar (utilization) per PE
BANDS = 32  # beyond, about this many bands of neighbouring PEs
MAX_FIGSIZE = (12.0, 11.0)  # inches
MAX_NAMES = 120  # layer names on one axis: x-small labels at the width cap
CYCLES = FuncFormatter(lambda v, _: f"{v:,.0f}")


# --- the palette and saving -------------------------------------------------------------------


def palette(colors: Mapping[State, str] | None = None) -> dict[State, tuple]:
    """RGBA of each state: STATE_COLORS, with `colors` over them, resolved now against the
    current rcParams (a "CN" colour is the N-th of the style's colour cycle)."""
    chosen = {**STATE_COLORS, **(colors or {})}
    return {s: mcolors.to_rgba(chosen[s]) for s in State}


def state_legend(fig: Figure, colours: dict[State, tuple], **where) -> None:
    """One swatch per state, in the colours the figure drew with."""
    handles = [Patch(facecolor=colours[s], label=s.label) for s in State]
    fig.legend(handles=handles, frameon=False, fontsize="small", **where)


def figure_format(path: Path) -> str:
    """The format a file name's extension names, one of FORMATS."""
    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ConfigError(
            f"{path}: unknown figure format {Path(path).suffix or '(no extension)'!r}: "
            f"name the file .png, .svg or .pdf"
        )
    return fmt


def save_figure(fig: Figure, path: Path, dpi: float | None = None) -> Path:
    """Write `fig` to `path` in the format of its extension (figure_format), at `dpi` (the
    figure's own by default; it sets the pixels of PNG and of a PDF's or SVG's timeline
    image). No creation date is written, so the same figure gives the same bytes."""
    fmt = figure_format(path)
    metadata = {"png": {}, "svg": {"Date": None}, "pdf": {"CreationDate": None}}[fmt]
    # TrueType (Type 42) fonts in a PDF, not Type 3: journals' checkers and editors want
    # fonts they can embed and select; the caller's rcParams are left as they were
    with rc_context({"pdf.fonttype": 42}):
        fig.savefig(path, format=fmt, dpi=dpi or fig.dpi, metadata=metadata)
    return Path(path)


class _Kept(logging.Handler):
    """Log records kept as text, not printed."""

    def __init__(self):
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def style_context(style: str | None):
    """A context in which figures are drawn in `style`: a name of matplotlib.style.available
    or a .mplstyle file; None, the current rcParams as they are. An unknown name or a missing
    or unreadable file is a ConfigError naming it, raised here, before anything is drawn (and
    before a run that would draw with it, when called up front)."""
    import matplotlib.style

    if style is None:
        return contextlib.nullcontext()
    if style not in matplotlib.style.available and style != "default":
        if not Path(style).is_file():
            raise ConfigError(
                f"--style {style!r}: neither a matplotlib style name nor a file; give one of "
                f"{', '.join(sorted(matplotlib.style.available)[:6])}, ... "
                f"(matplotlib.style.available) or a .mplstyle file"
            )
        # matplotlib logs a bad line and skips it, and logs before it raises: its lines are
        # kept, so the error is ours, one line, and a sheet it would half apply is refused
        handler = _Kept()
        logger = logging.getLogger("matplotlib")
        logger.addHandler(handler)
        propagate, logger.propagate = logger.propagate, False
        try:
            read_style = matplotlib.rc_params_from_file(style, use_default_template=False)
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise ConfigError(f"--style {style}: cannot read it as a style sheet: {exc}") from None
        finally:
            logger.removeHandler(handler)
            logger.propagate = propagate
        if handler.lines:
            raise ConfigError(f"--style {style}: {handler.lines[0]}")
        if not read_style:
            raise ConfigError(
                f"--style {style}: sets no rcParams (lines like 'axes.facecolor: white'); "
                f"is it a matplotlib style sheet?"
            )
    return matplotlib.style.context(style)


# --- data ---------------------------------------------------------------------------------------


def load_trace(result_dir: Path) -> dict[str, np.ndarray]:
    """The arrays of a result directory's trace.npz."""
    path = Path(result_dir) / "trace.npz"
    if not path.is_file():
        raise ConfigError(
            f"{path}: no trace here; run `accelsim run SCENARIO --out {result_dir}` first "
            f"(with --trace npz or all)"
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


def band_rows(n_pes: int) -> tuple[int, np.ndarray]:
    """PEs per row of the per-PE plots and each row's label."""
    band = band_size(n_pes)
    first = np.arange(0, n_pes, band)
    if band == 1:
        return band, first.astype(str)
    return band, np.array([f"{a}-{min(a + band, n_pes) - 1}" for a in first])


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


def _cycle_unit(largest: float) -> tuple[float, str]:
    """A scale that keeps cycle axis labels short: cycles, thousands or millions."""
    for scale, unit in ((1e6, "millions"), (1e3, "thousands")):
        if largest >= 10 * scale:
            return scale, unit
    return 1.0, "cycles"


# --- layout helpers -----------------------------------------------------------------------------


def _points(size: str | float) -> float:
    """A font size (a number, or "small" and the like, relative to font.size) in points."""
    return FontProperties(size=size).get_size_in_points()


def _text_inches(chars: int, size: str | float) -> float:
    """About how long a line of `chars` characters is, in inches (0.6 em per character)."""
    return chars * 0.6 * _points(size) / 72


def _axes(fig: Figure, left: float, bottom: float, width: float, height: float, **kw):
    """Axes at a box given in inches from the figure's lower left corner: fixed margins are
    computed once, where a layout engine would draw every image and text one more time."""
    w, h = fig.get_size_inches()
    return fig.add_axes((left / w, bottom / h, width / w, height / h), **kw)


def _layer_names(ax, starts, ends, names, lo: float, hi: float, width_in: float) -> None:
    """Layer names standing above the axes, rotated, one line height apart at least."""
    size = "x-small"
    gap = 1.25 * _points(size) / 72 / width_in
    at, shown = layer_label_positions(starts, ends, names, lo, hi, gap)
    transform = ax.get_xaxis_transform()
    for x, name in zip(at, shown):
        ax.text(
            x, 1.01, name, rotation=90, ha="center", va="bottom", fontsize=size, transform=transform
        )


def _boundaries(ax, starts) -> None:
    """Thin lines at the layer boundaries, in the axes' edge colour."""
    if len(starts) > 1:
        ax.vlines(
            starts[1:],
            0,
            1,
            transform=ax.get_xaxis_transform(),
            colors=rcParams["axes.edgecolor"],
            linewidth=0.5,
            alpha=0.5,
        )


def _names_inches(names, size: str = "x-small") -> float:
    longest = max((len(str(n)) for n in names), default=0)
    return min(_text_inches(longest, size), 1.6) + (0.1 if longest else 0)


# --- the timeline ---------------------------------------------------------------------------


def _pixel_rows(height: int, rows: int, fill: float) -> tuple[np.ndarray, np.ndarray]:
    """For each pixel row of an image of `rows` data rows (row 0 on top): its data row and its
    level in the row's bar, 0 at the bar's bottom to 1 at its top, outside [0, 1) in the gap
    around the bar (the bar fills `fill` of the row)."""
    y = (np.arange(height) + 0.5) * rows / height
    row = np.minimum(y.astype(np.int64), rows - 1)
    level = ((row + 1 - y) - (1 - fill) / 2) / fill
    return row, level


def _stacked_pixels(
    share: np.ndarray, row: np.ndarray, level: np.ndarray, rgba: np.ndarray
) -> np.ndarray:
    """RGBA pixels of stacked state shares: share is (rows, states, bins); pixel (i, j) shows
    the state whose slice of row[i]'s bin j holds level[i] (busy at the bottom), transparent
    above the stack's top and outside [0, 1), so the axes' face shows there. `row` must not
    decrease (pixel rows top to bottom); rgba has one colour per state, then transparent."""
    top = np.cumsum(share, axis=1)
    state = np.empty((len(row), share.shape[2]), dtype=np.uint8)
    first = np.flatnonzero(np.r_[True, row[1:] != row[:-1]])
    for a, b in zip(first, np.r_[first[1:], len(row)]):  # one data row at a time
        state[a:b] = (top[row[a]][None] <= level[a:b, None, None]).sum(axis=1, dtype=np.uint8)
    state[(level < 0) | (level >= 1)] = len(State)
    return rgba[state]


def _edges(lo: int, hi: int, columns: int) -> np.ndarray:
    """Integer cycle edges of one time bin per pixel column (fewer when the window has fewer
    cycles than the axes have pixels: the image is then stretched)."""
    n_bins = max(1, min(columns, hi - lo))
    return lo + np.arange(n_bins + 1) * (hi - lo) // n_bins


def timeline_figure(
    trace: dict[str, np.ndarray],
    title: str = "",
    window: tuple[int, int] | None = None,
    colors: Mapping[State, str] | None = None,
    dpi: float = DPI,
) -> Figure:
    """The PE rows above a strip of the whole array's state mix, layers named above.

    Each row (a PE, or a band of PEs, see band_size) stacks, per pixel column, the share of
    its cycles in each state in that bin (busy at the bottom); so does the strip for all PEs.
    `window` (t0, t1) limits the cycles shown; `dpi` sets the image's pixels (save at the
    same dpi for one image pixel per device pixel). Axes: fig.axes[0] the rows (x in
    cycles, y in rows, row 0 on top), fig.axes[1] the strip (y the share of PEs)."""
    n_pes = int(trace["n_pes"])
    states = intervals_of(trace)
    if window:
        states = states.window(*window)
    band, row_labels = band_rows(n_pes)
    rows = len(row_labels)
    end = int(states.end.max()) if len(states.end) else 1
    lo, hi = window or (0, end)
    starts, ends, names = trace["layer_start"], trace["layer_end"], trace["layer_name"]
    colours = palette(colors)
    rgba = np.array([colours[s] for s in State] + [(0, 0, 0, 0)])

    inside = [n for a, b, n in zip(starts, ends, names) if min(b, hi) > max(a, lo)]
    width = MAX_FIGSIZE[0]
    left = 1.0 if band == 1 else 1.55
    right = 0.5  # room for half of the last tick's label
    above = 0.45 + _names_inches(inside)  # the title, the names of the layers shown
    below = 0.95  # cycle ticks and label, the legend
    strip, gap = 0.7, 0.2
    rows_in = min(max(2.4, 0.13 * rows + 1.0), MAX_FIGSIZE[1] - above - below - strip - gap)
    height = above + rows_in + gap + strip + below
    fig = Figure(figsize=(width, height), dpi=dpi)
    plot_w = width - left - right
    ax = _axes(fig, left, below + strip + gap, plot_w, rows_in)
    mix = _axes(fig, left, below, plot_w, strip, sharex=ax)

    columns = max(1, round(plot_w * dpi))
    edges = _edges(lo, hi, columns)
    cycles = band_cycles(states, n_pes, band, edges)
    pes = np.minimum(band, n_pes - np.arange(rows) * band)
    share = cycles / (pes[:, None, None] * np.maximum(np.diff(edges), 1))
    row, level = _pixel_rows(max(rows, round(rows_in * dpi)), rows, 0.8)
    ax.imshow(
        _stacked_pixels(share, row, level, rgba),
        extent=(lo, hi, rows, 0),
        aspect="auto",
        interpolation="none",
    )
    total = cycles.sum(axis=0, keepdims=True) / (n_pes * np.maximum(np.diff(edges), 1))
    row, level = _pixel_rows(max(1, round(strip * dpi)), 1, 1.0)
    mix.imshow(
        _stacked_pixels(total, row, level, rgba),
        extent=(lo, hi, 0, 1),
        aspect="auto",
        interpolation="none",
    )
    for a in (ax, mix):
        _boundaries(a, starts)
    ax.set_xlim(lo, hi)
    ax.set_ylim(rows, 0)
    ax.tick_params(labelbottom=False)
    if band == 1:
        shown = np.arange(0, n_pes, max(1, -(-n_pes // 16)))
        ax.set_yticks(shown + 0.5, row_labels[shown].tolist(), fontsize="small")
        ax.set_ylabel("PE")
    else:
        ax.set_yticks(np.arange(rows) + 0.5, row_labels.tolist(), fontsize="x-small")
        ax.set_ylabel(
            f"bands of {band} PEs: share of the band's PEs\nin each state, per "
            f"{(hi - lo) / (len(edges) - 1):,.0f}-cycle bin",
            fontsize="small",
        )
    mix.set_ylim(0, 1)
    mix.set_yticks([0, 0.5, 1], ["0", "0.5", "1"], fontsize="x-small")
    mix.set_ylabel("all PEs", fontsize="small")
    mix.xaxis.set_major_locator(MaxNLocator(9))
    mix.xaxis.set_major_formatter(CYCLES)
    mix.set_xlabel("cycle")
    if len(names):
        _layer_names(ax, starts, ends, names, lo, hi, plot_w)
    fig.suptitle(title or "PE timeline", y=1 - 0.08 / height, va="top")
    state_legend(fig, colours, loc="lower center", ncol=len(State), bbox_to_anchor=(0.5, 0))
    return fig


# --- utilization, stalls, buffers ------------------------------------------------------------


def stacked_bars(ax, x: np.ndarray, heights: np.ndarray, colours: dict, width: float = 0.85):
    """Bars at x stacked from heights (states, bars), busy at the bottom, one collection per
    state (a few hundred Rectangles from ax.bar cost more to draw than the whole figure).
    Returns the collections, by state."""
    top = np.cumsum(heights, axis=0)
    left, right = x - width / 2, x + width / 2
    drawn = {}
    for state in State:
        lo, hi = top[state] - heights[state], top[state]
        verts = np.stack(
            [np.stack([left, left, right, right], 1), np.stack([lo, hi, hi, lo], 1)], -1
        )
        drawn[state] = ax.add_collection(
            PolyCollection(verts, facecolors=[colours[state]], linewidth=0), autolim=False
        )
    return drawn


def utilization_figure(
    trace: dict[str, np.ndarray], title: str = "", colors: Mapping[State, str] | None = None
) -> Figure:
    """Stacked bars: the share of each PE's cycles in each state, and the mean busy share.
    Beyond MAX_PE_ROWS PEs, one bar per band of PEs (band_size), with the range of busy shares
    over the band's PEs."""
    n_pes = int(trace["n_pes"])
    cycles = intervals_of(trace).cycles_by_state(n_pes)
    busy = cycles[:, State.BUSY] / np.maximum(cycles.sum(axis=1), 1)
    band, labels = band_rows(n_pes)
    first = np.arange(0, n_pes, band)
    cycles = np.add.reduceat(cycles, first, axis=0) if n_pes else cycles
    rows = len(first)
    share = cycles / np.maximum(cycles.sum(axis=1, keepdims=True), 1)
    colours = palette(colors)
    width = min(max(7.5, 0.16 * rows + 4.5), MAX_FIGSIZE[0])
    below = 0.65 if band == 1 else 1.15  # tick labels (rotated for bands) and the x label
    plot_h, above, right = 3.0, 0.45, 2.6  # right: the mean's label, then the legend
    fig = Figure(figsize=(width, below + plot_h + above), dpi=DPI)
    plot_w = width - 0.85 - right
    ax = _axes(fig, 0.85, below, plot_w, plot_h)
    # the legend just right of the mean's label, not at the figure's edge a gap away
    legend_at = dict(loc="center left", bbox_to_anchor=((0.85 + plot_w + 0.85) / width, 0.5))
    x = np.arange(rows)
    stacked_bars(ax, x, share.T, colours)
    mean = float(busy.mean()) if n_pes else 0.0
    ax.axhline(mean, color=rcParams["axes.edgecolor"], linewidth=0.9, linestyle="--")
    ax.text(
        1.01,
        mean,
        f"mean busy\n{mean:.1%}",
        transform=ax.get_yaxis_transform(),
        va="center",
        fontsize="x-small",
    )
    ax.set_xlim(-0.75, rows - 0.25)
    ax.set_ylim(0, 1)
    ax.set_ylabel("share of cycles")
    # every step-th PE labelled: as many as fit side by side (1, 2, 4, 8, ... apart)
    label_in = _text_inches(len(str(max(rows - 1, 0))) + 1, "x-small")
    step = 1 << max(0, int(np.ceil(np.log2(max(label_in * rows / plot_w, 1)))))
    if band == 1:
        ax.set_xticks(x[::step], labels[::step].tolist(), fontsize="x-small")
        ax.set_xlabel("PE")
        what = "per-PE utilization"
        state_legend(fig, colours, **legend_at)
    else:
        low, high = np.minimum.reduceat(busy, first), np.maximum.reduceat(busy, first)
        ax.vlines(x, low, high, colors=rcParams["axes.edgecolor"], linewidth=1.5)
        ax.set_xticks(x, labels.tolist(), rotation=90, fontsize="x-small")
        ax.set_xlabel(f"PEs, in bands of {band}")
        what = f"utilization per band of {band} PEs"
        handles = [
            Line2D(
                [],
                [],
                color=rcParams["axes.edgecolor"],
                linewidth=1.5,
                label="busy: range over\nthe band's PEs",
            ),
            *(Patch(facecolor=colours[s], label=s.label) for s in State),
        ]
        fig.legend(handles=handles, frameon=False, fontsize="small", **legend_at)
    spread = f"busy {busy.min():.1%} to {busy.max():.1%} across PEs" if n_pes else "no PEs"
    ax.set_title(f"{title + ': ' if title else ''}{what}; {spread}", fontsize="medium")
    return fig


def stalls_figure(
    layers: list[dict], title: str = "", colors: Mapping[State, str] | None = None
) -> Figure:
    """Per layer (from summary.json's layers): above, its cycles split by state, so a layer's
    bar is as tall as the time it takes; below, the shares of its PE-cycles in each state."""
    names = [l["name"] for l in layers]
    x = np.arange(len(names))
    cycles = np.array([l["cycles"] for l in layers], dtype=float)
    scale, unit = _cycle_unit(cycles.max(initial=1))
    share = np.array([[l["states"][st.label] for l in layers] for st in State]).reshape(
        len(State), len(names)
    )
    colours = palette(colors)
    width = min(max(7.0, 0.16 * len(names) + 3.5), MAX_FIGSIZE[0])
    step = max(1, -(-len(names) // MAX_NAMES))
    plot_w = width - 0.95 - 1.55
    # names one line height apart at least: every k-th when more would overlap
    step = max(step, int(np.ceil(1.2 * _points("x-small") / 72 / (plot_w / max(len(names), 1)))))
    shown = names[::step]
    below = 0.25 + _names_inches(shown)
    fig = Figure(figsize=(width, below + 5.4), dpi=DPI)
    lower = _axes(fig, 0.95, below, plot_w, 2.3)
    upper = _axes(fig, 0.95, below + 2.3 + 0.45, plot_w, 1.9, sharex=lower)
    stacked_bars(upper, x, share * cycles / scale, colours)
    stacked_bars(lower, x, share, colours)
    upper.set_ylim(0, cycles.max(initial=1) / scale * 1.05)
    upper.set_ylabel("cycles" if scale == 1 else f"cycles ({unit})")
    upper.set_title("each layer's cycles, split by the PEs' states", fontsize="small")
    upper.tick_params(labelbottom=False)
    lower.set_xlim(-0.6, len(names) - 0.4)
    lower.set_ylim(0, 1)
    lower.set_ylabel("share of PE-cycles")
    lower.set_title("share of each layer's PE-cycles in each state", fontsize="small")
    lower.set_xticks(x[::step], shown, rotation=90, fontsize="x-small")
    fig.suptitle(title or "where PE-cycles go, per layer", y=1 - 0.08 / (below + 5.4), va="top")
    state_legend(fig, colours, loc="center right")
    return fig


def _envelope(t: np.ndarray, level: np.ndarray, lo: float, hi: float, columns: int):
    """A step line of (t, level) cut to at most about 4 points per column: within a column
    the first, lowest, highest and last values, in time order. At the figure's resolution it
    draws the same pixels, and a PDF or SVG of a long run stays small."""
    if len(t) <= 4 * columns:
        return t, level
    column = np.minimum(((t - lo) * columns // max(hi - lo, 1)).astype(np.int64), columns - 1)
    starts = np.flatnonzero(np.r_[True, column[1:] != column[:-1]])
    ends = np.r_[starts[1:], len(t)] - 1
    low = np.minimum.reduceat(level, starts)
    high = np.maximum.reduceat(level, starts)
    keep = np.zeros(len(t), dtype=bool)
    keep[starts] = keep[ends] = True
    index = np.arange(len(t))
    for extreme in (low, high):  # the first point of each column at its extreme
        hit = level == np.repeat(extreme, ends - starts + 1)
        keep[np.minimum.reduceat(np.where(hit, index, len(t)), starts)] = True
    return t[keep], level[keep]


def buffers_figure(
    trace: dict[str, np.ndarray], capacities: Mapping[str, float] | None = None, title: str = ""
) -> Figure:
    """Each buffer's KiB over time against its capacity (dashed, named in the y label, so no
    legend covers the data), with the layer boundaries and names."""
    starts, ends, names = trace["layer_start"], trace["layer_end"], trace["layer_name"]
    end = int(ends.max()) if len(ends) else 1
    width = 11.0
    above = 0.45 + _names_inches(names) if len(names) else 0.5
    panel, gap, below = 1.5, 0.15, 0.6
    height = above + 3 * panel + 2 * gap + below
    fig = Figure(figsize=(width, height), dpi=DPI)
    plot_w = width - 1.35 - 0.3
    axes = []
    for b, name in enumerate(BUFFER_NAMES):
        y0 = below + (2 - b) * (panel + gap)
        ax = _axes(fig, 1.35, y0, plot_w, panel, **({"sharex": axes[0]} if axes else {}))
        sel = trace["level_buffer"] == b
        t, kib = _envelope(
            trace["level_t"][sel], trace["level_bytes"][sel] / 1024, 0, end, round(plot_w * DPI)
        )
        if len(t):
            ax.step(t, kib, where="post", color="C0", linewidth=0.8)
        _boundaries(ax, starts)
        cap = (capacities or {}).get(name)
        label = f"{name} KiB"
        if cap is not None and np.isfinite(cap):
            ax.axhline(cap / 1024, color="C3", linestyle="--", linewidth=0.9)
            ax.set_ylim(0, cap / 1024 * 1.08)
            label += f"\ncapacity {cap / 1024:,.0f}\n(dashed)"
        else:
            ax.set_ylim(0, max(float(kib.max(initial=0)) * 1.05, 1.0))
        ax.set_ylabel(label, fontsize="small")
        ax.yaxis.set_major_locator(MaxNLocator(4))
        if b < 2:
            ax.tick_params(labelbottom=False)
        axes.append(ax)
    axes[0].set_xlim(0, end)
    axes[-1].xaxis.set_major_formatter(CYCLES)
    axes[-1].set_xlabel("cycle")
    if len(starts):
        _layer_names(axes[0], starts, ends, names, 0, end, plot_w)
    fig.suptitle(title or "buffer occupancy", y=1 - 0.08 / height, va="top")
    return fig
