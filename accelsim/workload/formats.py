"""Weight storage formats: how a layer's weights sit in DRAM and the weight buffer, and so
how many bytes are moved for them.

- compressed: each nonzero with a relative index (EIE's CSC-style format, Han et al., ISCA
  2016): nnz x (weight_bits + index_bits);
- bitmap: one presence bit per weight plus the nonzero values (the step-index alternative of
  Cambricon-X, Zhang et al., MICRO 2016): weights + nnz x weight_bits;
- dense: every weight, zeros included, no index: weights x weight_bits.
"auto" picks, per layer, the format whose bytes are fewest (index bits included), so a dense
or nearly dense layer is stored and streamed dense, as real sparse accelerators do.
"""

from __future__ import annotations

import numpy as np

from accelsim.config import Hardware
from accelsim.units import ceil_div

STORED = ("dense", "bitmap", "compressed")  # ties go to the simplest format


def unit_bytes(fmt: str, nnz, weights, hw: Hardware):
    """Bytes of one weight block of `weights` weights, `nnz` of them nonzero (ints, or
    int64 arrays of blocks)."""
    if fmt == "compressed":
        bits = nnz * (hw.weight_bits + hw.index_bits)
    elif fmt == "bitmap":
        bits = weights + nnz * hw.weight_bits
    elif fmt == "dense":
        bits = weights * hw.weight_bits
    else:
        raise ValueError(f"unknown weight format {fmt!r}")
    return ceil_div(bits, 8)


def choose(asked: str, nnz: list[int], weights: list[int], hw: Hardware) -> str:
    """The stored format of a layer whose weight blocks have these counts."""
    if asked != "auto":
        return asked
    return min(
        STORED,
        key=lambda f: int(
            np.sum(
                unit_bytes(
                    f, np.asarray(nnz, dtype=np.int64), np.asarray(weights, dtype=np.int64), hw
                )
            )
        ),
    )
