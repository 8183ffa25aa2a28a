"""One self-contained HTML page of a run: summary, where the cycles go, the per-layer table,
every plot (embedded as data URIs) and links to the trace files beside it.

A reader opens it from the result directory with no server and nothing fetched: the styles
are inline and the page has no script.
"""

from __future__ import annotations

import base64
import re
from html import escape
from pathlib import Path

from accelsim.engine.gap import PARTS
from accelsim.outputs.report import STATES, Report, mapping_label

PLOTS = {
    "timeline": "each PE's state over time, layers named above, the whole array's state mix below",
    "utilization": "share of each PE's cycles in each state",
    "stalls": "per layer, its cycles split by state (a bar as tall as the layer "
    "is long) and the shares of its PE-cycles",
    "buffers": "buffer occupancy against capacity, layers marked",
}
IMAGE_TYPES = {".png": "image/png", ".svg": "image/svg+xml"}  # embedded; a PDF is linked
TRACES = {
    "trace.pftrace.gz": "Perfetto trace (protobuf), gzip-compressed: the Perfetto UI opens it "
    "as it is (1 cycle = 1 ns)",
    "trace.npz": "the trace in numpy columns",
    "summary.json": "every number of this page",
    "layers.csv": "the per-layer table as CSV",
}
_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em auto; max-width: 1400px;
       padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-variant-numeric: tabular-nums; }
