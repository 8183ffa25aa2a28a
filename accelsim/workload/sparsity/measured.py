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
from importlib import resources
from pathlib import Path

import numpy as np
from attrs import frozen

from accelsim.errors import ConfigError
from accelsim.files import read_npz
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


_META_TEXT = ("network", "variant", "method", "package", "version", "file")


def _archive(path: Path) -> dict[str, np.ndarray]:
    """Every array of the file, read once (through accelsim.files, so a sweep's key sees
    it); pickled objects and arrays larger than any measured file are refused."""
    try:
        return read_npz(path, "measured-mask")
    except ConfigError as exc:
        reason = str(exc).removeprefix(f"{path}: ")
        raise ConfigError(f"{path}: not a measured-mask file: {reason}") from None


def _meta(path: Path, arrays: dict[str, np.ndarray]) -> dict:
    bad = f"{path}: not a measured-mask file:"
    meta_array = arrays.get("meta")
    if meta_array is None or meta_array.shape != () or meta_array.dtype.kind != "U":
        raise ConfigError(f"{bad} it has no 'meta' text (made by real_weights build)")
    try:
        meta = json.loads(str(meta_array))
    except ValueError as exc:
        raise ConfigError(f"{bad} its meta is not JSON: {exc}") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("layers"), list):
        raise ConfigError(f"{bad} its meta names no layers")
    if not all(isinstance(n, str) for n in meta["layers"]):
        raise ConfigError(f"{bad} its meta layers = {meta['layers']!r}: must be layer names")
    return meta


def read_meta(path: Path) -> dict:
    return _meta(path, _archive(path))


def _described(path: Path, meta: dict) -> None:
    """The fields a run's description names: where the masks come from and how pruned."""
    bad = f"{path}: not a measured-mask file:"
    for key in _META_TEXT:
        if not isinstance(meta.get(key), str):
            raise ConfigError(f"{bad} meta {key} = {meta.get(key)!r}: must be text")
    sparsity = meta.get("sparsity")
    if (
        isinstance(sparsity, bool)
        or not isinstance(sparsity, int | float)
        or not 0 <= sparsity <= 1
    ):
        raise ConfigError(f"{bad} meta sparsity = {sparsity!r}: must be a fraction from 0 to 1")
    if meta.get("window", WINDOW) != WINDOW:
        raise ConfigError(
            f"{bad} meta window = {meta['window']!r}: window counts must be of "
            f"{WINDOW}x{WINDOW} pieces"
        )


def _counts(path: Path, name: str, key: str, a: np.ndarray | None, shape, most: int) -> np.ndarray:
    """One array of counts: present, integers (never floats, which would be truncated), of
    `shape`, each from 0 to `most`: checked before the conversion to int64 could wrap."""
    where = f"{path}: layer {name}: {key}"
    if a is None:
        raise ConfigError(f"{where} is missing; rebuild the file with real_weights build")
    if a.dtype.kind not in "iu":
        raise ConfigError(f"{where} holds {a.dtype} values: counts must be integers")
    if a.shape != shape:
        raise ConfigError(
            f"{where} has shape {a.shape}, the layer needs {shape} "
            f"(filters x input channels{' x windows' if len(shape) == 3 else ''})"
        )
    if a.size and (a.min() < 0 or a.max() > most):
        bad = a.min() if a.min() < 0 else a.max()
        raise ConfigError(f"{where} holds {bad}: each count must be from 0 to {most}")
    return a.astype(np.int64)


def _window_sizes(k_h: int, k_w: int) -> np.ndarray:
    """How many weights each WINDOW x WINDOW piece of a k_h x k_w kernel holds."""
    return window_counts(np.ones((1, 1, k_h, k_w), dtype=np.int64), WINDOW)[0, 0]


