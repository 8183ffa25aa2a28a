"""DESIGN.md's invariants over random small networks, mappings, hardware and policies."""

import io
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from simkit import conv, conv_layers, fitted, hardware, jobs_for, mappings, pruned

from accelsim.config import Hardware, Mapping
from accelsim.engine.assemble import simulate
from accelsim.outputs.report import write_trace
from accelsim.policies import load_policy
from accelsim.trace import Cause, Operand, State
from accelsim.units import ceil_div

POLICIES = st.sampled_from(["round-robin", "lpt", "greedy", "work-stealing", "kk"])
SLOW = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def run(layers, mapping, hw, policy):
    jobs = jobs_for(layers, mapping, hw)
    hw = fitted(hw, jobs)
    return jobs, hw, simulate(jobs, hw, load_policy(policy))


@SLOW
@given(layers=conv_layers(), mapping=mappings, hw=hardware, policy=POLICIES)
def test_invariants_1_to_3(layers, mapping, hw, policy):
    jobs, hw, result = run(layers, mapping, hw, policy)
    # 1. every job runs exactly once; executed MACs equal the network's pruned MACs
    assert result.executed_macs == sum(p.pruned_macs for p in layers)
    assert [l.n_jobs for l in result.layers] == [len(l.jobs) for l in jobs]
    # 2. each PE's intervals are disjoint and cover [0, makespan]
    s = result.states
    for pe in range(hw.n_pes if result.makespan else 0):
        m = s.pe == pe
        assert s.start[m][0] == 0 and s.end[m][-1] == result.makespan
        assert (s.start[m][1:] == s.end[m][:-1]).all() and (s.end[m] > s.start[m]).all()
    # busy time is exactly the jobs' cycles
    busy = (s.end - s.start)[s.state == State.BUSY].sum()
    assert busy == sum(l.total_cycles for l in jobs)
    # 3. no buffer above capacity; DRAM bytes = compulsory + halo + refetch, each accounted
    caps = [hw.weight_buffer_bytes, hw.input_buffer_bytes, hw.output_buffer_bytes]
    lv = result.levels
    for b, cap in enumerate(caps):
        assert lv["level"][lv["buffer"] == b].max(initial=0) <= cap
    assert (lv["level"] >= 0).all()
    tr = result.transfers

    def moved(operand, cause):
        return int(tr["bytes"][(tr["operand"] == operand) & (tr["cause"] == cause)].sum())

    assert moved(Operand.WEIGHTS, Cause.COMPULSORY) == sum(int(l.weight_bytes.sum()) for l in jobs)
    assert moved(Operand.INPUTS, Cause.COMPULSORY) == sum(l.compulsory_input_bytes for l in jobs)
    assert moved(Operand.INPUTS, Cause.HALO) == sum(
        int(l.input_bytes.sum()) - l.compulsory_input_bytes for l in jobs
    )
    assert moved(Operand.OUTPUTS, Cause.COMPULSORY) == sum(
        int(l.output_write_bytes.sum()) for l in jobs
    )
    assert moved(Operand.WEIGHTS, Cause.HALO) == 0
    if math.isinf(hw.weight_buffer_bytes) and math.isinf(hw.input_buffer_bytes):
        assert moved(Operand.WEIGHTS, Cause.REFETCH) == moved(Operand.INPUTS, Cause.REFETCH) == 0
    # every layer's makespan is at least its lower bound
    assert all(l.cycles >= l.lower_bound for l in result.layers)


@SLOW
@given(
    layers=conv_layers(),
    mapping=mappings,
    n=st.integers(1, 6),
    lanes=st.integers(1, 8),
    overhead=st.integers(0, 3),
    policy=st.sampled_from(["round-robin", "lpt"]),
)
def test_invariant_4_ideal_memory_and_decoupled_pes_meet_the_plan(
    layers, mapping, n, lanes, overhead, policy
):
    hw = Hardware(
        pe_rows=1,
        pe_cols=n,
        macs_per_cycle=lanes,
        job_overhead_cycles=overhead,
        input_queue_depth=10**9,
    ).ideal_memory()
    _, _, result = run(layers, mapping, hw, policy)
    for layer in result.layers:
        assert layer.cycles == layer.planned_makespan >= layer.lower_bound


