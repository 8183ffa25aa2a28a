"""Integer cycle arithmetic shared by every component."""

from __future__ import annotations

import functools
import math
from fractions import Fraction
from typing import NamedTuple


def ceil_div(a: int, b: int) -> int:
    """ceil(a / b) for non-negative integers, without floats."""
    return -(-a // b)


class Rate(NamedTuple):
    """A bandwidth as an exact ratio of integers in lowest terms: `numerator` bytes every
    `denominator` cycles (12.8 B/cycle is 64 / 5), so timing never rounds a float."""

    numerator: int
    denominator: int


@functools.lru_cache(maxsize=256)
def exact_rate(bytes_per_cycle: float) -> Rate | None:
    """A bandwidth as an exact Rate (None for infinite), read from its decimal text. Kept
    per value: the mapper's bounds ask it thousands of times for the same few rates."""
    if math.isinf(bytes_per_cycle):
        return None
    exact = Fraction(str(bytes_per_cycle))
    return Rate(exact.numerator, exact.denominator)


def transfer_cycles(nbytes: int, rate: Rate | None) -> int:
    """Cycles to move `nbytes` at `rate`, rounded up: ceil(nbytes * den / num) in integer
    arithmetic (this runs per transfer); zero at infinite rate."""
    if rate is None:
        return 0
    num, den = rate
    return -(-nbytes * den // num)
