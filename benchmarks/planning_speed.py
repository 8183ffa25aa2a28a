"""Planning against the hardware: hardware-aware runs and compare, at a commit before the
planning speed-ups and today, side by side in one run; and the closed form's job-scores per
CPU second, which hardware-aware's `seconds` budget counts in.

    python benchmarks/planning_speed.py [--commit 0ffccc2] [--networks] [--scenarios [NAME ...]]

Each command runs as a user starts it, in a fresh process for each tree (PYTHONPATH at the
tree, a private cache), and is timed in CPU seconds (user + system, all threads: `exact`'s
CP-SAT workers count). Its summary.json must be the same in both trees apart from times
(asserted for `run`). --networks adds `accelsim compare --networks` (several minutes);
--scenarios adds `accelsim run --policy hardware-aware` on the shipped scenarios named (all
of scenarios/*.toml when none is named; mobilenet_v1, mapped automatically for 64 PEs,
takes many minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI = "import sys; from accelsim.cli import main; sys.exit(main(sys.argv[1:]))"
TIMES = ("seconds", "wall", "plan_s")  # fields that hold times, left out of the comparison


def timed(tree: Path, argv: list[str], tmp: Path) -> float:
    """CPU seconds of `accelsim ARGV` run from `tmp` with `tree` first on the path."""
    env = {**os.environ, "PYTHONPATH": str(tree), "ACCELSIM_CACHE_DIR": str(tmp / "cache")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(
        [sys.executable, "-c", CLI, *argv], cwd=tmp, env=env, check=True, capture_output=True
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def without_times(path: Path):
    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if not any(t in k for t in TIMES)}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return strip(json.loads(path.read_text()))


def job_scores_per_second() -> tuple[float, float]:
    """Job-scores per CPU second of PlanEvaluator on the default scenario's layers, on
    layers whose blocks fit their buffers and on streamed ones (100 LPT-like plans each)."""
    import numpy as np

    import accelsim
    from accelsim.engine import closed_form
    from accelsim.engine.assemble import layer_problem
    from accelsim.policies.problem import Plan, by_size

    scenario = accelsim.load_scenario(ROOT / "scenarios" / "default.toml")
    hw = scenario.hardware
    rates = {True: [0, 0.0], False: [0, 0.0]}
    rng = np.random.default_rng(0)
    for layer in accelsim.build_jobs(scenario.pruned(), scenario.mapping, hw):
        problem = layer_problem(layer, hw)
        _, loads = problem.unit_loads()
        fits = closed_form.blocks_fit(layer, hw)
        plans = [
            Plan.from_unit_assignment(
                problem, rng.integers(0, hw.n_pes, len(loads)), by_size(loads)
            )
            for _ in range(100)
        ]
        t0 = time.process_time()
        for plan in plans:
            problem.evaluate(plan)
        rates[fits][0] += layer.n_jobs * len(plans)
        rates[fits][1] += time.process_time() - t0
    return rates[True][0] / rates[True][1], rates[False][0] / rates[False][1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commit", default="0ffccc2")
    parser.add_argument("--networks", action="store_true")
    parser.add_argument("--scenarios", nargs="*", metavar="NAME")
    args = parser.parse_args()
    default = str(ROOT / "scenarios" / "default.toml")
    cases = [
        (
            "run default.toml --policy hardware-aware (whole process)",
            ["run", default, "--policy", "hardware-aware", "--no-plots", "--no-baselines"],
        ),
        ("compare default.toml (every policy)", ["compare", default]),
    ]
    if args.networks:
        cases.append(("compare --networks", ["compare", "--networks"]))
    if args.scenarios is not None:
        names = args.scenarios or sorted(p.stem for p in (ROOT / "scenarios").glob("*.toml"))
        for name in names:
            path = str(ROOT / "scenarios" / f"{name}.toml")
            argv = ["run", path, "--policy", "hardware-aware", "--no-plots", "--no-baselines"]
            cases.append((f"run {name}.toml --policy hardware-aware", argv))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        old = tmp / "old"
        archive = subprocess.run(
            ["git", "archive", args.commit], cwd=ROOT, check=True, capture_output=True
        ).stdout
        with tarfile.open(fileobj=BytesIO(archive)) as tar:
            tar.extractall(old, filter="data")
        print(f"CPU seconds, whole process: at {args.commit} and today")
        print(f"{'command':<58}{args.commit:>10}{'today':>10}{'speed-up':>10}")
        for case, (label, argv) in enumerate(cases):
            seconds = []
            for name, tree in (("old", old), ("new", ROOT)):
                out = tmp / f"{name}-{case}"
                seconds.append(timed(tree, [*argv, "-q", "--out", str(out)], tmp))
                if argv[0] == "run":
                    (tmp / f"{name}.json").write_text(
                        json.dumps(without_times(out / "summary.json"))
                    )
            if argv[0] == "run":
                assert (tmp / "old.json").read_text() == (tmp / "new.json").read_text(), label
            print(
                f"{label:<58}{seconds[0]:>10.2f}{seconds[1]:>10.2f}"
                f"{seconds[0] / seconds[1]:>9.2f}x",
                flush=True,
            )
    print("run: the same summary.json in both trees (times left out)")
    fit, streamed = job_scores_per_second()
    print(
        f"closed-form plan scores today: {fit / 1e6:.2f} M job-scores per CPU second on layers "
        f"whose blocks fit, {streamed / 1e6:.2f} M on streamed layers "
        f"(hardware-aware's seconds budget counts 1 M a second)"
    )


if __name__ == "__main__":
    main()
