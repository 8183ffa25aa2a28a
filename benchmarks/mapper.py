"""The mapper's time per layer and per network (ResNet-18, the default scenario), and the
auto mapping's cycles against the scenario's fixed mapping. Goal (issue 26): a whole
ResNet-18 mapped in under 2 s of CPU.

    python benchmarks/mapper.py [scenario.toml]
"""

import sys
import time

import attrs

from accelsim.engine.mapper import map_layer
from accelsim.pipeline import run_scenario
from accelsim.policies import load_policy
from accelsim.scenario import load_scenario


def main(path: str = "scenarios/default.toml") -> None:
    sc = load_scenario(path)
    pruned = sc.pruned()
    policy = load_policy(sc.policy, sc.policy_options)
    auto = attrs.evolve(
        sc.mapping, mode="auto", tile_h=0, tile_w=0, filters_per_job=1, channel_splits=1
    )
    t0, cpu0 = time.perf_counter(), time.process_time()
    simulated = total = 0
    for p in pruned.layers:
        c = map_layer(p, auto, sc.hardware, policy, sc.engine, sc.energy)
        simulated, total = simulated + c.evaluated, total + c.candidates
        print(
            f"{p.layer.name:<24}{c.seconds * 1e3:>8.0f} ms  {c.evaluated:>3}/{c.candidates}"
            f" simulated  {c.mapping.tile_h}x{c.mapping.tile_w} f{c.mapping.filters_per_job}"
            f" s{c.mapping.channel_splits}"
        )
    print(
        f"network: {time.perf_counter() - t0:.1f} s wall, {time.process_time() - cpu0:.1f} s "
        f"CPU (goal: under 2 s); {simulated} of {total} candidates simulated"
    )
    if sc.mapping.mode == "fixed":
        fixed = run_scenario(sc, baselines=False).report.total.cycles
        mapped = run_scenario(
            attrs.evolve(sc, mapping=auto), baselines=False, pruned=pruned
        ).report.total.cycles
        print(f"cycles: fixed mapping {fixed:,}, auto {mapped:,} ({mapped / fixed - 1:+.1%})")


if __name__ == "__main__":
    main(*sys.argv[1:])
