"""The dense reference: a TPU-like systolic array, cycle-exact to SCALE-Sim 3.0.

A sparse design is judged against the dense systolic array a reviewer would build instead,
with the same MAC count (iso-MAC) or the same silicon area (iso-area). This is a baseline,
not an engine: no jobs, no schedule, no sparsity. Every layer is a closed form, the one
SCALE-Sim 3.0's demand matrices add up to (docs/model.md, "The systolic reference"):

- the layer is the matrix product of its im2col operand (T output pixels x W = k_h k_w C
  window words) and its filters (W x K); the dataflow maps it onto the R x C array as a
  (Sr, Sc, T) problem: weight stationary (W, K, T), output stationary (T, K, W), input
  stationary (W, T, K), each Sr x Sc block one fold;
- a fold lasts 2R + C + T - 2 cycles (ws, is: R cycles to preload the stationary operand,
  then T streamed, skewed over R + C - 2) or R + C + T - 2 (os: nothing preloaded);
  folds = ceil(Sr / R) x ceil(Sc / C), run one after another;
- DRAM words of SCALE-Sim's double-buffered read buffer, which keeps every word it fetched
  until E = 50 x floor(SRAM words / 100) new words have come in and then starts again empty:
  filters exactly as it counts them (filter_reads); inputs once when all of them fit in E,
  else once per SRAM read (an upper bound on SCALE-Sim's count: it also keeps the overlap
  of neighbouring windows that falls inside one E); outputs once per row fold (ws, is:
  each fold's partial sums) or once (os). Words are the design's bit widths: inputs and
  outputs `activation_bits`, weights `weight_bits`.

Energy and area come from accelsim's own tables (accelsim.config.EnergyTable, AreaTable), so
the reference and the sparse design are priced alike.
"""

from __future__ import annotations

import math

import attrs
import numpy as np
from attrs import field, frozen

from accelsim.config import (
    MAX_BYTES,
    MAX_PES,
    AreaTable,
    EnergyTable,
    Hardware,
    _int_in,
    _one_of,
    _rate,
)
from accelsim.engine.area import buffer_um2, lane_um2
from accelsim.workload.networks.layers import Layer

DATAFLOWS = ("ws", "os", "is")
KINDS = ("systolic",)
ENERGY_KEYS = ["mac", "weight_buffer", "input_buffer", "output_buffer", "noc", "dram", "static"]


def _sram(instance, attribute, value):
    """None (the design's own buffer), whole bytes from 1 to MAX_BYTES, or inf (ideal)."""
    if value is None:
        return
    ok = not isinstance(value, bool) and isinstance(value, (int, float)) and value == value
    if not ok or not (
        math.isinf(value) and value > 0 or 1 <= value <= MAX_BYTES and value == int(value)
    ):
        raise ValueError(
            f"'{attribute.name}' must be a whole number of bytes from 1 to {MAX_BYTES:,}, or "
            f"inf (leave it out for the design's own buffer): {value!r}"
        )


def _optional(check):
    def run(instance, attribute, value):
        if value is not None:
            check(instance, attribute, value)

    return run


@frozen
class Reference:
    """The scenario's [reference] section: which dense array the report compares against.

    Left out, each SRAM is the design's buffer of the same role (filter = weight buffer,
    ifmap = input buffer, ofmap = output buffer) and the DRAM bandwidth is the design's, so
    iso-area puts any extra silicon into MACs. rows and cols, when given, are the iso-MAC
    array's shape (rows x cols must equal the design's MAC lanes); left out, it is the most
    square factorisation of the lanes."""

    kind: str = field(default="systolic", validator=_one_of(*KINDS))
    dataflow: str = field(default="ws", validator=_one_of(*DATAFLOWS))
    rows: int | None = field(default=None, validator=_optional(_int_in(1, MAX_PES)))
    cols: int | None = field(default=None, validator=_optional(_int_in(1, MAX_PES)))
    filter_sram_bytes: float | None = field(default=None, validator=_sram)
    ifmap_sram_bytes: float | None = field(default=None, validator=_sram)
    ofmap_sram_bytes: float | None = field(default=None, validator=_sram)
    dram_bytes_per_cycle: float | None = field(default=None, validator=_optional(_rate))

    def __attrs_post_init__(self):
        if (self.rows is None) != (self.cols is None):
            given = "rows" if self.rows is not None else "cols"
            raise ValueError(
                f"'{given}' = {getattr(self, given)!r} without "
                f"'{'cols' if given == 'rows' else 'rows'}': give both, or neither (the most "
                f"square array of the design's MAC lanes)"
            )


