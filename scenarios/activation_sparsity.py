"""Activation sparsity against two published trends: Han et al.'s FLOP% per layer of pruned
VGG-16 and EIE's load balance against the activation queue depth.

Both use the shipped VGG-16 pruned to Han, Pool, Tran, Dally, NIPS 2015, Table 4
(han2015-vgg16), with the input densities of the same table (`[workload] activation_density
= "han2015-vgg16"`, each layer reading the previous layer's Act%) on a two-sided PE.

1. FLOP%: each layer's executed MACs over its dense MACs, beside Table 4's FLOP%.
2. EIE (Han et al., ISCA 2016) on fc7: 64 PEs of one MAC (EIE's array), every PE a slice of
   the rows, one job per input column (`channel_splits` = inputs), ideal memory; load
   efficiency (busy PE-cycles / (PEs x makespan)) for queue depths 1 to 16, with the weights
   alone and with zero activations skipped.
3. The shipped scenario scenarios/vgg16_pruned.toml (16 PEs, 14 x 14 tiles, whole-channel
   jobs) over the same depths, with and without activation sparsity (about two minutes;
   --quick leaves it out).
Writes results/activation_sparsity/activation_sparsity.png.
Run: python scenarios/activation_sparsity.py [--quick]
"""

import argparse
import time
from pathlib import Path

import attrs

import accelsim
from accelsim.outputs.figures import activation_trends_figure
from accelsim.outputs.plotting import save_figure
from accelsim.scenario import scenario_from_dict

# Han et al. 2015, Table 4 (VGG-16): FLOP% per layer, zero weights and zero input
# activations both skipped
HAN_FLOP = {
    "conv1_1": 58,
    "conv1_2": 12,
    "conv2_1": 30,
    "conv2_2": 29,
    "conv3_1": 43,
    "conv3_2": 16,
    "conv3_3": 29,
    "conv4_1": 21,
    "conv4_2": 14,
    "conv4_3": 15,
    "conv5_1": 12,
    "conv5_2": 9,
    "conv5_3": 11,
    "fc6": 1,
    "fc7": 2,
    "fc8": 9,
}
HAN_TOTAL = 21
DEPTHS = list(range(1, 17))
PROFILE = "han2015-vgg16"


def vgg16(two_sided: bool, **extra) -> accelsim.Scenario:
    workload = {"network": "vgg16", **extra.pop("workload", {})}
    if two_sided:
        workload["activation_density"] = PROFILE
    return scenario_from_dict(
        {"workload": workload, "pruning": {"profile": PROFILE}, "baselines": False, **extra},
        "<activation_sparsity>",
    )


def flop_shares() -> dict[str, float]:
    """Each layer's executed MACs over its dense MACs, in percent (jobs only: no simulation)."""
    scenario = vgg16(
        True, mapping={"tile_h": 14, "tile_w": 14}, hardware={"pe_skips_activations": True}
    )
    jobs = accelsim.build_jobs(scenario.pruned(), scenario.mapping, scenario.hardware)
    return {lj.layer.name: 100 * int(lj.column("macs").sum()) / lj.dense_macs for lj in jobs}


def depth_sweep(jobs, hw, policy) -> tuple[list[int], list[float]]:
    busy = sum(lj.total_cycles for lj in jobs)
    spans = [
        accelsim.simulate(jobs, attrs.evolve(hw, input_queue_depth=d), policy).makespan
        for d in DEPTHS
    ]
    return spans, [busy / (hw.n_pes * s) for s in spans]


def eie_fc7(two_sided: bool):
    layer = next(l for l in accelsim.load_network("vgg16").mac_layers if l.name == "fc7")
    scenario = vgg16(
        two_sided,
        workload={"layers": ["fc7"]},
        mapping={"filters_per_job": layer.out_c // 64, "channel_splits": layer.in_c},
        hardware={
            "pe_rows": 8,
            "pe_cols": 8,
            "macs_per_cycle": 1,
            "pe_skips_activations": two_sided,
        },
    )
    hw = scenario.hardware.ideal_memory()
    jobs = accelsim.build_jobs(scenario.pruned(), scenario.mapping, hw)
    return depth_sweep(jobs, hw, accelsim.load_policy(scenario.policy))


def shipped(two_sided: bool):
    base = accelsim.load_scenario(Path(__file__).parent / "vgg16_pruned.toml")
    scenario = attrs.evolve(
        base,
        activation_density=dict(accelsim.load_profile(PROFILE).activation_density)
        if two_sided
        else {},
        hardware=attrs.evolve(base.hardware, pe_skips_activations=two_sided),
    )
    jobs = accelsim.build_jobs(scenario.pruned(), scenario.mapping, scenario.hardware)
    return depth_sweep(jobs, scenario.hardware, accelsim.load_policy(scenario.policy))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="leave out the shipped vgg16_pruned scenario (about two minutes)",
    )
    parser.add_argument("--out", default="results/activation_sparsity")
    args = parser.parse_args()
    start = time.monotonic()

    ours = flop_shares()
    print(f"1. FLOP% of VGG-16 ({PROFILE}, input densities from Han et al. 2015, Table 4)")
    print(f"{'layer':<9}{'weights':>8}{'inputs':>8}{'Han FLOP%':>11}{'ours':>8}{'ours/Han':>10}")
    profile = accelsim.load_profile(PROFILE)
    for name, han in HAN_FLOP.items():
        print(
            f"{name:<9}{profile.density[name]:>8.0%}{profile.activation_density[name]:>8.0%}"
            f"{han:>11}{ours[name]:>8.1f}{ours[name] / han:>10.2f}"
        )
    network = accelsim.load_network("vgg16")
    dense = {l.name: l.dense_macs for l in network.mac_layers}
    total = sum(ours[n] * dense[n] for n in ours) / sum(dense.values())
    print(f"{'total':<25}{HAN_TOTAL:>11}{total:>8.1f}{total / HAN_TOTAL:>10.2f}")

    curves = {}
    sweeps = [
        (
            "2. EIE's setting, VGG-16 fc7: 64 PEs x 1 MAC, one job per input column, ideal memory",
            "fc7, EIE mapping",
            eie_fc7,
        )
    ]
    if not args.quick:
        sweeps.append(
            (
                "3. scenarios/vgg16_pruned.toml (16 PEs x 16 MACs, whole-channel jobs)",
                "vgg16_pruned",
                shipped,
            )
        )
    for heading, name, sweep in sweeps:
        print(f"\n{heading}")
        for two_sided in (False, True):
            label = f"{name}, " + ("zero inputs skipped" if two_sided else "weights only")
            spans, curves[label] = sweep(two_sided)
            print(f"  {label} (depth: cycles / load efficiency)")
            print(
                "    "
                + "  ".join(f"{d}:{s:,}/{e:.1%}" for d, s, e in zip(DEPTHS, spans, curves[label]))
            )

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    figure = activation_trends_figure(
        DEPTHS,
        curves,
        list(HAN_FLOP),
        {
            "Han et al. 2015, Table 4": list(HAN_FLOP.values()),
            "simulated (two-sided PE)": [ours[n] for n in HAN_FLOP],
        },
        f"pruned VGG-16 ({PROFILE}) with Han et al.'s activation densities",
    )
    save_figure(figure, out / "activation_sparsity.png")
    print(f"\nwrote {out / 'activation_sparsity.png'} ({time.monotonic() - start:.0f} s)")


if __name__ == "__main__":
    main()
