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

from accelsim.workload.sparsity.counts import uniform_counts
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
    units: list[tuple[tuple[int, ...], int, int]],
    unit_nnz: list[int],
) -> list[int]:
    """Lane slots per output pixel of each unit, given as (filters, first, end channel) with
    its nonzero count."""
    layer = pruned.layer
    if model == "zero-skip":
        return list(unit_nnz)
    if model == "lane-group":
        kernels = pruned.kernel_nnz()
        return [
            int(
                np.maximum.reduceat(
                    kernels[list(members), lo:hi], np.arange(0, hi - lo, lanes), axis=1
                ).sum()
            )
            * lanes
            for members, lo, hi in units
        ]
    if model == "window":
        per_kernel = window_costs(pruned, window)
        return [int(per_kernel[list(members), lo:hi].sum()) for members, lo, hi in units]
    if model == "dense":
        return [len(members) * (hi - lo) * layer.k_h * layer.k_w for members, lo, hi in units]
    raise ValueError(f"unknown PE model {model!r}")
