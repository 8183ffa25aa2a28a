"""The refetch and spill bytes counted in the memory bound are never more than any buffer of
that capacity must move: against an exhaustive search on small use sequences, and against
both engines on random layers with small buffers."""

import itertools
import math

import attrs
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from simkit import conv_layers, jobs_for

from accelsim.config import Hardware, Mapping
from accelsim.engine.assemble import simulate
from accelsim.engine.gap import result_gap
from accelsim.engine.reload_bound import reload_bytes_bound, spill_bytes_bound
from accelsim.policies import load_policy
from accelsim.trace import Cause, Operand


def fewest_reloaded_bytes(uses: list[set[int]], sizes: list[int], capacity: int) -> int:
    """The exact optimum over every eviction choice: after each use the buffer keeps any
    subset of what it holds that fits (loading only what a use needs loses nothing: a load
    costs the same whenever it happens)."""
    best = {frozenset(): 0}
    seen: set[int] = set()
    for need in uses:
        after: dict[frozenset, int] = {}
        for held, cost in best.items():
            cost += sum(sizes[b] for b in need - held if b in seen)
            pool = sorted(held - need)
            for r in range(len(pool) + 1):
                for keep in itertools.combinations(pool, r):
                    state = frozenset(keep) | need
                    if sum(sizes[b] for b in state) <= capacity:
                        after[state] = min(after.get(state, cost), cost)
        best = after
        seen |= need
    return min(best.values())


uses_st = st.integers(1, 5).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(1, 9), min_size=n, max_size=n),
        st.lists(st.sets(st.integers(0, n - 1), min_size=1, max_size=2), min_size=1, max_size=10),
    )
)


@settings(max_examples=300, deadline=None)
@given(case=uses_st, spare=st.integers(0, 12))
def test_the_bound_never_exceeds_the_best_eviction(case, spare):
    sizes, uses = case
    capacity = max(sum(sizes[b] for b in need) for need in uses) + spare
    use = [t for t, need in enumerate(uses) for _ in need]
    block = [b for need in uses for b in sorted(need)]
    bound = reload_bytes_bound(np.array(use), np.array(block), np.array(sizes), capacity)
    assert 0 <= bound <= fewest_reloaded_bytes([set(u) for u in uses], sizes, capacity)


def test_a_cycle_of_three_blocks_through_two_slots_reloads_one():
    # A B C A B C in a buffer of two: Belady keeps A for its next use, reloads B once
    use, block = np.arange(6), np.array([0, 1, 2, 0, 1, 2])
    assert reload_bytes_bound(use, block, np.array([1, 1, 1]), 2) == 1
    assert reload_bytes_bound(use, block, np.array([1, 1, 1]), 3) == 0
    assert reload_bytes_bound(use, block, np.array([1, 1, 1]), math.inf) == 0
    # blocks of 5, 1, 1 B in 6 B: C evicts B (1 B to reload), not A (5 B)
    assert reload_bytes_bound(use, block, np.array([5, 1, 1]), 6) == 1
    # blocks of 1, 5, 1 B in 6 B: C must evict B (5 B) or A (1 B, then B for C at the end)
    assert reload_bytes_bound(use, block, np.array([1, 5, 1]), 6) == 1


def test_spills_count_out_and_back_for_the_most_crowded_pe():
    # PE 0 interleaves the chunks of tiles 0 and 1; tiles of 4 B, a buffer of 4 B
    queues = ((0, 1, 2, 3), (4,))
    output_block, delivery = np.array([0, 1, 0, 1, 2]), np.arange(5)
    sizes = np.array([4, 4, 4])
    assert spill_bytes_bound(queues, delivery, output_block, sizes, 4, 8) == 2 * 8
    assert spill_bytes_bound(queues, delivery, output_block, sizes, 8, 8) == 0


def test_spills_count_the_tiles_open_on_all_pes_at_once():
    # three PEs, depth 1, each runs chunk 0 of its tile, another tile, then chunk 1; the
    # broadcasts go round by round. After broadcast 5 every PE has finished its chunk 0 and
    # none has its chunk 1: three open tiles of 4 B in 8 B, though each PE alone has one
    queues = ((0, 1, 2), (3, 4, 5), (6, 7, 8))
    output_block = np.array([0, 3, 0, 1, 4, 1, 2, 5, 2])
    delivery = np.array([0, 3, 6, 1, 4, 7, 2, 5, 8])
    sizes = np.full(6, 4)
    assert spill_bytes_bound(queues, delivery, output_block, sizes, 8, 1) == 2 * 4
    assert spill_bytes_bound(queues, delivery, output_block, sizes, 12, 1) == 0
    # a deeper queue proves less finished: no tile is known open at once
    assert spill_bytes_bound(queues, delivery, output_block, sizes, 8, 2) == 0


