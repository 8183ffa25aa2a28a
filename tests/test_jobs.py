import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from simkit import conv, conv_layers, pruned

from accelsim.config import Hardware, Mapping
from accelsim.units import ceil_div
from accelsim.workload import load_network
from accelsim.workload.jobs import build_jobs, build_layer_jobs
from accelsim.workload.sparsity.pruning import dense_network, load_profile, prune_with_profile


@settings(max_examples=60)
@given(
    layers=conv_layers(),
    tile=st.integers(0, 4),
    fpj=st.integers(1, 3),
    k=st.integers(1, 3),
    lanes=st.integers(1, 8),
)
def test_jobs_conserve_nonzero_macs_and_weights(layers, tile, fpj, k, lanes):
    hw = Hardware(macs_per_cycle=lanes, weight_bits=8, index_bits=4)
    for i, p in enumerate(layers):
        lj = build_layer_jobs(i, p, Mapping(tile, tile, fpj, k), hw)
        assert sum(j.macs for j in lj.jobs) == p.pruned_macs
        assert all(j.cycles == ceil_div(j.macs, lanes) for j in lj.jobs)
        # every (filter, chunk) belongs to exactly one unit, every tile has every unit
        assert len(lj.jobs) == lj.n_tiles * lj.n_units
        units = {(f, j.chunk) for j in lj.jobs if j.tile == 0 for f in j.filters}
        assert len(units) == p.layer.out_c * lj.channel_splits
        # "auto" stores the layer in the format with the fewest bytes; compressed weights take
        # (8 + 4) bits per nonzero and dense ones 8 bits per weight, rounded up per block
        stored = {
            f: build_layer_jobs(i, p, Mapping(tile, tile, fpj, k, f), hw).weight_bytes
            for f in ("compressed", "bitmap", "dense")
        }
        assert stored["compressed"].sum() >= p.nnz * 12 // 8
        assert stored["dense"].sum() == p.layer.weights
        assert stored["bitmap"].sum() >= (p.layer.weights + p.nnz * 8) // 8
        assert lj.weight_bytes.sum() == min(b.sum() for b in stored.values())
        assert lj.weight_bytes.tolist() == stored[lj.weight_format].tolist()
        # inputs: the unique parts of the tiles cover the input the layer reads, once
        assert lj.compulsory_input_bytes <= p.layer.in_c * p.layer.in_h * p.layer.in_w
        assert lj.input_bytes.sum() >= lj.compulsory_input_bytes
        assert lj.output_write_bytes.sum() == p.layer.out_c * p.layer.out_pixels
        # the SimPy model runs the same jobs, in the same order, as tuples
        assert [tuple(r) for r in lj.run_jobs()] == [
            (j.cycles, j.macs, j.weight_block, j.input_block, j.output_block) for j in lj.jobs
        ]


def test_untiled_inputs_are_the_whole_map_and_tiles_add_only_halo():
    layer = pruned(conv(in_c=2, hw=8, out_c=4, k=3, pad=1))
    whole = build_layer_jobs(0, layer, Mapping(), Hardware())
    tiled = build_layer_jobs(0, layer, Mapping(4, 4), Hardware())
    assert whole.input_bytes.tolist() == [2 * 8 * 8]
    assert tiled.n_tiles == 4
    assert tiled.compulsory_input_bytes == 2 * 8 * 8
    # a 4x4 output tile of a 3x3 conv reads 5x5 at the corners (pad 1): 4 x 2 x 25 bytes
    assert tiled.input_bytes.tolist() == [50, 50, 50, 50]


def test_stride_two_1x1_conv_reads_a_quarter_of_its_input():
    layer = pruned(conv(in_c=1, hw=8, out_c=1, k=1, stride=2, pad=0), 1.0)
    lj = build_layer_jobs(0, layer, Mapping(), Hardware())
    # outputs 0..3 read rows and columns 0, 2, 4, 6: the tile streams the 7x7 span
    assert lj.compulsory_input_bytes == lj.input_bytes.sum() == 7 * 7


def test_dense_mask_matches_the_analytic_dense_count():
    net = load_network("resnet18")
    jobs = build_jobs(dense_network(net), Mapping(14, 14), Hardware())
    assert sum(j.macs for l in jobs for j in l.jobs) == net.dense_macs == 1_814_073_344


@pytest.mark.slow
def test_resnet50_pruned_jobs_conserve_the_profile():
    net = load_network("resnet50")
    p = prune_with_profile(net, load_profile("distiller-resnet50-agp80"), 1)
    jobs = build_jobs(p, Mapping(channel_splits=3), Hardware())
    assert sum(j.macs for l in jobs for j in l.jobs) == p.pruned_macs
    assert all(
        np.array_equal(np.bincount([j.unit for j in l.jobs]), np.ones(l.n_units)) for l in jobs
    )


@settings(max_examples=60, deadline=None)
@given(layers=conv_layers(), n=st.integers(1, 8), tile=st.integers(0, 4))
def test_auto_split_cuts_only_what_exceeds_total_over_p(layers, n, tile):
    hw = Hardware(pe_rows=1, pe_cols=n, macs_per_cycle=1)
    for i, p in enumerate(layers):
        lj = build_layer_jobs(i, p, Mapping(tile, tile, 1, "auto"), hw)
        assert sum(j.macs for j in lj.jobs) == p.pruned_macs
        share = p.nnz / n
        chunks = {}
        for j in lj.jobs:
            chunks.setdefault(j.filters, set()).add(j.chunk)
        for (f,), cs in chunks.items():
            k = len(cs)
            if p.filter_nnz[f] <= share:
                assert k == 1
            else:  # just enough chunks, unless the filter has too few channels
                assert k == min(p.layer.channels_per_group, math.ceil(p.filter_nnz[f] / share))
        # inputs: compulsory bytes still cover each input byte exactly once
        whole = build_layer_jobs(i, p, Mapping(tile, tile), hw)
        assert lj.compulsory_input_bytes == whole.compulsory_input_bytes


