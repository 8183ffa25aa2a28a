"""Every malformed or extreme input of fuzz_cases (every input format, every command): a
bad one is one line naming the file or flag, the field and the value, exit 2, with nothing
written that looks like a result; an extreme but valid one runs and its numbers hold
together. benchmarks/fuzz.py prints the count of each outcome over the same cases."""

import json
import math
import subprocess
import sys

import attrs
import pytest
from fuzz_cases import Case, all_cases, run_args, run_case, scenario
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

CASES = all_cases()


@pytest.mark.parametrize("case", CASES, ids=[f"{c.kind}: {c.name}" for c in CASES])
def test_each_case_is_a_clean_error_or_a_consistent_result(case, tmp_path):
    outcome, detail = run_case(case, tmp_path, seconds=120)
    want = "clean error" if case.expect == "reject" else "accepted"
    assert outcome == want, detail


def test_the_table_covers_every_input_format_and_command():
    kinds = {c.kind for c in CASES}
    assert {
        "scenario field",
        "scenario",
        "scenario pruning",
        "profile toml",
        "topology csv",
        "scale-sim csv",
        "jobs csv",
        "sweep toml",
        "weights npz",
        "onnx",
        "ncnn wheel",
        "flags",
        "accept",
    } <= kinds
    commands = {c.argv[0] for c in CASES}
    assert {"run", "schedule", "compare", "sweep", "size", "workload"} <= commands


# ---- a handful of real processes: what only a process shows (exit status, tracebacks on
# the real stderr, pipes, `python -m`) ----------------------------------------------------


def _accelsim(*argv, cwd, **kwargs):
    return subprocess.Popen(
        [sys.executable, "-m", "accelsim", *argv],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **kwargs,
    )


def test_a_bad_scenario_in_a_real_process_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "s.toml").write_bytes(scenario(hardware="pe_rows = 10000000000000000000000"))
    proc = _accelsim("run", "s.toml", "--out", "out", cwd=tmp_path)
    out, err = proc.communicate(timeout=120)
    lines = err.decode().strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1, err
    assert "s.toml" in lines[0] and "pe_rows" in lines[0] and "Traceback" not in lines[0]
    assert not (tmp_path / "out").exists()


def test_a_reader_that_leaves_early_neither_breaks_the_command_nor_loses_its_files(tmp_path):
    """`accelsim workload s.toml | head -1`: the first line is read, the pipe is closed, and
    the command still writes its PNG and exits 0 with nothing on stderr."""
    (tmp_path / "s.toml").write_bytes(scenario())
    proc = _accelsim("workload", "s.toml", "--out", "out", cwd=tmp_path)
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 0, err
    assert first.startswith(b"lenet5") and err == b""
    assert (tmp_path / "out" / "nnz_histograms.png").stat().st_size > 0


def test_the_topology_writer_needs_a_folder_and_help_writes_nothing(tmp_path):
    def zoo(*argv):
        return subprocess.run(
            [sys.executable, "-m", "accelsim.workload.networks.zoo", *argv],
            cwd=tmp_path,
            capture_output=True,
            timeout=120,
        )

    assert zoo("--help").returncode == 0
    bare = zoo()
    assert bare.returncode == 2 and b"folder" in bare.stderr
    assert list(tmp_path.iterdir()) == []  # no '--help' folder, nothing written
    (tmp_path / "f").write_text("")
    under_a_file = zoo("f/x")
    assert under_a_file.returncode == 2 and b"f/x" in under_a_file.stderr
    assert b"Traceback" not in under_a_file.stderr


# ---- properties: any mutation of a valid scenario -----------------------------------------


