"""Traces recorded cheaply in typed columns (array.array) and turned into numpy arrays once.

- PE states: each component calls `enter(pe, state, now)` when a PE changes state; intervals
  follow from consecutive records, so one PE's intervals never overlap and cover [0, end].
- Buffer occupancy: (buffer, time, bytes held) on every change.
- DRAM transfers: one row per transfer with its operand and cause.

Each collector also takes whole columns at once (`extend`), for an engine that computes a
layer's records in bulk. A column costs its item size per record (8 B for a time), where a
list of ints costs a pointer and often an int object.
"""

from __future__ import annotations

import enum
from array import array

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


BUFFER_NAMES = ("weight", "input", "output")  # LevelTrace buffer codes 0, 1, 2


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


def _column(values: array) -> np.ndarray:
    """A read-only numpy view of a typed column (no copy: the column is done growing)."""
    a = np.frombuffer(values, dtype=values.typecode)
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
        return StateIntervals(
            self.pe[keep],
            np.maximum(self.start[keep], t0),
            np.minimum(self.end[keep], t1),
            self.state[keep],
            self.held_by[keep],
        )


def state_key(state, held_by):
    """(state, held_by) packed in one int: the state in the low 3 bits, held_by + 1 above."""
    return state | (held_by + 1) << 3


class StateTrace:
    """Records PE state changes; `close(end)` turns them into StateIntervals.

    Each PE keeps its own columns (time, packed state): its records are in time order, so
    closing needs no sort, and no PE column is stored. Records appended in bulk (`extend`,
    a closed-form layer) stay as they came, sorted by PE, with the length of every PE's
    columns at that point: closing splices them in, so a layer costs no copy per PE."""

    def __init__(self, n_pes: int):
        self.n_pes = n_pes
        self._t = [array("q") for _ in range(n_pes)]
        self._key = [array("i") for _ in range(n_pes)]
        self._current = [-1] * n_pes  # the key of each PE's last record; -1: none yet
        self.current_keys = self._current
        self._bind_appends()
        # per bulk: (each PE's column length before it, t and key sorted by PE, PE bounds)
        self._bulk: list[tuple[list[int], np.ndarray, np.ndarray, list[int]]] = []

    def _bind_appends(self) -> None:
        """Each PE's time and key appends, bound once per trace (binding them per layer and
        PE cost 43,008 pairs on ResNet-18 at 1,024 PEs), for callers that write `enter` out
        in place (with `current_keys`): PE.serve, DispatchStatus.starve and set_stage, which
        run per job. Holders must not outlive the layer: `close` frees each PE's records."""
        self.t_appends: list = [column.append for column in self._t]
        self.key_appends: list = [column.append for column in self._key]

    def enter(self, pe: int, state: State, now: int, held_by: int = -1) -> None:
        """Record that `pe` is in `state` from `now`, unless it already is (the same test is
        written out in the callers `appends` names)."""
        key = state | (held_by + 1) << 3
        if self._current[pe] != key:
            self._current[pe] = key
            self._t[pe].append(now)
            self._key[pe].append(key)

    def extend(self, pe: np.ndarray, t: np.ndarray, state: np.ndarray, held_by: np.ndarray) -> None:
        """Append records in bulk, after those already entered; each PE's records in time
        order. Each PE's current state becomes its last record's."""
        pe = np.asarray(pe, dtype=np.int64)
        if not len(pe):
            return
        key = state_key(np.asarray(state, dtype=np.int32), np.asarray(held_by, dtype=np.int32))
        t = np.asarray(t, dtype=np.int64)
        if (pe[1:] < pe[:-1]).any():
            order = np.argsort(pe, kind="stable")
            pe, t, key = pe[order], t[order], key[order]
        bounds = np.searchsorted(pe, np.arange(self.n_pes + 1))
        self._bulk.append(([len(column) for column in self._t], t, key, bounds.tolist()))
        present = np.flatnonzero(np.diff(bounds))
        for p, k in zip(present.tolist(), key[bounds[present + 1] - 1].tolist()):
            self._current[p] = k

    def current(self, pe: int) -> tuple[int, int] | None:
        key = self._current[pe]
        return None if key < 0 else (key & 7, (key >> 3) - 1)

    def close(self, end: int) -> StateIntervals:
        """Each record lasts until the next one of its PE (the last until `end`); records
        overtaken at the same cycle are dropped and equal neighbours merged.

        This is a run's memory peak, so a trace closes once: each PE's records are freed as
        soon as they are intervals, and the columns are joined one at a time."""
        if self._t is None:
            raise RuntimeError("StateTrace.close: the trace is closed already")
        pieces = [self._intervals(p, end) for p in range(self.n_pes)]
        self._t = self._key = self._bulk = None
        counts = [len(piece[0]) for piece in pieces]
        start, stop, key = (
            _join(pieces, i, dtype) for i, dtype in enumerate((np.int64, np.int64, np.int32))
        )
        state = (key & 7).astype(np.int8)
        held = key >> 3
        held -= 1
        del key
        pe = np.repeat(np.arange(self.n_pes, dtype=np.int32), counts)
        return StateIntervals(
            _readonly(pe, np.int32),
            _readonly(start, np.int64),
            _readonly(stop, np.int64),
            _readonly(state, np.int8),
            _readonly(held, np.int32),
        )

    def _intervals(self, p: int, end: int) -> list[np.ndarray]:
        """PE p's intervals as [start, end, key]; its records are freed."""
        t = np.frombuffer(self._t[p], dtype=np.int64)
        key = np.frombuffer(self._key[p], dtype=np.int32)
        if self._bulk:  # splice each bulk's records in where they came
            ts, keys, at = [], [], 0
            for lengths, bt, bk, bounds in self._bulk:
                ts += [t[at : lengths[p]], bt[bounds[p] : bounds[p + 1]]]
                keys += [key[at : lengths[p]], bk[bounds[p] : bounds[p + 1]]]
                at = lengths[p]
            t, key = np.concatenate(ts + [t[at:]]), np.concatenate(keys + [key[at:]])
        nxt = np.empty_like(t)
        nxt[:-1] = t[1:]
        nxt[-1:] = end
        keep = nxt > t
        t, nxt, key = t[keep], nxt[keep], key[keep]  # copies: the records can go
        self._t[p] = self._key[p] = self.t_appends[p] = self.key_appends[p] = None
        first = np.ones(len(t), dtype=bool)  # first and last of each run of equals
        first[1:] = key[1:] != key[:-1]
        last = np.ones(len(t), dtype=bool)
        last[:-1] = first[1:]
        return [t[first], nxt[last], key[first]]


