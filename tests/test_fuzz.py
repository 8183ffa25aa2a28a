"""Every malformed or extreme input of fuzz_cases (every input format, every command): a
bad one is one line naming the file or flag, the field and the value, exit 2, with nothing
written that looks like a result; an extreme but valid one runs and its numbers hold
together. benchmarks/fuzz.py prints the count of each outcome over the same cases."""

import subprocess
import sys

import pytest
from fuzz_cases import all_cases, run_case, scenario

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
