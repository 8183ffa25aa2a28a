"""Every policy on one scenario: cycles, makespan over the best bound, utilization and
planning time, per layer and in total, and a bar chart of makespan / bound per policy."""

from __future__ import annotations

import textwrap
import time

import numpy as np
from attrs import frozen
from matplotlib.figure import Figure

from accelsim import jsonio
from accelsim.engine.assemble import SimResult, simulate
from accelsim.engine.gap import PARTS, Gap, result_gap
from accelsim.engine.systolic import References, references
from accelsim.errors import ConfigError
from accelsim.outputs.report import energy_pj
from accelsim.pipeline import on_hardware_built
from accelsim.policies import Policy, available, load_policy, mapping_policy, missing_extra
from accelsim.scenario import Scenario
from accelsim.trace import State
from accelsim.workload.jobs import build_jobs

DEFAULT_EXTRAS = ("lpt+improve", "kk+improve")


@frozen
class PolicyRun:
    policy: str
    result: SimResult
    wall_seconds: float

    @property
    def plan_seconds(self) -> float:
        return sum(l.plan_seconds for l in self.result.layers)

    @property
    def planned(self) -> int | None:
        """Sum over layers of the plan's compute makespan (static policies)."""
        values = [l.planned_makespan for l in self.result.layers]
        return None if None in values else sum(values)

    def utilization(self) -> float:
        cycles = self.result.states.cycles_by_state(self.result.hw.n_pes).sum(axis=0)
        return cycles[State.BUSY] / max(int(cycles.sum()), 1)


def policies_for(
    names: list[str] | None, exact_seconds: float, options: dict[str, dict] | None = None
) -> tuple[list[Policy], dict[str, str]]:
    """The policies named, or by default every installed one and DEFAULT_EXTRAS; also the
    defaults left out, each with the extra it needs (named ones must load, or fail).
    `options` by policy name (a scenario's [policy_options] for its own policy) go to the
    policy of that name, as `accelsim run` would give them."""
    options = options or {}
    left_out = {}
    twice = sorted({n for n in names or () if names.count(n) > 1})
    if twice:
        raise ConfigError(
            f"--policies names {', '.join(twice)} more than once: each policy runs once"
        )
    if not names:
        names = [*available(), *DEFAULT_EXTRAS]
        left_out = {n: extra for n in names if (extra := missing_extra(n))}
        names = [n for n in names if n not in left_out]
    return [
        load_policy(n, {"time_limit_s": exact_seconds, **options.get(n, {})})
        if n == "exact"
        else load_policy(n, options.get(n))
        for n in names
    ], left_out


def compare(
    scenario: Scenario, policies: list[Policy], progress=None, engine: str | None = None
) -> list[PolicyRun]:
    """Every policy on the scenario's jobs; `progress(phase, i, n, what)` before each layer
    is planned and simulated, the phase naming the policy and its place in the list."""
    pruned = scenario.pruned()
    mapping = scenario.mapping
    hw = mapping.allotted(scenario.hardware)  # what the timing sees; energy is the built's
    if mapping.mode == "auto":  # one mapping for all policies: the scenario policy's best
        from accelsim.engine.mapper import map_network

        mapping = map_network(
            pruned,
            mapping,
            hw,
            mapping_policy(load_policy(scenario.policy, scenario.policy_options)),
            engine or scenario.engine,
            scenario.energy,
        ).mappings
    jobs = build_jobs(pruned, mapping, hw)
    runs = []
    for i, policy in enumerate(policies):
        step = (
            None
            if progress is None
            else (
                lambda j, n, what, phase=f"policy {i + 1}/{len(policies)} {policy.name}": (  # noqa: B008
                    progress(phase, j, n, what)
                )
            )
        )
        t0 = time.perf_counter()
        result = on_hardware_built(
            simulate(jobs, hw, policy, step, engine=engine or scenario.engine), scenario.hardware
        )
        runs.append(PolicyRun(policy.name, result, time.perf_counter() - t0))
    return runs


