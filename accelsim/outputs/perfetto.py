"""Chrome/Perfetto trace JSON of a run, written straight from the trace columns: for Python
callers and chrome://tracing. `accelsim run --trace perfetto` writes the protobuf form
(accelsim.outputs.perfetto_proto), which costs less than the simulation; this one, gzipped,
costs 1.4-1.7 times the simulation's CPU (benchmarks/trace_writing.py).

Timestamps are the trace event format's microseconds, one cycle each, so the viewer shows
1 cycle as 1 us (`displayTimeUnit` "ms", the format's default display). Processes (tracks):

- pid 0 "PE array": one thread per PE, one slice per state interval; a broadcast held back by
  another PE's full queue carries `held_by_pe` and a flow arrow from the waiting PE's slice
  to the slice of the PE holding it (flow events "s" and "f", bound to the enclosing slices).
- pid 1 "layers": one slice per layer.
- pid 2 "DRAM port": one thread per operand, one slice per transfer named by its cause (the
  port is serial, so slices never overlap), and a counter of the bytes per cycle it moves.
- pid 3 "buffers": one counter per buffer, the bytes it holds: its last level at each cycle
  where it changed (several changes within one cycle are one step at the viewer's finest
  resolution, a cycle, so only the last is written).

A path ending in .gz is written gzip-compressed (the Perfetto UI opens .json.gz as it is),
about a tenth of the size: the default run's trace is 15 MB as JSON. The gzip header carries
no time or name, so the same run gives the same bytes.

The file is the same bytes as json.dumps of one dict per event (tests/test_perfetto.py), but
is written differently, to cost as little time and memory as it can: the many events
(intervals, flows, transfers, counters) are formatted from the trace's columns by numpy
(accelsim.outputs.text_rows), ROWS events at a time, and each slice goes straight to the
file or to the compressor. No text of the whole
file is ever held. benchmarks/trace_writing.py prints its time and memory beside the
simulation's.
"""

from __future__ import annotations

import itertools
import json
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from accelsim.engine.assemble import SimResult
from accelsim.outputs.text_rows import Part, Pick, Table, format_rows
from accelsim.trace import BUFFER_NAMES, Cause, Operand, State

PE_PID, LAYER_PID, DRAM_PID, BUFFER_PID = 0, 1, 2, 3
ROWS = 4096  # events formatted at once: about 0.4 MB of text, a small part of a run's memory
GZIP_LEVEL = 3  # within 10 % of level 9's size, 4x as fast


def write_perfetto(result: SimResult, path: Path) -> None:
    """Write the trace of `result` to `path` (opens in ui.perfetto.dev); see the module doc.

    A second thread compresses (or writes) each slice while this one formats the next: zlib
    and file writes let go of the GIL, so on a free second core the compression, which costs
    about as much as the formatting, overlaps it instead of following it."""
    other = _json({"time_unit": "1 us = 1 cycle", "clock_hz": result.hw.clock_hz})
    with open(path, "wb") as f, ThreadPoolExecutor(1) as worker:
        if Path(path).suffix == ".gz":
            # wbits 31: zlib's own gzip header and trailer, mtime 0: what gzip.compress(data,
            # GZIP_LEVEL, mtime=0) wrote when this writer held the whole text
            packer = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
            write = lambda data: f.write(packer.compress(data))  # noqa: E731
        else:
            write = f.write
        pieces = itertools.chain(
            [b'{"traceEvents":[' + _process(PE_PID, "PE array").encode()],
            _events(result),
            [f'],"displayTimeUnit":"ms","otherData":{other}}}'.encode()],
        )
        pending = None
        for piece in pieces:  # formatted while the worker takes the one before
            if pending is not None:
                pending.result()  # one slice in flight at most: memory stays a slice's
            pending = worker.submit(write, piece)
        if pending is not None:
            pending.result()
        if Path(path).suffix == ".gz":
            f.write(packer.flush())


def _events(result: SimResult) -> Iterator[bytes | np.ndarray]:
    """Every event after the first, each led by its comma, in the file's order."""
    yield from _pe_events(result)
    yield _python_events(_layer_events(result))
    yield from _dram_events(result)
    yield from _buffer_events(result)


def _python_events(events: list[str]) -> bytes:
    """The few events made one at a time, each led by its comma."""
    return "".join("," + e for e in events).encode()


def _slices(n: int, parts_of: Callable[[slice], list[Part]]) -> Iterator[np.ndarray]:
    """Rows 0..n-1 formatted ROWS at a time; `parts_of(rows)` gives a slice's parts."""
    for lo in range(0, n, ROWS):
        yield format_rows(parts_of(slice(lo, min(lo + ROWS, n))))


