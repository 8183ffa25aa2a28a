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


_PLACE_BLOCK = 1 << 23  # positions drawn at a time: about 80 MB of temporaries


def uniform_counts(
    nnz: np.ndarray, groups: int, per_group: int, rng: np.random.Generator
) -> np.ndarray:
    """(len(nnz), groups) int32 counts when row r's `nnz[r]` nonzeros take positions among its
    `groups x per_group` uniformly without replacement (the kernels of a filter, or the
    windows of a kernel). Vectorised: every position draws a one-byte key, a row keeps its
    `nnz[r]` smallest keys, and ties at the cut are broken by a second uniform draw; keys
    are exchangeable, so the kept set is a uniform subset of exactly that size. Drawing a
    multivariate hypergeometric per row did the same in a Python loop and cost 18 s on
    VGG-16's fc6 (103 M positions); this costs well under a second."""
    nnz = np.asarray(nnz, dtype=np.int64)
    width = groups * per_group
    # int32: half the memory of int64, and a fresh int64 array of fc6's size cost 1.3 s to
    # fill on the benchmark machine against 0.05 s for int32 (counts are at most per_group)
    out = np.empty((len(nnz), groups), dtype=np.int32)
    step = max(1, _PLACE_BLOCK // max(1, width))
    for r0 in range(0, len(nnz), step):
        n = nnz[r0 : r0 + step]
        rows = len(n)
        key = np.frombuffer(rng.bytes(rows * width), dtype=np.uint8).reshape(rows, width)
        # a row at a time: bincount on one row stays in cache (10x faster than on all)
        hist = np.stack([np.bincount(row, minlength=256) for row in key])
        at_most = hist.cumsum(axis=1)  # keys <= v in each row
        # the key value where the n-th smallest lies (at most 255: at_most[255] = width >= n)
        cut = (at_most < n[:, None]).sum(axis=1)
        below = np.where(cut > 0, at_most[np.arange(rows), np.maximum(cut - 1, 0)], 0)
        cut = cut.astype(np.uint8)[:, None]
        kept = key < cut
        # flat positions, split: np.nonzero on a 2-D array costs 8x as much (0.2 s on fc6)
        tie_row, tie_col = np.divmod(np.flatnonzero(key == cut), width)
        order = np.lexsort((rng.random(len(tie_row)), tie_row))
        tie_row, tie_col = tie_row[order], tie_col[order]
        rank = np.arange(len(tie_row)) - np.searchsorted(tie_row, tie_row)
        take = rank < (n - below)[tie_row]
        kept[tie_row[take], tie_col[take]] = True
        kept = kept.reshape(rows, groups, per_group)
        # a sum over a short last axis is slow in numpy: add its columns instead
        block = out[r0 : r0 + rows]
        block[:] = kept[:, :, 0]
        for j in range(1, per_group):
            block += kept[:, :, j]
    return out


_GATHER_BLOCK = 1 << 20  # elements row_group_sums gathers at a time: 4-8 MB


def row_group_sums(counts: np.ndarray, starts) -> np.ndarray:
    """Sums of consecutive row ranges of a 2-D array, the ranges starting at `starts` (the
    last running to the end): np.add.reduceat along axis 0, which costs about 25 ns per
    element on wide arrays (2.4 s on VGG-16 fc6's kernels). Ranges of one length are
    gathered and summed together instead; there are few lengths (filters per job, and a
    shorter last group). Integer sums, in int64; when every range is one row, `counts`
    itself (a copy of fc6's kernels cost another 1.3 s to allocate)."""
    starts = np.asarray(starts, dtype=np.int64)
    lengths = np.diff(np.append(starts, len(counts)))
    if len(starts) == len(counts):  # a range per row: nothing to add
        return counts
    out = np.empty((len(starts), counts.shape[1]), dtype=np.int64)
    for length in np.unique(lengths).tolist():
        which = np.flatnonzero(lengths == length)
        if length == 1:
            out[which] = counts[starts[which]]
        else:
            # a block of ranges at a time: gathering all of them at once copied all of
            # fc6's kernels (411 MB, 2 s of page faults on EIE's cut)
            step = max(1, _GATHER_BLOCK // max(1, length * counts.shape[1]))
            for w0 in range(0, len(which), step):
                part = which[w0 : w0 + step]
                rows = starts[part][:, None] + np.arange(length)
                out[part] = counts[rows].sum(axis=1, dtype=np.int64)
    return out
