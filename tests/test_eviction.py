"""The loader's eviction plan, and what it guarantees: looking ahead never hurts.

The plan fixes every load's victims before the layer runs, so prefetch makes the same loads
as no prefetch, only earlier; and a larger weight buffer never makes a static plan slower.
"""

import math

import attrs
import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from simkit import conv_layers, fitted, jobs_for

from accelsim.config import Hardware, Mapping
from accelsim.engine.assemble import simulate
from accelsim.engine.hw.eviction import eviction_plan, next_uses
from accelsim.policies import load_policy
from accelsim.trace import Cause, Operand
from accelsim.workload.networks.layers import Layer, LayerKind
from accelsim.workload.sparsity.pruning import PrunedLayer

sequences = st.integers(1, 8).flatmap(
    lambda n: st.tuples(
        st.lists(st.lists(st.integers(0, n - 1), min_size=1, max_size=3), min_size=1, max_size=30),
        st.lists(st.integers(1, 9), min_size=n, max_size=n),
    )
)


def replay(sequence, sizes, capacity, plan):
    """Walk the sequence as the loader does with the plan: (bytes held after each load,
    loads, [(victim's next use, load's position)])."""
    uses, nxt, stop = next_uses(sequence, len(sizes))
    resident, held, loads, evictions, flat = set(), [], 0, [], 0
    for pos, blocks in enumerate(sequence):
        for b in blocks:
            nxt[b] += 1
            if b not in resident:
                for v in plan.get(flat, ()):
                    resident.remove(v)
                    evictions.append((uses[nxt[v]] if nxt[v] < stop[v] else math.inf, pos))
                resident.add(b)
                loads += 1
                held.append(sum(sizes[r] for r in resident))
            flat += 1
        resident -= {b for b in blocks if nxt[b] == stop[b]}
    return held, loads, evictions


@settings(max_examples=300, deadline=None)
@given(seq_sizes=sequences, room=st.floats(0, 1))
def test_the_plan_fits_and_never_evicts_a_block_needed_before_the_load(seq_sizes, room):
    sequence, sizes = seq_sizes
    need = max(sum(sizes[b] for b in set(blocks)) for blocks in sequence)
    capacity = need + int(room * sum(sizes))
    plan = eviction_plan(sequence, sizes, capacity)
    held, loads, evictions = replay(sequence, sizes, capacity, plan)
    assert max(held) <= capacity
    assert all(next_use > pos for next_use, pos in evictions)
    if capacity >= sum(sizes):
        assert plan == {}
        assert loads == len({b for blocks in sequence for b in blocks})


@settings(max_examples=200, deadline=None)
@given(seq_sizes=sequences, room=st.floats(0, 1), more=st.integers(1, 20))
def test_more_room_never_loads_more_with_equal_block_sizes(seq_sizes, room, more):
    """Furthest-next-use with the previous position ranked last is a stack algorithm (its
    ranking does not depend on the capacity), so with equal blocks a larger buffer holds a
    superset and never loads more."""
    sequence, _ = seq_sizes
    sizes = [1] * len(seq_sizes[1])
    need = max(len(set(blocks)) for blocks in sequence)
    capacity = need + int(room * len(sizes))
    loads = [
        replay(sequence, sizes, c, eviction_plan(sequence, sizes, c))[1]
        for c in (capacity, capacity + more)
    ]
    assert loads[1] <= loads[0]


def test_cyclic_reuse_spares_the_blocks_of_deliveries_still_computing():
    """Blocks 0 1 2 cycled through room for two. At position 2 Belady alone would evict
    block 1 (next use 4), which position 1 may still be computing with; the plan evicts
    block 0 (next use 3). At 3 it evicts 1, not 2. At 4 block 0 is past its last use but
    position 3 may still compute with it, so block 2 makes room rather than the load
    waiting; with no delivery in flight block 0 leaves at once."""
    sequence = [[0], [1], [2], [0], [1], [2]]
    assert eviction_plan(sequence, [1, 1, 1], 2) == {2: (0,), 3: (1,), 4: (2,)}
    assert eviction_plan(sequence, [1, 1, 1], 2, in_flight=0) == {2: (1,)}
    assert eviction_plan(sequence, [1, 1, 1], 3) == {}


