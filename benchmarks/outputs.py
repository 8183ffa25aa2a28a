"""The cost of a run's outputs: the default `accelsim run`'s process CPU with its figures
beside the same run with --no-plots (and with --format pdf and svg), then each figure's
drawing and saving time and file size at 16, 256 and 1,024 PEs, then the trace files of
ResNet-18 on 64 PEs with 7x7 tiles and a 1 MiB weight buffer (the default scenario with
pe_cols = 16): their size and the CPU to write them, beside the simulation's.

    python benchmarks/outputs.py              # best of 2 runs of each (more while fast)
    python benchmarks/outputs.py --repeat 1   # quicker

The process rows run `accelsim run scenarios/default.toml -q` in a child process with a
filled baseline cache and report its user + system CPU. The per-figure rows use the default
scenario (ResNet-18, LPT) with hardware.pe_rows/pe_cols changed and baselines off (the
weight buffer grows to 8 KiB per PE so that a broadcast to every PE fits), drawn from the
same trace.npz as `accelsim run`.
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

import accelsim
from accelsim.outputs import plotting
from accelsim.outputs.perfetto import write_perfetto
from accelsim.outputs.perfetto_proto import write_perfetto_proto
from accelsim.outputs.report import write_trace

ROOT = Path(__file__).resolve().parent.parent
ARRAYS = [(4, 4), (16, 16), (32, 32)]


def best_seconds(work, repeat: int) -> float:
    """Best CPU seconds of `repeat` runs, and of more while under a second in all."""
    best, runs, spent = math.inf, 0, 0.0
    while runs < repeat or spent < 1.0:
        t0 = time.process_time()
        work()
        took = time.process_time() - t0
        best, runs, spent = min(best, took), runs + 1, spent + took
    return best


def process_cpu(argv: list[str], cache: Path) -> float:
    """User + system CPU seconds of one `accelsim ...` child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(
        [sys.executable, "-m", "accelsim", *argv],
        check=True,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "ACCELSIM_CACHE_DIR": str(cache)},
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def default_run_cpu(out: Path, repeat: int) -> None:
    """The default run's process CPU, best of `repeat`, by what it writes."""
    run = ["run", str(ROOT / "scenarios" / "default.toml"), "--out", str(out / "run"), "-q"]
    variants = {
        "--no-plots": ["--no-plots"],
        "figures as PNG (the default)": [],
        "figures as PDF (--format pdf)": ["--format", "pdf"],
        "figures as SVG (--format svg)": ["--format", "svg"],
    }
    process_cpu(run + ["--no-plots"], out / "cache")  # fills the baseline cache
    best = {
        k: min(process_cpu(run + v, out / "cache") for _ in range(repeat))
        for k, v in variants.items()
    }
    print(f"{'default accelsim run, cached baselines':<44}{'process CPU s':>14}")
    for what, cpu in best.items():
        print(f"  {what:<42}{cpu:>14.2f}")
    print(
        f"  {'figures (PNG run minus --no-plots run)':<42}"
        f"{best['figures as PNG (the default)'] - best['--no-plots']:>14.2f}\n"
    )


def figures_of(outcome, trace) -> dict:
    """name -> a function returning the figure, as accelsim.pipeline draws them."""
    hw = outcome.scenario.hardware
    layers = json.loads(outcome.report.to_json())["layers"]
    caps = {
        "weight": hw.weight_buffer_bytes,
        "input": hw.input_buffer_bytes,
        "output": hw.output_buffer_bytes,
    }
    title = f"default: lpt on {hw.n_pes} PEs"
    return {
        "timeline": lambda: plotting.timeline_figure(trace, title),
        "utilization": lambda: plotting.utilization_figure(trace, title),
        "stalls": lambda: plotting.stalls_figure(layers, title),
        "buffers": lambda: plotting.buffers_figure(trace, caps, title),
    }


def trace_sizes(base, out: Path, repeat: int) -> None:
    """The trace files of ResNet-18 on 64 PEs with 7x7 tiles: bytes and CPU to write."""
    scenario = attrs.evolve(
        base,
        mapping=attrs.evolve(base.mapping, tile_h=7, tile_w=7),
        hardware=attrs.evolve(base.hardware, pe_cols=16, weight_buffer_bytes=1 << 20),
    )
    t0 = time.process_time()
    result = accelsim.run_scenario(scenario, baselines=False).result
    simulated = time.process_time() - t0
    print(
        f"ResNet-18, 64 PEs, 7x7 tiles: {len(result.states.pe):,} state intervals, "
        f"simulated in {simulated:.2f} s of CPU"
    )
    for name, write in (
        ("trace.npz", write_trace),
        ("trace.pftrace.gz", write_perfetto_proto),
        ("trace.perfetto.json", write_perfetto),
        ("trace.perfetto.json.gz", write_perfetto),
    ):
        path = out / name
        cpu = best_seconds(lambda: write(result, path), repeat)
        print(f"  {name:<26}{path.stat().st_size / 1e6:>8.1f} MB{cpu:>8.2f} s CPU")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2, help="best of this many runs")
    args = parser.parse_args()
    base = accelsim.load_scenario(ROOT / "scenarios" / "default.toml")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        default_run_cpu(out, args.repeat)
        print(
            f"{'PEs':>5} {'figure':<12}{'CPU s, png':>11}{'pdf':>7}{'svg':>7}  "
            f"{'KiB, png':>9}{'pdf':>7}{'svg':>7}"
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
            for name, draw in figures_of(outcome, trace).items():
                cpu, size = [], []
                for fmt in plotting.FORMATS:
                    path = out / f"{name}.{fmt}"
                    cpu.append(
                        best_seconds(lambda: plotting.save_figure(draw(), path), args.repeat)
                    )
                    size.append(path.stat().st_size / 1024)
                print(
                    f"{hw.n_pes:>5} {name:<12}{cpu[0]:>11.3f}{cpu[1]:>7.3f}{cpu[2]:>7.3f}  "
                    f"{size[0]:>9,.0f}{size[1]:>7,.0f}{size[2]:>7,.0f}"
                )
            print(
                f"      ({len(outcome.result.states.pe):,} state intervals, "
                f"{outcome.report.total.cycles:,} cycles)\n"
            )
        trace_sizes(base, out, args.repeat)


if __name__ == "__main__":
    main()
