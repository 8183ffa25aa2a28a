"""Jobs: what a policy schedules and a PE runs.

A job is a group of filters of one layer (a *unit*, optionally one input-channel chunk of it)
over one output tile. Jobs name the operand blocks they use; blocks are shared:
- a weight block per unit (all tiles of a unit use the same compressed weights),
- an input block per (tile, conv group, channel chunk), halo included,
- an output block per (tile, filter group), accumulated over the chunks.
Jobs are listed in canonical order: tile-major, then unit.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numpy as np
from attrs import field, frozen

from accelsim.config import Hardware, LayerMappings, Mapping
from accelsim.errors import ConfigError
from accelsim.trace import Cause
from accelsim.units import ceil_div
from accelsim.workload import formats, pe_models
from accelsim.workload.networks.layers import Layer
from accelsim.workload.sparsity.counts import row_group_sums
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


class RunJob(NamedTuple):
    """What the SimPy model reads of a job while it runs. A tuple, built from the columns by
    C code (about 0.3 us a job): an attrs Job cost 1.3 us a job to build, a tenth of
    SimPy's whole cost per job, in every run."""

    cycles: int
    macs: int
    weight_block: int
    input_block: int
    output_block: int


@frozen
class LayerJobs:
    """The jobs of one layer as columns (one entry per job, in canonical order) and the sizes
    of the blocks they share (bytes, per block id). Engines and policies read the columns;
    the SimPy model's dispatcher hands out `run_jobs`, and `jobs` are Job objects for tests
    and tools."""

    index: int
    layer: Layer
    cycles: np.ndarray = _array_field()
    job_unit: np.ndarray = _array_field()
    job_tile: np.ndarray = _array_field()
    job_macs: np.ndarray = _array_field()
    job_input_block: np.ndarray = _array_field()
    job_output_block: np.ndarray = _array_field()
    unit_chunk: np.ndarray = _array_field()  # channel chunk of each unit
    unit_fgroup: np.ndarray = _array_field()  # filter group of each unit
    fgroup_filters: tuple[tuple[int, ...], ...] = field(converter=tuple)  # per filter group
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
        """The jobs as objects, built once on first use and kept (about 250 B a job: for
        tests and tools; the SimPy model runs on `run_jobs`)."""
        jobs = self._columns.get("jobs")
        if jobs is None:
            filters = [self.fgroup_filters[fg] for fg in self.unit_fgroup.tolist()]
            columns = [self.column(a).tolist() for a in ("unit", "tile", "chunk", "macs")]
            columns += [
                self.cycles.tolist(),
                self.job_input_block.tolist(),
                self.job_output_block.tolist(),
            ]
            jobs = self._columns["jobs"] = tuple(
                Job(j, self.index, u, t, c, filters[u], m, cyc, u, i, o)
                for j, (u, t, c, m, cyc, i, o) in enumerate(zip(*columns))
            )
        return jobs

    def run_jobs(self) -> tuple[RunJob, ...]:
        """The jobs as the SimPy model runs them, built anew for each run and dropped with
        it, so the model holds one layer's at a time, never the network's."""
        columns = (
            self.cycles.tolist(),
            self.job_macs.tolist(),
            self.job_unit.tolist(),  # a unit's weights are one block
            self.job_input_block.tolist(),
            self.job_output_block.tolist(),
        )
        # tuple.__new__ through a partial: all in C (RunJob._make is a Python frame a job)
        return tuple(map(functools.partial(tuple.__new__, RunJob), zip(*columns)))

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


@functools.lru_cache(maxsize=4096)
def _spans(out_len: int, tile: int, stride: int, pad_begin: int, extent: int, in_len: int):
    """Output ranges of the tiles along one axis, and the input range each one reads: from
    the first window's first row to the last window's last (`extent` rows each, a dilated
    kernel's span; rows a dilated window skips inside that range are read too). Kept per
    axis and tile (a tuple: shared), since the mapper asks again for every filter cut."""
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
    return tuple((n_out, n_in, u) for (n_out, n_in, _, _), u in zip(spans, unique))


