"""Run a scenario end to end and write its result directory."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import attrs
from attrs import frozen

from accelsim import jsonio
from accelsim.baseline_cache import BaselineCache, jobs_key
from accelsim.config import ALLOTMENTS, Hardware
from accelsim.engine.assemble import SimResult, check_fits, simulate
from accelsim.engine.mapper import Evaluations, fixed_entries, map_network
from accelsim.engine.systolic import references
from accelsim.errors import ConfigError
from accelsim.files import made, write_bytes
from accelsim.outputs.html_report import write_html_report
from accelsim.outputs.perfetto_proto import write_perfetto_proto
from accelsim.outputs.report import Report, build_report, trace_arrays, write_trace
from accelsim.policies import load_policy, mapping_policy
from accelsim.policies.classic import RoundRobin
from accelsim.scenario import Scenario
from accelsim.workload.jobs import LayerJobs, build_jobs
from accelsim.workload.sparsity.pruning import PrunedNetwork


@frozen
class Outcome:
    scenario: Scenario
    pruned: PrunedNetwork
    jobs: list[LayerJobs]
    result: SimResult
    report: Report
    dense: SimResult | None = None  # None when not run, or found in the cache
    round_robin: SimResult | None = None
    dense_cycles: tuple[int, ...] | None = None  # per layer, simulated or cached
    round_robin_cycles: tuple[int, ...] | None = None


def run_scenario(
    scenario: Scenario,
    policy: str | None = None,
    seed: int | None = None,
    baselines: bool | None = None,
    progress: Callable[[str, int, int, str], None] | None = None,
    engine: str | None = None,
    pruned: PrunedNetwork | None = None,
    cache: BaselineCache | None = None,
    policy_options: dict | None = None,
    mapper_cache: Evaluations | None = None,
) -> Outcome:
    """Prune, cut into jobs, simulate with the policy and, for speedups, with the dense design
    and the round-robin baseline. `progress(phase, i, n, layer)` reports each layer; `engine`
    overrides the scenario's (see accelsim.engine.assemble.simulate); `pruned`, when given, is the
    scenario's network already pruned with `seed` (sweeps reuse it across hardware); with a
    `cache`, baselines simulated before for the same jobs and hardware are not run again.
    The scenario's `policy_options` go with its own policy; `policy_options` with `policy`.
    With [mapping] mode = "auto" the mapper chooses each layer's mapping for this hardware
    and policy first (the dense baseline gets its own); `mapper_cache` keeps its evaluations
    for the next run on the same pruned network."""
    policy_obj = (
        load_policy(policy, policy_options)
        if policy
        else load_policy(scenario.policy, scenario.policy_options)
    )
    if pruned is None:
        pruned = scenario.pruned(seed)
    built = scenario.hardware  # what energy and area are of
    hw = scenario.mapping.allotted(built)  # what the layers' timing sees
    engine = engine or scenario.engine

    def step(phase):
        return None if progress is None else (lambda i, n, name: progress(phase, i, n, name))

    plan = None
    mapping = scenario.mapping
    ranking = mapping_policy(policy_obj)
    with _allotments_named(scenario):
        if scenario.mapping.mode == "auto":
            plan = map_network(
                pruned,
                scenario.mapping,
                hw,
                ranking,
                engine,
                scenario.energy,
                mapper_cache,
                step(f"mapper ({policy_obj.name})"),
            )
            mapping = plan.mappings
        jobs = build_jobs(pruned, mapping, hw)
        for layer in jobs:  # the policy's own jobs are checked first
            check_fits(layer, hw, None)

    want = scenario.baselines if baselines is None else baselines
    dense_jobs: list[LayerJobs] = []
    if want:
        dense_mapping = scenario.mapping
        if plan is not None:  # the dense design at its own best mapping
            try:
                dense_mapping = map_network(
                    pruned.dense(),
                    scenario.mapping,
                    built,
                    RoundRobin(),
                    engine,
                    scenario.energy,
                    progress=step("mapper (dense design)"),
                ).mappings
            except ConfigError as exc:
                raise ConfigError(
                    f"the dense baseline (the network unpruned, for the speedup over a "
                    f"dense design) cannot run on this hardware: {exc}; skip it with "
                    f"--no-baselines or baselines = false"
                ) from None
        dense_jobs = build_jobs(pruned.dense(), dense_mapping, built)
    if want and (
        cache is None
        or cache.get(jobs_key("dense", dense_jobs, built), dense_jobs, built.n_pes) is None
    ):
        _check_dense_jobs(dense_jobs, built, engine)  # before simulating
    result = on_hardware_built(
        simulate(jobs, hw, policy_obj, step(policy_obj.name), engine=engine), built
    )
    dense = rr = dense_cycles = rr_cycles = None
    notes = [plan.note()] if plan is not None else []
    if plan is not None and ranking is not policy_obj:
        notes.append(
            f"mapping: the mapper planned the candidates with {policy_obj.name}'s cheaper "
            f"stand-in (accelsim.policies.mapping_policy) and only the chosen mappings with "
            f"{policy_obj.name} itself"
        )
    if want:
        dense, dense_cycles = _baseline(
            cache,
            "dense",
            dense_jobs,
            built,
            lambda: simulate(dense_jobs, built, RoundRobin(), step("dense design"), engine=engine),
        )
        if policy_obj.name == RoundRobin.name:
            rr, rr_cycles = result, tuple(l.cycles for l in result.layers)
        else:
            rr, rr_cycles = _baseline(
                cache,
                "round-robin",
                jobs,
                hw,
                lambda: on_hardware_built(
                    simulate(jobs, hw, RoundRobin(), step("round-robin"), engine=engine), built
                ),
            )
    splits_wanted = _split_notes(jobs, hw.n_pes)
    notes.extend(splits_wanted)
    notes.append(_format_note(jobs))
    proven = sum(l.bound_kind == "optimum" for l in result.layers)
    if policy_obj.name == "exact":
        rest = len(result.layers) - proven
        notes.append(
            f"exact: the plan's compute makespan is proven optimal in {proven} of "
            f"{len(result.layers)} layers"
            + (f"; in {rest}, the best found within the time limit" if rest else "")
        )
    if result.executed_macs < pruned.pruned_macs:
        notes.append(
            f"activation sparsity: the PEs skip zero inputs and executed "
            f"{result.executed_macs:,} of the {pruned.pruned_macs:,} MACs of nonzero "
            f"weights ({result.executed_macs / pruned.pruned_macs:.1%})"
        )
    report = build_report(
        scenario.name,
        result,
        scenario.energy,
        dense_cycles,
        rr_cycles,
        tuple(notes),
        scenario.area,
        run_inputs(
            scenario, pruned, policy_options if policy else scenario.policy_options, seed, engine
        ),
        mappings=tuple(c.as_dict() for c in plan.layers)
        if plan is not None
        else fixed_entries(pruned, scenario.mapping),
        reference=references(
            scenario.reference,
            built,
            scenario.energy,
            scenario.area,
            [layer.layer for layer in jobs],
        )
        if want
        else None,
    )
    return Outcome(scenario, pruned, jobs, result, report, dense, rr, dense_cycles, rr_cycles)


@contextmanager
def _allotments_named(scenario: Scenario):
    """A layer that does not fit its buffers' allotments says so, and that the fix is a
    larger allotment (up to the buffer built), not a larger buffer."""
    given = [
        (name, capacity, value)
        for name, capacity in ALLOTMENTS
        if (value := getattr(scenario.mapping, name)) is not None
    ]
    try:
        yield
    except ConfigError as exc:
        if not given:
            raise
        message = str(exc)
        for name, capacity, value in given:
            built = getattr(scenario.hardware, capacity)
            message = message.replace(
                f"hardware.{capacity}",
                f"[mapping] {name} (now {value}; the buffer built holds {built:g} B)",
            )
        raise ConfigError(f"{scenario.source}: {message}") from None


def on_hardware_built(result: SimResult, built: Hardware) -> SimResult:
    """A run timed with allotted buffers, reported on the hardware built (energy, area)."""
    return result if result.hw == built else attrs.evolve(result, hw=built)


def run_inputs(
    scenario: Scenario,
    pruned: PrunedNetwork,
    policy_options: dict | None,
    seed: int | None,
    engine: str,
) -> dict:
    """What a run was given beyond the hardware, for summary.json: with the scenario file
    it names, enough to run it again and get the same bytes."""
    return {
        "source": scenario.source,
        "seed": scenario.seed if seed is None else seed,
        "network": scenario.network.name,
        "pruning": pruned.description,
        "policy_options": dict(policy_options or {}),
        "engine": engine,
        "mapping": attrs.asdict(scenario.mapping),
        "activation_density": dict(scenario.activation_density),
        "energy": attrs.asdict(scenario.energy),
        "area": attrs.asdict(scenario.area),
        "accelsim": _version(),
    }


def _version() -> str:
    from accelsim.version import __version__

    return __version__


def _check_dense_jobs(jobs: list[LayerJobs], hw, engine: str) -> None:
    """Each layer of the dense baseline checked to fit this hardware under its plan (and, under
    engine = "fast", to be one the closed form computes), so that a baseline that cannot run
    fails before anything is simulated and says that it is the baseline."""
    from accelsim.engine import closed_form
    from accelsim.engine.broadcasts import broadcasts
    from accelsim.policies import Problem

    try:
        for layer in jobs:
            plan = RoundRobin().plan(Problem.from_layer(layer, hw.n_pes, hw))
            bc = broadcasts(plan.queues, layer)
            check_fits(layer, hw, bc)
            if engine == "fast":
                note = closed_form.timeline_or_note(layer, bc, hw, False)[1]
                if note is not None:
                    raise ConfigError(
                        f"layer {layer.layer.name}: engine = 'fast', but the closed form "
                        f"is not exact here: {note}"
                    )
    except ConfigError as exc:
        raise ConfigError(
            f"the dense baseline (the network unpruned, for the speedup over a "
            f"dense design) cannot run on this hardware: {exc}; skip it with "
            f"--no-baselines or baselines = false"
        ) from None


def _baseline(
    cache: BaselineCache | None,
    kind: str,
    jobs: list[LayerJobs],
    hw,
    run: Callable[[], SimResult],
) -> tuple[SimResult | None, tuple[int, ...]]:
    """A baseline's per-layer cycles, from the cache when it holds plausible ones for these
    very jobs (keyed by their content), else simulated and stored."""
    key = None if cache is None else jobs_key(kind, jobs, hw)
    cycles = None if cache is None else cache.get(key, jobs, hw.n_pes)
    if cycles is not None:
        return None, cycles
    result = run()
    cycles = tuple(l.cycles for l in result.layers)
    if cache is not None:
        cache.put(key, cycles)
    return result, cycles


def _format_note(jobs: list[LayerJobs]) -> str:
    """Which storage format each layer's weights were stored and streamed in."""
    by_format: dict[str, list[str]] = {}
    for lj in jobs:
        by_format.setdefault(lj.weight_format, []).append(lj.layer.name)
    return "weights stored " + "; ".join(
        f"{fmt} for {len(names)} layer{'s' * (len(names) != 1)} ({', '.join(names[:4])}"
        f"{', ...' if len(names) > 4 else ''})"
        for fmt, names in sorted(by_format.items())
    )


