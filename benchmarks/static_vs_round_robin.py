"""Every static policy against round-robin on every shipped scenario: the done-when of the
hardware-aware scheduling work (no static policy slower than round-robin anywhere), and the
best policy's distance to the hardware bound with the bound that binds.

    python benchmarks/static_vs_round_robin.py [--scenarios a,b] [--exact]

Prints, per scenario, each static policy's speedup over round-robin (simulated cycles), the
slowest one, and the best one over the hardware bound; exits 1 if any static policy is
slower than round-robin. `exact` (CP-SAT, 2 s per layer) only with --exact.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import accelsim
from accelsim.studies.compare import compare, hardware_bound, policies_for

ROOT = Path(__file__).resolve().parent.parent
STATIC = [
    "lpt",
    "kk",
    "multifit",
    "density-grouping",
    "portfolio",
    "lpt+improve",
    "kk+improve",
    "hardware-aware",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scenarios", help="comma-separated names (default: every scenarios/*.toml)"
    )
    parser.add_argument("--exact", action="store_true", help="also the exact policy")
    args = parser.parse_args()
    names = (
        args.scenarios.split(",")
        if args.scenarios
        else sorted(p.stem for p in (ROOT / "scenarios").glob("*.toml"))
    )
    static = STATIC + (["exact"] if args.exact else [])
    worst_all = None
    print(
        f"{'scenario':<24}{'policies':>9}{'slowest vs RR':>26}{'best vs RR':>24}"
        f"{'best / hw bound':>17}  binds"
    )
    for name in names:
        scenario = accelsim.load_scenario(ROOT / "scenarios" / f"{name}.toml")
        runs = compare(scenario, policies_for(["round-robin", *static], 2.0)[0])
        rr = runs[0].result.makespan
        speed = {r.policy: rr / r.result.makespan for r in runs[1:]}
        slowest = min(speed, key=speed.get)
        best = max(speed, key=speed.get)
        best_run = next(r for r in runs if r.policy == best)
        bound = hardware_bound([best_run])
        layers = best_run.result.layers
        kinds = ("compute", "memory", "interconnect", "lock-step")
        binds = max(kinds, key=lambda k: sum(l.hardware.values[k] for l in layers))
        print(
            f"{name:<24}{len(speed):>9}{f'{slowest} {speed[slowest]:.3f}x':>26}"
            f"{f'{best} {speed[best]:.3f}x':>24}{best_run.result.makespan / bound:>17.3f}"
            f"  {binds}",
            flush=True,
        )
        worst_all = min(worst_all or speed[slowest], speed[slowest])
    print(f"\nslowest static policy on any scenario: {worst_all:.3f}x round-robin's speed")
    return 0 if worst_all >= 1 else 1


if __name__ == "__main__":
    sys.exit(main())
