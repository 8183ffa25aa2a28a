"""Helpers for the tests: small layers, hardware and job sets, and hypothesis strategies."""

from __future__ import annotations

import math

import attrs
import numpy as np
from hypothesis import strategies as st

from accelsim.config import Hardware, Mapping
from accelsim.workload.jobs import build_layer_jobs
from accelsim.workload.networks.layers import Layer, LayerKind
from accelsim.workload.sparsity.counts import spread_nnz
from accelsim.workload.sparsity.pruning import PrunedLayer


def conv(name="c", in_c=4, hw=6, out_c=8, k=3, stride=1, pad=1, groups=1) -> Layer:
    return Layer(name, LayerKind.CONV, ("data",), in_c, hw, hw, out_c, k, k, stride, pad, groups)


def pruned(layer: Layer, density=0.4, cv=0.5, seed=0) -> PrunedLayer:
    total = round(density * layer.weights)
    nnz = spread_nnz(total, layer.out_c, layer.weights_per_filter, cv, np.random.default_rng(seed))
    return PrunedLayer(layer, nnz, seed=seed)


def jobs_for(layers, mapping=Mapping(), hw=Hardware()):
    return [build_layer_jobs(i, p, mapping, hw) for i, p in enumerate(layers)]


def fitted(hw: Hardware, layer_jobs, slack: int = 2) -> Hardware:
    """hw with every finite buffer raised so that every block (and every broadcast's
    weights) fits: the property tests explore timing, not the fit check."""
    need_w = max(int(l.weight_bytes.max(initial=1)) for l in layer_jobs) * (hw.n_pes + 1) * 2
    need_i = max(int(l.input_bytes.max(initial=1)) for l in layer_jobs) * 2
    need_o = max(int(l.output_bytes.max(initial=1)) for l in layer_jobs) * 2

    def grow(cap, need):
        return cap if math.isinf(cap) else max(cap, need * slack)

    return attrs.evolve(
        hw,
        weight_buffer_bytes=grow(hw.weight_buffer_bytes, need_w),
        input_buffer_bytes=grow(hw.input_buffer_bytes, need_i),
        output_buffer_bytes=grow(hw.output_buffer_bytes, need_o),
    )


@st.composite
def conv_layers(draw, max_layers=3):
    layers = []
    for i in range(draw(st.integers(1, max_layers))):
        groups = draw(st.sampled_from([1, 1, 2]))
        in_c = groups * draw(st.integers(1, 4))
        out_c = groups * draw(st.integers(1, 6))
        # rectangular kernels, strides per axis, pads per side, dilations
        k_h, k_w = draw(st.integers(1, 3)), draw(st.integers(1, 3))
        dilation = (draw(st.sampled_from([1, 1, 2])), draw(st.sampled_from([1, 1, 2])))
        ext_h, ext_w = dilation[0] * (k_h - 1) + 1, dilation[1] * (k_w - 1) + 1
        pad = tuple(draw(st.integers(0, k // 2)) for k in (k_h, k_h, k_w, k_w))
        layer = Layer(
            f"l{i}",
            LayerKind.CONV,
            ("data",),
            in_c,
            draw(st.integers(ext_h, 9)),
            draw(st.integers(ext_w, 9)),
            out_c,
            k_h,
            k_w,
            (draw(st.integers(1, 2)), draw(st.integers(1, 3))),
            pad,
            groups,
            dilation=dilation,
        )
        layers.append(
            pruned(
                layer,
                draw(st.floats(0.05, 1.0)),
                draw(st.floats(0.0, 1.0)),
                draw(st.integers(0, 1000)),
            )
        )
    return layers


mappings = st.builds(
    Mapping,
    tile_h=st.integers(0, 5),
    tile_w=st.integers(0, 5),
    filters_per_job=st.integers(1, 3),
    channel_splits=st.just(1),
    weight_format=st.sampled_from(["auto", "compressed", "bitmap", "dense"]),
)

hardware = st.builds(
    Hardware,
    pe_rows=st.integers(1, 3),
    pe_cols=st.integers(1, 3),
    macs_per_cycle=st.integers(1, 8),
    job_overhead_cycles=st.integers(0, 3),
    weight_buffer_bytes=st.sampled_from([1, 64, math.inf]),
    input_buffer_bytes=st.sampled_from([1, 64, math.inf]),
    output_buffer_bytes=st.sampled_from([1, 64, math.inf]),
    double_buffered=st.booleans(),
    dram_bytes_per_cycle=st.sampled_from([1, 2.5, 16, math.inf]),
    dram_latency_cycles=st.integers(0, 20),
    noc_bytes_per_cycle=st.sampled_from([1, 8, math.inf]),
    multicast=st.booleans(),
    input_queue_depth=st.integers(1, 4),
    pe_model=st.sampled_from(["zero-skip", "window", "lane-group", "dense"]),
    pe_window=st.integers(1, 3),
)