def test_the_oldest_delivery_in_flight_gives_up_its_blocks_first():
    """Three deliveries in flight (a central queue: three PEs of depth 1), room for three
    blocks: at position 3 every resident block may still be computing, and block 0 (the
    oldest delivery, likeliest to have finished) goes, where Belady would evict block 2.
    With one delivery in flight, block 1 (the furthest of the finished) goes."""
    sequence = [[0], [1], [2], [3], [0], [1], [2]]
    assert eviction_plan(sequence, [1] * 4, 3, in_flight=3) == {3: (0,), 4: (1,), 5: (2,)}
    assert eviction_plan(sequence, [1] * 4, 3, in_flight=1) == {3: (1,)}


def test_infinite_room_evicts_nothing_and_a_position_too_large_is_refused():
    assert eviction_plan([[0, 1], [1, 0]], [5, 5], math.inf) == {}
    with pytest.raises(ValueError, match="position 0's blocks do not fit 9 B together"):
        eviction_plan([[0, 1]], [5, 5], 9)


# -- the guarantees, end to end on both engines ---------------------------------------------

CAPACITIES = st.sampled_from([64, 512, 4096, math.inf])
hardware = st.builds(
    Hardware,
    pe_rows=st.integers(1, 2),
    pe_cols=st.integers(1, 3),
    macs_per_cycle=st.integers(1, 8),
    job_overhead_cycles=st.integers(0, 3),
    input_buffer_bytes=CAPACITIES,
    output_buffer_bytes=CAPACITIES,
    dram_bytes_per_cycle=st.sampled_from([1, 2.5, 16, math.inf]),
    dram_latency_cycles=st.sampled_from([0, 3, 20]),
    noc_bytes_per_cycle=st.sampled_from([1, 8, math.inf]),
    multicast=st.booleans(),
    input_queue_depth=st.sampled_from([1, 1, 2, 3]),
)
# no channel splits, and (in the prefetch test) output room for every tile: the guarantee's
# condition, no job ever waits for output space (docs/model.md, "What is guaranteed")
mappings = st.builds(
    Mapping,
    tile_h=st.integers(0, 4),
    tile_w=st.integers(0, 4),
    filters_per_job=st.just(1),
    channel_splits=st.just(1),
)
STATIC = st.sampled_from(["round-robin", "lpt", "kk", "multifit", "density-grouping"])


def streaming(layers, mapping, hw, room):
    """Jobs, and hw with a weight buffer between the largest broadcast's need (doubled,
    for double buffering) and the smallest layer's weights: some layers stream."""
    jobs = jobs_for(layers, mapping, hw)
    hw = fitted(hw, jobs, slack=1)
    lower = max(
        max(int(np.sort(l.weight_bytes)[-hw.n_pes :].sum()), 2 * int(l.weight_bytes.max(initial=0)))
        for l in jobs
    )
    upper = min(int(l.weight_bytes.sum()) for l in jobs)
    return jobs, attrs.evolve(
        hw, weight_buffer_bytes=max(1, lower + int(room * max(upper - lower, 0)))
    )


