"""Every malformed or extreme input of fuzz_cases (every input format, every command): a
bad one is one line naming the file or flag, the field and the value, exit 2, with nothing
written that looks like a result; an extreme but valid one runs and its numbers hold
together. benchmarks/fuzz.py prints the count of each outcome over the same cases."""

import pytest

from fuzz_cases import all_cases, run_case

CASES = all_cases()


@pytest.mark.parametrize("case", CASES, ids=[f"{c.kind}: {c.name}" for c in CASES])
def test_each_case_is_a_clean_error_or_a_consistent_result(case, tmp_path):
    outcome, detail = run_case(case, tmp_path, seconds=120)
    want = "clean error" if case.expect == "reject" else "accepted"
    assert outcome == want, detail


def test_the_table_covers_every_input_format_and_command():
    kinds = {c.kind for c in CASES}
    assert {"scenario field", "scenario", "scenario pruning", "topology csv", "jobs csv",
            "sweep toml", "weights npz", "onnx", "flags", "accept"} <= kinds
    commands = {c.argv[0] for c in CASES}
    assert {"run", "schedule", "compare", "sweep", "size", "workload"} <= commands
