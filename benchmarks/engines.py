"""The two engines side by side, and where a default `accelsim run` spends its time.

    python benchmarks/engines.py            # both parts
    python benchmarks/engines.py --engines  # only the SimPy-vs-closed-form table

For each case the SimPy model and the closed form (engine "fast", or "auto" where some layers
need SimPy) simulate the same planned jobs in the same run; the script asserts the two give
identical layer results, state intervals and DRAM bytes, then prints us of CPU per job and
the peak bytes allocated per job (tracemalloc, in a separate pass: it slows the run).
Planning is timed apart (it is the same for both engines).
"""

from __future__ import annotations

import argparse
import math
import time
import tracemalloc
from pathlib import Path

import attrs
import numpy as np

import accelsim
from accelsim.engine.assemble import _prepare

ROOT = Path(__file__).resolve().parent.parent


def cases():
    r18 = accelsim.load_scenario(ROOT / "scenarios" / "default.toml")
    r18_pruned = r18.pruned()
    r50 = accelsim.load_network("resnet50")
    r50_pruned = accelsim.prune_with_profile(
        r50, accelsim.load_profile("distiller-resnet50-agp80"), 1
    )
    hw = r18.hardware
    ideal = hw.ideal_memory()
    yield "ResNet-18, default scenario (4x4 PEs, depth 1)", r18_pruned, r18.mapping, hw, "auto"
    yield "ResNet-18, 14x14 tiles, ideal memory, depth 1", r18_pruned, r18.mapping, ideal, "fast"
    for depth in (1, 8):
        yield (
            f"ResNet-50, 14x14 tiles, ideal memory, depth {depth}",
            r50_pruned,
            accelsim.Mapping(14, 14),
            attrs.evolve(ideal, input_queue_depth=depth),
            "fast",
        )
    big = attrs.evolve(
        hw,
        pe_rows=8,
        pe_cols=8,
        weight_buffer_bytes=2**21,
        input_buffer_bytes=2**21,
        output_buffer_bytes=2**20,
    )
    yield (
        "ResNet-50, 14x14 tiles, 64 PEs, 2 MiB buffers",
        r50_pruned,
        accelsim.Mapping(14, 14),
        big,
        "auto",
    )


def timed(fn, repeat: int):
    best = math.inf
    for _ in range(repeat):
        t0 = time.process_time()
        out = fn()
        best = min(best, time.process_time() - t0)
    return best, out


def peak_bytes(fn) -> int:
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def same(a, b) -> None:
    """The closed form's result is the SimPy model's (up to engine labels and peaks)."""
    skip = {
        "plan_seconds",
        "engine",
        "engine_note",
        "weight_buffer_peak",
        "input_buffer_peak",
        "output_buffer_peak",
    }
    for x, y in zip(a.layers, b.layers):
        for f in attrs.fields(type(x)):
            if f.name not in skip:
                assert getattr(x, f.name) == getattr(y, f.name), (x.name, f.name)
    for col in ("pe", "start", "end", "state", "held_by"):
        assert np.array_equal(getattr(a.states, col), getattr(b.states, col)), col
    assert np.array_equal(dram_bytes(a), dram_bytes(b))


def dram_bytes(result) -> np.ndarray:
    """Bytes by layer, operand and cause."""
    tr = result.transfers
    out = np.zeros((len(result.layers), 3, 5), dtype=np.int64)
    np.add.at(out, (tr["layer"], tr["operand"], tr["cause"]), tr["bytes"])
    return out


