"""Topology files: one CSV row per layer, checked for consistent shapes on load.

Columns: name, kind, sources, in_c, in_h, in_w, out_c, k_h, k_w, stride, pad, groups.
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
from accelsim.workload.networks.layers import Layer, LayerKind, Network, check_shapes
from accelsim.workload.networks.onnx_io import load_onnx
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
_INT_COLUMNS = COLUMNS[3:]
UNMODELLED = "-"  # sources of a layer fed by operators outside the model


def shipped_networks() -> list[str]:
    """Names of the topologies shipped inside the package, sorted."""
    folder = resources.files("accelsim.workload") / "topologies"
    return sorted(p.name.removesuffix(".csv") for p in folder.iterdir() if p.name.endswith(".csv"))


def load_network(name_or_path: str | Path, base: Path | None = None) -> Network:
    """A shipped topology by name (e.g. 'resnet18') or a CSV file by path."""
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
        raise ConfigError(
            f"network {text!r} is neither a shipped topology ({', '.join(shipped_networks())}) "
            f"nor a file"
        )
    if path.suffix.lower() == ".onnx":
        return load_onnx(path)[0]
    content = read_text(path, "topology")
    if is_scalesim(content):
        return read_scalesim(content, source=str(path), name=path.stem)
    return read_topology(content, source=str(path), name=path.stem)


def read_topology(text: str, source: str, name: str) -> Network:
    rows = [
        line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]
    reader = csv.DictReader(rows)
    if reader.fieldnames is None or tuple(f.strip() for f in reader.fieldnames) != COLUMNS:
        got = "an empty file" if reader.fieldnames is None else ",".join(reader.fieldnames)
        raise ConfigError(f"{source}: header must be {','.join(COLUMNS)}; got {got}")
    layers: list[Layer] = []
    for lineno, row in enumerate(reader, start=2):
        layers.append(_parse_row(row, layers, f"{source}: row {lineno}"))
    if not layers:
        raise ConfigError(f"{source}: no layers")
    network = Network(name=name, layers=layers)
    check_shapes(network, source)
    return network


def _parse_row(row: dict, previous: list[Layer], where: str) -> Layer:
    if None in row:  # csv puts cells beyond the header there
        raise ConfigError(
            f"{where}: {len(COLUMNS) + len(row[None])} cells for "
            f"{len(COLUMNS)} columns ({','.join(COLUMNS)})"
        )
    if any(val is None for val in row.values()):
        given = sum(val is not None for val in row.values())
        raise ConfigError(
            f"{where}: {given} cells for {len(COLUMNS)} columns ({','.join(COLUMNS)})"
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
    for column in _INT_COLUMNS:
        try:
            ints[column] = int(values[column])
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
    try:
        return Layer(name=layer_name, kind=kind, sources=sources, **ints)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where} ({layer_name}): {exc}") from None


def write_topology(network: Network) -> str:
    """The CSV text of a network; read_topology(write_topology(n)) == n."""
    out = io.StringIO()
    out.write(f"# accelsim topology: {network.name}\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    previous = None
    for layer in network.layers:
        row = attrs.asdict(layer, recurse=False)
        implicit = previous is not None and layer.sources == (previous,)
        if not layer.sources:
            row["sources"] = "" if layer.kind is LayerKind.INPUT else UNMODELLED
        else:
            row["sources"] = "" if implicit else "+".join(layer.sources)
        row["kind"] = layer.kind.value
        writer.writerow([row[c] for c in COLUMNS])
        previous = layer.name
    return out.getvalue()
