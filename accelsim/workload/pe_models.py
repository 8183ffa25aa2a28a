"""PE compute models: how many cycles a PE spends on a job, from the job's real nonzeros.

Every model executes the same nonzero MACs (the work is conserved); they differ in the lane
slots they spend per output pixel, and a job takes ceil(slots x pixels / lanes) cycles plus
the job overhead:
- zero-skip: an ideal zero-skipping PE (EIE-like) spends a slot on each nonzero only;
- window: a convolution unit with a fixed W x W window (pe_window, 3 as in Du et al.'s
  streaming accelerator, "A Reconfigurable Streaming Deep Convolutional Neural Network
  Accelerator for Internet of Things", IEEE TCAS-I 2018) skips only windows whose weights are
  all zero; a larger kernel is cut into W x W windows (the edge windows smaller), and a
  window that runs costs all its positions;
- lane-group: the PE's lanes take one input channel each and step together, so a step over a
  group of `lanes` channels lasts as long as its densest kernel (lanes wait for the slowest,
  as in synchronous SIMD sparse designs): slots = lanes x the sum of each group's largest
  kernel count;
- dense: no skipping, every weight costs a slot (the baseline design).
"""

from __future__ import annotations

import numpy as np

from accelsim.workload.sparsity.counts import row_group_sums, uniform_counts
from accelsim.workload.sparsity.pruning import PrunedLayer


def _spans(length: int, window: int) -> list[tuple[int, int]]:
    return [(a, min(a + window, length)) for a in range(0, length, window)]


def window_costs(pruned: PrunedLayer, window: int) -> np.ndarray:
    """(out_c, channels) slots of each kernel: the positions of its windows that hold a
    nonzero. From the layer's window counts when it has them (PrunedLayer.window_nnz: a mask,
    shipped measured counts or the fitted model's placement); otherwise each kernel's
    nonzeros are placed uniformly at random over its positions (seeded), which only matters
    when a kernel spans more than one window."""
    layer = pruned.layer
    rows, cols = _spans(layer.k_h, window), _spans(layer.k_w, window)
    kernels = pruned.kernel_nnz()
    if len(rows) * len(cols) == 1:
        return np.where(kernels > 0, layer.k_h * layer.k_w, 0)
    areas = np.array([(r1 - r0) * (c1 - c0) for r0, r1 in rows for c0, c1 in cols])
    measured = pruned.window_nnz(window)  # a mask, shipped counts or the fitted placement
    if measured is not None:
        counts = measured
    else:
        # which positions of each kernel are kept (one seeded draw), then per window
        rng = np.random.default_rng([pruned.seed, layer.k_h, layer.k_w, window, 1])
        kept = uniform_counts(kernels.ravel(), layer.k_h * layer.k_w, 1, rng)
        window_of = (
            np.arange(layer.k_h)[:, None] // window * len(cols)
            + np.arange(layer.k_w)[None, :] // window
        ).ravel()  # each position's window, row-major as `areas`
        order = np.argsort(window_of, kind="stable")
        starts = np.searchsorted(window_of[order], np.arange(len(areas)))
        counts = np.add.reduceat(kept[:, order], starts, axis=1).reshape(*kernels.shape, -1)
    return ((counts > 0) * areas).sum(axis=2)


def unit_slots(
    pruned: PrunedLayer,
    model: str,
    lanes: int,
    window: int,
    fgroup_starts: list[int],
    units: np.ndarray,
    unit_nnz: np.ndarray,
) -> np.ndarray:
    """Lane slots per output pixel of each unit. Units are rows (filter group, chunks k,
    chunk c): the filters of a filter group are a contiguous range, the groups in order
    starting at `fgroup_starts`, and chunk c covers channels pruned.chunk_bounds(k)[c:c+2].
    Per chunking, a layer's kernels are reduced over channels once, then summed per filter
    group, so the cost grows with the kernels, not with kernels x units."""
    layer = pruned.layer
    unit_fg, unit_k, unit_c = units[:, 0], units[:, 1], units[:, 2]
    if model == "zero-skip":
        return np.asarray(unit_nnz, dtype=np.int64)
    if model == "dense":
        count = np.diff([*fgroup_starts, layer.out_c])[unit_fg] if len(units) else unit_fg
        width = np.zeros(len(units), dtype=np.int64)
        for k in np.unique(unit_k).tolist():
            sel = unit_k == k
            width[sel] = np.diff(pruned.chunk_bounds(k))[unit_c[sel]]
        return (count * width * layer.k_h * layer.k_w).astype(np.int64)
    if model == "lane-group":
        per_kernel = pruned.kernel_nnz()
    elif model == "window":
        per_kernel = window_costs(pruned, window)
    else:
        raise ValueError(f"unknown PE model {model!r}")
    slots = np.zeros(len(units), dtype=np.int64)
    for k in np.unique(unit_k).tolist():
        bounds = pruned.chunk_bounds(k)
        if model == "lane-group":
            # lanes step over `lanes` channels of a chunk at a time, as long as the densest
            # kernel of each filter in that step; per filter, the steps summed per chunk
            steps = [np.arange(lo, hi, lanes) for lo, hi in zip(bounds, bounds[1:])]
            step_starts = np.concatenate(steps)
            per_step = np.maximum.reduceat(per_kernel, step_starts, axis=1)
            first_step = np.cumsum([0, *map(len, steps)])[:-1]
            per_chunk = np.add.reduceat(per_step, first_step, axis=1, dtype=np.int64) * lanes
        else:
            per_chunk = np.add.reduceat(per_kernel, bounds[:-1], axis=1, dtype=np.int64)
        per_group = row_group_sums(per_chunk, fgroup_starts)
        sel = unit_k == k
        slots[sel] = per_group[unit_fg[sel], unit_c[sel]]
    return slots
