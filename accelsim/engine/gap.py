"""Where a layer's cycles go beyond its compute bound, in parts that add up exactly.

The PE with the most work (the most busy cycles; the lowest index on ties) would be busy
from the first cycle to the last on ideal hardware with a perfect plan. So

    cycles - compute bound = (its busy cycles - compute bound)       plan imbalance
                           + its cycles in each other state           what the hardware cost

and every part is a whole number of cycles, never negative (no PE's work can be below the
compute bound: it bounds the most loaded PE of every plan):

- plan imbalance: its work beyond the bound (the policy's part),
- lock-step waiting: waiting for a broadcast that another PE's full queue holds back,
- memory stalls: waiting for weights or inputs from DRAM,
- operand delivery: waiting for the interconnect to deliver its operands,
- output stalls: waiting for output-buffer space,
- drain and idle: no job, while other PEs finish or outputs are written back.
"""

from __future__ import annotations

import numpy as np
from attrs import frozen

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
    "memory stalls": "its most loaded PE waits for weights or inputs from DRAM",
    "operand delivery": "its most loaded PE waits while the interconnect delivers operands",
    "output stalls": "its most loaded PE waits for output-buffer space",
    "drain and idle": "its most loaded PE has no job while others finish or outputs drain",
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
            text += (
                f"; {hardware[top] / max(self.cycles, 1):.0%} of the cycles go to {top}: "
                f"{_WHY[top]}"
            )
        return text

    def __add__(self, other: Gap) -> Gap:
        return Gap(
            self.cycles + other.cycles,
            self.compute_bound + other.compute_bound,
            -1,
            {k: self.parts[k] + other.parts[k] for k in PARTS},
        )


def layer_gap(states: StateIntervals, n_pes: int, start: int, end: int, compute_bound: int) -> Gap:
    """The decomposition of one layer run over [start, end)."""
    w = states.window(start, end)
    length = w.end - w.start
    by_state = np.zeros((n_pes, len(State)), dtype=np.int64)
    np.add.at(by_state, (w.pe, w.state), length)
    held = np.zeros(n_pes, dtype=np.int64)
    mask = (w.state == State.WAIT_INPUTS) & (w.held_by >= 0)
    np.add.at(held, w.pe[mask], length[mask])
    c = int(np.argmax(by_state[:, State.BUSY]))
    row = by_state[c]
    parts = {
        "plan imbalance": int(row[State.BUSY]) - compute_bound,
        "lock-step waiting": int(held[c]),
        "memory stalls": int(row[State.WAIT_WEIGHTS] + row[State.WAIT_INPUTS] - held[c]),
        "operand delivery": int(row[State.WAIT_NOC]),
        "output stalls": int(row[State.WAIT_OUTPUT]),
        "drain and idle": int(row[State.IDLE]),
    }
    return Gap(end - start, compute_bound, c, parts)
