"""The energy model: access counts of a layer's run times the per-access table, plus leakage.

Beside `area`, the other cost of the hardware; the report totals it and the mapper scores
candidate mappings with it.
"""

from __future__ import annotations

import numpy as np

from accelsim.config import EnergyTable, Hardware
from accelsim.trace import Operand


def layer_energy(
    hw: Hardware, table: EnergyTable, executed_macs: int, dram: np.ndarray, run
) -> dict[str, float]:
    """Access counts times the per-access table (pJ), plus the whole chip's leakage over the
    layer's run time. Buffer fills from DRAM count as writes."""
    weight_fill = int(dram[Operand.WEIGHTS].sum())
    input_fill = int(dram[Operand.INPUTS].sum())
    return {
        "mac": executed_macs * table.mac_pj,
        "weight_buffer": (weight_fill + run.weight_buffer_reads)
        * table.sram_pj_per_byte(hw.weight_buffer_bytes),
        "input_buffer": (input_fill + run.input_buffer_reads)
        * table.sram_pj_per_byte(hw.input_buffer_bytes),
        "output_buffer": (run.output_buffer_writes + run.output_buffer_reads)
        * table.sram_pj_per_byte(hw.output_buffer_bytes),
        "noc": run.noc_bytes * table.noc_pj_per_byte,
        "dram": int(dram.sum()) * table.dram_pj_per_byte,
        "static": table.static_mw(hw) * 1e9 * run.cycles / hw.clock_hz,  # mW x s = 1e9 pJ
    }
