"""The dense systolic reference (accelsim.engine.systolic): cycles as folds x fold cycles,
bounded and monotone traffic and cycles, iso-area arrays that fit, a [reference] section
checked on load, and the comparisons in the report (tests/test_systolic_scalesim.py holds
it against SCALE-Sim's own numbers)."""

import json
import math

import attrs
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from accelsim.config import AreaTable, EnergyTable, Hardware
from accelsim.engine import systolic as S
from accelsim.engine.area import area_mm2
from accelsim.errors import ConfigError
from accelsim.scenario import scenario_from_dict
from accelsim.workload.networks.layers import Layer, LayerKind
from accelsim.workload.networks.topology import load_network

HW8 = Hardware()  # 8-bit weights and activations


def _layers():
    @st.composite
    def layer(draw):
        k = draw(st.sampled_from([1, 3, 5, 7]))
        stride = draw(st.integers(1, 3))
        pad = draw(st.integers(0, k // 2))
        size = draw(st.integers(max(1, k - 2 * pad), 40))
        return Layer(
            "l",
            LayerKind.CONV,
            (),
            draw(st.integers(1, 96)),
            size,
            size,
            draw(st.integers(1, 96)),
            k,
            k,
            stride,
            pad,
        )

    return layer()


ARRAYS = st.builds(
    S.SystolicArray,
    st.integers(1, 64),
    st.integers(1, 64),
    st.sampled_from(S.DATAFLOWS),
    st.sampled_from([1024, 8192, 65536, math.inf]),
    st.sampled_from([1024, 8192, 65536, math.inf]),
    st.sampled_from([1024, 8192, 65536, math.inf]),
)


@settings(max_examples=150, deadline=None)
@given(_layers(), ARRAYS)
def test_cycles_are_folds_times_fold_cycles_and_bytes_at_least_compulsory(layer, array):
    run = S.run_layer(layer, array, HW8)
    sr, sc, t = S.operand_shape(layer, array.dataflow)
    folds = -(-sr // array.rows) * -(-sc // array.cols)
    assert run.folds == folds
    assert run.compute_cycles == folds * S.fold_cycles(array.rows, array.cols, array.dataflow, t)
    assert run.compute_cycles * array.macs >= layer.dense_macs  # no more than a MAC per PE
    assert run.cycles == run.compute_cycles  # unbounded DRAM bandwidth
    compulsory = (layer.weights, S.ifmap_words(layer), layer.out_c * layer.out_pixels)
    got = (run.filter_dram_bytes, run.ifmap_dram_bytes, run.ofmap_dram_bytes)
    assert all(g >= c for g, c in zip(got, compulsory))
    unbounded = attrs.evolve(
        array, filter_sram_bytes=math.inf, ifmap_sram_bytes=math.inf, ofmap_sram_bytes=math.inf
    )
    ideal = S.run_layer(layer, unbounded, HW8)
    assert (ideal.filter_dram_bytes, ideal.ifmap_dram_bytes) == compulsory[:2]
    # outputs: every fold of partial sums but os's is written
    assert ideal.ofmap_dram_bytes == compulsory[2] * (
        1 if array.dataflow == "os" else -(-sr // array.rows)
    )


@settings(max_examples=100, deadline=None)
@given(_layers(), ARRAYS, st.integers(1, 64))
def test_more_filters_never_take_fewer_cycles_or_bytes(layer, array, more):
    """Cycles grow with the folds: adding filters adds folds or leaves them, never removes."""
    bigger = attrs.evolve(layer, out_c=layer.out_c + more)
    a, b = S.run_layer(layer, array, HW8), S.run_layer(bigger, array, HW8)
    assert b.folds >= a.folds and b.compute_cycles >= a.compute_cycles
    assert b.dram_bytes >= a.dram_bytes


def _scalesim_buffer(stream, epoch: int) -> int:
    """Words fetched by SCALE-Sim 3.0's estimate-bandwidth read buffer, written out word by
    word: a word it holds is a hit; a new one is fetched and held, and when it holds `epoch`
    words its window slides past all of them (memory/read_buffer_estimate_bw.py)."""
    held, fetched = set(), 0
    for word in stream:
        if word not in held:
            fetched += 1
            held.add(word)
            if len(held) == epoch:
                held = set()
    return fetched


def _filter_stream(layer, array):
    """The filter words in SCALE-Sim's fold order (column folds outer, row folds inner):
    ws reads block (row fold, column fold), is the window rows of the row fold for every
    filter, os the column fold's filters for the whole window."""
    sr, sc, _ = S.operand_shape(layer, array.dataflow)
    window, filters = layer.weights_per_filter, layer.out_c
    for fc in range(-(-sc // array.cols)):
        for fr in range(-(-sr // array.rows)):
            if array.dataflow == "ws":
                rows = range(fr * array.rows, min((fr + 1) * array.rows, window))
                cols = range(fc * array.cols, min((fc + 1) * array.cols, filters))
            elif array.dataflow == "is":
                rows = range(fr * array.rows, min((fr + 1) * array.rows, window))
                cols = range(filters)
            else:
                rows = range(window)
                cols = range(fc * array.cols, min((fc + 1) * array.cols, filters))
            yield from (r * filters + c for r in rows for c in cols)


@settings(max_examples=120, deadline=None)
@given(
    st.integers(1, 16),
    st.integers(1, 3),
    st.integers(1, 24),
    st.integers(1, 12),
    st.integers(1, 12),
    st.integers(1, 6),
    st.sampled_from(S.DATAFLOWS),
    st.floats(0.01, 1.2),
)
@example(1, 3, 5, 1, 4, 2, "os", 20 / 45)  # a block longer than the epoch, then a shorter one
def test_filter_reads_are_scalesims_buffer_word_by_word(
    channels, k, filters, rows, cols, size, dataflow, share
):
    """filter_reads's closed form against SCALE-Sim's read buffer run on every filter word in
    fold order, at any epoch (tests/test_systolic_scalesim.py checks the same at 64 KiB
    against SCALE-Sim itself)."""
    layer = Layer("l", LayerKind.CONV, (), channels, size + k, size + k, filters, k, k, 1, 0)
    array = S.SystolicArray(rows, cols, dataflow)
    epoch = max(1, round(share * layer.weights))  # the buffer holds a share of the filters
    expected = _scalesim_buffer(_filter_stream(layer, array), epoch)
    assert S.filter_reads(layer, array, epoch) == expected


def test_a_stride_2_1x1_layer_reads_only_the_pixels_its_windows_touch():
    """ResNet-18 layer4.0.downsample: 256 x 7 x 7 = 12,544 words (docs/model.md)."""
    layer = {l.name: l for l in load_network("resnet18").mac_layers}["layer4.0.downsample.0"]
    assert S.ifmap_words(layer) == 12_544


def test_dram_bandwidth_bounds_a_layer_by_its_traffic():
    layer = load_network("lenet5").mac_layers[-2]
    array = S.SystolicArray(8, 8, "ws", dram_bytes_per_cycle=0.5)
    run = S.run_layer(layer, array, HW8)
    assert run.cycles == max(run.compute_cycles, math.ceil(run.dram_bytes / 0.5))
    assert run.cycles > run.compute_cycles  # 400,000 filter bytes at half a byte a cycle


def test_iso_area_is_the_largest_array_of_the_aspect_that_fits():
    hw, table = Hardware(), AreaTable()
    design = area_mm2(hw, table)
    ref = S.Reference()
    mac = S.iso_mac(ref, hw)
    assert (mac.rows, mac.cols) == (8, 16) and mac.macs == hw.lanes
    big = S.iso_area(ref, hw, table, design)
    assert big is not None and big.cols == round(big.rows * 2)

    def mm2(array):
        return sum(S.area_um2(array, hw, table).values()) / 1e6

    assert mm2(big) <= design < mm2(attrs.evolve(big, rows=big.rows + 1, cols=2 * big.rows + 2))
    assert S.iso_area(ref, hw, table, mm2(mac) / 10) is None  # not even 1 x 2 beside the SRAMs
    assert S.iso_area(ref, hw.ideal_memory(), table, math.inf) is None


def test_energy_is_counts_times_the_design_table():
    table = EnergyTable(mac_pj=1.0, noc_pj_per_byte=0.0, dram_pj_per_byte=10.0)
    layer = load_network("lenet5").mac_layers[0]
    array = S.SystolicArray(8, 8, "ws")
    run = S.run_layer(layer, array, HW8)
    energy = S.layer_energy(run, array, HW8, table)
    assert energy["mac"] == layer.dense_macs
    assert energy["dram"] == 10.0 * run.dram_bytes
    assert energy["noc"] == 0.0
    assert energy["static"] == S.static_mw(array, HW8, table) * 1e9 * run.cycles / HW8.clock_hz


BASE = {
    "workload": {"network": "lenet5"},
    "pruning": {"profile": "han2015-lenet5"},
    "mapping": {"tile_h": 0, "tile_w": 0},
    "hardware": {"pe_rows": 2, "pe_cols": 2, "dram_bytes_per_cycle": 8},
}


@pytest.mark.parametrize(
    "section, words",
    [
        ({"dataflow": "rs"}, ["dataflow", "'rs'", "ws, os, is"]),
        ({"kind": "tpu"}, ["kind", "'tpu'", "systolic"]),
        ({"rows": 4}, ["'rows' = 4", "cols"]),
        ({"rows": 4, "cols": 4}, ["rows x cols = 4 x 4", "32"]),
        ({"rows": 0, "cols": 4}, ["rows", "0"]),
        ({"ifmap_sram_bytes": -5}, ["ifmap_sram_bytes", "-5"]),
        ({"ifmap_sram_bytes": 10.5}, ["ifmap_sram_bytes", "10.5"]),
        ({"dram_bytes_per_cycle": 0}, ["dram_bytes_per_cycle", "0"]),
        ({"dataflw": "ws"}, ["unknown field 'dataflw'", "dataflow"]),
    ],
)
def test_a_bad_reference_section_is_one_line_naming_file_field_and_value(section, words):
    with pytest.raises(ConfigError) as err:
        scenario_from_dict({**BASE, "reference": section}, "s.toml")
    text = str(err.value)
    assert "\n" not in text and text.startswith("s.toml: [reference]")
    for w in words:
        assert w in text


def test_a_reference_section_sets_the_arrays():
    s = scenario_from_dict(
        {**BASE, "reference": {"dataflow": "os", "rows": 2, "cols": 16, "ifmap_sram_bytes": 4096}},
        "s.toml",
    )
    mac = S.iso_mac(s.reference, s.hardware)
    assert (mac.rows, mac.cols, mac.dataflow, mac.ifmap_sram_bytes) == (2, 16, "os", 4096)
    assert mac.filter_sram_bytes == s.hardware.weight_buffer_bytes


def _strict(text: str) -> dict:
    def refuse(name):
        raise ValueError(f"not strict JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def test_the_run_summary_compares_against_the_iso_mac_and_iso_area_arrays():
    from accelsim.pipeline import run_scenario

    outcome = run_scenario(scenario_from_dict(BASE, "s.toml"))
    summary = _strict(outcome.report.to_json())
    ref = summary["systolic_reference"]
    mac, area = ref["iso_mac"], ref["iso_area"]
    assert mac["rows"] * mac["cols"] == outcome.scenario.hardware.lanes
    assert area["area_mm2"] <= ref["design_area_mm2"] == summary["hardware"]["area_mm2"]["total"]
    total = summary["total"]
    assert total["speedup_vs_systolic_iso_mac"] == mac["cycles"] / total["cycles"]
    assert total["speedup_vs_systolic_iso_area"] == area["cycles"] / total["cycles"]
    energy = sum(total["energy_pj"].values())
    assert math.isclose(
        total["energy_vs_systolic_iso_mac"], sum(mac["energy_pj"].values()) / energy
    )
    for layer, cycles in zip(summary["layers"], mac["layer_cycles"]):
        assert layer["speedup_vs_systolic_iso_mac"] == cycles / layer["cycles"]
    assert sum(mac["layer_cycles"]) == mac["cycles"]
    assert "vs the dense systolic reference: iso-MAC 4x8 ws" in outcome.report.table()
    header = outcome.report.to_csv().splitlines()[0].split(",")
    assert header[-4:] == [
        "speedup_vs_systolic_iso_mac",
        "speedup_vs_systolic_iso_area",
        "energy_vs_systolic_iso_mac",
        "energy_vs_systolic_iso_area",
    ]
    no_baselines = run_scenario(scenario_from_dict(BASE, "s.toml"), baselines=False).report
    assert "systolic_reference" not in _strict(no_baselines.to_json())


def test_compare_reports_every_policy_against_both_arrays():
    from accelsim.policies import load_policy
    from accelsim.studies import compare

    scenario = scenario_from_dict(BASE, "s.toml")
    runs = compare.compare(scenario, [load_policy("lpt"), load_policy("round-robin")])
    ref = compare.reference(scenario, runs)
    data = _strict(compare.to_json(runs, ref, scenario.energy))
    assert data["systolic_reference"]["iso_mac"]["cycles"] == ref.iso_mac.cycles
    for row, run in zip(data["policies"], runs):
        assert row["speedup_vs_systolic_iso_mac"] == ref.iso_mac.cycles / run.result.makespan
        assert row["energy_vs_systolic_iso_area"] > 0
    assert "iso-MAC 4x8 ws" in compare.table(runs, ref, scenario.energy)


def test_compare_networks_weighs_the_best_policy_against_both_arrays():
    from accelsim.studies.scheduling_gain import measure, table

    (gain, _) = measure(["lenet5"], evaluations=2)
    row = gain.as_dict()
    assert row["speedup_vs_systolic_iso_mac"] == gain.iso_mac_cycles / gain.best
    assert row["energy_vs_systolic_iso_mac"] == gain.iso_mac_energy_uj / gain.energy_uj
    assert gain.iso_mac == "8x16 ws" and gain.iso_area is not None
    assert "iso-MAC" in table([gain])


def test_size_puts_the_dense_reference_of_every_grid_point_on_the_front():
    from accelsim.studies.sizing import size

    scenario = scenario_from_dict({**BASE, "baselines": False}, "s.toml")
    result = size(scenario, target_cycles=10**9, max_pes=4, scales=(1.0,), reference=True)
    assert [c.pes for c in result.references] == [8, 16, 32]  # lanes of 1, 2, 4 PEs
    assert all(c.design == "systolic ws" and c.feasible for c in result.references)
    assert result.best_reference == result.references[0]  # all meet it: the smallest
    for c in result.front:  # no point of either design beats a front point on all three
        assert not any(
            o.cycles <= c.cycles
            and o.energy_uj <= c.energy_uj
            and o.area_mm2 <= c.area_mm2
            and (o.cycles, o.energy_uj, o.area_mm2) != (c.cycles, c.energy_uj, c.area_mm2)
            for o in result.simulated + result.references
        )
    assert size(scenario, 10**9, max_pes=4, scales=(1.0,)).references == ()
