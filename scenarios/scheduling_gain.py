"""How much does sparsity-aware scheduling gain over round-robin, and how far is the best
policy from what the hardware allows? Every shipped pruned network, lock-step and decoupled.

For each network (its shipped pruning profile, seed 1) on the default scenario's 16-PE
array with buffers large enough to hold each layer (so the closed form computes every
layer), at input-queue depth 1 (lock-step broadcast) and 8 (decoupled PEs), it simulates
round-robin (sparsity-unaware), LPT, KK and the hardware-aware policy, and prints the
gain of the best over round-robin and the best's cycles over the hardware bound (the sum
over layers of the largest of the compute, memory, interconnect and lock-step bounds).
It writes scheduling_gain.png: both ratios per network and hardware.

    python scenarios/scheduling_gain.py [--out DIR] [--evaluations N] [--networks a,b]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import attrs

import accelsim
from accelsim.policies.hardware_aware import HardwareAware

NETWORKS = {"lenet5": "han2015-lenet5", "alexnet": "han2015-alexnet",
            "vgg16": "han2015-vgg16", "resnet18": "distiller-resnet18-agp",
            "resnet50": "distiller-resnet50-agp80"}
ROOT = Path(__file__).resolve().parent


def hardware_bound(result) -> int:
    return sum(l.hardware.best for l in result.layers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results/scheduling_gain")
    parser.add_argument("--evaluations", type=int, default=60,
                        help="simulations per layer for the hardware-aware policy")
    parser.add_argument("--networks", default=",".join(NETWORKS))
    args = parser.parse_args()
    names = [n.strip() for n in args.networks.split(",")]
    base = accelsim.load_scenario(ROOT / "default.toml")
    hw0 = attrs.evolve(base.hardware, weight_buffer_bytes=2 ** 24, input_buffer_bytes=2 ** 24,
                       output_buffer_bytes=2 ** 24)
    policies = [accelsim.load_policy(p) for p in ("round-robin", "lpt", "kk")] \
        + [HardwareAware(args.evaluations)]
    rows = []
    print(f"{'network':<10}{'depth':>6}{'round-robin':>13}{'best':>13}  {'best policy':<16}"
          f"{'gain':>7}{'RR/hw':>8}{'best/hw':>9}{'binds':>12}")
    for name in names:
        pruned = accelsim.prune_with_profile(accelsim.load_network(name),
                                             accelsim.load_profile(NETWORKS[name]), 1)
        for depth in (1, 8):
            hw = attrs.evolve(hw0, input_queue_depth=depth)
            jobs = accelsim.build_jobs(pruned, base.mapping, hw)
            runs = {p.name: accelsim.simulate(jobs, hw, p) for p in policies}
            rr = runs["round-robin"]
            best_name = min(runs, key=lambda n: runs[n].makespan)
            best = runs[best_name]
            bound = hardware_bound(best)
            binds = max(("compute", "memory", "interconnect", "lock-step"),
                        key=lambda k: sum(l.hardware.values[k] for l in best.layers))
            rows.append((name, depth, rr.makespan / bound, best.makespan / bound,
                         rr.makespan / best.makespan))
            print(f"{name:<10}{depth:>6}{rr.makespan:>13,}{best.makespan:>13,}  "
                  f"{best_name:<16}{rr.makespan / best.makespan:>6.3f}x"
                  f"{rr.makespan / bound:>8.3f}{best.makespan / bound:>9.3f}{binds:>12}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    save_plot(rows, out / "scheduling_gain.png")
    print(f"\ngain: round-robin's cycles over the best policy's; RR/hw, best/hw: cycles over "
          f"the hardware bound; binds: the bound that dominates\nwrote {out}/scheduling_gain.png")


def save_plot(rows, path: Path) -> None:
    from accelsim.plotting import plt
    import numpy as np
    labels = [f"{n}\ndepth {d}" for n, d, *_ in rows]
    x = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(max(7.0, 1.0 * len(rows) + 2), 4.2))
    ax.bar(x - 0.2, [r[2] for r in rows], 0.4, label="round-robin", color="#bbbbbb")
    ax.bar(x + 0.2, [r[3] for r in rows], 0.4, label="best policy", color="#1f77b4")
    for i, r in enumerate(rows):
        ax.text(x[i] + 0.2, r[3], f"{r[4]:.2f}x", ha="center", va="bottom", fontsize=8)
    ax.axhline(1.0, color="black", linewidth=0.8, linestyle="--", label="hardware bound")
    ax.set_xticks(x, labels, fontsize=8)
    ax.set_ylabel("simulated cycles / hardware bound")
    ax.set_ylim(0, max(r[2] for r in rows) * 1.15)
    ax.set_title("Sparsity-aware scheduling against round-robin, 16 PEs "
                 "(label: best policy's gain)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
