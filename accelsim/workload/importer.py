"""`accelsim import`: an ONNX model made into a workload a scenario can point at.

Writes `<stem>.csv` (the topology) and `<stem>.npz` (each MAC layer's real per-kernel
nonzero counts, in the measured-mask format of accelsim.workload.sparsity.measured) into one
folder. The masks are the weights as the file holds them (exact zeros are pruned, so a model
pruned before export keeps its own masks), or magnitude-pruned with `method` and `keep`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import attrs

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
    out.mkdir(parents=True, exist_ok=True)
    topology, masks = out / f"{path.stem}.csv", out / f"{path.stem}.npz"
    topology.write_text(write_topology(network))
    write_measured(masks, meta, layers)
    return imported, sparsity, [topology, masks]
