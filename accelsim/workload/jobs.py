"""Jobs: what a policy schedules and a PE runs.

A job is a group of filters of one layer (a *unit*, optionally one input-channel chunk of it)
over one output tile. Jobs name the operand blocks they use; blocks are shared:
- a weight block per unit (all tiles of a unit use the same compressed weights),
- an input block per (tile, conv group, channel chunk), halo included,
- an output block per (tile, filter group), accumulated over the chunks.
Jobs are listed in canonical order: tile-major, then unit.
"""

from __future__ import annotations

import math

import numpy as np
from attrs import field, frozen

from accelsim.config import Hardware, LayerMappings, Mapping
from accelsim.errors import ConfigError
from accelsim.trace import Cause
from accelsim.units import ceil_div
from accelsim.workload import formats, pe_models
from accelsim.workload.networks.layers import Layer
from accelsim.workload.sparsity.pruning import PrunedLayer, PrunedNetwork, _array_field


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
    """The jobs of one layer as columns (one entry per job, in canonical order) and the sizes
    of the blocks they share (bytes, per block id). Engines and policies read the columns;
    `jobs` builds Job objects only for the SimPy model's dispatcher, which hands them out."""

    index: int
    layer: Layer
    cycles: np.ndarray = _array_field()
    job_unit: np.ndarray = _array_field()
    job_tile: np.ndarray = _array_field()
    job_macs: np.ndarray = _array_field()
    job_input_block: np.ndarray = _array_field()
    job_output_block: np.ndarray = _array_field()
    unit_chunk: np.ndarray = _array_field()  # channel chunk of each unit
    unit_filters: tuple[tuple[int, ...], ...] = field(converter=tuple)
    weight_bytes: np.ndarray = _array_field()
    input_bytes: np.ndarray = _array_field()
    input_unique_bytes: np.ndarray = _array_field()
    input_extra_cause: np.ndarray = _array_field()  # cause of bytes beyond the unique ones
    output_bytes: np.ndarray = _array_field()
    output_write_bytes: np.ndarray = _array_field()
    output_uses: np.ndarray = _array_field()
    n_tiles: int
    n_units: int
    channel_splits: int
    pruned_macs: int
    dense_macs: int
    weight_format: str = "compressed"  # as stored and streamed (accelsim.workload.formats)
    _columns: dict = field(init=False, factory=dict, eq=False, repr=False)

    @property
    def n_jobs(self) -> int:
        return len(self.cycles)

    def column(self, attr: str) -> np.ndarray:
        """One integer attribute of every job (a Job field name) as a read-only array."""
        a = self._columns.get(attr)
        if a is None:
            if attr in ("unit", "weight_block"):  # a unit's weights are one block
                a = self.job_unit
            elif attr == "chunk":
                a = self.unit_chunk[self.job_unit]
            elif attr == "index":
                a = np.arange(self.n_jobs, dtype=np.int64)
            elif attr == "layer":
                a = np.full(self.n_jobs, self.index, dtype=np.int64)
            else:
                a = getattr(self, f"job_{attr}")
            a.setflags(write=False)
            self._columns[attr] = a
        return a

    @property
    def jobs(self) -> tuple[Job, ...]:
        """The jobs as objects, built once on first use."""
        jobs = self._columns.get("jobs")
        if jobs is None:
            filters = self.unit_filters
            columns = [self.column(a).tolist() for a in ("unit", "tile", "chunk", "macs")]
            columns += [
                self.cycles.tolist(),
                self.job_input_block.tolist(),
                self.job_output_block.tolist(),
            ]
            jobs = tuple(
                Job(j, self.index, u, t, c, filters[u], m, cyc, u, i, o)
                for j, (u, t, c, m, cyc, i, o) in enumerate(zip(*columns))
            )
            self._columns["jobs"] = jobs
        return jobs

    @property
    def total_cycles(self) -> int:
        return int(self.cycles.sum())

    @property
    def compulsory_input_bytes(self) -> int:
        return int(self.input_unique_bytes.sum())


