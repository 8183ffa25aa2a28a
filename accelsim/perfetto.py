"""Chrome/Perfetto trace JSON of a run, written straight from the trace columns.

The PE intervals are most of the file: formatting them row by row from the columns, instead
of building and encoding one dict per event, gives the same bytes as json.dumps about 8x
faster (benchmarks/outputs.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from accelsim.assemble import SimResult
from accelsim.trace import State

_INTERVAL = '{"name":%s,"ph":"X","pid":0,"tid":%d,"ts":%d,"dur":%d%s}'
_THREAD = '{"name":"thread_name","ph":"M","pid":0,"tid":%d,"args":{"name":"PE %d"}}'


def write_perfetto(result: SimResult, path: Path) -> None:
    """Chrome/Perfetto trace JSON (opens in ui.perfetto.dev): one track per PE; 1 cycle = 1 us.
    Events, in order: PE array metadata, one per state interval (with `held_by_pe` when a PE's
    full queue held it back), one per layer on a second track, its metadata."""
    s = result.states
    names = np.array([json.dumps(st.label) for st in State], dtype=object)
    held, which = np.unique(s.held_by, return_inverse=True)
    args = np.array([f',"args":{{"held_by_pe":{h}}}' if h >= 0 else "" for h in held.tolist()],
                    dtype=object)
    intervals = map(_INTERVAL.__mod__, zip(names[s.state].tolist(), s.pe.tolist(),
                                           s.start.tolist(), (s.end - s.start).tolist(),
                                           args[which].tolist()))
    layers = [{"name": layer.name, "ph": "X", "pid": 1, "tid": 0, "ts": layer.start,
               "dur": layer.cycles} for layer in result.layers]
    layers.append({"name": "process_name", "ph": "M", "pid": 1, "args": {"name": "layers"}})
    events = [_json({"name": "process_name", "ph": "M", "pid": 0, "args": {"name": "PE array"}}),
              *(_THREAD % (p, p) for p in range(result.hw.n_pes)), *intervals,
              *map(_json, layers)]
    path.write_text('{"traceEvents":[' + ",".join(events) + '],"displayTimeUnit":"ns"}')


def _json(event: dict) -> str:
    return json.dumps(event, separators=(",", ":"))