def _pe_events(result: SimResult) -> Iterator[bytes | np.ndarray]:
    s, n_pes = result.states, result.hw.n_pes
    yield _python_events(
        [
            f'{{"name":"thread_name","ph":"M","pid":0,"tid":{p},"args":{{"name":"PE {p}"}}}}'
            for p in range(n_pes)
        ]
    )
    names = Table([json.dumps(st.label).encode() for st in State])
    # by held_by + 1: -1 (nobody held it back) has no args
    held_args = Table([b"}", *(f',"args":{{"held_by_pe":{h}}}}}'.encode() for h in range(n_pes))])
    yield from _slices(
        len(s.pe),
        lambda r: [
            b',{"name":',
            Pick(names, s.state[r]),
            b',"ph":"X","pid":0,"tid":',
            s.pe[r],
            b',"ts":',
            s.start[r],
            b',"dur":',
            s.end[r] - s.start[r],
            Pick(held_args, s.held_by[r] + 1),
        ],
    )
    held = np.flatnonzero(s.held_by >= 0)
    yield from _slices(
        len(held),
        lambda r: [
            b',{"name":"held by","cat":"queue","ph":"s","id":',
            np.arange(r.start, r.stop),
            b',"pid":0,"tid":',
            s.pe[held[r]],
            b',"ts":',
            s.start[held[r]],
            b'},{"name":"held by","cat":"queue","ph":"f","bp":"e","id":',
            np.arange(r.start, r.stop),
            b',"pid":0,"tid":',
            s.held_by[held[r]],
            b',"ts":',
            s.start[held[r]],
            b"}",
        ],
    )


def _layer_events(result: SimResult) -> list[str]:
    return [
        *(
            _json(
                {
                    "name": layer.name,
                    "ph": "X",
                    "pid": LAYER_PID,
                    "tid": 0,
                    "ts": layer.start,
                    "dur": layer.cycles,
                }
            )
            for layer in result.layers
        ),
        _process(LAYER_PID, "layers"),
    ]


def _dram_events(result: SimResult) -> Iterator[bytes | np.ndarray]:
    """Each transfer as a slice on its operand's thread; the port's bytes per cycle as a
    counter that steps up when a transfer takes the port and down when it ends."""
    d = result.transfers
    threads = [
        _json(
            {
                "name": "thread_name",
                "ph": "M",
                "pid": DRAM_PID,
                "tid": int(o),
                "args": {"name": f"{o.name.lower()} transfers"},
            }
        )
        for o in Operand
    ]
    yield _python_events([_process(DRAM_PID, "DRAM port"), *threads])
    causes = Table([json.dumps(c.name.lower()).encode() for c in Cause])
    yield from _slices(
        len(d["start"]),
        lambda r: [
            b',{"name":',
            Pick(causes, d["cause"][r]),
            b',"ph":"X","pid":2,"tid":',
            d["operand"][r],
            b',"ts":',
            d["start"][r],
            b',"dur":',
            d["end"][r] - d["start"][r],
            b',"args":{"bytes":',
            d["bytes"][r],
            b',"layer":',
            d["layer"][r],
            b"}}",
        ],
    )
    times, rates = port_rates(d)
    # few distinct rates: each written once as Python writes a float (repr), then picked
    distinct = np.unique(rates)
    rate_index = np.searchsorted(distinct, rates)
    rate_text = Table([repr(r).encode() for r in distinct.tolist()])
    yield from _slices(
        len(times),
        lambda r: [
            b',{"name":"DRAM bytes/cycle","ph":"C","pid":2,"ts":',
            times[r],
            b',"args":{"bytes/cycle":',
            Pick(rate_text, rate_index[r]),
            b"}}",
        ],
    )


def port_rates(transfers: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The DRAM port's bytes per cycle (rounded to 6 decimals) from each cycle where it
    changes. The port is serial: its rate steps to bytes / duration when a transfer starts
    and back to 0 when it ends, unless the next one starts at that cycle (a start wins)."""
    d = transfers
    busy = d["end"] > d["start"]
    t0, t1 = d["start"][busy], d["end"][busy]
    times = np.concatenate([t1, t0])
    rates = np.concatenate([np.zeros(len(t1)), np.round(d["bytes"][busy] / (t1 - t0), 6)])
    order = np.lexsort((np.arange(len(times)), times))  # ends first, then starts
    times, rates = times[order], rates[order]
    last = np.ones(len(times), dtype=bool)
    last[:-1] = times[1:] != times[:-1]
    return times[last], rates[last]


def _buffer_events(result: SimResult) -> Iterator[bytes | np.ndarray]:
    buffer, t, level = last_levels(
        result.levels["buffer"], result.levels["t"], result.levels["level"]
    )
    yield _python_events([_process(BUFFER_PID, "buffers")])
    names = Table([json.dumps(f"{n} buffer bytes").encode() for n in BUFFER_NAMES])
    yield from _slices(
        len(t),
        lambda r: [
            b',{"name":',
            Pick(names, buffer[r]),
            b',"ph":"C","pid":3,"ts":',
            t[r],
            b',"args":{"bytes":',
            level[r],
            b"}}",
        ],
    )


def last_levels(buffer: np.ndarray, t: np.ndarray, level: np.ndarray):
    """Per buffer, in time order, the level each buffer holds at the end of each cycle where
    it changed: of several changes in one cycle the last, and none where it stays the same."""
    order = np.lexsort((np.arange(len(t)), t, buffer))  # stable: the last change stays last
    buffer, t, level = buffer[order], t[order], level[order]
    last = np.ones(len(t), dtype=bool)
    last[:-1] = (buffer[1:] != buffer[:-1]) | (t[1:] != t[:-1])
    buffer, t, level = buffer[last], t[last], level[last]
    changed = np.ones(len(t), dtype=bool)
    changed[1:] = (buffer[1:] != buffer[:-1]) | (level[1:] != level[:-1])
    return buffer[changed], t[changed], level[changed]


def _process(pid: int, name: str) -> str:
    return _json({"name": "process_name", "ph": "M", "pid": pid, "args": {"name": name}})


def _json(event: dict) -> str:
    return json.dumps(event, separators=(",", ":"))
