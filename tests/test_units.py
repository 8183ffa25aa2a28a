"""Transfer timing in integer arithmetic: the exact ceiling of bytes / rate."""

import math
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from accelsim.units import Rate, ceil_div, exact_rate, transfer_cycles

RATES = st.sampled_from([1, 2.5, 3.2, 12.8, 16, 64, 0.3, 1e-3, 7.77, 100.125, 1 / 3])


def test_a_decimal_rate_is_an_exact_ratio_in_lowest_terms():
    assert exact_rate(12.8) == Rate(64, 5)
    assert exact_rate(16) == Rate(16, 1)
    assert exact_rate(2.5) == Rate(5, 2)


def test_an_infinite_rate_moves_anything_in_zero_cycles():
    assert exact_rate(math.inf) is None
    assert transfer_cycles(10**12, None) == 0


@given(nbytes=st.integers(0, 10**15), rate=RATES)
def test_cycles_are_the_exact_ceiling_of_bytes_over_rate(nbytes, rate):
    exact = Fraction(str(rate))
    assert transfer_cycles(nbytes, exact_rate(rate)) == math.ceil(nbytes / exact)


def test_worked_examples():
    assert transfer_cycles(0, exact_rate(12.8)) == 0
    assert transfer_cycles(64, exact_rate(12.8)) == 5
    assert transfer_cycles(65, exact_rate(12.8)) == 6
    assert transfer_cycles(12, exact_rate(4)) == 3
    assert ceil_div(7, 2) == 4 and ceil_div(0, 3) == 0