def test_auto_split_on_a_layer_with_one_dominant_filter():
    from accelsim.workload.sparsity.pruning import PrunedLayer

    layer = conv(in_c=8, hw=4, out_c=4, k=1, pad=0)
    p = PrunedLayer(layer, [8, 1, 1, 2])  # total 12 on 2 PEs: share 6, filter 0 has 8
    lj = build_layer_jobs(0, p, Mapping(channel_splits="auto"), Hardware(pe_cols=2, pe_rows=1))
    assert [(j.filters, j.chunk) for j in lj.jobs] == [
        ((0,), 0),
        ((0,), 1),
        ((1,), 0),
        ((2,), 0),
        ((3,), 0),
    ]
    assert lj.output_uses.tolist() == [2, 1, 1, 1]
    assert max(lj.cycles) <= 6 * 16


def _windows(in_len, pad_begin, pad_end, kernel, stride, dilation):
    """Brute force: the input rows each output row's window taps (clipped to the input),
    one list per output row, from sliding the dilated window over the padded axis."""
    out = []
    start = -pad_begin
    while start + dilation * (kernel - 1) <= in_len - 1 + pad_end:
        out.append(
            [r for r in range(start, start + dilation * kernel, dilation) if 0 <= r < in_len]
        )
        start += stride
    return out


@settings(max_examples=150, deadline=None)
@given(
    k=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    dilation=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    pad=st.tuples(*[st.integers(0, 3)] * 4),
    size=st.tuples(st.integers(1, 12), st.integers(1, 12)),
    channels=st.tuples(st.integers(1, 3), st.integers(1, 3), st.sampled_from([1, 2])),
    tile=st.tuples(st.integers(0, 4), st.integers(0, 4)),
)
def test_rectangular_geometry_gives_the_analytic_macs_and_reads_every_tapped_input(
    k, stride, dilation, pad, size, channels, tile
):
    from accelsim.workload.networks.layers import Layer

    rows = _windows(size[0], pad[0], pad[1], k[0], stride[0], dilation[0])
    cols = _windows(size[1], pad[2], pad[3], k[1], stride[1], dilation[1])
    if not rows or not cols:
        return  # the window does not fit: check_shapes refuses such a layer
    cpg, fpg, groups = channels
    layer = Layer(
        "c", "conv", ("x",), cpg * groups, *size, fpg * groups, *k, stride, pad, groups,
        dilation=dilation,
    )  # fmt: skip
    assert (layer.out_h, layer.out_w) == (len(rows), len(cols))
    analytic = len(rows) * len(cols) * fpg * groups * k[0] * k[1] * cpg
    assert layer.dense_macs == analytic
    lj = build_layer_jobs(0, pruned(layer, 1.0), Mapping(*tile), Hardware(activation_bits=8))
    assert int(lj.job_macs.sum()) == analytic
    # each tile's input block holds every row and column its windows tap, within the input;
    # exactly those where windows overlap or abut (stride <= kernel, no dilation), and the
    # rows between taps too where they do not (the block is one contiguous span)
    tiles_h = [rows[i : i + (tile[0] or len(rows))] for i in range(0, len(rows), tile[0] or 1)]
    tiles_w = [cols[i : i + (tile[1] or len(cols))] for i in range(0, len(cols), tile[1] or 1)]
    tiles_h = tiles_h if tile[0] else tiles_h[:1]
    tiles_w = tiles_w if tile[1] else tiles_w[:1]
    spans = [
        (_extent(th) * _extent(tw)) for th in tiles_h for tw in tiles_w
    ]  # taps' first to last row x column
    per_tile = lj.input_bytes.reshape(lj.n_tiles, -1).sum(axis=1)
    assert all(got >= s * layer.in_c for got, s in zip(per_tile.tolist(), spans))
    if dilation == (1, 1) and stride[0] <= k[0] and stride[1] <= k[1]:
        assert per_tile.tolist() == [s * layer.in_c for s in spans]
    tapped = len({r for w in rows for r in w}) * len({c for w in cols for c in w})
    assert tapped * layer.in_c <= lj.compulsory_input_bytes <= int(per_tile.sum())


def _extent(windows) -> int:
    taps = [r for w in windows for r in w]
    return max(taps) - min(taps) + 1 if taps else 0


def test_a_cut_beyond_the_job_cap_is_refused_before_building_with_the_memory_it_needs():
    from accelsim.errors import ConfigError
    from accelsim.workload.jobs import MAX_JOBS

    network = load_network("vgg16")
    pruned_net = dense_network(network)
    with pytest.raises(ConfigError, match=r"more than 24,000,000 \(what fits in 8 GB") as err:
        build_jobs(pruned_net, Mapping(1, 1, 1, 64), Hardware())
    assert MAX_JOBS == 24_000_000 and "channel_splits = 64" in str(err.value)