def job_cycles(slots: int, hw: Hardware) -> int:
    """ceil(lane slots / lanes) + overhead; the PE model (accelsim.workload.pe_models) says how
    many slots a job's weights take: a zero-skipping PE spends none on a zero weight."""
    return ceil_div(slots, hw.macs_per_cycle) + hw.job_overhead_cycles


def _scaled(count: np.ndarray, density: np.ndarray) -> np.ndarray:
    """Counts of weight-side work times input densities, rounded up (whole MACs); a density
    of 1 keeps the count exactly, and the product is rounded to 1e-6 first, so that a share
    of whole hits (3 of 7) gives back exactly those hits."""
    return np.where(density >= 1, count, np.ceil(np.round(count * density, 6))).astype(np.int64)


def _spans(out_len: int, tile: int, stride: int, pad_begin: int, extent: int, in_len: int):
    """Output ranges of the tiles along one axis, and the input range each one reads: from
    the first window's first row to the last window's last (`extent` rows each, a dilated
    kernel's span; rows a dilated window skips inside that range are read too)."""
    tile = out_len if tile == 0 else min(tile, out_len)
    spans = []
    for o0 in range(0, out_len, tile):
        o1 = min(o0 + tile, out_len)
        i0 = max(0, o0 * stride - pad_begin)
        i1 = min(in_len, (o1 - 1) * stride - pad_begin + extent)
        spans.append((o1 - o0, max(0, i1 - i0), i0, i1))
    unique, covered = [], 0
    for _, _, i0, i1 in spans:
        unique.append(max(0, i1 - max(i0, covered)))
        covered = max(covered, i1)
    return [(n_out, n_in, u) for (n_out, n_in, _, _), u in zip(spans, unique)]


@frozen
class LayerUnits:
    """A layer's filter groups (conv group, filters), the chunks each is cut into, its units
    (filter group index, conv group, filters, chunks, chunk) and their weight blocks."""

    fgroups: list
    splits: list
    chunk_nnz: dict
    chunk_channels: dict
    units: list
    unit_nnz: np.ndarray
    weight_format: str
    weight_bytes: np.ndarray


def layer_units(
    pruned: PrunedLayer, mapping: Mapping, hw: Hardware, memo: dict | None = None
) -> LayerUnits:
    """The units a mapping cuts a layer's filters into, with their weight blocks: what
    depends on filters_per_job and channel_splits alone, not on the tiles. `memo` keeps
    each chunking's nonzero counts for the next call on the same layer (the mapper's)."""
    layer = pruned.layer
    # filter groups within each conv group, and how many channel chunks each is cut into
    fgroups: list[tuple[int, tuple[int, ...]]] = []
    for g in range(layer.groups):
        first = g * layer.filters_per_group
        for f0 in range(first, first + layer.filters_per_group, mapping.filters_per_job):
            fgroups.append(
                (
                    g,
                    tuple(
                        range(
                            f0, min(f0 + mapping.filters_per_job, first + layer.filters_per_group)
                        )
                    ),
                )
            )
    splits = _splits(pruned, fgroups, mapping, hw.n_pes)
    memo = {} if memo is None else memo
    for k in set(splits) - set(memo):
        memo[k] = pruned.chunk_nnz(k)
    chunk_nnz = {k: memo[k] for k in sorted(set(splits))}
    chunk_channels = {k: np.diff(pruned.chunk_bounds(k)) for k in chunk_nnz}

    # units: (filter group, chunk); a unit's weights serve every tile
    units = [
        (fg, g, members, k, c)
        for fg, ((g, members), k) in enumerate(zip(fgroups, splits))
        for c in range(k)
    ]
    # a unit's nonzeros: its filters (a contiguous range) summed in chunk c, from prefix sums
    unit_k = np.array([k for *_, k, _ in units], dtype=np.int64)
    unit_c = np.array([c for *_, c in units], dtype=np.int64)
    first = np.array([m[0] for _, _, m, _, _ in units], dtype=np.int64)
    count = np.array([len(m) for _, _, m, _, _ in units], dtype=np.int64)
    unit_nnz = np.zeros(len(units), dtype=np.int64)
    unit_channels = np.zeros(len(units), dtype=np.int64)
    for k, per_chunk in chunk_nnz.items():
        prefix = np.concatenate([np.zeros((1, k), dtype=np.int64), np.cumsum(per_chunk, axis=0)])
        sel = unit_k == k
        unit_nnz[sel] = (
            prefix[first[sel] + count[sel], unit_c[sel]] - prefix[first[sel], unit_c[sel]]
        )
        unit_channels[sel] = chunk_channels[k][unit_c[sel]]
    unit_weights = count * unit_channels * layer.k_h * layer.k_w
    weight_format = formats.choose(
        mapping.weight_format_of(layer.name) if pruned.compressed else "dense",
        unit_nnz,
        unit_weights,
        hw,
    )
    weight_bytes = formats.unit_bytes(weight_format, unit_nnz, unit_weights, hw)
    return LayerUnits(
        fgroups, splits, chunk_nnz, chunk_channels, units, unit_nnz, weight_format, weight_bytes
    )