def test_the_greedy_is_the_relaxation_optimum():
    """The proof in docs/model.md says the greedy solves the covering relaxation exactly; a
    linear-programming solver agrees on random sequences."""
    from scipy.optimize import linprog  # the test extra has scipy: a solver to check against

    rng = np.random.default_rng(0)
    for _ in range(300):
        n_blocks, n_uses = int(rng.integers(1, 7)), int(rng.integers(1, 12))
        sizes = rng.integers(1, 10, n_blocks)
        uses = [
            set(
                rng.choice(
                    n_blocks, size=min(int(rng.integers(1, 3)), n_blocks), replace=False
                ).tolist()
            )
            for _ in range(n_uses)
        ]
        capacity = max(int(sizes[list(u)].sum()) for u in uses) + int(rng.integers(0, 10))
        use = [t for t, u in enumerate(uses) for _ in u]
        block = [b for u in uses for b in sorted(u)]
        got = reload_bytes_bound(np.array(use), np.array(block), sizes, capacity)
        times = [[t for t, u in enumerate(uses) if b in u] for b in range(n_blocks)]
        spans = [
            (b, p + 1, n - 1)
            for b in range(n_blocks)
            for p, n in zip(times[b], times[b][1:])
            if n - p >= 2
        ]
        if not spans:
            assert got == 0
            continue
        rows, demand = [], []
        for t in range(n_uses):
            live = sum(int(sizes[b]) for b, lo, hi in spans if lo <= t <= hi)
            rows.append([-1 if lo <= t <= hi else 0 for _, lo, hi in spans])
            demand.append(-max(0, live + int(sizes[list(uses[t])].sum()) - capacity))
        lp = linprog(
            np.ones(len(spans)),
            A_ub=rows,
            b_ub=demand,
            bounds=[(0, int(sizes[b])) for b, _, _ in spans],
        )
        assert got == round(lp.fun)


# -- against the simulator -----------------------------------------------------------------

small = st.builds(
    Hardware,
    pe_rows=st.integers(1, 2),
    pe_cols=st.integers(1, 3),
    macs_per_cycle=st.integers(1, 8),
    double_buffered=st.booleans(),
    dram_bytes_per_cycle=st.sampled_from([0.5, 4, math.inf]),
    dram_latency_cycles=st.sampled_from([0, 7]),
    noc_bytes_per_cycle=st.sampled_from([4, math.inf]),
    input_queue_depth=st.sampled_from([1, 2, 4]),
)


def tight(hw: Hardware, layers, k_w: int, k_i: int, k_o: int) -> Hardware:
    """Buffers a few blocks large: just what the fit check asks for, times k."""
    half = 2 if hw.double_buffered else 1

    def most(attr):
        return max(int(getattr(l, attr).max(initial=1)) for l in layers)

    return attrs.evolve(
        hw,
        weight_buffer_bytes=most("weight_bytes") * max(hw.n_pes, half) * k_w,
        input_buffer_bytes=most("input_bytes") * half * k_i,
        output_buffer_bytes=most("output_bytes") * half * k_o,
    )


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    layers=conv_layers(max_layers=2),
    hw=small,
    mapping=st.builds(
        Mapping,
        tile_h=st.integers(1, 4),
        tile_w=st.integers(1, 4),
        filters_per_job=st.integers(1, 2),
        channel_splits=st.sampled_from([1, 2, 3]),
    ),
    k=st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3)),
    policy=st.sampled_from(["round-robin", "lpt", "kk", "greedy", "work-stealing"]),
    engine=st.sampled_from(["auto", "simpy"]),
)
def test_unavoidable_bytes_never_exceed_the_simulated_ones(layers, hw, mapping, k, policy, engine):
    jobs = jobs_for(layers, mapping, hw)
    hw = tight(hw, jobs, *k)
    result = simulate(jobs, hw, load_policy(policy), engine=engine)
    tr = result.transfers
    for run in result.layers:
        mine = tr["layer"] == run.index
        refetch = int(tr["bytes"][mine & (tr["cause"] == Cause.REFETCH)].sum())
        spill = int(
            tr["bytes"][
                mine & (tr["cause"] == Cause.SPILL) & (tr["operand"] == Operand.OUTPUTS)
            ].sum()
        )
        b = run.hardware
        assert b.refetch_bytes <= refetch and b.spill_bytes <= spill, (b, refetch, spill)
        assert b.memory <= run.cycles, (b, run.cycles)


def test_a_small_weight_buffer_puts_the_refetch_in_the_memory_bound():
    # every tile walks all filters, and the buffer holds a third of them: most come again
    from simkit import conv, pruned

    layer = pruned(conv("c", in_c=4, hw=8, out_c=6, k=3), 1.0)
    hw = Hardware(
        pe_rows=1,
        pe_cols=2,
        macs_per_cycle=8,
        dram_bytes_per_cycle=1,
        dram_latency_cycles=0,
        noc_bytes_per_cycle=math.inf,
        input_buffer_bytes=math.inf,
        output_buffer_bytes=math.inf,
    )
    jobs = jobs_for([layer], Mapping(tile_h=2, tile_w=2), hw)
    block = int(jobs[0].weight_bytes.max())
    hw = attrs.evolve(hw, weight_buffer_bytes=2 * block)
    result = simulate(jobs, hw, load_policy("round-robin"), engine="simpy")
    run = result.layers[0]
    tr = result.transfers
    refetch = int(tr["bytes"][tr["cause"] == Cause.REFETCH].sum())
    assert 0 < run.hardware.refetch_bytes <= refetch
    assert run.hardware.binding == "memory"
    assert run.hardware.memory <= run.cycles
    gap = result_gap(result, run)
    assert max(gap.parts, key=gap.parts.get) == "memory stalls", gap.parts