@frozen
class LayerUnits:
    """A layer's filter groups (conv group, filters: a contiguous range), the chunks each is
    cut into, its units as rows (filter group, chunks, chunk) in build order (filter group,
    then chunk), and their weight blocks; and what every tile repeats: its input blocks'
    channels, each unit's input block within a tile, each unit's lane slots per output
    pixel (the mapper builds dozens of tile shapes on one LayerUnits)."""

    fgroups: list
    splits: list
    chunk_nnz: dict
    chunk_channels: dict
    units: np.ndarray
    unit_nnz: np.ndarray
    weight_format: str
    weight_bytes: np.ndarray
    block_channels: np.ndarray  # a tile's input blocks: (conv group, chunking, chunk) order
    block_owner: np.ndarray  # the narrowest chunking of its conv group: the compulsory bytes
    unit_block: np.ndarray  # each unit's input block within a tile
    fgroup_size: np.ndarray  # filters per filter group
    unit_slots: np.ndarray  # lane slots per output pixel (pe_models.unit_slots)

    @property
    def unit_fgroup(self) -> np.ndarray:
        return self.units[:, 0]

    @property
    def unit_chunk(self) -> np.ndarray:
        return self.units[:, 2]


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
        end = first + layer.filters_per_group
        for f0 in range(first, end, mapping.filters_per_job):
            fgroups.append((g, tuple(range(f0, min(f0 + mapping.filters_per_job, end)))))
    splits = _splits(pruned, fgroups, mapping, hw.n_pes)
    memo = {} if memo is None else memo
    for k in set(splits) - set(memo):
        memo[k] = pruned.chunk_nnz(k)
    chunk_nnz = {k: memo[k] for k in sorted(set(splits))}
    chunk_channels = {k: np.diff(pruned.chunk_bounds(k)) for k in chunk_nnz}

    # units: (filter group, chunk); a unit's weights serve every tile
    fg_k = np.array(splits, dtype=np.int64)
    unit_fg = np.repeat(np.arange(len(fgroups), dtype=np.int64), fg_k)
    unit_k = fg_k[unit_fg]
    unit_c = np.arange(len(unit_fg), dtype=np.int64) - (np.cumsum(fg_k) - fg_k)[unit_fg]
    # a unit's nonzeros: its filters (a contiguous range) summed in chunk c
    starts = [m[0] for _, m in fgroups]
    count = np.diff([*starts, layer.out_c]).astype(np.int64)[unit_fg]
    unit_nnz = np.zeros(len(unit_fg), dtype=np.int64)
    unit_channels = np.zeros(len(unit_fg), dtype=np.int64)
    for k, per_chunk in chunk_nnz.items():
        sel = unit_k == k
        per_group = row_group_sums(per_chunk, starts)
        unit_nnz[sel] = per_group[unit_fg[sel], unit_c[sel]]
        unit_channels[sel] = chunk_channels[k][unit_c[sel]]
    unit_weights = count * unit_channels * layer.k_h * layer.k_w
    weight_format = formats.choose(
        mapping.weight_format_of(layer.name) if pruned.compressed else "dense",
        unit_nnz,
        unit_weights,
        hw,
    )
    weight_bytes = formats.unit_bytes(weight_format, unit_nnz, unit_weights, hw)
    units = np.stack([unit_fg, unit_k, unit_c], axis=1)

    # input blocks per (tile, conv group, partition k, chunk). The narrowest partition in use
    # owns the compulsory bytes; a wider one re-reads channels already counted: cause SPLIT.
    # Every tile has the same blocks in the same order: (g, k, c) for inputs, filter groups
    # for outputs; only the pixels differ (build_layer_jobs).
    fg_g = np.array([g for g, _ in fgroups], dtype=np.int64)
    pairs = sorted({(int(g), int(k)) for g, k in zip(fg_g, fg_k)})  # (g, k), in block order
    pair_first = {}  # (g, k) -> its chunk 0's block index within a tile
    channels_parts, owner_parts, narrowest, n_blocks = [], [], {}, 0
    for g, k in pairs:
        pair_first[(g, k)] = n_blocks
        n_blocks += k
        channels_parts.append(chunk_channels[k])
        owner_parts.append(np.full(k, narrowest.setdefault(g, k) == k))
    channels = np.concatenate(channels_parts).astype(np.int64) if pairs else np.zeros(0, np.int64)
    owner = np.concatenate(owner_parts) if pairs else np.zeros(0, dtype=bool)
    fg_block = np.array([pair_first[(int(g), int(k))] for g, k in zip(fg_g, fg_k)], np.int64)
    slots = pe_models.unit_slots(
        pruned, hw.pe_model, hw.macs_per_cycle, hw.pe_window, starts, units, unit_nnz
    )
    return LayerUnits(
        fgroups,
        splits,
        chunk_nnz,
        chunk_channels,
        units,
        unit_nnz,
        weight_format,
        weight_bytes,
        channels,
        owner,
        fg_block[unit_fg] + unit_c,
        np.array([len(members) for _, members in fgroups], dtype=np.int64),
        slots,
    )


