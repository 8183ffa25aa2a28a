"""The raster charts put data where their axes say: 1-2-5 ticks inside the range, data-to-pixel
maps that land each value in its pixel, images pixel for pixel, text and swatches drawn."""

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from accelsim.outputs.charts import Canvas, nice_ticks, png_bytes, rgb, tick_labels


@settings(max_examples=200, deadline=None)
@given(lo=st.floats(-1e9, 1e9), span=st.floats(1e-3, 1e10), most=st.integers(4, 12))
def test_ticks_are_few_round_multiples_of_one_step_inside_the_range(lo, span, most):
    assume(span > 1e-6 * abs(lo))  # ticks an axis can tell apart in float64
    hi = lo + span
    ticks = nice_ticks(lo, hi, most)
    assert 2 <= len(ticks) <= most
    assert ticks[0] >= lo - 1e-9 * span and ticks[-1] <= hi + 1e-9 * span
    steps = np.diff(ticks)
    np.testing.assert_allclose(steps, steps[0], rtol=1e-2)
    mantissa = steps[0] / 10 ** math.floor(math.log10(steps[0]))
    assert min(abs(mantissa - m) for m in (1, 2, 5, 10)) < 1e-2
    # the chosen step is the smallest of 1-2-5 that fits: the next smaller one has too many
    step = round(mantissa) * 10 ** math.floor(math.log10(steps[0]))
    smaller = step / (2.5 if round(mantissa) == 5 else 2)
    assert math.floor(hi / smaller + 1e-9) - math.ceil(lo / smaller - 1e-9) + 1 > most


def test_tick_labels_of_cycles_and_shares():
    assert tick_labels(nice_ticks(0, 6_272_182)) == [
        "0",
        "1,000,000",
        "2,000,000",
        "3,000,000",
        "4,000,000",
        "5,000,000",
        "6,000,000",
    ]
    assert tick_labels(nice_ticks(0, 1, 6)) == ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]
    assert tick_labels(nice_ticks(0, 1, 3)) == ["0.0", "0.5", "1.0"]


@settings(max_examples=100, deadline=None)
@given(
    x0=st.integers(-10_000, 10_000),
    span=st.integers(1, 10_000_000),
    width=st.integers(20, 1800),
    data=st.data(),
)
def test_a_value_lands_in_the_pixel_that_covers_it(x0, span, width, data):
    canvas = Canvas(width + 40, 100)
    ax = canvas.axes(20, 10, 20 + width, 90, (x0, x0 + span), (0, 1))
    k = data.draw(st.integers(0, width - 1))  # pixel column k covers this data range
    a, b = x0 + span * k / width, x0 + span * (k + 1) / width
    v = data.draw(st.floats(a, b, exclude_max=True))
    assert math.floor(ax.px(v)) == ax.left + k or min(abs(v - a), abs(v - b)) <= 1e-9 * span
    assert ax.px(x0) == ax.left and ax.px(x0 + span) == ax.right
    assert ax.py(0) == ax.bottom and ax.py(1) == ax.top


def test_upside_down_axes_put_row_zero_on_top():
    ax = Canvas(100, 100).axes(0, 0, 100, 80, (0, 1), (3.5, -0.5))  # four rows, 20 px each
    assert [float(ax.py(r)) for r in range(4)] == [10, 30, 50, 70]


def test_a_picture_of_the_box_size_lands_pixel_for_pixel_and_others_stretch():
    canvas = Canvas(60, 50)
    ax = canvas.axes(10, 5, 50, 45, (0, 1), (0, 1))
    picture = np.random.default_rng(0).integers(0, 256, (40, 40, 3), dtype=np.uint8)
    ax.image(picture)
    np.testing.assert_array_equal(canvas.pixels()[5:45, 10:50], picture)
    two = np.array([[[255, 0, 0], [0, 0, 255]]], dtype=np.uint8)  # one row, two columns
    ax.image(two)
    shown = canvas.pixels()[5:45, 10:50]
    assert (shown[:, :20] == [255, 0, 0]).all() and (shown[:, 20:] == [0, 0, 255]).all()


def test_bars_fill_exactly_their_data_range():
    canvas = Canvas(120, 120)
    ax = canvas.axes(10, 10, 110, 110, (0, 10), (0, 1))  # 10 px per unit x
    ax.bars(np.array([2.0]), np.array([0.25]), np.array([0.75]), 1.0, "#2ca02c")
    filled = (canvas.pixels() == rgb("#2ca02c")).all(axis=2)
    rows, cols = np.nonzero(filled)
    assert (cols.min(), cols.max()) == (25, 34)  # x in [1.5, 2.5)
    assert (rows.min(), rows.max()) == (35, 84)  # y in [0.25, 0.75]


def test_step_line_holds_each_value_until_the_next_time():
    canvas = Canvas(120, 120)
    ax = canvas.axes(10, 10, 110, 110, (0, 100), (0, 10))
    ax.step(np.array([0, 50, 100]), np.array([2, 8, 8]), "#1f77b4")
    blue = (canvas.pixels() == rgb("#1f77b4")).all(axis=2)
    assert blue[round(float(ax.py(2))), 20:60].all()  # 2 from 0 to 50
    assert blue[round(float(ax.py(8))), 60:110].all()  # then 8
    assert not blue[round(float(ax.py(8))), 20:59].any()


def test_text_is_drawn_horizontally_and_vertically():
    canvas = Canvas(200, 200)
    canvas.text(10, 10, "cycle", 10)
    ink = (canvas.pixels() < 128).all(axis=2)
    rows, cols = np.nonzero(ink)
    assert cols.max() - cols.min() > rows.max() - rows.min()  # wider than tall
    canvas = Canvas(200, 200)
    canvas.vertical_text(100, 20, "layer1.0.conv1", 10, "top")
    rows, cols = np.nonzero((canvas.pixels() < 128).all(axis=2))
    assert rows.max() - rows.min() > 3 * (cols.max() - cols.min())  # tall, narrow
    assert rows.min() >= 20 and abs((cols.max() + cols.min()) / 2 - 100) <= 3


@pytest.mark.parametrize("column", [False, True])
def test_legend_draws_every_swatch(column):
    canvas = Canvas(900, 200)
    colours = ["#2ca02c", "#9467bd", "#d62728"]
    canvas.legend([(c, c) for c in colours], 450 if not column else 20, 100, column=column)
    for c in colours:
        assert (canvas.pixels() == rgb(c)).all(axis=2).sum() >= 20


@settings(max_examples=30, deadline=None)
@given(height=st.integers(1, 40), width=st.integers(1, 40), seed=st.integers(0, 100))
def test_png_files_decode_to_the_pixels_drawn(height, width, seed):
    import io

    from PIL import Image

    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    pixels[height // 2 :] = pixels[0]  # rows alike, as in charts
    decoded = np.asarray(Image.open(io.BytesIO(png_bytes(pixels))))
    np.testing.assert_array_equal(decoded, pixels)