def reference(scenario: Scenario, runs: list[PolicyRun]) -> References:
    """The dense systolic arrays (iso-MAC, iso-area) of the scenario's [reference], on the
    layers the runs simulated."""
    by_name = {l.name: l for l in scenario.network.mac_layers}
    layers = [by_name[l.name] for l in runs[0].result.layers]
    return references(
        scenario.reference,
        scenario.hardware,
        scenario.energy,
        scenario.area,
        layers,
    )


def versus(run: PolicyRun, ref: References, table) -> dict:
    """A run's speedup and energy ratio against each reference array (> 1: the run is
    faster or spends less); None where there is no iso-area array."""
    energy = energy_pj(run.result, table)
    out = {}
    for iso in ("iso_mac", "iso_area"):
        array = getattr(ref, iso)
        out[f"speedup_vs_systolic_{iso}"] = (
            None if array is None else array.cycles / max(run.result.makespan, 1)
        )
        out[f"energy_vs_systolic_{iso}"] = (
            None if array is None or not energy else array.energy_total_pj / energy
        )
    return out


def best_bounds(runs: list[PolicyRun]) -> np.ndarray:
    """Per layer, the best bound any run established (an exact proof serves every policy)."""
    return np.max([[l.lower_bound for l in r.result.layers] for r in runs], axis=0)


_SHORT = {
    "plan imbalance": "imbalance",
    "lock-step waiting": "lock-step",
    "memory stalls": "memory",
    "operand delivery": "delivery",
    "output stalls": "output",
    "drain and idle": "drain/idle",
}


def memory_bounds(runs: list[PolicyRun]) -> np.ndarray:
    """Per layer, the smallest memory bound of the runs: each counts the refetch and spills
    unavoidable in its own plan's order, so only the smallest bounds every run."""
    return np.min([[l.hardware.memory for l in r.result.layers] for r in runs], axis=0)


def hardware_bound(runs: list[PolicyRun]) -> int:
    """The sum over layers of the hardware bound of every run compared: the best compute
    bound any run proved, the smallest memory bound, and the plan-free others."""
    compute, memory = best_bounds(runs), memory_bounds(runs)
    layers = runs[0].result.layers
    return int(
        sum(
            max(int(c), int(m), l.hardware.interconnect, l.hardware.lock_step)
            for c, m, l in zip(compute, memory, layers)
        )
    )


def gap_of(run: PolicyRun) -> Gap:
    """The run's gap to its compute bound, summed over layers (accelsim.engine.gap)."""
    r = run.result
    gaps = [result_gap(r, l) for l in r.layers]
    return sum(gaps[1:], gaps[0])


def ties(runs: list[PolicyRun]) -> list[list[PolicyRun]]:
    """Groups of two or more runs with the same cycles in every layer, fastest first, each in
    the order given."""
    groups: dict[tuple, list[PolicyRun]] = {}
    for r in runs:
        groups.setdefault(tuple(l.cycles for l in r.result.layers), []).append(r)
    tied = [g for g in groups.values() if len(g) > 1]
    return sorted(tied, key=lambda g: g[0].result.makespan)


