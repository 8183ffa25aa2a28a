"""Static energy is leakage power times run time; area is the sum of its parts. Both follow
the resources: more lanes or buffer bytes leak and take area, whatever the work."""

import math

import attrs
import pytest

from accelsim.config import AreaTable, EnergyTable, Hardware
from accelsim.engine.area import AREA_KEYS, area_um2, lane_um2
from accelsim.errors import ConfigError
from accelsim.pipeline import run_scenario
from accelsim.scenario import scenario_from_dict

LEAK = {
    "lane_leakage_uw": 3.0,
    "sram_leakage_uw_per_kib": 7.0,
    "sram_leakage_uw_per_bank": 5.0,
    "dram_interface_mw": 11.0,
    "flip_flop_leakage_nw": 2.0,
    "full_adder_leakage_nw": 1.0,
}
INDEX_UW = 4 * (1.0 + 2.0) / 1000  # per lane: 4 index bits, an adder and a flip-flop
LENET = {
    "workload": {"network": "lenet5"},
    "pruning": {"profile": "han2015-lenet5"},
    "baselines": False,
    "energy": LEAK,
    "hardware": {
        "pe_rows": 2,
        "pe_cols": 2,
        "weight_buffer_bytes": 16384,
        "input_buffer_bytes": 32768,
        "output_buffer_bytes": 16384,
    },
}


def _run(**hardware):
    data = {**LENET, "hardware": {**LENET["hardware"], **hardware}}
    return run_scenario(scenario_from_dict(data, "<t>")).report


def test_static_energy_is_the_chips_leakage_times_each_layers_run_time():
    report = _run()
    kib = (16384 + 32768 + 16384) / 1024
    banks = kib / 8  # 8 KiB banks by default
    ports_uw = 4 * 2 * 64 * 8 * 2.0 / 1000  # per PE, in and out bus registers
    power_mw = (4 * 8 * (3.0 + INDEX_UW) + kib * 7.0 + banks * 5.0 + ports_uw) / 1000 + 11.0
    for layer in report.layers:
        assert layer.energy_pj["static"] == pytest.approx(power_mw * 1e9 * layer.seconds)
    assert report.total.energy_pj["static"] == pytest.approx(power_mw * 1e9 * report.total.seconds)


def test_static_energy_grows_linearly_with_run_time_at_equal_work():
    """A slower DRAM port stretches the run; the work and the chip stay the same."""
    fast, slow = _run(dram_bytes_per_cycle=16), _run(dram_bytes_per_cycle=1)
    assert slow.total.cycles > fast.total.cycles
    assert slow.total.executed_macs == fast.total.executed_macs
    assert slow.total.energy_pj["mac"] == fast.total.energy_pj["mac"]
    assert slow.total.energy_pj["static"] / fast.total.energy_pj["static"] == pytest.approx(
        slow.total.cycles / fast.total.cycles
    )


@pytest.mark.parametrize("pes", [(1, 1), (1, 2), (2, 2), (2, 4)])
def test_static_power_grows_linearly_with_lanes_and_buffer_bytes(pes):
    """Per cycle of run time, static energy is affine in lanes and in KiB (banks grow with
    the KiB: 8 KiB each by default), at equal work."""
    rows, cols = pes
    per_cycle = {}
    for lanes in (4, 8):
        for scale in (1, 2):
            r = _run(
                pe_rows=rows,
                pe_cols=cols,
                macs_per_cycle=lanes,
                weight_buffer_bytes=16384 * scale,
                input_buffer_bytes=32768 * scale,
                output_buffer_bytes=16384 * scale,
            )
            assert r.total.executed_macs == r.total.pruned_macs  # the same work every time
            per_cycle[lanes, scale] = r.total.energy_pj["static"] / r.total.cycles
    # 1 GHz: 1 mW for one cycle is 1 pJ
    per_lane = (per_cycle[8, 1] - per_cycle[4, 1]) / (rows * cols * 4)
    per_kib = (per_cycle[4, 2] - per_cycle[4, 1]) / 64
    assert per_lane == pytest.approx((3.0 + INDEX_UW) / 1000)
    assert per_kib == pytest.approx((7.0 + 5.0 / 8) / 1000)
    assert per_cycle[8, 2] - per_cycle[4, 1] == pytest.approx(
        rows * cols * 4 * per_lane + 64 * per_kib
    )


def test_ideal_memory_leaks_only_in_lanes_their_decoders_and_the_dram():
    """Unbounded buffers and interconnect have no size; the lanes and decoders still leak:
    the NanGate cells' figures, 9.45 uW a lane and 4 x (FA_X1 + DFF_X1) per decoder."""
    hw = Hardware().ideal_memory()
    decoder_uw = 4 * (75.76 + 79.11) / 1000
    assert EnergyTable().static_mw(hw) == pytest.approx(
        hw.lanes * (9.45 + decoder_uw) / 1000 + 27.0
    )


