"""Sweep throughput: points per second serial, in a local process pool and on a Dask
LocalCluster, and the overhead per point beyond the simulation itself.

    python benchmarks/sweep.py [--points 24] [--jobs 2]

The points are LeNet-5 (Han et al. profile) on 1..N PEs and two policies: a few tens of
milliseconds of simulation each, so the orchestration cost shows.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from accelsim.sweep import ResultStore, load_sweep, run_sweep

BASE = """name = "bench"
[workload]
network = "lenet5"
[pruning]
profile = "han2015-lenet5"
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=24)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "base.toml").write_text(BASE)
        cols = list(range(1, args.points // 2 + 1))
        (tmp / "s.toml").write_text(f'name = "bench"\nbase = "base.toml"\n[grid]\n'
                                    f'"hardware.pe_cols" = {cols}\n'
                                    f'policy = ["lpt", "round-robin"]\n')
        sweep = load_sweep(tmp / "s.toml")
        n = len(sweep.points)
        print(f"{n} points (LeNet-5 on 1..{len(cols)} PEs x 2 policies), {args.jobs} workers")
        serial_sim = None
        for label, kwargs in (("serial", {}), (f"local pool ({args.jobs})", {"jobs": args.jobs}),
                              (f"Dask LocalCluster ({args.jobs})",
                               {"jobs": args.jobs, "dask": "local"})):
            store = ResultStore(tmp / f"{label.split()[0]}.sqlite")
            t0 = time.perf_counter()
            run_sweep(sweep, store, quiet=True, **kwargs)
            wall = time.perf_counter() - t0
            sim = sum(r["wall_seconds"] for r in store.rows())
            store.close()
            serial_sim = serial_sim or sim
            overhead = (wall * (args.jobs if kwargs else 1) - sim) / n
            print(f"{label:<26} {wall:>7.2f} s  {n / wall:>7.2f} points/s  simulation "
                  f"{sim / n * 1e3:>6.1f} ms/point  overhead {overhead * 1e3:>7.1f} ms/point")


if __name__ == "__main__":
    main()
