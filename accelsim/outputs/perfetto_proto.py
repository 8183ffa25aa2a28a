"""A run's trace in Perfetto's own protobuf format (a `Trace` of `TracePacket`s carrying
`TrackEvent`s, as perfetto.dev's "synthetic track event" reference describes), encoded by numpy
straight from the trace columns (accelsim.outputs.proto_rows).

This is the trace `accelsim run --trace perfetto` writes (trace.pftrace.gz), not the JSON one
(accelsim.outputs.perfetto): a slice there is about 80 bytes of text, and formatting plus
compressing it cost 1.4-1.8 times the simulation's CPU; here a slice is about 40 bytes of
varints, and encoding and compressing them costs less than the simulation
(benchmarks/trace_writing.py prints both).

Timestamps are nanoseconds, one cycle each (real time at the default 1 GHz clock). Tracks, each
a process or a thread of one as the viewer groups them:

- "PE array": one thread per PE, one slice per state interval (TYPE_SLICE_BEGIN and _END). A
  broadcast held back by another PE's full queue carries the debug argument `held_by_pe`
  (the JSON trace also draws it as a flow arrow; here that would add half the file's bytes).
- "layers": one slice per layer.
- "DRAM port": one thread per operand, one slice per transfer named by its cause (arguments
  `bytes` and `layer`), and a counter of the bytes per cycle the port moves.
- "buffers": one counter per buffer, the bytes it holds at the end of each cycle where it
  changed (as in the JSON trace).

Every packet carries `trusted_packet_sequence_id` 1. The file holds no time or name of the
machine, so the same run gives the same bytes.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from accelsim.engine.assemble import SimResult
from accelsim.outputs.perfetto import last_levels, port_rates
from accelsim.outputs.proto_rows import (
    I64,
    LEN,
    VARINT,
    Fixed64,
    Message,
    Part,
    Pick,
    Varint,
    encode_rows,
    field,
    tag,
    varint,
)
from accelsim.trace import BUFFER_NAMES, Cause, Operand, State

GZIP_LEVEL = 1  # a seventh of the bytes for about two thirds of the encoding's CPU again
ROWS = 8192  # rows encoded at once: a few MB of matrix, a small part of a run's memory
SEQUENCE = 1  # the one packet sequence every packet belongs to
# TrackEvent.Type
SLICE_BEGIN, SLICE_END, COUNTER = 1, 2, 4
# track uuids: the four processes, then the threads and counters, then one per PE. A
# process's pid is its uuid, a thread's tid is its uuid: never a pid, which the viewer would
# take for that process's main thread.
PE_ARRAY, LAYERS, DRAM, BUFFERS = 1, 2, 3, 4
LAYER_THREAD = 5
OPERAND_THREAD = 6  # + the operand
PORT_COUNTER = 9
BUFFER_COUNTER = 10  # + the buffer
FIRST_PE = 16  # + the PE


def write_perfetto_proto(result: SimResult, path: Path) -> None:
    """Write the trace of `result` to `path` (opens in ui.perfetto.dev); see the module doc.
    A path ending in .gz is gzip-compressed at GZIP_LEVEL, as it is encoded."""
    with open(path, "wb") as f:
        if Path(path).suffix == ".gz":
            # wbits 31: zlib's gzip header (mtime 0, no name) and trailer
            packer = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
            for piece in _packets(result):
                f.write(packer.compress(piece))
            f.write(packer.flush())
        else:
            for piece in _packets(result):
                f.write(piece)


def _packets(result: SimResult) -> Iterator[bytes | np.ndarray]:
    yield _descriptors(result.hw.n_pes)
    yield from _pe_slices(result)
    yield from _layer_slices(result)
    yield from _transfer_slices(result)
    yield from _counters(result)


def _packet(body: bytes) -> bytes:
    """One TracePacket of the few written one at a time, as a field of the Trace."""
    return field(1, field(10, SEQUENCE) + body)


def _descriptors(n_pes: int) -> bytes:
    """Every track's TrackDescriptor (field 60 of TracePacket)."""

    def track(uuid: int, *fields: bytes) -> bytes:
        return _packet(field(60, field(1, uuid) + b"".join(fields)))

    def process(uuid: int, name: str) -> bytes:  # ProcessDescriptor: pid, process_name
        return track(uuid, field(3, field(1, uuid) + field(6, name)))

    def thread(uuid: int, parent: int, name: str) -> bytes:  # ThreadDescriptor: pid, tid, name
        return track(
            uuid, field(5, parent), field(4, field(1, parent) + field(2, uuid) + field(5, name))
        )

    def counter(uuid: int, parent: int, name: str) -> bytes:  # a CounterDescriptor, empty
        return track(uuid, field(5, parent), field(2, name), field(8, b""))

    return b"".join(
        [
            process(PE_ARRAY, "PE array"),
            process(LAYERS, "layers"),
            process(DRAM, "DRAM port"),
            process(BUFFERS, "buffers"),
            thread(LAYER_THREAD, LAYERS, "layers"),
            *(thread(OPERAND_THREAD + o, DRAM, f"{o.name.lower()} transfers") for o in Operand),
            counter(PORT_COUNTER, DRAM, "DRAM bytes/cycle"),
            *(
                counter(BUFFER_COUNTER + b, BUFFERS, f"{name} buffer bytes")
                for b, name in enumerate(BUFFER_NAMES)
            ),
            *(thread(FIRST_PE + p, PE_ARRAY, f"PE {p}") for p in range(n_pes)),
        ]
    )


