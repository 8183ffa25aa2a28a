"""Per-layer and total results, their energy, and the files a run writes.

Summary figures (DESIGN.md, Outputs): cycles, seconds, utilization, stall breakdown by state,
DRAM bytes by operand and cause, achieved bandwidth, energy by component, makespan over the
lower bound, speedup over the dense design and over the round-robin baseline.
"""

from __future__ import annotations

import csv
import io
import math
import textwrap
import zipfile
from pathlib import Path

import attrs
import numpy as np
from attrs import asdict, field, frozen

from accelsim import jsonio
from accelsim.config import AreaTable, EnergyTable
from accelsim.engine.area import area_um2
from accelsim.engine.assemble import SimResult
from accelsim.engine.energy import layer_energy
from accelsim.engine.gap import PARTS, result_gap
from accelsim.engine.hardware_bounds import KINDS
from accelsim.engine.systolic import References
from accelsim.trace import BUFFER_NAMES, Cause, Operand, State

STATES = [s.label for s in State]
DRAM_KEYS = [f"{o.name.lower()}_{c.name.lower()}" for o in Operand for c in Cause]
MAPPING_KEYS = ["tile_h", "tile_w", "filters_per_job", "channel_splits", "chosen_by", "why"]
ENERGY_KEYS = ["mac", "weight_buffer", "input_buffer", "output_buffer", "noc", "dram", "static"]
REFERENCE_KEYS = [
    f"{what}_vs_systolic_{iso}" for what in ("speedup", "energy") for iso in ("iso_mac", "iso_area")
]


@frozen
class LayerReport:
    name: str
    jobs: int
    cycles: int
    seconds: float
    utilization: float
    states: dict[str, float]  # share of PE-cycles in each state
    dram_bytes: dict[str, int]  # by operand_cause
    dram_bytes_per_cycle: float
    energy_pj: dict[str, float]
    pruned_macs: int
    dense_macs: int
    executed_macs: int
    lower_bound: int  # best proven bound: LB0, LB1 or the proven optimum
    bound_kind: str
    compute_makespan: int | None  # planned: largest sum of job cycles on a PE (static)
    makespan_over_bound: float
    speedup_vs_dense: float | None = None
    speedup_vs_round_robin: float | None = None
    engine: str = "simpy"  # fast (closed form), simpy, or for the total: mixed
    hardware_bounds: dict[str, int] = field(
        factory=dict
    )  # compute, memory, interconnect, lock-step
    hardware_bound: int = 0  # the largest of them: no plan can beat it on this hardware
    bound_binding: str = "compute"  # which one it is
    makespan_over_hardware_bound: float = 1.0
    gap: dict[str, int] = field(
        factory=dict
    )  # cycles - compute bound, by cause (accelsim.engine.gap)
    # DRAM bytes the memory bound counts beyond each block once: the refetch and the spills
    # (out and back) that buffers of this size cannot avoid in the run's order
    memory_bound_refetch_bytes: int = 0
    memory_bound_spill_bytes: int = 0
    mapping: dict = field(factory=dict)  # tile, filters/job, splits, chosen_by, why (mapper)
    # the dense systolic reference (accelsim.engine.systolic): its cycles and energy over
    # this design's, with the same MAC lanes and with the same silicon area (> 1: the
    # design is faster or spends less)
    speedup_vs_systolic_iso_mac: float | None = None
    speedup_vs_systolic_iso_area: float | None = None
    energy_vs_systolic_iso_mac: float | None = None
    energy_vs_systolic_iso_area: float | None = None

    @property
    def dram_total(self) -> int:
        return sum(self.dram_bytes.values())

    @property
    def dram_extra(self) -> int:
        """DRAM bytes beyond the compulsory ones (halo, refetch, split, spill)."""
        return sum(v for k, v in self.dram_bytes.items() if not k.endswith("_compulsory"))