@frozen
class SystolicArray:
    """One concrete array: its shape, dataflow, SRAMs (bytes, inf = unbounded) and DRAM."""

    rows: int = field(validator=_int_in(1, 2**20))
    cols: int = field(validator=_int_in(1, 2**20))
    dataflow: str = field(default="ws", validator=_one_of(*DATAFLOWS))
    filter_sram_bytes: float = 64 * 1024
    ifmap_sram_bytes: float = 64 * 1024
    ofmap_sram_bytes: float = 64 * 1024
    dram_bytes_per_cycle: float = math.inf

    @property
    def macs(self) -> int:
        return self.rows * self.cols

    def label(self) -> str:
        return f"{self.rows}x{self.cols} {self.dataflow}"


@frozen
class SystolicLayer:
    """One layer on the array: SCALE-Sim's compute cycles, DRAM and SRAM traffic, and the
    layer's cycles once DRAM is counted (the larger of compute and DRAM time: the SRAMs are
    double-buffered, so loads overlap compute)."""

    name: str
    macs: int
    folds: int
    compute_cycles: int
    cycles: int
    filter_dram_bytes: int
    ifmap_dram_bytes: int
    ofmap_dram_bytes: int
    filter_sram_reads: int  # words
    ifmap_sram_reads: int
    ofmap_sram_writes: int

    @property
    def dram_bytes(self) -> int:
        return self.filter_dram_bytes + self.ifmap_dram_bytes + self.ofmap_dram_bytes


@frozen
class SystolicRun:
    """A network on one array: per layer, in total, with energy (pJ) and area (um^2)."""

    array: SystolicArray
    layers: tuple[SystolicLayer, ...]
    layer_energy_pj: tuple[dict[str, float], ...]
    area_um2: dict[str, float]

    @property
    def energy_pj(self) -> dict[str, float]:
        return {k: sum(e[k] for e in self.layer_energy_pj) for k in ENERGY_KEYS}

    @property
    def cycles(self) -> int:
        return sum(l.cycles for l in self.layers)

    @property
    def compute_cycles(self) -> int:
        return sum(l.compute_cycles for l in self.layers)

    @property
    def dram_bytes(self) -> int:
        return sum(l.dram_bytes for l in self.layers)

    @property
    def energy_total_pj(self) -> float:
        return sum(self.energy_pj.values())

    @property
    def area_mm2(self) -> float:
        return sum(self.area_um2.values()) / 1e6


