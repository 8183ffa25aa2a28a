"""Tiny models with timelines worked out by hand: the exact intervals and DRAM transfers."""

import gc
import math
from unittest import mock

import attrs
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from simkit import conv_layers, fitted, hardware, jobs_for, mappings

from accelsim.config import Hardware, Mapping
from accelsim.engine.assemble import simulate
from accelsim.engine.hw.clock import Clock
from accelsim.engine.hw.dispatch import static_groups
from accelsim.engine.hw.status import DispatchStatus
from accelsim.errors import ConfigError, DeadlockError
from accelsim.policies import Plan, load_policy
from accelsim.trace import Cause, Operand, State
from accelsim.workload.jobs import build_layer_jobs
from accelsim.workload.networks.layers import Layer, LayerKind
from accelsim.workload.sparsity.pruning import PrunedLayer

B, WW, WI, WN, WO, I = (
    State.BUSY,
    State.WAIT_WEIGHTS,
    State.WAIT_INPUTS,
    State.WAIT_NOC,
    State.WAIT_OUTPUT,
    State.IDLE,
)
IDEAL = Hardware(pe_rows=1, pe_cols=2, macs_per_cycle=1).ideal_memory()


class Fixed:
    """A policy that returns a given plan."""

    name = "fixed"

    def __init__(self, plan: Plan):
        self._plan = plan

    def plan(self, problem):
        return self._plan


def layer_with_nnz(nnz, tiles=1, in_c=None, kernels=None):
    """A 1x1 conv whose filter f has nnz[f] nonzeros: on one pixel, job cycles = nnz.
    `kernels` (filters x channels) places them; else a seeded draw does."""
    in_c = in_c or max(nnz)
    size = tiles
    layer = Layer("L", LayerKind.CONV, ("data",), in_c, size, 1, len(nnz), 1, 1, 1, 0, 1)
    placed = None if kernels is None else np.array(kernels, dtype=np.int64)
    return PrunedLayer(layer, nnz, kernels=placed)


def intervals(result, pe):
    s = result.states
    m = s.pe == pe
    return [
        (int(a), int(b), State(c), int(h))
        for a, b, c, h in zip(s.start[m], s.end[m], s.state[m], s.held_by[m])
    ]


def test_lock_step_holds_the_fast_pe_and_names_the_slow_one():
    jobs = [
        build_layer_jobs(
            0, layer_with_nnz([10, 2, 3, 3]), Mapping(weight_format="compressed"), IDEAL
        )
    ]
    result = simulate(jobs, IDEAL, Fixed(Plan.static([[0, 2], [1, 3]])))
    assert result.makespan == 13
    assert intervals(result, 0) == [(0, 13, B, -1)]
    assert intervals(result, 1) == [(0, 2, B, -1), (2, 10, WI, 0), (10, 13, B, -1)]


def test_a_deeper_queue_decouples_and_meets_the_planned_makespan():
    hw = Hardware(pe_rows=1, pe_cols=2, macs_per_cycle=1, input_queue_depth=2).ideal_memory()
    jobs = [
        build_layer_jobs(0, layer_with_nnz([10, 2, 3, 3]), Mapping(weight_format="compressed"), hw)
    ]
    result = simulate(jobs, hw, Fixed(Plan.static([[0, 2], [1, 3]])))
    assert result.makespan == 13 == result.layers[0].planned_makespan
    assert intervals(result, 1) == [(0, 5, B, -1), (5, 13, I, -1)]


def test_dram_latency_bandwidth_and_queueing_are_exact():
    hw = Hardware(
        pe_rows=1,
        pe_cols=1,
        macs_per_cycle=1,
        dram_bytes_per_cycle=4,
        dram_latency_cycles=10,
        noc_bytes_per_cycle=math.inf,
        weight_buffer_bytes=math.inf,
        input_buffer_bytes=math.inf,
        output_buffer_bytes=math.inf,
    )
    # one filter with 8 nonzeros of 8: weights 8 x 12 bits = 12 B, input 8 B, output 1 B
    jobs = [build_layer_jobs(0, layer_with_nnz([8]), Mapping(weight_format="compressed"), hw)]
    result = simulate(jobs, hw, Fixed(Plan.static([[0]])))
    tr = result.transfers
    rows = list(
        zip(
            tr["start"].tolist(),
            tr["end"].tolist(),
            tr["bytes"].tolist(),
            tr["operand"].tolist(),
            tr["cause"].tolist(),
        )
    )
    assert rows == [
        (10, 13, 12, Operand.WEIGHTS, Cause.COMPULSORY),  # latency, then 3 cycles
        (13, 15, 8, Operand.INPUTS, Cause.COMPULSORY),  # queued behind weights
        (33, 34, 1, Operand.OUTPUTS, Cause.COMPULSORY),
    ]  # written back after 23
    assert intervals(result, 0) == [
        (0, 13, WW, -1),
        (13, 15, WI, -1),
        (15, 23, B, -1),
        (23, 34, I, -1),
    ]
    assert result.makespan == 34


