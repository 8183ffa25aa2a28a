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
    "pe_rows = 2\npe_cols = 2\n[mapping]\ntile_h = 0\n"  # fixed: the plans, not the mapper, differ
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


def _total(out):
    return json.loads((out / "summary.json").read_text())["total"]


def test_the_scenarios_options_go_with_its_policy_however_it_is_named(tmp_path, capsys):
    """`run --policy P` where P is the scenario's own policy keeps [policy_options], and
    `compare` gives them to that policy, as `run` does."""
    path = tmp_path / "s.toml"
    path.write_text(SCENARIO + "[policy_options]\nevaluations = 9\n")
    runs = {}
    for name, argv in (
        ("plain", []),
        ("named", ["--policy", "hardware-aware"]),
        ("given", ["--policy", "hardware-aware", "--policy-option", "evaluations=9"]),
        ("other", ["--policy", "hardware-aware", "--policy-option", "evaluations=40"]),
    ):
        out = tmp_path / name
        base = ["run", str(path), "--out", str(out), "-q", "--no-plots", "--no-cache"]
        assert main([*base, *argv]) == 0
        runs[name] = _total(out)
    assert runs["plain"] == runs["named"] == runs["given"]
    assert runs["other"]["cycles"] != runs["plain"]["cycles"]  # the budget matters here
    out = tmp_path / "cmp"
    argv = ["compare", str(path), "--policies", "hardware-aware", "--out", str(out), "-q"]
    assert main(argv) == 0
    compared = json.loads((out / "compare.json").read_text())
    text = json.dumps(compared)
    assert str(runs["plain"]["cycles"]) in text


@pytest.mark.parametrize(
    "argv, words",
    [
        (["run", "S", "--policy-option", "evaluations=9\nseed=3"], "a line break inside"),
        (["compare", "S", "--policies", ""], "--policies '': an empty name"),
        (["compare", "S", "--policies", "lpt,,kk"], "an empty name"),
        (["compare", "S", "--evaluations", "5"], "--evaluations is for compare --networks"),
        (["compare", "--networks", "lenet5_han2015,lenet5_han2015"], "more than once"),
        (["compare", "S", "--networks"], "would ignore a scenario file"),
        (["compare", "--networks", "--policies", "lpt"], "would ignore --policies"),
        (["compare", "--networks", "--engine", "simpy"], "would ignore --engine"),
        (["run", "S", "--out", ""], "--out '': name a directory"),
        (["compare", "S", "--out", "a", "--out", "b"], "--out given twice ('a', then 'b')"),
        (["run", "S", "--out", "a", "--out", "b"], "--out given twice"),
        (["run", "S", "--policy", "lpt", "--policy", "kk"], "--policy given twice"),
        (["compare", "S", "--policies", "lpt", "--policies", "kk"], "--policies given twice"),
        (["sweep", "S", "--out", "a", "--out", "b"], "--out given twice"),
        (["size", "S", "--latency-target", "9", "--latency-target", "8"], "given twice"),
    ],
)
def test_flags_that_would_be_dropped_or_cut_are_refused(tmp_path, capsys, monkeypatch, argv, words):
    monkeypatch.chdir(tmp_path)  # where a relative --out, or the default, would go
    path = tmp_path / "s.toml"
    path.write_text(SCENARIO)
    argv = [str(path) if a == "S" else a for a in argv]
    try:
        rc = main([*argv, "-q"])
    except SystemExit as exc:  # argparse's own refusals exit from inside the parser
        rc = exc.code
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml"]


def test_a_flag_repeated_with_its_own_value_is_no_conflict(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(SCENARIO)
    out = str(tmp_path / "o")
    assert main(["run", str(path), "--out", out, "--out", out, "-q", "--no-plots"]) == 0


def test_the_exact_seed_is_refused_where_cp_sat_would_refuse_it(tmp_path, capsys):
    """CP-SAT's random_seed is a 32-bit signed integer: 2**31 and above are one line naming
    the option and its limit, before any planning (not the solver's own message later)."""
    assert load_policy("exact", {"seed": 2**31 - 1}).seed == 2**31 - 1
    with pytest.raises(
        PolicyError, match="option seed = 2147483648: must be at most 2,147,483,647"
    ):
        load_policy("exact", {"seed": 2**31})
    path = tmp_path / "s.toml"
    path.write_text(SCENARIO)
    out = tmp_path / "out"
    argv = ["run", str(path), "--out", str(out), "-q", "--policy", "exact"]
    assert main([*argv, "--policy-option", f"seed={2**31}"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "seed = 2147483648" in err and "2,147,483,647" in err
    assert not out.exists()