@pytest.mark.parametrize(
    "bank_bytes, banks", [(8192, 64), (4096, 128), (65536, 8), (3000, 44 + 88 + 44)]
)
def test_more_banks_at_equal_capacity_cost_periphery_area_and_leakage(bank_bytes, banks):
    """A buffer is ceil(capacity / bank) macros; each adds its periphery and leakage."""
    hw = attrs.evolve(Hardware(), sram_bank_bytes=bank_bytes)  # 128 + 256 + 128 KiB
    assert hw.buffer_kib_and_banks == (512, banks)
    table, energy = AreaTable(), EnergyTable()
    parts = area_um2(hw, table)
    buffers = parts["weight_buffer"] + parts["input_buffer"] + parts["output_buffer"]
    assert buffers == pytest.approx(512 * 4551.0 + banks * 195.0)
    logic_uw = hw.lanes * 4 * (75.76 + 79.11) / 1000 + 16 * 2 * 512 * 79.11 / 1000
    assert energy.static_mw(hw) == pytest.approx(
        (hw.lanes * 9.45 + 512 * 211.7 + banks * 22.4 + logic_uw) / 1000 + 27.0
    )


def test_a_bank_size_out_of_range_is_one_line():
    with pytest.raises(
        ConfigError,
        match=r"<t>: \[hardware\] 'sram_bank_bytes' must be an "
        r"integer from 64 to ",
    ):
        scenario_from_dict({**LENET, "hardware": {"sram_bank_bytes": 32}}, "<t>")


def test_area_is_the_sum_of_its_components_and_scales_with_them():
    table = AreaTable()
    hw = Hardware()
    parts = area_um2(hw, table)
    assert list(parts) == AREA_KEYS
    assert lane_um2(hw, table) == 282.0 + 36.0 * 3  # 8 x 8 multiply, 24-bit add
    wide = attrs.evolve(hw, weight_bits=16, activation_bits=16)
    assert lane_um2(wide, table) == 4 * 282.0 + 36.0 * 3  # multiplier grows as w x a
    double = attrs.evolve(hw, pe_cols=8)
    grown = area_um2(double, table)
    for k in ("mac", "index", "noc"):
        assert grown[k] == pytest.approx(2 * parts[k]), k
    for k in ("weight_buffer", "input_buffer", "output_buffer"):
        assert grown[k] == parts[k], k
    assert parts["input_buffer"] == pytest.approx(256 * 4551.0 + 32 * 195.0)  # 32 banks
    assert area_um2(attrs.evolve(hw, index_bits=0), table)["index"] == 0
    assert math.isinf(area_um2(hw.ideal_memory(), table)["weight_buffer"])


@pytest.mark.parametrize(
    "section, field, value, unit",
    [
        ("energy", "lane_leakage_uw", -1.0, "uW"),
        ("energy", "dram_interface_mw", "x", "mW"),
        ("energy", "sram_leakage_uw_per_kib", math.inf, "uW"),
        ("area", "sram_um2_per_kib", -5, r"um\^2"),
        ("area", "flip_flop_um2", True, r"um\^2"),
    ],
)
def test_bad_static_or_area_figures_are_one_line_naming_the_field(section, field, value, unit):
    with pytest.raises(
        ConfigError,
        match=rf"<t>: \[{section}\] '{field}' must be a number of "
        rf"{unit} from 0 to ",
    ):
        scenario_from_dict({**LENET, section: {field: value}}, "<t>")


def test_an_unknown_area_field_is_refused():
    with pytest.raises(ConfigError, match=r"<t>: \[area\]"):
        scenario_from_dict({**LENET, "area": {"mac_um2": 1.0}}, "<t>")


def test_static_power_follows_the_logic_the_area_counts():
    """Index decoders and interconnect ports take area (accelsim.engine.area) and leak likewise:
    no index bits, no decoder leakage; a bus twice as wide, twice the port registers."""
    table, hw = EnergyTable(), Hardware()
    no_index = attrs.evolve(hw, index_bits=0)
    assert table.static_mw(hw) - table.static_mw(no_index) == pytest.approx(
        hw.lanes * 4 * (75.76 + 79.11) / 1e6
    )
    wide = attrs.evolve(hw, noc_bytes_per_cycle=128)
    assert table.static_mw(wide) - table.static_mw(hw) == pytest.approx(
        hw.n_pes * 2 * 512 * 79.11 / 1e6
    )
