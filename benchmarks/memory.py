"""Memory per job: peak bytes per job of both engines, and a run of over 11 M jobs.

    python benchmarks/memory.py           # both parts (the large run: about 2 minutes, 4 GB)
    python benchmarks/memory.py --small   # the per-job table only

1. Peak bytes allocated per job (tracemalloc, numpy's arrays included) by build_jobs and by
   simulate() in each engine: ResNet-50 (Distiller AGP 80 %) at 7x7 tiles, LPT, ideal
   memory, on 16 and 1,024 PEs. Both engines' results are asserted equal.
2. ResNet-50 at 1x1 tiles on 1,024 PEs (32 x 32, ideal memory, LPT; 11.1 M jobs) in the
   closed form, in a fresh process: its peak resident memory (ru_maxrss: everything the
   process touched, the interpreter and imports included), CPU seconds and makespan; the
   job cap (accelsim.workload.jobs.MAX_JOBS) is the 8 GB this peak per job allows.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

LARGE = r"""
import json, resource, time
import accelsim
network = accelsim.load_network("resnet50")
pruned = accelsim.prune_with_profile(network, accelsim.load_profile("distiller-resnet50-agp80"), 1)
hw = accelsim.Hardware(pe_rows=32, pe_cols=32).ideal_memory()
t0 = time.process_time()
jobs = accelsim.build_jobs(pruned, accelsim.Mapping(1, 1), hw)
built = time.process_time() - t0
n = sum(lj.n_jobs for lj in jobs)
result = accelsim.simulate(jobs, hw, accelsim.load_policy("lpt"), engine="auto")
print(json.dumps({
    "jobs": n, "build_s": built, "cpu_s": time.process_time() - t0,
    "rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    "makespan": int(result.makespan),
    "engines": sorted({l.engine for l in result.layers}),
}))
"""


def per_job_table() -> None:
    import attrs

    import accelsim

    network = accelsim.load_network("resnet50")
    pruned = accelsim.prune_with_profile(
        network, accelsim.load_profile("distiller-resnet50-agp80"), 1
    )
    lpt = accelsim.load_policy("lpt")
    print("peak B/job (tracemalloc): ResNet-50, 7x7 tiles, LPT, ideal memory")
    print(f"{'PEs':>6}{'jobs':>10}{'build_jobs':>12}{'closed form':>13}{'SimPy':>8}")
    for side in (4, 32):
        hw = accelsim.Hardware(pe_rows=side, pe_cols=side).ideal_memory()
        tracemalloc.start()
        jobs = accelsim.build_jobs(pruned, accelsim.Mapping(7, 7), hw)
        n = sum(lj.n_jobs for lj in jobs)
        build = tracemalloc.get_traced_memory()[1]
        peaks, results = [], []
        for engine in ("fast", "simpy"):
            base = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            results.append(accelsim.simulate(jobs, hw, lpt, engine=engine))
            peaks.append(tracemalloc.get_traced_memory()[1] - base)
            results[-1] = attrs.evolve(results[-1], wall_seconds=0.0)
        tracemalloc.stop()
        fast, simpy = results
        assert fast.makespan == simpy.makespan
        assert all(a.end == b.end for a, b in zip(fast.layers, simpy.layers))
        print(
            f"{side * side:>6,}{n:>10,}{build / n:>12,.0f}{peaks[0] / n:>13,.0f}{peaks[1] / n:>8,.0f}"
        )
    print("both engines' makespans and layer ends asserted equal")


def large_run() -> None:
    from accelsim.workload.jobs import MAX_JOBS

    run = subprocess.run(
        [sys.executable, "-c", LARGE], cwd=ROOT, capture_output=True, text=True, check=True
    )
    r = json.loads(run.stdout.splitlines()[-1])
    print(
        f"\nResNet-50, 1x1 tiles, 1,024 PEs, ideal memory, LPT: {r['jobs']:,} jobs in "
        f"{', '.join(r['engines'])}; build {r['build_s']:.1f} s, whole run {r['cpu_s']:.1f} s "
        f"CPU; peak resident {r['rss_bytes'] / 2**30:.2f} GiB ({r['rss_bytes'] / r['jobs']:.0f} "
        f"B/job, the interpreter included); makespan {r['makespan']:,}"
    )
    print(
        f"job cap MAX_JOBS = {MAX_JOBS:,}: at this run's bytes per job, "
        f"{MAX_JOBS * r['rss_bytes'] / r['jobs'] / 2**30:.1f} GiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="only the per-job table")
    args = parser.parse_args()
    per_job_table()
    if not args.small:
        large_run()


if __name__ == "__main__":
    main()
