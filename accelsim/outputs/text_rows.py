"""Text of many rows at once, formatted by numpy rather than by a Python f-string per row.

A trace file is hundreds of thousands of rows of the same shape (a Perfetto slice: constant
text, a time, a duration, a name from a short list), and formatting them row by row in
Python cost more than simulating them. Here a row is a sequence of parts, each one of:

- `bytes`: the same text in every row;
- a `Pick`: one entry of a short `Table` per row (a state's name, a float written once);
- a non-negative integer array: one decimal number per row, as `str(int)` writes it.

Every row is laid out in one fixed-width uint8 matrix, each part in its own columns, with the
bytes a row does not use left 0; squeezing the zeros out leaves every row's text, in order.
This needs text without NUL bytes, which JSON never holds (json.dumps writes it as \\u0000),
so a table or constant with one is refused. Callers format a file's rows a slice at a time,
so that the matrix stays small: memory is the slice's, not the file's.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import numpy as np


class Table:
    """Entries a row picks by index, each kept zero-padded to the longest as one numpy void
    item: a pick is then one copy per row, not one per byte."""

    def __init__(self, entries: Sequence[bytes]):
        if any(b"\0" in e for e in entries):
            raise ValueError("Table: an entry holds a NUL byte, which format_rows would drop")
        self.width = max((len(e) for e in entries), default=0)
        # numpy pads fixed-width bytes with zeros
        self.items = np.array(entries, dtype=f"S{max(self.width, 1)}").view(
            f"V{max(self.width, 1)}"
        )


class Pick:
    """Per row, the entry `index[row]` of `table`."""

    def __init__(self, table: Table, index: np.ndarray):
        self.table, self.index = table, index


Part = bytes | Pick | np.ndarray
SMALL = 1000  # integers below this are picked from a table of their text: cheaper than digits


def format_rows(parts: Sequence[Part]) -> np.ndarray:
    """Every row's parts joined, the rows one after the other (no separator: give one as a
    bytes part), as uint8 text (file writes and compressors take it as it is). Integer
    arrays, and Picks' indices, must all have the same length."""
    n = next((len(_rows(p)) for p in parts if not isinstance(p, bytes)), 0)
    if n == 0:
        return np.zeros(0, dtype=np.uint8)
    parts, widths = zip(*(_laid_out(p) for p in parts))
    ends = np.cumsum(widths).tolist()
    template = np.zeros(ends[-1], dtype=np.uint8)  # the constant parts, in place
    for part, end, width in zip(parts, ends, widths):
        if isinstance(part, bytes):
            template[end - width : end] = np.frombuffer(part, dtype=np.uint8)
    buf = np.empty((n, len(template)), dtype=np.uint8)
    buf[:] = template
    for part, end, width in zip(parts, ends, widths):
        out = buf[:, end - width : end]
        if isinstance(part, Pick) and width:
            out.view(part.table.items.dtype)[:, 0] = part.table.items[part.index]
        elif isinstance(part, np.ndarray):
            _decimal(part, out)
    flat = buf.reshape(-1)
    return flat[flat != 0]


def _rows(part: Pick | np.ndarray) -> np.ndarray:
    return part.index if isinstance(part, Pick) else part


def _laid_out(part: Part) -> tuple[Part, int]:
    """The part as it is written (an array of small integers, such as PEs or layers, as a
    Pick of their text) and the columns it takes: its longest text."""
    if isinstance(part, bytes):
        if b"\0" in part:
            raise ValueError("format_rows: a constant part holds a NUL byte, which it would drop")
        return part, len(part)
    if isinstance(part, Pick):
        return part, part.table.width
    low, high = part.min(), part.max()
    if low < 0:
        raise ValueError(f"format_rows: {low} is negative; only counts are written")
    width = len(str(high))
    return (Pick(_small_numbers(width), part), width) if high < SMALL else (part, width)


@cache
def _small_numbers(width: int) -> Table:
    """The text of 0 .. 10**width - 1: the longest entries have this width."""
    return Table([str(i).encode() for i in range(10**width)])


def _decimal(values: np.ndarray, out: np.ndarray) -> None:
    """Each value in decimal, right-aligned in its row of `out` (zeros before it). Digits come
    off by `//` (SIMD in numpy), not divmod (several times slower), into a scratch matrix
    copied into `out` at once."""
    width = out.shape[1]
    x = values.astype(np.uint32 if width < 10 else np.uint64)  # 10**9 - 1 < 2**32
    digits = np.empty((width, len(x)), dtype=np.uint8)
    more = np.empty(len(x), dtype=bool)
    for j in range(width - 1, -1, -1):  # the last digit first
        q = x // 10
        np.subtract(x, q * 10, out=digits[j], casting="unsafe")
        digits[j] += 48  # "0"
        if j < width - 1:  # a number has no leading zeros: blank where nothing is left
            np.not_equal(x, 0, out=more)
            digits[j] *= more
        x = q
    out[:] = digits.T
