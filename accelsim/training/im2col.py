"""Valid k x k convolutions as matrix products, for the numpy training scripts (lenet_train,
waifu2x_retrain): the input cut into patches, and patch gradients folded back."""

from __future__ import annotations

import numpy as np


def patches(x: np.ndarray, k: int) -> np.ndarray:
    """(N, C, H, W) -> (N, OH, OW, C * k * k) patches of a valid k x k convolution."""
    n, c, h, w = x.shape
    view = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))  # no copy yet
    return view.transpose(0, 2, 3, 1, 4, 5).reshape(n, h - k + 1, w - k + 1, c * k * k)


def fold_patches(dcols: np.ndarray, shape, k: int) -> np.ndarray:
    """The gradient of the input (N, C, H, W) from that of its patches."""
    n, c, h, w = shape
    oh, ow = h - k + 1, w - k + 1
    dcols = dcols.reshape(n, oh, ow, c, k, k)
    dx = np.zeros(shape, dtype=dcols.dtype)
    for i in range(k):
        for j in range(k):
            dx[:, :, i : i + oh, j : j + ow] += dcols[:, :, :, :, i, j].transpose(0, 3, 1, 2)
    return dx
