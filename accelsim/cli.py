"""Command line: accelsim run | compare | schedule | workload | sweep | size | policies.

An AccelsimError is printed as one line and exits 2; any other error keeps its traceback.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from accelsim.errors import AccelsimError


class _Progress:
    """One status line on stderr, rewritten in place on a terminal, per simulated layer."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self.t0 = time.perf_counter()

    def __call__(self, phase: str, i: int, n: int, name: str) -> None:
        if self.quiet:
            return
        text = f"[{time.perf_counter() - self.t0:6.1f} s] {phase}: layer {i + 1}/{n} {name}"
        if self.tty:
            sys.stderr.write("\r" + text[:100].ljust(100))
            sys.stderr.flush()
        elif i == 0:
            sys.stderr.write(f"{phase}: simulating {n} layers\n")

    def done(self) -> None:
        if self.tty and not self.quiet:
            sys.stderr.write("\r" + " " * 100 + "\r")


def _run(args) -> int:
    from accelsim.pipeline import run_scenario, write_outputs
    from accelsim.scenario import load_scenario

    from accelsim.baseline_cache import BaselineCache

    scenario = load_scenario(args.scenario)
    progress = _Progress(args.quiet)
    cache = None if args.no_cache else BaselineCache()
    outcome = run_scenario(scenario, policy=args.policy, seed=args.seed,
                           baselines=False if args.no_baselines else None, progress=progress,
                           engine=args.engine, cache=cache)
    progress.done()
    out = Path(args.out) if args.out else Path("results") / scenario.name
    files = write_outputs(outcome, out, plots=not args.no_plots)
    print(f"accelsim: {scenario.name} ({scenario.network.name}, "
          f"{outcome.pruned.description}) on {scenario.hardware.n_pes} PEs, "
          f"policy {outcome.report.policy}")
    print(outcome.report.table())
    print(f"\nwrote {', '.join(f.name for f in files)} to {out}/")
    return 0


def _schedule(args) -> int:
    import json
    from accelsim.errors import ConfigError
    from accelsim.policies.exact import Exact
    from accelsim.schedule import plan

    cycles = read_durations(Path(args.jobs))
    if args.pes < 1:
        raise ConfigError(f"--pes = {args.pes}: must be >= 1")
    policy = Exact(time_limit_s=args.time_limit) if args.policy == "exact" else args.policy
    s = plan(cycles, args.pes, policy)
    if args.json:
        print(json.dumps(s.as_dict(), indent=2))
        return 0
    b = s.bounds
    print(f"{len(cycles)} jobs on {args.pes} PEs, policy {s.policy}: makespan {s.makespan:,}; "
          f"best bound {b.best:,} ({b.which}; LB0 {b.lb0:,}, LB1 {b.lb1:,}); "
          f"makespan / bound {s.ratio:.4f}"
          + ("; proven optimal" if s.proven_optimal else "")
          + f"; planned in {s.plan_seconds * 1e3:.1f} ms")
    for p, load in enumerate(s.loads.tolist()):
        jobs = len(s.queues[p]) if s.queues is not None else "-"
        print(f"  PE {p:>3}: load {load:>12,}  jobs {jobs}")
    return 0


def read_durations(path: Path) -> list[int]:
    """One job duration (cycles) per row, first column; a non-numeric first row is a header."""
    from accelsim.errors import ConfigError
    try:
        rows = [line.split(",")[0].strip() for line in path.read_text().splitlines()]
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    rows = [(i, r) for i, r in enumerate(rows, 1) if r]
    if rows and not rows[0][1].lstrip("-").isdigit():
        rows = rows[1:]
    cycles = []
    for line, text in rows:
        if not text.isdigit():
            raise ConfigError(f"{path}: row {line}: duration = {text!r}: must be an integer "
                              f"number of cycles >= 0")
        cycles.append(int(text))
    if not cycles:
        raise ConfigError(f"{path}: no job durations")
    return cycles


def _compare(args) -> int:
    from accelsim import compare
    from accelsim.scenario import load_scenario

    scenario = load_scenario(args.scenario)
    names = [n.strip() for n in args.policies.split(",")] if args.policies else None
    policies = compare.policies_for(names, args.exact_time_limit)
    progress = _Progress(args.quiet)
    runs = compare.compare(scenario, policies,
                           lambda name, i, n: progress(name, i, n, "simulating"), args.engine)
    progress.done()
    out = Path(args.out) if args.out else Path("results") / scenario.name / "compare"
    out.mkdir(parents=True, exist_ok=True)
    (out / "compare.json").write_text(compare.to_json(runs))
    compare.save_chart(runs, out / "compare.png",
                       f"{scenario.name}: makespan / best bound on {scenario.hardware.n_pes} PEs")
    print(f"accelsim compare: {scenario.name} ({scenario.network.name}) on "
          f"{scenario.hardware.n_pes} PEs, {len(runs)} policies")
    print(compare.table(runs))
    print(f"\nwrote compare.json, compare.png to {out}/")
    return 0


