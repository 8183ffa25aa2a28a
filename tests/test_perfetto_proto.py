"""The protobuf Perfetto trace, parsed back with Perfetto's own message definitions (the
`perfetto` package's compiled trace protos) and checked event by event against the run; and
the numpy encoder under it against the protobuf library on random rows."""

import gzip
from pathlib import Path

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from perfetto.protos.perfetto.trace import perfetto_trace_pb2 as pb

from accelsim.outputs import perfetto_proto
from accelsim.outputs.perfetto import last_levels, port_rates
from accelsim.outputs.perfetto_proto import write_perfetto_proto
from accelsim.outputs.proto_rows import (
    I64,
    LEN,
    VARINT,
    Fixed64,
    Message,
    Pick,
    Varint,
    encode_rows,
    field,
    tag,
)
from accelsim.pipeline import run_scenario
from accelsim.scenario import scenario_from_dict
from accelsim.trace import BUFFER_NAMES, Cause, Operand, State

LENET = {
    "workload": {"network": "lenet5"},
    "pruning": {"profile": "han2015-lenet5"},
    "hardware": {"pe_rows": 2, "pe_cols": 2, "dram_bytes_per_cycle": 8},
}
TE = pb.TrackEvent


def simulated(**hardware):
    scenario = scenario_from_dict({**LENET, "hardware": {**LENET["hardware"], **hardware}}, "<t>")
    return run_scenario(scenario, baselines=False).result


def parsed(path: Path) -> list:
    data = path.read_bytes()
    return list(pb.Trace.FromString(gzip.decompress(data) if path.suffix == ".gz" else data).packet)


def tracks(packets) -> dict[int, str]:
    """Each track's uuid and name (a process's, a thread's or a counter's)."""
    named = {}
    for p in packets:
        if p.HasField("track_descriptor"):
            d = p.track_descriptor
            named[d.uuid] = d.thread.thread_name or d.process.process_name or d.name
    return named


def slices(packets, uuid: int) -> list[tuple]:
    """(start, end, name, args) of each slice on a track, from its BEGIN and END packets in
    the file's order (each track's are written in time order)."""
    out, open_ = [], None
    for p in packets:
        e = p.track_event
        if not p.HasField("track_event") or e.track_uuid != uuid:
            continue
        if e.type == TE.TYPE_SLICE_BEGIN:
            assert open_ is None, "slices on one track never nest"
            args = {a.name: a.int_value for a in e.debug_annotations}
            open_ = (p.timestamp, e.name, args)
        else:
            assert e.type == TE.TYPE_SLICE_END and open_ is not None
            out.append((open_[0], p.timestamp, open_[1], open_[2]))
            open_ = None
    assert open_ is None
    return out


def counter(packets, uuid: int, double: bool) -> list[tuple]:
    return [
        (p.timestamp, p.track_event.double_counter_value if double else p.track_event.counter_value)
        for p in packets
        if p.HasField("track_event")
        and p.track_event.track_uuid == uuid
        and p.track_event.type == TE.TYPE_COUNTER
    ]


@pytest.mark.parametrize("rows", [perfetto_proto.ROWS, 7])  # 7: every track in many slices
@pytest.mark.parametrize("name", ["t.pftrace", "t.pftrace.gz"])
def test_every_event_says_what_the_run_did(tmp_path, monkeypatch, rows, name):
    monkeypatch.setattr(perfetto_proto, "ROWS", rows)
    result = simulated(dram_bytes_per_cycle=4)  # a busy port: transfers wait, levels move
    write_perfetto_proto(result, tmp_path / name)
    packets = parsed(tmp_path / name)
    assert all(p.trusted_packet_sequence_id == perfetto_proto.SEQUENCE for p in packets)
    named = tracks(packets)
    n = result.hw.n_pes
    assert {named[perfetto_proto.FIRST_PE + p] for p in range(n)} == {f"PE {p}" for p in range(n)}
    s = result.states
    for p in range(n):
        mine = s.pe == p
        want = [
            (t0, t1, State(k).label, {"held_by_pe": h} if h >= 0 else {})
            for t0, t1, k, h in zip(
                *(a[mine].tolist() for a in (s.start, s.end, s.state, s.held_by))
            )
        ]
        assert slices(packets, perfetto_proto.FIRST_PE + p) == want
    assert any(s.held_by >= 0)  # the held argument is exercised
    layers = slices(packets, perfetto_proto.LAYER_THREAD)
    assert layers == [(la.start, la.start + la.cycles, la.name, {}) for la in result.layers]
    d = result.transfers
    for o in Operand:
        assert named[perfetto_proto.OPERAND_THREAD + o] == f"{o.name.lower()} transfers"
        mine = d["operand"] == o
        want = [
            (t0, t1, Cause(c).name.lower(), {"bytes": b, "layer": la})
            for t0, t1, c, b, la in zip(
                *(d[k][mine].tolist() for k in ("start", "end", "cause", "bytes", "layer"))
            )
        ]
        assert slices(packets, perfetto_proto.OPERAND_THREAD + o) == want
    rates = list(zip(*(x.tolist() for x in port_rates(d))))
    assert counter(packets, perfetto_proto.PORT_COUNTER, double=True) == rates
    assert named[perfetto_proto.PORT_COUNTER] == "DRAM bytes/cycle"
    buffer, t, level = last_levels(
        result.levels["buffer"], result.levels["t"], result.levels["level"]
    )
    for b, bname in enumerate(BUFFER_NAMES):
        uuid = perfetto_proto.BUFFER_COUNTER + b
        assert named[uuid] == f"{bname} buffer bytes"
        assert counter(packets, uuid, double=False) == list(
            zip(t[buffer == b].tolist(), level[buffer == b].tolist())
        )


