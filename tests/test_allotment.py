"""Allotments: a run that uses part of its buffers times exactly as the smaller buffers and
costs as the hardware built; a sweep runs each point at the best of its own run and of the
smaller points', so cycles never grow with a buffer."""

import attrs
import numpy as np
import pytest

from accelsim.errors import ConfigError
from accelsim.outputs.figures import heatmap_figure
from accelsim.pipeline import run_scenario
from accelsim.scenario import load_scenario
from accelsim.studies.sweep import ResultStore, load_sweep, run_sweep, sweep_rows

LENET = """name = "tiny"
seed = 1
policy = "lpt"
baselines = false
[workload]
network = "lenet5"
[pruning]
profile = "han2015-lenet5"
[hardware]
pe_rows = 1
pe_cols = 4
dram_bytes_per_cycle = 2
dram_latency_cycles = 20
input_queue_depth = 2
weight_buffer_bytes = 65536
input_buffer_bytes = 16384
output_buffer_bytes = 8192
"""


def lenet(tmp_path, mapping=""):
    path = tmp_path / "s.toml"
    path.write_text(LENET + mapping)
    return load_scenario(path)


@pytest.mark.parametrize(
    "allot",
    [
        {"weight_buffer_allotment_bytes": 2048},
        {"input_buffer_allotment_bytes": 4096, "output_buffer_allotment_bytes": 2048},
    ],
)
def test_an_allotment_times_as_smaller_buffers_and_costs_as_the_hardware_built(tmp_path, allot):
    sc = lenet(tmp_path)
    smaller = attrs.evolve(
        sc,
        hardware=attrs.evolve(
            sc.hardware, **{k.replace("_allotment", ""): v for k, v in allot.items()}
        ),
    )
    allotted = attrs.evolve(sc, mapping=attrs.evolve(sc.mapping, **allot))
    a, b, full = (run_scenario(s) for s in (smaller, allotted, sc))
    assert a.report.total.cycles == b.report.total.cycles != full.report.total.cycles
    assert [l.mapping for l in a.report.layers] == [l.mapping for l in b.report.layers]
    for column in a.result.transfers:
        assert np.array_equal(a.result.transfers[column], b.result.transfers[column])
    assert b.result.hw == sc.hardware  # energy and area are the built buffers'
    assert b.report.total.energy_pj["static"] > a.report.total.energy_pj["static"]
    for buffer, size in allot.items():
        part = buffer.replace("_allotment_bytes", "")
        per_byte = sc.energy.sram_pj_per_byte
        built = getattr(sc.hardware, buffer.replace("_allotment", ""))
        assert b.report.total.energy_pj[part] == pytest.approx(
            a.report.total.energy_pj[part] * per_byte(built) / per_byte(size)
        )


@pytest.mark.parametrize(
    "line, message",
    [
        ("weight_buffer_allotment_bytes = 70000", "more than the hardware's weight_buffer_bytes"),
        ("input_buffer_allotment_bytes = 0", "input_buffer_allotment_bytes' must be a whole"),
        ("output_buffer_allotment_bytes = 1024.5", "output_buffer_allotment_bytes' must be"),
        ("weight_buffer_allotment_bytes = true", "weight_buffer_allotment_bytes' must be"),
        (
            'objective = "energy"\nweight_buffer_allotment_bytes = 4096',
            "allotments are for the cycles objective only",
        ),
    ],
)
def test_bad_allotments_name_file_field_and_value(tmp_path, line, message):
    with pytest.raises(ConfigError, match=message) as err:
        lenet(tmp_path, f"[mapping]\n{line}\n")
    assert str(tmp_path / "s.toml") in str(err.value)


def test_a_layer_too_large_for_its_allotment_names_the_allotment(tmp_path):
    sc = lenet(tmp_path, "[mapping]\ntile_h = 0\ninput_buffer_allotment_bytes = 64\n")
    with pytest.raises(ConfigError) as err:
        run_scenario(sc)
    message = str(err.value)
    assert message.startswith(str(tmp_path / "s.toml"))
    assert "raise [mapping] input_buffer_allotment_bytes (now 64; the buffer built holds " in (
        message
    )
    assert "hardware.input_buffer_bytes" not in message


# layer3.1.conv2 with 4-filter jobs in 4 splits and a 32 KiB input buffer: 128 KiB of weight
# buffer lets the loader issue longer runs of loads, so the write-backs wait longer for idle
# port cycles and jobs wait for output space: 64 KiB runs faster (docs/model.md, "Sweeps").
SLOWER_WITH_MORE = """name = "l31"
seed = 1
policy = "lpt"
baselines = false
[workload]
network = "resnet18"
layers = ["layer3.1.conv2"]
[pruning]
profile = "distiller-resnet18-agp"
[mapping]
tile_h = 14
tile_w = 14
filters_per_job = 4
channel_splits = 4
[hardware]
pe_rows = 4
pe_cols = 4
input_buffer_bytes = 32768
output_buffer_bytes = 131072
"""


def sweep_of(tmp_path, base, grid):
    (tmp_path / "base.toml").write_text(base)
    (tmp_path / "w.toml").write_text(f'name = "w"\nbase = "base.toml"\n[grid]\n{grid}')
    return load_sweep(tmp_path / "w.toml")


