"""Sizing: the smallest accelerator that meets a latency target, and the Pareto front.

The search space is PE arrays of 1, 2, 4, ... up to `max_pes` PEs (rows x cols as square as
powers of two allow) times buffer scales (the base scenario's three buffers multiplied by
0.25 ... 4). Latency falls as PEs are added, so for each buffer scale a bisection over the
PE counts finds the smallest array that meets the target: log2 of the PE choices runs per
scale instead of all of them. Arrays too large for a buffer size (a broadcast's weights do
not fit) are stepped over first, from the top, to the largest one that runs.

Area is the chip's silicon in mm^2, per component from the scenario's [area] table
(accelsim.engine.area); energy includes leakage over the run time, so an array or buffer that idles
costs energy too. The smallest area meeting the target wins; energy breaks ties.

With `reference=True` (`accelsim size --reference`) every grid point also gets its dense
systolic reference (accelsim.engine.systolic: the scenario's [reference] dataflow, the
point's MAC lanes as the most square array, its buffers as the SRAMs), computed in closed
form, and those points join the Pareto front, so the sparse design is weighed against the
dense one on the same axes. The search for the smallest sparse design is unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import attrs
from attrs import frozen

from accelsim.config import ALLOTMENTS
from accelsim.engine import systolic
from accelsim.engine.area import area_um2
from accelsim.errors import AccelsimError, ConfigError
from accelsim.pipeline import run_scenario
from accelsim.scenario import Scenario

SCALES = (0.25, 0.5, 1.0, 2.0, 4.0)


@frozen
class Candidate:
    pes: int
    pe_rows: int
    pe_cols: int
    scale: float
    cycles: float  # inf when the hardware cannot run it
    energy_uj: float  # dynamic + static
    static_uj: float  # leakage over the run time
    pe_lanes: int
    buffer_bytes: float
    area_mm2: float
    logic_mm2: float  # MAC lanes, index decoders, interconnect ports
    banks: int = 0  # SRAM banks of the three buffers (hardware.sram_bank_bytes each)
    error: str | None = None
    design: str = "sparse"  # or "systolic ws" (os, is): the dense reference at this point

    @property
    def feasible(self) -> bool:
        return self.error is None

    @property
    def buffer_mm2(self) -> float:
        return self.area_mm2 - self.logic_mm2


@frozen
class Sizing:
    target_cycles: int
    best: Candidate | None
    front: tuple[Candidate, ...]
    simulated: tuple[Candidate, ...]
    grid_size: int
    references: tuple[Candidate, ...] = ()  # the dense systolic arrays (reference=True)

    @property
    def best_reference(self) -> Candidate | None:
        """The smallest systolic array meeting the target (energy breaks ties)."""
        meeting = [c for c in self.references if c.cycles <= self.target_cycles]
        return min(meeting, key=lambda c: (c.area_mm2, c.energy_uj), default=None)


def _shape(pes: int) -> tuple[int, int]:
    rows = 2 ** (int(math.log2(pes)) // 2)
    return rows, pes // rows


def size(
    scenario: Scenario,
    target_cycles: int,
    max_pes: int = 256,
    scales=SCALES,
    progress: Callable[[Candidate], None] | None = None,
    reference: bool = False,
) -> Sizing:
    given = [name for name, _ in ALLOTMENTS if getattr(scenario.mapping, name) is not None]
    if given:
        raise ConfigError(
            f"{scenario.source}: [mapping] {given[0]}: accelsim size scales the buffers, and "
            f"an allotment would not scale with them: remove it to size the hardware"
        )
    hw0 = scenario.hardware
    pe_counts = [2**k for k in range(int(math.log2(max_pes)) + 1)]
    cache: dict[tuple[int, float], Candidate] = {}

    def point(pes: int, scale: float):
        rows, cols = _shape(pes)
        buffers = {
            k: getattr(hw0, k) * scale if math.isfinite(getattr(hw0, k)) else math.inf
            for k in ("weight_buffer_bytes", "input_buffer_bytes", "output_buffer_bytes")
        }
        buffers = {k: v if math.isinf(v) else float(max(1, round(v))) for k, v in buffers.items()}
        return attrs.evolve(hw0, pe_rows=rows, pe_cols=cols, **buffers)

    def probe(pes: int, scale: float) -> Candidate:
        if (pes, scale) in cache:
            return cache[(pes, scale)]
        hw = point(pes, scale)
        rows, cols = hw.pe_rows, hw.pe_cols
        parts = area_um2(hw, scenario.area)
        area = (sum(parts.values()) / 1e6, (parts["mac"] + parts["index"] + parts["noc"]) / 1e6)
        banks = hw.buffer_kib_and_banks[1]
        try:
            total = run_scenario(attrs.evolve(scenario, hardware=hw), baselines=False).report.total
            energy = total.energy_pj
            cand = Candidate(
                pes,
                rows,
                cols,
                scale,
                total.cycles,
                sum(energy.values()) / 1e6,
                energy["static"] / 1e6,
                hw.lanes,
                hw.buffer_bytes,
                *area,
                banks,
            )
        except AccelsimError as exc:
            cand = Candidate(
                pes,
                rows,
                cols,
                scale,
                math.inf,
                math.inf,
                math.inf,
                hw.lanes,
                hw.buffer_bytes,
                *area,
                banks,
                str(exc),
            )
        cache[(pes, scale)] = cand
        if progress:
            progress(cand)
        return cand

    meeting = []
    for scale in scales:
        lo, hi = 0, len(pe_counts) - 1
        while hi > 0 and not probe(pe_counts[hi], scale).feasible:
            hi -= 1  # too many PEs for these buffers (a broadcast's weights do not fit)
        if probe(pe_counts[hi], scale).cycles > target_cycles:
            continue  # not even the largest array that runs meets it at this buffer size
        while lo < hi:
            mid = (lo + hi) // 2
            if probe(pe_counts[mid], scale).cycles <= target_cycles:
                hi = mid
            else:
                lo = mid + 1
        meeting.append(probe(pe_counts[hi], scale))
    simulated = tuple(cache.values())
    best = min(meeting, key=lambda c: (c.area_mm2, c.energy_uj), default=None)
    layers = [
        l
        for l in scenario.network.mac_layers
        if scenario.layers is None or l.name in scenario.layers
    ]
    dense = (
        tuple(
            _reference(scenario, layers, point(pes, scale), scale)
            for scale in scales
            for pes in pe_counts
        )
        if reference
        else ()
    )
    return Sizing(
        target_cycles,
        best,
        pareto_front(simulated + dense),
        simulated,
        len(pe_counts) * len(scales),
        dense,
    )


def _reference(scenario: Scenario, layers, hw, scale: float) -> Candidate:
    """The dense systolic array of one grid point: its MAC lanes, its buffers as SRAMs."""
    array = systolic.iso_mac(attrs.evolve(scenario.reference, rows=None, cols=None), hw)
    run = systolic.run_network(layers, array, hw, scenario.energy, scenario.area)
    energy = run.energy_pj
    return Candidate(
        array.macs,
        array.rows,
        array.cols,
        scale,
        run.cycles,
        sum(energy.values()) / 1e6,
        energy["static"] / 1e6,
        array.macs,
        array.filter_sram_bytes + array.ifmap_sram_bytes + array.ofmap_sram_bytes,
        run.area_mm2,
        (run.area_um2["mac"] + run.area_um2["pe_registers"]) / 1e6,
        hw.buffer_kib_and_banks[1],
        design=f"systolic {array.dataflow}",
    )


def pareto_front(candidates) -> tuple[Candidate, ...]:
    """The runnable candidates no other one beats in latency, energy and area at once."""
    ok = [c for c in candidates if c.feasible]

    def dominates(a, b):
        keys = ((a.cycles, b.cycles), (a.energy_uj, b.energy_uj), (a.area_mm2, b.area_mm2))
        return all(x <= y for x, y in keys) and any(x < y for x, y in keys)

    front = [c for c in ok if not any(dominates(o, c) for o in ok)]
    return tuple(sorted(front, key=lambda c: (c.cycles, c.area_mm2)))
