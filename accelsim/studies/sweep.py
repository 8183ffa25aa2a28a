"""Design-space sweeps: many scenarios, run in parallel, stored as they finish, resumable.

A sweep file (TOML) names a base scenario and the values to try:

    name = "pe_and_buffers"
    base = "default.toml"                 # relative to the sweep file
    sample = 0                            # > 0: a seeded random sample of the grid
    seed = 1
    [grid]
    "hardware.pe_cols" = [2, 4, 8]
    "hardware.input_buffer_bytes" = [131072, 262144]
    policy = ["lpt", "round-robin"]
    [plot]                                # optional: the two axes of the heatmaps
    x = "hardware.pe_cols"
    y = "hardware.input_buffer_bytes"
    metrics = ["cycles", "energy_uj"]     # optional: any numeric columns (PLOT_METRICS)
    slice = { policy = "lpt" }            # optional: only the points with these values

With one numeric axis (beside categorical ones such as the policy) the figure is a line plot
instead: the metric against that axis, one line per value of the others. A heatmap cell shows
the best value over the axes that are neither plotted nor fixed by the slice.

Every point is the base scenario with its values set, validated like any scenario before
anything runs. Results go into an SQLite file, one row per point, committed the moment the
point finishes. SQLite because it is in the standard library, a commit is atomic and
durable (a sweep killed at any moment, even by kill -9, keeps every finished point), and the
primary key (a hash of the point's whole configuration, with the content of every file it
reads or names) means a point is never stored twice and a changed input gets new keys.
"""

from __future__ import annotations

import collections
import copy
import hashlib
import json
import math
import os
import sqlite3
import sys
import time
import tomllib
from collections.abc import Callable, Iterable
from pathlib import Path

import attrs
import numpy as np
from attrs import frozen

from accelsim import jsonio
from accelsim.baseline_cache import code_digest
from accelsim.config import ALLOTMENTS
from accelsim.engine.area import area_mm2
from accelsim.errors import AccelsimError, ConfigError, did_you_mean, unknown
from accelsim.files import folder_name, read_text, recording

_SWEEP_KEYS = {"name", "base", "sample", "seed", "grid", "plot"}


@frozen
class Point:
    index: int
    params: dict  # swept field -> value
    scenario: dict  # the whole resolved scenario
    key: str


PLOT_METRICS = {  # numeric result columns a figure can show, and which way is better
    "cycles": min,
    "seconds": min,
    "utilization": max,
    "share_busy": max,
    "dram_bytes": min,
    "dram_extra_bytes": min,
    "energy_uj": min,
    "static_energy_uj": min,
    "makespan_over_bound": min,
    "area_mm2": min,
    "buffer_bytes": min,
    "pe_lanes": max,
}
DEFAULT_METRICS = ("cycles", "utilization", "energy_uj", "area_mm2")


@frozen
class Sweep:
    name: str
    source: str
    base_dir: Path
    axes: tuple[str, ...]
    points: tuple[Point, ...]
    plot: tuple[str, str] | None
    metrics: tuple[str, ...] = DEFAULT_METRICS  # what the figures show ([plot] metrics)
    slice: tuple[tuple[str, object], ...] = ()  # (axis, value): the points the figures show
    # a swept pe_cols (pe_rows) -> the pe_rows (pe_cols) every point has: its axis counts PEs
    pe_factor: tuple[tuple[str, int], ...] = ()


def _set(data: dict, dotted: str, value, src: str) -> None:
    parts = dotted.split(".")
    target = data
    for part in parts[:-1]:
        target = target.setdefault(part, {})
        if not isinstance(target, dict):
            raise ConfigError(f"{src}: [grid] {dotted!r}: {part!r} is not a table")
    target[parts[-1]] = value


def _named_files(value, base_dir: Path, out: dict[str, str]) -> None:
    """Digests of every file a scenario value names (any text, in any table, that is the
    path of a file relative to the sweep's base or absolute), whether or not validating the
    scenario read it: weights, for one, are read only when the point runs."""
    if isinstance(value, dict):
        for v in value.values():
            _named_files(v, base_dir, out)
    elif isinstance(value, list):
        for v in value:
            _named_files(v, base_dir, out)
    elif isinstance(value, str) and value:
        try:
            path = Path(value) if Path(value).is_absolute() else base_dir / value
            if path.is_file():
                out[str(path.resolve())] = hashlib.sha256(path.read_bytes()).hexdigest()
        except (OSError, ValueError):  # not a path: a name, or text too long to be one
            pass