def refetch_bytes(result) -> dict:
    tr = result.transfers
    return {
        op.name: int(tr["bytes"][(tr["cause"] == Cause.REFETCH) & (tr["operand"] == op)].sum())
        for op in (Operand.WEIGHTS, Operand.INPUTS)
    }


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    layers=conv_layers(max_layers=2),
    mapping=mappings,
    hw=hardware,
    policy=STATIC,
    room=st.floats(0, 1),
)
def test_prefetch_is_never_slower_and_loads_the_same(layers, mapping, hw, policy, room):
    """Static plans whose jobs never wait for output space (an output buffer that holds
    every output tile): the condition under which docs/model.md proves it."""
    jobs, hw = streaming(layers, mapping, hw, room)
    outputs = max(int(l.output_bytes.sum()) for l in jobs)
    hw = attrs.evolve(hw, output_buffer_bytes=max(hw.output_buffer_bytes, 2 * outputs))
    runs = [
        simulate(jobs, attrs.evolve(hw, double_buffered=db), load_policy(policy))
        for db in (False, True)
    ]
    if any(l.weight_bytes.sum() > hw.weight_buffer_bytes for l in jobs):
        event("weights streamed")
    assert refetch_bytes(runs[1]) == refetch_bytes(runs[0])
    for without, with_ in zip(runs[0].layers, runs[1].layers):
        assert with_.cycles <= without.cycles, with_.name


def test_a_write_back_issued_early_no_longer_holds_up_a_load():
    """Found by the prefetch property: two layers on 2 PEs, weights streamed through 33 B.
    On a first-come port, prefetch let a job end early and its write-back took the port
    ahead of a weight load a PE waited for: 360 cycles without prefetch, 361 with. With
    loads first, 332 and 330."""
    layers = [
        PrunedLayer(
            Layer("l0", LayerKind.CONV, ("data",), 4, 3, 5, 6, 3, 2, 1, (0, 1, 0, 0), 2),
            np.array([12, 12, 12, 4, 12, 2]),
            seed=500,
        ),
        PrunedLayer(
            Layer("l1", LayerKind.CONV, ("data",), 3, 1, 3, 5, 1, 3, 1, 0, 1),
            np.array([6, 6, 6, 5, 5]),
            seed=0,
        ),
    ]
    hw = Hardware(
        pe_rows=1,
        pe_cols=2,
        macs_per_cycle=5,
        job_overhead_cycles=3,
        weight_buffer_bytes=33,
        input_buffer_bytes=64,
        output_buffer_bytes=96,
        dram_bytes_per_cycle=1,
        dram_latency_cycles=0,
        noc_bytes_per_cycle=8,
        multicast=False,
        input_queue_depth=2,
    )
    jobs = jobs_for(layers, Mapping(tile_h=1), hw)
    runs = [
        simulate(jobs, attrs.evolve(hw, double_buffered=db), load_policy("round-robin"))
        for db in (False, True)
    ]
    assert [[l.cycles for l in r.layers] for r in runs] == [[332, 64], [330, 55]]
    assert refetch_bytes(runs[0]) == refetch_bytes(runs[1]) == {"WEIGHTS": 66, "INPUTS": 0}


def test_a_larger_weight_buffer_can_be_slower_with_blocks_of_other_sizes():
    """Why "more buffer is never slower" is not a guarantee: the plan minimises reloads, not
    stall time. One PE, weight blocks of 3 and 2 B, no prefetch: 11 B of buffer keeps other
    blocks than 10 B, refetches 15 B instead of 18 B, and takes one cycle more."""
    layer = Layer("l0", LayerKind.CONV, ("data",), 1, 2, 5, 6, 2, 3, 1, 0, 1)
    hw = Hardware(
        pe_rows=1,
        pe_cols=1,
        macs_per_cycle=1,
        job_overhead_cycles=0,
        input_buffer_bytes=64,
        output_buffer_bytes=64,
        dram_bytes_per_cycle=1,
        dram_latency_cycles=0,
        noc_bytes_per_cycle=1,
        multicast=False,
        double_buffered=False,
    )
    jobs = jobs_for(
        [PrunedLayer(layer, np.array([2, 2, 2, 1, 1, 1]), seed=0)], Mapping(tile_w=1), hw
    )
    assert jobs[0].weight_bytes.tolist() == [3, 3, 3, 2, 2, 2]
    runs = [
        simulate(jobs, attrs.evolve(hw, weight_buffer_bytes=kib), load_policy("round-robin"))
        for kib in (10, 11)
    ]
    assert [refetch_bytes(r)["WEIGHTS"] for r in runs] == [18, 15]
    assert [r.makespan for r in runs] == [210, 211]


