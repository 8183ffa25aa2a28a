"""What a policy sees and returns: the `Problem` of one layer, the `Plan`, the protocol.

A policy may simulate candidate plans through `Problem.evaluate`, a callable the engine puts
into the problem (accelsim.engine.assemble): the policies never import the simulator that
runs them.
"""

from __future__ import annotations

from itertools import chain
from typing import Protocol, runtime_checkable

import numpy as np
from attrs import Factory, field, frozen

from accelsim.config import Hardware
from accelsim.errors import PolicyError
from accelsim.policies.rounds import in_rounds, unit_rounds
from accelsim.workload.jobs import Job, LayerJobs


def _of_jobs(attr: str, default):
    """A read-only column of one job attribute (`default(n)` without jobs), built once so
    planning never loops over Job objects again."""

    def build(problem: Problem) -> np.ndarray:
        if problem.layer is not None:
            return problem.layer.column(attr)  # read-only, cached on the layer
        if problem.jobs is None:
            a = default(len(problem.cycles))
        else:
            a = np.fromiter(
                (getattr(job, attr) for job in problem.jobs),
                dtype=np.int64,
                count=len(problem.jobs),
            )
        a.setflags(write=False)
        return a

    return field(init=False, eq=False, repr=False, default=Factory(build, takes_self=True))


@frozen
class Problem:
    """What a policy may see: every job's compute cycles (known offline from nnz), the jobs
    themselves (their tile, unit and blocks) and the number of PEs."""

    cycles: np.ndarray = field(converter=lambda a: np.asarray(a, dtype=np.int64))
    n_pes: int
    _jobs: tuple[Job, ...] | None = field(default=None, alias="jobs")
    layer: LayerJobs | None = field(default=None, kw_only=True, eq=False, repr=False)
    hw: Hardware | None = field(default=None, kw_only=True, eq=False, repr=False)
    # the simulator on `layer` and `hw`: a plan's cycles (None: durations only)
    evaluate: Evaluator | None = field(default=None, kw_only=True, eq=False, repr=False)
    units: np.ndarray = _of_jobs("unit", lambda n: np.arange(n, dtype=np.int64))
    tiles: np.ndarray = _of_jobs("tile", lambda n: np.zeros(n, dtype=np.int64))
    inputs: np.ndarray = _of_jobs("input_block", lambda n: np.zeros(n, dtype=np.int64))

    @classmethod
    def from_layer(
        cls,
        layer: LayerJobs,
        n_pes: int,
        hw: Hardware | None = None,
        evaluate: Evaluator | None = None,
    ) -> Problem:
        """The layer's jobs, on `hw` when given; with `evaluate`, a policy may also simulate
        plans on that hardware."""
        return cls(layer.cycles, n_pes, layer=layer, hw=hw, evaluate=evaluate)

    @property
    def has_jobs(self) -> bool:
        """Whether jobs (tiles, units, blocks) stand behind the durations."""
        return self._jobs is not None or self.layer is not None

    @property
    def jobs(self) -> tuple[Job, ...] | None:
        return self.layer.jobs if self._jobs is None and self.layer is not None else self._jobs

    @property
    def n_jobs(self) -> int:
        return len(self.cycles)

    def tile(self, j: int) -> int:
        return int(self.tiles[j])

    def unit(self, j: int) -> int:
        return int(self.units[j])

    def unit_loads(self) -> tuple[np.ndarray, np.ndarray]:
        """(unit of each job, total cycles of each unit). A unit is a filter group (and channel
        chunk) over every tile; without jobs, each job is its own unit."""
        if not self.has_jobs:
            return self.units, self.cycles.copy()
        loads = np.bincount(
            self.units, weights=self.cycles, minlength=self.units.max(initial=-1) + 1
        )
        return self.units, loads.astype(np.int64)


