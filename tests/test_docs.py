"""The documentation cannot drift from the code: every default docs/defaults.md lists is the
code's, and every link in the README and docs/ stays inside the repository and resolves."""

import re
import tomllib
from pathlib import Path

import attrs
import pytest

from accelsim.config import AreaTable, EnergyTable, Hardware, Mapping
from accelsim.scenario import load_scenario, scenario_from_dict

ROOT = Path(__file__).resolve().parents[1]
DEFAULTS = ROOT / "docs" / "defaults.md"
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def tables(path: Path) -> dict[str, list[list[str]]]:
    """The table rows under each '## ' heading whose first cell is `code`, as cells."""
    out: dict[str, list[list[str]]] = {}
    heading = None
    for line in path.read_text().splitlines():
        if line.startswith("## "):
            heading = line[3:].strip()
            out[heading] = []
        elif heading and line.startswith("| `"):
            out[heading].append([c.strip() for c in line.strip().strip("|").split("|")])
    return out


def section(path: Path, marker: str) -> list[list[str]]:
    found = [rows for heading, rows in tables(path).items() if marker in heading]
    assert len(found) == 1, f"{path.name}: one '## ' heading must contain {marker!r}"
    return found[0]


def literal(cell: str):
    """A cell written as `TOML value`, as Python; "none: ..." is None (a field left out)."""
    if cell.startswith("none:"):
        return None
    m = re.fullmatch(r"`([^`]*)`", cell)
    assert m, f"expected a `value` cell, got {cell!r}"
    return tomllib.loads(f"v = {m[1]}")["v"]


def name(cell: str) -> str:
    m = re.fullmatch(r"`([^`]*)`", cell)
    assert m, f"expected a `field` cell, got {cell!r}"
    return m[1]


def same(documented, actual) -> bool:
    """Equal, and a bool only where the code has a bool (true is not 1)."""
    return documented == actual and isinstance(documented, bool) == isinstance(actual, bool)


@pytest.mark.parametrize(
    "cls", [Hardware, Mapping, EnergyTable, AreaTable], ids=lambda c: c.__name__
)
def test_every_field_default_is_documented_with_the_codes_value(cls):
    rows = section(DEFAULTS, f"`accelsim.config.{cls.__name__}`")
    documented = {name(r[0]): literal(r[1]) for r in rows}
    fields = {f.name: f.default for f in attrs.fields(cls)}
    assert list(documented) == list(fields), "one row per field, in the class's order"
    wrong = {k: (v, fields[k]) for k, v in documented.items() if not same(v, fields[k])}
    assert wrong == {}, "documented vs code default"


def test_scenario_defaults_are_what_loading_a_scenario_gives():
    rows = {name(r[0]): r[1] for r in section(DEFAULTS, "Scenario file")}
    minimal = {"workload": {"network": "lenet5"}, "pruning": {"dense": True}}
    scenario = scenario_from_dict(minimal, "<docs>")
    for key in ("seed", "policy", "baselines", "engine"):
        assert same(literal(rows[key]), getattr(scenario, key)), key
    assert same(literal(rows["workload.activation_cv"]), scenario.activation_cv)
    layer = scenario.pruned().layers[0]
    assert same(literal(rows["workload.activation_density"]), layer.activation_density)
    uniform = scenario_from_dict({**minimal, "pruning": {"density": 0.5}}, "<docs>")
    assert same(literal(rows["pruning.cv"]), uniform.pruning.profile.default_cv)
    weights = scenario_from_dict({**minimal, "pruning": {"weights": "lenet5_han2015"}}, "<docs>")
    for key in ("keep", "method", "n", "m"):
        assert same(literal(rows[f"pruning.{key}"]), getattr(weights.pruning, key)), key


