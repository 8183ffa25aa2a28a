"""Protocol-buffer messages of many rows at once, encoded by numpy rather than one message
object per row.

A Perfetto trace is hundreds of thousands of messages of the same shape (a TracePacket with a
timestamp, a track and a state), and building a protobuf object per row, or even a Python
bytes per row, costs more than simulating them. Here a row is a sequence of parts, each one
of:

- `bytes`: the same encoded bytes in every row (a field's tag with a constant value);
- `Varint(values)`: one base-128 varint per row (protobuf's integer encoding: 7 bits a
  byte, low bits first, the high bit set on every byte but the last);
- `Fixed64(values)`: 8 little-endian bytes per row (fixed64 and double fields);
- `Pick(entries, index)`: per row one of a short list of encoded byte strings (a name, an
  argument), which may differ in length or be empty;
- `Message(tag, parts)`: a nested message: its tag, the length of its parts in that row as a
  varint, then the parts.

The rows are laid out in one fixed-width uint8 matrix, each part in its own columns, with a
mask of the bytes each row uses (a varint or a pick is as long as that row needs); the masked
bytes in row order are the rows' encodings, one after the other. Callers encode a file's rows
a slice at a time, so that the matrix stays small.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from attrs import frozen

VARINT, I64, LEN = 0, 1, 2  # the wire types used here


def tag(field: int, wire: int) -> bytes:
    """A field's key: its number and wire type, as a varint."""
    return varint(field << 3 | wire)


def varint(value: int) -> bytes:
    """One non-negative integer as a protobuf varint."""
    if value < 0:
        raise ValueError(f"varint: {value} is negative; only unsigned values are encoded")
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def field(number: int, value: int | bytes | str) -> bytes:
    """One field of a few-of-a-kind message (a track's descriptor): an int as a varint,
    bytes (an encoded message) or str (UTF-8) with its length."""
    if isinstance(value, int):
        return tag(number, VARINT) + varint(value)
    data = value.encode() if isinstance(value, str) else value
    return tag(number, LEN) + varint(len(data)) + data


@frozen
class Varint:
    values: np.ndarray


@frozen
class Fixed64:
    values: np.ndarray  # uint64 or float64: written as their 8 bytes


class Pick:
    """Per row, the entry `index[row]` of `entries` (encoded bytes, possibly empty)."""

    def __init__(self, entries: Sequence[bytes], index: np.ndarray):
        self.width = max(1, max(len(e) for e in entries))
        self.items = np.array(list(entries), dtype=f"S{self.width}").view(f"V{self.width}")
        self.lengths = np.array([len(e) for e in entries], dtype=np.int64)
        self.index = index


@frozen
class Message:
    tag: bytes
    parts: Sequence[Part]


Part = bytes | Varint | Fixed64 | Pick | Message


def encode_rows(parts: Sequence[Part], n: int) -> np.ndarray:
    """The `n` rows' encodings, one after the other, as uint8 (file writes and compressors
    take it as it is). Every array in the parts has `n` entries."""
    leaves: list[tuple[object, int, np.ndarray | int]] = []
    for part in parts:
        _flatten(part, leaves)
    widths = [width for _, width, _ in leaves]
    ends = np.cumsum(widths).tolist()
    template = np.zeros(ends[-1] if ends else 0, dtype=np.uint8)  # the constants, in place
    for (leaf, width, _), end in zip(leaves, ends):
        if isinstance(leaf, bytes):
            template[end - width : end] = np.frombuffer(leaf, dtype=np.uint8)
    buf = np.empty((n, len(template)), dtype=np.uint8)
    buf[:] = template
    used = np.ones(buf.shape, dtype=bool)
    for (leaf, width, size), end in zip(leaves, ends):
        out = buf[:, end - width : end]
        if isinstance(leaf, Pick):
            out.view(leaf.items.dtype)[:, 0] = leaf.items[leaf.index]
        elif isinstance(leaf, Fixed64):
            kind = "<u8" if leaf.values.dtype.kind in "iu" else "<f8"
            out[:] = leaf.values.astype(kind).view(np.uint8).reshape(n, 8)
        elif not isinstance(leaf, bytes):
            _varint_columns(np.broadcast_to(np.asarray(leaf, dtype=np.uint64), (n,)), out)
        if not isinstance(size, int) or size != width:
            sizes = np.broadcast_to(np.asarray(size), (n,))
            np.less(np.arange(width), sizes[:, None], out=used[:, end - width : end])
    return buf[used]


def _flatten(part: Part, leaves: list) -> np.ndarray | int:
    """Append the part's leaves (what to write, its columns, each row's bytes used) to
    `leaves`; return each row's size in bytes."""

    def leaf(what, width: int, size: np.ndarray | int) -> np.ndarray | int:
        leaves.append((what, width, size))
        return size

    if isinstance(part, bytes):
        return leaf(part, len(part), len(part))
    if isinstance(part, Varint):
        sizes = _varint_sizes(part.values)
        return leaf(part.values, int(sizes.max(initial=1)), sizes)
    if isinstance(part, Fixed64):
        return leaf(part, 8, 8)
    if isinstance(part, Pick):
        return leaf(part, part.width, part.lengths[part.index])
    inner: list = []  # the parts go after the message's tag and length
    length = sum((_flatten(child, inner) for child in part.parts), start=0)
    lengths = _varint_sizes(length)
    head = leaf(part.tag, len(part.tag), len(part.tag))
    head = head + leaf(length, int(np.max(lengths)), lengths)
    leaves.extend(inner)
    return head + length


def _varint_sizes(values: np.ndarray) -> np.ndarray:
    """Each value's varint length in bytes (1 to 10)."""
    v = np.atleast_1d(values)
    if v.size and v.min() < 0:
        raise ValueError(f"encode_rows: {v.min()} is negative; only unsigned values are encoded")
    v = v.astype(np.uint64)
    size = np.ones(len(v), dtype=np.int64)
    for k in range(1, 10):
        more = v >= np.uint64(1 << (7 * k))
        if not more.any():
            break
        size += more
    return size


def _varint_columns(values: np.ndarray, out: np.ndarray) -> None:
    """Each value's varint bytes in its row of `out`, low group first; every byte is written,
    with the continuation bit on all but the last the row uses (the mask drops the rest)."""
    width = out.shape[1]
    kind = np.uint32 if width <= 4 else np.uint64  # 4 varint bytes hold 28 bits: 32-bit math
    v = values.astype(kind)
    for k in range(width):
        group = (v & kind(0x7F)).astype(np.uint8)
        v = v >> kind(7)
        if k < width - 1:
            group |= (v > 0).view(np.uint8) << np.uint8(7)
        out[:, k] = group
