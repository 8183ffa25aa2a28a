"""Planning against the hardware: hardware-aware runs and compare, at an earlier commit and
today, side by side in one run, against the goals of issue #23; and the closed form's
job-scores per CPU second, which hardware-aware's `seconds` budget counts in.

    python benchmarks/planning_speed.py [--commit c0d10c6] [--networks] [--scenarios [NAME ...]]

Each command runs as a user starts it, in a fresh process for each tree (PYTHONPATH at the
tree, a private cache), and is timed in CPU seconds (user + system, all threads: `exact`'s
CP-SAT workers count). For `run`, the total cycles of both trees are printed, and today's
must be no more than the earlier commit's. --networks adds `accelsim compare --networks`
(minutes); --scenarios adds `accelsim run --policy hardware-aware` on the shipped scenarios
named (all of scenarios/*.toml when none is named; mobilenet_v1 takes minutes in the older
trees). The load average is printed before and after: CPU seconds grow on busy cores too.
Goals (#23): the default scenario under 5 s, any shipped scenario under 15 s, `compare` of
the default scenario under 20 s, `compare --networks` under 30 s.
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
GOALS = {"run default": 5.0, "run": 15.0, "compare": 20.0, "compare --networks": 30.0}


def timed(tree: Path, argv: list[str], tmp: Path) -> float:
    """CPU seconds of `accelsim ARGV` run from `tmp` with `tree` first on the path."""
    env = {**os.environ, "PYTHONPATH": str(tree), "ACCELSIM_CACHE_DIR": str(tmp / "cache")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(
        [sys.executable, "-c", CLI, *argv], cwd=tmp, env=env, check=True, capture_output=True
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def total_cycles(path: Path) -> int:
    return json.loads(path.read_text())["total"]["cycles"]


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
    parser.add_argument("--commit", default="c0d10c6")
    parser.add_argument("--networks", action="store_true")
    parser.add_argument("--scenarios", nargs="*", metavar="NAME")
    args = parser.parse_args()
    default = str(ROOT / "scenarios" / "default.toml")
    cases = [
        (
            "run default --policy hardware-aware",
            "run default",
            ["run", default, "--policy", "hardware-aware", "--no-plots", "--no-baselines"],
        ),
        ("compare default (every policy)", "compare", ["compare", default]),
    ]
    if args.networks:
        cases.append(("compare --networks", "compare --networks", ["compare", "--networks"]))
    if args.scenarios is not None:
        names = args.scenarios or sorted(p.stem for p in (ROOT / "scenarios").glob("*.toml"))
        for name in names:
            path = str(ROOT / "scenarios" / f"{name}.toml")
            argv = ["run", path, "--policy", "hardware-aware", "--no-plots", "--no-baselines"]
            cases.append((f"run {name} --policy hardware-aware", "run", argv))
    print(f"load average (1, 5, 15 min) before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        old = tmp / "old"
        archive = subprocess.run(
            ["git", "archive", args.commit], cwd=ROOT, check=True, capture_output=True
        ).stdout
        with tarfile.open(fileobj=BytesIO(archive)) as tar:
            tar.extractall(old, filter="data")
        print(
            f"CPU seconds of the whole process (`run` with --no-plots --no-baselines): at "
            f"{args.commit} and today; goal: today under it"
        )
        print(
            f"{'command':<52}{args.commit:>9}{'today':>8}{'speed-up':>9}{'goal':>6}"
            f"{'cycles then':>14}{'today':>14}"
        )
        for case, (label, goal, argv) in enumerate(cases):
            seconds, cycles = [], []
            for name, tree in (("old", old), ("new", ROOT)):
                out = tmp / f"{name}-{case}"
                seconds.append(timed(tree, [*argv, "-q", "--out", str(out)], tmp))
                if argv[0] == "run":
                    cycles.append(total_cycles(out / "summary.json"))
            if cycles:
                assert cycles[1] <= cycles[0], (label, cycles)
            met = "met" if seconds[1] < GOALS[goal] else "MISS"
            print(
                f"{label:<52}{seconds[0]:>9.2f}{seconds[1]:>8.2f}"
                f"{seconds[0] / seconds[1]:>8.2f}x{GOALS[goal]:>4.0f} {met:<4}"
                + (f"{cycles[0]:>14,}{cycles[1]:>14,}" if cycles else ""),
                flush=True,
            )
    print("run: today's cycles no more than the earlier commit's on every scenario run")
    print(f"load average after: {os.getloadavg()}")
    fit, streamed = job_scores_per_second()
    print(
        f"closed-form plan scores today: {fit / 1e6:.2f} M job-scores per CPU second on layers "
        f"whose blocks fit, {streamed / 1e6:.2f} M on streamed layers "
        f"(hardware-aware's seconds budget counts 1 M a second)"
    )


if __name__ == "__main__":
    main()