def engines(repeat: int = 2) -> None:
    lpt = accelsim.load_policy("lpt")
    print(
        f"{'case':<50}{'jobs':>8}{'fast':>6}  {'SimPy us/job':>12}{'closed us/job':>14}"
        f"{'ratio':>7}  {'SimPy B/job':>11}{'closed B/job':>13}  {'plan us/job':>11}"
    )
    for label, pruned, mapping, hw, engine in cases():
        jobs = accelsim.build_jobs(pruned, mapping, hw)
        n = sum(len(l.jobs) for l in jobs)
        plan_s, _ = timed(lambda: [_prepare(l, hw, lpt, "simpy") for l in jobs], repeat)
        t_simpy, ref = timed(lambda: accelsim.simulate(jobs, hw, lpt, engine="simpy"), repeat)
        t_fast, got = timed(lambda: accelsim.simulate(jobs, hw, lpt, engine=engine), repeat)
        same(ref, got)
        fast_layers = sum(l.engine == "fast" for l in got.layers)
        m_simpy = peak_bytes(lambda: accelsim.simulate(jobs, hw, lpt, engine="simpy"))
        m_fast = peak_bytes(lambda: accelsim.simulate(jobs, hw, lpt, engine=engine))
        sim_simpy, sim_fast = t_simpy - plan_s, t_fast - plan_s
        print(
            f"{label:<50}{n:>8,}{fast_layers:>3}/{len(jobs):<2} {sim_simpy / n * 1e6:>12.2f}"
            f"{sim_fast / n * 1e6:>14.2f}{sim_simpy / max(sim_fast, 1e-9):>7.1f}  "
            f"{m_simpy / n:>11,.0f}{m_fast / n:>13,.0f}  {plan_s / n * 1e6:>11.2f}"
        )
    print(
        "us/job: CPU time of simulate() less planning (same plans for both engines); "
        "B/job: peak bytes allocated by simulate(); results asserted identical"
    )
    rate = bare_simpy_rate()
    print(
        f"this machine, bare SimPy: {rate / 1e6:.2f} M timeouts/s (10 processes, each "
        f"yielding timeout(1)): the yardstick for comparing us/job across machines"
    )


def bare_simpy_rate(steps: int = 100_000) -> float:
    """Timeouts per CPU second of plain SimPy: the yardstick for the us/job above."""
    import simpy

    def ticker(env):
        while True:
            yield env.timeout(1)

    best = math.inf
    for _ in range(3):
        env = simpy.Environment()
        for _ in range(10):
            env.process(ticker(env))
        t0 = time.process_time()
        env.run(until=steps // 10)
        best = min(best, time.process_time() - t0)
    return steps / best


def phases(repeat: int = 3) -> None:
    """A default `accelsim run` (plots, baselines) in one process, by phase, CPU seconds."""
    import tempfile

    from accelsim.pipeline import write_outputs

    t0 = time.process_time()
    import accelsim.outputs.plotting  # noqa: F401  the plots' import (Pillow), paid once per process

    imports = time.process_time() - t0
    scenario = accelsim.load_scenario(ROOT / "scenarios" / "default.toml")
    rows = {}
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as out:
            t = [time.process_time()]
            pruned = scenario.pruned()
            t.append(time.process_time())
            jobs = accelsim.build_jobs(pruned, scenario.mapping, scenario.hardware)
            t.append(time.process_time())
            accelsim.simulate(jobs, scenario.hardware, accelsim.load_policy("lpt"))
            t.append(time.process_time())
            outcome = accelsim.run_scenario(scenario, pruned=pruned)  # jobs, policy, baselines
            t.append(time.process_time())
            write_outputs(outcome, Path(out), plots=False)
            t.append(time.process_time())
            write_outputs(outcome, Path(out), plots=True)
            t.append(time.process_time())
        prune, cut, policy, whole, files, files_and_plots = np.diff(t)
        for name, v in (
            ("prune", prune),
            ("cut into jobs", cut),
            ("policy simulation", policy),
            ("both baselines (no cache)", whole - cut - policy),
            ("summary, CSV, trace.npz", files),
            ("four plots", files_and_plots - files),
        ):
            rows[name] = min(rows.get(name, math.inf), v)
    rows["baselines from the cache"] = 0.0
    print(f"default scenario, CPU seconds by phase (best of {repeat}):")
    print(f"  {'plotting import (once per process)':<40}{imports:>7.3f}")
    for name, v in rows.items():
        print(f"  {name:<40}{v:>7.3f}")
    cold = imports + sum(v for k, v in rows.items() if k != "baselines from the cache")
    warm = cold - rows["both baselines (no cache)"]
    print(
        f"  {'total, first run':<40}{cold:>7.3f}\n  {'total, baselines cached':<40}"
        f"{warm:>7.3f}  (plus Python and accelsim imports: see the process total)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", action="store_true", help="only the engine table")
    args = parser.parse_args()
    engines()
    if not args.engines:
        print()
        phases()


if __name__ == "__main__":
    main()
