"""Chrome/Perfetto trace JSON of a run, written straight from the trace columns.

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
about a tenth of the size: the default run's trace is 17 MB as JSON. The gzip header carries
no time or name, so the same run gives the same bytes.

The PE intervals are most of the file. Each is one f-string: a prefix looked up per (state,
PE), its start and duration, and a suffix looked up per held_by value. That gives the same
bytes as json.dumps of one dict per event, several times faster (benchmarks/outputs.py).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np

from accelsim.engine.assemble import SimResult
from accelsim.trace import BUFFER_NAMES, Cause, Operand, State

PE_PID, LAYER_PID, DRAM_PID, BUFFER_PID = 0, 1, 2, 3


def write_perfetto(result: SimResult, path: Path) -> None:
    """Write the trace of `result` to `path` (opens in ui.perfetto.dev); see the module doc."""
    events = [
        *_pe_events(result),
        *_layer_events(result),
        *_dram_events(result),
        *_buffer_events(result),
    ]
    text = (
        '{"traceEvents":['
        + ",".join(events)
        + '],"displayTimeUnit":"ms","otherData":'
        + _json({"time_unit": "1 us = 1 cycle", "clock_hz": result.hw.clock_hz})
        + "}"
    )
    data = text.encode()  # write_text's text layer took 3x as long on 17 MB
    if Path(path).suffix == ".gz":  # level 3: within 10 % of level 9's size, 4x as fast
        data = gzip.compress(data, compresslevel=3, mtime=0)
    Path(path).write_bytes(data)


def _pe_events(result: SimResult) -> list[str]:
    s, n_pes = result.states, result.hw.n_pes
    names = [json.dumps(st.label) for st in State]
    prefix = np.array(
        [
            f'{{"name":{name},"ph":"X","pid":0,"tid":{p},"ts":'
            for name in names
            for p in range(n_pes)
        ],
        dtype=object,
    )
    suffix = np.array(
        ["}", *(f',"args":{{"held_by_pe":{h}}}}}' for h in range(n_pes))], dtype=object
    )  # by held_by + 1: -1 (nobody held it back) has no args
    intervals = [
        f'{a}{t},"dur":{d}{z}'
        for a, t, d, z in zip(
            prefix[s.state.astype(np.int64) * n_pes + s.pe].tolist(),
            s.start.tolist(),
            (s.end - s.start).tolist(),
            suffix[s.held_by + 1].tolist(),
        )
    ]
    threads = [
        f'{{"name":"thread_name","ph":"M","pid":0,"tid":{p},"args":{{"name":"PE {p}"}}}}'
        for p in range(n_pes)
    ]
    held = np.flatnonzero(s.held_by >= 0)
    flows = [
        f'{{"name":"held by","cat":"queue","ph":"s","id":{k},"pid":0,"tid":{w},"ts":{t}}},'
        f'{{"name":"held by","cat":"queue","ph":"f","bp":"e","id":{k},"pid":0,"tid":{h},'
        f'"ts":{t}}}'
        for k, (w, h, t) in enumerate(
            zip(s.pe[held].tolist(), s.held_by[held].tolist(), s.start[held].tolist())
        )
    ]
    return [_process(PE_PID, "PE array"), *threads, *intervals, *flows]


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


def _dram_events(result: SimResult) -> list[str]:
    """Each transfer as a slice on its operand's thread; the port's bytes per cycle as a
    counter that steps up when a transfer takes the port and down when it ends."""
    d = result.transfers
    start, end, nbytes = d["start"].tolist(), d["end"].tolist(), d["bytes"].tolist()
    causes = [json.dumps(c.name.lower()) for c in Cause]
    slices = [
        f'{{"name":{causes[c]},"ph":"X","pid":2,"tid":{o},"ts":{t0},"dur":{t1 - t0},'
        f'"args":{{"bytes":{b},"layer":{layer}}}}}'
        for t0, t1, b, o, c, layer in zip(
            start, end, nbytes, d["operand"].tolist(), d["cause"].tolist(), d["layer"].tolist()
        )
    ]
    # the port is serial: its rate steps to bytes / duration when a transfer starts and back
    # to 0 when it ends, unless the next one starts at that cycle (a start wins a tie)
    busy = d["end"] > d["start"]
    t0, t1 = d["start"][busy], d["end"][busy]
    times = np.concatenate([t1, t0])
    rates = np.concatenate([np.zeros(len(t1)), np.round(d["bytes"][busy] / (t1 - t0), 6)])
    order = np.lexsort((np.arange(len(times)), times))  # ends first, then starts
    times, rates = times[order], rates[order]
    last = np.ones(len(times), dtype=bool)
    last[:-1] = times[1:] != times[:-1]
    counter = [
        f'{{"name":"DRAM bytes/cycle","ph":"C","pid":2,"ts":{t},"args":{{"bytes/cycle":{r}}}}}'
        for t, r in zip(times[last].tolist(), rates[last].tolist())
    ]
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
    return [_process(DRAM_PID, "DRAM port"), *threads, *slices, *counter]


def _buffer_events(result: SimResult) -> list[str]:
    buffer, t, level = last_levels(
        result.levels["buffer"], result.levels["t"], result.levels["level"]
    )
    names = [json.dumps(f"{n} buffer bytes") for n in BUFFER_NAMES]
    counters = [
        f'{{"name":{names[b]},"ph":"C","pid":3,"ts":{t},"args":{{"bytes":{v}}}}}'
        for b, t, v in zip(buffer.tolist(), t.tolist(), level.tolist())
    ]
    return [_process(BUFFER_PID, "buffers"), *counters]


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
