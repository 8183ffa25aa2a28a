"""`accelsim compare --networks`: the gain over round-robin and the distance to the hardware
bound on shipped pruned networks, lock-step and decoupled."""

import json

import pytest

from accelsim.cli import main
from accelsim.studies.scheduling_gain import measure


def test_every_row_is_bounded_explained_and_no_slower_than_round_robin():
    gains = measure(["lenet5"], evaluations=10)
    assert [g.depth for g in gains] == [1, 8]
    for g in gains:
        assert g.bound <= g.best <= g.round_robin
        assert g.hardware_aware <= g.textbook  # it starts from the textbook plans
        assert g.binds in ("compute", "memory", "interconnect", "lock-step")
        # the decomposition adds up to the best run's cycles beyond its compute bound
        assert all(v >= 0 for v in g.gap.values()) and sum(g.gap.values()) > 0
        assert g.explained.startswith(("hardware-aware:", f"{g.textbook_policy}:"))


def test_the_command_writes_strict_json_and_a_chart(tmp_path, capsys):
    assert (
        main(
            ["compare", "--networks", "lenet5", "--evaluations", "5", "--out", str(tmp_path), "-q"]
        )
        == 0
    )
    rows = json.loads(
        (tmp_path / "scheduling_gain.json").read_text(),
        parse_constant=lambda c: pytest.fail(f"not strict JSON: {c}"),
    )
    assert [r["network"] for r in rows] == ["lenet5", "lenet5"]
    assert all(r["gain"] >= 1 and r["best_over_bound"] >= 1 for r in rows)
    assert (tmp_path / "scheduling_gain.png").stat().st_size > 10_000
    assert "lenet5" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, words",
    [
        (["compare"], "give a scenario"),
        (["compare", "--networks", "lenet5,mobilenet"], "unknown 'mobilenet'"),
    ],
)
def test_bad_requests_get_one_line_and_exit_2(argv, words, capsys, tmp_path):
    assert main(argv + ["--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and words in err
