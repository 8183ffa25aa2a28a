"""Chrome/Perfetto trace JSON of a run, written straight from the trace columns.

The PE intervals are most of the file. Each is one f-string: a prefix looked up per (state,
PE), its start and duration, and a suffix looked up per held_by value. That gives the same
bytes as json.dumps of one dict per event, several times faster
(benchmarks/outputs.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from accelsim.assemble import SimResult
from accelsim.trace import State


def write_perfetto(result: SimResult, path: Path) -> None:
    """Chrome/Perfetto trace JSON (opens in ui.perfetto.dev): one track per PE; 1 cycle = 1 us.
    Events, in order: the PE array's metadata, one per state interval (`held_by_pe` names the
    PE whose full queue held it back), one per layer on a second track, its metadata."""
    s, n_pes = result.states, result.hw.n_pes
    names = [json.dumps(st.label) for st in State]
    prefix = np.array([f'{{"name":{name},"ph":"X","pid":0,"tid":{p},"ts":'
                       for name in names for p in range(n_pes)], dtype=object)
    suffix = np.array(["}", *(f',"args":{{"held_by_pe":{h}}}}}' for h in range(n_pes))],
                      dtype=object)  # by held_by + 1: -1 (nobody held it back) has no args
    intervals = [f'{a}{t},"dur":{d}{z}' for a, t, d, z in zip(
        prefix[s.state.astype(np.int64) * n_pes + s.pe].tolist(), s.start.tolist(),
        (s.end - s.start).tolist(), suffix[s.held_by + 1].tolist())]
    threads = [f'{{"name":"thread_name","ph":"M","pid":0,"tid":{p},"args":{{"name":"PE {p}"}}}}'
               for p in range(n_pes)]
    layers = [{"name": layer.name, "ph": "X", "pid": 1, "tid": 0, "ts": layer.start,
               "dur": layer.cycles} for layer in result.layers]
    layers.append({"name": "process_name", "ph": "M", "pid": 1, "args": {"name": "layers"}})
    events = [_json({"name": "process_name", "ph": "M", "pid": 0, "args": {"name": "PE array"}}),
              *threads, *intervals, *map(_json, layers)]
    path.write_text('{"traceEvents":[' + ",".join(events) + '],"displayTimeUnit":"ns"}')


def _json(event: dict) -> str:
    return json.dumps(event, separators=(",", ":"))