def tie_sentence(group: list[PolicyRun]) -> str:
    """One sentence: which policies tie, at how many cycles, and why, from what they share.

    Under lock-step (input_queue_depth 1) with static plans, each broadcast waits for the
    slowest PE of the last one, so a round lasts as long as its longest job whichever PE
    runs it: policies that cut the same rounds tie, and only deeper queues let their
    assignments differ. Otherwise the plans' compute makespans say whether the plans or the
    hardware's stalls made them equal."""
    r = group[0].result
    names = ", ".join(g.policy for g in group)
    static = all(g.planned is not None for g in group)
    kind = "static " if static else ""
    head = (
        f"{len(group)} {kind}policies give the same {r.makespan:,} cycles in every layer ({names})"
    )
    if static and r.hw.input_queue_depth == 1:
        why = (
            "under lock-step (input_queue_depth = 1) a broadcast round lasts as long as its "
            "longest job whichever PE runs it, so plans that cut the same rounds tie; deeper "
            "input queues separate them"
        )
    elif static and len({tuple(l.planned_makespan for l in g.result.layers) for g in group}) == 1:
        why = "their plans reach the same compute makespan in every layer"
    else:
        largest = max(PARTS, key=lambda p: gap_of(group[0]).parts[p])
        why = f"the hardware's {largest} hides the differences between their plans"
    return f"{head}: {why}."


def _reference_lines(runs: list[PolicyRun], ref: References, energy) -> list[str]:
    """Per policy, its speedup and energy ratio against the dense systolic arrays."""
    area = ref.iso_area
    lines = [
        "against the dense systolic reference (SCALE-Sim's model; > 1: the policy's run is "
        f"faster or spends less): iso-MAC {ref.iso_mac.array.label()} "
        f"({ref.iso_mac.cycles:,} cycles), iso-area "
        + (
            f"{area.array.label()} ({area.cycles:,} cycles, {area.area_mm2:.3f} mm^2)"
            if area is not None
            else "none (no array fits the design's area)"
        ),
        f"{'policy':<20}{'x sysM':>9}{'E sysM':>9}{'x sysA':>9}{'E sysA':>9}",
    ]
    for r in sorted(runs, key=lambda r: r.result.makespan):
        v = versus(r, ref, energy)
        lines.append(
            f"{r.policy:<20}"
            + "".join(
                f"{'-' if v[k] is None else format(v[k], '.2f'):>9}"
                for k in (
                    "speedup_vs_systolic_iso_mac",
                    "energy_vs_systolic_iso_mac",
                    "speedup_vs_systolic_iso_area",
                    "energy_vs_systolic_iso_area",
                )
            )
        )
    return lines


def table(runs: list[PolicyRun], ref: References | None = None, energy=None) -> str:
    """The comparison in words and tables; with `ref` (and the scenario's energy table),
    each policy against the dense systolic reference too."""
    bound = best_bounds(runs)
    total_bound = int(bound.sum())
    hw_bound = hardware_bound(runs)
    rr = next((r for r in runs if r.policy == "round-robin"), None)
    lines = [
        "plan/bound: the plan's compute makespan over the best compute bound (scheduling alone)",
        "/bound: simulated cycles over that bound",
        f"/hw: simulated cycles over the hardware bound ({hw_bound:,} cycles: per layer the "
        "largest",
        "  of the compute, memory, interconnect and lock-step bounds)",
        "",
        f"{'policy':<20}{'cycles':>14}{'/bound':>9}{'/hw':>8}{'plan/bound':>11}"
        f"{'util':>8}{'plan wall ms':>13}{'x RR':>7}",
        "-" * 90,
    ]
    for r in sorted(runs, key=lambda r: r.result.makespan):
        gain = f"{rr.result.makespan / r.result.makespan:.3f}" if rr else "-"
        planned = "-" if r.planned is None else f"{r.planned / max(total_bound, 1):.4f}"
        lines.append(
            f"{r.policy:<20}{r.result.makespan:>14,}"
            f"{r.result.makespan / max(total_bound, 1):>9.4f}"
            f"{r.result.makespan / max(hw_bound, 1):>8.4f}{planned:>11}"
            f"{r.utilization():>8.1%}{r.plan_seconds * 1e3:>13.1f}{gain:>7}"
        )
    if rr:
        best = min(runs, key=lambda r: r.result.makespan)
        lines.append(
            f"\nround-robin loses {1 - best.result.makespan / rr.result.makespan:.1%} "
            f"of its cycles against the best policy ({best.policy})"
        )
    lines += [
        "",
        "where the cycles beyond the compute bound go (share of each run's cycles, "
        "on its most loaded PE):",
        f"{'policy':<20}" + "".join(f"{_SHORT[p]:>11}" for p in PARTS),
    ]
    for r in sorted(runs, key=lambda r: r.result.makespan):
        g = gap_of(r)
        lines.append(
            f"{r.policy:<20}" + "".join(f"{g.parts[p] / max(g.cycles, 1):>11.1%}" for p in PARTS)
        )
    lines += [""] + [
        gap_of(r).sentence(r.policy) for r in sorted(runs, key=lambda r: r.result.makespan)
    ]
    if ref is not None:
        lines += ["", *_reference_lines(runs, ref, energy)]
    tied = ties(runs)
    lines += [""] * bool(tied) + [tie_sentence(g) for g in tied]
    lines += _layer_table(runs, bound)
    lines = [l for l in lines if l is not None]
    lines = [l if len(l) <= 100 else textwrap.fill(l, 100, subsequent_indent="  ") for l in lines]
    return "\n".join(lines)


