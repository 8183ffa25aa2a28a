"""Writing a run's files against simulating it, side by side in one run: for each case the
CPU seconds, wall seconds and peak memory of simulate() (the policy's planning included), then
of writing each output file from its result, each as a multiple of the simulation's.

    python benchmarks/trace_writing.py              # best of 3
    python benchmarks/trace_writing.py --repeat 5

Cases: the default scenario (ResNet-18, 14x14 tiles, LPT on 16 PEs); ResNet-18 at 7x7 tiles
on 64 PEs (pe_cols = 16) with a 1 MiB weight buffer, the issue's large trace; the same at
1,024 PEs (32 x 32) with an 8 MiB weight buffer. Each is computed by the closed form
(engine auto), the cheapest simulation a trace has to keep up with.

CPU is the process's (time.process_time: every thread), wall is elapsed time, peak is
tracemalloc's peak of bytes allocated during the call (numpy's arrays included); each is the
best of --repeat calls, peak from one more call. Wall times need two idle cores to mean
anything. trace.pftrace.gz is what `accelsim run --trace perfetto` writes (Perfetto's
protobuf, gzip level 1), trace.pftrace the same uncompressed. The JSON rows are the Chrome
JSON writer (accelsim.outputs.perfetto, for Python callers): it compresses in a second thread
while it formats; the row "same, one thread" does both in the caller's, to show what that
thread buys in wall time. Below it, the CPU zlib alone takes to compress the finished JSON:
the floor under the .json.gz's cost, since its bytes (compression level and stream) must stay
the same.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
import tracemalloc
import zlib
from concurrent.futures import Future
from pathlib import Path

import attrs

import accelsim
from accelsim.outputs import perfetto
from accelsim.outputs.perfetto import GZIP_LEVEL, write_perfetto
from accelsim.outputs.perfetto_proto import write_perfetto_proto
from accelsim.outputs.report import write_trace
from accelsim.pipeline import PERFETTO

ROOT = Path(__file__).resolve().parent.parent
JSON_GZ = "trace.perfetto.json.gz"  # the Chrome JSON writer's file, gzipped


def cases():
    base = accelsim.load_scenario(ROOT / "scenarios" / "default.toml")
    seven = attrs.evolve(base.mapping, tile_h=7, tile_w=7)
    yield "default scenario (16 PEs, 14x14 tiles)", base
    yield (
        "ResNet-18, 64 PEs, 7x7 tiles, 1 MiB weights",
        attrs.evolve(
            base,
            mapping=seven,
            hardware=attrs.evolve(base.hardware, pe_cols=16, weight_buffer_bytes=1 << 20),
        ),
    )
    yield (
        "ResNet-18, 1,024 PEs, 7x7 tiles, 8 MiB weights",
        attrs.evolve(
            base,
            mapping=seven,
            hardware=attrs.evolve(
                base.hardware, pe_rows=32, pe_cols=32, weight_buffer_bytes=8 << 20
            ),
        ),
    )


def measured(work, repeat: int, path: Path | None = None) -> tuple[float, float, int]:
    """Best CPU and wall seconds of `repeat` calls, and the peak bytes of one more; `path`,
    the file the call writes, is removed before each (truncating it costs time too)."""
    cpu = wall = math.inf
    for _ in range(repeat):
        if path is not None:
            path.unlink(missing_ok=True)
        c, w = time.process_time(), time.perf_counter()
        work()
        cpu, wall = min(cpu, time.process_time() - c), min(wall, time.perf_counter() - w)
    tracemalloc.start()
    work()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return cpu, wall, peak


class _Inline:
    """An executor that runs each task at once, in the caller's thread."""

    def __init__(self, workers: int):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def submit(self, fn, *args) -> Future:
        done: Future = Future()
        done.set_result(fn(*args))
        return done


def one_thread(write, result, path: Path) -> None:
    """`write` with its compressing thread replaced by the caller's: what the thread buys."""
    threaded = perfetto.ThreadPoolExecutor
    perfetto.ThreadPoolExecutor = _Inline
    try:
        write(result, path)
    finally:
        perfetto.ThreadPoolExecutor = threaded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="best of this many calls")
    args = parser.parse_args()
    lpt = accelsim.load_policy("lpt")
    head = (
        f"  {'':<26}{'CPU s':>8}{'wall s':>8}{'peak MB':>9}{'MB':>8}"
        f"{'CPU/sim':>9}{'wall/sim':>9}{'peak/sim':>9}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        for label, scenario in cases():
            jobs = accelsim.build_jobs(scenario.pruned(), scenario.mapping, scenario.hardware)
            result = accelsim.simulate(jobs, scenario.hardware, lpt)
            sim = measured(lambda: accelsim.simulate(jobs, scenario.hardware, lpt), args.repeat)
            report = accelsim.run_scenario(scenario, baselines=False).report
            print(
                f"{label}: {len(result.states.pe):,} state intervals, "
                f"{len(result.transfers['start']):,} transfers, "
                f"{len(result.levels['t']):,} buffer levels\n{head}"
            )
            print(f"  {'simulate()':<26}{sim[0]:>8.3f}{sim[1]:>8.3f}{sim[2] / 1e6:>9.1f}")
            writers = {
                "summary.json": lambda p: p.write_text(report.to_json()),
                "layers.csv": lambda p: p.write_text(report.to_csv()),
                "trace.npz": lambda p: write_trace(result, p),
                PERFETTO: lambda p: write_perfetto_proto(result, p),
                "trace.pftrace": lambda p: write_perfetto_proto(result, p),
                "trace.perfetto.json": lambda p: write_perfetto(result, p),
                JSON_GZ: lambda p: write_perfetto(result, p),
                "  same, one thread": lambda p: one_thread(write_perfetto, result, p),
            }
            for name, write in writers.items():
                path = out / (JSON_GZ if name == "  same, one thread" else name)
                cpu, wall, peak = measured(lambda: write(path), args.repeat, path)
                print(
                    f"  {name:<26}{cpu:>8.3f}{wall:>8.3f}{peak / 1e6:>9.1f}"
                    f"{path.stat().st_size / 1e6:>8.1f}{cpu / sim[0]:>9.2f}"
                    f"{wall / sim[1]:>9.2f}{peak / sim[2]:>9.2f}"
                )
            # the floor under the .gz: zlib alone on the finished text, which must stay the
            # same bytes (the level and the stream are fixed)
            text = (out / "trace.perfetto.json").read_bytes()
            cpu, wall, _ = measured(lambda: zlib.compress(text, GZIP_LEVEL, 31), args.repeat)
            print(
                f"  {'  of which zlib, level ' + str(GZIP_LEVEL):<26}{cpu:>8.3f}{wall:>8.3f}"
                f"{'':>17}{cpu / sim[0]:>9.2f}{wall / sim[1]:>9.2f}\n"
            )
    print(
        "CPU: process CPU (all threads); wall: elapsed; peak: tracemalloc peak of the call; "
        f"/sim: over simulate()'s. `accelsim run --trace perfetto` writes {PERFETTO}; "
        "the others are for comparison"
    )


if __name__ == "__main__":
    main()