def _join(pieces: list[list[np.ndarray]], i: int, dtype) -> np.ndarray:
    """Column i of every piece, joined; the parts are dropped from the pieces."""
    parts = [piece[i] for piece in pieces]
    for piece in pieces:
        piece[i] = None
    return np.concatenate(parts) if parts else np.zeros(0, dtype)


class _Rows:
    """Typed columns that grow a row at a time (`record`, from the SimPy model) or by many
    rows (`extend`, a closed-form layer): bulk rows are kept as given and joined once in
    `to_arrays`, not copied into the typed columns."""

    ATTRS: tuple[str, ...]  # the typed columns, as attributes
    NAMES: tuple[str, ...]  # their names in to_arrays
    TYPES: str  # their array typecodes

    def __init__(self):
        self._parts: list[tuple[np.ndarray, ...]] = []  # rows before the open columns
        self._open()

    def _open(self) -> None:
        for attr, code in zip(self.ATTRS, self.TYPES):
            setattr(self, attr, array(code))
        # the columns' appends, bound once: `record` runs per event, and the SimPy model's
        # per-job callers write `record` out with them. `extend` rebinds them: read them
        # anew after anything that may extend (a closed-form layer), never across layers
        self.appends = tuple(getattr(self, attr).append for attr in self.ATTRS)

    def _open_part(self) -> tuple[np.ndarray, ...]:
        return tuple(_column(getattr(self, attr)) for attr in self.ATTRS)

    def extend(self, *columns: np.ndarray) -> None:
        """Append rows in bulk, after those already recorded."""
        if len(getattr(self, self.ATTRS[0])):
            self._parts.append(self._open_part())
            self._open()
        self._parts.append(tuple(np.asarray(c, dtype=code) for c, code in zip(columns, self.TYPES)))

    def to_arrays(self) -> dict[str, np.ndarray]:
        parts = [*self._parts, self._open_part()]
        out = {}
        for i, name in enumerate(self.NAMES):
            column = parts[0][i] if len(parts) == 1 else np.concatenate([part[i] for part in parts])
            column.setflags(write=False)
            out[name] = column
        return out


class LevelTrace(_Rows):
    """Buffer occupancy in bytes over time, one row per change."""

    ATTRS = NAMES = ("buffer", "t", "level")
    TYPES = "bqq"

    def record(self, buffer: int, now: int, level: int) -> None:
        a_buffer, a_t, a_level = self.appends
        a_buffer(buffer)
        a_t(now)
        a_level(level)


class TransferLog(_Rows):
    """DRAM transfers: [start, end) on the port, bytes, operand, cause, layer."""

    ATTRS = ("start", "end", "nbytes", "operand", "cause", "layer")
    NAMES = ("start", "end", "bytes", "operand", "cause", "layer")
    TYPES = "qqqbbi"
    start: array  # the open columns that `retime` changes
    end: array

    def next_row(self) -> int:
        """The index `record` gives the next row, for `retime`."""
        return len(self.start)

    def retime(self, row: int, start: int, end: int) -> None:
        """Move a recorded row (a load a write drain passed) in time."""
        self.start[row] = start
        self.end[row] = end

    def record(self, start, end, nbytes, operand, cause, layer) -> None:
        a_start, a_end, a_nbytes, a_operand, a_cause, a_layer = self.appends
        a_start(start)
        a_end(end)
        a_nbytes(nbytes)
        a_operand(operand)
        a_cause(cause)
        a_layer(layer)