def _cdiv(a: int, b: int) -> int:
    return -(-a // b)


def operand_shape(layer: Layer, dataflow: str) -> tuple[int, int, int]:
    """(Sr, Sc, T): the spatial rows and columns the dataflow maps onto the array and the
    temporal length of one fold. T pixels = out_h x out_w, W = k_h x k_w x channels one
    filter sees, K = filters."""
    pixels, window, filters = layer.out_pixels, layer.weights_per_filter, layer.out_c
    return {
        "ws": (window, filters, pixels),
        "os": (pixels, filters, window),
        "is": (window, pixels, filters),
    }[dataflow]


def fold_cycles(rows: int, cols: int, dataflow: str, temporal: int) -> int:
    """One fold's cycles in SCALE-Sim 3.0's demand matrices: weight and input stationary
    preload the stationary block (rows cycles) before streaming; output stationary does not.
    The stream is skewed across rows + cols - 2 cycles."""
    preload = 0 if dataflow == "os" else rows
    return preload + rows + cols + temporal - 2


def compute_cycles(layer: Layer, rows: int, cols: int, dataflow: str) -> tuple[int, int]:
    """(cycles, folds) of one layer: fold_cycles x ceil(Sr / rows) x ceil(Sc / cols)."""
    sr, sc, t = operand_shape(layer, dataflow)
    folds = _cdiv(sr, rows) * _cdiv(sc, cols)
    return fold_cycles(rows, cols, dataflow, t) * folds, folds


def _used(size: int, out: int, k: int, stride: int, dilation: int) -> int:
    """Input rows (or columns) of the padded map some window reads."""
    if dilation == 1:
        return out * k if stride >= k else (out - 1) * stride + k
    marks = np.zeros(size, dtype=bool)
    marks[(np.arange(out)[:, None] * stride + np.arange(k)[None, :] * dilation).ravel()] = True
    return int(marks.sum())


def ifmap_words(layer: Layer) -> int:
    """Distinct input words the layer reads: the rows and columns of the padded map that
    some window touches, times the channels a filter sees (SCALE-Sim's IFMAP is the padded
    map, so pad zeros are words it reads; a 1x1 stride-2 layer reads a quarter of it)."""
    h = layer.in_h + sum(layer.pad_h)
    w = layer.in_w + sum(layer.pad_w)
    rows = _used(h, layer.out_h, layer.k_h, layer.stride_h, layer.dilation[0])
    cols = _used(w, layer.out_w, layer.k_w, layer.stride_w, layer.dilation[1])
    return rows * cols * layer.channels_per_group


def active_words(sram_bytes: float, bits: int) -> float:
    """Words the active half of a double-buffered SRAM holds, counted as SCALE-Sim counts
    them: its read buffer is 100 sets of floor(words / 100) words, 50 of them active."""
    if math.isinf(sram_bytes):
        return math.inf
    return 50 * (int(sram_bytes) * 8 // bits // 100)


def _passes(words: int, passes: int, epoch: float, held: int) -> tuple[int, int]:
    """(words fetched, words held after) when `passes` identical passes over `words`
    distinct words, none of them held yet, go through a buffer that holds `held` words
    and starts again empty once it holds `epoch` (SCALE-Sim's read buffer; see
    filter_reads). One pass fetches every word. Later passes fetch nothing if the first
    pass did not fill the buffer; if it did (after epoch - held words), the second pass
    fetches the words fetched before that point again, and holds all of them after; if a
    pass alone fills the buffer, no word is ever still held when it comes again."""
    if passes == 1 or words >= epoch:
        fetched = words * passes
        if math.isinf(epoch):
            return fetched, held + fetched
        return fetched, int((held + fetched) % epoch) if epoch else 0
    if held + words < epoch:
        return words, held + words
    return words + int(epoch - held), words


def filter_reads(layer: Layer, array: SystolicArray, epoch: float) -> int:
    """Filter words SCALE-Sim 3.0 fetches from DRAM for one layer, exactly: its read buffer
    (memory/read_buffer_estimate_bw.py) holds every word it fetched until `epoch` =
    active_words new words have come in, then slides to an empty window. Folds run column
    fold by column fold, the row folds inside; each fold reads each of its filter words
    once, in the same order every time it reads that block. So:
    ws: every fold loads its own block, each filter word once in all;
    is: every column (pixel) fold streams the whole filter matrix;
    os: column fold c streams filter block c (the window x that fold's filters), once per
    row fold, and the blocks of different column folds share no word."""
    sr, sc, _ = operand_shape(layer, array.dataflow)
    row_folds, col_folds = _cdiv(sr, array.rows), _cdiv(sc, array.cols)
    window, filters = layer.weights_per_filter, layer.out_c
    if array.dataflow == "ws":
        return window * filters
    if array.dataflow == "is":
        return _passes(window * filters, col_folds, epoch, 0)[0]
    fetched = held = 0
    for fold in range(col_folds):
        block = window * min(array.cols, filters - fold * array.cols)
        more, held = _passes(block, row_folds, epoch, held)
        fetched += more
    return fetched


def dram_words(layer: Layer, array: SystolicArray, hw: Hardware) -> tuple[int, int, int]:
    """(filter, ifmap, ofmap) DRAM words of one layer: see the module docstring."""
    sr, sc, _ = operand_shape(layer, array.dataflow)
    row_folds, col_folds = _cdiv(sr, array.rows), _cdiv(sc, array.cols)
    pixels, window, filters = layer.out_pixels, layer.weights_per_filter, layer.out_c
    filt = filter_reads(layer, array, active_words(array.filter_sram_bytes, hw.weight_bits))
    # Inputs all held (fewer than one epoch): each read once. Else every SRAM read is
    # counted as a DRAM read, the im2col operand once per pass that streams it.
    if ifmap_words(layer) < active_words(array.ifmap_sram_bytes, hw.activation_bits):
        ifmap = ifmap_words(layer)
    else:
        ifmap = pixels * window * (1 if array.dataflow == "is" else col_folds)
    ofmap = pixels * filters * (1 if array.dataflow == "os" else row_folds)
    return filt, ifmap, ofmap


def sram_words(layer: Layer, array: SystolicArray) -> tuple[int, int, int]:
    """(filter reads, ifmap reads, ofmap writes) at the array's edges, in words: the
    stationary operand once per fold block, the streamed one once per fold of the other
    dimension, the outputs once per row fold (os: once)."""
    sr, sc, _ = operand_shape(layer, array.dataflow)
    row_folds, col_folds = _cdiv(sr, array.rows), _cdiv(sc, array.cols)
    pixels, window, filters = layer.out_pixels, layer.weights_per_filter, layer.out_c
    if array.dataflow == "ws":
        return window * filters, pixels * window * col_folds, pixels * filters * row_folds
    if array.dataflow == "is":
        return window * filters * col_folds, pixels * window, pixels * filters * row_folds
    return window * filters * row_folds, pixels * window * col_folds, pixels * filters


def _bytes(words: int, bits: int) -> int:
    return _cdiv(words * bits, 8)


def run_layer(layer: Layer, array: SystolicArray, hw: Hardware) -> SystolicLayer:
    compute, folds = compute_cycles(layer, array.rows, array.cols, array.dataflow)
    filt, ifmap, ofmap = dram_words(layer, array, hw)
    dram = (
        _bytes(filt, hw.weight_bits),
        _bytes(ifmap, hw.activation_bits),
        _bytes(ofmap, hw.activation_bits),
    )
    bw = array.dram_bytes_per_cycle
    dram_cycles = 0 if math.isinf(bw) else math.ceil(sum(dram) / bw)
    return SystolicLayer(
        layer.name,
        layer.dense_macs,
        folds,
        compute,
        max(compute, dram_cycles),
        *dram,
        *sram_words(layer, array),
    )


def area_um2(array: SystolicArray, hw: Hardware, table: AreaTable) -> dict[str, float]:
    """Area by component: a MAC lane per PE at the design's bit widths, each PE's pipeline
    registers (a weight, an input and a partial sum: the operands that stay or move on to the
    neighbour), and the three SRAMs banked like the design's buffers. No index decoders and
    no bus: neighbours are wired to neighbours."""
    pes = array.macs
    return {
        "mac": pes * lane_um2(hw, table),
        "pe_registers": pes
        * (hw.weight_bits + hw.activation_bits + hw.psum_bits)
        * table.flip_flop_um2,
        "filter_sram": buffer_um2(array.filter_sram_bytes, hw, table),
        "ifmap_sram": buffer_um2(array.ifmap_sram_bytes, hw, table),
        "ofmap_sram": buffer_um2(array.ofmap_sram_bytes, hw, table),
    }


def static_mw(array: SystolicArray, hw: Hardware, table: EnergyTable) -> float:
    """Leakage of the parts area_um2 counts, from the same per-cell figures as the design's
    (EnergyTable.static_mw): lanes, pipeline registers, SRAM per KiB and per bank, DRAM."""
    srams = [
        b
        for b in (array.filter_sram_bytes, array.ifmap_sram_bytes, array.ofmap_sram_bytes)
        if math.isfinite(b)
    ]
    kib, banks = sum(srams) / 1024, sum(hw.banks(b) for b in srams)
    register_bits = array.macs * (hw.weight_bits + hw.activation_bits + hw.psum_bits)
    return (
        array.macs * table.lane_leakage_uw
        + kib * table.sram_leakage_uw_per_kib
        + banks * table.sram_leakage_uw_per_bank
        + register_bits * table.flip_flop_leakage_nw / 1000
    ) / 1000 + table.dram_interface_mw


def _hop_bits(array: SystolicArray, hw: Hardware) -> int:
    """Bits that move to a neighbouring PE per MAC: the two operands that are not
    stationary (ws: input and partial sum; os: input and weight; is: weight and partial
    sum)."""
    return {
        "ws": hw.activation_bits + hw.psum_bits,
        "os": hw.activation_bits + hw.weight_bits,
        "is": hw.weight_bits + hw.psum_bits,
    }[array.dataflow]


def layer_energy(
    run: SystolicLayer, array: SystolicArray, hw: Hardware, table: EnergyTable
) -> dict[str, float]:
    """Access counts times the design's per-access table, in the design's report keys:
    every MAC (zeros included); each SRAM's fills from DRAM and its reads at the array edge
    (the ofmap SRAM: its writes and its drain to DRAM); each operand's hop between
    neighbouring PEs at the interconnect's per-byte cost (Eyeriss's inter-PE figure); DRAM;
    leakage over the layer's cycles."""
    weight_b, act_b = hw.weight_bits / 8, hw.activation_bits / 8
    return {
        "mac": run.macs * table.mac_pj,
        "weight_buffer": (run.filter_dram_bytes + run.filter_sram_reads * weight_b)
        * table.sram_pj_per_byte(array.filter_sram_bytes),
        "input_buffer": (run.ifmap_dram_bytes + run.ifmap_sram_reads * act_b)
        * table.sram_pj_per_byte(array.ifmap_sram_bytes),
        "output_buffer": (run.ofmap_sram_writes * act_b + run.ofmap_dram_bytes)
        * table.sram_pj_per_byte(array.ofmap_sram_bytes),
        "noc": run.macs * _hop_bits(array, hw) / 8 * table.noc_pj_per_byte,
        "dram": run.dram_bytes * table.dram_pj_per_byte,
        "static": static_mw(array, hw, table) * 1e9 * run.cycles / hw.clock_hz,
    }


def run_network(
    layers, array: SystolicArray, hw: Hardware, energy: EnergyTable, area: AreaTable
) -> SystolicRun:
    """Every MAC layer of `layers` (Layer objects) on the array, in order."""
    runs = [run_layer(l, array, hw) for l in layers]
    per_layer = [layer_energy(r, array, hw, energy) for r in runs]
    return SystolicRun(array, tuple(runs), tuple(per_layer), area_um2(array, hw, area))


def square_shape(macs: int) -> tuple[int, int]:
    """The most square rows x cols with rows x cols = macs, rows <= cols."""
    rows = max(d for d in range(1, math.isqrt(macs) + 1) if macs % d == 0)
    return rows, macs // rows


def concrete(reference: Reference, hw: Hardware, rows: int, cols: int) -> SystolicArray:
    """The reference's array at rows x cols, its unset SRAMs and bandwidth the design's."""

    def pick(value, default):
        return default if value is None else value

    return SystolicArray(
        rows,
        cols,
        reference.dataflow,
        pick(reference.filter_sram_bytes, hw.weight_buffer_bytes),
        pick(reference.ifmap_sram_bytes, hw.input_buffer_bytes),
        pick(reference.ofmap_sram_bytes, hw.output_buffer_bytes),
        pick(reference.dram_bytes_per_cycle, hw.dram_bytes_per_cycle),
    )


def iso_mac(reference: Reference, hw: Hardware) -> SystolicArray:
    """The array with the design's MAC lanes (PEs x lanes per PE)."""
    if reference.rows is not None and reference.cols is not None:
        return concrete(reference, hw, reference.rows, reference.cols)
    return concrete(reference, hw, *square_shape(hw.lanes))


def iso_area(
    reference: Reference, hw: Hardware, table: AreaTable, design_mm2: float
) -> SystolicArray | None:
    """The largest array of the iso-MAC array's aspect ratio whose area is at most the
    design's: rows = 1, 2, ... with cols = round(rows x iso-MAC cols / rows), the last that
    fits. None when not even a 1 x 1 array fits beside the SRAMs, or the design's area is
    unbounded (ideal memory)."""
    base = iso_mac(reference, hw)
    if not math.isfinite(design_mm2):
        return None
    aspect = base.cols / base.rows

    def shape(r: int) -> SystolicArray:
        return attrs.evolve(base, rows=r, cols=max(1, round(r * aspect)))

    def fits(r: int) -> bool:
        return sum(area_um2(shape(r), hw, table).values()) / 1e6 <= design_mm2

    if not fits(1):
        return None
    lo, hi = 1, 2
    while fits(hi) and hi < 2**20:
        lo, hi = hi, hi * 2
    while hi - lo > 1:  # area grows with rows: bisect the last that fits
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    return shape(lo)


@frozen
class References:
    """The two arrays a design is compared against: the same MAC lanes and the same
    silicon area (None when no array fits that area: see iso_area)."""

    iso_mac: SystolicRun
    iso_area: SystolicRun | None
    design_mm2: float

    def as_dict(self) -> dict:
        """For summary.json: each array's shape, SRAMs, area and totals."""

        def one(run: SystolicRun | None) -> dict | None:
            if run is None:
                return None
            return {
                **attrs.asdict(run.array),
                "macs": run.array.macs,
                "area_mm2": run.area_mm2,
                "cycles": run.cycles,
                "compute_cycles": run.compute_cycles,
                "dram_bytes": run.dram_bytes,
                "energy_pj": run.energy_pj,
                "layer_cycles": [l.cycles for l in run.layers],
            }

        return {
            "kind": "systolic",
            "model": "SCALE-Sim 3.0 in closed form: its compute cycles, filter and output "
            "DRAM traffic; input traffic an upper bound on its count (every input word the "
            "array reads is fetched, unless all fit its read buffer); energy and area from "
            "this run's [energy] and [area] tables",
            "iso_area_shape": "the largest rows x cols of the iso-MAC array's aspect ratio "
            "whose area is at most the design's",
            "design_area_mm2": self.design_mm2,
            "iso_mac": one(self.iso_mac),
            "iso_area": one(self.iso_area),
        }


def references(
    reference: Reference, hw: Hardware, energy: EnergyTable, area: AreaTable, layers
) -> References:
    """The iso-MAC and iso-area arrays of `reference` for the design `hw`, run on `layers`."""
    from accelsim.engine.area import area_mm2

    design = area_mm2(hw, area)
    big = iso_area(reference, hw, area, design)
    return References(
        run_network(layers, iso_mac(reference, hw), hw, energy, area),
        None if big is None else run_network(layers, big, hw, energy, area),
        design,
    )
