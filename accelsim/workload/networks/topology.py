"""Topology files: one CSV row per layer, checked for consistent shapes on load.

Columns: name, kind, sources, in_c, in_h, in_w, out_c, k_h, k_w, stride, pad, groups; or,
for layers whose geometry differs per axis, PER_AXIS_COLUMNS, where stride_h, stride_w,
pad_top, pad_bottom, pad_left, pad_right, dilation_h and dilation_w take the place of stride
and pad. The header says which; `write_topology` writes the short one whenever every layer
has one stride and one pad and no dilation, so such files read by older versions still load.
`sources` names the producing layers joined by '+'; empty means the row above; '-' means
operators accelsim does not model (a concat, resize or split of an imported graph) feed the
layer, so its input shape is taken as given. Lines starting with '#' are comments. Every error names the file, the row and the field.
"""

from __future__ import annotations

import csv
import io
from importlib import resources
from pathlib import Path

import attrs

from accelsim.errors import ConfigError
from accelsim.files import read_text
from accelsim.workload.networks.layers import (
    Layer,
    LayerKind,
    Network,
    cell_int,
    check_shapes,
)
from accelsim.workload.networks.onnx_import import load_onnx
from accelsim.workload.networks.scalesim import is_scalesim, read_scalesim

COLUMNS = (
    "name",
    "kind",
    "sources",
    "in_c",
    "in_h",
    "in_w",
    "out_c",
    "k_h",
    "k_w",
    "stride",
    "pad",
    "groups",
)
PER_AXIS_COLUMNS = (
    *COLUMNS[:9],
    "stride_h",
    "stride_w",
    "pad_top",
    "pad_bottom",
    "pad_left",
    "pad_right",
    "dilation_h",
    "dilation_w",
    "groups",
)
UNMODELLED = "-"  # sources of a layer fed by operators outside the model


def shipped_networks() -> list[str]:
    """Names of the topologies shipped inside the package, sorted."""
    folder = resources.files("accelsim.workload") / "topologies"
    return sorted(p.name.removesuffix(".csv") for p in folder.iterdir() if p.name.endswith(".csv"))


def load_network(name_or_path: str | Path, base: Path | None = None, input_shape=None) -> Network:
    """A shipped topology by name (e.g. 'resnet18'), a CSV file or an ONNX model by path;
    `input_shape` (C, H, W) fixes an ONNX input's open dimensions."""
    text = str(name_or_path)
    if text in shipped_networks():
        folder = resources.files("accelsim.workload") / "topologies"
        return read_topology(
            (folder / f"{text}.csv").read_text(), source=f"<shipped {text}>", name=text
        )
    path = Path(text)
    if base is not None and not path.is_absolute():
        path = base / path
    if not path.is_file():
        if Path(text).suffix or len(Path(text).parts) > 1:  # meant as a file
            where = f" (read relative to {base})" if base is not None else ""
            raise ConfigError(f"{text!r}: no such file {path}{where}")
        raise ConfigError(
            f"network {text!r} is neither a shipped topology ({', '.join(shipped_networks())}) "
            f"nor a file"
        )
    if path.suffix.lower() == ".onnx":
        return load_onnx(path, input_shape)[0]
    content = read_text(path, "topology")
    if is_scalesim(content):
        return read_scalesim(content, source=str(path), name=path.stem)
    return read_topology(content, source=str(path), name=path.stem)


def read_topology(text: str, source: str, name: str) -> Network:
    rows = [
        line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]
    reader = csv.DictReader(rows)
    header = None if reader.fieldnames is None else tuple(f.strip() for f in reader.fieldnames)
    if header not in (COLUMNS, PER_AXIS_COLUMNS):
        got = "an empty file" if reader.fieldnames is None else ",".join(reader.fieldnames)
        raise ConfigError(
            f"{source}: header must be {','.join(COLUMNS)} (or, with per-axis geometry, "
            f"{','.join(PER_AXIS_COLUMNS)}); got {got}"
        )
    layers: list[Layer] = []
    for lineno, row in enumerate(reader, start=2):
        layers.append(_parse_row(row, header, layers, f"{source}: row {lineno}"))
    if not layers:
        raise ConfigError(f"{source}: no layers")
    network = Network(name=name, layers=layers)
    check_shapes(network, source)
    return network


def _parse_row(row: dict, columns: tuple[str, ...], previous: list[Layer], where: str) -> Layer:
    if None in row:  # csv puts cells beyond the header there
        raise ConfigError(
            f"{where}: {len(columns) + len(row[None])} cells for "
            f"{len(columns)} columns ({','.join(columns)})"
        )
    if any(val is None for val in row.values()):
        given = sum(val is not None for val in row.values())
        raise ConfigError(
            f"{where}: {given} cells for {len(columns)} columns ({','.join(columns)})"
        )
    values = {k.strip(): val.strip() for k, val in row.items()}
    layer_name = values["name"]
    try:
        kind = LayerKind(values["kind"])
    except ValueError:
        raise ConfigError(
            f"{where} ({layer_name}): kind = {values['kind']!r}: must be one of "
            f"{', '.join(k.value for k in LayerKind)}"
        ) from None
    ints = {}
    for column in columns[3:]:
        try:
            ints[column] = cell_int(values[column])
        except ValueError:
            raise ConfigError(
                f"{where} ({layer_name}): {column} = {values[column]!r}: must be an integer"
            ) from None
    if values["sources"] == UNMODELLED:
        sources = ()
    elif values["sources"]:
        sources = tuple(s.strip() for s in values["sources"].split("+"))
    elif kind is LayerKind.INPUT:
        sources = ()
    elif previous:
        sources = (previous[-1].name,)
    else:
        raise ConfigError(f"{where} ({layer_name}): the first layer must be of kind 'input'")
    if columns == PER_AXIS_COLUMNS:
        ints["stride"] = (ints.pop("stride_h"), ints.pop("stride_w"))
        ints["pad"] = tuple(ints.pop(f"pad_{side}") for side in ("top", "bottom", "left", "right"))
        ints["dilation"] = (ints.pop("dilation_h"), ints.pop("dilation_w"))
    try:
        return Layer(name=layer_name, kind=kind, sources=sources, **ints)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where} ({layer_name}): {exc}") from None


def write_topology(network: Network) -> str:
    """The CSV text of a network; read_topology(write_topology(n)) == n. The short header
    when every layer's geometry is the same on both axes, the per-axis one otherwise."""
    out = io.StringIO()
    out.write(f"# accelsim topology: {network.name}\n")
    writer = csv.writer(out, lineterminator="\n")
    short = all(layer.uniform for layer in network.layers)
    columns = COLUMNS if short else PER_AXIS_COLUMNS
    writer.writerow(columns)
    previous = None
    for layer in network.layers:
        row = attrs.asdict(layer, recurse=False)
        row["stride_h"], row["stride_w"] = layer.stride
        row["pad_top"], row["pad_bottom"], row["pad_left"], row["pad_right"] = layer.pad
        row["dilation_h"], row["dilation_w"] = layer.dilation
        if short:
            row["stride"], row["pad"] = layer.stride[0], layer.pad[0]
        implicit = previous is not None and layer.sources == (previous,)
        if not layer.sources:
            row["sources"] = "" if layer.kind is LayerKind.INPUT else UNMODELLED
        else:
            row["sources"] = "" if implicit else "+".join(layer.sources)
        row["kind"] = layer.kind.value
        writer.writerow([row[c] for c in columns])
        previous = layer.name
    return out.getvalue()