def test_interconnect_time_is_a_stall_of_its_own():
    hw = attrs.evolve(IDEAL, noc_bytes_per_cycle=2, multicast=True)
    # two filters of 4 nonzeros: input 4 B multicast once + weights 2 x 6 B = 16 B = 8 cycles
    jobs = [build_layer_jobs(0, layer_with_nnz([4, 4]), Mapping(weight_format="compressed"), hw)]
    result = simulate(jobs, hw, Fixed(Plan.static([[0], [1]])))
    assert intervals(result, 0) == [(0, 8, WN, -1), (8, 12, B, -1)]
    unicast = attrs.evolve(hw, multicast=False)  # the input crosses twice: 20 B = 10 cycles
    result = simulate(jobs, unicast, Fixed(Plan.static([[0], [1]])))
    assert intervals(result, 1) == [(0, 10, WN, -1), (10, 14, B, -1)]


def test_a_small_input_buffer_refetches_and_says_so():
    hw = attrs.evolve(IDEAL, pe_cols=1, input_buffer_bytes=4, double_buffered=False)
    # two output rows = two tiles of a 1x1 conv on a 2x1 map; 4 input channels = 4 B a tile
    layer = layer_with_nnz([4, 4], tiles=2, in_c=4)
    jobs = [build_layer_jobs(0, layer, Mapping(tile_h=1, tile_w=1, weight_format="compressed"), hw)]
    order = [0, 3, 1, 2]  # jobs are tile-major: 0=(t0,f0) 1=(t0,f1) 2=(t1,f0) 3=(t1,f1)
    result = simulate(jobs, hw, Fixed(Plan.static([order])))
    tr = result.transfers
    inputs = tr["operand"] == Operand.INPUTS
    assert tr["bytes"][inputs].tolist() == [4, 4, 4, 4]
    assert tr["cause"][inputs].tolist() == [
        Cause.COMPULSORY,
        Cause.COMPULSORY,
        Cause.REFETCH,
        Cause.REFETCH,
    ]
    levels = result.levels
    assert levels["level"][levels["buffer"] == 1].max() == 4
    # in tile order nothing is fetched twice
    result = simulate(jobs, hw, Fixed(Plan.static([[0, 1, 2, 3]])))
    assert (result.transfers["cause"] != Cause.REFETCH).all()


def test_a_full_output_buffer_makes_the_second_pe_wait_for_the_write_back():
    hw = attrs.evolve(IDEAL, output_buffer_bytes=1, double_buffered=False, dram_latency_cycles=5)
    jobs = [build_layer_jobs(0, layer_with_nnz([3, 3]), Mapping(weight_format="compressed"), hw)]
    result = simulate(jobs, hw, Fixed(Plan.static([[0], [1]])))
    # PE 0 computes [5, 8) once its operands arrive (latency 5); its 1 B result is written
    # back at 8 + 5 = 13, and only then does PE 1 get output space
    assert intervals(result, 0)[1] == (5, 8, B, -1)
    assert intervals(result, 1)[1:3] == [(5, 13, WO, -1), (13, 16, B, -1)]


def test_a_job_that_never_fits_is_rejected_before_simulating():
    hw = attrs.evolve(IDEAL, weight_buffer_bytes=8)  # half of it usable: double buffered
    jobs = [build_layer_jobs(0, layer_with_nnz([8, 2]), Mapping(weight_format="compressed"), hw)]
    with pytest.raises(
        ConfigError,
        match=r"layer L: job 0 \(filters 0..0, tile 0\) needs 12 B "
        r"of weights; the weight buffer holds 4 B \(half of it, "
        r"double buffered\): raise hardware.weight_buffer_bytes",
    ):
        simulate(jobs, hw, Fixed(Plan.static([[0], [1]])))


def test_a_broadcast_whose_weights_cannot_be_on_chip_together_is_rejected():
    hw = attrs.evolve(IDEAL, weight_buffer_bytes=20, double_buffered=False)
    jobs = [build_layer_jobs(0, layer_with_nnz([8, 8]), Mapping(weight_format="compressed"), hw)]
    with pytest.raises(ConfigError, match="a broadcast to 2 PEs needs 24 B of weights"):
        simulate(jobs, hw, Fixed(Plan.static([[0], [1]])))


