"""The loader's eviction plan against the loader that chose its victims at run time.

    python benchmarks/loader.py [scenarios/default.toml ...]

For every scenario (all of scenarios/*.toml by default), lpt and greedy, and input queue
depth 1, 2 and 4, one run with the eviction plan (accelsim.engine.hw.eviction) and one with
the loader of 9f5eecd, which evicted, when a load needed room, the unpinned block used
furthest ahead. The old loader is BlockBuffer without a plan (the path work stealing takes),
put in place of BlockBuffer for its runs only; both run on SimPy, the only engine the old
loader has. Prints cycles and refetched bytes side by side.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from pathlib import Path

import attrs

import accelsim
import accelsim.engine.assemble as assemble
from accelsim.engine.assemble import simulate
from accelsim.engine.hw.buffer import BlockBuffer
from accelsim.policies import load_policy
from accelsim.trace import Cause
from accelsim.workload.jobs import build_jobs

ROOT = Path(__file__).resolve().parent.parent


class EvictAtIssue(BlockBuffer):
    """The loader before the eviction plan: victims chosen when a load needs room."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._victims = None


@contextlib.contextmanager
def old_loader():
    assemble.BlockBuffer = EvictAtIssue
    try:
        yield
    finally:
        assemble.BlockBuffer = BlockBuffer


def run(jobs, hw, policy):
    result = simulate(jobs, hw, load_policy(policy), engine="simpy")
    tr = result.transfers
    return result.makespan, int(tr["bytes"][tr["cause"] == Cause.REFETCH].sum())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", type=Path)
    args = parser.parse_args(argv)
    paths = args.scenarios or sorted((ROOT / "scenarios").glob("*.toml"))
    print(
        f"{'scenario':24} {'policy':7} {'depth':>5} {'old cycles':>12} {'new cycles':>12} "
        f"{'new/old':>8} {'old refetch B':>14} {'new refetch B':>14} {'s':>5}",
        flush=True,
    )
    for path in paths:
        scenario = accelsim.load_scenario(path)
        pruned = scenario.pruned()
        for policy in ("lpt", "greedy"):
            for depth in (1, 2, 4):
                hw = attrs.evolve(scenario.hardware, input_queue_depth=depth)
                jobs = build_jobs(pruned, scenario.mapping, hw)
                t = time.perf_counter()
                with old_loader():
                    old = run(jobs, hw, policy)
                new = run(jobs, hw, policy)
                print(
                    f"{path.stem:24} {policy:7} {depth:5} {old[0]:12,} {new[0]:12,} "
                    f"{new[0] / old[0]:8.4f} {old[1]:14,} {new[1]:14,} "
                    f"{time.perf_counter() - t:5.0f}",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
