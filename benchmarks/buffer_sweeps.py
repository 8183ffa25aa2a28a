"""Buffer sweeps with the mapper against the base scenario's fixed mapping, side by side: how
many points run, and whether cycles ever grow when one buffer grows (issue 26).

For each sweep file it runs the file as written (each point at its own best mapping per
layer) and the same grid with the base scenario's fixed [mapping], and prints points run,
points that cannot run, neighbour pairs along each buffer axis, the pairs whose cycles grow
in each point's own run ("own") and in the sweep's rows, where a point runs as a smaller
point that is faster ("rows"; the points that do: "allotted"), and the wall and CPU time
of each.

    python benchmarks/buffer_sweeps.py [SWEEP.toml ...] [-j 2]
    (default: scenarios/sweeps/buffers.toml)
"""

import argparse
import csv
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_sweep(path: Path, out: Path, jobs: int) -> tuple[list[dict], float, float]:
    """The sweep's rows, its wall seconds and its CPU seconds (children included)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "accelsim", "sweep", str(path), "-j", str(jobs), "--out", str(out)],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    with open(out / "results.csv", newline="") as f:
        return list(csv.DictReader(f)), wall, cpu


def increases(rows: list[dict], column: str = "cycles") -> tuple[int, list[str]]:
    """Neighbour pairs along each buffer axis (every other field equal), and those whose
    `column` (cycles; cycles_full_buffers: each point's own run, without the allotment of a
    smaller point) grows with the larger buffer."""
    axes = [k for k in rows[0] if k.startswith("hardware.") and k.endswith("_buffer_bytes")]
    skip = {"key", "point", column, *axes}
    fixed = [k for k in rows[0] if k in ("workload", "pruning", "policy", "mapping")]
    fixed = [k for k in fixed if k not in skip]
    cycles = {tuple(r[k] for k in fixed + axes): int(r[column]) for r in rows if r.get(column)}
    pairs, grew = 0, []
    for key, c in cycles.items():
        for i, axis in enumerate(axes):
            j = len(fixed) + i
            larger = sorted({int(k[j]) for k in cycles if int(k[j]) > int(key[j])})
            if not larger:
                continue
            other = (*key[:j], str(larger[0]), *key[j + 1 :])
            if other in cycles:
                pairs += 1
                if cycles[other] > c:
                    grew.append(f"{axis} {key} {c:,} -> {cycles[other]:,}")
    return pairs, grew


def fixed_variant(path: Path, folder: Path) -> Path:
    """The sweep file without its mapping axis: every point keeps the base's [mapping]."""
    text = re.sub(r"(?m)^mapping = .*\n", "", path.read_text())
    text = re.sub(
        r'(?m)^base = "(.*)"', lambda m: f'base = "{(path.parent / m.group(1)).resolve()}"', text
    )
    out = folder / f"{path.stem}_fixed.toml"
    out.write_text(text)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "sweeps", nargs="*", type=Path, default=[ROOT / "scenarios/sweeps/buffers.toml"]
    )
    parser.add_argument("-j", "--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    print(
        f"{'sweep':<28}{'mapping':<9}{'points':>7}{'cannot run':>11}{'pairs':>7}"
        f"{'slower own':>11}{'allotted':>9}{'slower rows':>12}{'wall s':>8}{'CPU s':>8}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for path in args.sweeps:
            for variant, file in (("auto", path), ("fixed", fixed_variant(path, tmp))):
                rows, wall, cpu = run_sweep(file, tmp / f"{path.stem}_{variant}", args.jobs)
                failed = sum(1 for r in rows if not r.get("cycles"))
                ran = [r for r in rows if r.get("cycles")] or rows
                pairs, grew = increases(ran)
                _, grew_own = increases(ran, "cycles_full_buffers")
                allotted = sum(1 for r in rows if r.get("allotted_from_point"))
                print(
                    f"{path.stem:<28}{variant:<9}{len(rows):>7}{failed:>11}{pairs:>7}"
                    f"{len(grew_own):>11}{allotted:>9}{len(grew):>12}{wall:>8.0f}{cpu:>8.0f}"
                )
                for line in grew_own[:5]:
                    print(f"    own run slower with more buffer: {line}")
                for line in grew[:5]:
                    print(f"    row slower with more buffer: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
