"""Wires the components for each layer and runs the network, layer by layer with a barrier.

`simulate` is the one entry point: it plans every layer with the policy and rejects any job
that can never fit its buffer before simulating anything. Then each layer runs on one of two
engines: the closed form (accelsim.engine.closed_form) where its result cannot depend on how events
interleave, or the SimPy model, the reference: it builds the components (DRAM port, buffers,
interconnect, dispatcher, PEs), starts their processes in a fixed order, and turns a stalled
simulation into a DeadlockError naming what waits on what. `engine = "simpy"` forces the
reference everywhere; `"fast"` demands the closed form and says which layer it cannot run.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

import attrs
import numpy as np
import simpy
from attrs import frozen

from accelsim.config import Hardware
from accelsim.engine import closed_form, plan_bounds
from accelsim.engine.broadcast_memo import BroadcastMemo
from accelsim.engine.broadcasts import Broadcasts, broadcasts
from accelsim.engine.hardware_bounds import FetchOrder, HardwareBounds, hardware_bounds
from accelsim.engine.hw.buffer import BlockBuffer, OutputBuffer, load_in_order
from accelsim.engine.hw.clock import Clock, PastDeadline, collector_paused
from accelsim.engine.hw.dispatch import Dispatcher, StealingQueues, dynamic_groups, interleaved
from accelsim.engine.hw.dram import DramPort
from accelsim.engine.hw.noc import Interconnect
from accelsim.engine.hw.pe import PE
from accelsim.engine.hw.status import DispatchStatus, LayerProgress
from accelsim.errors import ConfigError, DeadlockError
from accelsim.policies import Plan, Policy, Problem, plan_layer
from accelsim.policies.schedule import bounds
from accelsim.trace import (
    LevelTrace,
    Operand,
    State,
    StateIntervals,
    StateTrace,
    TransferLog,
    state_key,
)
from accelsim.workload.jobs import LayerJobs

IDLE_KEY = state_key(State.IDLE, -1)  # as StateTrace records it

WEIGHT_BUFFER, INPUT_BUFFER, OUTPUT_BUFFER = 0, 1, 2
ENGINES = ("auto", "simpy", "fast")


@frozen
class LayerRun:
    """What one layer did: times, work, plan quality and on-chip traffic (bytes)."""

    index: int
    name: str
    start: int
    end: int
    n_jobs: int
    executed_macs: int
    pruned_macs: int
    dense_macs: int
    lower_bound: int
    bound_kind: str
    planned_makespan: int | None
    plan_seconds: float
    noc_bytes: int
    weight_buffer_reads: int
    input_buffer_reads: int
    output_buffer_writes: int
    output_buffer_reads: int
    weight_buffer_peak: int
    input_buffer_peak: int
    output_buffer_peak: int
    engine: str = "simpy"  # "fast": the closed form ran this layer
    engine_note: str | None = None  # why the closed form could not (auto)
    hardware: HardwareBounds | None = None  # the layer's bounds on this hardware

    @property
    def cycles(self) -> int:
        return self.end - self.start


@frozen
class SimResult:
    hw: Hardware
    policy: str
    layers: tuple[LayerRun, ...]
    states: StateIntervals
    levels: dict[str, np.ndarray]
    transfers: dict[str, np.ndarray]
    events: int
    wall_seconds: float

    @property
    def makespan(self) -> int:
        return self.layers[-1].end if self.layers else 0

    @property
    def executed_macs(self) -> int:
        return sum(l.executed_macs for l in self.layers)


def check_fits(layer: LayerJobs, hw: Hardware, bc: Broadcasts | None) -> None:
    """Reject, before simulating, any block that can never fit its buffer, and any broadcast
    of a static plan (`bc`) whose weights can never be on chip together."""
    half = 2 if hw.double_buffered else 1
    for what, attr, sizes, capacity, knob, fix in (
        (
            "weight",
            "weight_block",
            layer.weight_bytes,
            hw.weight_buffer_bytes,
            "weight_buffer_bytes",
            "use a smaller filters_per_job or more channel_splits",
        ),
        (
            "input",
            "input_block",
            layer.input_bytes,
            hw.input_buffer_bytes,
            "input_buffer_bytes",
            "use smaller tiles (tile_h, tile_w) or more channel_splits",
        ),
        (
            "output",
            "output_block",
            layer.output_bytes,
            hw.output_buffer_bytes,
            "output_buffer_bytes",
            "use smaller tiles or a smaller filters_per_job",
        ),
    ):
        if not len(sizes) or math.isinf(capacity):
            continue
        usable = capacity / half
        worst = int(np.argmax(sizes))
        if sizes[worst] > usable:
            job = next(j for j in layer.jobs if getattr(j, attr) == worst)
            note = " (half of it, double buffered)" if half == 2 else ""
            raise ConfigError(
                f"layer {layer.layer.name}: job {job.index} (filters {job.filters[0]}.."
                f"{job.filters[-1]}, tile {job.tile}) needs {int(sizes[worst])} B of {what}s; "
                f"the {what} buffer holds {int(usable)} B{note}: raise hardware.{knob} or {fix}"
            )
    if bc is None or math.isinf(hw.weight_buffer_bytes) or not bc.n_groups:
        return
    if int(layer.weight_bytes.sum()) <= hw.weight_buffer_bytes:
        return  # all of them fit at once, so any broadcast's do
    need = bc.weight_bytes_at_once(layer)
    worst = int(np.argmax(need))
    if need[worst] > hw.weight_buffer_bytes:
        members = int(np.diff(bc.offsets)[worst])
        raise ConfigError(
            f"layer {layer.layer.name}: a broadcast to {members} PEs needs {int(need[worst])} B "
            f"of weights on chip at once; the weight buffer holds {int(hw.weight_buffer_bytes)}"
            f" B: raise hardware.weight_buffer_bytes or use fewer PEs"
        )


@frozen
class _Prepared:
    """A planned layer, checked, with the engine it will run on."""

    layer: LayerJobs
    plan: Plan
    broadcasts: Broadcasts | None  # static plans
    plan_seconds: float
    timeline: closed_form.LayerTimeline | None  # from cycle 0; None: SimPy runs it
    note: str | None


def simulate(
    layers: list[LayerJobs],
    hw: Hardware,
    policy: Policy,
    progress: Callable[[int, int, str], None] | None = None,
    dram_port: type[DramPort] = DramPort,
    engine: str = "auto",
    cutoff_cycles: int | None = None,
    remaining_cycles: list[int] | None = None,
) -> SimResult:
    """Simulate the layers in order on `hw`, each planned by `policy`. `progress(i, n, what)`
    is called before planning each layer ("planning NAME") and before simulating it
    ("simulating NAME"); `dram_port` swaps the port model (benchmarks compare two);
    `engine` is "auto" (the closed form wherever it is exact), "simpy" or "fast".
    `cutoff_cycles`: a layer SimPy runs stops with PastDeadline as soon as it has run
    longer than that (the mapper's, for a candidate that can no longer win), and, with
    `remaining_cycles` (one static layer: per broadcast, the least cycles from its delivery
    to the layer's end, accelsim.engine.remaining_bound), as soon as the time now plus that
    of the broadcast the dispatcher works on passes it."""
    if engine not in ENGINES:
        raise ConfigError(f"engine = {engine!r}: must be one of {', '.join(ENGINES)}")
    t0 = time.perf_counter()
    if engine == "fast":  # what the hardware alone rules out, before any planning
        for layer in layers:
            _demand_fast(layer, closed_form.not_exact_because(layer, hw, False))
    prepared: deque[_Prepared] = deque()
    for i, layer in enumerate(layers):  # planning can take long (exact): say so
        if progress is not None:
            progress(i, len(layers), f"planning {layer.layer.name}")
        prepared.append(_prepare(layer, hw, policy, engine))
    env = Clock()
    trace = StateTrace(hw.n_pes)
    levels = LevelTrace()
    transfers = TransferLog()
    dram = dram_port(env, hw.dram_bytes_per_cycle, hw.dram_latency_cycles, transfers)
    pes: list[PE] = []  # made for the first layer SimPy runs, then serving every layer
    runs = []
    events = 0
    for i in range(len(layers)):
        # each layer's plan, broadcasts and timeline go once it has run: holding every
        # layer's until the end doubled a large run's memory
        p = prepared.popleft()
        if progress is not None:
            progress(i, len(layers), f"simulating {p.layer.layer.name}")
        if engine == "auto":  # the closed form where exact, computed when the layer runs
            p = _with_timeline(p, hw)
        if p.timeline is not None:
            run = _run_closed_form(env, p, hw, trace, levels, transfers)
        else:
            dram.layer = p.layer.index
            if not pes:
                pes = [PE(env, i, hw.input_queue_depth, trace) for i in range(hw.n_pes)]
            with collector_paused():
                run, n_events = _run_layer(
                    env,
                    p.layer,
                    p.plan,
                    p.broadcasts,
                    hw,
                    dram,
                    trace,
                    levels,
                    pes,
                    p.plan_seconds,
                    p.note,
                    None if cutoff_cycles is None else env.now + cutoff_cycles,
                    remaining_cycles,
                )
            events += n_events
        runs.append(run)
    return SimResult(
        hw=hw,
        policy=policy.name,
        layers=tuple(runs),
        states=trace.close(env.now),
        levels=levels.to_arrays(),
        transfers=transfers.to_arrays(),
        events=events,
        wall_seconds=time.perf_counter() - t0,
    )


def _prepare(layer: LayerJobs, hw: Hardware, policy: Policy, engine: str) -> _Prepared:
    """Plan a layer, check that it fits, and choose its engine."""
    p0 = time.perf_counter()
    plan = plan_layer(policy, layer_problem(layer, hw))
    plan_seconds = time.perf_counter() - p0
    bc = None if plan.dynamic else broadcasts(plan.queues, layer)
    check_fits(layer, hw, bc)
    prepared = _Prepared(layer, plan, bc, plan_seconds, None, None)
    if engine == "fast":  # every layer's timeline before any runs: fast stops before
        prepared = _with_timeline(prepared, hw)
        _demand_fast(layer, prepared.note)
    return prepared


def _with_timeline(p: _Prepared, hw: Hardware) -> _Prepared:
    """The prepared layer with its closed-form timeline, or the note saying why it has none
    (then SimPy runs it)."""
    timeline, note = closed_form.timeline_or_note(p.layer, p.broadcasts, hw, p.plan.dynamic)
    return attrs.evolve(p, timeline=timeline, note=note)


def layer_problem(layer: LayerJobs, hw: Hardware) -> Problem:
    """The layer as a policy sees it on `hw`, with the simulator to score its plans."""
    return Problem.from_layer(layer, hw.n_pes, hw, evaluate=PlanEvaluator(layer, hw))


class PlanEvaluator:
    """A layer's simulated cycles under a plan (accelsim.policies.Evaluator): the closed form
    where it is exact, else SimPy. Whether the hardware allows the closed form at all is
    asked once, at the first plan. With a `cutoff`, a plan proven to take at least that many
    cycles is not simulated to its end: its lower bounds (accelsim.engine.plan_bounds) are
    tried first, cheapest first, and a run stops as soon as it passes the cutoff."""

    def __init__(self, layer: LayerJobs, hw: Hardware):
        self._layer = layer
        self._hw = hw
        self._exact: bool | None = None
        self._bounds: plan_bounds.PlanBounds | None = None
        self._open_output = attrs.evolve(hw, output_buffer_bytes=math.inf)
        self._broadcasts = BroadcastMemo(layer)
        self.simpy_runs = 0
        self.closed_form_runs = 0  # scored by the closed form (benchmarks count them)
        # cycles of every plan scored, by its queues: a local search proposes some plans
        # again, and a plan's cycles do not change; and what is known of the plans a
        # cutoff ruled out (cycles at least this)
        self._scored: dict[tuple[tuple[int, ...], ...], int] = {}
        self._at_least: dict[tuple[tuple[int, ...], ...], int] = {}

    def __call__(self, plan: Plan, cutoff: int | None = None) -> int:
        assert plan.queues is not None  # policies score static plans
        if cutoff is not None:
            if self._bounds is None:
                self._bounds = plan_bounds.PlanBounds(self._layer, self._hw)
            if self._bounds.port_floor >= cutoff:  # no plan of the layer can take fewer
                return self._bounds.port_floor
        key = tuple(map(tuple, plan.queues))
        scored = self._scored.get(key)
        if scored is not None:
            return scored
        bc: Broadcasts | None = None
        deadline: int | None = None
        if cutoff is not None:
            low = self._at_least.get(key, -1)
            if low < cutoff:
                low, bc = self._bound(plan, cutoff)
            if low >= cutoff:
                self._at_least[key] = low
                return low
            deadline = cutoff - 1  # a job starting at the cutoff ends after it
        try:
            cycles = self._simulate(plan, bc, deadline)
        except PastDeadline:
            assert cutoff is not None  # runs stop only at the deadline a cutoff sets
            self._at_least[key] = cutoff
            return cutoff
        self._scored[key] = cycles
        return cycles

    def _bound(self, plan: Plan, cutoff: int) -> tuple[int, Broadcasts | None]:
        """A lower bound on the plan's cycles, from the cheapest bound that reaches the
        cutoff (or the last tried), and the plan's broadcasts if they were needed."""
        assert self._bounds is not None  # made at the first cutoff
        low = self._bounds.queue(plan.queues)
        if low >= cutoff:
            return low, None
        if self._closed_form_exact() and closed_form.blocks_fit(self._layer, self._hw):
            return low, None  # the closed form computes the loads bound's dispatch: run it
        bc = self._broadcasts(plan.queues)
        return max(low, self._bounds.loads(bc)), bc

    def _closed_form_exact(self) -> bool:
        if self._exact is None:
            self._exact = closed_form.not_exact_because(self._layer, self._hw, False) is None
        return self._exact

    def _simulate(
        self, plan: Plan, bc: Broadcasts | None = None, deadline: int | None = None
    ) -> int:
        """The plan's cycles; PastDeadline once a run is known to end after `deadline`."""
        layer, hw = self._layer, self._hw
        if self._closed_form_exact():
            # the closed form on an output buffer that never fills: where the real one
            # holds every tile the plan keeps at once, that is the run
            self.closed_form_runs += 1
            got = closed_form.end_and_output_peak(
                layer,
                self._broadcasts(plan.queues) if bc is None else bc,
                self._open_output,
                deadline,
            )
            if got is not None:
                end, output_peak = got
                if output_peak <= hw.output_buffer_bytes:
                    return end
                # else SimPy runs it, only later: with every block on chip from the
                # start, waiting for output space and spilling delay jobs and write-backs
                if deadline is not None and end > deadline and closed_form.blocks_fit(layer, hw):
                    raise PastDeadline(end)
        self.simpy_runs += 1
        fixed = FixedPlan(plan)
        return simulate([layer], hw, fixed, engine="simpy", cutoff_cycles=deadline).makespan


class FixedPlan:
    """A plan already made, as a policy (to simulate it)."""

    name = "fixed"

    def __init__(self, plan: Plan):
        self._plan = plan

    def plan(self, problem: Problem) -> Plan:
        return self._plan


def _demand_fast(layer: LayerJobs, note: str | None) -> None:
    if note is not None:
        raise ConfigError(
            f"layer {layer.layer.name}: engine = 'fast', but the closed form is "
            f"not exact here: {note}; use engine = 'auto' (SimPy where needed) "
            f"or 'simpy'"
        )


def _layer_bound(layer: LayerJobs, plan: Plan, hw: Hardware):
    proven = plan.info.get("proven_optimal")
    return bounds(layer.cycles, hw.n_pes, plan.planned_makespan(layer.cycles) if proven else None)


def _run_closed_form(
    env, p: _Prepared, hw: Hardware, trace: StateTrace, levels: LevelTrace, transfers: TransferLog
) -> LayerRun:
    layer, start = p.layer, env.now
    assert p.timeline is not None  # simulate runs the closed form only for a layer with one
    timeline = p.timeline.shifted(start)
    trace.extend(*timeline.states)
    levels.extend(*timeline.levels)
    transfers.extend(*timeline.transfers)
    if timeline.end > env.now:
        env.run(until=timeline.end)  # the next layer starts at the barrier
    bound = _layer_bound(layer, p.plan, hw)
    bc = p.broadcasts
    assert bc is not None  # the closed form runs static plans only
    order = FetchOrder.from_deliveries(
        np.repeat(np.arange(bc.n_groups), np.diff(bc.offsets)), bc.job, layer, p.plan.queues
    )
    w_peak, i_peak, o_peak = timeline.peaks
    return LayerRun(
        index=layer.index,
        name=layer.layer.name,
        start=start,
        end=timeline.end,
        n_jobs=layer.n_jobs,
        executed_macs=timeline.executed_macs,
        pruned_macs=layer.pruned_macs,
        dense_macs=layer.dense_macs,
        lower_bound=bound.best,
        bound_kind=bound.which,
        planned_makespan=p.plan.planned_makespan(layer.cycles),
        plan_seconds=p.plan_seconds,
        noc_bytes=timeline.noc_bytes,
        weight_buffer_reads=timeline.weight_reads,
        input_buffer_reads=timeline.input_reads,
        output_buffer_writes=timeline.output_writes,
        output_buffer_reads=timeline.psum_bytes + int(layer.output_write_bytes.sum()),
        weight_buffer_peak=w_peak,
        input_buffer_peak=i_peak,
        output_buffer_peak=o_peak,
        engine="fast",
        hardware=hardware_bounds(layer, hw, bound.best, order),
    )


def _run_layer(
    env,
    layer: LayerJobs,
    plan: Plan,
    bc: Broadcasts | None,
    hw: Hardware,
    dram: DramPort,
    trace: StateTrace,
    levels: LevelTrace,
    pes: list[PE],
    plan_seconds: float,
    note: str | None,
    deadline: int | None = None,
    remaining: list[int] | None = None,
):
    start = env.now
    bound = _layer_bound(layer, plan, hw)
    jobs = layer.run_jobs()  # this run's: dropped with the layer's components
    stealing_from = None  # with stealing, the queues the PEs start on
    expected = None
    if plan.dynamic:
        if plan.steal:
            # a stealing plan has queues (Plan.stealing; Plan.check does not enforce it:
            # without them, `interleaved` failed here before)
            assert plan.queues is not None
            stealing_from = plan.queues
            # the order stealing is expected to follow
            groups = dynamic_groups(interleaved(plan.queues), layer, jobs)
        else:
            groups = dynamic_groups(plan.order, layer, jobs)
    else:
        # a static plan has queues, and _prepare made its broadcasts
        assert bc is not None and plan.queues is not None
        groups = bc.groups(layer, jobs)
        expected = [len(q) for q in plan.queues]
    # each delivery's blocks, per operand; the ints are the jobs' own (no copy per job)
    weight_sequence = [[job.weight_block for _, job in g.members] for g in groups]
    input_sequence = [[job.input_block for _, job in g.members] for g in groups]
    n = hw.n_pes
    status = DispatchStatus(env, n, expected, layer.n_jobs, trace, hw.input_queue_depth)
    progress = LayerProgress(env, layer.n_jobs)
    outputs = OutputBuffer(
        env,
        OUTPUT_BUFFER,
        hw.output_buffer_bytes,
        layer.output_bytes,
        layer.output_write_bytes,
        layer.output_uses,
        dram,
        levels,
        progress.check,
        hw.psum_spill,
    )
    progress.outputs = outputs
    buffers = []
    for name, buffer_id, operand, capacity, sizes, unique, extra, sequence in (
        (
            "weight",
            WEIGHT_BUFFER,
            Operand.WEIGHTS,
            hw.weight_buffer_bytes,
            layer.weight_bytes,
            layer.weight_bytes,
            np.zeros(len(layer.weight_bytes)),
            weight_sequence,
        ),
        (
            "input",
            INPUT_BUFFER,
            Operand.INPUTS,
            hw.input_buffer_bytes,
            layer.input_bytes,
            layer.input_unique_bytes,
            layer.input_extra_cause,
            input_sequence,
        ),
    ):
        actual, predicted = ([], sequence) if plan.steal else (sequence, None)
        buffers.append(
            BlockBuffer(
                env,
                name,
                buffer_id,
                operand,
                capacity,
                sizes,
                unique,
                extra,
                actual,
                hw.double_buffered,
                lambda: status.position,
                status.wait_position,
                dram,
                levels,
                predicted,
                # a central queue fills any free slot, broadcasts go to every PE's queue
                hw.input_queue_depth * (n if plan.dynamic else 1),
            )
        )
    weights, inputs = buffers
    noc = Interconnect(hw.noc_bytes_per_cycle, hw.multicast)
    for pe in pes:
        pe.for_layer(status, weights, inputs, outputs, progress)
    status.pes = pes
    stealing = StealingQueues(stealing_from, layer, jobs) if stealing_from is not None else None
    dispatcher = Dispatcher(
        env, groups, plan.dynamic, status, pes, weights, inputs, noc, layer, stealing
    )
    for component in (load_in_order(weights, inputs), dispatcher.run()):
        env.process(component)
    for pe in pes:
        env.start_now(pe.start)
    if not layer.n_jobs:
        progress.check()
    if deadline is not None and remaining is not None:
        _stop_when_behind(env, status, progress.done, remaining, deadline)
    steps = _run_until(
        env, progress.done, layer, [weights, inputs, outputs, dispatcher, *pes], deadline
    )
    if trace.current_keys.count(IDLE_KEY) != n:  # every PE ends idle; most already are
        for p in range(n):
            trace.enter(p, State.IDLE, env.now)
    executed = sum(pe.executed_macs for pe in pes)
    # the deliveries as fetched: a static plan's broadcasts (as the closed form reads them,
    # from its arrays, not from a Python object per member); under stealing, the order
    # chosen at run time. A dynamic plan's per-PE job order is decided at run time too, so
    # spills get no bound there
    if bc is not None:
        delivery = np.repeat(np.arange(bc.n_groups), np.diff(bc.offsets))
        order = FetchOrder.from_deliveries(delivery, bc.job, layer, plan.queues)
    else:
        order = FetchOrder.from_sequences(weights.sequence, inputs.sequence)
    run = LayerRun(
        index=layer.index,
        name=layer.layer.name,
        start=start,
        end=env.now,
        n_jobs=layer.n_jobs,
        executed_macs=executed,
        pruned_macs=layer.pruned_macs,
        dense_macs=layer.dense_macs,
        lower_bound=bound.best,
        bound_kind=bound.which,
        planned_makespan=plan.planned_makespan(layer.cycles),
        plan_seconds=plan_seconds,
        noc_bytes=noc.bytes,
        weight_buffer_reads=dispatcher.weight_reads,
        input_buffer_reads=dispatcher.input_reads,
        output_buffer_writes=outputs.write_bytes,
        output_buffer_reads=outputs.psum_bytes + int(layer.output_write_bytes.sum()),
        weight_buffer_peak=weights.peak,
        input_buffer_peak=inputs.peak,
        output_buffer_peak=outputs.peak,
        engine_note=note,
        hardware=hardware_bounds(layer, hw, bound.best, order),
    )
    # the layer's reference cycles (status <-> PEs, progress <-> output buffer) would keep
    # all its state alive until the next full garbage collection
    status.pes = []
    progress.outputs = None
    return run, steps


def _stop_when_behind(env: Clock, status, done: simpy.Event, remaining: list[int], deadline: int):
    """Check, 128 times over the run up to `deadline`, whether the layer can still end by
    then: the dispatcher has not delivered the broadcast it works on (`status.position`), so
    the end is at least now plus `remaining` of it; raise PastDeadline when that is past.
    The checks only read the run: the model's events and their order are the same without
    them."""
    every = max(1, (deadline - env.now) // 128)

    def check() -> None:
        if done.callbacks is None:  # the layer has ended
            return
        pos = max(status.position, 0)
        if pos < len(remaining) and env._now + remaining[pos] > deadline:
            raise PastDeadline(env._now)
        env.call_in(every, check)

    env.call_in(every, check)


def _run_until(
    env: Clock, done: simpy.Event, layer: LayerJobs, components, deadline: int | None
) -> int:
    """Step the environment until `done`; an empty schedule before that is a deadlock."""
    try:
        return env.run_until(done, deadline)
    except simpy.core.EmptySchedule:
        waiting = [text for c in components if (text := c.describe())]
        raise DeadlockError(
            f"deadlock in layer {layer.layer.name} at cycle {env.now}: no component can make "
            f"progress. " + "; ".join(waiting or ["(no component reports a wait)"])
        ) from None
