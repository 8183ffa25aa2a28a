"""Every speed figure in one run: the two engines, simulate() against the commit the speed
issue was measured on, a default `accelsim run` by phase and as a whole process, a 1,024-PE
run, planning at scale, the figures, the output files against the simulation, sweeps, job
building, the SimPy model at 1,024 PEs, memory per job, and planning against the hardware.

    python benchmarks/speed.py            # about 20 minutes on 2 cores
    python benchmarks/speed.py --quick    # smaller planning and sweep runs

Each part is one of the benchmark scripts beside this one, run as its own process, so the
figures are the same as running them alone.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def run(title: str, argv: list[str]) -> None:
    print(f"\n== {title}", flush=True)
    subprocess.run([sys.executable, *argv], cwd=ROOT, check=True)


def timed_process(argv: list[str], env: dict) -> tuple[float, float]:
    """Wall and CPU seconds of a child process (CPU: user + system, from rusage)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, env=env)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def whole_runs() -> None:
    """`accelsim run` as a user starts it: a fresh process, imports, plots and all."""
    print("\n== accelsim run, whole process (plots and baselines included)", flush=True)
    cli = [sys.executable, "-m", "accelsim"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        out = ["--out", str(tmp / "out")]
        env = {**os.environ, "ACCELSIM_CACHE_DIR": str(tmp / "cache")}
        big = (ROOT / "scenarios" / "default.toml").read_text()
        big = big.replace("pe_rows = 4", "pe_rows = 32").replace("pe_cols = 4", "pe_cols = 32")
        big = big.replace("weight_buffer_bytes = 131072", "weight_buffer_bytes = 8388608")
        (tmp / "big.toml").write_text(big)
        for label, argv in (
            (
                "default scenario, first run (simulates both baselines)",
                [*cli, "run", "scenarios/default.toml", "-q", *out],
            ),
            (
                "default scenario again (baselines from the cache)",
                [*cli, "run", "scenarios/default.toml", "-q", *out],
            ),
            (
                "default scenario on 1,024 PEs (32 x 32, 8 MiB weights), first run",
                [*cli, "run", str(tmp / "big.toml"), "-q", *out],
            ),
        ):
            wall, cpu = timed_process(argv, env)
            print(f"  {label:<66} wall {wall:6.2f} s   CPU {cpu:6.2f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    run("engines side by side, and a default run by phase", [str(HERE / "engines.py")])
    run(
        "simulate() today against the commit the issue was measured on",
        [str(HERE / "vs_filing.py")],
    )
    whole_runs()
    run("planning at scale", [str(HERE / "planning.py"), "--repeats", "1" if args.quick else "3"])
    run(
        "the figures of a run (matplotlib) at 16 to 1,024 PEs, and the default run's process "
        "CPU with and without them",
        [str(HERE / "outputs.py"), "--repeat", "1"],
    )
    run(
        "writing each output file against simulating it (time and memory)",
        [str(HERE / "trace_writing.py")],
    )
    points = ["--points", "200", "--serial", "40"] if args.quick else []
    run("sweeps", [str(HERE / "sweep.py"), *points])
    run("job building with activation sparsity", [str(HERE / "job_building.py")])
    run("the SimPy model at 16 and 1,024 PEs", [str(HERE / "large_arrays.py")])
    run("memory per job", [str(HERE / "memory.py"), *(["--small"] if args.quick else [])])
    run(
        "planning against the hardware, and compare",
        [str(HERE / "planning_speed.py"), *([] if args.quick else ["--networks"])],
    )


if __name__ == "__main__":
    main()
