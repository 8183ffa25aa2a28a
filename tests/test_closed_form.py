"""The closed-form engine against the SimPy model, the reference: wherever `auto` picks the
closed form, the two agree exactly on makespans, state intervals, DRAM bytes and energy."""

import math

import attrs
import numpy as np
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from simkit import conv, conv_layers, fitted, jobs_for, pruned

from accelsim.config import EnergyTable, Hardware, Mapping
from accelsim.engine import closed_form
from accelsim.engine.assemble import layer_problem, simulate
from accelsim.engine.broadcasts import broadcasts
from accelsim.engine.hw.dispatch import static_groups
from accelsim.errors import ConfigError
from accelsim.outputs.report import build_report
from accelsim.policies import load_policy, plan_layer
from accelsim.trace import Cause, Operand
from accelsim.workload.networks.layers import Layer, LayerKind
from accelsim.workload.sparsity.pruning import PrunedLayer

CAPACITIES = st.sampled_from([64, 512, 4096, 10**7, math.inf])
hardware = st.builds(
    Hardware,
    pe_rows=st.integers(1, 3),
    pe_cols=st.integers(1, 4),
    macs_per_cycle=st.integers(1, 8),
    job_overhead_cycles=st.integers(0, 3),
    weight_buffer_bytes=CAPACITIES,
    input_buffer_bytes=CAPACITIES,
    output_buffer_bytes=CAPACITIES,
    double_buffered=st.booleans(),
    dram_bytes_per_cycle=st.sampled_from([1, 2.5, 16, math.inf]),
    dram_latency_cycles=st.sampled_from([0, 0, 3, 20]),
    noc_bytes_per_cycle=st.sampled_from([1, 8, math.inf]),
    multicast=st.booleans(),
    input_queue_depth=st.sampled_from([1, 1, 2, 3, 10**6]),
)
mappings = st.builds(
    Mapping,
    tile_h=st.integers(0, 5),
    tile_w=st.integers(0, 5),
    filters_per_job=st.integers(1, 3),
    channel_splits=st.sampled_from([1, 1, 2, "auto"]),
)


class LptByUnits:
    """LPT's assignment, each PE walking one unit over all its tiles before the next: queues
    that go back to earlier input blocks (the walk hardware-aware may choose)."""

    name = "lpt-by-units"

    def plan(self, problem):
        from accelsim.policies import Plan, by_size

        _, loads = problem.unit_loads()
        pe_of_unit = np.zeros(len(loads), dtype=np.int64)
        for p, queue in enumerate(load_policy("lpt").plan(problem).queues):
            pe_of_unit[problem.units[list(queue)]] = p
        return Plan.from_unit_assignment(problem, pe_of_unit, by_size(loads), walk="units")


POLICIES = st.sampled_from(
    ["round-robin", "lpt", "kk", "multifit", "density-grouping", "greedy", LptByUnits()]
)


def dram_bytes(result) -> np.ndarray:
    tr = result.transfers
    out = np.zeros((len(result.layers), len(Operand), len(Cause)), dtype=np.int64)
    np.add.at(out, (tr["layer"], tr["operand"], tr["cause"]), tr["bytes"])
    return out


def same_layer_results(a, b):
    skip = {
        "plan_seconds",
        "engine",
        "engine_note",
        "weight_buffer_peak",
        "input_buffer_peak",
        "output_buffer_peak",
    }
    fields = [f.name for f in attrs.fields(type(a)) if f.name not in skip]
    return {f: (getattr(a, f), getattr(b, f)) for f in fields if getattr(a, f) != getattr(b, f)}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layers=conv_layers(), mapping=mappings, hw=hardware, policy=POLICIES)
def test_the_closed_form_equals_simpy_wherever_it_runs(layers, mapping, hw, policy):
    jobs = jobs_for(layers, mapping, hw)
    hw = fitted(hw, jobs, slack=1)
    policy = load_policy(policy) if isinstance(policy, str) else policy
    reference = simulate(jobs, hw, policy, engine="simpy")
    auto = simulate(jobs, hw, policy, engine="auto")
    assert all(l.engine == "simpy" for l in reference.layers)
    for ref, got in zip(reference.layers, auto.layers):
        assert same_layer_results(ref, got) == {}, got.name
        assert (got.engine == "fast") == (got.engine_note is None)
    for column in ("pe", "start", "end", "state", "held_by"):
        assert np.array_equal(getattr(reference.states, column), getattr(auto.states, column))
    assert np.array_equal(dram_bytes(reference), dram_bytes(auto))
    energy = EnergyTable()
    assert (
        build_report("x", reference, energy).total.energy_pj
        == build_report("x", auto, energy).total.energy_pj
    )
    # buffer levels never exceed capacity nor fall below zero, on either engine
    lv = auto.levels
    for b, cap in enumerate(
        (hw.weight_buffer_bytes, hw.input_buffer_bytes, hw.output_buffer_bytes)
    ):
        assert 0 <= lv["level"][lv["buffer"] == b].min(initial=0)
        assert lv["level"][lv["buffer"] == b].max(initial=0) <= cap


