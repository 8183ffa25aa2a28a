"""SCALE-Sim topology CSV files, in and out, so its users can bring their networks over.

SCALE-Sim's columns: Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width,
Channels, Num Filter, Strides (each row ends with a comma), or Stride Height, Stride Width in
place of Strides for strides that differ per axis. Its rows are independent layers with no
padding column (the IFMAP is given as padded) and no groups. Reading makes one conv layer
per row, each with an input of its own; a 1x1 filter on a 1x1 IFMAP becomes an fc layer.
Writing gives the padded IFMAP (top + bottom rows, left + right columns) and, for grouped
convolutions, the channels one filter sees: every layer keeps its weights and MACs; the
per-axis header only where some stride differs per axis. A dilated layer has no SCALE-Sim
form. Our own CSV stays the native format.
"""

from __future__ import annotations

import csv
import io

from accelsim.errors import ConfigError
from accelsim.workload.networks.layers import (
    Layer,
    LayerKind,
    Network,
    cell_int,
    check_shapes,
)

HEADER = [
    "Layer name",
    "IFMAP Height",
    "IFMAP Width",
    "Filter Height",
    "Filter Width",
    "Channels",
    "Num Filter",
    "Strides",
]
PER_AXIS_HEADER = [*HEADER[:7], "Stride Height", "Stride Width"]


def is_scalesim(text: str) -> bool:
    first = next((l for l in text.splitlines() if l.strip()), "")
    return first.replace(" ", "").lower().startswith("layername,ifmapheight")


def read_scalesim(text: str, source: str, name: str) -> Network:
    rows = list(csv.reader(io.StringIO(text)))
    header = [c.strip() for c in rows[0] if c.strip()]
    if header not in (HEADER, PER_AXIS_HEADER):
        raise ConfigError(
            f"{source}: a SCALE-Sim topology starts with '{', '.join(HEADER)},' (or "
            f"'..., Stride Height, Stride Width,'); got {rows[0]}"
        )
    n = len(header)
    layers: list[Layer] = []
    for lineno, row in enumerate(rows[1:], start=2):
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        layer_name = cells[0]
        values = []
        for column, cell in zip(header[1:], cells[1:n]):
            try:
                values.append(cell_int(cell))
            except ValueError:
                raise ConfigError(
                    f"{source}: row {lineno} ({layer_name}): {column} = {cell!r}:"
                    f" must be an integer"
                ) from None
        if len(values) != n - 1 or any(cells[n:]):  # a row may end with a comma
            raise ConfigError(
                f"{source}: row {lineno} ({layer_name}): {sum(map(bool, cells))} cells; "
                f"expected {n} columns ({', '.join(header)})"
            )
        h, w, kh, kw, c, f, *stride = values
        try:
            layers.append(Layer(f"{layer_name}.ifmap", LayerKind.INPUT, (), c, h, w, c))
            if (h, w, kh, kw) == (1, 1, 1, 1):
                layers.append(Layer(layer_name, LayerKind.FC, (f"{layer_name}.ifmap",), c, 1, 1, f))
            else:
                layers.append(
                    Layer(
                        layer_name,
                        LayerKind.CONV,
                        (f"{layer_name}.ifmap",),
                        c,
                        h,
                        w,
                        f,
                        kh,
                        kw,
                        tuple(stride) if len(stride) == 2 else stride[0],
                        0,
                        1,
                    )
                )
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{source}: row {lineno} ({layer_name}): {exc}") from None
    if not layers:
        raise ConfigError(f"{source}: no layers")
    network = Network(name, layers)
    check_shapes(network, source)
    return network


def write_scalesim(network: Network) -> str:
    dilated = [layer.name for layer in network.mac_layers if layer.dilation != (1, 1)]
    if dilated:
        raise ConfigError(
            f"{network.name}: layer {dilated[0]} is dilated, which a SCALE-Sim topology "
            f"cannot hold: keep it in accelsim's own topology CSV (write_topology)"
        )
    per_axis = any(layer.stride_h != layer.stride_w for layer in network.mac_layers)
    out = io.StringIO()
    out.write(", ".join(PER_AXIS_HEADER if per_axis else HEADER) + ",\n")
    for layer in network.mac_layers:
        row = [
            layer.name,
            layer.in_h + sum(layer.pad_h),
            layer.in_w + sum(layer.pad_w),
            layer.k_h,
            layer.k_w,
            layer.channels_per_group,
            layer.out_c,
            *(layer.stride if per_axis else layer.stride[:1]),
        ]
        out.write(", ".join(str(v) for v in row) + ",\n")
    return out.getvalue()
