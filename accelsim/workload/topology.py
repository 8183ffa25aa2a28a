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

from accelsim.files import read_text
from accelsim.errors import ConfigError
from accelsim.workload.layers import Layer, LayerKind, Network

COLUMNS = ("name", "kind", "sources", "in_c", "in_h", "in_w", "out_c", "k_h", "k_w",
           "stride", "pad", "groups")
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
        return read_topology((folder / f"{text}.csv").read_text(), source=f"<shipped {text}>",
                             name=text)
    path = Path(text)
    if base is not None and not path.is_absolute():
        path = base / path
    if not path.is_file():
        raise ConfigError(
            f"network {text!r} is neither a shipped topology ({', '.join(shipped_networks())}) "
            f"nor a file")
    if path.suffix.lower() == ".onnx":
        from accelsim.workload.onnx_io import load_onnx
        return load_onnx(path)[0]
    content = read_text(path, "topology")
    from accelsim.workload.scalesim import is_scalesim, read_scalesim
    if is_scalesim(content):
        return read_scalesim(content, source=str(path), name=path.stem)
    return read_topology(content, source=str(path), name=path.stem)


def read_topology(text: str, source: str, name: str) -> Network:
    rows = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
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
    if None in row:                             # csv puts cells beyond the header there
        raise ConfigError(f"{where}: {len(COLUMNS) + len(row[None])} cells for "
                          f"{len(COLUMNS)} columns ({','.join(COLUMNS)})")
    if any(val is None for val in row.values()):
        given = sum(val is not None for val in row.values())
        raise ConfigError(f"{where}: {given} cells for {len(COLUMNS)} columns "
                          f"({','.join(COLUMNS)})")
    values = {k.strip(): val.strip() for k, val in row.items()}
    layer_name = values["name"]
    try:
        kind = LayerKind(values["kind"])
    except ValueError:
        raise ConfigError(f"{where} ({layer_name}): kind = {values['kind']!r}: must be one of "
                          f"{', '.join(k.value for k in LayerKind)}") from None
    ints = {}
    for column in _INT_COLUMNS:
        try:
            ints[column] = int(values[column])
        except ValueError:
            raise ConfigError(f"{where} ({layer_name}): {column} = {values[column]!r}: "
                              f"must be an integer") from None
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


def check_shapes(network: Network, source: str) -> None:
    """Each layer's input shape must be what its sources produce; names must be unique."""
    produced: dict[str, tuple[int, int, int]] = {}
    for layer in network.layers:
        where = f"{source}: layer {layer.name}"
        if layer.name in produced:
            raise ConfigError(f"{where}: duplicate layer name")
        for src in layer.sources:
            if src not in produced:
                raise ConfigError(f"{where}: source {src!r} is not an earlier layer")
        shapes = [produced[s] for s in layer.sources]
        expected = (layer.in_c, layer.in_h, layer.in_w)
        if layer.kind is LayerKind.FC:
            c, h, w = shapes[0]
            if (c * h * w, 1, 1) != expected:
                raise ConfigError(f"{where}: in_c = {layer.in_c} (in_h={layer.in_h}, "
                                  f"in_w={layer.in_w}), but {layer.sources[0]} gives "
                                  f"{c}x{h}x{w} = {c * h * w} features on a 1x1 map")
        elif layer.kind is LayerKind.ADD:
            if len(shapes) < 2 or any(s != expected for s in shapes):
                raise ConfigError(f"{where}: add needs two or more sources of shape {expected}; "
                                  f"got {dict(zip(layer.sources, shapes))}")
        elif shapes and shapes[0] != expected:
            raise ConfigError(f"{where}: input shape (in_c, in_h, in_w) = {expected}, but "
                              f"{layer.sources[0]} produces {shapes[0]}")
        if layer.kind is LayerKind.CONV:
            if layer.in_c % layer.groups or layer.out_c % layer.groups:
                raise ConfigError(f"{where}: groups = {layer.groups} must divide in_c = "
                                  f"{layer.in_c} and out_c = {layer.out_c}")
        if layer.kind is LayerKind.POOL and layer.out_c != layer.in_c:
            raise ConfigError(f"{where}: a pool keeps channels: out_c = {layer.out_c}, in_c = "
                              f"{layer.in_c}")
        if layer.kind in (LayerKind.CONV, LayerKind.POOL) and (layer.out_h < 1 or layer.out_w < 1):
            raise ConfigError(f"{where}: kernel {layer.k_h}x{layer.k_w} with pad {layer.pad} does "
                              f"not fit a {layer.in_h}x{layer.in_w} input")
        if layer.kind is LayerKind.FC and (layer.k_h, layer.k_w, layer.stride, layer.pad,
                                           layer.groups) != (1, 1, 1, 0, 1):
            raise ConfigError(f"{where}: an fc layer has k_h = k_w = stride = groups = 1, pad = 0")
        produced[layer.name] = layer.out_shape


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
