"""Silicon area of an accelerator, per component, from the per-component table (AreaTable).

Every figure is at 45 nm, the node of the energy table, so area and energy describe the same
chip. The sizing search (accelsim.studies.sizing) minimises the total.
"""

from __future__ import annotations

import math

from accelsim.config import AreaTable, Hardware

AREA_KEYS = ["mac", "index", "weight_buffer", "input_buffer", "output_buffer", "noc"]


def buffer_um2(capacity_bytes: float, hw: Hardware, table: AreaTable) -> float:
    """A buffer built from banks of hw.sram_bank_bytes: its cells by KiB plus each bank's
    periphery (decoders, sense amplifiers). Unbounded (ideal memory) is unbounded area."""
    if not math.isfinite(capacity_bytes):
        return math.inf
    return (
        capacity_bytes / 1024 * table.sram_um2_per_kib
        + hw.banks(capacity_bytes) * table.sram_um2_per_bank
    )


def lane_um2(hw: Hardware, table: AreaTable) -> float:
    """One MAC lane: a weight_bits x activation_bits multiplier (area grows with the product
    of the widths) and a psum_bits accumulator adder (area grows with its width)."""
    return (
        table.multiply_8b_um2 * hw.weight_bits * hw.activation_bits / 64
        + table.add_8b_um2 * hw.psum_bits / 8
    )


def area_um2(hw: Hardware, table: AreaTable) -> dict[str, float]:
    """Area by component; an unbounded buffer or interconnect has unbounded area (inf)."""
    lanes = hw.lanes
    bus_bits = hw.noc_bytes_per_cycle * 8
    return {
        "mac": lanes * lane_um2(hw, table),
        # each lane decodes its relative index: an index_bits adder and register
        "index": lanes * hw.index_bits * (table.add_8b_um2 / 8 + table.flip_flop_um2),
        **{
            name: buffer_um2(getattr(hw, f"{name}_bytes"), hw, table)
            for name in ("weight_buffer", "input_buffer", "output_buffer")
        },
        # every PE latches the interconnect's full width in and out
        "noc": hw.n_pes * 2 * bus_bits * table.flip_flop_um2
        if math.isfinite(bus_bits)
        else math.inf,
    }


def area_mm2(hw: Hardware, table: AreaTable) -> float:
    return sum(area_um2(hw, table).values()) / 1e6
