import re
from pathlib import Path

import pytest

from accelsim.errors import ConfigError
from accelsim.scenario import load_scenario

SCENARIOS = sorted(Path(__file__).parent.parent.glob("scenarios/*.toml"))
BASE = """
[workload]
network = "lenet5"
[pruning]
profile = "han2015-lenet5"
"""


def write(tmp_path, text, name="s.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_every_shipped_scenario_loads(path):
    scenario = load_scenario(path)
    assert scenario.hardware.n_pes >= 1 and scenario.network.mac_layers


@pytest.mark.parametrize(
    "extra, message",
    [
        (
            "[hardware]\npe_rows = 0",
            r"s.toml: \[hardware\] 'pe_rows' must be an integer from 1 to "
            r"65,536: 0",
        ),
        (
            "[hardware]\ndram_bytes_per_cycle = -4",
            r"s.toml: \[hardware\] 'dram_bytes_per_cycle' must be a number from 0.000976562 to "
            r"1,099,511,627,776 bytes per cycle, or inf: -4",
        ),
        ("[hardware]\nnoc_bytes_per_cycle = 0", r"'noc_bytes_per_cycle' must be a number from"),
        ("[hardware]\nnoc_bytes_per_cycle = nan", r"'noc_bytes_per_cycle' must be .*: nan"),
        ("[hardware]\nweight_buffer_bytes = 10.5", r"'weight_buffer_bytes' must be a whole number"),
        ("[hardware]\nweight_buffer_bytes = 1e30", r"'weight_buffer_bytes' must be .*: 1e\+30"),
        ('[hardware]\npe_cols = "four"', r"'pe_cols' must be an integer from 1 to 65,536: 'four'"),
        (
            "[hardware]\npe_rows = 1000000000000000000000000000000",
            r"'pe_rows' must be an integer from 1 to 65,536: 1000000000000000000000000000000",
        ),
        ("[hardware]\npe_rows = 1024\npe_cols = 1024", r"at most 65,536 PEs: 1024 x 1024"),
        (
            "[hardware]\nweight_bits = 4611686018427387904",
            r"'weight_bits' must be an integer from 1 "
            r"to 64",
        ),
        (
            "[hardware]\njob_overhead_cycles = 576460752303423488",
            r"'job_overhead_cycles' must be an integer from 0 to 4,294,967,296",
        ),
        ("[hardware]\nclock_hz = inf", r"'clock_hz' must be a frequency from 1e3 to 1e13 Hz: inf"),
        ("[hardware]\nmulticast = 1", r"'multicast' must be true or false: 1"),
        ("[hardware]\nlanes = 4", r"\[hardware\] unknown field 'lanes' \(known: activation_bits"),
        (
            "[hardware]\npe_row = 4",
            r"\[hardware\] unknown field 'pe_row'; did you mean 'pe_rows'\?",
        ),
        ("[mapping]\ntile_h = -1", r"\[mapping\] 'tile_h' must be an integer from 0 to 65,536: -1"),
        ("[energy]\nmac_pj = -1", r"\[energy\] 'mac_pj' must be a number of pJ from 0 to 1e6: -1"),
        ("[energy]\nmac_pj = inf", r"'mac_pj' must be a number of pJ from 0 to 1e6: inf"),
        ("[energy]\nmac_pj = true", r"'mac_pj' must be a number of pJ from 0 to 1e6: True"),
        ("seed = -3", r"s.toml: seed = -3: must be an integer >= 0"),
        ("colour = 1", r"s.toml: unknown field 'colour'"),
        ('baselines = "yes"', r"baselines = 'yes': must be true or false"),
    ],
)
def test_malformed_values_name_file_field_and_value(tmp_path, extra, message):
    text = (extra + BASE) if not extra.startswith("[") else (BASE + extra)
    with pytest.raises(ConfigError, match=message):
        load_scenario(write(tmp_path, text))


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "[workload]\nnetwork = 'nope'\n[pruning]\ndense = true",
            r"s.toml: \[workload\] network: network 'nope' is neither a shipped topology",
        ),
        ("[pruning]\ndense = true", r"\[workload\] network is missing"),
        (
            "[workload]\nnetwork = 'lenet5'\n[pruning]\ndensity = 1.5",
            r"s.toml: \[pruning\]: density = 1.5: must be a number in \[0.0, 1.0\]",
        ),
        (
            "[workload]\nnetwork = 'lenet5'\n[pruning]\ndensity = 0.3\ndense = true",
            r"\[pruning\] needs exactly one of",
        ),
        (
            "[workload]\nnetwork = 'lenet5'\n[pruning]\nweights = 'missing.npz'",
            r"\[pruning\] weights = 'missing.npz': no such file",
        ),
        (
            "[workload]\nnetwork = 'lenet5'\nlayers = ['conv9']\n[pruning]\ndense = true",
            r"\[workload\] layers: lenet5 has no MAC layer 'conv9'; did you mean 'conv[12]'\?",
        ),
        (
            "[workload]\nnetwork = 'lenet5'\nlayers = ['ip1', 'ip1']\n[pruning]\ndense = true",
            r"\[workload\] layers: 'ip1' is listed twice",
        ),
        ("[workload\n", r"s.toml: not valid TOML"),
    ],
)
def test_malformed_sections(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_scenario(write(tmp_path, text))


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="nothere.toml: cannot read scenario"):
        load_scenario(tmp_path / "nothere.toml")


