"""`accelsim import`: an ONNX model made into a workload a scenario can point at.

Writes `<stem>.csv` (the topology), `<stem>.npz` (each MAC layer's real per-kernel
nonzero counts, in the measured-mask format of accelsim.workload.sparsity.measured) and
`<stem>.toml`, a scenario that runs them on the default hardware (the mapper picks each
layer's tiling), into one folder, so `accelsim run <stem>.toml` is the next command. The masks are the weights as the file holds them (exact zeros are pruned, so a model
pruned before export keeps its own masks), or magnitude-pruned with `method` and `keep`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import attrs

from accelsim.files import made, write_bytes
from accelsim.workload.networks.onnx_import import Imported, import_onnx
from accelsim.workload.networks.topology import write_topology
from accelsim.workload.sparsity.counts import WINDOW
from accelsim.workload.sparsity.measured import MeasuredLayer, write_measured
from accelsim.workload.sparsity.methods import prune_weights
from accelsim.workload.sparsity.real_weights import MASK_LIMIT


def import_model(
    path: Path, out: Path, input_shape=None, method: str = "layer", keep: float = 1.0
) -> tuple[Imported, float, list[Path]]:
    """The import report, the sparsity of the masks written, and the files written."""
    path = Path(path)
    imported = import_onnx(path, input_shape)
    network = attrs.evolve(imported.network, name=path.stem)  # as load_network names the CSV
    pruned = prune_weights(network, imported.weights, method, keep, src=path.name)
    sparsity = 1 - pruned.nnz / network.weights
    meta = {
        "network": network.name,
        "package": "accelsim import",
        "version": "",
        "file": path.name,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "input_shape": list(imported.input_shape),
        "method": method,
        "keep": keep,
        "variant": "as exported" if keep == 1 else f"{method}, keep {keep:g}",
        "sparsity": sparsity,
    }
    layers = [
        MeasuredLayer.from_mask(
            p.layer.name, p.mask, WINDOW, keep_mask=p.layer.weights <= MASK_LIMIT
        )
        for p in pruned.layers
    ]
    made(out)
    topology, masks = out / f"{path.stem}.csv", out / f"{path.stem}.npz"
    write_bytes(topology, write_topology(network))
    write_measured(masks, meta, layers)
    scenario = out / f"{path.stem}.toml"
    write_bytes(scenario, scenario_text(path, topology, masks))
    return imported, sparsity, [topology, masks, scenario]


def scenario_text(model: Path, topology: Path, masks: Path) -> str:
    """A scenario for the imported workload, its files named relative to it (scenarios
    resolve paths from their own folder); every other field keeps its default."""
    return (
        f"# accelsim import {model.name!r}: its workload on the default hardware; add\n"
        "# [hardware] or [mapping] fields to change them (docs/defaults.md lists them)\n"
        f"[workload]\nnetwork = {_toml(topology.name)}\n"
        f"[pruning]\nmeasured = {_toml(masks.name)}\n"
    )


def _toml(text: str) -> str:
    """A TOML basic string: JSON's escapes are TOML's, and TOML also escapes DEL."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")
