"""Command line: accelsim run | compare | schedule | workload | sweep | size | import | policies.

Bad input is one line on stderr naming the file or flag, the field and the value, and exit
status 2, before anything is simulated: AccelsimError carries that line; a bad flag is caught
by its type here; where outputs go is checked first. Anything else that escapes (a bug, or
input no check foresaw) is still one line, naming the command and its input, and exit 2;
ACCELSIM_DEBUG=1 shows the traceback instead.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import importlib.util
import math
import os
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from accelsim import jsonio
from accelsim.errors import AccelsimError, ConfigError
from accelsim.files import made, write_bytes

if TYPE_CHECKING:
    from matplotlib.figure import Figure


class _PipeSafe:
    """A standard stream that goes quiet when its reader has gone (`accelsim ... | head`):
    the command still finishes and writes its files, instead of dying on BrokenPipeError."""

    def __init__(self, stream):
        self._stream = stream

    def _quietly(self, action, *args):
        try:
            return action(*args)
        except BrokenPipeError:
            devnull = os.open(os.devnull, os.O_WRONLY)  # later flushes, at exit too, land here
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)
            return None

    def write(self, text: str) -> int:
        self._quietly(self._stream.write, text)
        return len(text)

    def flush(self) -> None:
        self._quietly(self._stream.flush)

    def __getattr__(self, name):
        return getattr(self._stream, name)


class _Progress:
    """One status line on stderr, rewritten in place on a terminal, per planned and per
    simulated layer; not on a terminal, one line when each phase starts planning or
    simulating."""

    def __init__(self, quiet: bool, unit: str = "layer", every: bool = False):
        self.quiet, self.unit, self.every = quiet, unit, every
        self.tty = sys.stderr.isatty()
        self.t0 = time.perf_counter()

    def __call__(self, phase: str, i: int, n: int, name: str) -> None:
        if self.quiet:
            return
        text = f"[{time.perf_counter() - self.t0:6.1f} s] {phase}: {self.unit} {i + 1}/{n} {name}"
        if self.tty:
            sys.stderr.write("\r" + text[:100].ljust(100))
            sys.stderr.flush()
        elif self.every:  # a log of few, slow steps: each one
            sys.stderr.write(text + "\n")
        elif i == 0:  # a log: one line per phase and step
            sys.stderr.write(f"{phase}: {name.split()[0]} {n} {self.unit}s\n")

    def done(self) -> None:
        if self.tty and not self.quiet:
            sys.stderr.write("\r" + " " * 100 + "\r")


class _Parser(argparse.ArgumentParser):
    """Flag errors in one line, like every other error; a flag that takes one value is
    refused when given twice with two values (argparse would keep the last silently)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.register("action", None, _Once)
        self.register("action", "store", _Once)
        self.given: dict[str, object] = {}  # dest -> the value given first

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


class _Once(argparse._StoreAction):
    """Store a flag's value; a second, different one is one line naming both."""

    def __call__(self, parser, namespace, values, option_string=None):
        given = getattr(parser, "given", {})
        if option_string and self.dest in given and given[self.dest] != values:
            parser.error(
                f"{option_string} given twice ({given[self.dest]!r}, then {values!r}): "
                f"one would be dropped; give it once"
            )
        given[self.dest] = values
        super().__call__(parser, namespace, values, option_string)


def _count(lo: int, hi: int = 2**63 - 1):
    """An integer flag from lo to hi."""
    want = (
        f"an integer >= {lo} (below 2^63)" if hi == 2**63 - 1 else f"an integer from {lo} to {hi:,}"
    )

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r}: must be {want}") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{text}: must be {want}")
        return value

    return parse


def _amount(positive: bool, hi: float = math.inf):
    """A finite number flag, > 0 or >= 0, at most hi."""
    want = f"a finite number {'> 0' if positive else '>= 0'}" + (
        f" and at most {hi:,g}" if math.isfinite(hi) else ""
    )

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < 0 or (positive and value == 0) or value > hi:
            raise argparse.ArgumentTypeError(f"{text!r}: must be {want}")
        return value

    return parse