def test_a_point_runs_as_the_smaller_point_where_that_is_faster_and_resumes(tmp_path):
    sweep = sweep_of(tmp_path, SLOWER_WITH_MORE, '"hardware.weight_buffer_bytes" = [65536, 131072]')
    store = ResultStore(tmp_path / "r.sqlite")
    assert run_sweep(sweep, store, quiet=True) == 2
    own = {r["point"]: r for r in store.rows(p.key for p in sweep.points)}
    assert own[1]["cycles"] > own[0]["cycles"]  # the loader's anomaly is still there
    rows = sweep_rows(sweep, store)
    assert [r["allotted_from_point"] for r in rows] == [None, 0]
    assert [r["allotment"] for r in rows] == ["", "weight_buffer_allotment_bytes = 65536"]
    figure = heatmap_figure(
        [{**r, "y": 1} for r in rows], "hardware.weight_buffer_bytes", "y", "cycles"
    )
    labels = [t.get_text() for t in figure.axes[0].texts]
    assert labels[1].endswith("*") and not labels[0].endswith("*")
    assert any("smaller point" in t.get_text() for t in figure.texts)
    assert rows[1]["cycles"] == own[0]["cycles"]
    assert rows[1]["cycles_full_buffers"] == own[1]["cycles"]
    assert rows[1]["energy_uj"] > own[0]["energy_uj"]  # the larger SRAM's energy per byte
    assert rows[1]["area_mm2"] == own[1]["area_mm2"] > own[0]["area_mm2"]
    assert len(store.keys()) == 3
    assert run_sweep(sweep, store, quiet=True) == 0  # resumed: nothing runs again
    assert len(store.keys()) == 3 and sweep_rows(sweep, store) == rows
    store.close()


@pytest.mark.slow
def test_sweep_cycles_never_grow_with_any_buffer(tmp_path):
    grid = (
        '"hardware.weight_buffer_bytes" = [32768, 65536, 131072]\n'
        '"hardware.input_buffer_bytes" = [32768, 65536]\n'
        '"hardware.output_buffer_bytes" = [65536, 131072]\n'
    )
    sweep = sweep_of(tmp_path, SLOWER_WITH_MORE, grid)
    store = ResultStore(tmp_path / "r.sqlite")
    run_sweep(sweep, store, jobs=2, quiet=True)
    rows = {r["point"]: r for r in sweep_rows(sweep, store)}
    own = {r["point"]: r for r in store.rows(p.key for p in sweep.points)}
    store.close()
    allotted = [r for r in rows.values() if r["allotted_from_point"] is not None]
    assert len(allotted) >= 2  # the loader's anomaly shows on this grid
    for row in allotted:  # the smaller point's timing, exactly
        assert row["cycles"] == own[row["allotted_from_point"]]["cycles"]
        assert row["cycles"] < row["cycles_full_buffers"] == own[row["point"]]["cycles"]
    for p in sweep.points:
        for q in sweep.points:
            if all(q.params[a] <= p.params[a] for a in sweep.axes):
                assert rows[p.index]["cycles"] <= rows[q.index]["cycles"], (p.params, q.params)


def test_a_sweep_file_run_as_a_scenario_says_to_sweep_it(tmp_path):
    sweep_of(tmp_path, LENET, '"hardware.pe_cols" = [1, 2]')
    with pytest.raises(ConfigError, match="a sweep file .*: run it with accelsim sweep"):
        load_scenario(tmp_path / "w.toml")


def test_a_store_reused_after_the_grid_is_reordered_matches_rows_by_configuration(tmp_path):
    grid = (
        '"hardware.weight_buffer_bytes" = [65536, 131072]\n'
        '"hardware.output_buffer_bytes" = [65536, 131072]\n'
    )
    sweep = sweep_of(tmp_path, SLOWER_WITH_MORE, grid)
    store = ResultStore(tmp_path / "r.sqlite")
    run_sweep(sweep, store, quiet=True)
    before = {r["key"]: (r["cycles"], r["allotted_from_point"]) for r in sweep_rows(sweep, store)}
    stored = len(store.keys())
    reordered = sweep_of(tmp_path, SLOWER_WITH_MORE, "\n".join(reversed(grid.split("\n")[:2])))
    assert [p.index for p in reordered.points] != [
        next(q.index for q in sweep.points if q.key == p.key) for p in reordered.points
    ]
    assert run_sweep(reordered, store, quiet=True) == 0
    assert len(store.keys()) == stored  # no allotment run again
    rows = sweep_rows(reordered, store)
    store.close()
    index = {p.index: p.key for p in sweep.points}
    for row in rows:
        cycles, smaller = before[row["key"]]
        assert row["cycles"] == cycles
        assert (smaller is None) == (row["allotted_from_point"] is None)
        if smaller is not None:  # the same configuration, under its new number
            new = next(p.index for p in reordered.points if p.key == index[smaller])
            assert row["allotted_from_point"] == new


def test_buffers_set_by_a_table_axis_get_allotments_too(tmp_path):
    table = "{{ pe_rows = 4, pe_cols = 4, input_buffer_bytes = 32768, weight_buffer_bytes = {} }}"
    grid = f"hardware = [{table.format(65536)}, {table.format(131072)}]\n"
    sweep = sweep_of(tmp_path, SLOWER_WITH_MORE, grid)
    store = ResultStore(tmp_path / "r.sqlite")
    run_sweep(sweep, store, quiet=True)
    rows = sweep_rows(sweep, store)
    store.close()
    assert [r["allotted_from_point"] for r in rows] == [None, 0]
    assert rows[1]["cycles"] == rows[0]["cycles"] < rows[1]["cycles_full_buffers"]


def test_compare_and_size_respect_allotments(tmp_path):
    from accelsim.policies import load_policy
    from accelsim.studies.compare import compare
    from accelsim.studies.sizing import size

    sc = lenet(tmp_path, "[mapping]\nweight_buffer_allotment_bytes = 2048\n")
    (run,) = compare(sc, [load_policy("lpt")])
    assert run.result.makespan == run_scenario(sc).report.total.cycles
    assert run.result.hw == sc.hardware
    with pytest.raises(ConfigError, match="accelsim size scales the buffers"):
        size(sc, 10**6)