def test_crossed_partial_sums_spill_to_dram_and_come_back():
    hw = attrs.evolve(IDEAL, output_buffer_bytes=3, double_buffered=False, psum_bits=24)
    layer = layer_with_nnz([4, 4], in_c=4)
    jobs = [build_layer_jobs(0, layer, Mapping(channel_splits=2, weight_format="compressed"), hw)]
    result = simulate(jobs, hw, Fixed(Plan.static([[0, 3], [2, 1]])))
    assert result.executed_macs == 8
    tr = result.transfers
    spill = tr["cause"] == Cause.SPILL
    # f0's partial sums go out when PE 1 needs room for f1 (t=2) and come back once f1 is
    # complete and written back: f1's block never leaves
    assert tr["bytes"][spill].tolist() == [3, 3]
    assert (tr["operand"][spill] == Operand.OUTPUTS).all()
    assert result.levels["level"][result.levels["buffer"] == 2].max() <= 3


def test_a_deeper_queue_lets_a_pe_open_the_next_tile_and_a_partial_sum_spills():
    # the worked example of docs/model.md (Output buffer, "Deeper queues and partial
    # sums"): two filters with 2 and 5 nonzeros over 6 channels cut in two chunks, two
    # 1-pixel tiles; lpt gives PE 0 (f0 c0, f1 c1) and PE 1 (f1 c0, f0 c1) on each tile, so
    # every 3 B output block is opened by one PE and completed by the other. The output
    # buffer holds two blocks; DRAM moves 2 B a cycle, no prefetch
    hw = attrs.evolve(
        IDEAL,
        dram_bytes_per_cycle=2,
        output_buffer_bytes=6,
        psum_bits=24,
        double_buffered=False,
    )
    # chunk 0 is channels 0-2, chunk 1 channels 3-5: f0 has 1 + 1, f1 2 + 3 nonzeros
    layer = layer_with_nnz(
        [2, 5], tiles=2, in_c=6, kernels=[[1, 0, 0, 1, 0, 0], [1, 1, 0, 1, 1, 1]]
    )
    mapping = Mapping(tile_h=1, channel_splits=2, weight_format="compressed")
    jobs = [build_layer_jobs(0, layer, mapping, hw)]
    lpt = load_policy("lpt")
    assert jobs[0].cycles.tolist() == [1, 1, 2, 3, 1, 1, 2, 3]

    def run(depth, output_bytes=6):
        hw_d = attrs.evolve(hw, input_queue_depth=depth, output_buffer_bytes=output_bytes)
        result = simulate(jobs, hw_d, lpt, engine="simpy")
        tr = result.transfers
        spill = tr["cause"] == Cause.SPILL
        spills = list(zip(tr["start"][spill].tolist(), tr["end"][spill].tolist()))
        return result, spills

    # lock-step: PE 1 waits for PE 0's queue (13-14), both start tile 1 at 14; PE 1 waits
    # one cycle for f1's block (f1's tile-0 block is written back 14-15): nothing spills
    one, spills = run(1)
    assert one.makespan == 21 and spills == []
    assert (13, 14, WI, 0) in intervals(one, 1)
    # depth 2: PE 1 gets tile 1 at 13 while PE 0 still computes tile 0 (to 14) and waits for
    # room for f1's tile-1 block. The write drain serves tile 0's write-backs (13-14, 14-15)
    # ahead of the load of tile 1's input block (then 15-17): PE 1 takes the room at 14,
    # PE 0 at 15, nothing spills, and depth 2 ends with depth 1 (on a port where drained
    # write-backs queued behind that load, an open block was spilled: 26 cycles)
    two, spills = run(2)
    assert two.makespan == 21
    assert spills == []
    assert intervals(two, 0) == [
        (0, 3, WW, -1),
        (3, 5, WI, -1),
        (5, 6, B, -1),
        (6, 9, WW, -1),
        (9, 11, WI, -1),
        (11, 14, B, -1),
        (14, 15, WO, -1),
        (15, 16, B, -1),
        (16, 17, WI, -1),
        (17, 20, B, -1),
        (20, 21, I, -1),
    ]
    assert intervals(two, 1)[7:] == [
        (13, 14, WO, -1),
        (14, 16, B, -1),
        (16, 17, WI, -1),
        (17, 18, B, -1),
        (18, 21, I, -1),
    ]
    # deeper still changes nothing. A third block of output buffer: depth 1 gains a cycle,
    # and depth 2 spills: tile 0's first write-back, issued at 13 in the port's idle
    # cycles, yields it to the load of tile 1's inputs (13-15) because no PE waits for room
    # yet; a drain cannot pre-empt a load on the port, so the room frees at 16 and an open
    # block is spilled. A fourth block makes depth 2 the faster
    assert run(4)[0].makespan == 21
    (three_one, _), (three_two, spills) = run(1, output_bytes=9), run(2, output_bytes=9)
    assert (three_one.makespan, three_two.makespan) == (20, 25) and spills
    (four_one, _), (four_two, spills) = run(1, output_bytes=12), run(2, output_bytes=12)
    assert four_two.makespan == 19 < four_one.makespan == 20 and spills == []