@frozen
class Report:
    scenario: str
    policy: str
    hardware: dict
    layers: tuple[LayerReport, ...] = field(converter=tuple)
    total: LayerReport
    events: int
    wall_seconds: float
    notes: tuple[str, ...] = ()
    inputs: dict = field(factory=dict)  # what else the run was given (pipeline.run_inputs)
    reference: dict = field(factory=dict)  # the systolic arrays compared against (References)

    def layers_by_engine(self) -> dict[str, int]:
        """How many layers each engine computed: the closed form ("fast") needs no events."""
        return {e: sum(l.engine == e for l in self.layers) for e in ("fast", "simpy")}

    def work_done(self) -> str:
        """What computed the run, in words: 'simulated 0 events' would hide the closed form."""
        by = self.layers_by_engine()
        parts = []
        if by["fast"]:
            parts.append(f"closed form for {by['fast']} layer{'s' * (by['fast'] != 1)}")
        if by["simpy"]:
            parts.append(
                f"simulated {self.events:,} events for {by['simpy']} "
                f"layer{'s' * (by['simpy'] != 1)}"
            )
        return "; ".join(parts) or "nothing to compute"

    def to_json(self) -> str:
        data = {
            "scenario": self.scenario,
            "policy": self.policy,
            "hardware": self.hardware,
            **({"inputs": self.inputs} if self.inputs else {}),
            "total": asdict(self.total),
            "layers": [asdict(l) for l in self.layers],
            **({"systolic_reference": self.reference} if self.reference else {}),
            "simulation": {"events": self.events},
            "notes": list(self.notes),
        }
        return jsonio.dumps(data, indent=2)  # no wall time: same seed, same bytes

    def to_csv(self) -> str:
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        head = [
            "layer",
            "jobs",
            "cycles",
            "seconds",
            "utilization",
            *[f"share_{s}" for s in STATES],
            *[f"dram_{k}_bytes" for k in DRAM_KEYS],
            "dram_bytes_per_cycle",
            *[f"energy_{k}_pj" for k in ENERGY_KEYS],
            "pruned_macs",
            "dense_macs",
            "executed_macs",
            "lower_bound",
            "bound_kind",
            "compute_makespan",
            "makespan_over_bound",
            "speedup_vs_dense",
            "speedup_vs_round_robin",
            "engine",
            *[f"{k.replace('-', '_')}_bound" for k in KINDS],
            "hardware_bound",
            "bound_binding",
            *[f"gap_{k.replace(' ', '_').replace('-', '_')}_cycles" for k in PARTS],
            "memory_bound_refetch_bytes",
            "memory_bound_spill_bytes",
            *[f"mapping_{k}" for k in MAPPING_KEYS],
            *REFERENCE_KEYS,
        ]
        w.writerow(head)
        for l in (*self.layers, self.total):
            w.writerow(
                [
                    l.name,
                    l.jobs,
                    l.cycles,
                    f"{l.seconds:.9g}",
                    f"{l.utilization:.6f}",
                    *[f"{l.states[s]:.6f}" for s in STATES],
                    *[l.dram_bytes[k] for k in DRAM_KEYS],
                    f"{l.dram_bytes_per_cycle:.4f}",
                    *[f"{l.energy_pj[k]:.1f}" for k in ENERGY_KEYS],
                    l.pruned_macs,
                    l.dense_macs,
                    l.executed_macs,
                    l.lower_bound,
                    l.bound_kind,
                    "" if l.compute_makespan is None else l.compute_makespan,
                    f"{l.makespan_over_bound:.6f}",
                    _opt(l.speedup_vs_dense),
                    _opt(l.speedup_vs_round_robin),
                    l.engine,
                    *[l.hardware_bounds[k] for k in KINDS],
                    l.hardware_bound,
                    l.bound_binding,
                    *[l.gap[k] for k in PARTS],
                    l.memory_bound_refetch_bytes,
                    l.memory_bound_spill_bytes,
                    *[l.mapping.get(k, "") for k in MAPPING_KEYS],
                    *[_opt(getattr(l, k)) for k in REFERENCE_KEYS],
                ]
            )
        return out.getvalue()

    def _reference_lines(self) -> list[str]:
        """The speedup and energy ratio against the dense systolic arrays, in words."""
        if not self.reference:
            return []
        t = self.total

        def one(iso: str, what: str) -> str:
            array = self.reference[iso]
            if array is None:
                return f"{what}: none (no array fits the design's area beside its SRAMs)"
            area = array["area_mm2"]
            size = "unbounded SRAMs" if area is None or math.isinf(area) else f"{area:.3f} mm^2"
            return (
                f"{what} {array['rows']}x{array['cols']} {array['dataflow']} "
                f"({size}): {_fmt(getattr(t, f'speedup_vs_systolic_{iso}'))}x "
                f"faster, {_fmt(getattr(t, f'energy_vs_systolic_{iso}'))}x less energy"
            )

        return [
            "x sysM, x sysA: speedup over the dense systolic array (SCALE-Sim's model) with "
            "the same MAC lanes (M) and the same silicon area (A); an upper bound, as are the "
            "energy ratios, since the array's input traffic is bounded from above "
            '(docs/model.md, "The systolic reference")',
            f"vs the dense systolic reference: {one('iso_mac', 'iso-MAC')}; "
            f"{one('iso_area', 'iso-area')}",
        ]

    def table(self) -> str:
        """A readable summary in two tables of one row per layer and a total, each under 100
        columns: where the PE-cycles go, then traffic, bounds and speedups."""
        rows = (*self.layers, self.total)
        time_head = f"{'layer':<24}{'jobs':>7}{'cycles':>12}{'util':>7}  " + "".join(
            f"{s[:8]:>9}" for s in STATES[1:]
        )
        lines = [time_head, "-" * len(time_head)]
        for l in rows:
            if l is self.total:
                lines.append("-" * len(time_head))
            lines.append(
                f"{l.name[:23]:<24}{l.jobs:>7}{l.cycles:>12,}{l.utilization:>7.1%}  "
                + "".join(f"{l.states[s]:>9.1%}" for s in STATES[1:])
            )
        memory_head = (
            f"{'layer':<24}{'DRAM KiB':>11}{'extra':>9}{'/bound':>8}{'/hw':>7}"
            f"{'binds':>6}{'x dense':>9}{'x RR':>7}{'x sysM':>8}{'x sysA':>8}"
        )
        lines += ["", memory_head, "-" * len(memory_head)]
        for l in rows:
            if l is self.total:
                lines.append("-" * len(memory_head))
            lines.append(
                f"{l.name[:23]:<24}{l.dram_total / 1024:>11,.0f}{l.dram_extra / 1024:>9,.0f}"
                + f"{l.makespan_over_bound:>8.3f}{l.makespan_over_hardware_bound:>7.3f}"
                + f"{_SHORT[l.bound_binding]:>6}"
                + f"{_fmt(l.speedup_vs_dense):>9}{_fmt(l.speedup_vs_round_robin):>7}"
                + f"{_fmt(l.speedup_vs_systolic_iso_mac):>8}"
                + f"{_fmt(l.speedup_vs_systolic_iso_area):>8}"
            )
        t = self.total
        energy_uj = sum(t.energy_pj.values()) / 1e6
        lines += [
            "",
            f"{t.cycles:,} cycles = {t.seconds * 1e3:.3f} ms at "
            f"{self.hardware['clock_hz'] / 1e9:g} GHz; utilization {t.utilization:.1%};"
            f" energy {energy_uj:,.1f} uJ "
            + "("
            + ", ".join(f"{k} {v / 1e6:,.1f}" for k, v in t.energy_pj.items())
            + ")",
            f"pruned MACs {t.pruned_macs:,} of {t.dense_macs:,} dense "
            f"(ideal speedup {t.dense_macs / max(t.pruned_macs, 1):.2f}x); "
            f"area {self.hardware['area_mm2']['total']:.3f} mm^2; "
            f"{self.work_done()} in {self.wall_seconds:.2f} s",
        ]
        lines += [
            "DRAM KiB: all traffic; extra: beyond each weight, input and output once "
            "(halo, refetch, split, spill; by cause in summary.json)",
            "states (first table): share of the layer's PE-cycles in each; util: busy share",
            "/bound: cycles over the compute bound; /hw: over the hardware bound (the "
            "largest of compute, memory, interconnect, lock-step); binds: the one that binds "
            "(comp, mem, noc, lock)",
            "x dense: speedup over the same PEs running the unpruned weights; x RR: over "
            "round-robin on the same jobs (the schedule's gain alone)",
            *self._reference_lines(),
        ]
        if any(l.mapping.get("chosen_by") == "mapper" for l in self.layers):
            lines += [
                "",
                "mapping per layer (tile h x w, filters per job f, channel splits s)"
                " and why the nearest others lost",
            ]
            lines += [
                f"{l.name[:23]:<24}{mapping_label(l.mapping):<16}"
                + (l.mapping.get("why", "").split("; ")[0])
                for l in self.layers
            ]
        elif self.layers and self.layers[0].mapping:  # one mapping for every layer
            lines += [
                f"mapping: {mapping_label(self.layers[0].mapping)} for every layer, fixed by "
                f"the scenario (tiles larger than a layer's map take the whole map)"
            ]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(
            line if len(line) <= 100 else textwrap.fill(line, 100, subsequent_indent="  ")
            for line in lines
        )


