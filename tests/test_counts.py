"""Counting nonzeros in vectorised form: the uniform placement keeps exactly each row's count,
is a uniform subset, and is the same for the same seed; grouped row sums equal numpy's
reduceat; the PE models' per-unit slots equal the per-unit loops they replace."""

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from simkit import conv, pruned

from accelsim.config import Hardware, Mapping
from accelsim.workload import pe_models
from accelsim.workload.jobs import layer_units
from accelsim.workload.sparsity import counts
from accelsim.workload.sparsity.counts import row_group_sums, uniform_counts


@settings(max_examples=60, deadline=None)
@given(
    rows=st.integers(0, 40),
    groups=st.integers(1, 30),
    per_group=st.integers(1, 9),
    block=st.sampled_from([1, 7, 1 << 23]),
    seed=st.integers(0, 2**31),
)
def test_uniform_counts_keep_exactly_each_rows_nonzeros(rows, groups, per_group, block, seed):
    rng = np.random.default_rng(seed)
    nnz = rng.integers(0, groups * per_group + 1, rows)
    old, counts._PLACE_BLOCK = counts._PLACE_BLOCK, block  # several blocks of rows, or one
    try:
        got = uniform_counts(nnz, groups, per_group, np.random.default_rng(seed))
        again = uniform_counts(nnz, groups, per_group, np.random.default_rng(seed))
    finally:
        counts._PLACE_BLOCK = old
    assert got.shape == (rows, groups)
    assert got.sum(axis=1).tolist() == nnz.tolist()
    assert got.min(initial=0) >= 0 and got.max(initial=0) <= per_group
    assert np.array_equal(got, again)


def test_uniform_counts_draw_every_subset_equally_often():
    # 2 of 4 positions: 6 subsets, each 1/6 of 60,000 draws (10,000; sd about 91); ties at
    # the one-byte cut are frequent with 4 positions, so the tie-break is exercised too
    draws = uniform_counts(np.full(60_000, 2), 4, 1, np.random.default_rng(5))
    seen = Counter(map(tuple, draws.tolist()))
    assert len(seen) == 6
    assert all(abs(n - 10_000) < 500 for n in seen.values()), seen


@settings(max_examples=60, deadline=None)
@given(
    lengths=st.lists(st.integers(1, 5), min_size=1, max_size=12),
    cols=st.integers(1, 7),
    seed=st.integers(0, 2**31),
)
def test_row_group_sums_equal_reduceat(lengths, cols, seed):
    starts = np.cumsum([0, *lengths[:-1]])
    a = np.random.default_rng(seed).integers(0, 50, (sum(lengths), cols)).astype(np.int32)
    assert np.array_equal(row_group_sums(a, starts), np.add.reduceat(a, starts, axis=0))


def _slots_per_unit(p, model, lanes, window, lu):
    """The per-unit loop the vectorised unit_slots replaced."""
    layer = p.layer
    out = []
    for fg, k, c in lu.units.tolist():
        members = list(lu.fgroups[fg][1])
        lo, hi = (int(b) for b in p.chunk_bounds(k)[c : c + 2])
        if model == "zero-skip":
            out.append(int(lu.unit_nnz[len(out)]))
        elif model == "lane-group":
            kernels = p.kernel_nnz()[members, lo:hi]
            steps = np.maximum.reduceat(kernels, np.arange(0, hi - lo, lanes), axis=1)
            out.append(int(steps.sum()) * lanes)
        elif model == "window":
            out.append(int(pe_models.window_costs(p, window)[members, lo:hi].sum()))
        else:
            out.append(len(members) * (hi - lo) * layer.k_h * layer.k_w)
    return out


@pytest.mark.parametrize("model", ["zero-skip", "lane-group", "window", "dense"])
@settings(max_examples=25, deadline=None)
@given(
    in_c=st.integers(1, 12),
    out_c=st.integers(1, 10),
    k=st.sampled_from([1, 3, 5]),
    groups=st.sampled_from([1, 2]),
    fpj=st.integers(1, 4),
    splits=st.sampled_from([1, 2, 3, "auto"]),
    lanes=st.integers(1, 5),
    seed=st.integers(0, 1000),
)
def test_unit_slots_equal_the_per_unit_loop(
    model, in_c, out_c, k, groups, fpj, splits, lanes, seed
):
    layer = conv(in_c=in_c * groups, out_c=out_c * groups, k=k, pad=k // 2, groups=groups)
    p = pruned(layer, density=0.3, seed=seed)
    hw = Hardware(macs_per_cycle=lanes, pe_model=model)
    lu = layer_units(p, Mapping(filters_per_job=fpj, channel_splits=splits), hw)
    starts = [m[0] for _, m in lu.fgroups]
    got = pe_models.unit_slots(p, model, lanes, 3, starts, lu.units, lu.unit_nnz)
    assert got.tolist() == _slots_per_unit(p, model, lanes, 3, lu)
