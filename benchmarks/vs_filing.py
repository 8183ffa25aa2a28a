"""simulate() today against commit 80990d8, when the engines were first timed, in one run.

    python benchmarks/vs_filing.py [--repeat 3] [--commit 80990d8]

The old tree is unpacked from git into a temporary directory and each side runs in its own
process (PYTHONPATH pointing at its tree), on the same jobs: the per-filter nonzero counts
are pruned once here and handed to both, so planning and every job's cycles are the same and
the results must agree (makespan and every PE's busy cycles; asserted). Cases: ResNet-50
(Distiller AGP 80 %) at 14x14 tiles on 16 PEs with ideal memory, lock-step (depth 1) and
decoupled (depth 8), planned round-robin (a policy unchanged since then, so the plans are the
same too), today with the engine chosen per layer (auto) and with SimPy forced. Times are CPU
seconds of simulate(), planning included, best of --repeat.
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
import attrs, numpy as np
import accelsim
from accelsim.workload.sparsity.pruning import PrunedLayer, PrunedNetwork
from accelsim.trace import State

nnz = np.load(sys.argv[1])
network = accelsim.load_network("resnet50")
pruned = PrunedNetwork(network, [PrunedLayer(layer, nnz[layer.name]) for layer in network.layers
                                 if layer.name in nnz.files])
repeat = int(sys.argv[2])
for engine in ("auto", "simpy"):     # the old tree has SimPy only
    for depth in (1, 8):
        hw = accelsim.Hardware(pe_rows=4, pe_cols=4, input_queue_depth=depth).ideal_memory()
        jobs = accelsim.build_jobs(pruned, accelsim.Mapping(14, 14), hw)
        kw = {} if sys.argv[3] == "old" else {"engine": engine}
        best = float("inf")
        for _ in range(repeat):
            t0 = time.process_time()
            result = accelsim.simulate(jobs, hw, accelsim.load_policy("round-robin"), **kw)
            best = min(best, time.process_time() - t0)
        s = result.states
        busy = np.bincount(s.pe[s.state == State.BUSY],
                           weights=(s.end - s.start)[s.state == State.BUSY], minlength=hw.n_pes)
        print(json.dumps({"case": [engine, depth], "seconds": best,
                          "makespan": int(result.makespan), "busy": busy.astype(int).tolist(),
                          "jobs": int(sum(len(l.cycles) for l in jobs))}))
    if sys.argv[3] == "old":
        break
"""


def side(tree: Path, nnz: Path, repeat: int, which: str) -> dict[tuple, dict]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    run = subprocess.run(
        [sys.executable, "-c", CHILD, str(nnz), str(repeat), which],
        env=env,
        cwd=tree,
        capture_output=True,
        text=True,
    )
    if run.returncode:
        sys.exit(f"{tree}: {run.stderr.strip().splitlines()[-1]}")
    out = run.stdout
    return {tuple(r["case"]): r for r in map(json.loads, out.splitlines())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--commit", default="80990d8")
    args = parser.parse_args()
    import numpy as np

    import accelsim

    network = accelsim.load_network("resnet50")
    pruned = accelsim.prune_with_profile(
        network, accelsim.load_profile("distiller-resnet50-agp80"), 1
    )
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        archive = subprocess.run(
            ["git", "archive", args.commit], cwd=ROOT, check=True, capture_output=True
        ).stdout
        old = tmp / "old"
        with tarfile.open(fileobj=BytesIO(archive)) as tar:
            tar.extractall(old, filter="data")
        nnz = tmp / "nnz.npz"
        np.savez(nnz, **{p.layer.name: p.filter_nnz for p in pruned.layers})
        before = side(old, nnz, args.repeat, "old")
        after = side(ROOT, nnz, args.repeat, "new")
    print(
        f"ResNet-50 (AGP 80 %), 14x14 tiles, 16 PEs, ideal memory, round-robin: simulate() CPU "
        f"seconds, best of {args.repeat}; at {args.commit} every layer ran on SimPy"
    )
    print(
        f"{'case':<34}{'jobs':>8}{'at ' + args.commit:>14}{'today':>10}{'speed-up':>10}"
        f"{'us/job today':>14}"
    )
    for engine in ("auto", "simpy"):
        for depth in (1, 8):
            b, a = before[("auto", depth)], after[(engine, depth)]
            assert (b["makespan"], b["busy"]) == (a["makespan"], a["busy"]), (depth, b, a)
            label = f"{'lock-step' if depth == 1 else 'decoupled'} (depth {depth}), {engine}"
            print(
                f"{label:<34}{a['jobs']:>8,}{b['seconds']:>14.3f}{a['seconds']:>10.3f}"
                f"{b['seconds'] / a['seconds']:>9.1f}x{a['seconds'] / a['jobs'] * 1e6:>14.2f}"
            )
    print(
        "results identical (makespan and every PE's busy cycles); auto: the closed form "
        "wherever exact (here every layer), simpy: the reference forced"
    )


if __name__ == "__main__":
    main()
