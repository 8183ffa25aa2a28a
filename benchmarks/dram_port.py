"""The DRAM port's arbitration: accelsim's port against the two it replaced.

    python benchmarks/dram_port.py [scenarios/default.toml ...]

For every scenario (all of scenarios/*.toml by default), the policy's jobs at the scenario's
mapping (the mapper's choice where the mapping is automatic), simulated on SimPy three
times: on one first-come queue for loads and write-backs; on loads first with a write drain
that queues behind the loads already issued; and on accelsim's port (loads first,
write-backs in the idle cycles, a write drain ahead of the loads not yet started while a PE
waits for output space). Prints total cycles side by side, with prefetch and without.
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

    def spill(self, callback, nbytes):
        self.transfer(Operand.OUTPUTS, nbytes, Cause.SPILL).callbacks.append(
            lambda _event: callback()
        )


class QueuedDrainPort(DramPort):
    """Loads first, but a drained write-back or spill queues behind every load already
    issued (the port before the drain went ahead of queued loads)."""

    def _ahead_of_loads(self, eligible, cycles):
        now = self.env._now
        start = max(eligible, self._free_at)
        self._free_at = end = start + cycles
        if cycles:
            self._busy(now, start, end)
        return start, end


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", type=Path)
    args = parser.parse_args(argv)
    paths = args.scenarios or sorted((ROOT / "scenarios").glob("*.toml"))
    print(
        f"{'scenario':24} {'prefetch':>8} {'first-come':>12} {'queued drain':>13} "
        f"{'accelsim':>12} {'vs first-come':>14} {'vs queued':>10} {'s':>5}",
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
                for port in (FirstComePort, QueuedDrainPort, DramPort)
            ]
            print(
                f"{path.stem:24} {'yes' if prefetch else 'no':>8} {cycles[0]:12,} "
                f"{cycles[1]:13,} {cycles[2]:12,} {cycles[2] / cycles[0] - 1:+14.2%} "
                f"{cycles[2] / cycles[1] - 1:+10.2%} {time.perf_counter() - t:5.0f}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
