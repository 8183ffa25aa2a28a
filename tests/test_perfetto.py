"""The columnar Perfetto writer gives the same bytes as json.dumps of one dict per event."""

import json

import attrs
import numpy as np
import pytest

from accelsim.perfetto import write_perfetto
from accelsim.pipeline import run_scenario
from accelsim.trace import State
from accelsim.scenario import scenario_from_dict

LENET = {"workload": {"network": "lenet5"}, "pruning": {"profile": "han2015-lenet5"},
         "hardware": {"pe_rows": 2, "pe_cols": 2, "dram_bytes_per_cycle": 8}}


def write_perfetto_dicts(result, path):
    """The reference: one dict per event, encoded by json.dumps (the writer this replaced)."""
    s = result.states
    events = [{"name": "process_name", "ph": "M", "pid": 0, "args": {"name": "PE array"}}]
    events += [{"name": "thread_name", "ph": "M", "pid": 0, "tid": p,
                "args": {"name": f"PE {p}"}} for p in range(result.hw.n_pes)]
    for pe, t0, t1, st, held in zip(s.pe.tolist(), s.start.tolist(), s.end.tolist(),
                                   s.state.tolist(), s.held_by.tolist()):
        ev = {"name": State(st).label, "ph": "X", "pid": 0, "tid": pe, "ts": t0, "dur": t1 - t0}
        if held >= 0:
            ev["args"] = {"held_by_pe": held}
        events.append(ev)
    for layer in result.layers:
        events.append({"name": layer.name, "ph": "X", "pid": 1, "tid": 0, "ts": layer.start,
                       "dur": layer.cycles})
    events.append({"name": "process_name", "ph": "M", "pid": 1, "args": {"name": "layers"}})
    path.write_text(json.dumps({"traceEvents": events, "displayTimeUnit": "ns"},
                               separators=(",", ":")))


def simulated(**hardware):
    scenario = scenario_from_dict({**LENET, "hardware": {**LENET["hardware"], **hardware}},
                                  "<t>")
    return run_scenario(scenario, baselines=False).result


@pytest.mark.parametrize("hardware", [{}, {"input_queue_depth": 4},
                                      {"pe_rows": 3, "pe_cols": 3, "multicast": False}])
def test_same_bytes_as_one_dict_per_event(tmp_path, hardware):
    result = simulated(**hardware)
    assert len(result.layers) > 1
    write_perfetto(result, tmp_path / "columns.json")
    write_perfetto_dicts(result, tmp_path / "dicts.json")
    assert (tmp_path / "columns.json").read_bytes() == (tmp_path / "dicts.json").read_bytes()


def test_held_by_becomes_args_and_layer_names_are_escaped(tmp_path):
    result = simulated(pe_rows=3, pe_cols=3, multicast=False)
    held = result.states.held_by
    assert (held >= 0).any() and (held < 0).any()
    odd = attrs.evolve(result.layers[0], name='conv "1"\\ä')
    result = attrs.evolve(result, layers=(odd, *result.layers[1:]))
    write_perfetto(result, tmp_path / "columns.json")
    write_perfetto_dicts(result, tmp_path / "dicts.json")
    assert (tmp_path / "columns.json").read_bytes() == (tmp_path / "dicts.json").read_bytes()
    events = json.loads((tmp_path / "columns.json").read_text())["traceEvents"]
    intervals = [e for e in events if e["ph"] == "X" and e["pid"] == 0]
    assert [e.get("args", {}).get("held_by_pe", -1) for e in intervals] == held.tolist()
    assert odd.name in [e["name"] for e in events]


def test_a_run_without_intervals(tmp_path):
    result = simulated()
    empty = attrs.evolve(result.states, **{f: np.zeros(0, dtype=getattr(result.states, f).dtype)
                                           for f in ("pe", "start", "end", "state", "held_by")})
    result = attrs.evolve(result, states=empty)
    write_perfetto(result, tmp_path / "columns.json")
    write_perfetto_dicts(result, tmp_path / "dicts.json")
    assert (tmp_path / "columns.json").read_bytes() == (tmp_path / "dicts.json").read_bytes()
