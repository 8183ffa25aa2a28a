"""Simulation speed of the SimPy model on ResNet-50: CPU time and peak memory per job, events
per job, and the default scenario's wall time.

    python benchmarks/sim_speed.py                 # figures for this machine
    python benchmarks/sim_speed.py --compare       # also run a simpy.Resource DRAM port
    python benchmarks/sim_speed.py --engine auto   # the closed form wherever it is exact

Granularities: one job per filter over the whole output map, and per filter per 14x14 tile.
us/job is CPU time (best of --repeat runs of simulate(), planning included); B/job is the
tracemalloc peak of one more run, which tracemalloc slows down. --compare checks that the
closed-form port and a PreemptiveResource(capacity=1) port (loads pre-empting write-backs)
give the same makespan, and prints how much the closed form saves.
"""

from __future__ import annotations

import argparse
import gc
import math
import time
import tracemalloc
from pathlib import Path

import attrs
import simpy

import accelsim
from accelsim.engine.assemble import ENGINES
from accelsim.engine.hw.dram import DramPort, split_bytes
from accelsim.trace import Cause, Operand
from accelsim.units import transfer_cycles

ROOT = Path(__file__).resolve().parent.parent


class ResourceDramPort(DramPort):
    """The textbook port: each transfer is a process that waits its latency, then holds a
    PreemptiveResource(capacity=1) for its data cycles; loads pre-empt write-backs, which
    resume ahead of later ones. Same timing, several events more a transfer."""

    def __init__(self, env, bytes_per_cycle, latency_cycles, log):
        super().__init__(env, bytes_per_cycle, latency_cycles, log)
        self._port = simpy.PreemptiveResource(env, capacity=1)
        self._writes = 0

    def transfer(self, operand, nbytes, cause, extra_bytes=0, extra_cause=Cause.HALO):
        return self.env.process(
            self._load(((nbytes, cause), (extra_bytes, extra_cause)), operand, self.layer)
        )

    def write_back(self, callback, nbytes):
        self._writes += 1
        self.env.process(self._write(self._writes, nbytes, self.layer)).callbacks.append(
            lambda _event: callback()
        )

    def drain(self):
        raise NotImplementedError("this benchmark's runs never wait for output space")

    def _load(self, parts, operand, layer):
        if self._latency:
            yield self.env.timeout(self._latency)
        with self._port.request(priority=0, preempt=True) as req:
            yield req
            for nbytes, cause in parts:
                t0 = self.env.now
                cycles = transfer_cycles(nbytes, self._rate)
                if cycles:
                    yield self.env.timeout(cycles)
                if nbytes:
                    self._log.record(t0, self.env.now, nbytes, operand, cause, layer)

    def _write(self, number, nbytes, layer):
        if self._latency:
            yield self.env.timeout(self._latency)
        cycles = left = transfer_cycles(nbytes, self._rate)
        pieces = []
        while left:
            with self._port.request(priority=number, preempt=False) as req:
                start = None
                try:
                    yield req
                    start = self.env.now
                    yield self.env.timeout(left)
                    left = 0
                except simpy.Interrupt:  # a load took the port
                    if start is not None:
                        left -= self.env.now - start
                if start is not None and self.env.now > start:
                    pieces.append((start, self.env.now))
        for start, end, part in split_bytes(pieces, nbytes, cycles, self.env.now):
            self._log.record(start, end, part, Operand.OUTPUTS, Cause.COMPULSORY, layer)


def bench(label, jobs, hw, policy, engine, port=DramPort, repeat=2):
    best = math.inf
    for _ in range(repeat):
        t0 = time.process_time()
        result = accelsim.simulate(jobs, hw, policy, dram_port=port, engine=engine)
        best = min(best, time.process_time() - t0)
    del result
    gc.collect()
    tracemalloc.start()
    result = accelsim.simulate(jobs, hw, policy, dram_port=port, engine=engine)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    n_jobs = sum(len(l.jobs) for l in jobs)
    print(
        f"{label:<48} {n_jobs:>7,} jobs {result.events / n_jobs:>5.2f} events/job "
        f"{best:>6.2f} s {best / n_jobs * 1e6:>6.2f} us/job {peak / n_jobs:>6,.0f} B/job"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--compare",
        action="store_true",
        help="also time a simpy.Resource DRAM port and check equal results",
    )
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default="simpy",
        help="simulate(engine=...) (default: simpy, the model measured here)",
    )
    parser.add_argument("--repeat", type=int, default=2, help="timed runs; the best counts")
    args = parser.parse_args()

    network = accelsim.load_network("resnet50")
    pruned = accelsim.prune_with_profile(
        network, accelsim.load_profile("distiller-resnet50-agp80"), 1
    )
    hw = accelsim.Hardware(
        pe_rows=4,
        pe_cols=4,
        input_buffer_bytes=2**21,
        weight_buffer_bytes=2**19,
        output_buffer_bytes=2**20,
    )
    policy = accelsim.load_policy("lpt")
    print(f"ResNet-50, Distiller AGP 80 %, {hw.n_pes} PEs, LPT, engine {args.engine}")
    for label, mapping in (
        ("job = filter x whole map", accelsim.Mapping()),
        ("job = filter x 14x14 tile", accelsim.Mapping(14, 14)),
    ):
        jobs = accelsim.build_jobs(pruned, mapping, hw)
        fast = bench(label, jobs, hw, policy, args.engine, repeat=args.repeat)
        if args.compare:
            slow = bench(
                label + " (Resource DRAM port)",
                jobs,
                hw,
                policy,
                "simpy",
                ResourceDramPort,
                args.repeat,
            )
            same = slow.makespan == fast.makespan
            print(
                f"{'':<48} makespan {fast.makespan:,} vs {slow.makespan:,}: "
                f"{'identical' if same else 'DIFFERENT'}"
            )
    big = attrs.evolve(hw, pe_rows=8, pe_cols=21)
    bench(
        "job = filter x whole map, 168 PEs",
        accelsim.build_jobs(pruned, accelsim.Mapping(), big),
        big,
        policy,
        args.engine,
        repeat=args.repeat,
    )

    t0 = time.perf_counter()
    scenario = accelsim.load_scenario(ROOT / "scenarios" / "default.toml")
    outcome = accelsim.run_scenario(scenario)
    t_sim = time.perf_counter() - t0
    print(
        f"default scenario (3 simulations: policy, dense, round-robin): {t_sim:.2f} s "
        f"without plots; {outcome.report.total.cycles:,} cycles"
    )


if __name__ == "__main__":
    main()
