"""Sweep throughput on ResNet-18: points per second serial, in a local process pool and on a
Dask LocalCluster, and the cost per point beyond its own simulation.

    python benchmarks/sweep.py                    # 1,000 points pooled and on Dask
    python benchmarks/sweep.py --points 200 --serial 50 --jobs 2

The grid is the default scenario (pruned ResNet-18, 14x14 tiles) over PE arrays (rows x
cols), weight and input buffer sizes and five static policies; buffers are large enough for
the closed form to compute most layers, and SimPy computes the rest (each row says which
engine ran). A seeded sample of the full grid gives the requested number of points.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
from pathlib import Path

from accelsim.studies.sweep import ResultStore, load_sweep, run_sweep

ROOT = Path(__file__).resolve().parent.parent
GRID = {
    "hardware.pe_rows": [2, 4, 8, 16],
    "hardware.pe_cols": [2, 4, 8, 16],
    "hardware.weight_buffer_bytes": [2**20, 2**21, 2**22],
    "hardware.input_buffer_bytes": [2**19, 2**20, 2**21],
    "hardware.output_buffer_bytes": [2**18, 2**20],
    "policy": ["lpt", "kk", "multifit", "round-robin", "density-grouping"],
}


def write_sweep(tmp: Path, points: int) -> Path:
    base = (
        (ROOT / "scenarios" / "default.toml")
        .read_text()
        .replace("baselines = true", "baselines = false")
    )
    (tmp / "base.toml").write_text(base)
    grid = "\n".join(
        f'"{k}" = {json.dumps(v)}' if "." in k else f"{k} = {json.dumps(v)}"
        for k, v in GRID.items()
    )
    (tmp / "s.toml").write_text(
        f'name = "bench"\nbase = "base.toml"\nsample = {points}\nseed = 7\n[grid]\n{grid}\n'
    )
    return tmp / "s.toml"


def measure(label, sweep, store_path, workers, **kwargs) -> None:
    store = ResultStore(store_path)
    t0 = time.perf_counter()
    run_sweep(sweep, store, quiet=True, **kwargs)
    wall = time.perf_counter() - t0
    rows = store.rows(p.key for p in sweep.points)  # not the allotment runs
    store.close()
    n = len(rows)
    sim = sum(r["wall_seconds"] for r in rows)
    fast = sum(r.get("engine") == "fast" for r in rows)
    errors = sum("error" in r for r in rows)
    print(
        f"{label:<28}{n:>6} {wall:>8.1f} s {n / wall:>8.2f} points/s   "
        f"{sim / n * 1e3:>7.1f} ms/point simulated, {(wall * workers - sim) / n * 1e3:>6.1f} "
        f"ms/point overhead; all-closed-form points {fast}, errors {errors}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument(
        "--serial", type=int, default=100, help="points for the serial run (a prefix of the sample)"
    )
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        sweep = load_sweep(write_sweep(tmp, args.points))
        print(
            f"ResNet-18 sweep: {len(sweep.points)} points of a {len(GRID)}-axis grid, "
            f"{args.jobs} workers"
        )
        serial = type(sweep)(
            sweep.name,
            sweep.source,
            sweep.base_dir,
            sweep.axes,
            sweep.points[: args.serial],
            sweep.plot,
        )
        measure("serial", serial, tmp / "serial.sqlite", 1)
        measure(f"local pool ({args.jobs})", sweep, tmp / "pool.sqlite", args.jobs, jobs=args.jobs)
        measure(
            f"Dask LocalCluster ({args.jobs})",
            sweep,
            tmp / "dask.sqlite",
            args.jobs,
            jobs=args.jobs,
            dask="local",
        )
        same = [
            dict(
                sqlite3.connect(tmp / f"{m}.sqlite").execute(
                    "SELECT key, json_extract(metrics, '$.cycles') FROM results"
                )
            )
            for m in ("serial", "pool", "dask")
        ]
        assert all(same[0][k] == same[1][k] == same[2][k] for k in same[0])
        print("every point the serial run did has the same cycles in the pool and on Dask")


if __name__ == "__main__":
    main()