def test_crossed_partial_sums_deadlock_without_spill_naming_the_waiters():
    hw = attrs.evolve(
        IDEAL, output_buffer_bytes=3, double_buffered=False, psum_bits=24, psum_spill=False
    )
    # two filters split in two channel chunks: units 0=(f0,c0) 1=(f0,c1) 2=(f1,c0) 3=(f1,c1)
    layer = layer_with_nnz([4, 4], in_c=4)
    jobs = [build_layer_jobs(0, layer, Mapping(channel_splits=2, weight_format="compressed"), hw)]
    # PE 0 opens f0's partial sums, PE 1 waits for room for f1's; f0's second chunk sits
    # behind that wait on PE 1: neither can ever proceed
    plan = Plan.static([[0, 3], [2, 1]])
    with pytest.raises(
        DeadlockError,
        match=r"deadlock in layer L at cycle \d+: .*PE 1 waits "
        r"for 3 B of output buffer for block 1; it holds 3 B of 3 B.*psum_spill = false",
    ):
        simulate(jobs, hw, Fixed(plan))


def test_broadcasts_walk_the_tiles_and_keep_each_pes_order():
    # a 1x1 conv on a 2x1 map in 1-row tiles: jobs are tile-major, (t0,f0..f3), (t1,f0..f3);
    # filters have 5, 2, 3, 4 nonzeros, so a job takes that many cycles
    layer = layer_with_nnz([5, 2, 3, 4], tiles=2, in_c=5)
    jobs = [build_layer_jobs(0, layer, Mapping(tile_h=1, weight_format="compressed"), IDEAL)]
    plan = Plan.static([[0, 2, 3, 4, 6], [1, 7, 5]])
    groups = static_groups(plan.queues, jobs[0])
    run = jobs[0].run_jobs()  # equal values: a job's unit and input block name it
    assert [(g.input_block, [(pe, run.index(j)) for pe, j in g.members]) for g in groups] == [
        (0, [(0, 0), (1, 1)]),
        (0, [(0, 2)]),
        (0, [(0, 3)]),
        (1, [(0, 4), (1, 7)]),
        (1, [(0, 6), (1, 5)]),
    ]
    result = simulate(jobs, IDEAL, Fixed(plan))
    assert result.makespan == 20
    assert intervals(result, 0) == [(0, 20, B, -1)]
    # PE 1 waits for tile 1 while PE 0 finishes tile 0, then for PE 0's queue again
    assert intervals(result, 1) == [
        (0, 2, B, -1),
        (2, 12, WI, 0),
        (12, 16, B, -1),
        (16, 17, WI, 0),
        (17, 19, B, -1),
        (19, 20, I, -1),
    ]


def test_lpt_keeps_a_filters_tiles_on_one_pe():
    from accelsim.policies import Problem, load_policy

    layer = layer_with_nnz([5, 2, 3, 4], tiles=3, in_c=5)
    lj = build_layer_jobs(0, layer, Mapping(tile_h=1, weight_format="compressed"), IDEAL)
    plan = load_policy("lpt").plan(Problem.from_layer(lj, 2))
    pe_of = {j: pe for pe, q in enumerate(plan.queues) for j in q}
    for unit in range(4):
        assert len({pe_of[j.index] for j in lj.jobs if j.unit == unit}) == 1
    # units 5+2 on one PE, 4+3 on the other (per tile), each PE walking tiles in order
    assert plan.planned_makespan(lj.cycles) == 21
    for q in plan.queues:
        tiles = [lj.jobs[j].tile for j in q]
        assert tiles == sorted(tiles)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    layers=conv_layers(max_layers=2),
    mapping=mappings,
    splits=st.sampled_from([1, 2, "auto"]),
    hw=hardware,
    policy=st.sampled_from(["round-robin", "lpt", "greedy", "work-stealing"]),
)
def test_an_arrival_without_an_event_changes_nothing(layers, mapping, splits, hw, policy):
    # a PE fed when nothing else is due that cycle starts at the end of the dispatcher's
    # step instead of in an event of its own: exactly where that event would be processed
    mapping = attrs.evolve(mapping, channel_splits=splits)
    jobs = jobs_for(layers, mapping, hw)
    hw = fitted(hw, jobs, slack=1)
    fast = simulate(jobs, hw, load_policy(policy), engine="simpy")
    with mock.patch.object(DispatchStatus, "start_in_settle", False):
        slow = simulate(jobs, hw, load_policy(policy), engine="simpy")
    assert fast.events <= slow.events
    assert [attrs.evolve(l, plan_seconds=0) for l in fast.layers] == [
        attrs.evolve(l, plan_seconds=0) for l in slow.layers
    ]
    for name in ("pe", "start", "end", "state", "held_by"):
        assert getattr(fast.states, name).tolist() == getattr(slow.states, name).tolist()
    for table in ("levels", "transfers"):
        a, b = getattr(fast, table), getattr(slow, table)
        assert {k: v.tolist() for k, v in a.items()} == {k: v.tolist() for k, v in b.items()}


