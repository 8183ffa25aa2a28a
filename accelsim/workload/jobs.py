"""Jobs: what a policy schedules and a PE runs.

A job is a group of filters of one layer (a *unit*, optionally one input-channel chunk of it)
over one output tile. Jobs name the operand blocks they use; blocks are shared:
- a weight block per unit (all tiles of a unit use the same compressed weights),
- an input block per (tile, conv group, channel chunk), halo included,
- an output block per (tile, filter group), accumulated over the chunks.
Jobs are listed in canonical order: tile-major, then unit.
"""

from __future__ import annotations

import numpy as np
from attrs import field, frozen

from accelsim.config import Hardware, Mapping
from accelsim.units import ceil_div
from accelsim.workload.layers import Layer
from accelsim.workload.pruning import PrunedLayer, PrunedNetwork, _array_field


@frozen
class Job:
    """Filters of one layer over one tile (and chunk); `macs` counts nonzero weights only."""

    index: int
    layer: int
    unit: int
    tile: int
    chunk: int
    filters: tuple[int, ...] = field(converter=tuple)
    macs: int
    cycles: int
    weight_block: int
    input_block: int
    output_block: int


@frozen
class LayerJobs:
    """The jobs of one layer and the sizes of the blocks they share (bytes, per block id)."""

    index: int
    layer: Layer
    jobs: tuple[Job, ...] = field(converter=tuple)
    cycles: np.ndarray = _array_field()
    weight_bytes: np.ndarray = _array_field()
    input_bytes: np.ndarray = _array_field()
    input_unique_bytes: np.ndarray = _array_field()
    output_bytes: np.ndarray = _array_field()
    output_write_bytes: np.ndarray = _array_field()
    output_uses: np.ndarray = _array_field()
    n_tiles: int
    n_units: int
    channel_splits: int
    pruned_macs: int
    dense_macs: int

    @property
    def total_cycles(self) -> int:
        return int(self.cycles.sum())

    @property
    def compulsory_input_bytes(self) -> int:
        return int(self.input_unique_bytes.sum())


def job_cycles(macs: int, hw: Hardware) -> int:
    """ceil(macs / lanes) + overhead: a zero-skipping PE spends no cycle on a zero weight."""
    return ceil_div(macs, hw.macs_per_cycle) + hw.job_overhead_cycles


def _spans(out_len: int, tile: int, stride: int, pad: int, kernel: int, in_len: int):
    """Output ranges of the tiles along one axis, and the input range each one reads."""
    tile = out_len if tile == 0 else min(tile, out_len)
    spans = []
    for o0 in range(0, out_len, tile):
        o1 = min(o0 + tile, out_len)
        i0 = max(0, o0 * stride - pad)
        i1 = min(in_len, (o1 - 1) * stride - pad + kernel)
        spans.append((o1 - o0, max(0, i1 - i0), i0, i1))
    unique, covered = [], 0
    for _, _, i0, i1 in spans:
        unique.append(max(0, i1 - max(i0, covered)))
        covered = max(covered, i1)
    return [(n_out, n_in, u) for (n_out, n_in, _, _), u in zip(spans, unique)]


def build_layer_jobs(index: int, pruned: PrunedLayer, mapping: Mapping, hw: Hardware) -> LayerJobs:
    layer = pruned.layer
    k = min(mapping.channel_splits, layer.channels_per_group)
    chunk_nnz = pruned.chunk_nnz(k)
    chunk_channels = np.diff(pruned.chunk_bounds(k))
    rows = _spans(layer.out_h, mapping.tile_h, layer.stride, layer.pad, layer.k_h, layer.in_h)
    cols = _spans(layer.out_w, mapping.tile_w, layer.stride, layer.pad, layer.k_w, layer.in_w)
    weight_bits = hw.weight_bits + (hw.index_bits if pruned.compressed else 0)
    act_bits = hw.activation_bits
    acc_bits = hw.psum_bits if k > 1 else act_bits

    # units: filter groups within each conv group, times channel chunks
    unit_filters, unit_chunk, unit_group, unit_fgroup = [], [], [], []
    fgroup = 0
    for g in range(layer.groups):
        first = g * layer.filters_per_group
        for f0 in range(first, first + layer.filters_per_group, mapping.filters_per_job):
            members = tuple(range(f0, min(f0 + mapping.filters_per_job,
                                          first + layer.filters_per_group)))
            for c in range(k):
                unit_filters.append(members)
                unit_chunk.append(c)
                unit_group.append(g)
                unit_fgroup.append(fgroup)
            fgroup += 1
    unit_nnz = [int(chunk_nnz[list(f), c].sum()) for f, c in zip(unit_filters, unit_chunk)]
    weight_bytes = [ceil_div(n * weight_bits, 8) for n in unit_nnz]

    tiles = [(r, c) for r in rows for c in cols]
    input_bytes, input_unique = [], []
    output_bytes, output_write = [], []
    for (out_r, in_r, uniq_r), (out_c, in_c, uniq_c) in tiles:
        for _g in range(layer.groups):
            for ch in chunk_channels:
                input_bytes.append(ceil_div(int(ch) * in_r * in_c * act_bits, 8))
                input_unique.append(ceil_div(int(ch) * uniq_r * uniq_c * act_bits, 8))
        for f in range(fgroup):
            n_filters = len(unit_filters[f * k])
            output_bytes.append(ceil_div(n_filters * out_r * out_c * acc_bits, 8))
            output_write.append(ceil_div(n_filters * out_r * out_c * act_bits, 8))

    jobs, cycles = [], []
    n_units = len(unit_filters)
    for t, ((out_r, _, _), (out_c, _, _)) in enumerate(tiles):
        pixels = out_r * out_c
        for u in range(n_units):
            macs = unit_nnz[u] * pixels
            cyc = job_cycles(macs, hw)
            in_block = (t * layer.groups + unit_group[u]) * k + unit_chunk[u]
            jobs.append(Job(len(jobs), index, u, t, unit_chunk[u], unit_filters[u], macs, cyc,
                            u, in_block, t * fgroup + unit_fgroup[u]))
            cycles.append(cyc)

    return LayerJobs(index=index, layer=layer, jobs=jobs, cycles=cycles,
                     weight_bytes=weight_bytes, input_bytes=input_bytes,
                     input_unique_bytes=input_unique, output_bytes=output_bytes,
                     output_write_bytes=output_write,
                     output_uses=np.full(len(tiles) * fgroup, k), n_tiles=len(tiles),
                     n_units=n_units, channel_splits=k, pruned_macs=pruned.pruned_macs,
                     dense_macs=layer.dense_macs)


def build_jobs(pruned: PrunedNetwork, mapping: Mapping, hw: Hardware) -> list[LayerJobs]:
    return [build_layer_jobs(i, p, mapping, hw) for i, p in enumerate(pruned.layers)]
