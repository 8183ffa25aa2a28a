"""Pruning methods on real weights, as one family: each turns a layer's weights into a mask.

- `layer`: layer-wise magnitude; each layer keeps the fraction `keep` of its largest |w|.
- `global`: one magnitude threshold over all layers together (keep * all weights).
- `nm`: N:M structured sparsity (e.g. 2:4, NVIDIA Ampere): in every group of M consecutive
  weights along a filter's inputs, the N largest stay.
- `balanced`: load-balance-aware pruning (after ESE, Han et al. FPGA 2017, and Balanced
  Sparsity, Yao et al. AAAI 2019): every filter keeps the same number of weights, so any
  PE holding the same number of filters holds the same work: "prune for balance" to compare
  with "schedule for balance".
A weight that is exactly zero is never kept: a mask never exceeds what the weights hold.
"""

from __future__ import annotations

import numpy as np

from accelsim.errors import ConfigError
from accelsim.workload.networks.layers import Network
from accelsim.workload.sparsity.pruning import (
    PrunedLayer,
    PrunedNetwork,
    _check_number,
    _layer_seed,
    magnitude_mask,
    weight_shape,
)

METHODS = ("layer", "global", "nm", "balanced")


def prune_weights(
    network: Network,
    weights: dict[str, np.ndarray],
    method: str = "layer",
    keep: float | dict[str, float] = 1.0,
    n: int = 2,
    m: int = 4,
    src: str = "weights",
) -> PrunedNetwork:
    """Prune real weights with one of METHODS; `keep` is a fraction (or one per layer)."""
    if method not in METHODS:
        raise ConfigError(f"{src}: method = {method!r}: must be one of {', '.join(METHODS)}")
    arrays = {}
    for layer in network.mac_layers:
        if layer.name not in weights:
            raise ConfigError(
                f"{src}: no weights for layer {layer.name!r} (has: {', '.join(sorted(weights))})"
            )
        w = np.asarray(weights[layer.name])
        if w.dtype.kind not in "iuf":  # magnitudes of bools, complex numbers or text mean nothing
            raise ConfigError(
                f"{src}: {layer.name} has dtype {w.dtype}: weights must be real numbers "
                f"(integer or floating point)"
            )
        want = weight_shape(layer)
        # a conv kernel must have exactly its shape (a transposed one has the right size);
        # an fc matrix may keep its input features unflattened
        if w.size != layer.weights or (
            w.shape != want if layer.kind.value == "conv" else w.ndim < 2 or w.shape[0] != want[0]
        ):
            raise ConfigError(f"{src}: {layer.name} has shape {w.shape}; expected {want}")
        if not np.isfinite(w).all():
            bad = int(np.size(w) - np.isfinite(w).sum())
            raise ConfigError(
                f"{src}: {layer.name} has {bad} weights that are not finite numbers (NaN or inf)"
            )
        arrays[layer.name] = w.reshape(want)

    def fraction(name):
        f = keep.get(name, 1.0) if isinstance(keep, dict) else keep
        _check_number(src, f"keep[{name}]", f, 0.0, 1.0)
        return f

    masks = {}
    if method == "layer":
        for name, w in arrays.items():
            masks[name] = magnitude_mask(w, _budget(w, fraction(name) * w.size))
    elif method == "global":
        if isinstance(keep, dict):
            raise ConfigError(f"{src}: method 'global' takes one keep fraction, not a table")
        flat = np.concatenate([np.abs(w).ravel() for w in arrays.values()])
        mask = magnitude_mask(flat, _budget(flat, fraction("all") * flat.size))
        start = 0
        for name, w in arrays.items():
            masks[name] = mask[start : start + w.size].reshape(w.shape)
            start += w.size
    elif method == "nm":
        if not (isinstance(n, int) and isinstance(m, int) and 1 <= n <= m):
            raise ConfigError(f"{src}: n = {n!r}, m = {m!r}: need integers 1 <= n <= m")
        masks = {name: nm_mask(w, n, m) for name, w in arrays.items()}
    else:
        for name, w in arrays.items():
            per_filter = round(fraction(name) * w[0].size)
            rows = w.reshape(w.shape[0], -1)
            masks[name] = np.stack(
                [magnitude_mask(r, _budget(r, per_filter)) for r in rows]
            ).reshape(w.shape)
    layers = [
        PrunedLayer(
            l,
            masks[l.name].reshape(l.out_c, -1).sum(axis=1),
            seed=_layer_seed(0, l.name),
            mask=masks[l.name],
        )
        for l in network.mac_layers
    ]
    label = (
        f"the weights of {src} as they are (nothing pruned)"
        if keep == 1 and method in ("layer", "global")
        else f"{method} magnitude pruning of {src}"
        if method in ("layer", "global")
        else f"{f'{n}:{m} structured' if method == 'nm' else 'balanced'} pruning of {src}"
    )
    return PrunedNetwork(network, layers, label)


def prune_magnitude(
    network: Network,
    weights: dict[str, np.ndarray],
    keep: float | dict[str, float],
    src: str = "weights",
) -> PrunedNetwork:
    """Layer-wise magnitude pruning: each layer keeps round(keep * n) of its largest |w|."""
    return prune_weights(network, weights, "layer", keep, src=src)


def _budget(w: np.ndarray, wanted: float) -> int:
    return min(round(wanted), int(np.count_nonzero(w)))


def nm_mask(w: np.ndarray, n: int, m: int) -> np.ndarray:
    """In each group of m consecutive weights of a filter (flattened over input channels and
    kernel), keep the n largest |w| (never an exact zero); a last, shorter group keeps at
    most n."""
    rows = np.abs(w.reshape(w.shape[0], -1))
    k = rows.shape[1]
    pad = (-k) % m
    padded = np.concatenate([rows, np.zeros((rows.shape[0], pad))], axis=1)
    groups = padded.reshape(rows.shape[0], -1, m)
    order = np.argsort(-groups, axis=2, kind="stable")
    keep = np.zeros_like(groups, dtype=bool)
    np.put_along_axis(keep, order[:, :, :n], True, axis=2)
    keep &= groups != 0
    return keep.reshape(rows.shape[0], -1)[:, :k].reshape(w.shape)