STATIC_POLICIES = st.sampled_from(["round-robin", "lpt", "kk", "density-grouping", LptByUnits()])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layers=conv_layers(max_layers=1), mapping=mappings, hw=hardware, policy=STATIC_POLICIES)
def test_the_end_alone_is_the_timelines_end(layers, mapping, hw, policy):
    """Scoring (end_and_output_peak) and the dispatch bound skip the stage timeline: the
    same end and output peak as the whole timeline, and the same job ends as the loop that
    records it."""
    layer = jobs_for(layers, mapping, hw)[0]
    hw = fitted(hw, [layer], slack=1)
    chosen = policy if isinstance(policy, LptByUnits) else load_policy(policy)
    bc = broadcasts(plan_layer(chosen, layer_problem(layer, hw)).queues, layer)
    timeline, _ = closed_form.timeline_or_note(layer, bc, hw, False)
    got = closed_form.end_and_output_peak(layer, bc, hw)
    assert got == (None if timeline is None else (timeline.end, timeline.peaks[2]))
    # the floor the mapper reads to skip a closed form whose output tiles surely overflow
    if closed_form.not_exact_because(layer, hw, False) is None:
        try:
            peak = closed_form.run_layer(layer, bc, hw, 0).peaks[2]
        except closed_form.NotExact:
            peak = None
        if peak is not None:
            assert closed_form.output_peak_floor(layer, bc, hw) <= peak
    # the lean dispatch loop against the recording one, on the plan's own broadcasts
    by_pe, prev, _, _, noc = closed_form._deliveries(layer, bc, hw)
    counts = np.bincount(bc.pe, minlength=hw.n_pes)
    back = closed_form._back(by_pe, counts, hw.input_queue_depth)
    rng = np.random.default_rng(len(noc))
    ready_w, ready_i = (rng.integers(0, 50, len(noc)) for _ in range(2))
    cycles = np.asarray(layer.cycles, dtype=np.int64)[bc.job]
    one = hw.input_queue_depth == 1
    _, finish, _ = closed_form._lock_step(
        3, bc.offsets, bc.pe, cycles, back, prev, ready_w, ready_i, noc, one
    )
    lean = closed_form._lock_step_finish(
        3, bc.offsets, bc.pe, cycles, back, prev, np.maximum(ready_w, ready_i), noc, one
    )
    assert np.array_equal(finish, lean)


def test_the_output_floor_sees_partial_sums_held_between_chunks():
    """Two PEs, 2x2 tiles, two channel chunks: each broadcast's members write two tiles,
    but the tiles of the broadcast before are still waiting for their second chunk, so
    four tiles of 12 B are held at once; an output buffer of three tiles is refused by the
    closed form, which the floor tells the mapper without running it."""
    layer = pruned(conv("c", in_c=8, hw=4, out_c=4, k=3), 0.5)
    hw = Hardware(pe_rows=1, pe_cols=2, input_queue_depth=1)
    [jobs] = jobs_for([layer], Mapping(tile_h=2, tile_w=2, channel_splits=2), hw)
    bc = broadcasts(plan_layer(load_policy("lpt"), layer_problem(jobs, hw)).queues, jobs)
    assert set(jobs.output_bytes.tolist()) == {12} and (np.diff(bc.offsets) == 2).all()
    floor = closed_form.output_peak_floor(jobs, bc, hw)
    assert floor == 4 * 12 <= closed_form.run_layer(jobs, bc, hw, 0).peaks[2]
    assert (
        closed_form.end_and_output_peak(jobs, bc, attrs.evolve(hw, output_buffer_bytes=36)) is None
    )


def test_ideal_memory_runs_every_static_layer_in_closed_form():
    layers = [pruned(conv(f"c{i}", in_c=8, hw=8, out_c=16), 0.3, seed=i) for i in range(3)]
    hw = Hardware(pe_rows=2, pe_cols=2, input_queue_depth=1).ideal_memory()
    jobs = jobs_for(layers, Mapping(4, 4), hw)
    result = simulate(jobs, hw, load_policy("lpt"), engine="fast")
    assert [l.engine for l in result.layers] == ["fast"] * 3
    assert result.events == 0
    assert result.makespan == simulate(jobs, hw, load_policy("lpt"), engine="simpy").makespan


