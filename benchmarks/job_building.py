"""Job building with activation sparsity: VGG-16's fc6 today against a commit before the
vectorised build, side by side in one run.

    python benchmarks/job_building.py [--commit 0ffccc2] [--limit 120]

Cases: pruned VGG-16 (han2015-vgg16) with Han et al.'s input densities on a two-sided PE:
fc6 cut as scenarios/vgg16_pruned.toml cuts it (whole-channel jobs, 16 PEs), fc6 and fc7
cut as EIE cuts them (64 PEs of one MAC, 64 filter groups, one job per input column), and
the whole network at vgg16_pruned's mapping. The old tree is unpacked from git and each
side runs in its own process; a side still building after --limit seconds is stopped and
printed as "> limit". Times are CPU seconds of build_jobs (kernel placement included: it
is drawn on first use). Job counts and nonzero-weight MACs are printed for both; the
kernels of layers above the fitted model's size limit are drawn by another (equally
uniform) draw today, so with zero inputs skipped the counts differ a little.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, sys, time
import accelsim
from accelsim.scenario import scenario_from_dict

case = sys.argv[1]
network = accelsim.load_network("vgg16")
fc = {l.name: l for l in network.mac_layers}
workload = {"network": "vgg16", "activation_density": "han2015-vgg16"}
hardware = {"pe_skips_activations": True, "pe_rows": 4, "pe_cols": 4, "macs_per_cycle": 16}
mapping = {"tile_h": 14, "tile_w": 14}
if case.startswith("eie-"):
    layer = fc[case[4:]]
    workload["layers"] = [layer.name]
    mapping = {"filters_per_job": layer.out_c // 64, "channel_splits": layer.in_c}
    hardware = {"pe_skips_activations": True, "pe_rows": 8, "pe_cols": 8, "macs_per_cycle": 1}
elif case == "fc6":
    workload["layers"] = ["fc6"]
scenario = scenario_from_dict(
    {"workload": workload, "pruning": {"profile": "han2015-vgg16"}, "baselines": False,
     "mapping": mapping, "hardware": hardware}, "<job_building>")
pruned = scenario.pruned()
t0 = time.process_time()
jobs = accelsim.build_jobs(pruned, scenario.mapping, scenario.hardware)
seconds = time.process_time() - t0
print(json.dumps({"seconds": seconds, "jobs": sum(lj.n_jobs for lj in jobs),
                  "macs": sum(int(lj.column("macs").sum()) for lj in jobs)}))
"""

CASES = {
    "fc6": "VGG-16 fc6, vgg16_pruned's mapping (14x14, whole-channel jobs, 16 PEs)",
    "eie-fc6": "VGG-16 fc6, EIE's mapping (64 PEs, a job per input column)",
    "eie-fc7": "VGG-16 fc7, EIE's mapping (64 PEs, a job per input column)",
    "all": "VGG-16, every layer, vgg16_pruned's mapping",
}


def side(tree: Path, case: str, limit: float) -> dict | None:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    try:
        run = subprocess.run(
            [sys.executable, "-c", CHILD, case],
            env=env,
            cwd=tree,
            capture_output=True,
            text=True,
            timeout=limit,
        )
    except subprocess.TimeoutExpired:
        return None
    if run.returncode:
        sys.exit(f"{tree}: {run.stderr.strip().splitlines()[-1]}")
    return json.loads(run.stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commit", default="0ffccc2")
    parser.add_argument("--limit", type=float, default=120.0, help="seconds per old case")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "old"
        archive = subprocess.run(
            ["git", "archive", args.commit], cwd=ROOT, check=True, capture_output=True
        ).stdout
        with tarfile.open(fileobj=BytesIO(archive)) as tar:
            tar.extractall(old, filter="data")
        print(f"build_jobs CPU seconds: at {args.commit} and today (wall limit {args.limit:.0f} s)")
        print(f"{'case':<72}{'jobs':>10}{'old':>9}{'today':>9}{'speed-up':>10}{'MACs ratio':>12}")
        for case, label in CASES.items():
            before = side(old, case, args.limit)
            after = side(ROOT, case, 3600)
            assert after is not None
            if before is None:
                old_s, ratio, macs = (
                    f"> {args.limit:.0f}",
                    f"> {args.limit / after['seconds']:.0f}x",
                    "-",
                )
            else:
                old_s = f"{before['seconds']:.2f}"
                ratio = f"{before['seconds'] / after['seconds']:.1f}x"
                macs = f"{after['macs'] / before['macs']:.4f}"
            print(
                f"{label:<72}{after['jobs']:>10,}{old_s:>9}{after['seconds']:>9.2f}{ratio:>10}"
                f"{macs:>12}",
                flush=True,
            )


if __name__ == "__main__":
    main()