th, td { padding: 2px 8px; border-bottom: 1px solid #ddd; text-align: right; }
th:first-child, td:first-child { text-align: left; }
tr.total td { font-weight: bold; border-top: 2px solid #888; }
figure { margin: 1em 0 2em; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { color: #555; } .bar { display: inline-block; height: 0.8em; background: #c44; }
#layers td, #inputs td { white-space: nowrap; } nav ul { columns: 2; max-width: 40em; }
"""


def write_html_report(report: Report, out_dir: Path, title: str) -> Path:
    """report.html in `out_dir`, embedding the PNGs of PLOTS that are there."""
    t = report.total
    energy_uj = sum(t.energy_pj.values()) / 1e6
    summary = [
        (
            "cycles",
            f"{t.cycles:,} ({t.seconds * 1e3:.3f} ms at {report.hardware['clock_hz'] / 1e9:g} GHz)",
        ),
        ("utilization", f"{t.utilization:.1%}"),
        ("cycles / compute bound", f"{t.makespan_over_bound:.3f}"),
        (
            "cycles / hardware bound",
            f"{t.makespan_over_hardware_bound:.3f} ({t.bound_binding} binds)",
        ),
        ("speedup over the dense design", _opt(t.speedup_vs_dense)),
        ("speedup over round-robin", _opt(t.speedup_vs_round_robin)),
        *(
            (
                f"vs the dense systolic array, {what} ({_shape(report.reference[iso])})",
                f"{_opt(getattr(t, f'speedup_vs_systolic_{iso}'))} faster, "
                f"{_opt(getattr(t, f'energy_vs_systolic_{iso}'))} less energy",
            )
            for iso, what in (("iso_mac", "same MACs"), ("iso_area", "same area"))
            if report.reference and report.reference[iso] is not None
        ),
        ("energy", f"{energy_uj:,.1f} uJ"),
        (
            "DRAM traffic",
            f"{t.dram_total / 1024:,.0f} KiB, of which "
            f"{t.dram_extra / 1024:,.0f} KiB beyond compulsory",
        ),
        ("pruned MACs", f"{t.pruned_macs:,} of {t.dense_macs:,} dense"),
    ]
    parts = [
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        '<h2 id="summary">Summary</h2>',
        _table(["", "value"], summary, "summary"),
        *(f'<p class="note">{escape(n)}</p>' for n in report.notes),
        '<h2 id="inputs-to-rerun">Inputs</h2>',
        "<p>Everything this run was given, as summary.json records it: with the scenario "
        "file, its seed and policy options, the same run gives the same numbers.</p>",
        _inputs_table(report),
        '<h2 id="gap">Where the cycles go</h2>',
        _gap_table(report),
        '<h2 id="energy">Energy and area</h2>',
        _energy_area_table(report),
        '<h2 id="hardware">Hardware</h2>',
        _hardware_table(report),
        '<h2 id="layers">Per layer</h2>',
        _layer_table(report),
        '<h2 id="plots">Plots</h2>',
    ]
    for stem, caption in PLOTS.items():
        parts += _figure(out_dir, stem, caption)
    parts += [
        '<h2 id="files">Files</h2><ul>',
        *(
            f'<li><a href="{name}">{name}</a>: {escape(what)}</li>'
            for name, what in TRACES.items()
            if (out_dir / name).is_file()
        ),
        "</ul></body></html>\n",
    ]
    parts.insert(2, _contents(parts))
    path = out_dir / "report.html"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def _contents(parts: list[str]) -> str:
    """A table of contents: a link to every section heading of the page."""
    found = re.findall(r'<h2 id="([^"]+)">([^<]+)</h2>', "".join(parts))
    links = "".join(f'<li><a href="#{ident}">{name}</a></li>' for ident, name in found)
    return f'<nav><h2 id="contents">Contents</h2><ul>{links}</ul></nav>'


def _inputs_table(report: Report) -> str:
    """The run's inputs (summary.json's scenario, policy and inputs), nested tables flattened
    to dotted names (energy.mac_pj), so a reader can rerun it from the page alone."""

    def flat(prefix: str, value) -> list[tuple[str, str]]:
        if isinstance(value, dict):
            if not value:
                return [(prefix, "(none)")]
            return [row for k, v in value.items() for row in flat(f"{prefix}.{k}", v)]
        if value is None:  # a field left out, as summary.json's null
            return [(prefix, "(not set)")]
        return [(prefix, str(value))]

    rows = [("scenario", report.scenario), ("policy", report.policy)]
    for key, value in report.inputs.items():
        rows += flat(key, value)
    return _table(["input", "value"], rows, "inputs")


def _figure(out_dir: Path, stem: str, caption: str) -> list[str]:
    """The run's figure `stem` as the page shows it: a PNG or SVG embedded, a PDF linked."""
    for suffix, mime in IMAGE_TYPES.items():
        path = out_dir / (stem + suffix)
        if path.is_file():
            data = base64.b64encode(path.read_bytes()).decode("ascii")
            return [
                f'<figure><img alt="{path.name}" src="data:{mime};base64,{data}">'
                f"<figcaption>{escape(path.name)}: {escape(caption)}</figcaption></figure>"
            ]
    path = out_dir / (stem + ".pdf")
    if path.is_file():
        return [f'<p><a href="{path.name}">{path.name}</a>: {escape(caption)}</p>']
    return []


def _energy_area_table(report: Report) -> str:
    """Energy by component (static apart) beside area by component, each with its share."""
    energy = report.total.energy_pj
    e_total = max(sum(energy.values()), 1e-30)
    area = {k: v for k, v in report.hardware["area_mm2"].items() if k != "total"}
    a_total = max(report.hardware["area_mm2"]["total"], 1e-30)
    rows = [
        (k.replace("_", " "), f"{v / 1e6:,.1f}", f"{v / e_total:.1%}") for k, v in energy.items()
    ]
    rows.append(("total", f"{e_total / 1e6:,.1f}", "100.0%"))
    a_rows = [(k.replace("_", " "), f"{v:.3f}", f"{v / a_total:.1%}") for k, v in area.items()]
    a_rows.append(("total", f"{a_total:.3f}", "100.0%"))
    return _table(["energy", "uJ", "share"], rows, "energy", total_last=True) + _table(
        ["area (45 nm)", "mm^2", "share"], a_rows, "area", total_last=True
    )


def _hardware_table(report: Report) -> str:
    """The hardware the run simulated, as in summary.json."""

    def shown(v) -> str:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v:
            return str(v).lower() if isinstance(v, bool) else str(v)
        if isinstance(v, float) and (v != int(v) if v not in (float("inf"),) else True):
            return f"{v:g}"
        return f"{int(v):,}"

    rows = [(k, shown(v)) for k, v in report.hardware.items() if k != "area_mm2"]
    return _table(["field", "value"], rows, "hardware")


def _gap_table(report: Report) -> str:
    """The total's cycles beyond the compute bound, by cause, each a share of the cycles."""
    t = report.total
    rows = [
        (
            "compute bound",
            f"{t.lower_bound:,}",
            f"{t.lower_bound / max(t.cycles, 1):.1%}",
            _bar(t.lower_bound / max(t.cycles, 1)),
        )
    ]
    rows += [
        (
            part,
            f"{t.gap[part]:,}",
            f"{t.gap[part] / max(t.cycles, 1):.1%}",
            _bar(t.gap[part] / max(t.cycles, 1)),
        )
        for part in PARTS
    ]
    return _table(["part", "cycles", "share", ""], rows, "gap", raw_last=True)


def _layer_table(report: Report) -> str:
    head = [
        "layer",
        "jobs",
        "cycles",
        "util",
        *STATES[1:],
        "DRAM KiB",
        "/bound",
        "/hw",
        "binds",
        "x dense",
        "x RR",
        "engine",
        "mapping",
        "why",
    ]
    rows = [
        [
            l.name,
            f"{l.jobs:,}",
            f"{l.cycles:,}",
            f"{l.utilization:.1%}",
            *(f"{l.states[s]:.1%}" for s in STATES[1:]),
            f"{l.dram_total / 1024:,.0f}",
            f"{l.makespan_over_bound:.3f}",
            f"{l.makespan_over_hardware_bound:.3f}",
            l.bound_binding,
            _opt(l.speedup_vs_dense),
            _opt(l.speedup_vs_round_robin),
            l.engine,
            mapping_label(l.mapping),
            l.mapping.get("why", ""),
        ]
        for l in (*report.layers, report.total)
    ]
    return _table(head, rows, "layers", total_last=True)


def _table(head, rows, ident: str, total_last: bool = False, raw_last: bool = False) -> str:
    out = [
        f'<table id="{ident}"><thead><tr>'
        + "".join(f"<th>{escape(h)}</th>" for h in head)
        + "</tr></thead><tbody>"
    ]
    for i, row in enumerate(rows):
        cls = ' class="total"' if total_last and i == len(rows) - 1 else ""
        cells = [escape(str(c)) for c in row]
        if raw_last:
            cells[-1] = str(row[-1])
        out.append(f"<tr{cls}>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return "".join(out) + "</tbody></table>"


def _bar(share: float) -> str:
    return f'<span class="bar" style="width:{max(share, 0) * 300:.0f}px"></span>'


def _shape(array: dict) -> str:
    return f"{array['rows']} x {array['cols']} {array['dataflow']}"


def _opt(x) -> str:
    return "-" if x is None else f"{x:.2f}x"