def test_lock_step_waits_name_the_pe_that_holds_the_broadcast():
    # two PEs, depth 1: PE 0's long jobs hold back every broadcast PE 1 needs
    layer = pruned(conv("c", in_c=4, hw=4, out_c=2, k=1, pad=0), 1.0)
    layer = attrs.evolve(layer, filter_nnz=np.array([4, 1]))
    hw = Hardware(pe_rows=1, pe_cols=2, macs_per_cycle=1, input_queue_depth=1).ideal_memory()
    jobs = jobs_for([layer], Mapping(2, 2), hw)
    fast = simulate(jobs, hw, load_policy("round-robin"), engine="fast")
    s = fast.states
    waiting = (s.pe == 1) & (s.state == 2)
    assert waiting.any() and (s.held_by[waiting] == 0).all()
    assert fast.makespan == 4 * 4 * 4  # 4 tiles of 4 pixels x 4 nonzeros, in lock-step


def test_forcing_the_closed_form_where_it_is_not_exact_names_the_layer_before_planning():
    layers = [pruned(conv("first", out_c=32), 0.5, cv=0), pruned(conv("second", out_c=4), 0.5)]
    hw = Hardware(pe_rows=1, pe_cols=2, weight_buffer_bytes=64, input_queue_depth=2)
    jobs = jobs_for(layers, Mapping(), hw)
    hw = fitted(hw, jobs, slack=1)  # every job fits; all 32 filters of "first" do not
    assert hw.weight_buffer_bytes < jobs[0].weight_bytes.sum()
    seen = []
    with pytest.raises(
        ConfigError, match=r"layer first: engine = 'fast'.*weight buffer.*deeper than 1"
    ):
        simulate(jobs, hw, load_policy("lpt"), progress=lambda *a: seen.append(a), engine="fast")
    assert seen == []  # refused before planning anything
    with pytest.raises(ConfigError, match="closed form is not exact here: the plan is dynamic"):
        simulate(jobs, attrs.evolve(hw).ideal_memory(), load_policy("greedy"), engine="fast")
    with pytest.raises(ConfigError, match="engine = 'quick': must be one of auto, simpy, fast"):
        simulate(jobs, hw, load_policy("lpt"), engine="quick")


@settings(max_examples=200, deadline=None)
@given(
    layers=conv_layers(max_layers=1),
    mapping=mappings,
    n_pes=st.integers(1, 5),
    seed=st.integers(0, 10**6),
    shuffle=st.booleans(),
)
def test_the_flat_broadcast_order_is_the_dispatchers_merge(layers, mapping, n_pes, seed, shuffle):
    layer = jobs_for(layers, mapping)[0]
    rng = np.random.default_rng(seed)
    pe_of = rng.integers(0, n_pes, len(layer.jobs))
    queues = [np.flatnonzero(pe_of == p) for p in range(n_pes)]
    if shuffle:  # queues that go back to earlier input blocks
        queues = [rng.permutation(q) for q in queues]
    queues = tuple(tuple(int(j) for j in q) for q in queues)
    flat = broadcasts(queues, layer).groups(layer)
    assert flat == static_groups(queues, layer)


