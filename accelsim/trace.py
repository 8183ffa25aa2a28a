"""Traces recorded cheaply in columns and turned into numpy arrays once.

- PE states: each component calls `enter(pe, state, now)` when a PE changes state; intervals
  follow from consecutive records, so one PE's intervals never overlap and cover [0, end].
- Buffer occupancy: (buffer, time, bytes held) on every change.
- DRAM transfers: one row per transfer with its operand and cause.
"""

from __future__ import annotations

import enum

import numpy as np
from attrs import frozen


class State(enum.IntEnum):
    BUSY = 0
    WAIT_WEIGHTS = 1
    WAIT_INPUTS = 2
    WAIT_NOC = 3
    WAIT_OUTPUT = 4
    IDLE = 5

    @property
    def label(self) -> str:
        return self.name.lower()


class Operand(enum.IntEnum):
    WEIGHTS = 0
    INPUTS = 1
    OUTPUTS = 2


class Cause(enum.IntEnum):
    """Why DRAM bytes moved. Compulsory: each weight, input and output once. Halo: input rows
    and columns that overlapping tiles read again. Refetch: a block evicted and loaded again.
    Split: input channels read again in another chunk shape (auto split mixes shapes).
    Spill: partial sums written out to make room in the output buffer, and read back."""

    COMPULSORY = 0
    HALO = 1
    REFETCH = 2
    SPLIT = 3
    SPILL = 4


def _readonly(a, dtype) -> np.ndarray:
    a = np.asarray(a, dtype=dtype)
    a.setflags(write=False)
    return a


@frozen
class StateIntervals:
    """Per-PE state intervals, sorted by (pe, start). `held_by` names the PE whose full input
    queue held a broadcast back (-1 when no PE is to blame)."""

    pe: np.ndarray
    start: np.ndarray
    end: np.ndarray
    state: np.ndarray
    held_by: np.ndarray

    def cycles_by_state(self, n_pes: int) -> np.ndarray:
        """(n_pes, n_states) cycles spent in each state."""
        out = np.zeros((n_pes, len(State)), dtype=np.int64)
        np.add.at(out, (self.pe, self.state), self.end - self.start)
        return out

    def window(self, t0: int, t1: int) -> StateIntervals:
        """The intervals clipped to [t0, t1)."""
        keep = (self.end > t0) & (self.start < t1)
        return StateIntervals(self.pe[keep], np.maximum(self.start[keep], t0),
                              np.minimum(self.end[keep], t1), self.state[keep],
                              self.held_by[keep])


class StateTrace:
    """Records PE state changes; `close(end)` turns them into StateIntervals."""

    def __init__(self, n_pes: int):
        self.n_pes = n_pes
        self._pe: list[int] = []
        self._t: list[int] = []
        self._state: list[int] = []
        self._held: list[int] = []
        self._current: list[tuple[int, int] | None] = [None] * n_pes

    def enter(self, pe: int, state: State, now: int, held_by: int = -1) -> None:
        key = (state, held_by)
        if self._current[pe] == key:
            return
        self._current[pe] = key
        self._pe.append(pe)
        self._t.append(now)
        self._state.append(state)
        self._held.append(held_by)

    def current(self, pe: int) -> tuple[int, int] | None:
        return self._current[pe]

    def close(self, end: int) -> StateIntervals:
        pe = np.asarray(self._pe, dtype=np.int32)
        t = np.asarray(self._t, dtype=np.int64)
        state = np.asarray(self._state, dtype=np.int8)
        held = np.asarray(self._held, dtype=np.int32)
        order = np.argsort(pe, kind="stable")  # records are already in time order
        pe, t, state, held = pe[order], t[order], state[order], held[order]
        nxt = np.empty_like(t)
        nxt[:-1] = t[1:]
        last = np.ones(len(pe), dtype=bool)
        last[:-1] = pe[1:] != pe[:-1]
        nxt[last] = end
        keep = nxt > t
        pe, t, nxt, state, held = pe[keep], t[keep], nxt[keep], state[keep], held[keep]
        if not len(pe):
            return StateIntervals(*(_readonly([], d) for d in (np.int32, np.int64, np.int64,
                                                                np.int8, np.int32)))
        # merge neighbours left equal by dropping zero-length intervals
        same = np.zeros(len(pe), dtype=bool)
        same[1:] = (pe[1:] == pe[:-1]) & (state[1:] == state[:-1]) & (held[1:] == held[:-1])
        run_start = np.flatnonzero(~same)
        run_end = np.append(run_start[1:], len(pe)).astype(np.int64) - 1
        return StateIntervals(_readonly(pe[run_start], np.int32), _readonly(t[run_start], np.int64),
                              _readonly(nxt[run_end], np.int64),
                              _readonly(state[run_start], np.int8),
                              _readonly(held[run_start], np.int32))


class LevelTrace:
    """Buffer occupancy in bytes over time, one row per change."""

    def __init__(self):
        self.buffer: list[int] = []
        self.t: list[int] = []
        self.level: list[int] = []

    def record(self, buffer: int, now: int, level: int) -> None:
        self.buffer.append(buffer)
        self.t.append(now)
        self.level.append(level)

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"buffer": _readonly(self.buffer, np.int8), "t": _readonly(self.t, np.int64),
                "level": _readonly(self.level, np.int64)}


class TransferLog:
    """DRAM transfers: [start, end) on the port, bytes, operand, cause, layer."""

    def __init__(self):
        self.start: list[int] = []
        self.end: list[int] = []
        self.nbytes: list[int] = []
        self.operand: list[int] = []
        self.cause: list[int] = []
        self.layer: list[int] = []

    def record(self, start, end, nbytes, operand, cause, layer) -> None:
        self.start.append(start)
        self.end.append(end)
        self.nbytes.append(nbytes)
        self.operand.append(operand)
        self.cause.append(cause)
        self.layer.append(layer)

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"start": _readonly(self.start, np.int64), "end": _readonly(self.end, np.int64),
                "bytes": _readonly(self.nbytes, np.int64),
                "operand": _readonly(self.operand, np.int8),
                "cause": _readonly(self.cause, np.int8), "layer": _readonly(self.layer, np.int32)}
