"""Weight storage formats: bytes follow the format's formula, "auto" takes the fewest, a
dense layer is stored and streamed dense, and the simulator moves exactly the bytes the
chosen format needs (with every format also drawn in tests/test_invariants.py)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from simkit import conv, pruned

from accelsim.config import Hardware, Mapping
from accelsim.engine.assemble import simulate
from accelsim.errors import ConfigError
from accelsim.policies import load_policy
from accelsim.scenario import scenario_from_dict
from accelsim.trace import Cause, Operand
from accelsim.workload.formats import choose, unit_bytes
from accelsim.workload.jobs import build_layer_jobs
from accelsim.workload.sparsity.pruning import PrunedLayer


def test_each_formats_bytes():
    hw = Hardware(weight_bits=8, index_bits=4)
    assert unit_bytes("compressed", 10, 100, hw) == 15  # 10 x 12 bits
    assert unit_bytes("bitmap", 10, 100, hw) == 23  # 100 bits + 10 x 8, rounded up
    assert unit_bytes("dense", 10, 100, hw) == 100
    with pytest.raises(ValueError, match="unknown weight format 'csr'"):
        unit_bytes("csr", 1, 1, hw)


@settings(max_examples=60, deadline=None)
@given(density=st.floats(0.0, 1.0), index_bits=st.integers(0, 8), weight_bits=st.integers(1, 16))
def test_auto_takes_the_fewest_bytes(density, index_bits, weight_bits):
    hw = Hardware(weight_bits=weight_bits, index_bits=index_bits)
    layer = pruned(conv(in_c=4, out_c=6), density=density, cv=0.0)
    jobs = {
        f: build_layer_jobs(0, layer, Mapping(weight_format=f), hw)
        for f in ("auto", "compressed", "bitmap", "dense")
    }
    fewest = min(int(jobs[f].weight_bytes.sum()) for f in ("compressed", "bitmap", "dense"))
    assert int(jobs["auto"].weight_bytes.sum()) == fewest
    assert jobs["auto"].weight_format in ("compressed", "bitmap", "dense")
    assert [j.macs for j in jobs["auto"].jobs] == [j.macs for j in jobs["dense"].jobs]


def test_a_dense_layer_is_stored_dense_and_a_sparse_one_with_indices():
    hw = Hardware()
    layer = conv(in_c=4, out_c=6)
    full = PrunedLayer(layer, np.full(6, layer.weights_per_filter))
    assert build_layer_jobs(0, full, Mapping(), hw).weight_format == "dense"
    assert (
        build_layer_jobs(0, pruned(layer, density=0.6), Mapping(), hw).weight_format == "bitmap"
    )  # bits a weight: compressed 0.6 x 12 = 7.2, bitmap 1 + 0.6 x 8 = 5.8, dense 8
    assert (
        build_layer_jobs(0, pruned(layer, density=0.1), Mapping(), hw).weight_format == "compressed"
    )
    assert choose("dense", [1], [100], hw) == "dense"


@pytest.mark.parametrize("fmt", ["compressed", "bitmap", "dense"])
def test_the_simulator_moves_exactly_the_formats_bytes(fmt):
    layer = pruned(conv(in_c=4, out_c=6), density=0.3)
    hw = Hardware(pe_rows=1, pe_cols=2).ideal_memory()
    jobs = [build_layer_jobs(0, layer, Mapping(tile_h=3, weight_format=fmt), hw)]
    result = simulate(jobs, hw, load_policy("lpt"))
    tr = result.transfers
    weights = tr["operand"] == Operand.WEIGHTS
    assert int(tr["bytes"][weights].sum()) == int(jobs[0].weight_bytes.sum())
    assert int(tr["bytes"][weights & (tr["cause"] != Cause.COMPULSORY)].sum()) == 0
    assert result.executed_macs == layer.pruned_macs


LENET = {"workload": {"network": "lenet5"}, "pruning": {"profile": "han2015-lenet5"}}


def test_per_layer_overrides_apply_to_their_layer_only():
    sc = scenario_from_dict(
        {**LENET, "mapping": {"weight_format": {"default": "compressed", "conv1": "dense"}}}, "<t>"
    )
    assert sc.mapping.weight_format_of("conv1") == "dense"
    assert sc.mapping.weight_format_of("ip1") == "compressed"
    assert Mapping(weight_format={"conv2": "bitmap"}).weight_format_of("ip1") == "auto"


@pytest.mark.parametrize(
    "value, message",
    [
        (
            "csr",
            r"\[mapping\] 'weight_format' must be one of auto, compressed, bitmap, dense: "
            r"'csr'",
        ),
        ({"conv1": 3}, r"\[mapping\] 'weight_format.conv1' must be one of .*: 3"),
        (
            {"conv9": "dense"},
            r"\[mapping\] weight_format.conv9: no MAC layer of lenet5 is named "
            r"'conv9'",
        ),
    ],
)
def test_a_bad_format_is_one_line_naming_field_and_value(value, message):
    with pytest.raises(ConfigError, match=r"<t>: " + message):
        scenario_from_dict({**LENET, "mapping": {"weight_format": value}}, "<t>")