def _layer_table(runs: list[PolicyRun], bound: np.ndarray) -> list[str | None]:
    """Makespan / bound per layer, one column per group of tied policies (named by its
    fastest member, +k for the others), and only the layers where the columns differ."""
    names = [l.name for l in runs[0].result.layers]
    memory = memory_bounds(runs)  # of every run, tied ones too
    tied = {id(r): g for g in ties(runs) for r in g}
    runs = sorted(runs, key=lambda r: r.result.makespan)  # columns in the summary's order
    heads, seen = {}, set()
    for r in runs:
        group = tied.get(id(r), [r])
        if id(group[0]) not in seen:
            seen.add(id(group[0]))
            heads[r.policy] = r.policy + (f" +{len(group) - 1}" if len(group) > 1 else "")
    runs = [r for r in runs if r.policy in heads]
    differ = [i for i in range(len(names)) if len({r.result.layers[i].cycles for r in runs}) > 1]
    if not differ:
        return [
            "",
            "every policy compared gives the same cycles in every layer: no per-layer table",
        ]
    lines: list[str | None] = [
        "",
        f"makespan / best compute bound in the {len(differ)} of {len(names)} layers where "
        "the policies differ (binds: what bounds the layer on this hardware; +k: k more "
        "policies tie with it in every layer):",
    ]
    width = max(8, max(len(h) for h in heads.values()) + 1)
    per_block = max(1, (100 - 37) // width)  # policy columns per block: under 100 wide
    for first in range(0, len(runs), per_block):
        block = runs[first : first + per_block]
        lines += [
            "" if first else None,
            f"{'layer':<24}{'binds':>13}"
            + "".join(f"{heads[r.policy][: width - 1]:>{width}}" for r in block),
        ]
        for i in differ:
            name = names[i]
            h = runs[0].result.layers[i].hardware
            binds = max(
                ("compute", int(bound[i])),
                ("memory", int(memory[i])),
                ("interconnect", h.interconnect),
                ("lock-step", h.lock_step),
                key=lambda kv: kv[1],
            )[0]
            lines.append(
                f"{name[:23]:<24}{binds:>13}"
                + "".join(
                    f"{r.result.layers[i].cycles / max(int(bound[i]), 1):>{width}.3f}"
                    for r in block
                )
            )
    return lines


def to_json(runs: list[PolicyRun], ref: References | None = None, energy=None) -> str:
    bound = best_bounds(runs)
    return jsonio.dumps(
        {
            **({"systolic_reference": ref.as_dict()} if ref is not None else {}),
            "policies": [
                {
                    "policy": r.policy,
                    "cycles": r.result.makespan,
                    "bound": int(bound.sum()),
                    "makespan_over_bound": r.result.makespan / max(int(bound.sum()), 1),
                    "hardware_bound": hardware_bound(runs),
                    "makespan_over_hardware_bound": r.result.makespan
                    / max(hardware_bound(runs), 1),
                    "gap": gap_of(r).parts,
                    "explained": gap_of(r).sentence(r.policy),
                    "planned_makespan": r.planned,
                    "utilization": r.utilization(),
                    "plan_seconds": r.plan_seconds,
                    **(versus(r, ref, energy) if ref is not None else {}),
                    "layers": [
                        {
                            "name": l.name,
                            "cycles": l.cycles,
                            "bound": int(b),
                            "bound_kind": l.bound_kind,
                            "planned_makespan": l.planned_makespan,
                            "plan_seconds": l.plan_seconds,
                        }
                        for l, b in zip(r.result.layers, bound)
                    ],
                }
                for r in runs
            ],
        },
        indent=2,
    )


def chart_figure(runs: list[PolicyRun], title: str) -> Figure:
    """Per policy, fastest first: simulated cycles over the best compute bound as a bar rising
    from the bound (1.0), and the plan's own compute makespan over it as a black tick (the
    scheduling alone; the bar above the tick is the hardware's stalls). Policies that tie
    (ties: the same cycles in every layer) share one bar, named by the group, with a tick per
    distinct plan."""
    total = max(int(best_bounds(runs).sum()), 1)
    tied = {id(r): g for g in ties(runs) for r in g}
    bars_of: list[list[PolicyRun]] = []
    for r in sorted(runs, key=lambda r: r.result.makespan):
        group = tied.get(id(r), [r])
        if not any(group is g for g in bars_of):  # a group's bar where its first member is
            bars_of.append(group)
    ratios = np.array([g[0].result.makespan / total for g in bars_of])
    x = np.arange(len(bars_of))
    fig = Figure(figsize=(max(6.5, 0.8 * len(bars_of) + 2.5), 4.8))
    ax = fig.subplots()
    bars = ax.bar(
        x, ratios - 1, bottom=1, color="#1f77b4", width=0.7, label="simulated cycles / bound"
    )
    for bar, ratio in zip(bars, ratios):
        ax.text(
            bar.get_x() + bar.get_width() / 2,
            ratio,
            f"{ratio:.3f}",
            ha="center",
            va="bottom",
            fontsize=8,
        )
    planned = sorted(
        {(i, r.planned / total) for i, g in enumerate(bars_of) for r in g if r.planned is not None}
    )
    if planned:
        ax.scatter(
            [i for i, _ in planned],
            [p for _, p in planned],
            marker="_",
            s=400,
            color="black",
            linewidths=2,
            zorder=3,
            label="plan's compute makespan / bound",
        )
    ax.axhline(1.0, color="black", linewidth=0.8, linestyle="--", label="best compute bound")
    upright = len(bars_of) <= 6  # few bars: names level, a group's on several lines
    ax.set_xticks(
        x,
        [_bar_label(g, 18 if upright else 28) for g in bars_of],
        rotation=0 if upright else 30,
        ha="center" if upright else "right",
        fontsize=8,
    )
    ax.set_xlabel("policy (fastest first; tied policies share a bar)")
    ax.set_ylabel("cycles / best compute bound")
    # the bound's dashed line just above the axis, and the bars in the lower two thirds, so
    # that the legend (upper left) never covers a bar, even when all are about as tall
    span = (ratios.max() - 1) * 1.5 + 0.015
    ax.set_ylim(1.0 - 0.03 * span, 1 + span)
    ax.set_title(title)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig


def _bar_label(group: list[PolicyRun], width: int) -> str:
    """A bar's name: the policy, or "N tied:" and the group's policies, lines of at most
    `width` characters."""
    if len(group) == 1:
        return group[0].policy
    names = textwrap.wrap(", ".join(r.policy for r in group), width)
    return "\n".join([f"{len(group)} tied:"] + names[:6] + ["..."] * (len(names) > 6))