def test_a_pe_fed_without_an_event_starts_after_the_dispatchers_whole_step():
    # one PE, queue depth 2, two 2-cycle jobs on the two tiles of one filter; the
    # interconnect moves 1 B/cycle: tile 0 and the weights take 5 cycles, tile 1 takes 2.
    # At 5 job 0 is delivered with nothing else due: the PE starts it when the dispatcher's
    # step ends, after it has timed tile 1's delivery (5 -> 7), so at 7 the delivery comes
    # first, then job 0 ends and job 1 starts at once (its output tile taken before tile
    # 0's write-back frees it); the PE never starves
    hw = attrs.evolve(IDEAL, pe_cols=1, input_queue_depth=2, noc_bytes_per_cycle=1)
    jobs = [
        build_layer_jobs(
            0,
            layer_with_nnz([2], tiles=2, in_c=2),
            Mapping(tile_h=1, weight_format="compressed"),
            hw,
        )
    ]
    result = simulate(jobs, hw, Fixed(Plan.static([[0, 1]])), engine="simpy")
    assert intervals(result, 0) == [(0, 5, WN, -1), (5, 9, B, -1)]
    lv = result.levels
    out = lv["buffer"] == 2
    assert list(zip(lv["t"][out].tolist(), lv["level"][out].tolist())) == [
        (5, 1),
        (7, 2),
        (7, 1),
        (9, 0),
    ]


def test_blocks_reach_the_port_in_the_order_they_are_first_needed():
    """One loader for both buffers, broadcast by broadcast: a weight buffer that takes the
    whole network never puts later weights on the FIFO port ahead of an earlier input tile,
    so more buffer is never slower (with a loader per buffer, ResNet-18 at 16 PEs got 4 %
    slower from 128 KiB to an unbounded weight buffer)."""
    from pathlib import Path

    from accelsim.pipeline import run_scenario
    from accelsim.scenario import load_scenario

    base = load_scenario(Path(__file__).parent.parent / "scenarios" / "default.toml")
    pruned = base.pruned(None)
    cycles = [
        run_scenario(
            attrs.evolve(base, hardware=attrs.evolve(base.hardware, weight_buffer_bytes=size)),
            baselines=False,
            pruned=pruned,
        ).result.makespan
        for size in (2**17, 2**19, math.inf)
    ]
    assert cycles[0] >= cycles[1] >= cycles[2]


def test_a_layer_runs_without_garbage_collection_and_the_collector_resumes():
    """The SimPy layer's build and events run with the collector paused (its objects die by
    reference count); afterwards it is on again, and a failed run leaves it on too."""
    jobs = [
        build_layer_jobs(
            0, layer_with_nnz([10, 2, 3, 3]), Mapping(weight_format="compressed"), IDEAL
        )
    ]
    seen = []
    run_until = Clock.run_until

    def watched(self, *args):
        seen.append(gc.isenabled())
        return run_until(self, *args)

    assert gc.isenabled()
    with mock.patch.object(Clock, "run_until", watched):
        result = simulate(jobs, IDEAL, Fixed(Plan.static([[0, 2], [1, 3]])), engine="simpy")
        assert result.makespan == 13
    assert seen == [False] and gc.isenabled()
    with mock.patch.object(Clock, "run_until", side_effect=RuntimeError("a failed run")):
        with pytest.raises(RuntimeError):
            simulate(jobs, IDEAL, Fixed(Plan.static([[0, 2], [1, 3]])), engine="simpy")
    assert gc.isenabled()
