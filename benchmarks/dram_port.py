"""The DRAM port's arbitration: loads first (accelsim's port) against one first-come queue.

    python benchmarks/dram_port.py [scenarios/default.toml ...]

For every scenario (all of scenarios/*.toml by default), the policy's jobs at the scenario's
mapping (the mapper's choice where the mapping is automatic), simulated on SimPy twice: with
accelsim's port (loads first, write-backs in the idle cycles, write drain while a PE waits
for output space) and with the port it replaced, on which write-backs queue with the loads
first come, first served. Prints total cycles side by side, and prefetch against no prefetch
on each port.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import attrs

import accelsim
from accelsim.engine.assemble import simulate
from accelsim.engine.hw.dram import DramPort
from accelsim.engine.mapper import map_network
from accelsim.policies import load_policy
from accelsim.trace import Cause, Operand
from accelsim.workload.jobs import build_jobs

ROOT = Path(__file__).resolve().parent.parent


class FirstComePort(DramPort):
    """The port before loads first: a write-back is a transfer like a load, in issue order."""

    def write_back(self, callback, nbytes):
        self.transfer(Operand.OUTPUTS, nbytes, Cause.COMPULSORY).callbacks.append(
            lambda _event: callback()
        )

    def drain(self):
        """Nothing to drain: write-backs already queue with the loads."""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", type=Path)
    args = parser.parse_args(argv)
    paths = args.scenarios or sorted((ROOT / "scenarios").glob("*.toml"))
    print(
        f"{'scenario':24} {'prefetch':>8} {'first-come':>12} {'loads first':>12} "
        f"{'change':>8} {'s':>5}",
        flush=True,
    )
    for path in paths:
        scenario = accelsim.load_scenario(path)
        pruned = scenario.pruned()
        policy = load_policy(scenario.policy, scenario.policy_options)
        mapping = scenario.mapping
        if mapping.mode == "auto":
            mapping = map_network(
                pruned, mapping, scenario.hardware, policy, "auto", scenario.energy
            ).mappings
        jobs = build_jobs(pruned, mapping, scenario.hardware)
        for prefetch in (True, False):
            hw = attrs.evolve(scenario.hardware, double_buffered=prefetch)
            t = time.perf_counter()
            cycles = [
                simulate(jobs, hw, policy, dram_port=port, engine="simpy").makespan
                for port in (FirstComePort, DramPort)
            ]
            print(
                f"{path.stem:24} {'yes' if prefetch else 'no':>8} {cycles[0]:12,} "
                f"{cycles[1]:12,} {cycles[1] / cycles[0] - 1:+8.2%} "
                f"{time.perf_counter() - t:5.0f}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