@settings(max_examples=25, deadline=None)
@given(
    in_c=st.integers(1, 6),
    out_c=st.integers(1, 12),
    size=st.integers(1, 6),
    k=st.integers(1, 3),
    n=st.integers(1, 5),
    lanes=st.integers(1, 16),
)
def test_invariant_4_dense_mask_matches_the_analytic_dense_count(in_c, out_c, size, k, n, lanes):
    layer = pruned(conv(in_c=in_c, hw=size + k, out_c=out_c, k=k, pad=0), 1.0).dense()
    hw = Hardware(
        pe_rows=1, pe_cols=n, macs_per_cycle=lanes, input_queue_depth=10**9
    ).ideal_memory()
    _, _, result = run([layer], Mapping(), hw, "round-robin")
    macs_per_filter = layer.layer.weights_per_filter * layer.layer.out_pixels
    assert result.executed_macs == layer.layer.dense_macs
    assert result.makespan == ceil_div(out_c, n) * ceil_div(macs_per_filter, lanes)


def _trace_bytes(result) -> bytes:
    buf = io.BytesIO()
    write_trace(result, buf)
    return buf.getvalue()


@settings(max_examples=10, deadline=None)
@given(layers=conv_layers(), mapping=mappings, hw=hardware, policy=POLICIES)
def test_invariant_5_same_input_same_trace_bytes(layers, mapping, hw, policy):
    _, _, a = run(layers, mapping, hw, policy)
    _, _, b = run(layers, mapping, hw, policy)
    assert _trace_bytes(a) == _trace_bytes(b)


def test_invariant_5_the_scenario_seed_decides_the_trace():
    from accelsim.pipeline import run_scenario
    from accelsim.scenario import scenario_from_dict

    data = {
        "workload": {"network": "lenet5"},
        "pruning": {"profile": "han2015-lenet5"},
        "hardware": {"pe_rows": 2, "pe_cols": 2},
        "baselines": False,
    }
    scenario = scenario_from_dict(data, "<test>")
    first, again, other = (run_scenario(scenario, seed=s).result for s in (7, 7, 8))
    assert _trace_bytes(first) == _trace_bytes(again)
    assert _trace_bytes(first) != _trace_bytes(other)


@SLOW
@given(
    layers=conv_layers(max_layers=2),
    k=st.sampled_from([2, 3, "auto"]),
    hw=hardware,
    policy=POLICIES,
    tile=st.integers(0, 4),
)
def test_split_partial_sums_never_deadlock_and_every_extra_byte_has_a_cause(
    layers, k, hw, policy, tile
):
    jobs, hw, result = run(layers, Mapping(tile, tile, channel_splits=k), hw, policy)
    assert result.executed_macs == sum(p.pruned_macs for p in layers)
    tr = result.transfers
    outputs = tr["operand"] == Operand.OUTPUTS
    compulsory = outputs & (tr["cause"] == Cause.COMPULSORY)
    assert tr["bytes"][compulsory].sum() == sum(int(l.output_write_bytes.sum()) for l in jobs)
    assert set(tr["cause"][outputs].tolist()) <= {Cause.COMPULSORY, Cause.SPILL}
    if math.isinf(hw.output_buffer_bytes):
        assert not (tr["cause"] == Cause.SPILL).any()
    inputs = tr["operand"] == Operand.INPUTS
    assert tr["bytes"][inputs & (tr["cause"] == Cause.COMPULSORY)].sum() == sum(
        l.compulsory_input_bytes for l in jobs
    )
    lv = result.levels
    assert lv["level"][lv["buffer"] == 2].max(initial=0) <= hw.output_buffer_bytes