@frozen
class Plan:
    """Static: `queues[p]` is PE p's job order. Dynamic: `order` is the central queue, or,
    with `steal`, `queues` are where the PEs start and idle PEs steal at run time."""

    queues: tuple[tuple[int, ...], ...] | None = None
    order: tuple[int, ...] | None = None
    steal: bool = False
    info: dict = field(factory=dict, eq=False)  # e.g. the exact solver's proof

    @property
    def dynamic(self) -> bool:
        return self.queues is None or self.steal

    @classmethod
    def static(cls, queues) -> Plan:
        return cls(queues=tuple(tuple(int(j) for j in q) for q in queues))

    @classmethod
    def central(cls, order) -> Plan:
        return cls(order=tuple(int(j) for j in order))

    @classmethod
    def from_assignment(cls, problem: Problem, pe_of_job, rank=None, walk: str = "tiles") -> Plan:
        """Per-PE queues from an assignment. Walking `tiles` (the default): by tile (input
        locality), then input block (conv group and channel chunk), then `rank` (the
        policy's own order; job index when omitted). The dispatcher broadcasts input blocks
        in order and never reorders a PE's jobs, so a queue that went back to an earlier
        block would leave its PE waiting until every other PE had finished that block: under
        lock-step, pruned AlexNet's grouped convolutions ran 2.4-3.8x their plans that way.
        Walking `units`: by `rank`, then tile, so a PE runs one unit over all its tiles
        before the next and keeps its weights, while the input tiles are broadcast again
        for each round of units (on pruned ResNet-18's multi-tile layers 1 % faster, on a
        downsample layer 7 % slower: a plan's choice, see hardware-aware)."""
        pe = np.asarray(pe_of_job, dtype=np.int64)
        rank = np.arange(problem.n_jobs) if rank is None else np.asarray(rank, dtype=np.int64)
        if walk == "tiles":
            keys = (rank, problem.inputs, problem.tiles, pe)
        elif walk == "units":
            keys = (problem.inputs, problem.tiles, rank, pe)
        else:
            raise ValueError(f"walk must be 'tiles' or 'units', not {walk!r}")
        jobs = np.lexsort(keys).tolist()  # ties: job index
        ends = np.cumsum(np.bincount(pe, minlength=problem.n_pes)).tolist()
        return cls(queues=tuple(tuple(jobs[a:b]) for a, b in zip([0, *ends], ends)))

    @classmethod
    def from_unit_assignment(
        cls, problem: Problem, pe_of_unit, rank_of_unit=None, walk: str = "tiles"
    ) -> Plan:
        """Every job on its unit's PE, so a filter group's weights stay on one PE while the
        tiles stream by; each PE runs its units in `rank_of_unit` order, tile by tile or
        unit by unit (`walk`, see from_assignment)."""
        units = problem.units
        rank = None if rank_of_unit is None else np.asarray(rank_of_unit)[units]
        return cls.from_assignment(problem, np.asarray(pe_of_unit)[units], rank, walk)

    @classmethod
    def stealing(cls, queues) -> Plan:
        return cls(queues=cls.static(queues).queues, steal=True)

    def planned_makespan(self, cycles: np.ndarray) -> int | None:
        """The largest sum of job cycles over the PEs (static plans only)."""
        if self.dynamic:
            return None
        queues = self.queues
        assert queues is not None  # not dynamic: a static plan, which has queues
        flat = np.fromiter(chain.from_iterable(queues), dtype=np.int64)
        pe = np.repeat(np.arange(len(queues)), [len(q) for q in queues])
        loads = np.zeros(max(len(queues), 1), dtype=np.int64)  # exact: no float sums
        np.add.at(loads, pe, np.asarray(cycles, dtype=np.int64)[flat])
        return int(loads.max())

    def check(self, n_jobs: int, n_pes: int, policy: str) -> None:
        """Every job exactly once, on an existing PE; raises PolicyError naming the policy."""
        if self.queues is not None:
            if len(self.queues) != n_pes:
                raise PolicyError(
                    f"policy {policy!r} planned {len(self.queues)} PE queues for {n_pes} PEs"
                )
            flat = np.fromiter(chain.from_iterable(self.queues), dtype=np.int64)
        elif self.order is not None:
            flat = np.fromiter(self.order, dtype=np.int64)
        else:
            raise PolicyError(f"policy {policy!r} returned a Plan with neither queues nor order")
        if len(flat) and (flat.min() < 0 or flat.max() >= n_jobs):
            raise PolicyError(f"policy {policy!r} names job indices outside [0, {n_jobs})")
        counts = np.bincount(flat, minlength=n_jobs)
        if len(counts) != n_jobs or not (counts == 1).all():
            missing = np.flatnonzero(counts == 0)[:5].tolist()
            twice = np.flatnonzero(counts > 1)[:5].tolist()
            raise PolicyError(
                f"policy {policy!r} must place every job exactly once: "
                f"missing {missing}, repeated {twice} (first five)"
            )


