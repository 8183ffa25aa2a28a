"""The mapper: for each layer on given hardware, the mapping (tile height and width, filters
per job, channel splits) that fits every buffer and minimises the layer's cycles, energy or
energy-delay product.

Why per layer and per hardware: a mapping chosen for one buffer size is refused by a smaller
one, and a sweep of buffer capacities compares hardware only if each point runs its own best
mapping (as a real accelerator's compiler tiles for its buffers).

The space, per layer (`candidates`):
- tiles: n x n tiles of ceil(out_h / n) rows and ceil(out_w / n) columns (the same count
  along both axes, so the tiles keep the map's shape), for n in {1, 2, 3, 4, 6, 8, 12, 16,
  ...} (2^i and 3 x 2^i) below the larger side and that side itself, distinct shapes only;
- filters per job: 1, 2, 4, 8, capped at the filters of a conv group;
- channel splits: 1, 2, 4, 8, capped at the channels a filter sees;
- at most MAX_LAYER_JOBS jobs (tiles x filter groups x chunks), except on the whole map as
  one tile, which keeps every cut of its filters: a fully connected layer has no tiles to
  shrink, so only channel splits make its weight blocks (and a broadcast's) fit a small
  buffer (AlexNet's fc6 on 32 PEs and 32 KiB of weight buffer needs 8 splits, 32,768 jobs);
  any other finer cut is left out.
The order in which a PE walks its jobs is the policy's (accelsim.policies), not the mapper's.
The space depends on the layer alone, never on the hardware (a rule that left splits out
where they seemed useless made a larger buffer slower: splits shrink input blocks, so
small input buffers take larger tiles with them).

The search (`map_layer`): every candidate's largest weight, input and output blocks are
computed exactly without building its jobs, and a candidate whose block exceeds its buffer
(half of it, double buffered) is out: the same test as accelsim.engine.assemble.check_fits.
The rest go best first through a heap keyed by (bound or score, jobs, position in the
space), climbing four stages, each key at least the one before: a lower bound from the
layer's totals and the hardware (`candidates`, the bounds of
accelsim.engine.hardware_bounds); the plan's dispatch with every block on chip
(closed_form.ideal_memory_end); the plan's memory bound with the refetch and spill no loader
avoids; the simulated score (the closed form where it is exact, SimPy elsewhere, with the
scenario's policy and engine). The first score out of the heap is the least (score, jobs,
position) of the whole space, since every other candidate's score is at least its key; a
stage is paid only by candidates whose cheaper bound is below the best score so far, and
with the cycles objective a simulation stops once it runs past the best cycles so far (it
cannot win), a SimPy run sooner, once it is too far behind to end by then
(accelsim.engine.remaining_bound). `budget` caps the simulations; cut by it, the report says so. With a policy
whose cycles never grow with a buffer, neither do the mapper's: a larger buffer only adds
candidates.
"""

from __future__ import annotations

import functools
import heapq
import math
import time
from collections.abc import Callable

import attrs
import numpy as np
from attrs import frozen

from accelsim.config import EnergyTable, Hardware, LayerMappings, Mapping
from accelsim.engine import closed_form
from accelsim.engine.assemble import FixedPlan, LayerRun, check_fits, layer_problem, simulate
from accelsim.engine.broadcasts import Broadcasts, broadcasts
from accelsim.engine.energy import layer_energy
from accelsim.engine.hardware_bounds import FetchOrder, hardware_bounds
from accelsim.engine.hw.clock import PastDeadline
from accelsim.engine.remaining_bound import after_delivery
from accelsim.errors import AccelsimError, ConfigError
from accelsim.policies import Plan, Policy, plan_layer
from accelsim.trace import Cause, Operand
from accelsim.units import exact_rate
from accelsim.workload.jobs import LayerJobs, _spans, build_layer_jobs, layer_units
from accelsim.workload.sparsity.pruning import PrunedLayer, PrunedNetwork

MAX_LAYER_JOBS = 4096  # a finer cut is left out of the space: it costs time, not insight
KEPT_PLAN_JOBS = 500_000  # jobs of the plans a sweep keeps across points (Evaluations)


def _counts(length: int) -> list[int]:
    """Tile counts along an axis: 2^i and 3 x 2^i below `length`, and `length` itself."""
    out, i = [], 0
    while 2**i < length:
        out += [c for c in (2**i, 3 * 2**i) if c < length]
        i += 1
    return sorted(set(out) | {length})