def _event(ts: np.ndarray, kind: int, track: np.ndarray | int, *parts: Part) -> Message:
    """A TracePacket (timestamp, sequence) holding a TrackEvent of type `kind` on `track`."""
    on_track = (
        [tag(11, VARINT), Varint(track)] if isinstance(track, np.ndarray) else [field(11, track)]
    )
    return Message(
        tag(1, LEN),
        [
            tag(8, VARINT),
            Varint(ts),
            field(10, SEQUENCE),
            Message(
                tag(11, LEN),
                [field(9, kind), *on_track, *parts],
            ),
        ],
    )


def _names(names: list[str]) -> list[bytes]:
    """TrackEvent.name (field 23) of each."""
    return [field(23, name) for name in names]


def _int_arg(name: str) -> bytes:
    """The head of a DebugAnnotation with `name` and an int_value: the varint follows."""
    return field(10, name) + tag(4, VARINT)


def _slices(n: int, rows_of) -> Iterator[np.ndarray]:
    """Rows 0..n-1 encoded ROWS at a time; `rows_of(rows)` gives a slice's parts."""
    for lo in range(0, n, ROWS):
        hi = min(lo + ROWS, n)
        yield encode_rows(rows_of(slice(lo, hi)), hi - lo)


def _pe_slices(result: SimResult) -> Iterator[np.ndarray]:
    """Each state interval as a BEGIN and an END packet; a held one also starts flow row+1."""
    s, n_pes = result.states, result.hw.n_pes
    states = _names([st.label for st in State])
    held_arg = [b""] + [  # by held_by + 1: -1 (nobody held it back) has no argument
        field(4, _int_arg("held_by_pe") + varint(h)) for h in range(n_pes)
    ]
    yield from _slices(
        len(s.pe),
        lambda r: [
            _event(
                s.start[r],
                SLICE_BEGIN,
                FIRST_PE + s.pe[r],
                Pick(states, s.state[r]),
                Pick(held_arg, s.held_by[r] + 1),
            ),
            _event(s.end[r], SLICE_END, FIRST_PE + s.pe[r]),
        ],
    )


def _layer_slices(result: SimResult) -> Iterator[np.ndarray]:
    layers = result.layers
    start = np.array([layer.start for layer in layers], dtype=np.int64)
    end = start + np.array([layer.cycles for layer in layers], dtype=np.int64)
    yield encode_rows(
        [
            _event(
                start,
                SLICE_BEGIN,
                LAYER_THREAD,
                Pick(_names([layer.name for layer in layers]), np.arange(len(layers))),
            ),
            _event(end, SLICE_END, LAYER_THREAD),
        ],
        len(layers),
    )


def _transfer_slices(result: SimResult) -> Iterator[np.ndarray]:
    d = result.transfers
    causes = _names([c.name.lower() for c in Cause])
    nbytes, layer = _int_arg("bytes"), _int_arg("layer")
    yield from _slices(
        len(d["start"]),
        lambda r: [
            _event(
                d["start"][r],
                SLICE_BEGIN,
                OPERAND_THREAD + d["operand"][r],
                Pick(causes, d["cause"][r]),
                Message(tag(4, LEN), [nbytes, Varint(d["bytes"][r])]),
                Message(tag(4, LEN), [layer, Varint(d["layer"][r])]),
            ),
            _event(d["end"][r], SLICE_END, OPERAND_THREAD + d["operand"][r]),
        ],
    )


def _counters(result: SimResult) -> Iterator[np.ndarray]:
    """The port's bytes per cycle (a double) and each buffer's level (an integer)."""
    times, rates = port_rates(result.transfers)
    yield from _slices(
        len(times),
        lambda r: [_event(times[r], COUNTER, PORT_COUNTER, tag(44, I64), Fixed64(rates[r]))],
    )
    levels = result.levels
    buffer, t, level = last_levels(levels["buffer"], levels["t"], levels["level"])
    yield from _slices(
        len(t),
        lambda r: [
            _event(t[r], COUNTER, BUFFER_COUNTER + buffer[r], tag(30, VARINT), Varint(level[r]))
        ],
    )