def _split_notes(jobs: list[LayerJobs], n_pes: int) -> list[str]:
    """Layers where one job alone exceeds total / P: no whole-job schedule reaches the bound."""
    hit = [
        l.layer.name
        for l in jobs
        if l.n_jobs and int(l.cycles.max()) * n_pes > l.total_cycles and l.n_jobs >= n_pes
    ]
    if not hit:
        return []
    return [
        f"in {len(hit)} layer{'s' * (len(hit) != 1)} one job is longer than total / P "
        f"({', '.join(hit[:4])}{', ...' if len(hit) > 4 else ''}): only splitting jobs "
        f"(mapping.channel_splits, smaller tiles) can reach the bound there"
    ]


TRACES = ("none", "npz", "perfetto", "all")  # what --trace may ask for
PERFETTO = "trace.pftrace.gz"  # Perfetto's protobuf format, gzip-compressed


def write_outputs(
    outcome: Outcome,
    out_dir: Path,
    plots: bool = True,
    fmt: str = "png",
    dpi: float | None = None,
    trace: str = "npz",
    style: str | None = None,
) -> list[Path]:
    """summary.json, layers.csv, the trace (`trace`, one of TRACES: trace.npz, the gzipped
    Perfetto protobuf trace, both or none), the four figures (in `fmt`: png, svg or pdf, at
    `dpi`, in the matplotlib `style`: a name or a .mplstyle file) and report.html."""
    if trace not in TRACES:
        raise ConfigError(f"trace = {trace!r}: must be one of {', '.join(TRACES)}")
    made(out_dir)
    report = outcome.report
    files = {
        "summary.json": report.to_json(),
        "layers.csv": report.to_csv(),
        # wall time apart: summary.json is the same bytes for the same scenario and seed
        "timings.json": jsonio.dumps(
            {
                "simulation_wall_seconds": report.wall_seconds,
                "events": report.events,
                "layers_by_engine": report.layers_by_engine(),
                "computed": report.work_done(),
            },
            indent=2,
        ),
    }
    for name, text in files.items():
        write_bytes(out_dir / name, text)
    written = [out_dir / n for n in files]
    if trace in ("npz", "all"):
        write_trace(outcome.result, out_dir / "trace.npz")
        written.append(out_dir / "trace.npz")
    if trace in ("perfetto", "all"):
        write_perfetto_proto(outcome.result, out_dir / PERFETTO)
        written.append(out_dir / PERFETTO)
    if plots:
        written += _write_figures(outcome, out_dir, fmt, dpi, style)
    s = outcome.scenario
    written.append(
        write_html_report(
            report,
            out_dir,
            f"{s.name}: {s.network.name}, policy {report.policy} on {s.hardware.n_pes:,} PEs",
        )
    )
    return written