def test_the_same_run_gives_the_same_bytes_and_gzip_holds_the_plain_file(tmp_path):
    result = simulated()
    write_perfetto_proto(result, tmp_path / "a.pftrace.gz")
    write_perfetto_proto(result, tmp_path / "b.pftrace.gz")
    write_perfetto_proto(result, tmp_path / "c.pftrace")
    packed = (tmp_path / "a.pftrace.gz").read_bytes()
    assert packed == (tmp_path / "b.pftrace.gz").read_bytes()  # no time in the gzip header
    assert gzip.decompress(packed) == (tmp_path / "c.pftrace").read_bytes()


@pytest.mark.slow
def test_resnet18_on_64_pes_with_7x7_tiles_is_a_small_valid_trace(tmp_path):
    """The issue's case: 65 MB of JSON, well under 20 MB here, and it parses."""
    from accelsim.scenario import load_scenario

    base = load_scenario(Path(__file__).resolve().parent.parent / "scenarios" / "default.toml")
    scenario = attrs.evolve(
        base,
        mapping=attrs.evolve(base.mapping, tile_h=7, tile_w=7),
        hardware=attrs.evolve(base.hardware, pe_cols=16, weight_buffer_bytes=1 << 20),
    )
    result = run_scenario(scenario, baselines=False).result
    path = tmp_path / "trace.pftrace.gz"
    write_perfetto_proto(result, path)
    assert path.stat().st_size < 20e6
    packets = parsed(path)
    begins = sum(
        1
        for p in packets
        if p.track_event.type == TE.TYPE_SLICE_BEGIN
        and p.track_event.track_uuid >= perfetto_proto.FIRST_PE
    )
    assert begins == len(result.states.pe) and result.hw.n_pes == 64


# the encoder against the protobuf library: a TracePacket with a timestamp, a TrackEvent with
# a type, a track, a name picked from a list, an int argument and a double counter value
NAMES = ["", "busy", "wait_inputs", "x" * 200]  # "" sets no name; 200: a 2-byte length


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 2**64 - 1),
            st.integers(0, 2**63 - 1),
            st.integers(0, len(NAMES) - 1),
            st.floats(allow_nan=False),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_encoded_rows_are_what_the_protobuf_library_writes(rows):
    ts, value, name, rate = (
        np.array(x, dtype=t) for x, t in zip(zip(*rows), (np.uint64, np.int64, np.int64, float))
    )
    encoded = encode_rows(
        [
            Message(
                tag(1, LEN),
                [
                    tag(8, VARINT),
                    Varint(ts),
                    Message(
                        tag(11, LEN),
                        [  # in field order, as the library writes them
                            Message(tag(4, LEN), [tag(4, VARINT), Varint(value), field(10, "v")]),
                            field(9, 1),
                            Pick([field(23, n) if n else b"" for n in NAMES], name),
                            tag(44, I64),
                            Fixed64(rate),
                        ],
                    ),
                ],
            )
        ],
        len(rows),
    )
    want = pb.Trace()
    for t, v, k, r in rows:
        p = want.packet.add(timestamp=t)
        p.track_event.type = TE.TYPE_SLICE_BEGIN
        if NAMES[k]:
            p.track_event.name = NAMES[k]
        p.track_event.debug_annotations.add(name="v", int_value=v)
        p.track_event.double_counter_value = r
    assert encoded.tobytes() == want.SerializeToString()


def test_negative_values_are_refused():
    with pytest.raises(ValueError, match="negative"):
        encode_rows([Varint(np.array([1, -2]))], 2)
    with pytest.raises(ValueError, match="negative"):
        field(1, -1)
