"""The mapper's time per layer and per network (ResNet-18, the default scenario), the same
network on a sweep's next point with and without the evaluations kept from this one, a
point of the buffer sweep with a 16 KiB output buffer (where partial sums overflow and
candidates run on SimPy) with and without the early stop of a losing SimPy run, both with
the output floor of one broadcast the mapper read before (`_single_broadcast_floor`: the
closed form ran to find a tile overflow that the floor over a tile's broadcasts now sees),
and the auto mapping's cycles against the scenario's fixed mapping. Goal (issue 26): a
whole ResNet-18 mapped in under 2 s of CPU. All times are CPU seconds of this process.

    python benchmarks/mapper.py [scenario.toml]
"""

import sys
import time
from contextlib import contextmanager

import attrs
import numpy as np

from accelsim.engine import assemble, closed_form
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
        t0 = time.process_time()
        c = map_layer(p, auto, hw, policy, sc.engine, sc.energy, cache)
        simulated, total = simulated + c.evaluated, total + c.candidates
        if not quiet:
            print(
                f"{p.layer.name:<24}{(time.process_time() - t0) * 1e3:>8.0f} ms CPU"
                f"  {c.evaluated:>3}/{c.candidates} simulated  {c.mapping.tile_h}x"
                f"{c.mapping.tile_w} f{c.mapping.filters_per_job} s{c.mapping.channel_splits}"
            )
    return time.process_time() - cpu0, simulated, total


@contextmanager
def _without_early_stop():
    """The mapper as before the early stop: a losing SimPy run stops only once its clock
    passes the best cycles so far (the checks are not installed)."""
    kept = assemble._stop_when_behind
    assemble._stop_when_behind = lambda *args: None
    try:
        yield
    finally:
        assemble._stop_when_behind = kept


def _one_broadcast_floor(layer, bc, hw) -> int:
    """The output floor before: at depth 1, the distinct tiles of one broadcast's busy
    members, the most over the broadcasts."""
    if hw.input_queue_depth != 1 or not bc.n_groups:
        return 0
    gid = np.repeat(np.arange(bc.n_groups), np.diff(bc.offsets))
    busy = np.asarray(layer.cycles, dtype=np.int64)[bc.job] > 0
    tile = layer.column("output_block")[bc.job]
    n_tiles = max(len(layer.output_bytes), 1)
    pairs = np.unique(gid[busy] * n_tiles + tile[busy])
    held = np.zeros(bc.n_groups, dtype=np.int64)
    np.add.at(
        held, pairs // n_tiles, np.asarray(layer.output_bytes, dtype=np.int64)[pairs % n_tiles]
    )
    return int(held.max(initial=0))


@contextmanager
def _single_broadcast_floor():
    """The mapper with the output floor of one broadcast: more candidates whose tiles
    overflow run the closed form before SimPy."""
    kept = closed_form.output_peak_floor
    closed_form.output_peak_floor = _one_broadcast_floor
    try:
        yield
    finally:
        closed_form.output_peak_floor = kept


def main(path: str = "scenarios/default.toml") -> None:
    sc = load_scenario(path)
    pruned = sc.pruned()
    auto = attrs.evolve(
        sc.mapping, mode="auto", tile_h=0, tile_w=0, filters_per_job=1, channel_splits=1
    )
    hw = sc.hardware
    cpu0 = time.process_time()
    for p in pruned.layers:  # the pruning model's kernels: any run of the network pays them
        p.kernel_nnz()
    print(f"kernels drawn: {time.process_time() - cpu0:.2f} s CPU (not the mapper's)")
    cache = Evaluations()
    cpu, simulated, total = _network(pruned, auto, hw, sc, cache, quiet=False)
    with _single_broadcast_floor():
        before, _, _ = _network(pruned, auto, hw, sc)
    again, _, _ = _network(pruned, auto, hw, sc)
    print(
        f"network: {cpu:.2f} s CPU (goal: under 2 s); {simulated:,} of {total:,} candidates "
        f"simulated; again {again:.2f} s, {before:.2f} s with the floor of one broadcast"
    )
    # a buffer sweep's next point: half the input buffer
    other = attrs.evolve(hw, input_buffer_bytes=hw.input_buffer_bytes // 2)
    alone, _, _ = _network(pruned, auto, other, sc)
    kept, _, _ = _network(pruned, auto, other, sc, cache)
    print(
        f"next sweep point (input buffer {int(other.input_buffer_bytes) // 1024} KiB): "
        f"{alone:.2f} s CPU alone, {kept:.2f} s with the first point's evaluations kept"
    )
    # points of scenarios/sweeps/buffers.toml with a 16 KiB output buffer
    small = attrs.evolve(
        hw, input_buffer_bytes=16384, weight_buffer_bytes=8192, output_buffer_bytes=16384
    )
    nxt = attrs.evolve(small, weight_buffer_bytes=16384)
    with _without_early_stop(), _single_broadcast_floor():
        before, _, _ = _network(pruned, auto, nxt, sc)
    with _single_broadcast_floor():
        one, _, _ = _network(pruned, auto, nxt, sc)
    after, simulated, total = _network(pruned, auto, nxt, sc)
    cache = Evaluations()
    _network(pruned, auto, small, sc, cache)
    kept, _, _ = _network(pruned, auto, nxt, sc, cache)
    print(
        f"16 KiB output, input and weight buffers: {before:.2f} s CPU without the early "
        f"stop, {one:.2f} s with it and the floor of one broadcast, {after:.2f} s with both "
        f"({simulated} of {total} simulated), {kept:.2f} s with the evaluations of the point "
        f"with 8 KiB of weight buffer kept"
    )
    if sc.mapping.mode == "fixed":
        fixed = run_scenario(sc, baselines=False).report.total.cycles
        mapped = run_scenario(
            attrs.evolve(sc, mapping=auto), baselines=False, pruned=pruned
        ).report.total.cycles
        print(f"cycles: fixed mapping {fixed:,}, auto {mapped:,} ({mapped / fixed - 1:+.1%})")


if __name__ == "__main__":
    main(*sys.argv[1:])
