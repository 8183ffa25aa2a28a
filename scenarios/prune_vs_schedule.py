"""Prune for balance, or schedule for balance? One run on LeNet-5's real trained weights.

Both prune each layer to Han et al.'s densities. Layer-wise magnitude pruning keeps the
largest weights wherever they are, so filters end up unequal: a sparsity-unaware
round-robin mapping suffers, a scheduling policy repairs it. Balanced pruning forces every
filter to keep the same count, so even round-robin is balanced; the price is paid in which
weights survive (the accuracy a balanced mask costs is outside this model), not in cycles.
Run:
python scenarios/prune_vs_schedule.py [--pes 8]
"""

import argparse

import accelsim
from accelsim.training.lenet_train import HAN_DENSITY
from accelsim.workload.sparsity.pruning import load_weights, weights_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pes", type=int, default=8)
    args = parser.parse_args()
    network = accelsim.load_network("lenet5")
    trained = load_weights(weights_path("lenet5_trained"))
    hw = accelsim.Hardware(
        pe_rows=1, pe_cols=args.pes, macs_per_cycle=4, input_queue_depth=10**6
    ).ideal_memory()
    print(f"LeNet-5 (real trained weights), {args.pes} PEs, ideal memory, decoupled PEs")
    print(f"{'pruning':<12}{'policy':<14}{'cycles':>10}{'utilization':>13}{'nnz CV (ip1)':>14}")
    for method in ("layer", "balanced"):
        pruned = accelsim.prune_weights(network, trained, method, HAN_DENSITY, src="trained")
        jobs = accelsim.build_jobs(pruned, accelsim.Mapping(), hw)
        ip1 = pruned.layers[2].filter_nnz
        for policy in ("round-robin", "portfolio"):
            result = accelsim.simulate(jobs, hw, accelsim.load_policy(policy))
            busy = sum(l.total_cycles for l in jobs)
            print(
                f"{method:<12}{policy:<14}{result.makespan:>10,}"
                f"{busy / (hw.n_pes * result.makespan):>13.1%}"
                f"{ip1.std() / ip1.mean():>14.3f}"
            )


if __name__ == "__main__":
    main()