def mapping_label(entry: dict) -> str:
    """'14x14 f1 s1' from a layer's mapping entry (0: the whole map)."""
    return (
        (
            f"{entry['tile_h']}x{entry['tile_w']} f{entry['filters_per_job']} "
            f"s{entry['channel_splits']}"
        )
        if entry
        else ""
    )


_SHORT = {"compute": "comp", "memory": "mem", "interconnect": "noc", "lock-step": "lock"}


def _opt(x):
    return "" if x is None else f"{x:.6f}"


def _fmt(x):
    return "-" if x is None else f"{x:.2f}"


def build_report(
    scenario: str,
    result: SimResult,
    energy: EnergyTable,
    dense: tuple[int, ...] | None = None,
    round_robin: tuple[int, ...] | None = None,
    notes: tuple[str, ...] = (),
    area: AreaTable = AreaTable(),
    inputs: dict | None = None,
    mappings: tuple[dict, ...] | None = None,
    reference: References | None = None,
) -> Report:
    """The report of `result`; `dense` and `round_robin` are the baselines' cycles per layer;
    `inputs`, what else the run was given, goes into summary.json as it is; `mappings`, one
    entry per layer, each layer's mapping and why (accelsim.engine.mapper); `reference`, the
    dense systolic arrays to compare against (accelsim.engine.systolic), run on the same
    layers."""
    hw = result.hw
    n = hw.n_pes
    dram = _dram(result)
    layers = []
    gaps = []
    for i, run in enumerate(result.layers):
        window = result.states.window(run.start, run.end)
        by_state = window.cycles_by_state(n).sum(axis=0)
        gaps.append(result_gap(result, run))
        bounds = run.hardware.values
        layers.append(
            attrs.evolve(
                _make(
                    run.name,
                    run.n_jobs,
                    run.cycles,
                    by_state,
                    dram[i],
                    layer_energy(hw, energy, run.executed_macs, dram[i], run),
                    hw,
                    run.pruned_macs,
                    run.dense_macs,
                    run.executed_macs,
                    run.lower_bound,
                    run.bound_kind,
                    run.planned_makespan,
                    _speedup(dense, i, run.cycles),
                    _speedup(round_robin, i, run.cycles),
                    run.engine,
                ),
                hardware_bounds=bounds,
                hardware_bound=run.hardware.best,
                makespan_over_hardware_bound=run.cycles / max(run.hardware.best, 1),
                bound_binding=run.hardware.binding,
                gap=gaps[-1].parts,
                memory_bound_refetch_bytes=run.hardware.refetch_bytes,
                memory_bound_spill_bytes=run.hardware.spill_bytes,
                mapping=dict(mappings[i]) if mappings else {},
            )
        )
        if reference is not None:
            layers[-1] = attrs.evolve(layers[-1], **_versus(reference, i, layers[-1]))
    by_state = result.states.cycles_by_state(n).sum(axis=0)
    bound = sum(l.lower_bound for l in layers)
    planned = (
        None
        if any(l.compute_makespan is None for l in layers)
        else sum(l.compute_makespan for l in layers)
    )
    energy_total = {k: sum(l.energy_pj[k] for l in layers) for k in ENERGY_KEYS}
    total = _make(
        "total",
        sum(l.jobs for l in layers),
        result.makespan,
        by_state,
        dram.sum(axis=0),
        energy_total,
        hw,
        sum(l.pruned_macs for l in layers),
        sum(l.dense_macs for l in layers),
        result.executed_macs,
        bound,
        "sum",
        planned,
        sum(dense) / result.makespan if dense and result.makespan else None,
        sum(round_robin) / result.makespan if round_robin and result.makespan else None,
        _engines(result),
    )
    binds = {k: sum(l.hardware_bound for l in layers if l.bound_binding == k) for k in KINDS}
    total_gap = sum(gaps[1:], gaps[0]) if gaps else None
    total = attrs.evolve(
        total,
        hardware_bounds={k: sum(l.hardware_bounds[k] for l in layers) for k in KINDS},
        hardware_bound=sum(l.hardware_bound for l in layers),
        makespan_over_hardware_bound=result.makespan
        / max(sum(l.hardware_bound for l in layers), 1),
        bound_binding=max(KINDS, key=lambda k: (binds[k], -KINDS.index(k))),
        gap=total_gap.parts if total_gap else dict.fromkeys(PARTS, 0),
        memory_bound_refetch_bytes=sum(l.memory_bound_refetch_bytes for l in layers),
        memory_bound_spill_bytes=sum(l.memory_bound_spill_bytes for l in layers),
    )
    if reference is not None:
        total = attrs.evolve(total, **_versus(reference, None, total))
    hw_dict = asdict(hw)  # an infinite capacity is written as null
    by_part = area_um2(hw, area)  # so is the area of an unbounded buffer
    hw_dict["area_mm2"] = {
        k: v / 1e6 for k, v in {**by_part, "total": sum(by_part.values())}.items()
    }
    gap_note = [f"gap: {total_gap.sentence(result.policy)}"] if total_gap else []
    return Report(
        scenario,
        result.policy,
        hw_dict,
        layers,
        total,
        result.events,
        result.wall_seconds,
        (*notes, *gap_note, *_engine_notes(result)),
        inputs or {},
        reference.as_dict() if reference is not None else {},
    )