def build_layer_jobs(index: int, pruned: PrunedLayer, mapping: Mapping, hw: Hardware) -> LayerJobs:
    layer = pruned.layer
    rows = _spans(
        layer.out_h, mapping.tile_h, layer.stride_h, layer.pad_h[0], layer.extent_h, layer.in_h
    )
    cols = _spans(
        layer.out_w, mapping.tile_w, layer.stride_w, layer.pad_w[0], layer.extent_w, layer.in_w
    )
    tiles = [(r, c) for r in rows for c in cols]
    act_bits = hw.activation_bits

    lu = layer_units(pruned, mapping, hw)
    fgroups, splits, chunk_nnz, chunk_channels, units, unit_nnz = (
        lu.fgroups,
        lu.splits,
        lu.chunk_nnz,
        lu.chunk_channels,
        lu.units,
        lu.unit_nnz,
    )
    weight_format, weight_bytes = lu.weight_format, lu.weight_bytes
    unit_nnz = unit_nnz.tolist()

    # input blocks per (tile, conv group, partition k, chunk). The narrowest partition in use
    # owns the compulsory bytes; a wider one re-reads channels already counted: cause SPLIT.
    shapes = {
        g: sorted({k for (gg, _), k in zip(fgroups, splits) if gg == g})
        for g in range(layer.groups)
    }
    # every tile has the same blocks in the same order: (g, k, c) for inputs, filter groups
    # for outputs; only the pixels differ, so sizes are outer products
    block_id: dict[tuple[int, int, int], int] = {}  # (g, k, c) -> index within a tile
    channels, owner = [], []
    for g in range(layer.groups):
        for k in shapes[g]:
            for c, ch in enumerate(chunk_channels[k]):
                block_id[(g, k, c)] = len(channels)
                channels.append(int(ch))
                owner.append(k == shapes[g][0])
    channels, owner = np.array(channels, dtype=np.int64), np.array(owner, dtype=bool)
    tile_in = np.array([r[1] * c[1] for r, c in tiles], dtype=np.int64)
    tile_unique = np.array([r[2] * c[2] for r, c in tiles], dtype=np.int64)
    input_bytes = ceil_div(np.outer(tile_in, channels) * act_bits, 8).ravel()
    input_unique = (ceil_div(np.outer(tile_unique, channels) * act_bits, 8) * owner).ravel()
    input_extra = np.tile(np.where(owner, Cause.HALO, Cause.SPLIT), len(tiles))
    fg_filters = np.array([len(members) for _, members in fgroups], dtype=np.int64)
    fg_k = np.array(splits, dtype=np.int64)
    fg_bits = np.where(fg_k > 1, hw.psum_bits, act_bits)
    tile_out = np.array([r[0] * c[0] for r, c in tiles], dtype=np.int64)
    output_bytes = ceil_div(np.outer(tile_out, fg_filters * fg_bits), 8).ravel()
    output_write = ceil_div(np.outer(tile_out, fg_filters * act_bits), 8).ravel()
    output_uses = np.tile(fg_k, len(tiles))

    bounds = {k: pruned.chunk_bounds(k) for k in chunk_nnz}
    slots = pe_models.unit_slots(
        pruned,
        hw.pe_model,
        hw.macs_per_cycle,
        hw.pe_window,
        [(members, int(bounds[k][c]), int(bounds[k][c + 1])) for _, _, members, k, c in units],
        unit_nnz,
    )

    # a two-sided PE also skips zero inputs: a job keeps the share of its nonzero weights
    # whose input is nonzero, from its kernels and its tile's per-channel input density
    kept = np.ones((len(units), len(tiles)))
    silent = np.zeros((len(units), len(tiles)), dtype=bool)
    if hw.pe_skips_activations and pruned.activation_density < 1:
        read = [in_r * in_c for (_, in_r, _), (_, in_c, _) in tiles]
        kept, silent = _kept_shares(
            pruned, fgroups, splits, bounds, pruned.input_activation_density(read)
        )

    # jobs, tile-major then unit, as columns
    pixels = np.array([r[0] * c[0] for r, c in tiles], dtype=np.int64)
    n_units, n_tiles = len(units), len(tiles)
    tile = np.repeat(np.arange(n_tiles, dtype=np.int64), n_units)
    unit = np.tile(np.arange(n_units, dtype=np.int64), n_tiles)
    share = kept.T.ravel()  # per job, (tile, unit) order
    # tile t's input blocks come t x per_tile after tile 0's
    per_tile = len(channels)
    unit_block = np.array([block_id[(g, k, c)] for _, g, _, k, c in units], dtype=np.int64)
    unit_fgroup = np.array([fg for fg, *_ in units], dtype=np.int64)
    input_block = tile * per_tile + unit_block[unit]
    output_block = tile * len(fgroups) + unit_fgroup[unit]
    if silent.any():
        keep = _heard(silent.T.ravel(), output_block, len(output_bytes))
        tile, unit, share = tile[keep], unit[keep], share[keep]
        input_block, output_block = input_block[keep], output_block[keep]
        output_uses = np.bincount(output_block, minlength=len(output_bytes))
        # a block no job reads is never loaded: it has no bytes to move
        weight_bytes = np.where(np.bincount(unit, minlength=n_units) > 0, weight_bytes, 0)
        read_blocks = np.bincount(input_block, minlength=len(input_bytes)) > 0
        input_bytes = np.where(read_blocks, input_bytes, 0)
        input_unique = np.where(read_blocks, input_unique, 0)
    macs = _scaled(np.asarray(unit_nnz, dtype=np.int64)[unit] * pixels[tile], share)
    slot_count = _scaled(np.asarray(slots, dtype=np.int64)[unit] * pixels[tile], share)
    cycles = -(-slot_count // hw.macs_per_cycle) + hw.job_overhead_cycles  # job_cycles

    return LayerJobs(
        index=index,
        layer=layer,
        cycles=cycles,
        job_unit=unit,
        job_tile=tile,
        job_macs=macs,
        job_input_block=input_block,
        job_output_block=output_block,
        unit_chunk=[c for *_, c in units],
        unit_filters=[members for _, _, members, _, _ in units],
        weight_bytes=weight_bytes,
        input_bytes=input_bytes,
        input_unique_bytes=input_unique,
        input_extra_cause=input_extra,
        output_bytes=output_bytes,
        output_write_bytes=output_write,
        output_uses=output_uses,
        n_tiles=n_tiles,
        n_units=n_units,
        channel_splits=max(splits, default=1),
        pruned_macs=pruned.pruned_macs,
        dense_macs=layer.dense_macs,
        weight_format=weight_format,
    )


def _kept_shares(
    pruned: PrunedLayer, fgroups, splits, bounds, density: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(units, tiles) share of each unit's nonzero-weight MACs whose input is nonzero: per
    unit, its filters' nonzeros on each channel of its chunk weighted by the tile's density
    of that channel (units in build order: filter group, then chunk). A unit without
    nonzeros keeps everything (it has nothing to skip). Also whether the unit's input block
    in that tile is all zeros (silent)."""
    cpg = pruned.layer.channels_per_group
    per_group = np.add.reduceat(pruned.kernel_nnz(), [m[0] for _, m in fgroups], axis=0)
    shares, silent = [], []
    for (g, _), k, weights in zip(fgroups, splits, per_group):
        starts = bounds[k][:-1]
        inputs = density[:, g * cpg : (g + 1) * cpg]
        hit = np.add.reduceat(inputs * weights, starts, axis=1)
        total = np.add.reduceat(weights, starts).astype(float)
        shares.append(np.divide(hit, total, out=np.ones_like(hit), where=total > 0).T)
        silent.append((np.maximum.reduceat(inputs, starts, axis=1) == 0).T)
    if not shares:
        return np.ones((0, len(density))), np.zeros((0, len(density)), dtype=bool)
    return np.concatenate(shares), np.concatenate(silent)


def _heard(silent: np.ndarray, output_block: np.ndarray, n_outputs: int) -> np.ndarray:
    """Which jobs a two-sided PE receives: a job whose input block is all zeros is never
    broadcast (a zero detector at the input buffer, as EIE's leading-nonzero detection skips
    zero activations), except the first job of an output block all of whose inputs are zero,
    which still produces that output."""
    keep = ~silent
    heard = np.bincount(output_block[keep], minlength=n_outputs) > 0
    first = np.unique(output_block, return_index=True)[1]
    keep[first[~heard[output_block[first]]]] = True
    return keep


def _splits(pruned: PrunedLayer, fgroups, mapping: Mapping, n_pes: int) -> list[int]:
    """Channel chunks per filter group: the mapping's number (capped at the channels a filter
    sees), or with "auto" just enough chunks that no job exceeds total / P."""
    channels = pruned.layer.channels_per_group
    if mapping.channel_splits != "auto":
        return [min(mapping.channel_splits, channels)] * len(fgroups)
    loads = [int(pruned.filter_nnz[list(members)].sum()) for _, members in fgroups]
    share = sum(loads) / n_pes
    return [1 if load <= share else min(channels, math.ceil(load / share)) for load in loads]


MAX_JOBS = 2_000_000  # about 2 GB of jobs and traces; a larger cut is refused before building


def job_count_bound(layers, mapping: Mapping | LayerMappings, n_pes: int) -> int:
    """At most how many jobs the mapping cuts these layers into, from their shapes alone
    (tiles x filter groups x channel chunks; "auto" splits a group into at most P chunks)."""
    total = 0
    for layer in layers:
        m = mapping.of(layer.name)
        tiles_h = -(-layer.out_h // m.tile_h) if m.tile_h else 1
        tiles_w = -(-layer.out_w // m.tile_w) if m.tile_w else 1
        groups = layer.groups * -(-layer.filters_per_group // m.filters_per_job)
        splits = n_pes if m.channel_splits == "auto" else m.channel_splits
        total += tiles_h * tiles_w * groups * min(splits, layer.channels_per_group)
    return total


def build_jobs(
    pruned: PrunedNetwork, mapping: Mapping | LayerMappings, hw: Hardware
) -> list[LayerJobs]:
    """Every layer's jobs, each cut by its own mapping (`mapping.of(layer name)`: one fixed
    Mapping for all, or the mapper's LayerMappings); a mapping that would cut more than
    MAX_JOBS is a ConfigError first (channel splits at the channel count made millions of
    jobs and ran out of memory after a minute)."""
    bound = job_count_bound([p.layer for p in pruned.layers], mapping, hw.n_pes)
    if bound > MAX_JOBS:
        what = (
            "the mapper's mappings"
            if isinstance(mapping, LayerMappings)
            else (
                f"[mapping] tile_h = {mapping.tile_h}, tile_w = {mapping.tile_w}, filters_per_job "
                f"= {mapping.filters_per_job}, channel_splits = {mapping.channel_splits!r}"
            )
        )
        raise ConfigError(
            f"{what} cut the network into up to {bound:,} jobs (about {bound // 1_000_000:,} GB to "
            f"simulate), more than {MAX_JOBS:,}: use larger tiles, more filters per job or "
            f"fewer channel splits"
        )
    return [
        build_layer_jobs(i, p, mapping.of(p.layer.name), hw) for i, p in enumerate(pruned.layers)
    ]
