"""Time of each of the four plots of a run, before and after, at 16, 256 and 1,024 PEs, and the
CPU of the whole default `accelsim run` process with each:

    python benchmarks/outputs.py              # best of 2 runs of each plot (more if fast)
    python benchmarks/outputs.py --repeat 1   # quicker

"before" draws the four plots with matplotlib, as accelsim did until it drew them with its own
Pillow charts (accelsim/outputs/charts.py); that code is kept below only to be timed against. The
per-plot rows use the default scenario (ResNet-18, LPT) with hardware.pe_rows/pe_cols changed
and baselines off (the weight buffer grows to 8 KiB per PE so that a broadcast to every PE
fits), drawn from the same trace.npz as `accelsim run`. The process rows run `accelsim run scenarios/default.toml` (with
plots and baselines) in a child process, with a fresh baseline cache and then with it filled,
and report its user + system CPU; "before" is the same command with the matplotlib plots
patched in. The PNGs are not the same pixels (another renderer): the tests check what their
pixels show.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import attrs
import matplotlib

matplotlib.use("Agg")
import matplotlib.colors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402
from PIL import Image  # noqa: E402

import accelsim  # noqa: E402
from accelsim.outputs import plotting  # noqa: E402
from accelsim.outputs.plotting import (  # noqa: E402
    COLORS,
    MAX_NAMES,
    _cycle_unit,
    band_cycles,
    band_size,
    intervals_of,
    layer_label_positions,
)
from accelsim.outputs.report import write_trace  # noqa: E402
from accelsim.trace import BUFFER_NAMES, State, StateIntervals  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ARRAYS = [(4, 4), (16, 16), (32, 32)]
TIME_BINS = 1000
MAX_FIGSIZE = (14.0, 12.0)  # inches
CYCLES = FuncFormatter(lambda v, _: f"{v:,.0f}")


# --- before: the four plots in matplotlib, kept only to be timed against ---------------------


def mpl_draw_timeline(
    ax,
    states: StateIntervals,
    n_pes: int,
    layer_start=(),
    layer_end=(),
    layer_name=(),
    window: tuple[int, int] | None = None,
) -> None:
    """One row per PE (or band of PEs, see band_size), coloured by state; thin lines and labels
    mark the layers. `window` (t0, t1) limits the cycles shown."""
    end = int(states.end.max()) if len(states.end) else 1
    lo, hi = window or (0, end)
    band = band_size(n_pes)
    if band == 1:
        rows = n_pes
        mpl_draw_rows(ax, states, n_pes, lo, hi)
        step = max(1, n_pes // 16)
        ax.set_yticks(np.arange(0, n_pes, step))
        ax.set_ylabel("PE")
    else:
        rows = -(-n_pes // band)
        bin_cycles = mpl_draw_bands(ax, states, n_pes, band, lo, hi)
        first = np.arange(rows) * band
        ax.set_yticks(
            np.arange(rows), [f"{a}-{min(a + band, n_pes) - 1}" for a in first], fontsize=7
        )
        ax.set_ylabel(
            f"rows are bands of {band} PEs: share of the band's PEs in each "
            f"state, per {bin_cycles:,.0f}-cycle bin",
            fontsize=9,
        )
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
    ax.legend(
        handles=[Patch(color=COLORS[s], label=s.label) for s in State],
        loc="upper center",
        bbox_to_anchor=(0.5, -0.14),
        ncol=len(State),
        fontsize=8,
        frameon=False,
    )


def mpl_draw_state_mix(
    ax, states: StateIntervals, n_pes: int, lo: int, hi: int, layer_start=()
) -> None:
    """The share of all PEs in each state over time, stacked (busy at the bottom): at full
    scale the stalls of single PE rows blur, their sum over the array does not."""
    n_bins = max(1, min(TIME_BINS, hi - lo))
    edges = lo + np.arange(n_bins + 1) * (hi - lo) // n_bins
    share = band_cycles(states, n_pes, n_pes, edges)[0] / (n_pes * np.maximum(np.diff(edges), 1))
    # drawn as one image (a pixel column per bin, 100 levels of share), cheaper than polygons
    level = (np.arange(100) + 0.5) / 100
    state = (np.cumsum(share, axis=0)[None, :, :] < level[:, None, None]).sum(axis=1)
    rgb = np.array([matplotlib.colors.to_rgb(COLORS[s]) for s in State] + [(1, 1, 1)])
    ax.imshow(
        rgb[np.minimum(state, len(State))],
        aspect="auto",
        interpolation="nearest",
        origin="lower",
        extent=(lo, hi, 0, 1),
    )
    for x in layer_start[1:]:
        ax.axvline(x, color="black", linewidth=0.4, alpha=0.5)
    ax.set_xlim(lo, hi)
    ax.set_ylim(0, 1)
    ax.set_ylabel("all PEs", fontsize=8)
    ax.tick_params(axis="y", labelsize=7)


def mpl_draw_bands(ax, states, n_pes, band, lo, hi) -> float:
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
        ax.add_collection(
            PolyCollection(verts, facecolors=COLORS[state], linewidth=0, rasterized=True),
            autolim=False,
        )
    return (hi - lo) / n_bins


def mpl_draw_rows(ax, states, n_pes, lo, hi) -> None:
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
    ax.imshow(
        image.reshape(n_pes * 10, n_bins, 3),
        aspect="auto",
        interpolation="nearest",
        extent=(lo, hi, n_pes - 0.5, -0.5),
    )


def mpl_figsize(width: float, height: float) -> tuple[float, float]:
    """Figures grow with PEs and layers up to MAX_FIGSIZE: beyond, memory and drawing time grow
    and nothing more can be read."""
    return min(width, MAX_FIGSIZE[0]), min(height, MAX_FIGSIZE[1])


def mpl_save_timeline(
    trace: dict[str, np.ndarray], path: Path, title: str = "", window: tuple[int, int] | None = None
) -> None:
    """The PE rows (mpl_draw_timeline) above a strip of the whole array's state mix."""
    n_pes = int(trace["n_pes"])
    states = intervals_of(trace)
    if window:
        states = states.window(*window)
    rows = -(-n_pes // band_size(n_pes))
    end = int(states.end.max()) if len(states.end) else 1
    lo, hi = window or (0, end)
    height = max(3.5, 0.22 * rows + 3.0)
    fig, (ax, mix) = plt.subplots(
        2,
        1,
        sharex=True,
        figsize=mpl_figsize(14, height + 1.2),
        gridspec_kw={"height_ratios": [height, 1.0]},
    )
    mpl_draw_timeline(
        ax, states, n_pes, trace["layer_start"], trace["layer_end"], trace["layer_name"], window
    )
    ax.set_xlabel("")
    ax.get_legend().remove()
    mpl_draw_state_mix(mix, states, n_pes, lo, hi, trace["layer_start"])
    mix.set_xlabel("cycle")
    mix.xaxis.set_major_formatter(CYCLES)
    fig.legend(
        handles=[Patch(color=COLORS[s], label=s.label) for s in State],
        loc="lower center",
        ncol=len(State),
        fontsize=8,
        frameon=False,
    )
    ax.set_title(title or "PE timeline")
    # fixed margins in inches: tight_layout would draw both images one more time
    h = fig.get_figheight()
    longest = max((len(str(n)) for n in trace["layer_name"]), default=0)
    above = 0.45 + min(0.052 * longest, 1.2)  # the title and the rotated layer names
    fig.subplots_adjust(
        left=0.9 / 14 + (0.35 if band_size(n_pes) > 1 else 0) / 14,
        right=0.99,
        top=1 - above / h,
        bottom=0.85 / h,
        hspace=0.12,
    )
    fig.savefig(path, dpi=130)
    plt.close(fig)


def mpl_save_utilization(trace: dict[str, np.ndarray], path: Path, title: str = "") -> None:
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
    fig, ax = plt.subplots(figsize=mpl_figsize(max(6.0, 0.35 * rows + 2), 4))
    bottom = np.zeros(rows)
    for state in State:
        ax.bar(
            np.arange(rows),
            share[:, state],
            bottom=bottom,
            color=COLORS[state],
            label=state.label,
            width=0.85,
        )
        bottom += share[:, state]
    if band == 1:
        ax.set_xlabel("PE")
        ax.set_xticks(np.arange(n_pes))
        ax.tick_params(axis="x", labelsize=7)
        what = "per-PE utilization"
        ax.legend(
            loc="upper center",
            bbox_to_anchor=(0.5, -0.15),
            ncol=len(State),
            fontsize=8,
            frameon=False,
        )
    else:
        ax.vlines(
            np.arange(rows),
            np.minimum.reduceat(busy, first),
            np.maximum.reduceat(busy, first),
            color="black",
            linewidth=1.2,
            label="busy, range over the band's PEs",
        )
        ax.set_xlabel(f"PEs: bars are bands of {band} PEs")
        ax.set_xticks(
            np.arange(rows),
            [f"{a}-{min(a + band, n_pes) - 1}" for a in first],
            rotation=90,
            fontsize=7,
        )
        what = f"utilization per band of {band} PEs"
        ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, frameon=False)
    ax.set_ylabel("share of cycles")
    ax.set_ylim(0, 1)
    ax.axhline(busy.mean(), color="black", linewidth=0.8, linestyle=":")
    ax.text(
        1.0,
        busy.mean(),
        f" mean busy\n {busy.mean():.1%}",
        transform=ax.get_yaxis_transform(),
        va="center",
        fontsize=7,
    )
    spread = f"busy {busy.min():.1%} to {busy.max():.1%} across PEs"
    ax.set_title(f"{title + ': ' if title else ''}{what}; {spread}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def mpl_save_stall_breakdown(layers: list[dict], path: Path, title: str = "") -> None:
    """Per layer (from summary.json's layers): above, its cycles split by state, so a layer's
    bar is as tall as the time it takes; below, the shares of its PE-cycles in each state."""
    names = [l["name"] for l in layers]
    x = np.arange(len(names))
    cycles = np.array([l["cycles"] for l in layers], dtype=float)
    scale, unit = _cycle_unit(cycles.max(initial=1))
    fig, (top, ax) = plt.subplots(
        2,
        1,
        sharex=True,
        figsize=mpl_figsize(max(7.0, 0.3 * len(names) + 3), 6.5),
        gridspec_kw={"height_ratios": [1, 1.3]},
    )
    share = np.array([[l["states"][st.label] for l in layers] for st in State])
    mpl_stacked_bars(top, x, share * cycles / scale)
    mpl_stacked_bars(ax, x, share)
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
    fig.legend(
        handles=[Patch(color=COLORS[st], label=st.label) for st in State],
        loc="center right",
        fontsize=8,
        frameon=False,
    )
    fig.tight_layout(rect=(0, 0, 1 - 1.3 / fig.get_figwidth(), 1))
    fig.savefig(path, dpi=130)
    plt.close(fig)


def mpl_stacked_bars(ax, x: np.ndarray, heights: np.ndarray, width: float = 0.85) -> None:
    """Bars at x stacked from heights (states, bars), one collection per state: a few
    hundred Rectangle artists from ax.bar cost more to draw than the rest of the figure."""
    top = np.cumsum(heights, axis=0)
    left, right = x - width / 2, x + width / 2
    for state in State:
        lo, hi = top[state] - heights[state], top[state]
        verts = np.stack(
            [np.stack([left, left, right, right], 1), np.stack([lo, hi, hi, lo], 1)], -1
        )
        ax.add_collection(PolyCollection(verts, facecolors=COLORS[state], linewidth=0))


def mpl_save_buffer_occupancy(
    trace: dict[str, np.ndarray],
    path: Path,
    capacities: dict[str, float] | None = None,
    title: str = "",
) -> None:
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
        ax.vlines(
            starts[1:],
            0,
            1,
            transform=ax.get_xaxis_transform(),
            color="grey",
            linewidth=0.4,
            alpha=0.6,
        )
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
    fig.subplots_adjust(
        left=0.9 / 12, right=0.99, top=1 - 1.5 / 6.5, bottom=0.6 / 6.5, hspace=0.15
    )  # fixed margins: tight_layout costs one more draw
    fig.savefig(path, dpi=130)
    plt.close(fig)


# --- the comparison --------------------------------------------------------------------------


def best_seconds(write, repeat: int) -> float:
    """Best of `repeat` runs, and of more while under a second in all: fast writers get enough
    tries to ride out a busy machine."""
    best, runs, spent = math.inf, 0, 0.0
    while runs < repeat or spent < 1.0:
        t0 = time.perf_counter()
        write()
        took = time.perf_counter() - t0
        best, runs, spent = min(best, took), runs + 1, spent + took
    return best


def plots(outcome, trace):
    """(file, before, after) of each plot: functions of the path they write."""
    hw = outcome.scenario.hardware
    layers = json.loads(outcome.report.to_json())["layers"]
    caps = {
        "weight": hw.weight_buffer_bytes,
        "input": hw.input_buffer_bytes,
        "output": hw.output_buffer_bytes,
    }
    title = f"default: lpt on {hw.n_pes} PEs"
    return [
        (
            "timeline.png",
            lambda p: mpl_save_timeline(trace, p, title),
            lambda p: plotting.save_timeline(trace, p, title),
        ),
        (
            "utilization.png",
            lambda p: mpl_save_utilization(trace, p, title),
            lambda p: plotting.save_utilization(trace, p, title),
        ),
        (
            "stalls.png",
            lambda p: mpl_save_stall_breakdown(layers, p, title),
            lambda p: plotting.save_stall_breakdown(layers, p, title),
        ),
        (
            "buffers.png",
            lambda p: mpl_save_buffer_occupancy(trace, p, caps, title),
            lambda p: plotting.save_buffer_occupancy(trace, p, caps, title),
        ),
    ]


def size_of(path: Path) -> str:
    """Pixels and KiB of a PNG file."""
    width, height = Image.open(path).size
    return f"{width}x{height} {path.stat().st_size // 1024:>4} KiB"


def run_with_matplotlib_plots(argv: list[str]) -> int:
    """`accelsim run` with this file's matplotlib plots in place of accelsim's own."""
    from accelsim import cli

    for name in (
        "save_timeline",
        "save_utilization",
        "save_stall_breakdown",
        "save_buffer_occupancy",
    ):
        setattr(plotting, name, globals()["mpl_" + name])
    return cli.main(argv)


def process_cpu(variant: str, cache: Path, out: Path, plots: bool = True) -> float:
    """User + system CPU seconds of one `accelsim run scenarios/default.toml` child process."""
    argv = [
        "run",
        str(ROOT / "scenarios" / "default.toml"),
        "--out",
        str(out),
        "-q",
        *([] if plots else ["--no-plots"]),
    ]
    cmd = (
        [sys.executable, "-m", "accelsim", *argv]
        if variant == "after"
        else [sys.executable, __file__, "--accelsim-run-before", *argv]
    )
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(
        cmd,
        check=True,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "ACCELSIM_CACHE_DIR": str(cache)},
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def default_run_cpu(out: Path, repeat: int) -> None:
    """The whole default run's CPU before and after: first with an empty baseline cache (the
    dense and round-robin baselines are simulated), then with it filled, then without plots."""
    print(f"{'default accelsim run, process CPU s':<44}{'before':>8}{'after':>8}")
    rows = {
        "first run (empty baseline cache)": [],
        "cached baselines": [],
        "cached baselines, --no-plots": [],
    }
    for k in range(repeat):
        for variant in ("before", "after"):
            cache = out / f"cache-{variant}-{k}"
            rows["first run (empty baseline cache)"].append(
                (variant, process_cpu(variant, cache, out / "run"))
            )
            rows["cached baselines"].append((variant, process_cpu(variant, cache, out / "run")))
            rows["cached baselines, --no-plots"].append(
                (variant, process_cpu(variant, cache, out / "run", plots=False))
            )
    for what, runs in rows.items():
        best = {v: min(t for w, t in runs if w == v) for v in ("before", "after")}
        print(f"  {what:<42}{best['before']:>8.2f}{best['after']:>8.2f}")
    drawn = {
        v: min(t for w, t in rows["cached baselines"] if w == v)
        - min(t for w, t in rows["cached baselines, --no-plots"] if w == v)
        for v in ("before", "after")
    }
    print(
        f"  {'plots (cached run minus --no-plots run)':<42}{drawn['before']:>8.2f}"
        f"{drawn['after']:>8.2f}\n"
    )


def main() -> None:
    if sys.argv[1:2] == ["--accelsim-run-before"]:
        sys.exit(run_with_matplotlib_plots(sys.argv[2:]))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2, help="best of this many runs")
    args = parser.parse_args()
    base = accelsim.load_scenario(ROOT / "scenarios" / "default.toml")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        default_run_cpu(out, args.repeat)
        print(
            f"{'PEs':>5} {'plot':<20}{'before s':>9}{'after s':>9}{'ratio':>7}  "
            f"{'before size':>19}{'after size':>19}"
        )
        for rows, cols in ARRAYS:
            hw = attrs.evolve(
                base.hardware,
                pe_rows=rows,
                pe_cols=cols,
                weight_buffer_bytes=max(base.hardware.weight_buffer_bytes, 8192 * rows * cols),
            )
            outcome = accelsim.run_scenario(attrs.evolve(base, hardware=hw), baselines=False)
            write_trace(outcome.result, out / "trace.npz")
            trace = plotting.load_trace(out)
            totals = [0.0, 0.0]
            for name, before, after in plots(outcome, trace):
                paths = out / f"before_{name}", out / f"after_{name}"
                t = [
                    best_seconds(lambda: w(p), args.repeat) for w, p in zip((before, after), paths)
                ]
                totals = [a + b for a, b in zip(totals, t)]
                print(
                    f"{hw.n_pes:>5} {name:<20}{t[0]:>9.3f}{t[1]:>9.3f}{t[0] / t[1]:>6.1f}x  "
                    f"{size_of(paths[0]):>19}{size_of(paths[1]):>19}"
                )
            print(
                f"{hw.n_pes:>5} {'all of the above':<20}{totals[0]:>9.3f}{totals[1]:>9.3f}"
                f"{totals[0] / totals[1]:>6.1f}x  ({len(outcome.result.states.pe):,} state "
                f"intervals, {outcome.report.total.cycles:,} cycles)\n"
            )


if __name__ == "__main__":
    main()
