"""Sweep the PE input-queue depth on pruned AlexNet conv2 and print utilization per depth.

Depth 1 is lock-step: every broadcast waits for the slowest PE of the previous one. Deeper
queues let PEs drift apart, and utilization climbs towards what the plan allows (EIE reports
load-balance efficiency flattening beyond depth 8). Run: python scenarios/queue_depth_sweep.py
"""

import argparse

import attrs

import accelsim
from accelsim.policies.schedule import bounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--policy", default="round-robin")
    parser.add_argument("--layer", default="conv2")
    args = parser.parse_args()

    network = accelsim.load_network("alexnet")
    pruned = accelsim.prune_with_profile(
        network, accelsim.load_profile("han2015-alexnet"), seed=args.seed
    ).only([args.layer])
    base = accelsim.Hardware(pe_rows=4, pe_cols=8, macs_per_cycle=8).ideal_memory()
    policy = accelsim.load_policy(args.policy)
    jobs = accelsim.build_jobs(pruned, accelsim.Mapping(), base)
    bound = bounds(jobs[0].cycles, base.n_pes).best
    print(
        f"{args.layer} of AlexNet ({pruned.layers[0].density:.0%} dense), {base.n_pes} PEs, "
        f"{args.policy}, ideal memory; lower bound {bound:,} cycles"
    )
    print(f"{'depth':>5} {'cycles':>12} {'utilization':>12} {'/bound':>8}")
    for depth in range(1, 17):
        hw = attrs.evolve(base, input_queue_depth=depth)
        result = accelsim.simulate(jobs, hw, policy)
        busy = sum(l.total_cycles for l in jobs)
        print(
            f"{depth:>5} {result.makespan:>12,} {busy / (hw.n_pes * result.makespan):>12.1%} "
            f"{result.makespan / bound:>8.3f}"
        )


if __name__ == "__main__":
    main()