# -- issue 26: dense ResNet-18 layer3.0.conv2, 32 PEs, 4 x 4 tiles, lock-step ----------------


def layer3_0_conv2():
    """The default scenario's hardware with 32 PEs of 16 lanes (the issue's numbers need
    more lanes than the default 8 to be bound by DRAM) and the dense layer in 4 x 4 tiles."""
    from pathlib import Path

    from accelsim.scenario import Pruning, load_scenario
    from accelsim.workload.jobs import build_jobs

    scenario = load_scenario(Path(__file__).parent.parent / "scenarios" / "default.toml")
    scenario = attrs.evolve(scenario, pruning=Pruning(dense=True), layers=("layer3.0.conv2",))
    hw = attrs.evolve(
        scenario.hardware,
        pe_rows=4,
        pe_cols=8,
        macs_per_cycle=16,
        input_queue_depth=1,
        dram_bytes_per_cycle=16,
    )
    mapping = attrs.evolve(scenario.mapping, tile_h=4, tile_w=4)
    return build_jobs(scenario.pruned(), mapping, hw), hw


def test_prefetch_no_longer_refetches_every_block_on_every_tile():
    """Before the plan: 602,096 cycles and 8,847,360 B refetched with prefetch, 460,632
    cycles and 1,336,320 B without. A plan that freed a block at the end of its last
    delivery, though the delivery still computes: 426,244 cycles and 1,269,504 B with
    prefetch, 457,548 cycles without. With write-backs yielding to loads on the DRAM port,
    423,676 with prefetch (424,476 when the port was first come, first served)."""
    jobs, hw = layer3_0_conv2()
    hw = attrs.evolve(hw, weight_buffer_bytes=512 * 1024)
    runs = [
        simulate(jobs, attrs.evolve(hw, double_buffered=db), load_policy("lpt"))
        for db in (False, True)
    ]
    assert [refetch_bytes(r)["WEIGHTS"] for r in runs] == [1_336_320, 1_336_320]
    assert [r.makespan for r in runs] == [460_632, 423_676]


def test_partial_sums_can_spill_only_because_loads_were_prefetched():
    """The condition the guarantee needs, shown: one PE, two-chunk partial sums, an output
    buffer for two of four tiles. Prefetched loads take the port before a write-back (loads
    go first), the space frees later, a job waits for it, and 24 B of partial sums spill;
    the eviction plan is not involved (the weights fit). 81 cycles without prefetch, 99
    with (93 and 99 when the port was first come, first served)."""
    layer = Layer("l0", LayerKind.CONV, ("data",), 2, 4, 4, 2, 1, 1, 1, 0, 1)
    hw = Hardware(
        pe_rows=1,
        pe_cols=1,
        macs_per_cycle=1,
        job_overhead_cycles=1,
        weight_buffer_bytes=4,
        input_buffer_bytes=64,
        output_buffer_bytes=64,
        dram_bytes_per_cycle=1,
        dram_latency_cycles=0,
        noc_bytes_per_cycle=8,
        multicast=False,
    )
    jobs = jobs_for(
        [PrunedLayer(layer, np.array([1, 0]), seed=0)], Mapping(tile_w=1, channel_splits=2), hw
    )
    runs = [
        simulate(jobs, attrs.evolve(hw, double_buffered=db), load_policy("round-robin"))
        for db in (False, True)
    ]
    spilled = [int(r.transfers["bytes"][r.transfers["cause"] == Cause.SPILL].sum()) for r in runs]
    assert (spilled, [r.makespan for r in runs]) == ([0, 24], [81, 99])


def test_more_weight_buffer_is_never_slower_on_layer3_0_conv2():
    jobs, hw = layer3_0_conv2()
    cycles = [
        simulate(
            jobs, attrs.evolve(hw, weight_buffer_bytes=kib * 1024), load_policy("lpt")
        ).makespan
        for kib in range(256, 545, 32)
    ]
    assert cycles == sorted(cycles, reverse=True)
    assert cycles[-1] < cycles[0]
