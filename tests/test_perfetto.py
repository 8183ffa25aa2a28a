"""The Perfetto trace: the file is the same bytes as json.dumps of one dict per event (the
writer it replaced), gzipped as gzip.compress did, and every track (PE states, flows to the
holding PE, layers, DRAM transfers and bandwidth, buffer occupancy) says what the simulation
did."""

import gzip
import json

import attrs
import numpy as np
import pytest

from accelsim.outputs import perfetto
from accelsim.outputs.perfetto import last_levels, port_rates, write_perfetto
from accelsim.pipeline import run_scenario
from accelsim.scenario import scenario_from_dict
from accelsim.trace import BUFFER_NAMES, Cause, Operand, State

LENET = {
    "workload": {"network": "lenet5"},
    "pruning": {"profile": "han2015-lenet5"},
    "hardware": {"pe_rows": 2, "pe_cols": 2, "dram_bytes_per_cycle": 8},
}


def one_dict_per_event(result) -> bytes:
    """The reference: every event a dict, the document encoded by json.dumps."""
    s, d = result.states, result.transfers

    def process(pid, name):
        return {"name": "process_name", "ph": "M", "pid": pid, "args": {"name": name}}

    events = [process(0, "PE array")]
    events += [
        {"name": "thread_name", "ph": "M", "pid": 0, "tid": p, "args": {"name": f"PE {p}"}}
        for p in range(result.hw.n_pes)
    ]
    for pe, t0, t1, st, held in zip(
        s.pe.tolist(), s.start.tolist(), s.end.tolist(), s.state.tolist(), s.held_by.tolist()
    ):
        ev = {"name": State(st).label, "ph": "X", "pid": 0, "tid": pe, "ts": t0, "dur": t1 - t0}
        if held >= 0:
            ev["args"] = {"held_by_pe": held}
        events.append(ev)
    held = s.held_by >= 0
    for k, (w, h, t) in enumerate(zip(s.pe[held], s.held_by[held], s.start[held])):
        flow = {"name": "held by", "cat": "queue"}
        events.append({**flow, "ph": "s", "id": k, "pid": 0, "tid": int(w), "ts": int(t)})
        events.append(
            {**flow, "ph": "f", "bp": "e", "id": k, "pid": 0, "tid": int(h), "ts": int(t)}
        )
    events += [
        {"name": layer.name, "ph": "X", "pid": 1, "tid": 0, "ts": layer.start, "dur": layer.cycles}
        for layer in result.layers
    ]
    events.append(process(1, "layers"))
    events.append(process(2, "DRAM port"))
    events += [
        {
            "name": "thread_name",
            "ph": "M",
            "pid": 2,
            "tid": int(o),
            "args": {"name": f"{o.name.lower()} transfers"},
        }
        for o in Operand
    ]
    for t0, t1, b, o, c, layer in zip(*(d[k].tolist() for k in d)):
        name = Cause(c).name.lower()
        args = {"bytes": b, "layer": layer}
        events.append({"name": name, "ph": "X", "pid": 2, "tid": o, "ts": t0, "dur": t1 - t0})
        events[-1]["args"] = args
    events += [
        {"name": "DRAM bytes/cycle", "ph": "C", "pid": 2, "ts": t, "args": {"bytes/cycle": r}}
        for t, r in zip(*(x.tolist() for x in port_rates(d)))
    ]
    events.append(process(3, "buffers"))
    levels = last_levels(result.levels["buffer"], result.levels["t"], result.levels["level"])
    events += [
        {
            "name": f"{BUFFER_NAMES[b]} buffer bytes",
            "ph": "C",
            "pid": 3,
            "ts": t,
            "args": {"bytes": v},
        }
        for b, t, v in zip(*(x.tolist() for x in levels))
    ]
    doc = {
        "traceEvents": events,
        "displayTimeUnit": "ms",
        "otherData": {"time_unit": "1 us = 1 cycle", "clock_hz": result.hw.clock_hz},
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def simulated(**hardware):
    scenario = scenario_from_dict({**LENET, "hardware": {**LENET["hardware"], **hardware}}, "<t>")
    return run_scenario(scenario, baselines=False).result


@pytest.mark.parametrize("rows", [perfetto.ROWS, 7])  # 7: every track in many slices
@pytest.mark.parametrize(
    "hardware", [{}, {"input_queue_depth": 4}, {"pe_rows": 3, "pe_cols": 3, "multicast": False}]
)
def test_same_bytes_as_one_dict_per_event(tmp_path, monkeypatch, hardware, rows):
    monkeypatch.setattr(perfetto, "ROWS", rows)
    result = simulated(**hardware)
    assert len(result.layers) > 1 and len(result.transfers["start"]) > 7
    reference = one_dict_per_event(result)
    write_perfetto(result, tmp_path / "t.json")
    assert (tmp_path / "t.json").read_bytes() == reference
    write_perfetto(result, tmp_path / "t.json.gz")
    # the bytes gzip.compress gave when the writer held the whole text
    assert (tmp_path / "t.json.gz").read_bytes() == gzip.compress(reference, 3, mtime=0)


def test_held_by_becomes_args_and_layer_names_are_escaped(tmp_path):
    result = simulated(pe_rows=3, pe_cols=3, multicast=False)
    held = result.states.held_by
    assert (held >= 0).any() and (held < 0).any()
    odd = attrs.evolve(result.layers[0], name='conv "1"\\ä')
    result = attrs.evolve(result, layers=(odd, *result.layers[1:]))
    write_perfetto(result, tmp_path / "t.json")
    assert (tmp_path / "t.json").read_bytes() == one_dict_per_event(result)
    events = json.loads((tmp_path / "t.json").read_text())["traceEvents"]
    intervals = [e for e in events if e["ph"] == "X" and e["pid"] == 0]
    assert [e.get("args", {}).get("held_by_pe", -1) for e in intervals] == held.tolist()
    assert odd.name in [e["name"] for e in events]


def test_a_run_without_intervals_or_transfers(tmp_path):
    result = simulated()
    empty = attrs.evolve(
        result.states,
        **{
            f: np.zeros(0, dtype=getattr(result.states, f).dtype)
            for f in ("pe", "start", "end", "state", "held_by")
        },
    )
    no_transfers = {k: v[:0] for k, v in result.transfers.items()}
    result = attrs.evolve(result, states=empty, transfers=no_transfers)
    write_perfetto(result, tmp_path / "t.json")
    assert (tmp_path / "t.json").read_bytes() == one_dict_per_event(result)
    events = json.loads((tmp_path / "t.json").read_text())["traceEvents"]
    assert not [e for e in events if e["pid"] in (0, 2) and e["ph"] in ("X", "C")]


def test_a_write_that_fails_in_the_writing_thread_is_raised(tmp_path, monkeypatch):
    """The compressor runs in a second thread: its error must reach the caller, not hang."""

    class FullDisk:
        def __init__(self, *args):
            self.calls = 0

        def compress(self, data):
            self.calls += 1
            if self.calls == 3:
                raise OSError("No space left on device")
            return b""

    monkeypatch.setattr(perfetto.zlib, "compressobj", FullDisk)
    with pytest.raises(OSError, match="No space left"):
        write_perfetto(simulated(), tmp_path / "t.json.gz")


def events_of(result, tmp_path):
    write_perfetto(result, tmp_path / "t.json")
    doc = json.loads((tmp_path / "t.json").read_text())
    assert doc["displayTimeUnit"] == "ms" and doc["otherData"]["time_unit"] == "1 us = 1 cycle"
    return doc["traceEvents"]


def test_flows_run_from_the_waiting_pe_to_the_pe_holding_it(tmp_path):
    result = simulated(pe_rows=3, pe_cols=3, multicast=False)
    s = result.states
    events = events_of(result, tmp_path)
    starts = {e["id"]: e for e in events if e["ph"] == "s"}
    ends = {e["id"]: e for e in events if e["ph"] == "f"}
    assert starts.keys() == ends.keys() and len(starts) == int((s.held_by >= 0).sum()) > 0
    held = {(int(p), int(t)): int(h) for p, t, h in zip(s.pe, s.start, s.held_by) if h >= 0}
    for k, begin in starts.items():
        end = ends[k]
        assert begin["ts"] == end["ts"] and end["bp"] == "e" and begin["cat"] == end["cat"]
        assert held[begin["tid"], begin["ts"]] == end["tid"]
        # the holder has a slice enclosing the moment, for the arrow to land on
        assert ((s.pe == end["tid"]) & (s.start <= end["ts"]) & (s.end > end["ts"])).any()


def test_dram_transfers_are_slices_by_operand_and_cause_and_add_up(tmp_path):
    scenario = scenario_from_dict({**LENET, "mapping": {"tile_h": 4, "tile_w": 4}}, "<t>")
    result = run_scenario(scenario, baselines=False).result
    d = result.transfers
    assert len(set(d["cause"].tolist())) > 1
    events = events_of(result, tmp_path)
    slices = [e for e in events if e["pid"] == 2 and e["ph"] == "X"]
    assert len(slices) == len(d["start"])
    for o in Operand:
        for c in Cause:
            rows = (d["operand"] == o) & (d["cause"] == c)
            mine = [e for e in slices if e["tid"] == o and e["name"] == c.name.lower()]
            assert sum(e["args"]["bytes"] for e in mine) == int(d["bytes"][rows].sum())
    names = {
        e["tid"]: e["args"]["name"] for e in events if e["pid"] == 2 and e["name"] == "thread_name"
    }
    assert names == {0: "weights transfers", 1: "inputs transfers", 2: "outputs transfers"}
    # bytes/cycle integrated over time is every byte moved (within rounding)
    counter = sorted(
        (e["ts"], e["args"]["bytes/cycle"]) for e in events if e["ph"] == "C" and e["pid"] == 2
    )
    moved = sum(r * (t1 - t0) for (t0, r), (t1, _) in zip(counter, counter[1:]))
    assert moved == pytest.approx(int(d["bytes"].sum()), rel=1e-6)
    assert counter[-1][1] == 0


def test_buffer_counters_follow_the_levels(tmp_path):
    result = simulated()
    lv = result.levels
    events = events_of(result, tmp_path)
    counters = [e for e in events if e["pid"] == 3 and e["ph"] == "C"]
    for b, name in enumerate(("weight", "input", "output")):
        mine = [
            (e["ts"], e["args"]["bytes"]) for e in counters if e["name"] == f"{name} buffer bytes"
        ]
        sel = lv["buffer"] == b
        # the level at the end of every cycle where it changed, one step per change
        at_end = dict(zip(lv["t"][sel].tolist(), lv["level"][sel].tolist()))  # the last wins
        steps = [(t, v) for t, v in sorted(at_end.items())]
        steps = [s for i, s in enumerate(steps) if i == 0 or s[1] != steps[i - 1][1]]
        assert mine == steps
        assert mine and max(v for _, v in mine) > 0


def test_trace_npz_names_its_codes(tmp_path):
    from accelsim.outputs.report import write_trace

    result = simulated()
    write_trace(result, tmp_path / "trace.npz")
    with np.load(tmp_path / "trace.npz") as data:
        assert [str(x) for x in data["state_names"][data["state"][:3]]] == [
            State(int(c)).label for c in result.states.state[:3]
        ]
        assert data["state_names"].tolist() == [s.label for s in State]
        assert data["dram_cause_names"].tolist() == [
            "compulsory",
            "halo",
            "refetch",
            "split",
            "spill",
        ]
        assert data["dram_operand_names"].tolist() == ["weights", "inputs", "outputs"]
        assert data["level_buffer_names"].tolist() == ["weight", "input", "output"]
        assert data["state_names"].dtype.kind == "U"  # loads without pickle


def test_the_gzipped_trace_is_valid_json_with_every_track(tmp_path):
    result = simulated(input_queue_depth=1)
    write_perfetto(result, tmp_path / "t.json.gz")
    write_perfetto(result, tmp_path / "t.json")
    packed = (tmp_path / "t.json.gz").read_bytes()
    assert gzip.decompress(packed) == (tmp_path / "t.json").read_bytes()
    assert len(packed) < (tmp_path / "t.json").stat().st_size / 4
    trace = json.loads(gzip.decompress(packed))
    events = trace["traceEvents"]
    processes = {e["pid"]: e["args"]["name"] for e in events if e["name"] == "process_name"}
    assert processes == {0: "PE array", 1: "layers", 2: "DRAM port", 3: "buffers"}
    threads = {(e["pid"], e["args"]["name"]) for e in events if e["name"] == "thread_name"}
    assert {(0, f"PE {p}") for p in range(result.hw.n_pes)} <= threads
    assert {(2, f"{o.name.lower()} transfers") for o in Operand} <= threads
    kinds = {(e["pid"], e["ph"]) for e in events}
    assert {(0, "X"), (1, "X"), (2, "X"), (2, "C"), (3, "C")} <= kinds
    busy = sum(e["dur"] for e in events if e["pid"] == 0 and e.get("name") == "busy")
    assert busy == int(result.states.cycles_by_state(result.hw.n_pes)[:, State.BUSY].sum())
    write_perfetto(result, tmp_path / "again.json.gz")
    assert (tmp_path / "again.json.gz").read_bytes() == packed  # no time in the header


@pytest.mark.parametrize(
    "kind, files",
    [
        ("none", set()),
        ("npz", {"trace.npz"}),
        ("perfetto", {"trace.pftrace.gz"}),
        ("all", {"trace.npz", "trace.pftrace.gz"}),
    ],
)
def test_run_writes_the_traces_asked_for(tmp_path, kind, files):
    from accelsim.cli import main

    scenario = tmp_path / "s.toml"
    scenario.write_text(
        "name = 's'\n[workload]\nnetwork = 'lenet5'\n[pruning]\nprofile = 'han2015-lenet5'\n"
        "[hardware]\npe_rows = 2\npe_cols = 2\n"
    )
    out = tmp_path / "out"
    args = ["run", str(scenario), "--out", str(out), "-q", "--no-baselines", "--trace", kind]
    assert main(args) == 0
    assert {p.name for p in out.glob("trace*")} == files
    assert (out / "timeline.png").is_file()  # the figures need no trace file