def _versus(reference: References, i: int | None, row: LayerReport) -> dict:
    """A row's speedup and energy ratio against each reference array: its cycles and energy
    over the row's (layer i, or the total for None); None where there is no iso-area array
    or the row took no cycles or energy."""
    out = {}
    energy = sum(row.energy_pj.values())
    for iso in ("iso_mac", "iso_area"):
        run = getattr(reference, iso)
        if run is None:
            continue
        cycles = run.cycles if i is None else run.layers[i].cycles
        joules = sum((run.energy_pj if i is None else run.layer_energy_pj[i]).values())
        out[f"speedup_vs_systolic_{iso}"] = cycles / row.cycles if row.cycles else None
        out[f"energy_vs_systolic_{iso}"] = joules / energy if energy else None
    return out


def _dram(result: SimResult) -> np.ndarray:
    """DRAM bytes by layer, operand and cause."""
    tr = result.transfers
    dram = np.zeros((len(result.layers), len(Operand), len(Cause)), dtype=np.int64)
    np.add.at(dram, (tr["layer"], tr["operand"], tr["cause"]), tr["bytes"])
    return dram


def energy_pj(result: SimResult, energy: EnergyTable) -> float:
    """The run's energy, every component, as build_report totals it (for studies that
    compare runs without a full report)."""
    dram = _dram(result)
    return sum(
        sum(layer_energy(result.hw, energy, run.executed_macs, dram[i], run).values())
        for i, run in enumerate(result.layers)
    )


