"""Every policy on one scenario: cycles, makespan over the best bound, utilization and
planning time, per layer and in total, and a bar chart of makespan / bound per policy."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import numpy as np
from attrs import frozen

from accelsim import jsonio
from accelsim.engine.assemble import SimResult, simulate
from accelsim.engine.gap import PARTS, Gap, result_gap
from accelsim.errors import ConfigError
from accelsim.policies import Policy, available, load_policy, missing_extra
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
    jobs = build_jobs(pruned, scenario.mapping, scenario.hardware)
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
        result = simulate(jobs, scenario.hardware, policy, step, engine=engine or scenario.engine)
        runs.append(PolicyRun(policy.name, result, time.perf_counter() - t0))
    return runs


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


def table(runs: list[PolicyRun]) -> str:
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
        f"{'util':>8}{'plan ms':>10}{'x RR':>7}",
        "-" * 87,
    ]
    for r in sorted(runs, key=lambda r: r.result.makespan):
        gain = f"{rr.result.makespan / r.result.makespan:.3f}" if rr else "-"
        planned = "-" if r.planned is None else f"{r.planned / max(total_bound, 1):.4f}"
        lines.append(
            f"{r.policy:<20}{r.result.makespan:>14,}"
            f"{r.result.makespan / max(total_bound, 1):>9.4f}"
            f"{r.result.makespan / max(hw_bound, 1):>8.4f}{planned:>11}"
            f"{r.utilization():>8.1%}{r.plan_seconds * 1e3:>10.1f}{gain:>7}"
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
    names = [l.name for l in runs[0].result.layers]
    runs = sorted(runs, key=lambda r: r.result.makespan)  # columns in the summary's order
    width = max(8, max(len(r.policy) for r in runs) + 1)
    per_block = max(1, (100 - 37) // width)  # policy columns per block: under 100 wide
    lines += [
        "",
        "makespan / best compute bound per layer (binds: what bounds the layer on this hardware):",
    ]
    for first in range(0, len(runs), per_block):
        block = runs[first : first + per_block]
        lines += [
            "" if first else None,
            f"{'layer':<24}{'binds':>13}"
            + "".join(f"{r.policy[: width - 1]:>{width}}" for r in block),
        ]
        memory = memory_bounds(runs)
        for i, name in enumerate(names):
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
    lines = [l for l in lines if l is not None]
    lines = [l if len(l) <= 100 else textwrap.fill(l, 100, subsequent_indent="  ") for l in lines]
    return "\n".join(lines)


def to_json(runs: list[PolicyRun]) -> str:
    bound = best_bounds(runs)
    return jsonio.dumps(
        {
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
            ]
        },
        indent=2,
    )


def save_chart(runs: list[PolicyRun], path: Path, title: str) -> None:
    """Per policy, fastest first: simulated cycles over the best compute bound as a bar rising
    from the bound (1.0), and the plan's own compute makespan over it as a black tick (the
    scheduling alone; the bar above the tick is the hardware's stalls)."""
    from accelsim.outputs.figures import plt  # with the Agg backend selected

    total = max(int(best_bounds(runs).sum()), 1)
    runs = sorted(runs, key=lambda r: r.result.makespan)
    ratios = np.array([r.result.makespan / total for r in runs])
    x = np.arange(len(runs))
    fig, ax = plt.subplots(figsize=(max(6.5, 0.8 * len(runs) + 2.5), 4.5))
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
    planned = [(i, r.planned / total) for i, r in enumerate(runs) if r.planned is not None]
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
    ax.set_xticks(x, [r.policy for r in runs], rotation=30, ha="right")
    ax.set_xlabel("policy (fastest first)")
    ax.set_ylabel("cycles / best compute bound")
    ax.set_ylim(1.0, 1 + (ratios.max() - 1) * 1.15 + 0.01)
    ax.set_title(title)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
