"""Measured masks of real pruned networks, kept as counts (made by `real_weights build`).

A file `measured/<network>.<variant>.npz` holds, per conv layer (index i, in network order):
- `kernels_i`: (out_c, in_c / groups) nonzeros of each filter's k x k kernel on each input
  channel: what a zero-skipping PE, channel chunks and all-zero-kernel statistics need;
- `windows_i` (only where a kernel is larger than WINDOW x WINDOW): (out_c, in_c / groups,
  n_windows) nonzeros of each WINDOW x WINDOW piece of the kernel, row-major, edge pieces
  cut short; where the kernel fits one window, the kernel count is the window count;
- `mask_i` (only for small layers): the mask itself, bit-packed (np.packbits, C order of
  (out_c, in_c / groups, k_h, k_w));
- `meta`: JSON with the source package, version, file and sha256, pruning method, keep
  fraction, sparsity reached, and the layer names; a variant pruned with retraining
  (`waifu2x_retrain`) has `retrained` true and how it was retrained.
`PrunedLayer.window_nnz()` gives per-window counts for any pruned layer.
"""

from __future__ import annotations

import json
import zipfile
from importlib import resources
from pathlib import Path

import numpy as np
from attrs import frozen

from accelsim.errors import ConfigError
from accelsim.workload.networks.layers import Network
from accelsim.workload.sparsity.counts import WINDOW, window_counts
from accelsim.workload.sparsity.pruning import PrunedLayer, PrunedNetwork, _layer_seed


@frozen
class MeasuredLayer:
    name: str
    kernels: np.ndarray
    windows: np.ndarray | None = None
    mask: np.ndarray | None = None

    @classmethod
    def from_mask(cls, name: str, mask: np.ndarray, window: int, keep_mask: bool):
        kernels = mask.reshape(mask.shape[0], mask.shape[1], -1).sum(axis=2)
        big = mask.shape[2] > window or mask.shape[3] > window
        return cls(
            name,
            kernels,
            window_counts(mask, window) if big else None,
            mask.astype(bool) if keep_mask else None,
        )


def _small_int(a: np.ndarray) -> np.ndarray:
    return a.astype(np.uint8 if a.max(initial=0) < 256 else np.uint16)


def write_measured(path: Path, meta: dict, layers: list[MeasuredLayer]) -> None:
    arrays = {
        "meta": np.array(
            json.dumps(
                {**meta, "layers": [l.name for l in layers], "window": WINDOW}, allow_nan=False
            )
        )
    }
    for i, layer in enumerate(layers):
        arrays[f"kernels_{i}"] = _small_int(layer.kernels)
        if layer.windows is not None:
            arrays[f"windows_{i}"] = _small_int(layer.windows)
        if layer.mask is not None:
            arrays[f"mask_{i}"] = np.packbits(layer.mask.ravel())
    np.savez_compressed(path, **arrays)


def shipped_measured() -> list[str]:
    folder = resources.files("accelsim.workload") / "measured"
    if not folder.is_dir():
        return []
    return sorted(p.name.removesuffix(".npz") for p in folder.iterdir() if p.name.endswith(".npz"))


def measured_path(name: str) -> Path:
    return Path(str(resources.files("accelsim.workload") / "measured" / f"{name}.npz"))


def read_meta(path: Path) -> dict:
    try:
        with np.load(path) as data:
            meta = json.loads(str(data["meta"]))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise ConfigError(
            f"{path}: not a measured-mask file: {exc or type(exc).__name__}"
        ) from None
    if not isinstance(meta, dict) or not isinstance(meta.get("layers"), list):
        raise ConfigError(f"{path}: not a measured-mask file: its meta names no layers")
    return meta


def check_measured(path: Path, network: Network, where: str) -> dict:
    """The file's metadata, once its layers are known to be the network's MAC layers."""
    meta = read_meta(path)
    if meta["layers"] != [l.name for l in network.mac_layers]:
        raise ConfigError(
            f"{where}: {path.name} holds the layers of {meta['network']}, not "
            f"of {network.name}: use [workload] network = {meta['network']!r}"
        )
    return meta


def load_measured(path: Path, network: Network) -> PrunedNetwork:
    """The network pruned as measured: every layer's counts checked against its shape."""
    meta = check_measured(path, network, str(path))
    layers = {l.name: l for l in network.mac_layers}
    pruned = []
    with np.load(path) as data:
        for i, name in enumerate(meta["layers"]):
            layer = layers[name]
            kernels = data[f"kernels_{i}"].astype(np.int64)
            shape = (layer.out_c, layer.channels_per_group)
            if kernels.shape != shape or kernels.max(initial=0) > layer.k_h * layer.k_w:
                raise ConfigError(
                    f"{path}: layer {name}: counts of shape {kernels.shape} "
                    f"do not fit its {shape} kernels of {layer.k_h}x{layer.k_w}"
                )
            mask = None
            if f"mask_{i}" in data.files:
                bits = np.unpackbits(data[f"mask_{i}"], count=layer.weights).astype(bool)
                mask = bits.reshape(layer.out_c, layer.channels_per_group, layer.k_h, layer.k_w)
            windows = (
                data[f"windows_{i}"].astype(np.int64) if f"windows_{i}" in data.files else None
            )
            pruned.append(
                PrunedLayer(
                    layer,
                    kernels.sum(axis=1),
                    seed=_layer_seed(0, name),
                    mask=mask,
                    kernels=kernels,
                    windows=windows,
                )
            )
    sparsity = meta["sparsity"]
    how = " with retraining" if meta.get("retrained") else ""
    return PrunedNetwork(
        network,
        pruned,
        f"{meta['variant']} ({meta['method']} magnitude{how}, "
        f"{sparsity:.1%} sparse) "
        f"of {meta['package']} {meta['version']} {meta['file']}",
    )
