"""Time of each output file of a run, before and after making outputs cheap, at 16, 256 and
1,024 PEs:

    python benchmarks/outputs.py              # best of 2 runs of each writer (more if fast)
    python benchmarks/outputs.py --repeat 1   # quicker

The default scenario (ResNet-18, LPT) with hardware.pe_rows/pe_cols changed and baselines off;
the weight buffer grows to 8 KiB per PE so that a broadcast to every PE fits. Each writer
draws from the same trace.npz as `accelsim run`. "before" is a copy of the earlier writers
(below, used nowhere else); "after" is what accelsim ships. "same output": the Perfetto JSON
should have the same bytes, and up to 64 PEs the timeline and utilization the same pixels;
stalls.png and buffers.png differ on purpose (their legends moved off the title and the data).
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path

import attrs
import matplotlib.image
import numpy as np

import accelsim
from accelsim import plotting
from accelsim.perfetto import write_perfetto
from accelsim.plotting import BUFFER_NAMES, COLORS, Patch, intervals_of, plt
from accelsim.report import write_trace
from accelsim.trace import State

ROOT = Path(__file__).resolve().parent.parent
ARRAYS = [(4, 4), (16, 16), (32, 32)]


# --- before: the writers as they were, kept only to be timed against ------------------------

def before_timeline(trace, path, title=""):
    """One broken_barh per PE and state; the figure grows with the PE count."""
    n_pes = int(trace["n_pes"])
    fig, ax = plt.subplots(figsize=(14, max(3.5, 0.22 * n_pes + 3.0)))
    states = intervals_of(trace)
    layer_start, layer_end, layer_name = (trace["layer_start"], trace["layer_end"],
                                          trace["layer_name"])
    for state in State:
        sel = states.state == state
        if not sel.any():
            continue
        pe, t0, t1 = states.pe[sel], states.start[sel], states.end[sel]
        for p in np.unique(pe):
            m = pe == p
            ax.broken_barh(list(zip(t0[m], t1[m] - t0[m])), (p - 0.4, 0.8),
                           facecolors=COLORS[state], linewidth=0, rasterized=True)
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
    ax.set_title(title or "PE timeline")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def before_utilization(trace, path, title=""):
    """One bar per PE, however many."""
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


def before_stalls(layers, path, title=""):
    """Grows with the layer count; legend over the title."""
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


def before_buffers(trace, path, capacities=None):
    """A legend per panel, over the data."""
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


def before_perfetto(result, path):
    """A dict per event through json.dumps."""
    s = result.states
    events = [{"name": "process_name", "ph": "M", "pid": 0, "args": {"name": "PE array"}}]
    events += [{"name": "thread_name", "ph": "M", "pid": 0, "tid": p,
                "args": {"name": f"PE {p}"}} for p in range(result.hw.n_pes)]
    for pe, t0, t1, st, held in zip(s.pe.tolist(), s.start.tolist(), s.end.tolist(),
                                   s.state.tolist(), s.held_by.tolist()):
        ev = {"name": State(st).label, "ph": "X", "pid": 0, "tid": pe, "ts": t0, "dur": t1 - t0}
        if held >= 0:
            ev["args"] = {"held_by_pe": held}
        events.append(ev)
    for layer in result.layers:
        events.append({"name": layer.name, "ph": "X", "pid": 1, "tid": 0, "ts": layer.start,
                       "dur": layer.cycles})
    events.append({"name": "process_name", "ph": "M", "pid": 1, "args": {"name": "layers"}})
    path.write_text(json.dumps({"traceEvents": events, "displayTimeUnit": "ns"},
                               separators=(",", ":")))


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


def writers(outcome, trace):
    """(file, before, after): each a function of the path it writes."""
    result, hw = outcome.result, outcome.scenario.hardware
    layers = json.loads(outcome.report.to_json())["layers"]
    caps = {"weight": hw.weight_buffer_bytes, "input": hw.input_buffer_bytes,
            "output": hw.output_buffer_bytes}
    title = f"default: lpt on {hw.n_pes} PEs"
    return [
        ("timeline.png", lambda p: before_timeline(trace, p, title),
         lambda p: plotting.save_timeline(trace, p, title)),
        ("utilization.png", lambda p: before_utilization(trace, p),
         lambda p: plotting.save_utilization(trace, p)),
        ("stalls.png", lambda p: before_stalls(layers, p),
         lambda p: plotting.save_stall_breakdown(layers, p)),
        ("buffers.png", lambda p: before_buffers(trace, p, caps),
         lambda p: plotting.save_buffer_occupancy(trace, p, caps)),
        ("trace.perfetto.json", lambda p: before_perfetto(result, p),
         lambda p: write_perfetto(result, p)),
    ]


def size_of(path: Path) -> str:
    if path.suffix == ".png":
        height, width = matplotlib.image.imread(path).shape[:2]
        return f"{width}x{height}"
    return f"{path.stat().st_size / 2 ** 20:.1f} MiB"


def same(a: Path, b: Path) -> bool:
    if a.suffix == ".png":
        x, y = matplotlib.image.imread(a), matplotlib.image.imread(b)
        return x.shape == y.shape and bool(np.array_equal(x, y))
    return a.read_bytes() == b.read_bytes()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2, help="best of this many runs")
    args = parser.parse_args()
    base = accelsim.load_scenario(ROOT / "scenarios" / "default.toml")
    print(f"{'PEs':>5} {'output':<20}{'before s':>9}{'after s':>9}{'ratio':>7}  "
          f"{'before size':>12}{'after size':>12}  same output")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        for rows, cols in ARRAYS:
            hw = attrs.evolve(base.hardware, pe_rows=rows, pe_cols=cols,
                              weight_buffer_bytes=max(base.hardware.weight_buffer_bytes,
                                                      8192 * rows * cols))
            outcome = accelsim.run_scenario(attrs.evolve(base, hardware=hw), baselines=False)
            write_trace(outcome.result, out / "trace.npz")
            trace = plotting.load_trace(out)
            totals = [0.0, 0.0]
            for name, before, after in writers(outcome, trace):
                paths = out / f"before_{name}", out / f"after_{name}"
                t = [best_seconds(lambda: w(p), args.repeat)
                     for w, p in zip((before, after), paths)]
                totals = [a + b for a, b in zip(totals, t)]
                print(f"{hw.n_pes:>5} {name:<20}{t[0]:>9.3f}{t[1]:>9.3f}{t[0] / t[1]:>6.1f}x  "
                      f"{size_of(paths[0]):>12}{size_of(paths[1]):>12}  "
                      f"{'yes' if same(*paths) else 'no'}")
            print(f"{hw.n_pes:>5} {'all of the above':<20}{totals[0]:>9.3f}{totals[1]:>9.3f}"
                  f"{totals[0] / totals[1]:>6.1f}x  ({len(outcome.result.states.pe):,} state "
                  f"intervals, {outcome.report.total.cycles:,} cycles)\n")


if __name__ == "__main__":
    main()