def _name(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return text.strip()


RUN_FILES = (
    "summary.json",
    "layers.csv",
    "timings.json",
    "trace.npz",
    "trace.pftrace.gz",
    "timeline.png",
    "utilization.png",
    "stalls.png",
    "buffers.png",
    "report.html",
)  # the figures' names in PNG: the check is for the names' places, whatever the format
SWEEP_FILES = ("results.sqlite", "results.csv", "heatmap_cycles.png", "heatmap_utilization.png")
# `compare`'s budget for exact, per layer, in CP-SAT deterministic seconds (about a CPU
# second each): it runs beside eleven other policies, and on the default scenario CP-SAT
# finds the same plans at 0.02 as at 2 (docs/defaults.md)
COMPARE_EXACT_S = 0.25


def _out_dir(given: str | None, default: Path, names: tuple[str, ...]) -> Path:
    """--out (or the default under results/), checked before anything is simulated to be a
    place where every one of `names` can be written (accelsim.files.output_dir); created
    only when the results are written, so a refused run leaves no empty folder behind."""
    from accelsim.files import output_dir

    if given is not None and not given.strip():
        raise ConfigError("--out '': name a directory (it is created if missing)")
    return output_dir(Path(given) if given is not None else default, names)


def _dask_address(text: str) -> None:
    """host:port or scheme://host:port, with a port number."""
    from urllib.parse import urlsplit

    try:
        port = urlsplit(text if "://" in text else f"tcp://{text}").port
    except ValueError:
        port = None
    if port is None:
        raise ConfigError(
            f"--dask {text!r}: must be 'local' or a scheduler address "
            f"HOST:PORT (e.g. tcp://127.0.0.1:8786)"
        )


def _run(args) -> int:
    from accelsim.baseline_cache import BaselineCache
    from accelsim.pipeline import run_scenario, write_outputs
    from accelsim.scenario import load_scenario

    scenario = load_scenario(args.scenario)
    policy, options = args.policy, _policy_options(args.policy_option)
    if policy is None or policy == scenario.policy:  # the scenario's options go with it
        policy, options = scenario.policy, {**scenario.policy_options, **options}
    given = policy != scenario.policy  # named on the command line, not by the scenario
    if options or given:  # checked before anything runs, and blamed on the flag
        from accelsim.errors import PolicyError
        from accelsim.policies import load_policy

        try:
            load_policy(policy, options)
        except PolicyError as exc:
            flags = " / ".join(
                f for f, on in (("--policy", given), ("--policy-option", options)) if on
            )
            raise ConfigError(f"{flags}: {exc}") from None
    out = _out_dir(args.out, Path("results") / scenario.name, RUN_FILES)
    progress = _Progress(args.quiet)
    cache = None if args.no_cache else BaselineCache()
    outcome = run_scenario(
        scenario,
        policy=policy,
        seed=args.seed,
        baselines=False if args.no_baselines else None,
        progress=progress,
        engine=args.engine,
        cache=cache,
        policy_options=options,
    )
    progress.done()
    files = write_outputs(
        outcome,
        out,
        plots=not args.no_plots,
        fmt=args.format,
        dpi=args.dpi,
        trace=args.trace,
        style=args.style,
    )
    print(
        f"accelsim: {scenario.name} ({scenario.network.name}, "
        f"{outcome.pruned.description}) on {scenario.hardware.n_pes} PEs, "
        f"policy {outcome.report.policy}"
    )
    print(outcome.report.table())
    print("\n" + textwrap.fill(f"wrote {', '.join(f.name for f in files)} to {out}/", 100))
    return 0


def _policy_options(items: list[str] | None) -> dict:
    """KEY=VALUE pairs; a value is read as in TOML (400, 2.5, true), else as a string."""
    import tomllib

    options = {}
    for item in items or ():
        key, sep, text = item.partition("=")
        if "\n" in item or "\r" in item:
            raise ConfigError(
                f"--policy-option {item!r}: a line break inside; give one KEY=VALUE "
                f"on one line per --policy-option"
            )
        if not sep or not key.strip():
            raise ConfigError(f"--policy-option {item!r}: must be KEY=VALUE")
        try:
            value = tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError:
            value = text
        if key.strip() in options and options[key.strip()] != value:
            raise ConfigError(
                f"--policy-option {key.strip()} given twice ({options[key.strip()]!r} and "
                f"{value!r}): give it once"
            )
        options[key.strip()] = value
    return options


def _schedule(args) -> int:
    from accelsim.errors import ConfigError
    from accelsim.policies.exact import Exact
    from accelsim.policies.schedule import plan

    cycles = read_durations(Path(args.jobs))
    if args.pes < 1:
        raise ConfigError(f"--pes = {args.pes}: must be >= 1")
    policy = Exact(time_limit_s=args.time_limit) if args.policy == "exact" else args.policy
    s = plan(cycles, args.pes, policy)
    if args.json:
        print(jsonio.dumps(s.as_dict(), indent=2))
        return 0
    b = s.bounds
    print(
        f"{len(cycles)} jobs on {args.pes} PEs, policy {s.policy}: makespan {s.makespan:,}; "
        f"best bound {b.best:,} ({b.which}; LB0 {b.lb0:,}, LB1 {b.lb1:,}); "
        f"makespan / bound {s.ratio:.4f}"
        + ("; proven optimal" if s.proven_optimal else "")
        + f"; planned in {s.plan_seconds * 1e3:.1f} ms"
    )
    for p, load in enumerate(s.loads.tolist()):
        jobs = len(s.queues[p]) if s.queues is not None else "-"
        print(f"  PE {p:>3}: load {load:>12,}  jobs {jobs}")
    return 0


MAX_DURATION = 2**48  # cycles of one job; with the total below 2^62 every load fits int64


def read_durations(path: Path) -> list[int]:
    """One job duration (cycles) per row, first column (others, e.g. names, are for the
    reader); a first row without a digit in its first cell is a header."""
    import csv

    from accelsim.errors import ConfigError
    from accelsim.files import read_text

    rows = [
        (i, row[0].strip())
        for i, row in enumerate(csv.reader(read_text(path, "jobs").splitlines()), 1)
        if row and row[0].strip()
    ]
    if rows and not any(ch.isdigit() for ch in rows[0][1]):
        rows = rows[1:]
    cycles = []
    for line, text in rows:
        if not (text.isascii() and text.isdigit()) or int(text) > MAX_DURATION:
            raise ConfigError(
                f"{path}: row {line}: duration = {text!r}: must be an integer "
                f"number of cycles from 0 to 2^48"
            )
        cycles.append(int(text))
    if sum(cycles) >= 2**62:
        raise ConfigError(
            f"{path}: the durations add up to {sum(cycles):,} cycles, more than "
            f"2^62: split the file"
        )
    if not cycles:
        raise ConfigError(f"{path}: no job durations")
    if not any(cycles):
        raise ConfigError(f"{path}: all {len(cycles)} durations are 0 cycles: nothing to schedule")
    return cycles


def _compare(args) -> int:
    from accelsim.scenario import load_scenario
    from accelsim.studies import compare

    if args.networks is not None:
        given = {
            "a scenario file": args.scenario,
            "--policies": args.policies,
            "--engine": args.engine,
            "--exact-time-limit": args.exact_time_limit,
        }
        dropped = [what for what, value in given.items() if value is not None]
        if dropped:
            raise ConfigError(
                f"compare --networks runs its own fixed study (16 PEs, every static policy, "
                f"lock-step and decoupled) and would ignore {', '.join(dropped)}: leave "
                f"{'it' if len(dropped) == 1 else 'them'} out, or compare one scenario"
            )
        return _compare_networks(args)
    if args.evaluations is not None:
        raise ConfigError(
            "--evaluations is for compare --networks; for one scenario set "
            "[policy_options] evaluations for hardware-aware in the scenario file"
        )
    if args.scenario is None:
        raise ConfigError(
            "compare: give a scenario TOML file, or --networks for every shipped pruned network"
        )
    scenario = load_scenario(args.scenario)
    names = None
    if args.policies is not None:
        names = [n.strip() for n in args.policies.split(",")]
        if not all(names):
            raise ConfigError(
                f"--policies {args.policies!r}: an empty name; give comma-separated "
                f"policy names, or leave --policies out for every installed one"
            )
    policies, left_out = compare.policies_for(
        names,
        COMPARE_EXACT_S if args.exact_time_limit is None else args.exact_time_limit,
        {scenario.policy: scenario.policy_options},
    )
    out = _out_dir(
        args.out, Path("results") / scenario.name / "compare", ("compare.json", "compare.png")
    )
    progress = _Progress(args.quiet)
    runs = compare.compare(scenario, policies, progress, args.engine)
    progress.done()
    ref = compare.reference(scenario, runs) if scenario.baselines else None
    write_bytes(out / "compare.json", compare.to_json(runs, ref, scenario.energy))
    chart = _save(
        lambda: compare.chart_figure(
            runs, f"{scenario.name}: makespan / best bound on {scenario.hardware.n_pes:,} PEs"
        ),
        out / f"compare.{args.format}",
        args,
    )
    print(
        f"accelsim compare: {scenario.name} ({scenario.network.name}) on "
        f"{scenario.hardware.n_pes} PEs, {len(runs)} policies"
    )
    print(compare.table(runs, ref, scenario.energy))
    for name, extra in left_out.items():
        print(f"left out: {name} (needs pip install '{extra}')")
    print(f"\nwrote compare.json, {chart} to {out}/")
    return 0


def _compare_networks(args) -> int:
    """The project's question: gain over round-robin and distance to the hardware bound on
    every shipped pruned network, lock-step and decoupled."""
    from accelsim.studies import scheduling_gain

    names = (
        [n.strip() for n in args.networks.split(",")]
        if args.networks
        else list(scheduling_gain.NETWORKS)
    )
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(
            f"--networks names {', '.join(twice)} more than once: each network runs once"
        )
    out = _out_dir(
        args.out,
        Path("results") / "scheduling_gain",
        ("scheduling_gain.json", "scheduling_gain.png"),
    )
    progress = _Progress(args.quiet, unit="run", every=True)
    gains = scheduling_gain.measure(
        names,
        60 if args.evaluations is None else args.evaluations,  # called after each run
        lambda label, i, n: progress("compare --networks", i - 1, n, f"{label} done"),
    )
    progress.done()
    write_bytes(out / "scheduling_gain.json", scheduling_gain.to_json(gains))
    chart = _save(
        lambda: scheduling_gain.gain_figure(gains), out / f"scheduling_gain.{args.format}", args
    )
    print(
        "accelsim compare --networks: every shipped pruned network on 16 PEs, lock-step "
        "(depth 1) and decoupled (depth 8)"
    )
    print(scheduling_gain.table(gains))
    print(f"\nwrote scheduling_gain.json, {chart} to {out}/")
    return 0


def _fraction(text: str) -> float:
    """A fraction in (0, 1]."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r}: must be a fraction in (0, 1]")
    return value


def _shape(text: str) -> tuple[int, ...]:
    """--input-shape C,H,W (or C,L for a sequence, L for a flat input): positive integers."""
    try:
        dims = tuple(int(d) for d in text.split(","))
    except ValueError:
        dims = ()
    if len(dims) not in (1, 2, 3) or min(dims) < 1:
        raise argparse.ArgumentTypeError(
            f"{text!r}: must be C,H,W (or C,L, or L): positive integers joined by commas"
        )
    return dims


def _import(args) -> int:
    from accelsim.workload.importer import import_model

    model = Path(args.model)
    if not model.is_file():
        raise ConfigError(f"{model}: no such file")
    out = _out_dir(
        args.out,
        Path("results") / model.stem,
        tuple(f"{model.stem}.{ext}" for ext in ("csv", "npz", "toml")),
    )
    imported, sparsity, written = import_model(model, out, args.input_shape, args.method, args.keep)
    print(f"{model}:")
    for line in imported.summary():
        print(f"  {line}")
    topology, masks, scenario = written
    print(f"wrote {topology}, {masks} ({sparsity:.1%} of the weights are zero) and {scenario}")
    print(f"run it: accelsim run {scenario}")
    print(
        f'or in a scenario of yours: [workload] network = "{topology}"  [pruning] measured = "{masks}"'
    )
    return 0


def _workload(args) -> int:
    from accelsim.outputs import figures
    from accelsim.scenario import load_scenario
    from accelsim.workload.sparsity.fit import compare_network, report_table
    from accelsim.workload.sparsity.sparsity_model import FITTED
    from accelsim.workload.sparsity.stats import layer_stats, table

    scenario = load_scenario(args.scenario)
    out = _out_dir(
        args.out, Path("results") / scenario.name, ("nnz_histograms.png", "measured_vs_model.png")
    )
    pruned = scenario.pruned(args.seed)
    print(f"{scenario.network.name}: {pruned.description}")
    print(table(layer_stats(pruned)))
    written = [
        _save(
            lambda: figures.nnz_histograms_figure(
                pruned, f"{scenario.network.name}: nonzeros per filter"
            ),
            made(out) / f"nnz_histograms.{args.format}",
            args,
        )
    ]
    rows = compare_network(pruned, network=scenario.network.name)
    if rows:
        print(
            f"\nmeasured masks against the fitted sparsity model ({FITTED}), given each "
            f"layer's total:"
        )
        print(report_table(rows))
        written.append(
            _save(
                lambda: figures.measured_vs_model_figure(
                    rows, f"{scenario.network.name}\n{pruned.description}"
                ),
                out / f"measured_vs_model.{args.format}",
                args,
            )
        )
    print(f"\nwrote {', '.join(written)} to {out}/")
    return 0


def _sweep(args) -> int:
    from accelsim.studies.sweep import ResultStore, load_sweep, run_sweep, sweep_rows, write_csv

    sweep = load_sweep(args.sweep)
    if args.dask and args.dask != "local":
        _dask_address(args.dask)
    if args.dask and importlib.util.find_spec("distributed") is None:  # before writing
        raise ConfigError("--dask needs dask.distributed: pip install 'accelsim[dask]'")
    out = _out_dir(args.out, Path("results") / sweep.name, SWEEP_FILES)
    store = ResultStore(made(out) / "results.sqlite")
    where = (
        f"Dask ({args.dask})"
        if args.dask
        else (f"{args.jobs} processes" if args.jobs > 1 else "serial")
    )
    if not args.quiet:
        print(
            f"accelsim sweep: {sweep.name}, {len(sweep.points)} points over "
            f"{', '.join(sweep.axes)}; {where}; results in {store.path}",
            file=sys.stderr,
        )
    ran = run_sweep(sweep, store, jobs=args.jobs, dask=args.dask, quiet=args.quiet)
    rows = sweep_rows(sweep, store)
    store.close()
    write_csv(rows, out / "results.csv")
    files = ["results.sqlite", "results.csv"]
    valid = [r for r in rows if not r.get("error")]
    if rows and not valid:
        raise ConfigError(
            f"{args.sweep}: every point failed, e.g. point {rows[0]['point']}: "
            f"{rows[0]['error']} (results.csv lists each point's error)"
        )
    files += _sweep_figures(sweep, rows, out, args)
    print(
        f"{len(rows)} of {len(sweep.points)} points done ({ran} run now, "
        f"{len(rows) - ran} from earlier runs)"
    )
    modes = {r.get("mapping") for r in valid}
    if "auto" in modes:
        print(
            "mapping: each point runs its own best mapping per layer (the mapper), so the "
            "points compare hardware, not one mapping on all of it"
            + ("; some points fix it" if "fixed" in modes else "")
        )
    elif valid:
        print("mapping: fixed by the scenario, the same on every point")
    allotted = [r for r in valid if r.get("allotted_from_point") is not None]
    if allotted:
        print(
            f"{len(allotted)} point{'s run' if len(allotted) > 1 else ' runs'} faster with "
            f"the buffer sizes of a smaller point "
            f"(allotted_from_point; cycles_full_buffers is their own run): a larger buffer "
            f"can act as a smaller one, so cycles never grow with a buffer"
        )
    failed = [r for r in rows if r.get("error")]
    if failed:
        print(
            f"{len(failed)} points cannot run on their hardware (error column), e.g. "
            f"point {failed[0]['point']}: {failed[0]['error']}"
        )
    if not valid:
        return 0
    best = min(valid, key=lambda r: r["cycles"])
    print(
        "fastest: "
        + ", ".join(f"{a} = {best[a]}" for a in sweep.axes)
        + f": {best['cycles']:,} cycles, utilization {best['utilization']:.1%}"
    )
    print(f"wrote {', '.join(files)} to {out}/")
    return 0


def _sweep_figures(sweep, rows: list[dict], out: Path, args) -> list[str]:
    """Per metric of [plot] metrics, over the points of [plot] slice (all by default): with
    one numeric swept axis, a line plot against it (one line per value of the other axes,
    line_METRIC); else a heatmap over the [plot] axes, each cell the best over the axes
    neither plotted nor sliced (heatmap_METRIC). A metric no point has is skipped."""
    from accelsim.outputs import figures
    from accelsim.studies.sweep import PLOT_METRICS

    def numeric(v) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool)

    where, pes = dict(sweep.slice), dict(sweep.pe_factor)
    rows = figures.sliced(rows, where)
    axes = [a for a in sweep.axes if len({repr(r[a]) for r in rows}) > 1]
    along = [a for a in axes if all(numeric(r[a]) for r in rows)]
    written = []
    for metric in sweep.metrics:
        if all(r.get(metric) is None for r in rows if not r.get("error")):
            continue
        if len(along) == 1:
            others = tuple(a for a in axes if a != along[0])

            def draw(metric=metric, others=others):
                return figures.sweep_line_figure(
                    rows, along[0], metric, others, where=where, pes=pes
                )

            name = f"line_{metric}"
        elif sweep.plot:
            over = tuple(a for a in axes if a not in sweep.plot)

            def draw(metric=metric, over=over):
                return figures.heatmap_figure(
                    rows,
                    *sweep.plot,
                    metric,
                    best=PLOT_METRICS[metric],
                    where=where,
                    over=over,
                    pes=pes,
                )

            name = f"heatmap_{metric}"
        else:
            continue
        written.append(_save(draw, out / f"{name}.{args.format}", args))
    return written


def _size(args) -> int:
    from accelsim.errors import ConfigError
    from accelsim.outputs import figures
    from accelsim.scenario import load_scenario
    from accelsim.studies.sizing import size

    scenario = load_scenario(args.scenario)
    if args.max_pes & (args.max_pes - 1):
        raise ConfigError(f"--max-pes = {args.max_pes}: must be a power of two")
    cycles = (
        args.latency_target
        if args.unit == "cycles"
        else args.latency_target * 1e-3 * scenario.hardware.clock_hz
    )
    if not 1 <= cycles <= 2**62:
        raise ConfigError(
            f"--latency-target = {args.latency_target:g} {args.unit}: is "
            f"{cycles:g} cycles at {scenario.hardware.clock_hz:g} Hz; must be "
            f"from 1 to 2^62 cycles"
        )
    target = int(cycles)
    out = _out_dir(
        args.out, Path("results") / scenario.name / "size", ("sizing.json", "pareto.png")
    )
    count = [0]

    def progress(c):
        count[0] += 1
        if not args.quiet:
            shown = "cannot run" if not c.feasible else f"{c.cycles:,} cycles"
            print(
                f"  sim {count[0]:>3}: {c.pes:>4} PEs, buffers x{c.scale:<5g} {shown}",
                file=sys.stderr,
            )

    result = size(scenario, target, args.max_pes, progress=progress, reference=args.reference)
    print(
        f"accelsim size: {scenario.name}, target {target:,} cycles; "
        f"{len(result.simulated)} simulations instead of the {result.grid_size} of the "
        f"full grid; "
        + (
            "each point at its own best mapping per layer (the mapper)"
            if scenario.mapping.mode == "auto"
            else "every point with the scenario's fixed mapping"
        )
    )
    b = result.best
    if b is None:
        print("no configuration up to --max-pes meets the target (exit status 1)")
    else:
        print(
            f"smallest meeting it: {b.pes} PEs ({b.pe_rows} x {b.pe_cols}), buffers x"
            f"{b.scale:g} ({b.buffer_bytes / 1024:,.0f} KiB): {b.cycles:,} cycles; "
            f"energy {b.energy_uj:,.1f} uJ (dynamic {b.energy_uj - b.static_uj:,.1f}, "
            f"static {b.static_uj:,.1f}); area {b.area_mm2:.3f} mm^2 (buffers "
            f"{b.buffer_mm2:.3f} in {b.banks:,} banks of "
            f"{scenario.hardware.sram_bank_bytes / 1024:g} KiB, lanes and interconnect "
            f"{b.logic_mm2:.3f})"
        )
    if args.reference:
        r = result.best_reference
        print(
            f"dense systolic reference ({len(result.references)} arrays, SCALE-Sim's model, "
            f"closed form): "
            + (
                "none meets the target"
                if r is None
                else f"the smallest meeting it is {r.pe_rows} x {r.pe_cols} {r.design}, "
                f"buffers x{r.scale:g}: {r.cycles:,} cycles; energy {r.energy_uj:,.1f} uJ; "
                f"area {r.area_mm2:.3f} mm^2"
            )
        )
    print("\nPareto front (latency, energy, area):")
    print(
        f"{'PEs':>6}{'buffers':>9}{'banks':>7}{'cycles':>14}{'energy uJ':>12}"
        f"{'static uJ':>11}{'area mm2':>10}{'logic mm2':>11}  design"
    )
    for c in result.front:
        print(
            f"{c.pes:>6}{'x' + format(c.scale, 'g'):>9}{c.banks:>7,}{c.cycles:>14,}"
            f"{c.energy_uj:>12,.1f}{c.static_uj:>11,.1f}{c.area_mm2:>10.3f}"
            f"{c.logic_mm2:>11.3f}  {c.design}"
        )
    rows = [
        {
            **{
                k: getattr(c, k)
                for k in (
                    "pes",
                    "pe_rows",
                    "pe_cols",
                    "scale",
                    "cycles",
                    "energy_uj",
                    "static_uj",
                    "pe_lanes",
                    "buffer_bytes",
                    "banks",
                    "area_mm2",
                    "logic_mm2",
                    "error",
                    "design",
                )
            },
            "pareto": c in result.front,
        }
        for c in result.simulated + result.references
    ]
    # the data first: minutes of simulation are never lost to a plot
    write_bytes(
        out / "sizing.json", jsonio.dumps({"target_cycles": target, "rows": rows}, indent=2)
    )
    asked = f"{args.latency_target:g} ms" if args.unit == "ms" else f"{target:,} cycles"
    chart = _save(
        lambda: figures.pareto_figure(
            result, scenario.hardware.clock_hz, f"{scenario.name}: sizing for {asked}", args.unit
        ),
        out / f"pareto.{args.format}",
        args,
    )
    print(f"\nwrote sizing.json, {chart} to {out}/")
    return 0 if b is not None else 1  # a script can tell "nothing meets it" apart


def _figure_options(parser) -> None:
    parser.add_argument(
        "--format",
        choices=("png", "svg", "pdf"),
        default="png",
        help="file format of the figures (default png; svg and pdf are vector, with any "
        "timeline's rows as an image inside)",
    )
    parser.add_argument(
        "--dpi",
        type=_amount(True, 1200),
        help="dots per inch of PNG figures and of the timeline's image (default 130, or the "
        "figure's own)",
    )
    parser.add_argument(
        "--style",
        help="a matplotlib style sheet for the figures: a name (matplotlib.style.available, "
        "e.g. seaborn-v0_8-paper) or a .mplstyle file",
    )


def _save(draw: Callable[[], Figure], path: Path, args) -> str:
    """Draw a figure and write it (accelsim.outputs.plotting.save_figure), both in --style
    (a figure reads its colours and fonts when drawn); return the file's name."""
    from accelsim.outputs.plotting import save_figure, style_context

    with style_context(args.style):
        return save_figure(draw(), path, args.dpi).name


def _engine_option(parser) -> None:
    parser.add_argument(
        "--engine",
        choices=("auto", "simpy", "fast"),
        help="override the scenario's engine: auto (default) runs the closed "
        "form wherever it is exact and SimPy elsewhere; simpy forces the "
        "reference model; fast demands the closed form for every layer",
    )


def _policies(args) -> int:
    from accelsim.policies import available, missing_extra

    for name, ep in available().items():
        extra = missing_extra(name)
        needs = getattr(ep.load(), "requires", None) if extra is None else None
        note = (
            f"  needs {extra}: not installed (pip install '{extra}')"
            if extra
            else f"  needs {needs[1]}: installed"
            if needs
            else ""
        )
        print(f"{name:<16} {ep.value}{note}")
    return 0


def main(argv: list[str] | None = None) -> int:
    from accelsim.policies.exact import Exact
    from accelsim.policies.hardware_aware import HardwareAware

    budget = {**Exact.option_limits, **HardwareAware.option_limits}  # the flags' limits too
    from accelsim.config import MAX_PES
    from accelsim.studies.sweep import MAX_WORKERS
    from accelsim.workload.sparsity.methods import METHODS

    parser = _Parser(prog="accelsim", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--version", action="version", version=f"accelsim {importlib.metadata.version('accelsim')}"
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = sub.add_parser("run", help="simulate a scenario and write its result directory")
    run.add_argument("scenario", help="scenario TOML file")
    run.add_argument("--out", help="result directory (default: results/<scenario name>)")
    run.add_argument("--policy", type=_name, help="override the scenario's policy")
    run.add_argument(
        "--policy-option",
        action="append",
        metavar="KEY=VALUE",
        help="an option of the policy, repeatable (e.g. evaluations=400 for "
        "hardware-aware, time_limit_s=30 for exact)",
    )
    run.add_argument("--seed", type=_count(0), help="override the scenario's seed")
    run.add_argument(
        "--no-baselines",
        action="store_true",
        help="skip the dense and round-robin runs (no speedup columns)",
    )
    run.add_argument("--no-plots", action="store_true", help="write no figures")
    run.add_argument(
        "--trace",
        choices=("none", "npz", "perfetto", "all"),
        default="npz",
        help="which trace files to write: trace.npz (columns, for plots/*.py and numpy; "
        "the default), trace.pftrace.gz (for the Perfetto UI), all or none",
    )
    _figure_options(run)
    run.add_argument(
        "--no-cache",
        action="store_true",
        help="simulate the baselines even if a run with the same jobs and "
        "hardware is in the cache ($ACCELSIM_CACHE_DIR or ~/.cache/accelsim)",
    )
    run.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    _engine_option(run)
    run.set_defaults(func=_run)
    sch = sub.add_parser("schedule", help="plan a CSV of job durations on N PEs")
    sch.add_argument("jobs", help="CSV file: one job duration (cycles) per row")
    sch.add_argument("--pes", type=_count(1, MAX_PES), required=True, help="number of PEs")
    sch.add_argument("--policy", type=_name, default="lpt", help="policy name (default lpt)")
    sch.add_argument(
        "--time-limit",
        type=_amount(False, budget["time_limit_s"]),
        default=10.0,
        help="CP-SAT deterministic seconds for the exact policy (its own count of work, "
        "not a clock; default 10)",
    )
    sch.add_argument("--json", action="store_true", help="print the schedule as JSON")
    sch.set_defaults(func=_schedule)
    cmp_ = sub.add_parser("compare", help="run every policy on a scenario and compare them")
    cmp_.add_argument("scenario", nargs="?", help="scenario TOML file")
    cmp_.add_argument(
        "--networks",
        nargs="?",
        const="",
        help="instead of a scenario: every shipped pruned network (or the "
        "comma-separated ones named), lock-step and decoupled, with the "
        "gain over round-robin and the distance to the hardware bound",
    )
    cmp_.add_argument(
        "--evaluations",
        type=_count(0, budget["evaluations"]),
        help="with --networks: simulations per layer for hardware-aware (default 60)",
    )
    cmp_.add_argument(
        "--policies",
        help="comma-separated names (default: every installed "
        "policy, and the +improve variants of lpt and kk; "
        "those needing an extra not installed are left "
        "out, and the output says so)",
    )
    cmp_.add_argument(
        "--exact-time-limit",
        type=_amount(False, budget["time_limit_s"]),
        help="CP-SAT deterministic seconds per layer for the exact policy (its own "
        f"count of work, not a clock; default {COMPARE_EXACT_S:g})",
    )
    cmp_.add_argument("--out", help="directory (default: results/<scenario name>/compare)")
    cmp_.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    _figure_options(cmp_)
    _engine_option(cmp_)
    cmp_.set_defaults(func=_compare)
    wl = sub.add_parser("workload", help="per-layer statistics of a scenario's pruned network")
    wl.add_argument("scenario", help="scenario TOML file")
    wl.add_argument("--seed", type=_count(0), help="override the scenario's seed")
    wl.add_argument(
        "--out", help="directory for nnz_histograms.png (default: results/<scenario name>)"
    )
    _figure_options(wl)
    wl.set_defaults(func=_workload)
    sw = sub.add_parser("sweep", help="run a design-space sweep (resumable)")
    sw.add_argument("sweep", help="sweep TOML file")
    sw.add_argument(
        "--jobs",
        "-j",
        type=_count(1, MAX_WORKERS),
        default=1,
        help="worker processes (local pool, or Dask workers with --dask local)",
    )
    sw.add_argument(
        "--dask", metavar="ADDRESS", help="a Dask scheduler address, or 'local' for a LocalCluster"
    )
    sw.add_argument("--out", help="directory (default: results/<sweep name>)")
    sw.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    _figure_options(sw)
    sw.set_defaults(func=_sweep)
    sz = sub.add_parser("size", help="smallest PE array and buffers that meet a latency target")
    sz.add_argument("scenario", help="scenario TOML file")
    sz.add_argument(
        "--latency-target",
        type=_amount(True),
        required=True,
        help="the latency the design must meet, in --unit",
    )
    sz.add_argument(
        "--unit",
        choices=("cycles", "ms"),
        default="cycles",
        help="unit of --latency-target (ms at the scenario's clock_hz)",
    )
    sz.add_argument(
        "--max-pes", type=_count(1, MAX_PES), default=256, help="largest array (power of two)"
    )
    sz.add_argument(
        "--reference",
        action="store_true",
        help="also put the dense systolic reference of every grid point (the scenario's "
        "[reference]) on the Pareto front",
    )
    sz.add_argument("--out", help="directory (default: results/<scenario name>/size)")
    sz.add_argument("--quiet", "-q", action="store_true")
    _figure_options(sz)
    sz.set_defaults(func=_size)
    imp = sub.add_parser(
        "import", help="turn an ONNX model into a topology CSV and its real per-kernel masks"
    )
    imp.add_argument("model", help="ONNX file (export a PyTorch model with torch.onnx.export)")
    imp.add_argument(
        "--input-shape",
        type=_shape,
        metavar="C,H,W",
        help="the input's channels, height and width where the file leaves them open "
        "(C,L for a sequence, L for a flat input such as audio samples)",
    )
    imp.add_argument("--out", help="folder for MODEL.csv and MODEL.npz (default: results/MODEL)")
    imp.add_argument(
        "--keep",
        type=_fraction,
        default=1.0,
        help="fraction of weights to keep by magnitude (default 1: the weights as exported, "
        "exact zeros pruned)",
    )
    imp.add_argument(
        "--method",
        choices=METHODS,
        default="layer",
        help="magnitude pruning method with --keep below 1 (default layer)",
    )
    imp.set_defaults(func=_import)
    pol = sub.add_parser("policies", help="list the policies that can be named")
    pol.set_defaults(func=_policies)
    args = parser.parse_args(argv)
    with (
        contextlib.redirect_stdout(_pipe_safe(sys.stdout)),
        contextlib.redirect_stderr(_pipe_safe(sys.stderr)),
    ):
        return _dispatch(args)


def _pipe_safe(stream):
    """A real stream (one with a file descriptor) wrapped in _PipeSafe; anything else as is."""
    try:
        stream.fileno()
    except (AttributeError, OSError, ValueError):
        return stream
    return _PipeSafe(stream)


def _dispatch(args) -> int:
    """args.func, with every error made one line on stderr (see the module docstring)."""
    inputs = [
        str(getattr(args, k))
        for k in ("scenario", "sweep", "jobs")
        if isinstance(getattr(args, k, None), str)
    ]
    try:
        if getattr(args, "style", None) is not None:  # refused before anything runs
            from accelsim.outputs.plotting import style_context

            style_context(args.style)
        return args.func(args)
    except AccelsimError as exc:
        message = str(exc)
        if inputs and not any(Path(i).name in message for i in inputs):
            message = f"{inputs[0]}: {message}"  # errors found deep down name the input too
        print(f"accelsim: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("accelsim: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # no traceback for a user
        if os.environ.get("ACCELSIM_DEBUG"):
            raise
        what = " ".join(str(exc).split()) or "no message"
        print(
            f"accelsim: error: {args.command} {' '.join(inputs)}: unexpected "
            f"{type(exc).__name__}: {what[:300]} (ACCELSIM_DEBUG=1 shows where)",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":
    sys.exit(main())