def by_size(loads: np.ndarray) -> np.ndarray:
    """Rank of each item in decreasing size (ties by index): within a tile, longest first."""
    rank = np.empty(len(loads), dtype=np.int64)
    rank[np.argsort(-np.asarray(loads), kind="stable")] = np.arange(len(loads))
    return rank


def plan_units(problem: Problem, assign, assign_in_rounds=None) -> Plan:
    """The plan of a partitioning heuristic `assign(unit loads, n_pes) -> PE of each unit`:
    every tile of a unit on its PE, each PE running its units longest first within a tile.
    On a layer with its hardware, `assign_in_rounds(rounds, n_pes)` places the units inside
    the broadcast rounds instead (accelsim.policies.rounds), each PE running them in round
    order."""
    if assign_in_rounds is not None and in_rounds(problem):
        r = unit_rounds(problem)
        return Plan.from_unit_assignment(problem, assign_in_rounds(r, problem.n_pes), r.rank)
    _, loads = problem.unit_loads()
    return Plan.from_unit_assignment(problem, assign(loads, problem.n_pes), by_size(loads))


class Evaluator(Protocol):
    """The simulator as a policy sees it: the cycles of a plan of the problem's layer on its
    hardware. `simpy_runs` counts the evaluations that needed the event-driven engine (the
    costly ones), so a search can size its budget. With `cutoff`, a plan that takes at
    least `cutoff` cycles may be scored by a lower bound of at least `cutoff` instead (what
    a search that keeps only plans faster than `cutoff` needs: the same choice, unsimulated
    losers)."""

    simpy_runs: int

    def __call__(self, plan: Plan, cutoff: int | None = None) -> int: ...


@runtime_checkable
class Policy(Protocol):
    name: str

    def plan(self, problem: Problem) -> Plan:
        """One ordered job list per PE, or a central order; every job exactly once."""


def mapping_policy(policy: Policy) -> Policy:
    """The policy the mapper plans a layer's candidate mappings with, to rank them: the
    policy's own `mapping_policy()` where it has one (a search that is too costly to run on
    every candidate names a cheaper one whose plans it starts from), else the policy itself.
    The chosen mappings are then planned with `policy`."""
    cheaper = getattr(policy, "mapping_policy", None)
    return policy if cheaper is None else cheaper()


def plan_layer(policy: Policy, problem: Problem) -> Plan:
    """Run a policy and check its plan, turning a broken plan into a PolicyError."""
    try:
        plan = policy.plan(problem)
    except PolicyError:
        raise
    except Exception as exc:
        raise PolicyError(f"policy {policy.name!r} failed: {type(exc).__name__}: {exc}") from exc
    if not isinstance(plan, Plan):
        raise PolicyError(f"policy {policy.name!r} returned {type(plan).__name__}, not a Plan")
    plan.check(problem.n_jobs, problem.n_pes, policy.name)
    return plan