def test_the_default_scenarios_changes_are_exactly_the_listed_ones():
    rows = section(DEFAULTS, "`scenarios/default.toml`")
    documented = {name(r[0]): (literal(r[1]), literal(r[2])) for r in rows}
    scenario = load_scenario(ROOT / "scenarios" / "default.toml")
    changed = {}
    for value, cls in (
        (scenario.hardware, Hardware),
        (scenario.mapping, Mapping),
        (scenario.energy, EnergyTable),
        (scenario.area, AreaTable),
    ):
        for f in attrs.fields(cls):
            if not same(getattr(value, f.name), f.default):
                changed[f.name] = (getattr(value, f.name), f.default)
    assert documented == changed


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    found, fenced = set(), False
    for line in path.read_text().splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("#"):
            found.add(_slug(line.lstrip("#")))
    return found


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_links_stay_in_the_repository_and_resolve(page):
    text = page.read_text()
    assert "../shared" not in text
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue  # a web address
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        assert dest.is_relative_to(ROOT), f"{target} leaves the repository"
        assert dest.exists(), f"{target}: no such file"
        if anchor and dest.suffix == ".md":
            assert anchor in _anchors(dest), f"{target}: no such heading"


def test_the_test_suite_installs_nothing_and_ci_runs_the_readmes_command(monkeypatch):
    """Without Chromium the browser helper fails saying what to install, and never runs a
    command to install it; CI installs it visibly, then runs the README's command."""
    import shutil
    import subprocess

    from browser import chromium

    ran = []
    monkeypatch.setattr(shutil, "which", lambda name: None if "chrom" in name else "/bin/x")
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: ran.append(a))
    with pytest.raises(pytest.fail.Exception, match="system package chromium"):
        chromium()
    assert ran == []
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    readme = (ROOT / "README.md").read_text()
    assert ci[-1].strip() in readme and "pytest" in ci[-1]
    install = "\n".join(ci[:-1])
    assert "install -y chromium" in install and "echo" in install


# A time the docs quote: a number and a unit of seconds or minutes ("1.9 s", "2 min 54 s",
# "7.1-9.6 us"), not a rate ("16 GB/s") nor a name ("time_limit_s").
QUOTED_TIME = re.compile(
    r"(?<![\w.])\d[\d,.]*(?:-\d[\d,.]*)? ?(?:s|ms|us|µs|min|minutes?|seconds?)(?![\w/])"
)
# where a time is a setting or a simulated latency, not a measured cost
NOT_MEASURED = re.compile(r"time limit|time_limit|latency|target|cycles / clock_hz")
# what measures it: a benchmark script (by path or by its name), or the module that is run
SCRIPT = re.compile(r"benchmarks/\w+\.py|`\w+\.py`|python -m\s+accelsim\.[\w.]+")


def blocks(path: Path) -> list[str]:
    """The page's paragraphs, list items and tables, each one string (a table's header
    included): a time and the script that measured it must share one."""
    out, current = [], []
    for line in path.read_text().splitlines():
        starts_item = line.startswith(("- ", "* ")) or bool(re.match(r"\d+\. ", line))
        if not line.strip() or line.startswith("#") or (starts_item and current):
            out.append("\n".join(current))
            current = []
        if line.strip() and not line.startswith("#"):
            current.append(line)
    out.append("\n".join(current))
    return [b for b in out if b]


def unmeasured_times(path: Path) -> list[str]:
    """The sentences (table rows) of `path` that quote a measured time in a block naming no
    script that measures it."""
    found = []
    for block in blocks(path):
        if SCRIPT.search(block):
            for script in re.findall(r"`(\w+\.py)`", block):
                assert list(ROOT.glob(f"**/{script}")), f"{path.name}: no script {script}"
            continue
        for sentence in re.split(r"(?<=[.;:])\s+|\n", block):
            if QUOTED_TIME.search(sentence) and not NOT_MEASURED.search(sentence):
                found.append(sentence.strip())
    return found


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_quoted_time_names_the_script_that_measures_it(page):
    """A time in the docs that no script prints cannot be re-measured, so it rots."""
    assert unmeasured_times(page) == []


def test_the_time_check_finds_a_time_without_its_script(tmp_path):
    page = tmp_path / "p.md"
    page.write_text(
        "A run takes 1.9 s of CPU.\n\nA run takes 1.9 s (`python benchmarks/outputs.py`).\n\n"
        "| what | CPU |\n| --- | --- |\n| a sweep | 2 min 54 s |\n\n"
        "16 GB/s of DRAM; a 3 ms latency target; `time_limit_s` of 10 s.\n"
    )
    assert unmeasured_times(page) == ["A run takes 1.9 s of CPU.", "| a sweep | 2 min 54 s |"]