def tile_choices(out_h: int, out_w: int) -> list[tuple[int, int]]:
    """Distinct tile shapes (ceil(out_h / n), ceil(out_w / n)), largest first, over the tile
    counts n of the larger side."""
    shapes = {
        (-(-out_h // min(n, out_h)), -(-out_w // min(n, out_w))) for n in _counts(max(out_h, out_w))
    }
    return sorted(shapes, reverse=True)


UNIT_CHOICES = (1, 2, 4, 8)


def unit_choices(n: int) -> list[int]:
    """1, 2, 4, 8 capped at n (distinct)."""
    return sorted({min(c, n) for c in UNIT_CHOICES})


def label(m: Mapping) -> str:
    """A mapping in a few characters: '14x14 f1 s1' (tile, filters per job, splits)."""
    return f"{m.tile_h}x{m.tile_w} f{m.filters_per_job} s{m.channel_splits}"


@frozen
class LayerChoice:
    """What the mapper chose for one layer, and how far it looked.

    `alternatives` are short lines saying why the nearest others lost; `exhaustive` is True
    when the bound proved the choice best of the whole space (False: the budget cut it)."""

    layer: str
    mapping: Mapping
    cycles: int
    energy_pj: float | None  # None under the cycles objective: the run reports it
    candidates: int
    evaluated: int
    do_not_fit: int
    cannot_win: int
    exhaustive: bool
    alternatives: tuple[str, ...]
    seconds: float

    def as_dict(self) -> dict:
        """The per-layer entry of summary.json and layers.csv."""
        m = self.mapping
        return {
            "tile_h": m.tile_h,
            "tile_w": m.tile_w,
            "filters_per_job": m.filters_per_job,
            "channel_splits": m.channel_splits,
            "chosen_by": "mapper",
            "candidates": self.candidates,
            "evaluated": self.evaluated,
            "do_not_fit": self.do_not_fit,
            "cannot_win": self.cannot_win,
            "exhaustive": self.exhaustive,
            "why": "; ".join(self.alternatives),
        }


@frozen
class MappingPlan:
    """The mapper's choice for every layer of a network."""

    objective: str
    budget: int
    layers: tuple[LayerChoice, ...]

    @property
    def mappings(self) -> LayerMappings:
        return LayerMappings(tuple((c.layer, c.mapping) for c in self.layers))

    @property
    def exhaustive(self) -> bool:
        return all(c.exhaustive for c in self.layers)

    def note(self) -> str:
        """One line for the report: what the mapper did."""
        cut = [c.layer for c in self.layers if not c.exhaustive]
        evaluated = sum(c.evaluated for c in self.layers)
        total = sum(c.candidates for c in self.layers)
        text = (
            f"mapping: chosen per layer by the mapper (objective {self.objective}): "
            f"{evaluated} of {total} candidate mappings simulated, the rest ruled out by "
            f"buffer fit or by a lower bound"
        )
        if cut:
            text += (
                f"; the budget of {self.budget} evaluations per layer cut the search in "
                f"{len(cut)} layer{'s' * (len(cut) != 1)} ({', '.join(cut[:4])}"
                f"{', ...' if len(cut) > 4 else ''}): there the choice is the best "
                f"evaluated, not proven best; raise [mapping] budget"
            )
        else:
            text += "; every choice is proven best of its layer's space"
        return text


@frozen
class _Space:
    """A layer's candidates as columns (one entry each, in the space's fixed order)."""

    tile_h: np.ndarray
    tile_w: np.ndarray
    fpj: np.ndarray
    splits: np.ndarray
    n_jobs: np.ndarray
    need: np.ndarray  # (n, 3) largest weight, input, output block, bytes
    bound_cycles: np.ndarray
    # MAC and compulsory DRAM energy: with leakage over a cycle bound, the energy bound
    energy_fixed_pj: np.ndarray
    # (filters per job, splits) -> its LayerUnits: made here once for every tile shape
    units: dict = attrs.field(eq=False, repr=False)


def _shape_stats(layer, tile_h: int, tile_w: int):
    """One tile shape: tiles, summed and largest input pixels, largest output pixels."""
    rows = _spans(layer.out_h, tile_h, layer.stride_h, layer.pad_h[0], layer.extent_h, layer.in_h)
    cols = _spans(layer.out_w, tile_w, layer.stride_w, layer.pad_w[0], layer.extent_w, layer.in_w)
    return (
        tile_h,
        tile_w,
        len(rows) * len(cols),
        sum(r[1] for r in rows) * sum(c[1] for c in cols),
        max(r[1] for r in rows) * max(c[1] for c in cols),
        max(r[0] for r in rows) * max(c[0] for c in cols),
    )


def candidates(pruned: PrunedLayer, base: Mapping, hw: Hardware, energy: EnergyTable) -> _Space:
    """The layer's mapping space (module docstring) with each candidate's largest blocks and
    its lower bounds on cycles and energy on `hw`."""
    layer = pruned.layer
    act, n_pes = hw.activation_bits, hw.n_pes
    units, memo, cuts = [], {}, {}
    choices = unit_choices(layer.channels_per_group)
    if max(choices) > 1:  # the kernels once, not once per chunking
        kernels = pruned.kernel_nnz()
        memo = {
            k: np.add.reduceat(kernels, pruned.chunk_bounds(k)[:-1], axis=1).astype(np.int64)
            for k in choices
            if k > 1
        }
    for f in unit_choices(layer.filters_per_group):
        for k in choices:
            lu = layer_units(
                pruned,
                Mapping(filters_per_job=f, channel_splits=k, weight_format=base.weight_format),
                hw,
                memo,
            )
            cuts[f, k] = lu
            units.append(
                (
                    f,
                    k,
                    len(lu.units),
                    len(lu.fgroups) // layer.groups,
                    int(lu.weight_bytes.max(initial=0)),
                    int(lu.weight_bytes.sum()),
                    int(max(ch.max() for ch in lu.chunk_channels.values())),
                    int(lu.unit_nnz.max(initial=0)),
                )
            )
    t = np.array(
        [_shape_stats(layer, h, w) for h, w in tile_choices(layer.out_h, layer.out_w)],
        dtype=np.int64,
    )
    u = np.array(units, dtype=np.int64)
    ti, ui = (a.ravel() for a in np.meshgrid(np.arange(len(t)), np.arange(len(u)), indexing="ij"))
    # tiles x units: the candidate's jobs; the whole map keeps every cut of its units
    keep = (t[ti, 2] * u[ui, 2] <= MAX_LAYER_JOBS) | (t[ti, 2] == 1)
    ti, ui = ti[keep], ui[keep]
    th, tw, n_tiles, in_pix, in_max, out_max = t[ti].T
    f, k, n_units, fg_per_group, w_max, w_total, ch_max, nnz_max = u[ui].T
    n_jobs = n_tiles * n_units
    filters_max = np.minimum(f, layer.filters_per_group)
    out_bits = np.where(k > 1, hw.psum_bits, act)
    need = np.column_stack(
        (w_max, -(-in_max * ch_max * act // 8), -(-out_max * filters_max * out_bits // 8))
    )

    # totals no job list of the candidate can go below (accelsim.engine.hardware_bounds)
    skips = hw.pe_skips_activations  # zero inputs may drop jobs and blocks: no job terms
    inputs = np.zeros_like(in_pix) if skips else in_pix * layer.in_c * act // 8
    w_total = np.zeros_like(w_total) if skips else w_total  # unread units load nothing
    outputs = layer.out_pixels * layer.out_c * act // 8
    slots = 0 if skips else pruned.pruned_macs  # every PE model spends a slot per MAC
    work = -(-slots // hw.macs_per_cycle) + (0 if skips else n_jobs * hw.job_overhead_cycles)
    # the longest job: its unit's nonzeros (a slot each) over the largest tile
    longest = 0 if skips else -(-nnz_max * out_max // hw.macs_per_cycle) + hw.job_overhead_cycles
    compute = np.maximum(-(-work // n_pes), longest)
    memory = hw.dram_latency_cycles + _transfer(w_total + inputs + outputs, hw.dram_bytes_per_cycle)
    delivered = inputs * (1 if hw.multicast else fg_per_group)
    interconnect = _transfer(delivered + w_total, hw.noc_bytes_per_cycle)
    lock_step = np.zeros_like(compute)
    if hw.input_queue_depth == 1 and exact_rate(hw.noc_bytes_per_cycle) is not None:
        lock_step = -(
            -(work + _transfer(inputs * fg_per_group, hw.noc_bytes_per_cycle, floor=True)) // n_pes
        )
    cycles = np.maximum(np.maximum(compute, memory), np.maximum(interconnect, lock_step))
    energy_fixed_pj = (0 if skips else pruned.pruned_macs) * energy.mac_pj + (
        w_total + inputs + outputs
    ) * energy.dram_pj_per_byte
    return _Space(th, tw, f, k, n_jobs, need, cycles, energy_fixed_pj, cuts)


def _transfer(nbytes, bytes_per_cycle: float, floor: bool = False):
    """Cycles to move `nbytes` at the rate (0 at infinite rate); `floor` rounds down, for a
    sum of per-job transfers each rounded up."""
    rate = exact_rate(bytes_per_cycle)
    if rate is None:
        return np.zeros_like(nbytes)
    num, den = rate
    return nbytes * den // num if floor else -(-nbytes * den // num)


def _usable(hw: Hardware) -> np.ndarray:
    half = 2 if hw.double_buffered else 1
    return (
        np.array(
            [hw.weight_buffer_bytes, hw.input_buffer_bytes, hw.output_buffer_bytes], dtype=float
        )
        / half
    )


_BUFFERS = ("weight", "input", "output")
_WHAT = ("weights", "inputs", "outputs")


def _score(objective: str, cycles, energy_pj):
    if objective == "cycles":
        return cycles
    return energy_pj if objective == "energy" else energy_pj * cycles


# policies whose plans read only the jobs and the PE count, never the buffers
_BUFFER_BLIND = (
    "accelsim.policies.classic",
    "accelsim.policies.heuristics",
    "accelsim.policies.partition",
    "accelsim.policies.exact",
)


@frozen
class _Run:
    """One evaluation, with what it needs of the buffers to stay the same on other ones."""

    run: LayerRun
    dram: np.ndarray  # bytes by (operand, cause)
    needs: tuple | None  # weight, input bytes, output bytes from and to (_needs); None: this hw


class Evaluations:
    """Evaluations kept across hardware that differs only in buffer capacities (a buffer
    sweep's points). When the weight and input buffers hold all of a layer's blocks at once,
    every load is issued at the start and none waits for space or evicts, so neither size
    changes the run. A closed-form run, whose output tiles never overflow, is then the same
    run on any buffers that still hold its blocks and its output peak (nothing waits for
    space, accelsim.engine.closed_form), so it is reused there, its energy recomputed for
    the new buffers; a SimPy run of a static plan (its output tiles overflow) on any that
    hold its blocks and have the same output buffer; any other run is kept for its own
    hardware."""

    def __init__(self):
        self._runs: dict = {}
        # a candidate's dispatch bound reads no buffer (closed_form.ideal_memory_end): kept
        # for every hardware with the same other fields
        self.dispatch: dict = {}
        # and so do its jobs and plan (_BUFFER_BLIND policies): kept for the candidates
        # whose bound let them be planned on some point's buffers, likely again on the next,
        # up to KEPT_PLAN_JOBS jobs in all
        self.plans: dict = {}
        self.plan_jobs = 0
        # each layer's choice on the points mapped so far, by output buffer capacity: the
        # next point simulates it first, so its cutoff is tight from the start
        self.chosen: dict = {}
        # candidates (and output buffers) where the closed form said no on an earlier point:
        # on the next point with that output buffer they go to SimPy at once, since the
        # closed form would most likely run to find its tiles overflow again (the two
        # engines agree wherever the closed form is exact, so only the time differs)
        self.closed_form_no: set = set()

    def keep_plan(self, key, planned) -> None:
        """Keep a plan for the next points while the kept plans hold fewer than
        KEPT_PLAN_JOBS jobs (about 130 B each: a sweep of a large network stays in memory)."""
        jobs = 0 if isinstance(planned, str) else planned.layer.n_jobs
        if key not in self.plans and self.plan_jobs + jobs <= KEPT_PLAN_JOBS:
            self.plans[key] = planned
            self.plan_jobs += jobs

    def get(self, key, hw: Hardware):
        for entry in self._runs.get(key, ()):
            if entry.needs is None:
                if entry.hw == hw:
                    return entry.value
            else:
                weights, inputs, out_from, out_to = entry.needs
                if (
                    weights <= hw.weight_buffer_bytes
                    and inputs <= hw.input_buffer_bytes
                    and out_from <= hw.output_buffer_bytes <= out_to
                ):
                    return entry.value
        return None

    def put(self, key, hw: Hardware, value) -> None:
        self._runs.setdefault(key, []).append(_Entry(hw, value))


@frozen
class _Entry:
    hw: Hardware
    value: object

    @property
    def needs(self):
        return self.value.needs if isinstance(self.value, (_Run, _Cycles)) else None


def _evaluate(
    pruned: PrunedLayer,
    mapping: Mapping,
    hw: Hardware,
    policy: Policy,
    engine: str,
    energy: EnergyTable,
    cache: Evaluations | None,
    cycles_only: bool = False,
    planned: _Planned | None = None,
    cutoff: int | None = None,
):
    """The layer alone on `hw` with this mapping: ((cycles, energy pJ or None when
    `cycles_only`), None), or (None, the reason it cannot run: a broadcast's weights that
    never fit, a deadlock, engine = fast refused). `planned`: its jobs and plan, when
    already made. With `cutoff` (cycles objective), (None, None) when it runs longer than
    that: a SimPy run is stopped there, and a kept result beyond it reads the same."""
    blind = type(policy).__module__ in _BUFFER_BLIND
    key = (cycles_only, *_key(pruned, mapping, hw, policy, engine))
    got = cache.get(key, hw) if cache is not None and blind else None
    if got is None:
        if cycles_only:
            made = planned or _plan(pruned, mapping, hw, policy)
            tried = (key, hw.output_buffer_bytes)
            known_no = cache is not None and blind and tried in cache.closed_form_no
            said_no: list[bool] = []
            got = (
                made
                if isinstance(made, str)
                else _refusal(made, hw) or _cycles(made, hw, engine, cutoff, not known_no, said_no)
            )
            if said_no and cache is not None and blind:
                cache.closed_form_no.add(tried)
        else:
            got = _simulate(pruned, mapping, hw, policy, engine)
        if got is None:  # stopped at the cutoff: not a result to keep
            return None, None
        if cache is not None and blind:
            cache.put(key, hw, got)
    if isinstance(got, str):
        return None, got
    if isinstance(got, _Cycles):
        if cutoff is not None and got.cycles > cutoff:
            return None, None
        return (got.cycles, None), None
    run = got.run
    return (
        run.cycles,
        float(sum(layer_energy(hw, energy, run.executed_macs, got.dram, run).values())),
    ), None


@frozen
class _Cycles:
    """An evaluation that scored cycles alone (the objective needs no energy)."""

    cycles: int
    needs: tuple | None  # as _Run.needs


def _needs(layer, hw: Hardware, output_peak: int | None) -> tuple | None:
    """What a run of `layer` needs of the buffers to be the same run on others (Evaluations):
    every weight and input block at once, and an output buffer from-to: a closed-form run's
    output peak (every output block when some are used more than once) and up; a SimPy run
    (`output_peak` None) this output buffer exactly. None when these buffers do not hold
    every block (the blocks stream)."""
    capacity = hw.output_buffer_bytes
    if output_peak is None:
        out_from, out_to = capacity, capacity
    else:
        out_from = int(layer.output_bytes.sum()) if (layer.output_uses > 1).any() else output_peak
        out_to = math.inf
    needs = (int(layer.weight_bytes.sum()), int(layer.input_bytes.sum()), out_from, out_to)
    fits = (
        needs[0] <= hw.weight_buffer_bytes
        and needs[1] <= hw.input_buffer_bytes
        and out_from <= capacity
    )
    return needs if fits else None


@frozen
class _Planned:
    """A candidate's jobs and plan on the hardware, and a static plan's broadcasts: none of
    them reads a buffer's capacity when the policy is _BUFFER_BLIND."""

    layer: LayerJobs
    plan: Plan
    bc: Broadcasts | None
    # what is worked out from these alone, for the points of a sweep that keep the plan
    # (a static plan's fetch order, and its least cycles after each delivery)
    derived: dict = attrs.field(factory=dict, eq=False, repr=False)


def _key(pruned: PrunedLayer, mapping: Mapping, hw: Hardware, policy: Policy, engine: str):
    """What a candidate's results depend on besides the buffer capacities."""
    return (
        pruned.layer.name,
        id(pruned),
        mapping,
        _policy_key(policy),
        engine,
        _without_buffers(hw),
    )


def _policy_key(policy) -> tuple:
    """A policy's class and options, which its plans depend on: a sweep makes a new policy
    object per point, so its repr (which names its address) would never match the last
    point's and nothing would be reused."""
    options = tuple(
        (k, _policy_key(v) if hasattr(v, "plan") else repr(v))
        for k, v in sorted(vars(policy).items())
    )
    return type(policy).__module__, type(policy).__qualname__, policy.name, options


@functools.lru_cache(maxsize=64)
def _without_buffers(hw: Hardware) -> Hardware:
    """`hw` with its buffer capacities set aside: made once per hardware, not once per
    candidate."""
    return attrs.evolve(hw, weight_buffer_bytes=1, input_buffer_bytes=1, output_buffer_bytes=1)


def _plan(
    pruned: PrunedLayer, mapping: Mapping, hw: Hardware, policy: Policy, units=None
) -> _Planned | str:
    """Build and plan the candidate; or why it cannot be planned. `units`: its LayerUnits,
    when already made."""
    layer = build_layer_jobs(0, pruned, mapping, hw, units)
    try:
        plan = plan_layer(policy, layer_problem(layer, hw))
    except AccelsimError as exc:
        return str(exc)
    return _Planned(layer, plan, None if plan.dynamic else broadcasts(plan.queues, layer))


def _refusal(planned: _Planned | str, hw: Hardware) -> str | None:
    """Why the planned candidate cannot run on these buffers (a broadcast whose weights
    never fit, check_fits), or could not be planned; None when it can run. Asked only of
    candidates whose dispatch bound may win: most never are."""
    if isinstance(planned, str):
        return planned
    try:
        check_fits(planned.layer, hw, planned.bc)
    except AccelsimError as exc:
        return str(exc)
    return None


def _dispatch_bound(planned: _Planned, hw: Hardware) -> int:
    """A lower bound on a planned candidate's cycles from its dispatch alone: a static plan's
    broadcasts with every block on chip (closed_form.ideal_memory_end); a dynamic plan's
    order is decided at run time, so only its interconnect and lock-step bounds."""
    if planned.bc is None:
        b = hardware_bounds(planned.layer, hw, 0)
        return max(b.interconnect, b.lock_step)
    return closed_form.ideal_memory_end(planned.layer, planned.bc, hw)


def _memory_bound(planned: _Planned, hw: Hardware) -> tuple[int, int]:
    """A static plan's memory bound with the refetch and spill no loader avoids in its
    order (accelsim.engine.hardware_bounds), and those extra bytes; (0, 0) for a dynamic
    plan, whose order is decided at run time."""
    layer, bc = planned.layer, planned.bc
    if bc is None:
        return 0, 0
    order = planned.derived.get("order")
    if order is None:
        delivery = np.repeat(np.arange(bc.n_groups), np.diff(bc.offsets))
        order = FetchOrder.from_deliveries(delivery, bc.job, layer, planned.plan.queues)
        planned.derived["order"] = order
    b = hardware_bounds(layer, hw, 0, order)
    return b.memory, b.refetch_bytes + b.spill_bytes


def _cycles(
    planned: _Planned,
    hw: Hardware,
    engine: str,
    cutoff: int | None = None,
    closed_form_first: bool = True,
    said_no: list | None = None,
) -> _Cycles | str | None:
    """The layer's cycles alone: the closed form's end where it is exact (no trace, bounds
    or energy), the whole simulation elsewhere; None when the run passed `cutoff`
    cycles first (the candidate cannot win: it is not run to its end). Without
    `closed_form_first` (engine auto) SimPy runs at once; `said_no` gets an entry when the
    closed form was tried and did not apply."""
    layer = planned.layer
    try:
        # the closed form where it may be exact: not where its own output tiles surely
        # overflow (it would run to say so)
        if (
            engine != "simpy"
            and (closed_form_first or engine == "fast")
            and planned.bc is not None
            and closed_form.output_peak_floor(layer, planned.bc, hw) <= hw.output_buffer_bytes
        ):
            got = closed_form.end_and_output_peak(layer, planned.bc, hw, cutoff)
            if got is not None:
                return _Cycles(got[0], _needs(layer, hw, got[1]))
            if said_no is not None:
                said_no.append(True)
        engine = "simpy" if engine == "auto" else engine  # the closed form said no
        run = simulate(
            [layer],
            hw,
            FixedPlan(planned.plan),
            engine=engine,
            cutoff_cycles=cutoff,
            # stop as soon as the run is too far behind to end by the cutoff
            remaining_cycles=(
                _remaining(planned, hw)
                if cutoff is not None and planned.bc is not None and engine == "simpy"
                else None
            ),
        ).layers[0]
    except PastDeadline:
        return None
    except AccelsimError as exc:
        return str(exc)
    # a static plan's SimPy run is kept for other weight and input buffers that hold it
    return _Cycles(run.cycles, None if planned.bc is None else _needs(layer, hw, None))


def _remaining(planned: _Planned, hw: Hardware) -> list[int]:
    """The least cycles from each broadcast's delivery to the end (remaining_bound): they
    read no buffer, so a plan kept for a sweep's next points keeps them too."""
    assert planned.bc is not None  # a static plan
    if "remaining" not in planned.derived:
        planned.derived["remaining"] = after_delivery(planned.layer, planned.bc, hw).tolist()
    return planned.derived["remaining"]


def _simulate(
    pruned: PrunedLayer, mapping: Mapping, hw: Hardware, policy: Policy, engine: str
) -> _Run | str:
    layer = build_layer_jobs(0, pruned, mapping, hw)
    try:
        result = simulate([layer], hw, policy, engine=engine)
    except AccelsimError as exc:
        return str(exc)
    run = result.layers[0]
    tr = result.transfers
    dram = np.zeros((len(Operand), len(Cause)), dtype=np.int64)
    np.add.at(dram, (tr["operand"], tr["cause"]), tr["bytes"])
    needs = _needs(layer, hw, run.output_buffer_peak) if run.engine == "fast" else None
    return _Run(run, dram, needs)


_HARDWARE, _DISPATCHED, _MEMORY, _SIMULATED = 0, 1, 2, 3  # a heap entry's stage (map_layer)


def map_layer(
    pruned: PrunedLayer,
    base: Mapping,
    hw: Hardware,
    policy: Policy,
    engine: str = "auto",
    energy: EnergyTable = EnergyTable(),
    cache: Evaluations | None = None,
) -> LayerChoice:
    """The best mapping of one layer (module docstring); `base` gives the objective, the
    budget and the weight format. A layer no candidate fits is a ConfigError naming the
    buffer sizes that would fit the smallest."""
    t0 = time.perf_counter()
    name = pruned.layer.name
    space = candidates(pruned, base, hw, energy)
    n = len(space.n_jobs)
    over = space.need > _usable(hw)
    fits = np.asarray(~over.any(axis=1), dtype=bool)
    if not fits.any():
        raise _nothing_fits(name, space, hw, n)
    leak_pj_per_cycle = energy.static_mw(hw) * 1e9 / hw.clock_hz
    bound = _score(
        base.objective,
        space.bound_cycles,
        space.energy_fixed_pj + leak_pj_per_cycle * space.bound_cycles,
    )
    order = [int(i) for i in np.lexsort((np.arange(n), space.n_jobs, bound))]
    feasible = [i for i in order if fits[i]]
    position = {i: p for p, i in enumerate(order)}

    made: dict[int, Mapping] = {}

    def mapping(i):
        if i not in made:
            made[i] = attrs.evolve(
                base,
                mode="fixed",
                tile_h=int(space.tile_h[i]),
                tile_w=int(space.tile_w[i]),
                filters_per_job=int(space.fpj[i]),
                channel_splits=int(space.splits[i]),
            )
        return made[i]

    def units_of(i):
        return space.units[int(space.fpj[i]), int(space.splits[i])]

    # best first over (score or bound, jobs, position): an entry is a candidate at one of
    # four stages, each key at most the next: its hardware bound, its plan's dispatch bound,
    # that and its plan's memory bound, its simulated score. The first simulated score out of
    # the heap is the least key of the whole space, since every other candidate's score is
    # at least its entry's key; each stage costs more than the one before, and is paid only
    # by candidates whose cheaper bound is below the best score so far.
    cycles_only = base.objective == "cycles"  # energy only for the chosen one
    heap = [(float(bound[i]), int(space.n_jobs[i]), position[i], _HARDWARE, i) for i in feasible]
    heapq.heapify(heap)
    scored: list[tuple] = []  # (score, jobs, position, candidate, cycles, energy pJ)
    refused: list[tuple[int, str]] = []
    simulated: list[int] = []
    cut: list[int] = []  # simulated only until they ran past the best so far
    scored_best: tuple | None = None
    plans: dict[int, _Planned | str] = {}  # made for a bound, kept for the next stage
    cycles_lb: dict[int, int] = {}
    extra_bytes: dict[int, int] = {}  # refetch and spill no loader avoids
    exhaustive, evaluated, best = True, 0, None
    blind = type(policy).__module__ in _BUFFER_BLIND
    shared = cache.dispatch if cache is not None and blind else None
    shared_plans = cache.plans if cache is not None and blind else None
    keys: dict[int, tuple] = {}  # a candidate's key in the cache

    def probe(i) -> None:
        """Simulate candidate i before the search (a sweep's earlier choice, likely the best
        or near it here): the runs after it stop at its cycles. The search still ends only
        when the least key left is a score, so the choice is the same."""
        nonlocal evaluated, scored_best
        planned = shared_plans.get(keys[i]) if shared_plans is not None else None
        planned = (
            planned if planned is not None else _plan(pruned, mapping(i), hw, policy, units_of(i))
        )
        refusal = _refusal(planned, hw)
        probed.add(i)
        if refusal is not None:
            refused.append((i, refusal))
            return
        assert isinstance(planned, _Planned)  # a str would have been a refusal
        evaluated += 1
        simulated.append(i)
        outcome, why = _evaluate(
            pruned, mapping(i), hw, policy, engine, energy, cache, cycles_only, planned
        )
        if outcome is None:
            refused.append((i, why))
            return
        score = float(_score(base.objective, *outcome))
        scored.append((score, int(space.n_jobs[i]), position[i], i, *outcome))
        scored_best = scored[-1]
        heapq.heappush(heap, (score, int(space.n_jobs[i]), position[i], _SIMULATED, i))

    probed: set[int] = set()
    hint = None
    if shared is not None and cache is not None:
        layer_key = _key(pruned, base, hw, policy, engine)
        earlier = cache.chosen.get(layer_key, {})
        hint = earlier.get(hw.output_buffer_bytes) or next(reversed(earlier.values()), None)
    # only where the budget cannot cut the search (it could then keep the probe where a
    # search without it would keep another: the choice would depend on the sweep's order)
    if hint is not None and base.budget >= len(feasible):
        at = np.flatnonzero(
            (space.tile_h == hint.tile_h)
            & (space.tile_w == hint.tile_w)
            & (space.fpj == hint.filters_per_job)
            & (space.splits == hint.channel_splits)
            & fits
        )
        if len(at):
            keys[int(at[0])] = _key(pruned, mapping(int(at[0])), hw, policy, engine)
            probe(int(at[0]))

    def lower(i, key):
        energy_lb = (
            space.energy_fixed_pj[i]
            + extra_bytes.get(i, 0) * energy.dram_pj_per_byte
            + leak_pj_per_cycle * cycles_lb[i]
        )
        return max(key, float(_score(base.objective, cycles_lb[i], energy_lb)))

    while heap:
        key, n_jobs, pos, stage, i = heapq.heappop(heap)
        if i in probed and stage != _SIMULATED:
            continue
        if stage == _SIMULATED:
            best = next(k for k in scored if k[3] == i)
            break
        if stage == _HARDWARE:  # the dispatch bound, kept across buffer sizes
            dispatch = None
            if shared is not None:
                key_i = keys[i] = _key(pruned, mapping(i), hw, policy, engine)
                dispatch = shared.get(key_i)
            if dispatch is None:
                planned = _plan(pruned, mapping(i), hw, policy, units_of(i))
                if isinstance(planned, str):  # no plan: refused at the next stage
                    plans[i], dispatch = planned, 0
                else:
                    plans[i], dispatch = planned, _dispatch_bound(planned, hw)
                if shared is not None:
                    shared[key_i] = dispatch
            cycles_lb[i] = max(int(space.bound_cycles[i]), dispatch)
            heapq.heappush(heap, (lower(i, key), n_jobs, pos, _DISPATCHED, i))
            continue
        if stage == _DISPATCHED:  # the plan on these buffers, and its memory bound
            kept = plans.pop(i, None)
            if kept is None and shared_plans is not None:
                kept = shared_plans.get(keys[i])
            planned = (
                kept if kept is not None else _plan(pruned, mapping(i), hw, policy, units_of(i))
            )
            if cache is not None and shared_plans is not None:
                cache.keep_plan(keys[i], planned)
            refusal = _refusal(planned, hw)
            if refusal is not None:
                refused.append((i, refusal))
                continue
            assert not isinstance(planned, str)  # for mypy: a str is a refusal
            plans[i] = planned
            memory, extra_bytes[i] = _memory_bound(planned, hw)
            cycles_lb[i] = max(cycles_lb[i], memory)
            heapq.heappush(heap, (lower(i, key), n_jobs, pos, _MEMORY, i))
            continue
        if evaluated == base.budget:
            exhaustive = False
            break
        evaluated += 1
        simulated.append(i)
        planned = plans.pop(i)
        assert not isinstance(planned, str)  # refused at the stage before
        # with the cycles objective, a candidate that runs past the best so far cannot win
        # (equal cycles may, on fewer jobs or position): SimPy stops it there
        cutoff = scored_best[0] if cycles_only and scored_best else None
        outcome, why = _evaluate(
            pruned, mapping(i), hw, policy, engine, energy, cache, cycles_only, planned, cutoff
        )
        if outcome is None:
            if why is None:
                cut.append(i)
            else:
                refused.append((i, why))
            continue
        cycles, energy_pj = outcome
        score = float(_score(base.objective, cycles, energy_pj))
        scored.append((score, n_jobs, pos, i, cycles, energy_pj))
        scored_best = min(scored_best or scored[-1], scored[-1])
        heapq.heappush(heap, (score, n_jobs, pos, _SIMULATED, i))
    if best is None and scored:  # the budget ran out first: the best simulated
        best = min(scored)
    if best is None:
        if not exhaustive:
            raise ConfigError(
                f"layer {name}: none of the {evaluated} mappings the budget "
                f"let the mapper simulate could run ({refused[0][1]}); raise "
                f"[mapping] budget"
            )
        raise ConfigError(
            f"layer {name}: every mapping whose blocks fit the buffers fails "
            f"when planned, e.g. {label(mapping(refused[0][0]))}: "
            f"{refused[0][1]} (the mapper leaves out cuts of more than "
            f"{MAX_LAYER_JOBS:,} jobs on tiles smaller than the map; a fixed [mapping] may "
            f"still fit)"
        )
    chosen = best[3]
    if shared is not None and cache is not None:
        cache.chosen.setdefault(layer_key, {})[hw.output_buffer_bytes] = mapping(chosen)
    # ruled out by a bound: neither simulated nor refused (a refusal may come from a
    # simulation: count each candidate once)
    cannot_win = len(feasible) - len(set(simulated) | {i for i, _ in refused})
    why = _alternatives(base.objective, best, scored, refused, over, order, fits, mapping)
    why.append(
        f"{n:,} candidates: {int((~fits).sum())} do not fit, {len(refused)} cannot run, "
        f"{evaluated} simulated"
        + (f" ({len(cut)} stopped once slower than the best)" if cut else "")
        + (f", {cannot_win} cannot win (bound)" if exhaustive else ", search cut by the budget")
    )
    return LayerChoice(
        name,
        mapping(chosen),
        int(best[4]),
        None if best[5] is None else float(best[5]),
        n,
        evaluated,
        int((~fits).sum()),
        cannot_win if exhaustive else 0,
        exhaustive,
        tuple(why),
        time.perf_counter() - t0,
    )


def _alternatives(objective, best, scored, refused, over, order, fits, mapping) -> list[str]:
    """Why the nearest others lost: the runner-up simulated, the most promising mapping
    that does not fit, and one refused when planned."""
    out = []
    word = {"cycles": "slower", "energy": "more energy", "edp": "higher energy-delay"}[objective]
    others = sorted(k for k in scored if k[3] != best[3])
    if others:
        r = others[0]
        pct = 100 * (r[0] - best[0]) / best[0] if best[0] else 0.0
        out.append(
            f"{label(mapping(r[3]))}: {pct:.1f} % {word}"
            if r[0] > best[0]
            else f"{label(mapping(r[3]))}: as good, more jobs or later in the order"
        )
    misfit = next((i for i in order if not fits[i]), None)
    if misfit is not None:
        parts = [w for w, o in zip(_WHAT, over[misfit]) if o]
        out.append(f"{label(mapping(misfit))}: {' and '.join(parts)} do not fit")
    if refused:
        i, why = refused[0]
        out.append(f"{label(mapping(i))}: cannot run ({why.split(': ', 1)[-1][:80]})")
    return out


def _nothing_fits(name: str, space: _Space, hw: Hardware, n: int) -> ConfigError:
    """No candidate's blocks fit: name the buffer sizes that would fit the one needing the
    fewest extra bytes."""
    half = 2 if hw.double_buffered else 1
    need = space.need * half
    capacity = np.array(
        [hw.weight_buffer_bytes, hw.input_buffer_bytes, hw.output_buffer_bytes], dtype=float
    )
    short = np.maximum(need - capacity, 0).sum(axis=1)
    i = int(np.argmin(short))
    raise_ = [
        f"hardware.{b}_buffer_bytes to {int(need[i, j])}"
        for j, b in enumerate(_BUFFERS)
        if need[i, j] > capacity[j]
    ]
    m = (
        f"{space.tile_h[i]}x{space.tile_w[i]} tiles, {space.fpj[i]} filters per job, "
        f"{space.splits[i]} channel splits"
    )
    note = " (twice its largest block: double buffered)" if half == 2 else ""
    return ConfigError(
        f"layer {name}: none of its {n} candidate mappings fits the buffers; "
        f"the nearest ({m}) needs {' and '.join(raise_)} B{note}: raise "
        f"{'them' if len(raise_) > 1 else 'it'}"
    )


def map_network(
    pruned: PrunedNetwork,
    base: Mapping,
    hw: Hardware,
    policy: Policy,
    engine: str = "auto",
    energy: EnergyTable = EnergyTable(),
    cache: Evaluations | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> MappingPlan:
    """Every layer's best mapping on `hw` (map_layer); `cache` carries evaluations over to
    the next call on the same pruned network (a sweep's next point); `progress(i, n, what)`
    is called before each layer ("mapping NAME"): a large network takes a while."""
    choices = []
    for i, p in enumerate(pruned.layers):
        if progress is not None:
            progress(i, len(pruned.layers), f"mapping {p.layer.name}")
        choices.append(map_layer(p, base, hw, policy, engine, energy, cache))
    return MappingPlan(base.objective, base.budget, tuple(choices))


def fixed_entries(pruned: PrunedNetwork, mapping: Mapping) -> tuple[dict, ...]:
    """The per-layer mapping entries of a run whose scenario fixes the mapping."""
    return tuple(
        {
            "tile_h": mapping.tile_h,
            "tile_w": mapping.tile_w,
            "filters_per_job": mapping.filters_per_job,
            "channel_splits": mapping.channel_splits,
            "chosen_by": "scenario",
            "candidates": 0,
            "evaluated": 0,
            "do_not_fit": 0,
            "cannot_win": 0,
            "exhaustive": True,
            "why": "",
        }
        for _ in pruned.layers
    )


__all__ = [
    "LayerChoice",
    "MappingPlan",
    "candidates",
    "label",
    "map_layer",
    "map_network",
    "tile_choices",
    "unit_choices",
    "MAX_LAYER_JOBS",
]
