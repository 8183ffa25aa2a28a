"""The systolic reference against SCALE-Sim 3.0's own numbers, stored in
tests/scalesim_reference.json by benchmarks/scalesim_reference.py (SCALE-Sim itself is not
imported): compute cycles and filter traffic on every stored layer, output traffic to within
a line of the array, input traffic where the inputs fit the buffer and bounded elsewhere
(docs/model.md, "The systolic reference")."""

import json
from pathlib import Path

from accelsim.config import Hardware
from accelsim.engine import systolic as S
from accelsim.workload.networks.topology import load_network

STORED = json.loads((Path(__file__).parent / "scalesim_reference.json").read_text())
HW8 = Hardware()  # 8-bit weights and activations: one SCALE-Sim word is one byte
SHAPES = {"lenet5": 3, "resnet18": 3, "alexnet": 3}  # array shapes stored per network


def _layers():
    """(where, layer, array, SCALE-Sim's row) for every stored layer."""
    kib = STORED["config"]["ifmap_sram_kib"] * 1024
    for run in STORED["runs"]:
        network = load_network(run["network"])
        array = S.SystolicArray(run["rows"], run["cols"], run["dataflow"], kib, kib, kib)
        for layer in network.mac_layers:
            if layer.name not in run["layers"]:
                continue  # AlexNet's fc layers: left out of the stored set ("left_out")
            where = (run["network"], array.label(), layer.name)
            yield where, layer, array, run["layers"][layer.name]


def test_the_stored_set_holds_each_network_at_three_shapes_in_every_dataflow():
    runs = STORED["runs"]
    assert STORED["scalesim_version"] == "3.0.0"
    shapes = {}
    for r in runs:
        shapes.setdefault(r["network"], {}).setdefault((r["rows"], r["cols"]), set())
        shapes[r["network"]][r["rows"], r["cols"]].add(r["dataflow"])
    assert {name: len(s) for name, s in shapes.items()} == SHAPES
    for name, by_shape in shapes.items():  # every shape of a network in all three dataflows
        assert all(flows == set(S.DATAFLOWS) for flows in by_shape.values()), name
    for run in runs:
        network = load_network(run["network"])
        kept = [l.name for l in network.mac_layers if l.kind == "conv" or "left_out" not in run]
        assert list(run["layers"]) == kept


def test_compute_cycles_equal_scalesim_on_every_stored_layer():
    """SCALE-Sim's COMPUTE_REPORT gives the index of the last cycle, counted from 0: the
    count is one more."""
    for where, layer, array, theirs in _layers():
        ours = S.run_layer(layer, array, HW8).compute_cycles
        assert ours == theirs["compute_cycles"] + 1, where


def test_output_traffic_matches_scalesim_to_within_a_line():
    """SCALE-Sim's OFMAP writes are ours plus at most cols - 1 words: its write buffer
    counts its last partly filled line of cols words as full."""
    for where, layer, array, theirs in _layers():
        ours = S.run_layer(layer, array, HW8).ofmap_dram_bytes
        assert 0 <= theirs["ofmap_dram_bytes"] - ours < array.cols, where


def test_filter_traffic_equals_scalesims_on_every_stored_layer():
    """filter_reads follows SCALE-Sim's read buffer exactly, in every dataflow."""
    for where, layer, array, theirs in _layers():
        assert S.run_layer(layer, array, HW8).filter_dram_bytes == theirs["filter_dram_bytes"], (
            where
        )


def test_input_traffic_equals_scalesims_where_held_and_bounds_it_elsewhere():
    """Inputs that all fit in one epoch of the buffer are read once, as SCALE-Sim reads
    them. Elsewhere every SRAM read is counted as a DRAM read: at least SCALE-Sim's count
    (its buffer also keeps the overlap of neighbouring windows that falls inside one epoch),
    which is at least the compulsory count (docs/model.md)."""
    held = 0
    for where, layer, array, theirs in _layers():
        mine, got = S.run_layer(layer, array, HW8).ifmap_dram_bytes, theirs["ifmap_dram_bytes"]
        words = S.ifmap_words(layer)
        if words < S.active_words(array.ifmap_sram_bytes, 8):
            held += 1
            assert mine == got == words, where
        else:
            assert mine >= got >= words, where
    assert held > 0
