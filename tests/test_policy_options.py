"""Policy options: keyword arguments of a policy's constructor, from the scenario's
[policy_options] table or `run --policy-option KEY=VALUE`, checked before anything runs."""

import json

import pytest

from accelsim.cli import main
from accelsim.errors import PolicyError
from accelsim.policies import load_policy

SCENARIO = (
    "name = 'small'\nseed = 4\npolicy = 'hardware-aware'\n[workload]\n"
    "network = 'lenet5'\n[pruning]\nprofile = 'han2015-lenet5'\n[hardware]\n"
    "pe_rows = 2\npe_cols = 2\n"
)


def test_options_reach_the_policy_and_plus_improve_passes_them_on():
    assert load_policy("hardware-aware", {"evaluations": 7, "seed": 3}).evaluations == 7
    assert load_policy("exact", {"time_limit_s": 0.5}).time_limit_s == 0.5
    assert load_policy("exact+improve", {"time_limit_s": 1}).base.time_limit_s == 1


@pytest.mark.parametrize(
    "options, words",
    [
        ({"evaluation": 5}, "did you mean 'evaluations'"),
        ({"evaluations": -1}, "evaluations = -1: must be an integer >= 0"),
        ({"evaluations": 2.5}, "evaluations = 2.5"),
        ({"evaluations": True}, "evaluations = True"),
        ({"seed": 2**70}, "seed = "),
    ],
)
def test_bad_options_name_the_option_and_value(options, words):
    with pytest.raises(PolicyError, match=words.replace("(", r"\(")):
        load_policy("hardware-aware", options)


def test_a_number_must_be_finite_and_a_policy_without_options_takes_none():
    with pytest.raises(PolicyError, match="time_limit_s = nan"):
        load_policy("exact", {"time_limit_s": float("nan")})
    with pytest.raises(PolicyError, match="options: none"):
        load_policy("lpt", {"depth": 2})


def test_the_scenario_table_and_the_command_line_set_the_budget(tmp_path, capsys):
    path = tmp_path / "s.toml"
    path.write_text(SCENARIO + "[policy_options]\nevaluations = 9\n")
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "-q", "--no-plots"]) == 0
    first = json.loads((out / "summary.json").read_text())
    assert (
        main(
            [
                "run",
                str(path),
                "--out",
                str(out),
                "-q",
                "--no-plots",
                "--policy-option",
                "evaluations=9",
                "--policy-option",
                "seed=0",
            ]
        )
        == 0
    )
    assert json.loads((out / "summary.json").read_text())["total"] == first["total"]


@pytest.mark.parametrize(
    "extra, argv, words",
    [
        (
            "[policy_options]\nevaluation = 9\n",
            [],
            "s.toml: [policy_options]: policy 'hardware-aware' has no option 'evaluation'",
        ),
        ("[policy_options]\nevaluations = 'many'\n", [], "s.toml: [policy_options]"),
        (
            "",
            ["--policy-option", "evaluations"],
            "--policy-option 'evaluations': must be KEY=VALUE",
        ),
        (
            "",
            ["--policy-option", "evaluations=-3"],
            "--policy-option: policy 'hardware-aware': option evaluations = -3",
        ),
        ("", ["--policy", "lpt", "--policy-option", "evaluations=3"], "has no option"),
    ],
)
def test_bad_options_are_one_line_and_exit_2_before_running(tmp_path, capsys, extra, argv, words):
    path = tmp_path / "s.toml"
    path.write_text(SCENARIO + extra)
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "-q", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and words in err, err
    assert not out.exists()
