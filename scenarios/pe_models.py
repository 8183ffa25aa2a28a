"""Compare the PE compute models on one pruned network: cycles per layer and in total.

The same scenario (network, pruning, mapping, policy) runs once per `pe_model`; only how a
PE spends cycles on a job's weights changes, so the work (nonzero MACs) is the same in every
run. The default is LeNet-5 with real magnitude-pruned masks (scenarios/lenet5_real.toml):
its 5 x 5 kernels are cut into 3 x 3 windows whose real zeros decide what the window model
skips. Writes results/<name>/pe_models.png. Run: python scenarios/pe_models.py [scenario]
"""

import argparse
from pathlib import Path

import attrs

import accelsim
from accelsim.outputs.figures import pe_models_figure
from accelsim.outputs.plotting import save_figure

MODELS = ("zero-skip", "window", "lane-group", "dense")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "scenario", nargs="?", default=str(Path(__file__).parent / "lenet5_real.toml")
    )
    parser.add_argument("--out", help="directory (default: results/<scenario name>)")
    args = parser.parse_args()

    base = accelsim.load_scenario(args.scenario)
    pruned = base.pruned()
    runs = {}
    for model in MODELS:
        scenario = attrs.evolve(base, hardware=attrs.evolve(base.hardware, pe_model=model))
        runs[model] = accelsim.run_scenario(scenario, baselines=False, pruned=pruned).report
    layers = [l.name for l in runs["dense"].layers]
    print(
        f"{base.name}: {base.hardware.n_pes} PEs x {base.hardware.macs_per_cycle} lanes, "
        f"{base.policy}; cycles per layer under each PE model (window = "
        f"{base.hardware.pe_window} x {base.hardware.pe_window})"
    )
    print(f"{'layer':<24}{'density':>8}" + "".join(f"{m:>13}" for m in MODELS))
    for i, name in enumerate(layers):
        density = pruned.layers[i].density
        print(
            f"{name[:23]:<24}{density:>8.1%}"
            + "".join(f"{runs[m].layers[i].cycles:>13,}" for m in MODELS)
        )
    print(
        f"{'total':<24}{pruned.nnz / sum(p.layer.weights for p in pruned.layers):>8.1%}"
        + "".join(f"{runs[m].total.cycles:>13,}" for m in MODELS)
    )
    print(
        f"{'speedup over dense':<32}"
        + "".join(f"{runs['dense'].total.cycles / runs[m].total.cycles:>13.2f}" for m in MODELS)
    )
    print(
        f"{'energy uJ':<32}"
        + "".join(f"{sum(runs[m].total.energy_pj.values()) / 1e6:>13,.1f}" for m in MODELS)
    )
    macs = {runs[m].total.executed_macs for m in MODELS}
    print(
        f"executed MACs in every run: {macs.pop():,}"
        if len(macs) == 1
        else f"executed MACs differ between models: {sorted(macs)}"
    )
    out = Path(args.out) if args.out else Path("results") / base.name
    out.mkdir(parents=True, exist_ok=True)
    labels = [f"{name}\n{p.density:.0%}" for name, p in zip(layers, pruned.layers)]
    figure = pe_models_figure(
        {m: [l.cycles for l in runs[m].layers] for m in MODELS},
        labels,
        f"{base.name}: cycles per layer by PE model (layer density below its name)",
    )
    save_figure(figure, out / "pe_models.png")
    print(f"wrote {out / 'pe_models.png'}")


if __name__ == "__main__":
    main()