def test_relative_topology_and_layer_subset(tmp_path):
    from accelsim.workload import load_network, write_topology

    (tmp_path / "net.csv").write_text(write_topology(load_network("lenet5")))
    scenario = load_scenario(
        write(
            tmp_path,
            "[workload]\nnetwork = 'net.csv'\nlayers = ['conv2', 'ip1']\n[pruning]\ndense = true",
        )
    )
    assert [p.layer.name for p in scenario.pruned().layers] == ["conv2", "ip1"]


@pytest.mark.parametrize(
    "pruning, message",
    [
        (
            'profile = "han2015-lenet5"\ncv = 0.5',
            r"\[pruning\] cv = 0.5 has no effect with profile",
        ),
        (
            'profile = "han2015-lenet5"\nmethod = "global"',
            r"method = 'global' has no effect with "
            r"profile",
        ),
        (
            "density = 0.3\nkeep = 0.5",
            r"keep = 0.5 has no effect with density \(it goes with: cv\)",
        ),
        ('weights = "lenet5_han2015"\nn = 2', r"n = 2 has no effect with method = 'layer'"),
        (
            'weights = "lenet5_han2015"\nmethod = "nm"\nn = 2\nm = 1000000',
            r"n = 2, m = 1000000: need integers 1 <= n <= m <= 256",
        ),
        (
            'weights = "lenet5_han2015"\nkeep = {conv9 = 0.5}',
            r"keep.conv9: lenet5 has no MAC layer 'conv9'; did you mean 'conv2'\?",
        ),
        (
            'weights = "lenet5_han2015"\nkeep = {conv1 = nan}',
            r"keep.conv1 = nan: must be a fraction",
        ),
        ("dense = true\ncv = 0.3", r"cv = 0.3 has no effect with dense"),
    ],
)
def test_pruning_fields_that_would_be_ignored_or_cannot_apply_are_rejected(
    tmp_path, pruning, message
):
    path = tmp_path / "s.toml"
    path.write_text(f'[workload]\nnetwork = "lenet5"\n[pruning]\n{pruning}\n')
    with pytest.raises(ConfigError, match=message):
        load_scenario(path)


@pytest.mark.parametrize(
    "edit, hint",
    [
        (
            ('profile = "distiller-resnet18-agp"', 'profile = "distiller-resnet18-agpp"'),
            "did you mean 'distiller-resnet18-agp'?",
        ),
        (('policy = "lpt"', 'policy = "kk+improv"'), "did you mean 'kk+improve'?"),
    ],
)
def test_misspelt_profile_and_policy_names_get_the_closest_name(tmp_path, edit, hint):
    text = (Path(__file__).parent.parent / "scenarios" / "default.toml").read_text()
    path = tmp_path / "s.toml"
    path.write_text(text.replace(*edit))
    with pytest.raises(ConfigError, match=re.escape(hint)):
        load_scenario(path)


def test_every_shipped_sweep_file_loads():
    # its base scenario and every point checked as `accelsim sweep` would, before any run
    from accelsim.studies.sweep import load_sweep

    sweeps = sorted((SCENARIOS[0].parent / "sweeps").glob("*.toml"))
    assert len(sweeps) >= 5
    for path in sweeps:
        assert load_sweep(path).points
