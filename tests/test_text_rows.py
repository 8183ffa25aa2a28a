"""format_rows writes exactly what Python's own formatting would, row by row, for any
constants, table entries and non-negative integers (small ones go through a table of their
text, large ones through digits), and refuses what it cannot write."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from accelsim.outputs.text_rows import SMALL, Pick, Table, format_rows

text = st.binary(max_size=12).filter(lambda b: b"\0" not in b)
# values from 0 to int64's largest, crowded near the powers of ten and SMALL
integers = st.one_of(
    st.integers(0, 2**63 - 1),
    st.integers(0, 2 * SMALL),
    st.sampled_from([0, 9, 10, 99, 100, 999, 1000, 2**32 - 1, 2**32, 10**18, 2**63 - 1]),
)


@st.composite
def rows(draw):
    """A row layout (constants, picks and integer columns) and the same rows as Python text."""
    n = draw(st.integers(1, 40))
    parts, columns = [], []
    kinds = draw(st.lists(st.sampled_from(["bytes", "pick", "int"]), min_size=1, max_size=6))
    for kind in kinds + ["int"] * (set(kinds) == {"bytes"}):  # the rows need a column
        if kind == "bytes":
            constant = draw(text)
            parts.append(constant)
            columns.append([constant] * n)
        elif kind == "pick":
            entries = draw(st.lists(text, min_size=1, max_size=5))
            index = np.array(
                draw(st.lists(st.integers(0, len(entries) - 1), min_size=n, max_size=n))
            )
            parts.append(Pick(Table(entries), index))
            columns.append([entries[i] for i in index])
        else:
            values = draw(st.lists(integers, min_size=n, max_size=n))
            dtype = draw(st.sampled_from([np.int64, np.uint64, np.int32, np.int8]))
            values = [v % (np.iinfo(dtype).max + 1) for v in values]
            parts.append(np.array(values, dtype=dtype))
            columns.append([str(v).encode() for v in values])
    return parts, b"".join(b"".join(row) for row in zip(*columns))


@given(rows())
def test_every_row_as_python_writes_it(layout):
    parts, expected = layout
    assert format_rows(parts).tobytes() == expected


def test_no_rows_is_no_text():
    assert format_rows([b"x", np.zeros(0, dtype=np.int64)]).tobytes() == b""


def test_what_it_cannot_write_is_refused():
    with pytest.raises(ValueError, match="-3 is negative"):
        format_rows([b",", np.array([4, -3])])
    with pytest.raises(ValueError, match="NUL byte"):
        Table([b"a", b"b\0"])
    with pytest.raises(ValueError, match="NUL byte"):
        format_rows([b"\0", np.array([1])])
