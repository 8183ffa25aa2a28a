"""Integer cycle arithmetic shared by every component."""

from fractions import Fraction
import math


def ceil_div(a: int, b: int) -> int:
    """ceil(a / b) for non-negative integers, without floats."""
    return -(-a // b)


def exact_rate(value: float) -> Fraction | None:
    """A bandwidth as an exact fraction (None for infinite), so 12.8 B/cycle rounds exactly."""
    if math.isinf(value):
        return None
    return Fraction(str(value))


def transfer_cycles(nbytes: int, rate: Fraction | None) -> int:
    """Cycles to move `nbytes` at `rate` bytes/cycle, rounded up; zero at infinite rate."""
    if rate is None or nbytes == 0:
        return 0
    return math.ceil(nbytes / rate)
