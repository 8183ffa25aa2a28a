"""The project's question in one table: on each shipped pruned network, how much does
sparsity-aware scheduling gain over round-robin, on lock-step (queue depth 1) and on
decoupled (depth 8) hardware, and how far is the best policy from the hardware bound?

Hardware: the default scenario's 16-PE array with buffers large enough for every layer (so
the closed form computes every layer); each network pruned with its shipped profile (seed 1)
and cut with the default mapping. The hardware bound is the sum over layers of the largest of
the compute, memory, interconnect and lock-step bounds (accelsim.engine.hardware_bounds); what the
best policy loses beyond the compute bound is split by accelsim.engine.gap. Beside
round-robin, the best policy is measured against the dense systolic reference
(accelsim.engine.systolic, the default scenario's [reference]) with the same MAC lanes and
with the same silicon area: speedup and energy ratio, > 1 where the sparse design wins.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import attrs
import numpy as np
from attrs import frozen
from matplotlib.figure import Figure

from accelsim import jsonio
from accelsim.engine.assemble import simulate
from accelsim.engine.gap import result_gap
from accelsim.engine.systolic import references
from accelsim.errors import ConfigError
from accelsim.outputs.report import energy_pj
from accelsim.policies import load_policy
from accelsim.policies.hardware_aware import HardwareAware
from accelsim.scenario import load_scenario
from accelsim.workload.jobs import build_jobs
from accelsim.workload.networks.topology import load_network
from accelsim.workload.sparsity.pruning import load_profile, prune_with_profile

NETWORKS = {
    "lenet5": "han2015-lenet5",
    "alexnet": "han2015-alexnet",
    "vgg16": "han2015-vgg16",
    "resnet18": "distiller-resnet18-agp",
    "resnet50": "distiller-resnet50-agp80",
}
DEPTHS = (1, 8)
TEXTBOOK = ("lpt", "kk", "multifit", "density-grouping", "portfolio")
SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "default.toml"


@frozen
class Gain:
    network: str
    depth: int
    round_robin: int  # cycles
    textbook: int  # the best textbook policy's cycles
    textbook_policy: str
    hardware_aware: int
    bound: int  # hardware bound
    binds: str  # the bound that dominates the sum
    gap: dict  # the best's cycles beyond the compute bound, by part
    explained: str  # the same in one sentence
    energy_uj: float = 0.0  # the best policy's run
    # the dense systolic reference: the shape (rows x cols dataflow), cycles and energy of
    # the iso-MAC and iso-area arrays (None: no array fits the design's area)
    iso_mac: str = ""
    iso_mac_cycles: int = 0
    iso_mac_energy_uj: float = 0.0
    iso_area: str | None = None
    iso_area_cycles: int | None = None
    iso_area_energy_uj: float | None = None

    @property
    def best(self) -> int:
        return min(self.textbook, self.hardware_aware)

    def as_dict(self) -> dict:
        d = attrs.asdict(self)
        d.update(
            gain=self.round_robin / self.best,
            round_robin_over_bound=self.round_robin / self.bound,
            best_over_bound=self.best / self.bound,
            hardware_aware_over_textbook=self.textbook / self.hardware_aware,
            speedup_vs_systolic_iso_mac=self.iso_mac_cycles / self.best,
            energy_vs_systolic_iso_mac=self.iso_mac_energy_uj / self.energy_uj,
            speedup_vs_systolic_iso_area=None
            if self.iso_area_cycles is None
            else self.iso_area_cycles / self.best,
            energy_vs_systolic_iso_area=None
            if self.iso_area_energy_uj is None
            else self.iso_area_energy_uj / self.energy_uj,
        )
        return d


def measure(
    networks=tuple(NETWORKS),
    evaluations: int = 60,
    progress: Callable[[str, int, int], None] | None = None,
) -> list[Gain]:
    """Simulate round-robin, the textbook policies and hardware-aware on every network and
    depth; `progress(label, i, n)` after each."""
    unknown = sorted(set(networks) - set(NETWORKS))
    if unknown:
        raise ConfigError(
            f"--networks: unknown {', '.join(repr(n) for n in unknown)}; give "
            f"comma-separated names of: {', '.join(NETWORKS)}"
        )
    base = load_scenario(SCENARIO)
    big = 2**24
    hw0 = attrs.evolve(
        base.hardware, weight_buffer_bytes=big, input_buffer_bytes=big, output_buffer_bytes=big
    )
    policies = [load_policy(p) for p in ("round-robin",) + TEXTBOOK] + [HardwareAware(evaluations)]
    gains, step, steps = [], 0, len(networks) * len(DEPTHS)
    for name in networks:
        pruned = prune_with_profile(load_network(name), load_profile(NETWORKS[name]), 1)
        for depth in DEPTHS:
            hw = attrs.evolve(hw0, input_queue_depth=depth)
            jobs = build_jobs(pruned, base.mapping, hw)
            runs = {p.name: simulate(jobs, hw, p) for p in policies}
            textbook = min(TEXTBOOK, key=lambda n: runs[n].makespan)
            best = min((textbook, "hardware-aware"), key=lambda n: runs[n].makespan)
            run = runs[best]
            parts = [result_gap(run, l) for l in run.layers]
            gap = sum(parts[1:], parts[0])
            kinds = ("compute", "memory", "interconnect", "lock-step")
            ref = references(base.reference, hw, base.energy, base.area, [lj.layer for lj in jobs])
            gains.append(
                Gain(
                    name,
                    depth,
                    runs["round-robin"].makespan,
                    runs[textbook].makespan,
                    textbook,
                    runs["hardware-aware"].makespan,
                    sum(l.hardware.best for l in run.layers),
                    max(kinds, key=lambda k: sum(l.hardware.values[k] for l in run.layers)),
                    dict(gap.parts),
                    gap.sentence(best),
                    energy_pj(run, base.energy) / 1e6,
                    ref.iso_mac.array.label(),
                    ref.iso_mac.cycles,
                    ref.iso_mac.energy_total_pj / 1e6,
                    *(
                        (None, None, None)
                        if ref.iso_area is None
                        else (
                            ref.iso_area.array.label(),
                            ref.iso_area.cycles,
                            ref.iso_area.energy_total_pj / 1e6,
                        )
                    ),
                )
            )
            step += 1
            if progress:
                progress(f"{name} depth {depth}", step, steps)
    return gains


def table(gains: list[Gain]) -> str:
    lines = [
        f"{'network':<9}{'depth':>6}{'round-robin':>13}{'best textbook':>15}  "
        f"{'(policy)':<17}{'hw-aware':>12}{'gain':>8}{'RR/hw':>7}{'best/hw':>8}  binds",
        "-" * 104,
    ]
    for g in gains:
        lines.append(
            f"{g.network:<9}{g.depth:>6}{g.round_robin:>13,}{g.textbook:>15,}  "
            f"{g.textbook_policy:<17}{g.hardware_aware:>12,}"
            f"{g.round_robin / g.best:>7.3f}x{g.round_robin / g.bound:>7.3f}"
            f"{g.best / g.bound:>8.3f}  {g.binds}"
        )
    lines += [
        "",
        "gain: round-robin's cycles over the best policy's; RR/hw, best/hw: cycles "
        "over the hardware bound; binds: the bound that dominates its sum",
        "",
        "where the best policy's cycles beyond the compute bound go:",
    ]
    lines += [f"  {g.network} depth {g.depth}: {g.explained}" for g in gains]
    lines += [
        "",
        "the best policy against the dense systolic reference (SCALE-Sim's model; x: speedup, "
        "E: its energy over the best run's; > 1: the sparse design wins):",
        f"{'network':<9}{'depth':>6}  {'iso-MAC':<12}{'x':>7}{'E':>7}  {'iso-area':<12}"
        f"{'x':>7}{'E':>7}",
    ]
    for g in gains:
        d = g.as_dict()
        area = (
            f"{g.iso_area:<12}{d['speedup_vs_systolic_iso_area']:>7.2f}"
            f"{d['energy_vs_systolic_iso_area']:>7.2f}"
            if g.iso_area is not None
            else f"{'none':<12}{'-':>7}{'-':>7}"
        )
        lines.append(
            f"{g.network:<9}{g.depth:>6}  {g.iso_mac:<12}"
            f"{d['speedup_vs_systolic_iso_mac']:>7.2f}{d['energy_vs_systolic_iso_mac']:>7.2f}  "
            + area
        )
    return "\n".join(lines)


def to_json(gains: list[Gain]) -> str:
    return jsonio.dumps([g.as_dict() for g in gains], indent=1)


def gain_figure(gains: list[Gain]) -> Figure:
    """Per network and queue depth: round-robin's, the best textbook policy's and
    hardware-aware's cycles over the hardware bound, labelled with the best gain."""
    labels = [f"{g.network}\n{'lock-step' if g.depth == 1 else f'depth {g.depth}'}" for g in gains]
    x = np.arange(len(gains))
    fig = Figure(figsize=(max(7.0, 0.9 * len(gains) + 2.5), 4.4))
    ax = fig.subplots()
    ax.bar(
        x - 0.27,
        [g.round_robin / g.bound for g in gains],
        0.27,
        label="round-robin",
        color="#bbbbbb",
    )
    ax.bar(
        x,
        [g.textbook / g.bound for g in gains],
        0.27,
        label="best textbook policy",
        color="#9ecae1",
    )
    ax.bar(
        x + 0.27,
        [g.hardware_aware / g.bound for g in gains],
        0.27,
        label="hardware-aware",
        color="#1f77b4",
    )
    for i, g in enumerate(gains):
        ax.text(
            x[i] + 0.27,
            g.best / g.bound,
            f"{g.round_robin / g.best:.2f}x",
            ha="center",
            va="bottom",
            fontsize=8,
        )
    ax.axhline(1.0, color="black", linewidth=0.8, linestyle="--", label="hardware bound")
    ax.set_xticks(x, labels, fontsize=8)
    ax.set_ylabel("simulated cycles / hardware bound")
    ax.set_ylim(0, max(g.round_robin / g.bound for g in gains) * 1.15)
    ax.set_title(
        "Sparsity-aware scheduling against round-robin, 16 PEs (label: best policy's gain)",
        fontsize=10,
    )
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    return fig
