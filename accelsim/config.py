"""Hardware, mapping and energy descriptions: frozen values, validated on construction.

Units are in the names: *_bytes, *_bytes_per_cycle, *_cycles, *_bits, *_pj*. Capacities and
bandwidths may be `inf` (TOML `inf`) to model ideal memory.
"""

from __future__ import annotations

import math

import attrs
from attrs import field, frozen

# Upper limits keep every derived count (cycles, bytes, PE-cycles) far inside int64 and every
# allocation bounded: a value beyond them is a typo, not a design (docs/defaults.md).
MAX_PES = 65_536
MAX_COUNT = 2**32  # cycles of overhead or latency, queue depth
MAX_BYTES = 2**50  # a buffer: 1 PiB
MAX_RATE = 2**40  # bytes per cycle
MIN_RATE = 2**-10  # bytes per cycle: slower would make a layer last ~2^63 cycles


def _number(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and not math.isnan(value)


def _int_in(lo: int, hi: int):
    def check(instance, attribute, value):
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise ValueError(
                f"'{attribute.name}' must be an integer from {lo} to {hi:,}: {value!r}"
            )

    return check


def _int_ge(n):
    return _int_in(n, MAX_COUNT)


def _rate(instance, attribute, value):
    """Bytes per cycle: at least MIN_RATE, at most MAX_RATE, or inf (ideal)."""
    if not _number(value) or not (math.isinf(value) and value > 0 or MIN_RATE <= value <= MAX_RATE):
        raise ValueError(
            f"'{attribute.name}' must be a number from {MIN_RATE:g} to "
            f"{MAX_RATE:,} bytes per cycle, or inf: {value!r}"
        )


def _capacity(instance, attribute, value):
    """Whole bytes, 1 to MAX_BYTES, or inf (unbounded)."""
    if not _number(value) or not (
        math.isinf(value) and value > 0 or 1 <= value <= MAX_BYTES and value == int(value)
    ):
        raise ValueError(
            f"'{attribute.name}' must be a whole number of bytes from 1 to "
            f"{MAX_BYTES:,}, or inf: {value!r}"
        )


def _clock(instance, attribute, value):
    if not _number(value) or not 1e3 <= value <= 1e13:
        raise ValueError(f"'{attribute.name}' must be a frequency from 1e3 to 1e13 Hz: {value!r}")


def _energy(instance, attribute, value):
    if not _number(value) or not 0 <= value <= 1e6:
        raise ValueError(f"'{attribute.name}' must be a number of pJ from 0 to 1e6: {value!r}")


def _number_in(lo: float, hi: float, unit: str):
    def check(instance, attribute, value):
        if not _number(value) or not lo <= value <= hi:
            raise ValueError(
                f"'{attribute.name}' must be a number of {unit} from {lo:g} to {hi:g}: {value!r}"
            )

    return check


def _one_of(*allowed):
    def check(instance, attribute, value):
        if value not in allowed:
            raise ValueError(f"'{attribute.name}' must be one of {', '.join(allowed)}: {value!r}")

    return check


def _is_bool(instance, attribute, value):
    if not isinstance(value, bool):
        raise ValueError(f"'{attribute.name}' must be true or false: {value!r}")


@frozen
class Hardware:
    """The accelerator. Defaults: a small 16-PE edge design at 1 GHz."""

    pe_rows: int = field(default=4, validator=_int_in(1, MAX_PES))
    pe_cols: int = field(default=4, validator=_int_in(1, MAX_PES))
    macs_per_cycle: int = field(default=8, validator=_int_in(1, 2**20))
    job_overhead_cycles: int = field(default=0, validator=_int_ge(0))
    weight_bits: int = field(default=8, validator=_int_in(1, 64))
    index_bits: int = field(default=4, validator=_int_in(0, 64))
    activation_bits: int = field(default=8, validator=_int_in(1, 64))
    psum_bits: int = field(default=24, validator=_int_in(1, 64))
    weight_buffer_bytes: float = field(default=128 * 1024, validator=_capacity)
    input_buffer_bytes: float = field(default=256 * 1024, validator=_capacity)
    output_buffer_bytes: float = field(default=128 * 1024, validator=_capacity)
    sram_bank_bytes: int = field(default=8 * 1024, validator=_int_in(64, MAX_BYTES))
    double_buffered: bool = field(default=True, validator=_is_bool)
    psum_spill: bool = field(default=True, validator=_is_bool)
    dram_bytes_per_cycle: float = field(default=16, validator=_rate)
    dram_latency_cycles: int = field(default=100, validator=_int_ge(0))
    noc_bytes_per_cycle: float = field(default=64, validator=_rate)
    multicast: bool = field(default=True, validator=_is_bool)
    input_queue_depth: int = field(default=1, validator=_int_ge(1))
    clock_hz: float = field(default=1e9, validator=_clock)
    pe_model: str = field(
        default="zero-skip", validator=_one_of("zero-skip", "window", "lane-group", "dense")
    )
    pe_window: int = field(default=3, validator=_int_in(1, 64))
    pe_skips_activations: bool = field(default=False, validator=_is_bool)

    def __attrs_post_init__(self):
        if self.pe_rows * self.pe_cols > MAX_PES:
            raise ValueError(
                f"'pe_rows' x 'pe_cols' must be at most {MAX_PES:,} PEs: "
                f"{self.pe_rows} x {self.pe_cols}"
            )

    @property
    def n_pes(self) -> int:
        return self.pe_rows * self.pe_cols

    @property
    def lanes(self) -> int:
        """Every MAC lane of the array: PEs x lanes per PE."""
        return self.n_pes * self.macs_per_cycle

    @property
    def buffer_bytes(self) -> float:
        return self.weight_buffer_bytes + self.input_buffer_bytes + self.output_buffer_bytes

    def banks(self, capacity_bytes: float) -> int:
        """SRAM macros (banks) a buffer of this capacity is built from: each bank carries
        its own decoders and sense amplifiers. An unbounded buffer is an idealization: none."""
        return (
            -(-int(capacity_bytes) // self.sram_bank_bytes) if math.isfinite(capacity_bytes) else 0
        )

    @property
    def buffer_kib_and_banks(self) -> tuple[float, int]:
        """KiB and banks of the three buffers, unbounded ones left out (they have no size)."""
        sizes = [
            b
            for b in (self.weight_buffer_bytes, self.input_buffer_bytes, self.output_buffer_bytes)
            if math.isfinite(b)
        ]
        return sum(sizes) / 1024, sum(self.banks(b) for b in sizes)

    def ideal_memory(self) -> Hardware:
        """Infinite bandwidth, zero latency, unbounded buffers (invariant 4 of DESIGN.md)."""
        inf = math.inf
        return attrs.evolve(
            self,
            weight_buffer_bytes=inf,
            input_buffer_bytes=inf,
            output_buffer_bytes=inf,
            dram_bytes_per_cycle=inf,
            dram_latency_cycles=0,
            noc_bytes_per_cycle=inf,
        )


WEIGHT_FORMATS = ("auto", "compressed", "bitmap", "dense")


def _format_table(value):
    """A table of formats (TOML) becomes sorted (name, format) pairs, so Mapping stays a
    hashable value."""
    return tuple(sorted(value.items())) if isinstance(value, dict) else value


def _weight_format(instance, attribute, value):
    pairs = value if isinstance(value, tuple) else (("default", value),)
    for name, fmt in pairs:
        if not isinstance(name, str) or fmt not in WEIGHT_FORMATS:
            where = (
                attribute.name
                if name == "default" and not isinstance(value, tuple)
                else f"{attribute.name}.{name}"
            )
            raise ValueError(f"'{where}' must be one of {', '.join(WEIGHT_FORMATS)}: {fmt!r}")


def _splits(instance, attribute, value):
    if value != "auto":
        try:
            _int_in(1, 2**16)(instance, attribute, value)
        except ValueError:
            raise ValueError(
                f"'{attribute.name}' must be \"auto\" or an integer from 1 to {2**16:,}: {value!r}"
            ) from None


def _allotment(instance, attribute, value):
    """None (the whole buffer) or whole bytes, 1 to MAX_BYTES."""
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_BYTES
    ):
        raise ValueError(
            f"'{attribute.name}' must be a whole number of bytes from 1 to {MAX_BYTES:,} "
            f"(leave it out for the whole buffer): {value!r}"
        )


MAPPING_MODES = ("fixed", "auto")
ALLOTMENTS = (  # [mapping] field -> the Hardware capacity it shares out
    ("weight_buffer_allotment_bytes", "weight_buffer_bytes"),
    ("input_buffer_allotment_bytes", "input_buffer_bytes"),
    ("output_buffer_allotment_bytes", "output_buffer_bytes"),
)
OBJECTIVES = ("cycles", "energy", "edp")
DEFAULT_BUDGET = 200  # evaluations per layer (docs/defaults.md)


@frozen
class Mapping:
    """How a layer is cut into jobs (the granularity). tile_h/tile_w = 0 take the whole
    output map; filters_per_job > 1 makes filter groups; channel_splits = k cuts every filter
    into k input-channel chunks (capped at the channels a filter sees) whose partial sums are
    accumulated in the output buffer, and "auto" cuts only the filter groups whose work
    exceeds total / P, each into just enough chunks. weight_format is how weights are stored
    and streamed (accelsim.workload.formats): one format for every layer, or a table of
    layer names (and "default") to formats.

    mode = "auto" leaves the four numbers to accelsim.engine.mapper, which picks them per layer for
    the hardware, minimising `objective` with at most `budget` evaluations per layer; a
    scenario whose [mapping] gives none of the four numbers is auto (accelsim.scenario)."""

    tile_h: int = field(default=0, validator=_int_in(0, 2**16))
    tile_w: int = field(default=0, validator=_int_in(0, 2**16))
    filters_per_job: int = field(default=1, validator=_int_in(1, 2**20))
    channel_splits: int | str = field(default=1, validator=_splits)
    weight_format: str | tuple[tuple[str, str], ...] = field(
        default="auto", converter=_format_table, validator=_weight_format
    )
    mode: str = field(default="fixed", validator=_one_of(*MAPPING_MODES))
    objective: str = field(default="cycles", validator=_one_of(*OBJECTIVES))
    budget: int = field(default=DEFAULT_BUDGET, validator=_int_in(1, 2**20))
    # The part of each buffer the layers use (None: all of it). A compiler may leave part of
    # a buffer unused; a run then times exactly as on buffers of that size, while energy and
    # area stay those of the hardware's buffers. A sweep runs a point this way with a smaller
    # point's sizes where those run faster (accelsim.studies.sweep).
    weight_buffer_allotment_bytes: int | None = field(default=None, validator=_allotment)
    input_buffer_allotment_bytes: int | None = field(default=None, validator=_allotment)
    output_buffer_allotment_bytes: int | None = field(default=None, validator=_allotment)

    def allotted(self, hw: Hardware) -> Hardware:
        """`hw` as the layers' timing sees it: each buffer the size of its allotment."""
        sizes = {cap: getattr(self, field) for field, cap in ALLOTMENTS}
        sizes = {cap: size for cap, size in sizes.items() if size is not None}
        return attrs.evolve(hw, **sizes) if sizes else hw

    def of(self, layer: str) -> Mapping:
        """The mapping of one layer: this one, for every layer (see LayerMappings)."""
        if self.mode != "fixed":
            raise ValueError(
                'a mapping with mode = "auto" is chosen per layer by '
                "accelsim.engine.mapper before jobs are built"
            )
        return self

    def weight_format_of(self, layer: str) -> str:
        """The format asked for one layer: its own entry, else the default (auto)."""
        if isinstance(self.weight_format, str):
            return self.weight_format
        table = dict(self.weight_format)
        return table.get(layer, table.get("default", "auto"))


def _pairs(items) -> tuple[tuple[str, Mapping], ...]:
    return tuple(items)


@frozen
class LayerMappings:
    """One fixed Mapping per layer name (what the mapper chose), for build_jobs."""

    table: tuple[tuple[str, Mapping], ...] = field(converter=_pairs)

    def of(self, layer: str) -> Mapping:
        for name, mapping in self.table:
            if name == layer:
                return mapping
        raise KeyError(f"no mapping was chosen for layer {layer!r}")


@frozen
class EnergyTable:
    """Energy per access in pJ. Defaults (45 nm, 0.9 V) from M. Horowitz, "Computing's energy
    problem (and what we can do about it)", ISSCC 2014:
    - MAC: 8-bit multiply 0.2 pJ + 8-bit add 0.03 pJ;
    - SRAM read, 64 bits: 10 pJ (8 KB), 20 pJ (32 KB), 100 pJ (1 MB), i.e. 1.25 / 2.5 / 12.5 pJ
      per byte; a buffer's cost is interpolated on log(capacity) between these points;
    - DRAM: 1.3-2.6 nJ per 64-bit access; we take the midpoint, 1.95 nJ = 243.75 pJ/B.
    The interconnect has no Horowitz figure; we use Eyeriss's normalized cost (Chen et al.,
    ISCA 2016: inter-PE/NoC access = 2x a MAC), per byte.

    Static power (leakage), charged for the whole run time whether a resource works or idles,
    from characterized 45 nm libraries at 1.1 V and 25 C (docs/defaults.md gives the
    derivations):
    - a MAC lane: NanGate 45 nm Open Cell Library (typical corner) cells of an 8 x 8-bit array
      multiplier (64 AND2_X1, 48 FA_X1, 8 HA_X1) and a 24-bit accumulator (24 FA_X1 and 24
      DFF_X1), 9.45 uW; the index decoders and interconnect ports of accelsim.engine.area leak what
      their FA_X1 (75.76 nW) and DFF_X1 (79.11 nW) cells do;
    - SRAM: a fit of leakage = a x KiB + b x banks to the fakeram45 macros of
      OpenROAD-flow-scripts (bsg_fakeram, from CACTI at 45 nm): 211.7 uW per KiB and 22.4 uW
      per bank;
    - the DRAM interface: one mobile LPDDR device in active standby (Micron MT46H32M32LG,
      IDD2N 15 mA at 1.8 V), 27 mW; the controller and PHY are not included.
    """

    mac_pj: float = field(default=0.23, validator=_energy)
    sram_8kb_pj_per_byte: float = field(default=1.25, validator=_energy)
    sram_32kb_pj_per_byte: float = field(default=2.5, validator=_energy)
    sram_1mb_pj_per_byte: float = field(default=12.5, validator=_energy)
    noc_pj_per_byte: float = field(default=0.46, validator=_energy)
    dram_pj_per_byte: float = field(default=243.75, validator=_energy)
    lane_leakage_uw: float = field(default=9.45, validator=_number_in(0, 1e6, "uW"))
    sram_leakage_uw_per_kib: float = field(default=211.7, validator=_number_in(0, 1e6, "uW"))
    sram_leakage_uw_per_bank: float = field(default=22.4, validator=_number_in(0, 1e6, "uW"))
    dram_interface_mw: float = field(default=27.0, validator=_number_in(0, 1e6, "mW"))
    flip_flop_leakage_nw: float = field(default=79.11, validator=_number_in(0, 1e6, "nW"))
    full_adder_leakage_nw: float = field(default=75.76, validator=_number_in(0, 1e6, "nW"))

    def static_mw(self, hw: Hardware) -> float:
        """Leakage power of the whole accelerator, the parts of accelsim.engine.area: lanes, buffers
        (cells and banks), each lane's index decoder (an index_bits adder and register), each
        PE's interconnect port (in and out registers of the bus width), and the DRAM. An
        unbounded buffer or interconnect (ideal memory) is an idealization with no size, so
        it leaks nothing."""
        kib, banks = hw.buffer_kib_and_banks
        bus_bits = hw.noc_bytes_per_cycle * 8 if math.isfinite(hw.noc_bytes_per_cycle) else 0
        logic_nw = (
            hw.lanes * hw.index_bits * (self.full_adder_leakage_nw + self.flip_flop_leakage_nw)
            + hw.n_pes * 2 * bus_bits * self.flip_flop_leakage_nw
        )
        return (
            hw.lanes * self.lane_leakage_uw
            + kib * self.sram_leakage_uw_per_kib
            + banks * self.sram_leakage_uw_per_bank
            + logic_nw / 1000
        ) / 1000 + self.dram_interface_mw

    def sram_pj_per_byte(self, capacity_bytes: float) -> float:
        """Per-byte access energy of a buffer of this size (log-interpolated, clamped)."""
        points = [
            (8 * 1024, self.sram_8kb_pj_per_byte),
            (32 * 1024, self.sram_32kb_pj_per_byte),
            (1024 * 1024, self.sram_1mb_pj_per_byte),
        ]
        if capacity_bytes <= points[0][0]:
            return points[0][1]
        for (c0, e0), (c1, e1) in zip(points, points[1:]):
            if capacity_bytes <= c1:
                t = math.log(capacity_bytes / c0) / math.log(c1 / c0)
                return e0 + t * (e1 - e0)
        return points[-1][1]


@frozen
class AreaTable:
    """Silicon area per component in um^2, all at 45 nm like the energy table.
    - MAC lane: Horowitz (ISSCC 2014) 45 nm areas, 8-bit multiply 282 um^2 and 8-bit add
      36 um^2; a weight_bits x activation_bits multiplier scales with the product of the
      widths (array multiplier), the psum_bits accumulator adder with its width;
    - SRAM: a fit of area = a x KiB + b x banks to the fakeram45 single-port macros of
      OpenROAD-flow-scripts (bsg_fakeram, from CACTI at 45 nm; 1 to 78 Kib): 4,551 um^2 per KiB
      of cells and 195 um^2 of decoders and sense amplifiers per bank (hw.sram_bank_bytes);
    - a flip-flop: NanGate 45 nm Open Cell Library DFF_X1, 4.522 um^2; the index decoder of a
      lane is an index_bits-wide adder plus a register of that width (our assumption), an
      interconnect port is two registers of its width, in and out (our assumption).
    """

    multiply_8b_um2: float = field(default=282.0, validator=_number_in(0, 1e9, "um^2"))
    add_8b_um2: float = field(default=36.0, validator=_number_in(0, 1e9, "um^2"))
    sram_um2_per_kib: float = field(default=4551.0, validator=_number_in(0, 1e9, "um^2"))
    sram_um2_per_bank: float = field(default=195.0, validator=_number_in(0, 1e9, "um^2"))
    flip_flop_um2: float = field(default=4.522, validator=_number_in(0, 1e9, "um^2"))