def _layer(path: Path, i: int, layer, arrays: dict[str, np.ndarray]):
    """The kernel counts, window counts and mask of one layer, each consistent with the
    layer's shape and with each other (a mask's counts are its kernel and window counts)."""
    name = layer.name
    shape = (layer.out_c, layer.channels_per_group)
    kernels = _counts(
        path, name, f"kernels_{i}", arrays.get(f"kernels_{i}"), shape, layer.k_h * layer.k_w
    )
    sizes = _window_sizes(layer.k_h, layer.k_w)
    windows = arrays.get(f"windows_{i}")
    if len(sizes) == 1 and windows is not None:
        raise ConfigError(
            f"{path}: layer {name}: windows_{i} given, but its {layer.k_h}x{layer.k_w} "
            f"kernels fit one window (the kernel counts are the window counts)"
        )
    if windows is not None:
        windows = _counts(
            path, name, f"windows_{i}", windows, (*shape, len(sizes)), int(sizes.max())
        )
        over = windows > sizes
        if over.any():
            raise ConfigError(
                f"{path}: layer {name}: windows_{i} counts more nonzeros in an edge window "
                f"than it holds"
            )
        if not np.array_equal(windows.sum(axis=2), kernels):
            raise ConfigError(
                f"{path}: layer {name}: windows_{i} do not add up to kernels_{i}: the two "
                f"counts disagree"
            )
    mask = None
    packed = arrays.get(f"mask_{i}")
    if packed is not None:
        need = -(-layer.weights // 8)
        if packed.dtype != np.uint8 or packed.shape != (need,):
            raise ConfigError(
                f"{path}: layer {name}: mask_{i} is {packed.dtype} of shape {packed.shape}; "
                f"a packed mask of its {layer.weights} weights is uint8 of shape ({need},)"
            )
        bits = np.unpackbits(packed)
        if bits[layer.weights :].any():
            raise ConfigError(f"{path}: layer {name}: mask_{i} has bits beyond its weights")
        mask = bits[: layer.weights].astype(bool).reshape(*shape, layer.k_h, layer.k_w)
        if not np.array_equal(mask.reshape(*shape, -1).sum(axis=2), kernels):
            raise ConfigError(
                f"{path}: layer {name}: mask_{i} disagrees with kernels_{i}: the counts "
                f"must be the mask's"
            )
        if windows is not None and not np.array_equal(window_counts(mask, WINDOW), windows):
            raise ConfigError(f"{path}: layer {name}: mask_{i} disagrees with windows_{i}")
    return kernels, windows, mask


def _read_measured(path: Path, network: Network, where: str):
    """The file's metadata and every layer's counts, validated once: the layers are the
    network's MAC layers, every array has the type, shape and range of its layer, counts
    agree with each other and with the mask, and some weight is nonzero."""
    arrays = _archive(path)
    meta = _meta(path, arrays)
    _described(path, meta)
    if meta["layers"] != [l.name for l in network.mac_layers]:
        raise ConfigError(
            f"{where}: {path.name} holds the layers of {meta['network']}, not "
            f"of {network.name}: use [workload] network = {meta['network']!r}"
        )
    layers = [_layer(path, i, l, arrays) for i, l in enumerate(network.mac_layers)]
    if not any(kernels.any() for kernels, _, _ in layers):
        raise ConfigError(
            f"{path}: no layer keeps a nonzero weight: a network pruned to nothing "
            f"computes nothing (density 0)"
        )
    return meta, layers


def check_measured(path: Path, network: Network, where: str) -> dict:
    """The file's metadata, once the whole file is known to fit the network."""
    return _read_measured(path, network, where)[0]


def load_measured(path: Path, network: Network) -> PrunedNetwork:
    """The network pruned as measured: every layer's counts checked against its shape."""
    meta, counts = _read_measured(path, network, str(path))
    pruned = [
        PrunedLayer(
            layer,
            kernels.sum(axis=1),
            seed=_layer_seed(0, layer.name),
            mask=mask,
            kernels=kernels,
            windows=windows,
        )
        for layer, (kernels, windows, mask) in zip(network.mac_layers, counts)
    ]
    sparsity = meta["sparsity"]
    how = " with retraining" if meta.get("retrained") else ""
    pruning = "" if meta.get("keep") == 1 else f"{meta['method']} magnitude{how}, "
    source = " ".join(str(meta[k]) for k in ("package", "version", "file") if meta.get(k))
    return PrunedNetwork(
        network, pruned, f"{meta['variant']} ({pruning}{sparsity:.1%} sparse) of {source}"
    )
