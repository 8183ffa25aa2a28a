"""report.html opens in a real browser with nothing but the file: every plot decodes, every
table is there, and the numbers are the run's."""

import json
import re
import shutil

import pytest
from browser import dump_dom, screenshot

from accelsim.pipeline import run_scenario, write_outputs
from accelsim.scenario import scenario_from_dict

SCENARIO = {
    "name": "html",
    "workload": {"network": "lenet5"},
    "pruning": {"profile": "han2015-lenet5"},
    "hardware": {"pe_rows": 2, "pe_cols": 2, "dram_bytes_per_cycle": 8},
}
# appended to a copy of the page: what the browser made of it, written into the DOM
PROBE = """<script>
window.addEventListener("load", () => {
  const imgs = [...document.images].map(i => ({alt: i.alt, ok: i.complete && i.naturalWidth > 0,
                                               width: i.naturalWidth}));
  const tables = [...document.querySelectorAll("table")].map(t => ({
      id: t.id, rows: t.tBodies[0].rows.length, cells: t.querySelectorAll("td").length}));
  const links = [...document.links].map(a => a.getAttribute("href"));
  const external = [...document.querySelectorAll("[src]")].map(e => e.getAttribute("src"))
      .filter(s => !s.startsWith("data:"));
  const pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify({imgs, tables, links, external});
  document.body.appendChild(pre);
});
</script>"""


@pytest.fixture(scope="module")
def result_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    outcome = run_scenario(scenario_from_dict(SCENARIO, "<t>"), baselines=True)
    write_outputs(outcome, out, trace="all")
    return out, outcome


def probe(page, tmp_path):
    copy = tmp_path / "probed.html"
    copy.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    dom = dump_dom(copy)
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert found, f"the browser did not run the page: {dom[:300]!r}"
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))


@pytest.mark.slow
def test_every_plot_and_table_is_in_the_loaded_page(result_dir, tmp_path):
    out, outcome = result_dir
    seen = probe(out / "report.html", tmp_path)
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert len(pngs) == 4
    assert sorted(i["alt"] for i in seen["imgs"]) == pngs
    assert all(i["ok"] and i["width"] > 300 for i in seen["imgs"]), seen["imgs"]
    tables = {t["id"]: t for t in seen["tables"]}
    assert tables["layers"]["rows"] == len(outcome.report.layers) + 1  # and the total
    assert tables["gap"]["rows"] == 7 and tables["summary"]["rows"] >= 8
    assert seen["external"] == []  # self-contained
    assert "trace.pftrace.gz" in seen["links"] and "summary.json" in seen["links"]
    for link in seen["links"]:
        assert link.startswith("#") or (out / link).is_file()


def test_the_numbers_are_the_runs(result_dir):
    out, outcome = result_dir
    html = (out / "report.html").read_text()
    t = outcome.report.total
    assert f"{t.cycles:,}" in html
    for layer in outcome.report.layers:
        assert f"<td>{layer.name}</td><td>{layer.jobs:,}</td><td>{layer.cycles:,}</td>" in html
    # where the cycles go: the compute bound and the parts add up to the cycles
    cells = re.findall(r'<table id="gap">.*?</table>', html, re.S)[0]
    numbers = [int(n.replace(",", "")) for n in re.findall(r"<td>([\d,]+)</td>", cells)]
    assert sum(numbers) == t.cycles


def test_a_run_without_plots_still_has_a_page(tmp_path):
    outcome = run_scenario(scenario_from_dict(SCENARIO, "<t>"), baselines=False)
    write_outputs(outcome, tmp_path, plots=False)
    html = (tmp_path / "report.html").read_text()
    assert "<img" not in html and '<table id="layers">' in html


@pytest.mark.slow
def test_screenshot_renders(result_dir, tmp_path):
    out, _ = result_dir
    shutil.copy(out / "report.html", tmp_path / "report.html")
    screenshot(tmp_path / "report.html", tmp_path / "shot.png", height=1200)
    assert (tmp_path / "shot.png").stat().st_size > 20_000


def test_the_page_splits_energy_and_area_and_lists_the_hardware(tmp_path):
    outcome = run_scenario(scenario_from_dict(SCENARIO, "<test>"), baselines=False)
    write_outputs(outcome, tmp_path, plots=False)
    html = (tmp_path / "report.html").read_text()
    t = outcome.report.total
    assert f"<td>total</td><td>{sum(t.energy_pj.values()) / 1e6:,.1f}</td>" in html
    assert f"<td>static</td><td>{t.energy_pj['static'] / 1e6:,.1f}</td>" in html
    area = outcome.report.hardware["area_mm2"]["total"]
    assert f"<td>total</td><td>{area:.3f}</td>" in html
    assert "<td>pe_rows</td><td>2</td>" in html and "<td>input_queue_depth</td>" in html


def test_the_page_lists_every_input_to_rerun_it_and_links_every_section(result_dir):
    out, outcome = result_dir
    page = (out / "report.html").read_text()
    sections = re.findall(r'<h2 id="([^"]+)">', page)
    contents = page[page.index("<nav>") : page.index("</nav>")]
    assert sections[0] == "contents" and "inputs-to-rerun" in sections
    assert re.findall(r'href="#([^"]+)"', contents) == sections[1:]  # all but itself
    inputs = dict(
        re.findall(r"<tr><td>([^<]+)</td><td>([^<]*)</td></tr>", page[page.index('id="inputs"') :])
    )
    summary = json.loads((out / "summary.json").read_text())["inputs"]
    assert inputs["seed"] == str(summary["seed"])
    assert inputs["pruning"] == summary["pruning"] and "han2015-lenet5" in inputs["pruning"]
    assert inputs["mapping.tile_h"] == str(summary["mapping"]["tile_h"])
    assert inputs["energy.mac_pj"] == str(summary["energy"]["mac_pj"])
    assert summary["mapping"]["weight_buffer_allotment_bytes"] is None
    assert inputs["mapping.weight_buffer_allotment_bytes"] == "(not set)"
    assert "None" not in inputs.values()
    assert inputs["policy"] == outcome.report.policy