STATIC = st.sampled_from(["round-robin", "lpt", "kk", "multifit", "density-grouping", LptByUnits()])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    layers=conv_layers(),
    mapping=mappings,
    hw=hardware,
    policy=STATIC,
    room=st.floats(0, 1),
    input_room=st.one_of(st.none(), st.floats(0, 1)),
    overhead=st.integers(1, 3),
    noc=st.sampled_from([1, 8, 64]),
    pes=st.integers(1, 3),
)
@example(  # two jobs end in one cycle on a layer whose weights fit: levels 5 -> 2 -> 0 in
    # SimPy, 5 -> 3 -> 0 in the closed form; the same at the cycle's end
    layers=[
        PrunedLayer(
            Layer("l0", LayerKind.CONV, ("data",), 1, 2, 2, 1, 2, 2, 1, 0, 1), np.array([4])
        ),
        PrunedLayer(
            Layer("l1", LayerKind.CONV, ("data",), 1, 1, 1, 1, 1, 1, 1, 0, 1), np.array([1])
        ),
        PrunedLayer(
            Layer("l2", LayerKind.CONV, ("data",), 4, 3, 2, 4, 3, 1, 1, 0, 2),
            np.array([0, 1, 1, 2]),
        ),
    ],
    mapping=Mapping(tile_w=1),
    hw=Hardware(
        pe_rows=1,
        pe_cols=1,
        macs_per_cycle=2,
        job_overhead_cycles=0,
        weight_buffer_bytes=64,
        input_buffer_bytes=64,
        output_buffer_bytes=64,
        double_buffered=False,
        dram_bytes_per_cycle=1,
        dram_latency_cycles=0,
        noc_bytes_per_cycle=1,
        multicast=False,
    ),
    policy=LptByUnits(),
    room=0.0,
    input_room=None,
    overhead=1,
    noc=1,
    pes=2,
)
def test_blocks_streamed_through_small_buffers_run_in_closed_form_exactly(
    layers, mapping, hw, policy, room, input_room, overhead, noc, pes
):
    """Lock-step, prefetching, with a weight buffer too small for a layer's weights, and an
    input buffer too small for its inputs or not: the loaders' evictions and refetches, the
    port's order and every wait are those of SimPy. Few PEs and one filter per job: more
    weight blocks than a broadcast holds."""
    mapping = attrs.evolve(mapping, filters_per_job=1)
    hw = attrs.evolve(
        hw,
        pe_rows=1,
        pe_cols=pes,
        input_queue_depth=1,
        double_buffered=True,
        job_overhead_cycles=overhead,
        noc_bytes_per_cycle=noc,
        input_buffer_bytes=math.inf,
    )
    jobs = jobs_for(layers, mapping, hw)
    hw = fitted(hw, jobs, slack=1)
    # room for the largest broadcast's blocks (at most one weight block per PE, one input
    # block) and double buffering, up to the smallest layer's total: some layers stream
    lower = max(
        max(int(np.sort(l.weight_bytes)[-hw.n_pes :].sum()), 2 * int(l.weight_bytes.max(initial=0)))
        for l in jobs
    )
    upper = min(int(l.weight_bytes.sum()) for l in jobs)
    hw = attrs.evolve(hw, weight_buffer_bytes=max(1, lower + int(room * max(upper - lower, 0))))
    if input_room is not None:
        lower = max(2 * int(l.input_bytes.max(initial=0)) for l in jobs)
        upper = min(int(l.input_bytes.sum()) for l in jobs)
        hw = attrs.evolve(
            hw, input_buffer_bytes=max(1, lower + int(input_room * max(upper - lower, 0)))
        )
    policy = load_policy(policy) if isinstance(policy, str) else policy
    reference = simulate(jobs, hw, policy, engine="simpy")
    auto = simulate(jobs, hw, policy, engine="auto")
    streamed = []
    for layer, ref, got in zip(jobs, reference.layers, auto.layers):
        assert same_layer_results(ref, got) == {}, got.name
        if (
            layer.weight_bytes.sum() > hw.weight_buffer_bytes
            or layer.input_bytes.sum() > hw.input_buffer_bytes
        ):
            assert got.engine == "fast" or got.engine_note.startswith(
                ("the output buffer", "partial sums")
            ), got.engine_note
            if got.engine == "fast":
                streamed.append(layer.index)
                event("a layer streamed its blocks in closed form")
                if layer.input_bytes.sum() > hw.input_buffer_bytes:
                    event("a layer streamed its inputs in closed form")
                assert got.weight_buffer_peak == ref.weight_buffer_peak
    for column in ("pe", "start", "end", "state", "held_by"):
        assert np.array_equal(getattr(reference.states, column), getattr(auto.states, column))
    assert np.array_equal(dram_bytes(reference), dram_bytes(auto))
    # streamed layers put their transfers on the port in SimPy's order (elsewhere same-cycle
    # write-backs may swap), and record the weight and input buffers' rows in its order
    rows = [
        sorted(r for r in zip(*(x[k].tolist() for k in x)) if r[-1] in streamed)
        for x in (reference.transfers, auto.transfers)
    ]
    assert rows[0] == rows[1]
    # the weight and input buffers' levels at the end of every cycle where they change; two
    # changes in one cycle may come in another order (a layer whose blocks fit releases
    # same-cycle blocks in block order: 3 B then 2 B where SimPy ended the other job first)
    for lv in (reference.levels, auto.levels):
        for b in (0, 1):
            mine = lv["buffer"] == b
            t, level = lv["t"][mine], lv["level"][mine]
            last = np.r_[t[1:] != t[:-1], True]
            rows.append(list(zip(t[last].tolist(), level[last].tolist())))
    assert rows[2:4] == rows[4:6]
    energy = EnergyTable()
    assert (
        build_report("x", reference, energy).total.energy_pj
        == build_report("x", auto, energy).total.energy_pj
    )
