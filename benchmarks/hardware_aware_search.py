"""Where hardware-aware's planning time goes, layer by layer, on shipped scenarios: how its
candidate plans were scored, the CPU of each kind, and how late its search still found a
faster plan.

    python benchmarks/hardware_aware_search.py [NAME ...] [--layers 6]

Each scenario is planned as `accelsim run NAME --policy hardware-aware` plans it (the
policy's defaults; a scenario without tiling numbers is mapped first, with the policy's
mapping stand-in, and the mapper's CPU is printed apart). Every candidate the policy scores
goes through `Problem.evaluate`; here that evaluator is wrapped to time each call in CPU
seconds and to say what answered it: a lower bound or a plan scored before ("bound"), the
closed form, or SimPy (a call counts as SimPy when it ran SimPy at all, the closed form
having said no first included). The layers costing the most are listed with the index of
the last evaluation that found a faster plan and the CPU spent after it: the work a budget
could save on that layer without changing its plan. Times are CPU seconds; run it with
`nice` on busy cores, as the load average printed beside them also grows them.

With no NAME, the scenarios that took over 10 s with hardware-aware at the last
measurement (docs/engines.md).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import attrs

import accelsim
from accelsim.engine.assemble import layer_problem
from accelsim.engine.mapper import map_network
from accelsim.policies import load_policy, mapping_policy, plan_layer

ROOT = Path(__file__).resolve().parent.parent
SLOW = (
    "real_waifu2x_upconv7",
    "real_ppocrv5_rec",
    "real_ddddocr_det",
    "real_ddddocr_ocr",
    "vgg16_dense",
    "vgg16_pruned",
)
KINDS = ("bound", "closed form", "SimPy")


class Recorder:
    """An Evaluator that times each call of the one it wraps and says what answered it."""

    def __init__(self, evaluate):
        self._evaluate = evaluate
        self.calls: list[tuple[str, float, bool]] = []  # kind, CPU seconds, faster than all
        self._best: int | None = None

    @property
    def simpy_runs(self) -> int:  # the policy sizes its budget by it
        return self._evaluate.simpy_runs

    def __call__(self, plan, cutoff=None) -> int:
        simpy, closed = self._evaluate.simpy_runs, self._evaluate.closed_form_runs
        t0 = time.process_time()
        cycles = self._evaluate(plan, cutoff)
        seconds = time.process_time() - t0
        kind = (
            "SimPy"
            if self._evaluate.simpy_runs != simpy
            else "closed form"
            if self._evaluate.closed_form_runs != closed
            else "bound"
        )
        faster = self._best is None or cycles < self._best
        if faster:
            self._best = cycles
        self.calls.append((kind, seconds, faster))
        return cycles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME")
    parser.add_argument("--layers", type=int, default=6, help="costliest layers listed")
    args = parser.parse_args()
    for name in args.names or SLOW:
        scenario = accelsim.load_scenario(ROOT / "scenarios" / f"{name}.toml")
        hw = scenario.hardware
        policy = load_policy("hardware-aware")
        pruned = scenario.pruned()
        mapping = scenario.mapping
        t0 = time.process_time()
        if mapping.mode == "auto":
            mapping = map_network(
                pruned, mapping, hw, mapping_policy(policy), scenario.engine, scenario.energy
            ).mappings
        mapper_seconds = time.process_time() - t0
        rows = []
        for layer in accelsim.build_jobs(pruned, mapping, hw):
            problem = layer_problem(layer, hw)
            recorder = Recorder(problem.evaluate)
            t0 = time.process_time()
            plan = plan_layer(policy, attrs.evolve(problem, evaluate=recorder))
            rows.append((layer, time.process_time() - t0, recorder.calls, plan))
        total = sum(r[1] for r in rows)
        # per layer, the CPU after its last faster plan: what hindsight would have saved
        after = sum(sum(c[1] for c in r[2][_last_faster(r[2]) + 1 :]) for r in rows)
        by_kind = {k: sum(s for r in rows for kind, s, _ in r[2] if kind == k) for k in KINDS}
        print(
            f"\n{name}: hardware-aware planning {total:.1f} s CPU"
            + (f", mapper {mapper_seconds:.1f} s" if mapper_seconds > 0.05 else "")
            + " (scoring candidates: "
            + ", ".join(f"{k} {by_kind[k]:.1f} s" for k in KINDS)
            + f"; the rest, {total - sum(by_kind.values()):.1f} s, the policy's own code); "
            f"{after:.1f} s after each layer's last faster plan; "
            f"load average {os.getloadavg()[0]:.1f}"
        )
        head = (
            f"  {'layer':<22}{'jobs':>7}{'CPU s':>7}{'evals':>6}"
            + "".join(f"{k:>13}" for k in KINDS)
            + f"{'last faster':>12}{'CPU after':>10}"
        )
        print(head + "\n  " + "-" * (len(head) - 2))
        for layer, seconds, calls, _ in sorted(rows, key=lambda r: -r[1])[: args.layers]:
            counts = {
                k: (sum(1 for c in calls if c[0] == k), sum(c[1] for c in calls if c[0] == k))
                for k in KINDS
            }
            last = _last_faster(calls)
            after = sum(c[1] for c in calls[last + 1 :])
            print(
                f"  {layer.layer.name[:21]:<22}{layer.n_jobs:>7,}{seconds:>7.2f}{len(calls):>6}"
                + "".join(f"{n:>5} {s:>6.2f}s" for n, s in counts.values())
                + f"{last:>12}{after:>9.2f}s",
                flush=True,
            )
    print(
        "\nevals: candidate plans scored (starting plans included); each kind: how many and "
        "their CPU; last faster: the index of the last evaluation that found a faster plan; "
        "CPU after: what the layer spent after it"
    )


def _last_faster(calls) -> int:
    """The index of the last call that found a faster plan (the first always does)."""
    return max(i for i, c in enumerate(calls) if c[2])


if __name__ == "__main__":
    main()