def point_key(scenario: dict, base_dir: Path, read: dict[str, str] | None = None) -> str:
    """A hash of everything a point's numbers depend on: the resolved scenario with its
    mapping mode made explicit (a scenario without tiling numbers ran the whole-map mapping
    before the mapper), the content of every file validating it read (`read`, from
    accelsim.files.recording: measured masks, activation profiles, a network's weight file
    beside it) and of every file it names, and accelsim's own code and shipped data. No
    hand-kept list of file fields to forget."""
    files = dict(read or {})
    _named_files(scenario, base_dir, files)
    material = json.dumps(
        {
            "scenario": scenario,
            "files": files,
            "mapping_mode": mapping_mode(scenario),
            "accelsim": code_digest(),
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(material.encode()).hexdigest()[:32]


def mapping_mode(scenario: dict) -> str:
    """ "auto" (each point runs the mapper) or "fixed", as accelsim.scenario reads it."""
    from accelsim.scenario import _TILING

    table = scenario.get("mapping", {})
    return table.get("mode", "fixed" if any(k in table for k in _TILING) else "auto")


def _grid_index(positions, sizes) -> int:
    """The mixed-radix index (last axis fastest) of one position per axis, a Python int."""
    index = 0
    for at, size in zip(positions, sizes):
        index = index * size + int(at)
    return index


def load_sweep(path: str | Path) -> Sweep:
    from accelsim.scenario import read_toml, scenario_from_dict

    path = Path(path)
    src = str(path)
    data = read_toml(path, "sweep")
    for key in data:
        if key not in _SWEEP_KEYS:
            raise unknown(f"{src}:", key, _SWEEP_KEYS)
    name = folder_name(data["name"], f"{src}:") if "name" in data else path.stem
    if "base" not in data or not isinstance(data["base"], str):
        raise ConfigError(f"{src}: base = {data.get('base')!r}: name the base scenario file")
    base_path = path.parent / data["base"]
    if not base_path.is_file():
        raise ConfigError(f"{src}: base = {data['base']!r}: no such file")
    try:
        base = tomllib.loads(read_text(base_path, "scenario"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{src}: base {data['base']!r} is not valid TOML: {exc}") from None
    grid = data.get("grid", {})
    if not isinstance(grid, dict) or not grid:
        raise ConfigError(f"{src}: [grid] needs at least one field = [values]")
    for axis, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{src}: [grid] {axis} = {values!r}: must be a non-empty list")
        seen = [jsonio.dumps(v) for v in values]
        counts = collections.Counter(seen)  # one pass: an axis may list 10^5 values
        twice = next((v for v, t in zip(values, seen) if counts[t] > 1), None)
        if twice is not None:
            raise ConfigError(
                f"{src}: [grid] {axis}: the value {twice!r} is listed twice "
                f"(each point would be run once and counted twice)"
            )
    sample, seed = data.get("sample", 0), data.get("seed", 1)
    for key, value in (("sample", sample), ("seed", seed)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
            raise ConfigError(f"{src}: {key} = {value!r}: must be an integer >= 0")
    axes = tuple(grid)
    sizes = [len(grid[a]) for a in axes]
    total = math.prod(sizes)
    wanted = min(sample, total) if sample else total
    if wanted > MAX_POINTS:
        raise ConfigError(
            f"{src}: [grid] has {total:,} points, more than {MAX_POINTS:,} in one "
            f"sweep: set sample = N to run N of them at random"
        )
    if wanted < total:  # draw indices; never list the whole grid
        rng, chosen = np.random.default_rng(seed), set()
        while len(chosen) < wanted:  # one draw per axis: the grid may pass int64
            draws = [rng.integers(0, size, wanted - len(chosen)) for size in sizes]
            chosen.update(_grid_index(column, sizes) for column in zip(*draws))
        indices = sorted(chosen)
    else:
        indices = range(total)
    combos = []
    for index in indices:  # mixed radix: the last axis changes fastest
        combo = []
        for axis, size in zip(reversed(axes), reversed(sizes)):
            index, at = divmod(index, size)
            combo.append(grid[axis][at])
        combos.append(tuple(reversed(combo)))
    points, shapes = [], set()
    for i, combo in enumerate(combos):
        scenario = copy.deepcopy(base)
        params = dict(zip(axes, combo))
        for axis, value in params.items():
            _set(scenario, axis, value, src)
        scenario.setdefault("name", name)
        # a bad value may come from the grid or from the base file: name both
        where = (
            f"{src}: point {i} ({', '.join(f'{a}={v}' for a, v in params.items())} "
            f"on base {data['base']})"
        )
        with recording() as read:
            hw = scenario_from_dict(scenario, where, base=base_path.parent).hardware  # validate
        shapes.add((hw.pe_rows, hw.pe_cols))
        points.append(Point(i, params, scenario, point_key(scenario, base_path.parent, read)))
    plot = data.get("plot")
    metrics = _plot_metrics(plot, src)
    chosen = _plot_slice(plot, grid, src)
    if isinstance(plot, dict):
        plot = {k: v for k, v in plot.items() if k not in ("metrics", "slice")}
    free = [a for a in axes if a not in chosen]
    if plot is not None and plot != {}:
        if (
            not isinstance(plot, dict)
            or set(plot) != {"x", "y"}
            or not {plot["x"], plot["y"]} <= set(axes)
        ):
            wrong = (
                [v for k, v in plot.items() if k in ("x", "y") and v not in axes]
                if isinstance(plot, dict)
                else []
            )
            hint = did_you_mean(str(wrong[0]), axes).rstrip() if wrong else ""
            hint = (
                f": {wrong[0]!r} is not one ({hint or 'axes: ' + ', '.join(axes)})" if wrong else ""
            )
            raise ConfigError(f"{src}: [plot] = {plot!r}: needs x and y, two axes of [grid]{hint}")
        fixed = [a for a in (plot["x"], plot["y"]) if a in chosen]
        if fixed:
            raise ConfigError(
                f"{src}: [plot] slice fixes {fixed[0]!r}, which the heatmap draws as an axis: "
                f"leave it out of the slice, or plot two other axes"
            )
        plot = (plot["x"], plot["y"])
    elif len(free) >= 2:
        plot = (free[0], free[1])
    else:
        plot = None
    factor = []
    for axis, other in (("hardware.pe_cols", 0), ("hardware.pe_rows", 1)):
        counts = {shape[other] for shape in shapes}
        if axis in axes and len(counts) == 1:
            factor.append((axis, counts.pop()))
    return Sweep(
        name,
        src,
        base_path.parent,
        axes,
        tuple(points),
        plot,
        metrics,
        tuple(chosen.items()),
        tuple(factor),
    )


def _flat(table: dict, prefix: str = "") -> dict:
    """A TOML table's leaves under dotted names: {hardware = {pe_cols = 4}} and
    {"hardware.pe_cols" = 4} both give {"hardware.pe_cols": 4}."""
    out = {}
    for key, value in table.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _plot_slice(plot, grid: dict, src: str) -> dict:
    """[plot] slice: swept fields, each fixed to one of its [grid] values, so the figures
    show those points only ({} if absent)."""
    if not isinstance(plot, dict) or "slice" not in plot:
        return {}
    given = plot["slice"]
    if not isinstance(given, dict) or not given:
        raise ConfigError(
            f"{src}: [plot] slice = {given!r}: must be a table of swept fields and one value "
            f'each, e.g. slice = {{ policy = "lpt" }}'
        )
    chosen = _flat(given)
    for axis, value in chosen.items():
        if axis not in grid:
            raise unknown(f"{src}: [plot] slice:", axis, grid)
        if not any(same_value(value, v) for v in grid[axis]):
            raise ConfigError(
                f"{src}: [plot] slice {axis} = {value!r}: not one of its [grid] values "
                f"({', '.join(map(repr, grid[axis]))})"
            )
    return chosen


def same_value(a, b) -> bool:
    """Equal as sweep values: 131072 and 131072.0 alike, but true is not 1."""
    return isinstance(a, bool) == isinstance(b, bool) and a == b


def _plot_metrics(plot, src: str) -> tuple[str, ...]:
    """[plot] metrics: a list of PLOT_METRICS names (or one name), DEFAULT_METRICS if absent."""
    if not isinstance(plot, dict) or "metrics" not in plot:
        return DEFAULT_METRICS
    metrics = plot["metrics"]
    metrics = [metrics] if isinstance(metrics, str) else metrics
    if not isinstance(metrics, list) or not metrics:
        raise ConfigError(
            f"{src}: [plot] metrics = {plot['metrics']!r}: must be a list of column names, "
            f'e.g. ["cycles", "energy_uj"]'
        )
    for m in metrics:
        if m not in PLOT_METRICS:
            raise unknown(f"{src}: [plot] metrics:", str(m), PLOT_METRICS)
    return tuple(dict.fromkeys(metrics))


def run_point(scenario: dict, base_dir: str, pruned_memo: dict | None = None) -> dict:
    """Simulate one point; every figure a sweep row needs. Runs in a worker process. A point
    the hardware cannot run (a job that never fits, a deadlock) is a result too: its row
    carries the error, and it is not tried again on resume. Points of one batch that prune
    the same network the same way share the pruned network through `pruned_memo`."""
    from accelsim.engine.mapper import Evaluations
    from accelsim.pipeline import run_scenario
    from accelsim.scenario import scenario_from_dict

    t0 = time.perf_counter()
    sc = scenario_from_dict(scenario, "<sweep point>", base=Path(base_dir))
    try:
        pruned = None
        if pruned_memo is not None:
            key = _pruning_key(scenario)
            if key not in pruned_memo:
                pruned_memo[key] = sc.pruned()
            pruned = pruned_memo[key]
        cache = None
        if pruned_memo is not None:  # the mapper's evaluations, shared like the network
            cache = pruned_memo.setdefault(("mapper", _pruning_key(scenario)), Evaluations())
        outcome = run_scenario(sc, baselines=False, pruned=pruned, mapper_cache=cache)
    except AccelsimError as exc:
        return {"error": str(exc), "wall_seconds": time.perf_counter() - t0}
    total = outcome.report.total
    hw = sc.hardware
    return {
        "cycles": total.cycles,
        "seconds": total.seconds,
        "utilization": total.utilization,
        **{f"share_{k}": v for k, v in total.states.items()},
        "dram_bytes": total.dram_total,
        "dram_extra_bytes": total.dram_extra,
        "energy_uj": sum(total.energy_pj.values()) / 1e6,
        "makespan_over_bound": total.makespan_over_bound,
        "static_energy_uj": total.energy_pj["static"] / 1e6,
        "pe_lanes": hw.lanes,
        "area_mm2": area if math.isfinite(area := area_mm2(hw, sc.area)) else None,
        "buffer_bytes": hw.buffer_bytes if math.isfinite(hw.buffer_bytes) else None,
        "engine": total.engine,
        "mapping": sc.mapping.mode,
        "wall_seconds": time.perf_counter() - t0,
    }


def _pruning_key(scenario: dict) -> str:
    """What a pruned network depends on: the workload, the pruning and the seed."""
    return json.dumps(
        {k: scenario.get(k) for k in ("workload", "pruning", "seed")}, sort_keys=True, default=str
    )


# A pool worker's pruned networks and mapper evaluations (run_point's `pruned_memo`), kept
# from one batch to the next: batches are cut from points ordered by how they prune, so a
# worker's next batch mostly prunes the same way, and without this each batch pruned the
# network again and mapped its first point with nothing kept (the 60-point buffer sweep's
# 8 batches did so 8 times). Only the current batch's prunings are kept.
_WORKER_MEMO: dict = {}


def run_batch(scenarios: list[dict], base_dir: str, parent: int | None = None) -> list[dict]:
    """Several points in one task, so a cluster's per-task overhead is paid once per batch
    and points that prune alike prune once. In a local pool (`parent`: the sweep's pid) a
    worker whose sweep was killed stops after its current point instead of finishing the
    batch for nobody (the resumed sweep runs those points again), and the worker keeps its
    pruned networks and the mapper's evaluations for its next batch (_WORKER_MEMO)."""
    memo: dict = {} if parent is None else _WORKER_MEMO
    keys = {_pruning_key(s) for s in scenarios}
    for k in [k for k in memo if (k[1] if isinstance(k, tuple) else k) not in keys]:
        del memo[k]  # another pruning's: not needed by this batch
    out = []
    for s in scenarios:
        if parent is not None and os.getppid() != parent:
            os._exit(1)
        out.append(run_point(s, base_dir, memo))
    return out


def batches(points: list[Point], workers: int) -> list[list[Point]]:
    """Points grouped by how they prune (so a batch shares its pruned network), cut into
    about four batches per worker, at most 32 points each: enough to amortise a task, small
    enough that the workers stay busy to the end and a kill loses little."""
    ordered = sorted(points, key=lambda p: (_pruning_key(p.scenario), p.index))
    size = max(1, min(32, math.ceil(len(ordered) / (4 * max(workers, 1)))))
    return [ordered[i : i + size] for i in range(0, len(ordered), size)]


MAX_POINTS = 100_000  # points one sweep runs; a larger grid needs `sample`
MAX_WORKERS = 1024  # worker processes (-j): more is a typo that would fork the machine to a halt


class ResultStore:
    """One row per point (and per allotment run, `allotments`), keyed by the configuration's
    hash; each insert commits."""

    COLUMNS = ("key", "sweep", "point", "params", "metrics", "created")

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        try:
            self._db = sqlite3.connect(path)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS results (key TEXT PRIMARY KEY, "
                "sweep TEXT, point INTEGER, params TEXT, metrics TEXT, "
                "created REAL)"
            )
            self._db.commit()
            columns = tuple(r[1] for r in self._db.execute("PRAGMA table_info(results)"))
        except sqlite3.Error as exc:
            raise ConfigError(
                f"{path}: not a sweep result database ({exc}): remove it or choose another --out"
            ) from None
        tables = {
            r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        if tables != {"results"}:
            raise ConfigError(
                f"{path}: holds tables {', '.join(sorted(tables - {'results'}))} "
                f"of another program: remove it or choose another --out"
            )
        if columns != self.COLUMNS:
            raise ConfigError(
                f"{path}: its results table has columns {', '.join(columns)}, "
                f"not a sweep's: remove it or choose another --out"
            )

    def keys(self) -> set[str]:
        return {k for (k,) in self._db.execute("SELECT key FROM results")}

    def add(self, sweep: str, point: Point, metrics: dict) -> None:
        self._db.execute(
            "INSERT OR IGNORE INTO results VALUES (?, ?, ?, ?, ?, ?)",
            (
                point.key,
                sweep,
                point.index,
                jsonio.dumps(point.params),
                jsonio.dumps(metrics),
                time.time(),
            ),
        )
        self._db.commit()

    def metrics(self, keys: Iterable[str]) -> dict[str, dict]:
        """The stored metrics of each of `keys` that has a row."""
        wanted = set(keys)
        return {
            key: json.loads(metrics)
            for key, metrics in self._db.execute("SELECT key, metrics FROM results")
            if key in wanted
        }

    def rows(self, keys: Iterable[str] | None = None) -> list[dict]:
        wanted = None if keys is None else set(keys)
        out = []
        for key, point, params, metrics in self._db.execute(
            "SELECT key, point, params, metrics FROM results ORDER BY point"
        ):
            if wanted is None or key in wanted:
                out.append(
                    {"key": key, "point": point, **json.loads(params), **json.loads(metrics)}
                )
        return out

    def close(self) -> None:
        self._db.close()


class ProgressBar:
    """Points done, rate and time left on one line of stderr (a line per 10 % off a tty)."""

    def __init__(self, total: int, already: int, quiet: bool = False):
        self.total, self.done, self.quiet = total, already, quiet
        self.already = already
        self.t0 = time.perf_counter()
        self.tty = sys.stderr.isatty()
        self._last_tenth = -1

    def step(self) -> None:
        self.done += 1
        if self.quiet:
            return
        elapsed = time.perf_counter() - self.t0
        new = self.done - self.already
        rate = new / elapsed if elapsed > 0 else 0.0
        left = (self.total - self.done) / rate if rate else float("inf")
        width = 30
        filled = int(width * self.done / max(self.total, 1))
        eta = "?" if math.isinf(left) else time.strftime("%M:%S", time.gmtime(left))
        text = (
            f"[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} points, "
            f"{rate:.2f}/s, {eta} left"
        )
        if self.tty:
            sys.stderr.write("\r" + text)
            if self.done == self.total:
                sys.stderr.write("\n")
        elif self.done * 10 // max(self.total, 1) != self._last_tenth:
            self._last_tenth = self.done * 10 // max(self.total, 1)
            sys.stderr.write(text + "\n")
        sys.stderr.flush()


def run_sweep(
    sweep: Sweep,
    store: ResultStore,
    jobs: int = 1,
    dask: str | None = None,
    quiet: bool = False,
    on_point: Callable[[Point], None] | None = None,
) -> int:
    """Run the points not in the store yet, then each point again with the allotment of
    the smaller point that ran fastest, where that is faster (`allotments`); returns how
    many points were run now (allotment runs not counted)."""
    done = store.keys()
    todo = [p for p in sweep.points if p.key not in done]
    _run_points(sweep, store, todo, len(sweep.points), jobs, dask, quiet, on_point)
    plan = allotments(sweep, store.metrics(p.key for p in sweep.points))
    done = store.keys()
    again = [d for _, d in plan.values() if d.key not in done]
    if again and not quiet:
        sys.stderr.write(
            f"{len(again)} point{'s' if len(again) > 1 else ''} again with the buffer sizes "
            f"of a smaller point that ran faster ([mapping] *_allotment_bytes)\n"
        )
    _run_points(sweep, store, again, len(again), jobs, dask, quiet, None)
    return len(todo)


def _run_points(sweep, store, todo, total, jobs, dask, quiet, on_point) -> None:
    bar = ProgressBar(total, total - len(todo), quiet)
    base = str(sweep.base_dir)

    def finished(point, metrics):
        store.add(sweep.name, point, metrics)
        bar.step()
        if on_point:
            on_point(point)

    if not todo:
        return
    if dask is not None:
        _run_dask(batches(todo, jobs), base, dask, jobs, finished)
    elif jobs > 1:
        from concurrent.futures import ProcessPoolExecutor, as_completed
        from concurrent.futures.process import BrokenProcessPool

        todo_batches = batches(todo, jobs)
        # no idle workers: each one is a process with its own copy of the libraries
        with ProcessPoolExecutor(max_workers=min(jobs, len(todo_batches))) as pool:
            futures = {
                pool.submit(run_batch, [p.scenario for p in batch], base, os.getpid()): batch
                for batch in todo_batches
            }
            try:
                for future in as_completed(futures):
                    for point, metrics in zip(futures[future], future.result()):
                        finished(point, metrics)
            except BrokenProcessPool:
                raise AccelsimError(
                    f"a worker process of the sweep died (killed, or out of memory: the "
                    f"system log says which); the {bar.done} points finished are stored in "
                    f"{store.path}: the same command runs the rest"
                ) from None
    else:
        memo: dict = {}
        for point in todo:
            finished(point, run_point(point.scenario, base, memo))


def allotments(sweep: Sweep, ran: dict[str, dict]) -> dict[int, tuple[int, Point]]:
    """For each point, the point it runs again as: itself with the buffer sizes of the
    smaller point that ran fastest, where that one ran faster than it. `ran`: the stored
    metrics of each point's own run, by key.

    A larger buffer can act as a smaller one (the layers use part of it: [mapping]
    *_allotment_bytes), so a sweep that compares hardware gives each point the best of its
    own run and of every point whose resolved scenario is its own but for buffers no
    larger (whatever axes set them); cycles then never grow with any buffer, and a point
    that cannot run (a deadlock) runs as the best smaller point that can. Only under the
    cycles objective, and where the base scenario sets no allotment of its own. Returns
    {point index: (smaller point's index, the point to run)}."""
    groups: dict[str, list[Point]] = {}
    for point in sweep.points:
        table = point.scenario.get("mapping", {})
        if (
            point.key not in ran
            or table.get("objective", "cycles") != "cycles"
            or any(name in table for name, _ in ALLOTMENTS)
        ):
            continue
        rest = copy.deepcopy(point.scenario)
        for _, capacity in ALLOTMENTS:
            rest.get("hardware", {}).pop(capacity, None)
        groups.setdefault(jsonio.dumps(rest), []).append(point)
    plan = {}
    for members in groups.values():
        if len(members) < 2:
            continue
        sizes = np.array([_buffer_sizes(p) for p in members])
        cycles = np.array(
            [
                ran[p.key].get("cycles", math.inf) if not ran[p.key].get("error") else math.inf
                for p in members
            ],
            dtype=float,
        )
        for i, point in enumerate(members):
            smaller = np.flatnonzero((sizes <= sizes[i]).all(axis=1) & (cycles < cycles[i]))
            if not len(smaller):
                continue
            best = smaller[cycles[smaller] == cycles[smaller].min()]
            j = min(best, key=lambda k: members[k].index)
            plan[point.index] = (members[j].index, _allotted(point, sizes[j], sizes[i]))
    return plan


def _buffer_sizes(point: Point) -> list[float]:
    """The point's weight, input and output buffer capacities, as its scenario resolves."""
    from accelsim.config import Hardware

    table = point.scenario.get("hardware", {})
    defaults = attrs.fields_dict(Hardware)
    return [float(table.get(capacity, defaults[capacity].default)) for _, capacity in ALLOTMENTS]


def _allotted(point: Point, smaller, own) -> Point:
    """`point` with [mapping] allotments of the `smaller` buffer sizes where they are below
    its `own`; its key is the point's (which covers its files and accelsim's code) with the
    allotments."""
    scenario = copy.deepcopy(point.scenario)
    table = scenario.setdefault("mapping", {})
    given = {}
    for (field, _), size, full in zip(ALLOTMENTS, smaller, own):
        if size < full:
            table[field] = given[field] = int(size)
    key = hashlib.sha256(f"{point.key}{jsonio.dumps(given)}".encode()).hexdigest()[:32]
    return Point(point.index, point.params, scenario, key)


def sweep_rows(sweep: Sweep, store: ResultStore) -> list[dict]:
    """One row per point run, in the sweep's order, each point at the best of its own run
    and its allotment run (`allotments`): `cycles_full_buffers` is its own run's,
    `allotted_from_point` the smaller point whose buffer sizes it then used and
    `allotment` the [mapping] lines that give them (empty when none). Rows are matched to
    points by key: a point's stored number is the one it had when it first ran."""
    own = store.metrics(p.key for p in sweep.points)
    plan = allotments(sweep, own)
    again = store.metrics(d.key for _, d in plan.values())
    out = []
    for point in sweep.points:
        if point.key not in own:
            continue
        metrics = own[point.key]
        row = {
            "key": point.key,
            "point": point.index,
            **point.params,
            **metrics,
            "cycles_full_buffers": metrics.get("cycles"),
            "allotted_from_point": None,
            "allotment": "",
        }
        smaller, derived = plan.get(point.index, (None, None))
        ran = again.get(derived.key) if derived is not None else None
        if ran is not None and not ran.get("error") and ran["cycles"] < row.get("cycles", math.inf):
            row = {k: v for k, v in row.items() if k != "error"}
            row.update(ran)
            row["allotted_from_point"] = smaller
            table = derived.scenario["mapping"]
            row["allotment"] = ", ".join(
                f"{field} = {table[field]}" for field, _ in ALLOTMENTS if field in table
            )
        out.append(row)
    return out


def _run_dask(todo_batches, base, address, jobs, finished) -> None:
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise ConfigError("--dask needs dask.distributed: pip install 'accelsim[dask]'") from None
    cluster = None
    if address == "local":
        cluster = LocalCluster(
            n_workers=max(jobs, 1), threads_per_worker=1, dashboard_address=None, processes=True
        )
        client = Client(cluster)
    else:
        try:
            client = Client(address, timeout="10s")
        except OSError as exc:
            raise ConfigError(f"--dask {address}: cannot reach the scheduler: {exc}") from None
    try:
        futures = {
            client.submit(run_batch, [p.scenario for p in batch], base, pure=False): batch
            for batch in todo_batches
        }
        for future in as_completed(futures):
            for point, metrics in zip(futures[future], future.result()):
                finished(point, metrics)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def write_csv(rows: list[dict], path: Path) -> None:
    import csv

    if not rows:
        path.write_text("")
        return
    columns = list(dict.fromkeys(k for row in rows for k in row))
    if "error" in columns:  # last, wherever the first failed point falls in the rows
        columns = [c for c in columns if c != "error"] + ["error"]
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, columns)
        writer.writeheader()
        writer.writerows(rows)