def _tile_sizes(layer: Layer, mapping: Mapping) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per tile (row-major): output pixels, input pixels read (halo included) and input
    pixels no earlier tile read."""
    rows = np.array(
        _spans(
            layer.out_h, mapping.tile_h, layer.stride_h, layer.pad_h[0], layer.extent_h, layer.in_h
        ),
        dtype=np.int64,
    ).reshape(-1, 3)
    cols = np.array(
        _spans(
            layer.out_w, mapping.tile_w, layer.stride_w, layer.pad_w[0], layer.extent_w, layer.in_w
        ),
        dtype=np.int64,
    ).reshape(-1, 3)
    return tuple(np.outer(rows[:, i], cols[:, i]).ravel() for i in range(3))


def build_layer_jobs(
    index: int,
    pruned: PrunedLayer,
    mapping: Mapping,
    hw: Hardware,
    units: LayerUnits | None = None,
) -> LayerJobs:
    """The layer's jobs under `mapping`; `units`, when given, are layer_units(pruned,
    mapping, hw) already made (the mapper makes them once per filter cut, for every tile
    shape)."""
    layer = pruned.layer
    tile_out, tile_in, tile_unique = _tile_sizes(layer, mapping)
    n_tiles = len(tile_out)
    act_bits = hw.activation_bits

    lu = layer_units(pruned, mapping, hw) if units is None else units
    fgroups, splits = lu.fgroups, lu.splits
    unit_fgroup, unit_c = lu.unit_fgroup, lu.unit_chunk
    weight_format, weight_bytes = lu.weight_format, lu.weight_bytes

    # every tile has the same blocks in the same order (layer_units): only the pixels
    # differ, so sizes are outer products
    fg_k = np.array(splits, dtype=np.int64)
    channels, owner = lu.block_channels, lu.block_owner
    input_bytes = ceil_div(np.outer(tile_in, channels) * act_bits, 8).ravel()
    input_unique = (ceil_div(np.outer(tile_unique, channels) * act_bits, 8) * owner).ravel()
    input_extra = np.tile(np.where(owner, Cause.HALO, Cause.SPLIT), n_tiles)
    fg_filters = lu.fgroup_size
    fg_bits = np.where(fg_k > 1, hw.psum_bits, act_bits)
    output_bytes = ceil_div(np.outer(tile_out, fg_filters * fg_bits), 8).ravel()
    output_write = ceil_div(np.outer(tile_out, fg_filters * act_bits), 8).ravel()
    output_uses = np.tile(fg_k, n_tiles)
    slots = lu.unit_slots

    # a two-sided PE also skips zero inputs: a job keeps the share of its nonzero weights
    # whose input is nonzero, from its kernels and its tile's per-channel input density
    n_units = len(unit_fgroup)
    skips = hw.pe_skips_activations and pruned.activation_density < 1
    if skips:
        kept, silent = _kept_shares(pruned, lu, pruned.input_activation_density(tile_in))

    # jobs, tile-major then unit, as columns
    tile = np.repeat(np.arange(n_tiles, dtype=np.int64), n_units)
    unit = np.tile(np.arange(n_units, dtype=np.int64), n_tiles)
    # tile t's input blocks come t x per_tile after tile 0's
    per_tile = len(channels)
    input_block = tile * per_tile + lu.unit_block[unit]
    output_block = tile * len(fgroups) + unit_fgroup[unit]
    if skips:
        share = kept.T.ravel()  # per job, (tile, unit) order
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
        macs = _scaled(lu.unit_nnz[unit] * tile_out[tile], share)
        slot_count = _scaled(slots[unit] * tile_out[tile], share)
    else:  # every job keeps all its MACs: nothing to scale or round
        macs = np.asarray(lu.unit_nnz, dtype=np.int64)[unit] * tile_out[tile]
        slot_count = np.asarray(slots, dtype=np.int64)[unit] * tile_out[tile]
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
        unit_chunk=unit_c,
        unit_fgroup=unit_fgroup,
        fgroup_filters=[members for _, members in fgroups],
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


# products formed at a time in _kept_shares: 2 MB of floats. Below numpy's 4 MB hugepage
# advice and glibc's mmap threshold, so each block reuses the last one's memory: 32 MB
# blocks were mapped afresh each time and cost 1-2 s of page faults (system time) on fc6
_PRODUCT_BLOCK = 1 << 18


def _kept_shares(
    pruned: PrunedLayer, lu: LayerUnits, density: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(units, tiles) share of each unit's nonzero-weight MACs whose input is nonzero: per
    unit, its filters' nonzeros on each channel of its chunk weighted by the tile's density
    of that channel (units in build order: filter group, then chunk). A unit without
    nonzeros keeps everything (it has nothing to skip). Also whether the unit's input block
    in that tile is all zeros (silent). Filter groups with the same conv group and chunking
    are computed together, in blocks."""
    cpg = pruned.layer.channels_per_group
    n_tiles = len(density)
    n_units = len(lu.units)
    shares = np.ones((n_units, n_tiles))
    silent = np.zeros((n_units, n_tiles), dtype=bool)
    if not n_units:
        return shares, silent
    # each filter group's nonzeros per channel (filter groups are contiguous filter ranges)
    per_group = row_group_sums(pruned.kernel_nnz(), [m[0] for _, m in lu.fgroups])
    fg_g = np.array([g for g, _ in lu.fgroups], dtype=np.int64)
    fg_k = np.array(lu.splits, dtype=np.int64)
    fg_first_unit = np.cumsum(fg_k) - fg_k
    for g, k in sorted({(int(g), int(k)) for g, k in zip(fg_g, fg_k)}):
        fgs = np.flatnonzero((fg_g == g) & (fg_k == k))
        bounds = pruned.chunk_bounds(k)
        inputs = density[:, g * cpg : (g + 1) * cpg]  # (tiles, channels)
        # (groups, channels), integer; a slice when the groups are consecutive (no copy)
        contiguous = fgs[-1] - fgs[0] + 1 == len(fgs)
        weights = per_group[fgs[0] : fgs[-1] + 1] if contiguous else per_group[fgs]
        # the products of the per-group loop this replaces (integer weights as floats times
        # densities), summed per chunk the same way, so the shares are the same floats; a
        # block of groups and tiles at a time
        total = np.empty((len(fgs), k), dtype=np.int64)
        hit = np.empty((len(fgs), n_tiles, k))
        g_step = max(1, _PRODUCT_BLOCK // max(1, cpg))
        t_step = max(1, _PRODUCT_BLOCK // max(1, min(g_step, len(fgs)) * cpg))
        for g0 in range(0, len(fgs), g_step):
            # integer sums (exact), per block: a sum cast to int64 copies what it sums, and
            # a copy of all of fc6's kernels cost 1.9 s of page faults
            rows = weights[g0 : g0 + g_step]
            total[g0 : g0 + g_step] = np.add.reduceat(rows, bounds[:-1], axis=1, dtype=np.int64)
            block = rows[:, None, :]
            for t0 in range(0, n_tiles, t_step):
                # integers times floats: the same float products as a float copy would give
                part = np.multiply(block, inputs[None, t0 : t0 + t_step, :], dtype=float)
                hit[g0 : g0 + g_step, t0 : t0 + t_step] = np.add.reduceat(part, bounds[:-1], axis=2)
        hit = hit.transpose(0, 2, 1)  # (groups, k, tiles)
        total = total.astype(float)
        share = np.divide(
            hit, total[:, :, None], out=np.ones_like(hit), where=total[:, :, None] > 0
        )
        quiet = (np.maximum.reduceat(inputs, bounds[:-1], axis=1) == 0).T  # (k, tiles)
        rows = (fg_first_unit[fgs][:, None] + np.arange(k)).ravel()
        shares[rows] = share.reshape(-1, n_tiles)
        silent[rows] = np.broadcast_to(quiet, (len(fgs), k, n_tiles)).reshape(-1, n_tiles)
    return shares, silent


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
    starts = [members[0] for _, members in fgroups]
    loads = np.add.reduceat(pruned.filter_nnz, starts).tolist() if fgroups else []
    share = sum(loads) / n_pes
    return [1 if load <= share else min(channels, math.ceil(load / share)) for load in loads]


# a larger cut is refused before building: what fits in 8 GB at the peak bytes per job of a
# run (285 B/job resident for 11.1 M jobs of ResNet-50 in the closed form, SimPy about 15 %
# more; benchmarks/memory.py)
BYTES_PER_JOB = 330
MAX_JOBS = 8_000_000_000 // BYTES_PER_JOB // 1_000_000 * 1_000_000  # 24,000,000


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
            f"{what} cut the network into up to {bound:,} jobs (about "
            f"{bound * BYTES_PER_JOB / 1e9:,.1f} GB to simulate), more than {MAX_JOBS:,} (what "
            f"fits in 8 GB at about {BYTES_PER_JOB} B a job): use larger tiles, more filters "
            f"per job or fewer channel splits"
        )
    return [
        build_layer_jobs(i, p, mapping.of(p.layer.name), hw) for i, p in enumerate(pruned.layers)
    ]