def _engines(result: SimResult) -> str:
    used = {l.engine for l in result.layers}
    return used.pop() if len(used) == 1 else "mixed"


def _engine_notes(result: SimResult) -> list[str]:
    """Which engine ran which layers, and why SimPy had to where the closed form was wanted."""
    fast = sum(l.engine == "fast" for l in result.layers)
    why = [l for l in result.layers if l.engine_note is not None]
    if not result.layers:
        return []
    n = len(result.layers)
    text = (
        f"engine: the closed form for all {n} layers"
        if fast == n
        else f"engine: SimPy for all {n} layers"
        if fast == 0
        else f"engine: the closed form for {fast} of {n} layers, SimPy for the rest"
    )
    if why:
        text += (
            f"; the closed form is not exact for {len(why)} "
            f"({why[0].name}: {why[0].engine_note}{'; ...' if len(why) > 1 else ''})"
        )
    return [text]


def _speedup(baseline: tuple[int, ...] | None, i: int, cycles: int) -> float | None:
    if baseline is None or cycles == 0:
        return None
    return baseline[i] / cycles


def _make(
    name,
    jobs,
    cycles,
    by_state,
    dram,
    energy,
    hw,
    pruned,
    dense,
    executed,
    bound,
    bound_kind,
    planned,
    vs_dense,
    vs_rr,
    engine,
) -> LayerReport:
    pe_cycles = max(int(by_state.sum()), 1)
    dram_bytes = {
        f"{o.name.lower()}_{c.name.lower()}": int(dram[o, c]) for o in Operand for c in Cause
    }
    return LayerReport(
        name=name,
        jobs=jobs,
        cycles=cycles,
        seconds=cycles / hw.clock_hz,
        utilization=by_state[State.BUSY] / pe_cycles,
        states={s.label: by_state[s] / pe_cycles for s in State},
        dram_bytes=dram_bytes,
        dram_bytes_per_cycle=sum(dram_bytes.values()) / max(cycles, 1),
        energy_pj=energy,
        pruned_macs=pruned,
        dense_macs=dense,
        executed_macs=executed,
        lower_bound=bound,
        bound_kind=bound_kind,
        compute_makespan=planned,
        makespan_over_bound=cycles / bound if bound else 1.0,
        speedup_vs_dense=vs_dense,
        speedup_vs_round_robin=vs_rr,
        engine=engine,
    )