def _workload(args) -> int:
    from accelsim import plotting
    from accelsim.scenario import load_scenario
    from accelsim.workload.sparsity_model import FITTED, compare_network, report_table
    from accelsim.workload.stats import layer_stats, table

    scenario = load_scenario(args.scenario)
    pruned = scenario.pruned(args.seed)
    print(f"{scenario.network.name}: {pruned.description}")
    print(table(layer_stats(pruned)))
    out = Path(args.out) if args.out else Path("results") / scenario.name
    out.mkdir(parents=True, exist_ok=True)
    plotting.save_nnz_histograms(pruned, out / "nnz_histograms.png",
                                 f"{scenario.network.name}: nonzeros per filter")
    written = ["nnz_histograms.png"]
    rows = compare_network(pruned, network=scenario.network.name)
    if rows:
        print(f"\nmeasured masks against the fitted sparsity model ({FITTED}), given each "
              f"layer's total:")
        print(report_table(rows))
        plotting.save_measured_vs_model(rows, out / "measured_vs_model.png",
                                        f"{scenario.network.name}\n{pruned.description}")
        written.append("measured_vs_model.png")
    print(f"\nwrote {', '.join(written)} to {out}/")
    return 0


def _sweep(args) -> int:
    from accelsim import plotting
    from accelsim.sweep import ResultStore, load_sweep, run_sweep, write_csv

    sweep = load_sweep(args.sweep)
    out = Path(args.out) if args.out else Path("results") / sweep.name
    store = ResultStore(out / "results.sqlite")
    where = f"Dask ({args.dask})" if args.dask else (
        f"{args.jobs} processes" if args.jobs > 1 else "serial")
    print(f"accelsim sweep: {sweep.name}, {len(sweep.points)} points over "
          f"{', '.join(sweep.axes)}; {where}; results in {store.path}", file=sys.stderr)
    ran = run_sweep(sweep, store, jobs=args.jobs, dask=args.dask, quiet=args.quiet)
    rows = store.rows(p.key for p in sweep.points)
    store.close()
    write_csv(rows, out / "results.csv")
    files = ["results.sqlite", "results.csv"]
    if sweep.plot:
        x, y = sweep.plot
        plotting.save_heatmap(rows, x, y, "cycles", out / "heatmap_cycles.png", best=min)
        plotting.save_heatmap(rows, x, y, "utilization", out / "heatmap_utilization.png",
                              best=max)
        files += ["heatmap_cycles.png", "heatmap_utilization.png"]
    print(f"{len(rows)} of {len(sweep.points)} points done ({ran} run now, "
          f"{len(rows) - ran} from earlier runs)")
    failed = [r for r in rows if r.get("error")]
    if failed:
        print(f"{len(failed)} points cannot run on their hardware (error column), e.g. "
              f"point {failed[0]['point']}: {failed[0]['error']}")
    valid = [r for r in rows if not r.get("error")]
    if not valid:
        return 0
    best = min(valid, key=lambda r: r["cycles"])
    print("fastest: " + ", ".join(f"{a} = {best[a]}" for a in sweep.axes)
          + f": {best['cycles']:,} cycles, utilization {best['utilization']:.1%}")
    print(f"wrote {', '.join(files)} to {out}/")
    return 0


def _size(args) -> int:
    import json
    from accelsim import plotting
    from accelsim.errors import ConfigError
    from accelsim.scenario import load_scenario
    from accelsim.sizing import size

    scenario = load_scenario(args.scenario)
    if args.latency_target <= 0:
        raise ConfigError(f"--latency-target = {args.latency_target}: must be > 0")
    if args.max_pes < 1 or args.max_pes & (args.max_pes - 1):
        raise ConfigError(f"--max-pes = {args.max_pes}: must be a power of two")
    target = int(args.latency_target if args.unit == "cycles"
                 else args.latency_target * 1e-3 * scenario.hardware.clock_hz)
    count = [0]

    def progress(c):
        count[0] += 1
        if not args.quiet:
            shown = "cannot run" if not c.feasible else f"{c.cycles:,} cycles"
            print(f"  sim {count[0]:>3}: {c.pes:>4} PEs, buffers x{c.scale:<5g} {shown}",
                  file=sys.stderr)

    result = size(scenario, target, args.max_pes, args.lane_bytes, progress=progress)
    print(f"accelsim size: {scenario.name}, target {target:,} cycles; "
          f"{len(result.simulated)} simulations instead of the {result.grid_size} of the "
          f"full grid")
    b = result.best
    if b is None:
        print("no configuration up to --max-pes meets the target")
    else:
        print(f"smallest meeting it: {b.pes} PEs ({b.pe_rows} x {b.pe_cols}), buffers x"
              f"{b.scale:g} ({b.buffer_bytes / 1024:,.0f} KiB): {b.cycles:,} cycles, "
              f"{b.energy_uj:,.1f} uJ, area proxy {b.area / 1024:,.0f} KiB-equivalent")
    print("\nPareto front (latency, energy, area):")
    print(f"{'PEs':>6}{'buffers':>9}{'cycles':>14}{'energy uJ':>12}{'area KiB':>10}")
    for c in result.front:
        print(f"{c.pes:>6}{'x' + format(c.scale, 'g'):>9}{c.cycles:>14,}{c.energy_uj:>12,.1f}"
              f"{c.area / 1024:>10,.0f}")
    out = Path(args.out) if args.out else Path("results") / scenario.name / "size"
    out.mkdir(parents=True, exist_ok=True)
    plotting.save_pareto(result, out / "pareto.png", scenario.hardware.clock_hz,
                         f"{scenario.name}: sizing for {target:,} cycles")
    rows = [{**{k: getattr(c, k) for k in ("pes", "pe_rows", "pe_cols", "scale", "cycles",
                                              "energy_uj", "pe_lanes", "buffer_bytes", "area",
                                              "error")},
             "pareto": c in result.front} for c in result.simulated]
    (out / "sizing.json").write_text(json.dumps({"target_cycles": target, "rows": rows},
                                                indent=2, default=str))
    print(f"\nwrote sizing.json, pareto.png to {out}/")
    return 0