def _write_figures(
    outcome: Outcome, out_dir: Path, fmt: str, dpi: float | None, style: str | None = None
) -> list[Path]:
    """The run's four figures (accelsim.outputs.plotting), imported here: matplotlib stays
    out of a run without plots. Drawn and saved inside the style's context: the figures read
    colours and fonts when built, and the savefig's face colours when saved."""
    from accelsim.outputs import plotting

    report, hw = outcome.report, outcome.scenario.hardware
    trace = trace_arrays(outcome.result)
    title = f"{outcome.scenario.name}: {report.policy} on {hw.n_pes:,} PEs"
    capacities = {
        "weight": hw.weight_buffer_bytes,
        "input": hw.input_buffer_bytes,
        "output": hw.output_buffer_bytes,
    }
    figures = {
        "timeline": lambda: plotting.timeline_figure(trace, title, dpi=dpi or plotting.DPI),
        "utilization": lambda: plotting.utilization_figure(trace, title),
        "stalls": lambda: plotting.stalls_figure(
            json.loads(report.to_json())["layers"], f"{title}: where PE-cycles go"
        ),
        "buffers": lambda: plotting.buffers_figure(trace, capacities, f"{title}: buffer occupancy"),
    }
    with plotting.style_context(style):
        return [
            plotting.save_figure(draw(), out_dir / f"{name}.{fmt}", dpi)
            for name, draw in figures.items()
        ]


__all__ = ["Outcome", "run_scenario", "write_outputs"]
