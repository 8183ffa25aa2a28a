"""Command line: `accelsim run SCENARIO.toml [--out DIR] [--policy NAME] [--seed N]`.

An AccelsimError is printed as one line and exits 2; any other error keeps its traceback.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from accelsim.errors import AccelsimError


class _Progress:
    """One status line on stderr, rewritten in place on a terminal, per simulated layer."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self.t0 = time.perf_counter()

    def __call__(self, phase: str, i: int, n: int, name: str) -> None:
        if self.quiet:
            return
        text = f"[{time.perf_counter() - self.t0:6.1f} s] {phase}: layer {i + 1}/{n} {name}"
        if self.tty:
            sys.stderr.write("\r" + text[:100].ljust(100))
            sys.stderr.flush()
        elif i == 0:
            sys.stderr.write(f"{phase}: simulating {n} layers\n")

    def done(self) -> None:
        if self.tty and not self.quiet:
            sys.stderr.write("\r" + " " * 100 + "\r")


def _run(args) -> int:
    from accelsim.pipeline import run_scenario, write_outputs
    from accelsim.scenario import load_scenario

    scenario = load_scenario(args.scenario)
    progress = _Progress(args.quiet)
    outcome = run_scenario(scenario, policy=args.policy, seed=args.seed,
                           baselines=False if args.no_baselines else None, progress=progress)
    progress.done()
    out = Path(args.out) if args.out else Path("results") / scenario.name
    files = write_outputs(outcome, out, plots=not args.no_plots)
    print(f"accelsim: {scenario.name} ({scenario.network.name}, "
          f"{outcome.pruned.description}) on {scenario.hardware.n_pes} PEs, "
          f"policy {outcome.report.policy}")
    print(outcome.report.table())
    print(f"\nwrote {', '.join(f.name for f in files)} to {out}/")
    return 0


def _policies(args) -> int:
    from accelsim.policies import available
    for name, ep in available().items():
        print(f"{name:<16} {ep.value}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="accelsim", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="simulate a scenario and write its result directory")
    run.add_argument("scenario", help="scenario TOML file")
    run.add_argument("--out", help="result directory (default: results/<scenario name>)")
    run.add_argument("--policy", help="override the scenario's policy")
    run.add_argument("--seed", type=int, help="override the scenario's seed")
    run.add_argument("--no-baselines", action="store_true",
                     help="skip the dense and round-robin runs (no speedup columns)")
    run.add_argument("--no-plots", action="store_true", help="write no PNG files")
    run.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    run.set_defaults(func=_run)
    pol = sub.add_parser("policies", help="list the policies that can be named")
    pol.set_defaults(func=_policies)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except AccelsimError as exc:
        print(f"accelsim: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