def _toml_value(value) -> str:
    """TOML text of a value hypothesis drew (TOML spells nan and inf as words)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return ("-inf" if value < 0 else "inf") if math.isinf(value) else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)  # JSON's escapes are TOML's
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"


SCALARS = (
    st.integers(-(2**70), 2**70)
    | st.sampled_from([0, 1, -1, 2, 3, 4, 64, 65536, 2**31, 2**63, 10**30])
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([0.0, 0.5, 1.0, 1.5, 1e-9, 1e300])
    | st.booleans()
    | st.text(max_size=12)
    | st.sampled_from(["auto", "lenet5", "lpt", "dense", "", "fixed", "ws"])
)
VALUES = (
    SCALARS
    | st.lists(SCALARS, max_size=3)
    | st.dictionaries(st.text(max_size=6), SCALARS, max_size=2)
)


def _fields(table: str) -> list[str]:
    """The fields a table knows (from its class), so mutations hit real fields mostly."""
    import attrs

    from accelsim import config, scenario
    from accelsim.engine.systolic import Reference

    classes = {
        "hardware": config.Hardware,
        "mapping": config.Mapping,
        "energy": config.EnergyTable,
        "area": config.AreaTable,
        "reference": Reference,
    }
    if table in classes:
        return [f.name for f in attrs.fields(classes[table])]
    return {
        "workload": list(scenario._WORKLOAD),
        "pruning": sorted(scenario._PRUNING),
        "": sorted(scenario._TOP - set(TABLES)),  # the top level's own fields
        "policy_options": ["evaluations", "seed", "time_limit_s", "workers"],
    }[table]


TABLES = (
    "",
    "workload",
    "pruning",
    "mapping",
    "hardware",
    "energy",
    "area",
    "reference",
    "policy_options",
)


@st.composite
def mutations(draw):
    """A valid scenario with one to three fields set to drawn values (a known field mostly,
    sometimes a made-up one): (TOML bytes, the mutations)."""
    tables = {"": {}, **{t: {} for t in TABLES[1:]}}
    tables["workload"]["network"] = '"lenet5"'
    tables["pruning"]["profile"] = '"han2015-lenet5"'
    tables["hardware"].update(pe_rows="2", pe_cols="2")
    tables["mapping"]["tile_h"] = "0"
    changes = []
    for _ in range(draw(st.integers(1, 3))):
        table = draw(st.sampled_from(TABLES))
        key = draw(
            st.sampled_from(_fields(table))
            | st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8)
        )
        value = _toml_value(draw(VALUES))
        tables[table][key] = value
        changes.append((table, key, value))
    if tables["policy_options"]:
        tables[""].setdefault("policy", '"hardware-aware"')
    lines = [f"{json.dumps(k)} = {v}" for k, v in tables[""].items()]
    for table in TABLES[1:]:
        if tables[table]:
            lines.append(f"[{table}]")
            lines += [f"{json.dumps(k)} = {v}" for k, v in tables[table].items()]
    return ("\n".join(lines) + "\n").encode(), changes


def _judge_load(path):
    """Loading gives a scenario, or one line that names the file; nothing else."""
    from accelsim.errors import ConfigError
    from accelsim.scenario import load_scenario

    try:
        return load_scenario(path)
    except ConfigError as exc:
        text = str(exc)
        assert "\n" not in text and str(path) in text, text
        return None


@given(mutations())
@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_mutation_of_a_valid_scenario_loads_or_is_one_line_naming_the_file(tmp_path, mutated):
    text, _ = mutated
    path = tmp_path / "s.toml"
    path.write_bytes(text)
    _judge_load(path)


@given(st.binary(max_size=8), st.integers(0, 10**6), st.booleans())
@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_byte_damage_to_a_valid_scenario_loads_or_is_one_line_naming_the_file(
    tmp_path, junk, at, insert
):
    """Bytes put into (or over) a valid file anywhere: a bad UTF-8 sequence, a broken
    string, a control character."""
    good = scenario()
    at %= len(good) + 1
    text = good[:at] + junk + good[at + (0 if insert else len(junk)) :]
    path = tmp_path / "s.toml"
    path.write_bytes(text)
    _judge_load(path)


@pytest.mark.slow
@given(mutations())
@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_mutation_of_a_valid_scenario_runs_or_exits_2_with_one_line(tmp_path_factory, mutated):
    """The whole command: a run that is accepted writes consistent numbers (the judge of
    fuzz_cases); one that is refused is exit 2, one line naming the file, nothing written."""
    text, changes = mutated
    case = Case("mutation", "property", {"s.toml": text}, run_args(), "accept")
    directory = tmp_path_factory.mktemp("m")
    outcome, detail = run_case(case, directory, seconds=120)
    if outcome == "accepted":
        return
    reject = attrs.evolve(case, expect="reject", words=("s.toml",))
    outcome, detail = run_case(reject, tmp_path_factory.mktemp("m"), seconds=120)
    assert outcome == "clean error", (changes, detail)
