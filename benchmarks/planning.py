"""Planning time and peak memory of every policy as instances grow, against a plain heapq LPT.

    python benchmarks/planning.py                      # 512 x 64, 5,000 x 256, 50,000 x 1,024
    python benchmarks/planning.py --sizes 50000x1024 --policies lpt,kk --repeats 1

Instances, all from ResNet-50 pruned with the shipped profile `distiller-resnet50-agp80`
(seed 1), 8 MACs per cycle:
- durations: a seeded sample (without replacement) of N job cycles from every layer's jobs
  cut into 4x4 output tiles (745,064 jobs), planned as bare durations (each job its own unit);
- layer: one real layer's jobs, planned by units (a filter over all its tiles):
  512 x 64 = layer4.1.conv2 whole map (512 jobs, 512 units); 5,000 x 256 = layer2.1.conv3 in
  10x10 tiles (4,608 jobs, 512 units); 50,000 x 1,024 = layer3.1.conv3 in 2x2 tiles
  (50,176 jobs, 1,024 units).

Time: median of --repeats runs of plan_layer (the policy and the check of its plan); exact runs
once (it may use its whole time limit). Peak: tracemalloc's peak over one more run (Python and
numpy allocations; OR-Tools' own C++ memory is not seen). makespan/bound: the plan's makespan
(dynamic plans: their ideal-hardware outcome, list_schedule or steal_schedule, timed apart)
over max(LB0, LB1) of the job cycles; plans of whole units cannot go below the units' own
bound, printed in each header. The reference is Graham's LPT on the job cycles, written
plainly with heapq (on bare durations it is the same plan as `lpt`, which is checked); `lpt`
must stay within 3x of it.
"""

from __future__ import annotations

import argparse
import heapq
import statistics
import time
import tracemalloc

import numpy as np

import accelsim
from accelsim.policies import Problem, available, load_policy, plan_layer
from accelsim.policies.exact import unit_bound
from accelsim.policies.schedule import bounds, schedule_of
from accelsim.workload.jobs import build_jobs, build_layer_jobs

SIZES = [(512, 64), (5_000, 256), (50_000, 1_024)]
LAYERS = {512: ("layer4.1.conv2", 0), 5_000: ("layer2.1.conv3", 10), 50_000: ("layer3.1.conv3", 2)}


def policies() -> list[str]:
    return [*available(), "lpt+improve", "kk+improve"]


def network():
    return accelsim.prune_with_profile(
        accelsim.load_network("resnet50"), accelsim.load_profile("distiller-resnet50-agp80"), seed=1
    )


def durations(pruned, hw, sizes) -> dict[int, np.ndarray]:
    layers = build_jobs(pruned, accelsim.Mapping(tile_h=4, tile_w=4), hw)
    pool = np.concatenate([layer.cycles for layer in layers])
    return {n: np.random.default_rng(n).choice(pool, size=n, replace=False) for n, _ in sizes}


def layer_problem(pruned, hw, n: int, n_pes: int) -> Problem:
    name, tile = LAYERS[n]
    index = next(i for i, p in enumerate(pruned.layers) if p.layer.name == name)
    mapping = accelsim.Mapping(tile_h=tile, tile_w=tile)
    return Problem.from_layer(build_layer_jobs(index, pruned.layers[index], mapping, hw), n_pes)


def heapq_lpt(cycles: np.ndarray, n_pes: int) -> list[list[int]]:
    """The reference: jobs longest first (ties by index), each to the least-loaded PE (ties by
    PE index); returns each PE's jobs in the order they were placed."""
    c = cycles.tolist()
    order = sorted(range(len(c)), key=c.__getitem__, reverse=True)  # stable: ties by index
    heap = [(0, p) for p in range(n_pes)]
    queues: list[list[int]] = [[] for _ in range(n_pes)]
    for j in order:
        load, p = heapq.heappop(heap)
        queues[p].append(j)
        heapq.heappush(heap, (load + c[j], p))
    return queues


def timed(fn, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def peak_bytes(fn) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def run(kind: str, problem: Problem, names: list[str], repeats: int) -> None:
    cycles, n_pes = problem.cycles, problem.n_pes
    best = bounds(cycles, n_pes).best
    loads = problem.unit_loads()[1]
    print(
        f"\n{kind}: {problem.n_jobs:,} jobs ({len(loads):,} units) on {n_pes:,} PEs; "
        f"bound max(LB0, LB1) = {best:,} cycles ({unit_bound(loads, n_pes):,} for "
        f"whole units)"
    )
    print(f"  {'policy':<18}{'ms':>10}{'peak MB':>10}{'makespan/bound':>16}")
    ref_s, ref = timed(lambda: heapq_lpt(cycles, n_pes), repeats)
    ref_peak = peak_bytes(lambda: heapq_lpt(cycles, n_pes))
    ref_span = max(int(cycles[q].sum()) if q else 0 for q in ref)
    print(
        f"  {'heapq LPT (ref)':<18}{ref_s * 1e3:>10.1f}{ref_peak / 2**20:>10.1f}"
        f"{ref_span / best:>16.5f}"
    )
    for name in names:
        policy = load_policy(name)
        s, plan = timed(lambda: plan_layer(policy, problem), 1 if name == "exact" else repeats)
        peak = peak_bytes(lambda: plan_layer(policy, problem))
        t0 = time.perf_counter()
        span = schedule_of(plan, cycles, n_pes, name, s).makespan
        note = f"  outcome in {(time.perf_counter() - t0) * 1e3:.0f} ms" if plan.dynamic else ""
        if name == "lpt":
            note = f"  {s / ref_s:.2f}x the reference"
            if kind == "durations":
                same = [list(q) for q in plan.queues] == ref
                note += ", same plan" if same else ", DIFFERENT plan"
        if plan.info:
            note += f"  {plan.info.get('status', '')}"
        print(f"  {name:<18}{s * 1e3:>10.1f}{peak / 2**20:>10.1f}{span / best:>16.5f}{note}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", help="comma-separated JOBSxPES among " + ", ".join(f"{n}x{p}" for n, p in SIZES)
    )
    parser.add_argument("--kinds", default="durations,layer")
    parser.add_argument(
        "--policies", help="comma-separated names (default: all, and lpt+improve, kk+improve)"
    )
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    sizes = (
        SIZES
        if not args.sizes
        else [next(s for s in SIZES if f"{s[0]}x{s[1]}" == t) for t in args.sizes.split(",")]
    )
    names = args.policies.split(",") if args.policies else policies()
    kinds = args.kinds.split(",")
    hw = accelsim.Hardware(macs_per_cycle=8)
    pruned = network()
    samples = durations(pruned, hw, sizes) if "durations" in kinds else {}
    for n, n_pes in sizes:
        if "durations" in kinds:
            run("durations", Problem(samples[n], n_pes), names, args.repeats)
        if "layer" in kinds:
            run(
                f"layer {LAYERS[n][0]} in {LAYERS[n][1] or 'whole-map'} tiles",
                layer_problem(pruned, hw, n, n_pes),
                names,
                args.repeats,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
