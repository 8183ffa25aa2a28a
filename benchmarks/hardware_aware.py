"""Policies on the hardware: simulated cycles over the hardware bound, and what planning
against the hardware model gains over the best textbook policy.

    python benchmarks/hardware_aware.py [--networks alexnet,resnet18] [--evaluations 60]

Shipped pruned networks (their profiles, seed 1) on 16 (4x4), 64 (8x8) and 168 (8x21) PEs
at input-queue depth 1 (lock-step) and 8, with the default scenario's mapping and buffers
large enough for the closed form to compute every layer. For every static policy: cycles
over the hardware bound (per layer the largest of the compute, memory, interconnect and
lock-step bounds); then the hardware-aware policy's gain over the best textbook policy and
its planning time (CPU seconds for the whole network).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import attrs

import accelsim
from accelsim.policies.hardware_aware import HardwareAware

ROOT = Path(__file__).resolve().parent.parent
NETWORKS = {
    "alexnet": "han2015-alexnet",
    "vgg16": "han2015-vgg16",
    "resnet18": "distiller-resnet18-agp",
    "resnet50": "distiller-resnet50-agp80",
}
TEXTBOOK = ("round-robin", "lpt", "kk", "multifit", "density-grouping", "portfolio")
ARRAYS = ((4, 4), (8, 8), (8, 21))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", default=",".join(NETWORKS))
    parser.add_argument("--evaluations", type=int, default=60)
    args = parser.parse_args()
    base = accelsim.load_scenario(ROOT / "scenarios" / "default.toml")
    hw0 = attrs.evolve(
        base.hardware,
        weight_buffer_bytes=2**24,
        input_buffer_bytes=2**24,
        output_buffer_bytes=2**24,
    )
    smart = HardwareAware(args.evaluations)
    head = (
        f"{'network':<9}{'PEs':>5}{'depth':>6}"
        + "".join(f"{p[:9]:>10}" for p in TEXTBOOK)
        + f"{'hw-aware':>10}{'gain':>8}{'plan s':>8}"
    )
    print(
        "simulated cycles / hardware bound; gain: best textbook policy's cycles over "
        "hardware-aware's"
    )
    print(head + "\n" + "-" * len(head))
    for name in (n.strip() for n in args.networks.split(",")):
        pruned = accelsim.prune_with_profile(
            accelsim.load_network(name), accelsim.load_profile(NETWORKS[name]), 1
        )
        for rows, cols in ARRAYS:
            for depth in (1, 8):
                hw = attrs.evolve(hw0, pe_rows=rows, pe_cols=cols, input_queue_depth=depth)
                jobs = accelsim.build_jobs(pruned, base.mapping, hw)
                cycles = {
                    p: accelsim.simulate(jobs, hw, accelsim.load_policy(p)).makespan
                    for p in TEXTBOOK
                }
                mine = accelsim.simulate(jobs, hw, smart)
                seconds = sum(l.plan_seconds for l in mine.layers)
                bound = sum(l.hardware.best for l in mine.layers)
                best = min(cycles.values())
                print(
                    f"{name:<9}{hw.n_pes:>5}{depth:>6}"
                    + "".join(f"{cycles[p] / bound:>10.3f}" for p in TEXTBOOK)
                    + f"{mine.makespan / bound:>10.3f}{best / mine.makespan:>7.3f}x"
                    f"{seconds:>8.2f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
