"""Where a layer's cycles go beyond its compute bound, in parts that add up exactly.

The PE with the most work (the most busy cycles; the lowest index on ties) would be busy
from the first cycle to the last on ideal hardware with a perfect plan. So

    cycles - compute bound = (its busy cycles - compute bound)       plan imbalance
                           + its cycles in each other state           what the hardware cost

and every part is a whole number of cycles, never negative (no PE's work can be below the
compute bound: it bounds the most loaded PE of every plan):

- plan imbalance: its work beyond the bound (the policy's part),
- lock-step waiting: waiting for a broadcast that another PE's full queue holds back,
- memory stalls: waiting for weights or inputs from DRAM, and any other cycle without work
  (waiting for output space, or no job) while a DRAM transfer is in flight,
- operand delivery: waiting for the interconnect to deliver its operands,
- output stalls: waiting for output-buffer space with no DRAM transfer in flight,
- drain and idle: no job, while other PEs finish, with no DRAM transfer in flight.

Then the binding hardware bound has the last word: no plan on this hardware (in this order,
for memory) ends before it, so at least `bound - compute bound` of the gap is that
resource's (memory stalls for memory; operand delivery for the interconnect and lock-step
bounds). When its part is smaller, cycles move into it from plan imbalance (work the
binding resource's time overlaps), then from the other parts in order. So every other part
is at most `cycles - bound`, and when the layer is closer to its bound than the bound is to
the compute bound, the binding resource's part is the largest.
"""

from __future__ import annotations

import numpy as np
from attrs import frozen

from accelsim.engine.hardware_bounds import HardwareBounds
from accelsim.trace import State, StateIntervals

PARTS = (
    "plan imbalance",
    "lock-step waiting",
    "memory stalls",
    "operand delivery",
    "output stalls",
    "drain and idle",
)
_WHY = {
    "plan imbalance": "the plan gives its most loaded PE more work than the bound",
    "lock-step waiting": "its most loaded PE waits for broadcasts held back by a slower PE "
    "(rounds that pair long and short jobs)",
    "memory stalls": "its most loaded PE waits for weights or inputs from DRAM, or has no "
    "work while DRAM transfers are in flight",
    "operand delivery": "its most loaded PE waits while the interconnect delivers operands",
    "output stalls": "its most loaded PE waits for output-buffer space with no DRAM "
    "transfer in flight",
    "drain and idle": "its most loaded PE has no job while others finish",
}
# the part that takes the binding bound's excess over the compute bound
BINDING_PART = {
    "memory": "memory stalls",
    "interconnect": "operand delivery",
    "lock-step": "operand delivery",
}


@frozen
class Gap:
    cycles: int
    compute_bound: int
    critical_pe: int
    parts: dict[str, int]  # sums to cycles - compute_bound

    def sentence(self, policy: str) -> str:
        """The gap in one sentence: the plan's share, then the largest hardware part."""
        bound = max(self.compute_bound, 1)
        text = (
            f"{policy}: {self.cycles / bound:.3f}x the compute bound; plan imbalance "
            f"{self.parts['plan imbalance'] / max(self.cycles, 1):.1%} of the cycles"
        )
        hardware = {k: v for k, v in self.parts.items() if k != "plan imbalance" and v}
        if hardware:
            top = max(hardware, key=hardware.__getitem__)
            rest = sum(hardware.values()) - hardware[top]
            text += (
                f"; {hardware[top] / max(self.cycles, 1):.0%} of the cycles go to {top}, the "
                f"largest part: {_WHY[top]}"
                + (f" (the other parts: {rest / max(self.cycles, 1):.1%})" if rest else "")
            )
        return text

    def __add__(self, other: Gap) -> Gap:
        return Gap(
            self.cycles + other.cycles,
            self.compute_bound + other.compute_bound,
            -1,
            {k: self.parts[k] + other.parts[k] for k in PARTS},
        )


