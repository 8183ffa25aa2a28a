"""Counting nonzeros: per window of a kernel, and spread over filters with an exact total.

The pieces both the pruning of a layer (accelsim.workload.sparsity.pruning) and the fitted
sparsity model (accelsim.workload.sparsity.sparsity_model) need, kept apart so that neither
imports the other's module for them.
"""

from __future__ import annotations

import math

import numpy as np

WINDOW = 3  # a 3x3 convolution window, as in Du et al.'s streaming accelerator


def window_counts(mask: np.ndarray, window: int) -> np.ndarray:
    """(out_c, channels, n_windows) nonzeros of each window x window piece of every kernel."""
    o, c, kh, kw = mask.shape
    rows, cols = math.ceil(kh / window), math.ceil(kw / window)
    padded = np.zeros((o, c, rows * window, cols * window), dtype=np.int64)
    padded[:, :, :kh, :kw] = mask
    return (
        padded.reshape(o, c, rows, window, cols, window).sum(axis=(3, 5)).reshape(o, c, rows * cols)
    )


EMPTY_BELOW = 0.3  # a near-empty filter keeps less than this share of the layer's density


def spread_nnz(
    total: int,
    n_filters: int,
    per_filter: int,
    cv: float,
    rng: np.random.Generator,
    empty_share: float = 0.0,
) -> np.ndarray:
    """Split `total` nonzeros over filters of `per_filter` weights each, with fractions drawn
    from Beta(mean = total density, cv) and rounded so the sum is exactly `total`; with
    `empty_share`, each filter is instead near-empty with that probability (a fraction drawn
    uniformly below EMPTY_BELOW times the density), as magnitude pruning leaves a few filters
    whose weights are all small.

    The spread is capped below the Beta distribution's limit sqrt((1 - m) / m) at mean m.
    """
    capacity = n_filters * per_filter
    if not 0 <= total <= capacity:
        raise ValueError(f"total nnz {total} outside [0, {capacity}]")
    if total in (0, capacity):
        return np.full(n_filters, total // n_filters, dtype=np.int64)
    mean = total / capacity
    cv = min(cv, 0.95 * math.sqrt((1 - mean) / mean))
    if cv > 1e-6:
        var = (cv * mean) ** 2
        nu = mean * (1 - mean) / var - 1
        shares = rng.beta(mean * nu, (1 - mean) * nu, size=n_filters)
    else:
        shares = np.ones(n_filters)
    if empty_share > 0:
        empty = rng.random(n_filters) < empty_share
        shares = np.where(empty, rng.uniform(0, EMPTY_BELOW * mean, size=n_filters), shares)
    return _allocate(shares, total, per_filter)


def _allocate(shares: np.ndarray, total: int, cap: int) -> np.ndarray:
    """Integers x_i <= cap proportional to shares (water-filled at the cap), sum(x) == total."""
    shares = np.asarray(shares, dtype=float) + 1e-12
    lo, hi = 0.0, cap / shares.min()
    for _ in range(100):
        mid = (lo + hi) / 2
        if np.minimum(cap, mid * shares).sum() < total:
            lo = mid
        else:
            hi = mid
    x = np.minimum(cap, hi * shares)
    base = np.floor(x).astype(np.int64)
    short = total - int(base.sum())
    if short > 0:
        room = np.where(base < cap, x - base, -1.0)
        order = np.argsort(-room, kind="stable")
        base[order[:short]] += 1
    elif short < 0:
        order = np.argsort(x - base, kind="stable")
        order = order[base[order] > 0]
        base[order[:-short]] -= 1
    return base
