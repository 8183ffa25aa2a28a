"""The mapper's time per layer and per network (ResNet-18, the default scenario), the same
network on a sweep's next point with and without the evaluations kept from this one, and the
auto mapping's cycles against the scenario's fixed mapping. Goal (issue 26): a whole
ResNet-18 mapped in under 2 s of CPU.

    python benchmarks/mapper.py [scenario.toml]
"""

import sys
import time

import attrs

from accelsim.engine.mapper import Evaluations, map_layer
from accelsim.pipeline import run_scenario
from accelsim.policies import load_policy
from accelsim.scenario import load_scenario


def _network(pruned, auto, hw, sc, cache=None, quiet=True):
    """Map every layer on `hw`; returns (CPU seconds, candidates simulated, candidates)."""
    cpu0 = time.process_time()
    simulated = total = 0
    for p in pruned.layers:
        # a new policy object per call, as every point of a sweep loads its own
        policy = load_policy(sc.policy, sc.policy_options)
        c = map_layer(p, auto, hw, policy, sc.engine, sc.energy, cache)
        simulated, total = simulated + c.evaluated, total + c.candidates
        if not quiet:
            print(
                f"{p.layer.name:<24}{c.seconds * 1e3:>8.0f} ms  {c.evaluated:>3}/{c.candidates}"
                f" simulated  {c.mapping.tile_h}x{c.mapping.tile_w} f{c.mapping.filters_per_job}"
                f" s{c.mapping.channel_splits}"
            )
    return time.process_time() - cpu0, simulated, total


def main(path: str = "scenarios/default.toml") -> None:
    sc = load_scenario(path)
    pruned = sc.pruned()
    auto = attrs.evolve(
        sc.mapping, mode="auto", tile_h=0, tile_w=0, filters_per_job=1, channel_splits=1
    )
    hw = sc.hardware
    t0 = time.perf_counter()
    cache = Evaluations()
    # the kernels are drawn inside (the first mapping of a network pays for them)
    cpu, simulated, total = _network(pruned, auto, hw, sc, cache, quiet=False)
    print(
        f"network: {time.perf_counter() - t0:.1f} s wall, {cpu:.2f} s CPU (goal: under 2 s); "
        f"{simulated} of {total} candidates simulated"
    )
    # a buffer sweep's next point: half the input buffer, the kernels already drawn
    other = attrs.evolve(hw, input_buffer_bytes=hw.input_buffer_bytes // 2)
    alone, _, _ = _network(pruned, auto, other, sc)
    kept, _, _ = _network(pruned, auto, other, sc, cache)
    print(
        f"next sweep point (input buffer {int(other.input_buffer_bytes) // 1024} KiB): "
        f"{alone:.2f} s CPU alone, {kept:.2f} s with the first point's evaluations kept"
    )
    if sc.mapping.mode == "fixed":
        fixed = run_scenario(sc, baselines=False).report.total.cycles
        mapped = run_scenario(
            attrs.evolve(sc, mapping=auto), baselines=False, pruned=pruned
        ).report.total.cycles
        print(f"cycles: fixed mapping {fixed:,}, auto {mapped:,} ({mapped / fixed - 1:+.1%})")


if __name__ == "__main__":
    main(*sys.argv[1:])