def dram_in_flight(
    transfers: dict[str, np.ndarray], layer: int, latency_cycles: int
) -> tuple[np.ndarray, np.ndarray]:
    """When some DRAM transfer of `layer` is in flight, as disjoint sorted [start, end).

    A transfer is issued at least `latency_cycles` before it starts crossing the port (the
    log has its port time only), so it is in flight at least over [start - latency, end)."""
    mine = transfers["layer"] == layer
    lo = transfers["start"][mine].astype(np.int64) - latency_cycles
    hi = transfers["end"][mine].astype(np.int64)
    if not len(lo):
        return lo, hi
    order = np.argsort(lo, kind="stable")
    lo, hi = lo[order], np.maximum.accumulate(hi[order])
    first = np.ones(len(lo), dtype=bool)
    first[1:] = lo[1:] > hi[:-1]
    last = np.append(first[1:], True)
    return lo[first], hi[last]


def _covered(lo: np.ndarray, hi: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Cycles of the disjoint sorted intervals [lo, hi) before each x."""
    if not len(lo):
        return np.zeros(len(x), dtype=np.int64)
    before = np.concatenate(([0], np.cumsum(hi - lo)))
    k = np.searchsorted(lo, x, side="right")  # intervals that start at or before x
    overshoot = np.where(k > 0, np.maximum(hi[np.maximum(k - 1, 0)] - x, 0), 0)
    return before[k] - overshoot


def layer_gap(
    states: StateIntervals,
    n_pes: int,
    start: int,
    end: int,
    compute_bound: int,
    in_flight: tuple[np.ndarray, np.ndarray] | None = None,
    bounds: HardwareBounds | None = None,
) -> Gap:
    """The decomposition of one layer run over [start, end); `in_flight` (dram_in_flight)
    and the layer's hardware `bounds` refine it as the module says (None: left out)."""
    w = states.window(start, end)
    length = w.end - w.start
    by_state = np.zeros((n_pes, len(State)), dtype=np.int64)
    np.add.at(by_state, (w.pe, w.state), length)
    held = np.zeros(n_pes, dtype=np.int64)
    mask = (w.state == State.WAIT_INPUTS) & (w.held_by >= 0)
    np.add.at(held, w.pe[mask], length[mask])
    c = int(np.argmax(by_state[:, State.BUSY]))
    row = by_state[c]
    # the critical PE's output waits and idle cycles while DRAM transfers are in flight
    dram = np.zeros(len(State), dtype=np.int64)
    if in_flight is not None:
        mine = (w.pe == c) & ((w.state == State.WAIT_OUTPUT) | (w.state == State.IDLE))
        lo, hi = in_flight
        overlap = _covered(lo, hi, w.end[mine]) - _covered(lo, hi, w.start[mine])
        np.add.at(dram, w.state[mine], overlap)
    parts = {
        "plan imbalance": int(row[State.BUSY]) - compute_bound,
        "lock-step waiting": int(held[c]),
        "memory stalls": int(
            row[State.WAIT_WEIGHTS]
            + row[State.WAIT_INPUTS]
            - held[c]
            + dram[State.WAIT_OUTPUT]
            + dram[State.IDLE]
        ),
        "operand delivery": int(row[State.WAIT_NOC]),
        "output stalls": int(row[State.WAIT_OUTPUT] - dram[State.WAIT_OUTPUT]),
        "drain and idle": int(row[State.IDLE] - dram[State.IDLE]),
    }
    if bounds is not None and bounds.binding in BINDING_PART:
        _give_binding(
            parts, BINDING_PART[bounds.binding], min(bounds.best, end - start) - compute_bound
        )
    return Gap(end - start, compute_bound, c, parts)


def _give_binding(parts: dict[str, int], target: str, floor: int) -> None:
    """Raise parts[target] to `floor`, taking from plan imbalance, then the other parts in
    order: the sum and every part's sign are kept."""
    for donor in PARTS:
        short = floor - parts[target]
        if short <= 0:
            return
        if donor != target:
            take = min(short, parts[donor])
            parts[donor] -= take
            parts[target] += take


def result_gap(result, run) -> Gap:
    """The gap of one layer run (`run`, an accelsim.engine.assemble.LayerRun) of `result` (its
    SimResult), with the DRAM transfers in flight and the layer's hardware bounds."""
    hw = result.hw
    return layer_gap(
        result.states,
        hw.n_pes,
        run.start,
        run.end,
        run.lower_bound,
        dram_in_flight(result.transfers, run.index, hw.dram_latency_cycles),
        run.hardware,
    )