def _engine_option(parser) -> None:
    parser.add_argument("--engine", choices=("auto", "simpy", "fast"),
                        help="override the scenario's engine: auto (default) runs the closed "
                             "form wherever it is exact and SimPy elsewhere; simpy forces the "
                             "reference model; fast demands the closed form for every layer")


def _policies(args) -> int:
    from accelsim.policies import available
    for name, ep in available().items():
        print(f"{name:<16} {ep.value}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="accelsim", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="simulate a scenario and write its result directory")
    run.add_argument("scenario", help="scenario TOML file")
    run.add_argument("--out", help="result directory (default: results/<scenario name>)")
    run.add_argument("--policy", help="override the scenario's policy")
    run.add_argument("--seed", type=int, help="override the scenario's seed")
    run.add_argument("--no-baselines", action="store_true",
                     help="skip the dense and round-robin runs (no speedup columns)")
    run.add_argument("--no-plots", action="store_true", help="write no PNG files")
    run.add_argument("--no-cache", action="store_true",
                     help="simulate the baselines even if a run with the same jobs and "
                          "hardware is in the cache ($ACCELSIM_CACHE_DIR or ~/.cache/accelsim)")
    run.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    _engine_option(run)
    run.set_defaults(func=_run)
    sch = sub.add_parser("schedule", help="plan a CSV of job durations on N PEs")
    sch.add_argument("jobs", help="CSV file: one job duration (cycles) per row")
    sch.add_argument("--pes", type=int, required=True, help="number of PEs")
    sch.add_argument("--policy", default="lpt", help="policy name (default lpt)")
    sch.add_argument("--time-limit", type=float, default=10.0,
                     help="seconds for the exact policy (default 10)")
    sch.add_argument("--json", action="store_true", help="print the schedule as JSON")
    sch.set_defaults(func=_schedule)
    cmp_ = sub.add_parser("compare", help="run every policy on a scenario and compare them")
    cmp_.add_argument("scenario", help="scenario TOML file")
    cmp_.add_argument("--policies", help="comma-separated names (default: all, and the "
                                         "+improve variants of lpt and kk)")
    cmp_.add_argument("--exact-time-limit", type=float, default=2.0,
                      help="seconds per layer for the exact policy (default 2)")
    cmp_.add_argument("--out", help="directory (default: results/<scenario name>/compare)")
    cmp_.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    _engine_option(cmp_)
    cmp_.set_defaults(func=_compare)
    wl = sub.add_parser("workload", help="per-layer statistics of a scenario's pruned network")
    wl.add_argument("scenario", help="scenario TOML file")
    wl.add_argument("--seed", type=int, help="override the scenario's seed")
    wl.add_argument("--out", help="directory for nnz_histograms.png "
                                  "(default: results/<scenario name>)")
    wl.set_defaults(func=_workload)
    sw = sub.add_parser("sweep", help="run a design-space sweep (resumable)")
    sw.add_argument("sweep", help="sweep TOML file")
    sw.add_argument("--jobs", "-j", type=int, default=1,
                    help="worker processes (local pool, or Dask workers with --dask local)")
    sw.add_argument("--dask", metavar="ADDRESS", help="a Dask scheduler address, or 'local' "
                                                      "for a LocalCluster")
    sw.add_argument("--out", help="directory (default: results/<sweep name>)")
    sw.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    sw.set_defaults(func=_sweep)
    sz = sub.add_parser("size", help="smallest PE array and buffers that meet a latency target")
    sz.add_argument("scenario", help="scenario TOML file")
    sz.add_argument("--latency-target", type=float, required=True)
    sz.add_argument("--unit", choices=("cycles", "ms"), default="cycles")
    sz.add_argument("--max-pes", type=int, default=256, help="largest array (power of two)")
    sz.add_argument("--lane-bytes", type=int, default=64,
                    help="area of one MAC lane in bytes of SRAM, for the area proxy")
    sz.add_argument("--out", help="directory (default: results/<scenario name>/size)")
    sz.add_argument("--quiet", "-q", action="store_true")
    sz.set_defaults(func=_size)
    pol = sub.add_parser("policies", help="list the policies that can be named")
    pol.set_defaults(func=_policies)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except AccelsimError as exc:
        print(f"accelsim: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
