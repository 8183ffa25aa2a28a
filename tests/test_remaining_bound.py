"""The least cycles from each broadcast's delivery to a static plan's end, and the mapper's
SimPy runs that stop on it once they cannot end by their cutoff."""

import math

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from simkit import conv, conv_layers, fitted, jobs_for, pruned
from test_gap import STATIC_POLICIES, hardware, mappings

from accelsim.config import Hardware, Mapping
from accelsim.engine import closed_form
from accelsim.engine.assemble import FixedPlan, layer_problem, simulate
from accelsim.engine.broadcasts import broadcasts
from accelsim.engine.hw.clock import PastDeadline
from accelsim.engine.remaining_bound import after_delivery
from accelsim.policies import load_policy, plan_layer


def _planned(layer, hw, policy):
    plan = plan_layer(load_policy(policy), layer_problem(layer, hw))
    return plan, broadcasts(plan.queues, layer)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layers=conv_layers(max_layers=1), mapping=mappings, hw=hardware, policy=STATIC_POLICIES)
def test_a_run_that_ends_by_its_cutoff_is_never_stopped(layers, mapping, hw, policy):
    """The bound must hold at every moment of any run: with the cutoff at the run's own
    cycles, every check (each cycle on these small layers) must find the end reachable, on
    any buffers, port and queue depth; and from the first delivery on it is the dispatch
    with every block on chip (closed_form.ideal_memory_end)."""
    [layer] = jobs_for(layers, mapping, hw)
    hw = fitted(hw, [layer], slack=1)
    plan, bc = _planned(layer, hw, policy)
    remaining = after_delivery(layer, bc, hw)
    if layer.n_jobs:
        noc = closed_form._deliveries(layer, bc, hw)[4]
        assert noc[0] + remaining[0] == closed_form.ideal_memory_end(layer, bc, hw)
    cycles = simulate([layer], hw, FixedPlan(plan), engine="simpy").layers[0].cycles
    again = simulate(
        [layer],
        hw,
        FixedPlan(plan),
        engine="simpy",
        cutoff_cycles=cycles,
        remaining_cycles=remaining.tolist(),
    )
    assert again.layers[0].cycles == cycles


def test_a_run_that_falls_behind_stops_before_its_cutoff():
    """An output buffer that holds two tiles makes four PEs take turns: the run falls behind
    its dispatch from the first rounds, and stops long before the clock reaches the cutoff
    (the dispatch bound, which it cannot meet)."""
    layer = pruned(conv("c", in_c=4, hw=8, out_c=8, k=3), 0.5)
    hw = Hardware(pe_rows=2, pe_cols=2, macs_per_cycle=1, input_queue_depth=1)
    [jobs] = jobs_for([layer], Mapping(tile_h=2, tile_w=2), hw)
    hw = attrs.evolve(
        fitted(hw, [jobs]),
        output_buffer_bytes=2 * int(jobs.output_bytes.max()),
        dram_latency_cycles=0,
    )
    plan, bc = _planned(jobs, hw, "lpt")
    cycles = simulate([jobs], hw, FixedPlan(plan), engine="simpy").layers[0].cycles
    cutoff = closed_form.ideal_memory_end(jobs, bc, hw)
    assert cycles > cutoff
    with pytest.raises(PastDeadline) as stopped:
        simulate(
            [jobs],
            hw,
            FixedPlan(plan),
            engine="simpy",
            cutoff_cycles=cutoff,
            remaining_cycles=after_delivery(jobs, bc, hw).tolist(),
        )
    assert stopped.value.args[0] < cutoff / 2


@pytest.mark.parametrize("depth", [1, 2, math.inf])
def test_no_broadcast_needs_nothing_after_it(depth):
    """Each broadcast's bound is at least its longest job and at most the one before it."""
    layer = pruned(conv("c", in_c=4, hw=6, out_c=8, k=3), 0.5)
    hw = Hardware(pe_rows=2, pe_cols=2, input_queue_depth=8 if depth == math.inf else depth)
    [jobs] = jobs_for([layer], Mapping(tile_h=3, tile_w=3), hw)
    _, bc = _planned(jobs, hw, "lpt")
    remaining = after_delivery(jobs, bc, hw)
    longest = [int(jobs.cycles[bc.job[a:b]].max()) for a, b in zip(bc.offsets, bc.offsets[1:])]
    assert (remaining >= longest).all() and (remaining[:-1] >= remaining[1:]).all()