def write_trace(result: SimResult, path: Path) -> None:
    """The trace as a columnar .npz (trace_arrays)."""
    _savez(path, **trace_arrays(result))


def trace_arrays(result: SimResult) -> dict[str, np.ndarray]:
    """The trace in columns, as trace.npz holds it and the figures read it: PE state
    intervals, buffer levels, DRAM transfers, the layer boundaries, and the names of every
    integer code."""
    s = result.states
    return dict(
        pe=s.pe,
        start=s.start,
        end=s.end,
        state=s.state,
        held_by=s.held_by,
        level_buffer=result.levels["buffer"],
        level_t=result.levels["t"],
        level_bytes=result.levels["level"],
        **{f"dram_{k}": v for k, v in result.transfers.items()},
        layer_start=np.array([l.start for l in result.layers], dtype=np.int64),
        layer_end=np.array([l.end for l in result.layers], dtype=np.int64),
        layer_name=np.array([l.name for l in result.layers]),
        n_pes=np.array(result.hw.n_pes),
        # what the int8 codes mean: state_names[state], dram_operand_names[dram_operand], ...
        state_names=np.array([st.label for st in State]),
        dram_operand_names=np.array([o.name.lower() for o in Operand]),
        dram_cause_names=np.array([c.name.lower() for c in Cause]),
        level_buffer_names=np.array(BUFFER_NAMES),
    )


def _savez(path: Path, **arrays: np.ndarray) -> None:
    """np.savez_compressed at zlib level 1: the default run's trace.npz took 0.10 s at numpy's
    level 6 and takes 0.014 s so, 24 % larger (419 KB against 338 KB); np.load reads both."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, value in arrays.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.asanyarray(value), allow_pickle=False)
