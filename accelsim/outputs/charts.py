"""Raster charts on Pillow: a canvas with axes boxes, ticks, labels, images, bars and lines.

The four plots of every `accelsim run` are drawn with this instead of matplotlib, whose import
alone costs more than the whole plot budget of a run. Sizes are in pixels; font sizes are in
points at 130 dpi, and the text is matplotlib's own DejaVu Sans, so these charts look like the
project's matplotlib figures. Shapes are drawn at pixel resolution without anti-aliasing: axis-
aligned bars, lines and nearest-neighbour images need none.
"""

from __future__ import annotations

import importlib.util
import math
import struct
import zlib
from functools import cache
from pathlib import Path

import numpy as np
from attrs import define, field
from PIL import Image, ImageColor, ImageDraw, ImageFont

DPI = 130
PX_PER_PT = DPI / 72
TEXT = (0, 0, 0)
PNG_LEVEL = 3  # zlib level: 6 takes twice as long for files about a quarter smaller


@cache
def font(points: float) -> ImageFont.FreeTypeFont:
    """DejaVu Sans from matplotlib's bundled fonts, found without importing matplotlib."""
    spec = importlib.util.find_spec("matplotlib")
    path = (
        Path(spec.submodule_search_locations[0]) / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf"
    )
    return ImageFont.truetype(str(path), round(points * PX_PER_PT))


def text_width(text: str, points: float) -> float:
    """Pixels from the start of a line of text to its end."""
    return font(points).getlength(text)


def rgb(color) -> tuple[int, int, int]:
    """An (r, g, b) of 0-255 from a '#rrggbb' string or such a tuple."""
    return ImageColor.getrgb(color) if isinstance(color, str) else tuple(color)


def nice_ticks(lo: float, hi: float, most: int = 7) -> np.ndarray:
    """The multiples in [lo, hi] of the smallest step of 1, 2 or 5 times a power of ten that
    gives at most `most` of them (at least 2 when hi > lo and most >= 4)."""
    if not hi > lo:
        return np.array([lo], dtype=float)
    power = 10.0 ** math.floor(math.log10((hi - lo) / most))
    for step in (m * power for m in (1, 2, 5, 10, 20, 50)):
        first, last = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
        if last - first + 1 <= most:
            return np.arange(first, last + 1) * step
    raise AssertionError("unreachable: a step of 50 powers spans the range in under 2 ticks")


def tick_labels(ticks: np.ndarray) -> list[str]:
    """Tick values as text: whole numbers with thousands separators (1,000,000), else as many
    decimals as the step needs (0.0, 0.2)."""
    step = float(np.min(np.diff(ticks))) if len(ticks) > 1 else 1.0
    decimals = max(0, -math.floor(math.log10(step) + 1e-9)) if step < 1 else 0
    return [f"{v:,.{decimals}f}" for v in ticks]


def png_bytes(pixels: np.ndarray) -> bytes:
    """An (height, width, 3) uint8 picture as a PNG file, every row filtered "up" (minus the
    row above). Pillow's encoder tries all five filters on every row, which takes longer than
    drawing a chart; charts are mostly runs of rows alike, where "up" leaves zeros that zlib
    compresses fast at a low level. The files are about the size of Pillow's."""
    height, width, _ = pixels.shape
    rows = pixels.reshape(height, 3 * width)
    raw = np.empty((height, 3 * width + 1), dtype=np.uint8)
    raw[:, 0] = 2  # filter type 2: up
    raw[:, 1:] = rows
    raw[1:, 1:] -= rows[:-1]  # uint8: modulo 256, as PNG wants

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, PNG_LEVEL))
        + chunk(b"IEND", b"")
    )


@define(eq=False)
class Canvas:
    """A white RGB image to draw charts on, in pixels from the top left."""

    width: int
    height: int
    image: Image.Image = field(init=False)
    draw: ImageDraw.ImageDraw = field(init=False)

    def __attrs_post_init__(self):
        self.image = Image.new("RGB", (self.width, self.height), "white")
        self.draw = ImageDraw.Draw(self.image)

    def pixels(self) -> np.ndarray:
        """The picture so far as a (height, width, 3) uint8 array."""
        return np.asarray(self.image)

    def axes(
        self,
        left: float,
        top: float,
        right: float,
        bottom: float,
        xlim: tuple[float, float],
        ylim: tuple[float, float],
    ) -> Axes:
        """An axes box (pixel edges, rounded) showing xlim left to right and ylim bottom to
        top; a ylim that decreases turns the y axis upside down (row 0 at the top)."""
        return Axes(self, round(left), round(top), round(right), round(bottom), xlim, ylim)

    def text(
        self, x: float, y: float, text: str, points: float = 10, anchor: str = "la", color=TEXT
    ) -> None:
        """Horizontal text; `anchor` is Pillow's two letters (l/m/r, then a/m/b for top,
        middle, bottom of the line)."""
        self.draw.text((x, y), text, font=font(points), fill=rgb(color), anchor=anchor)

    def vertical_text(
        self, x: float, y: float, text: str, points: float = 10, align: str = "center", color=TEXT
    ) -> None:
        """Text read from bottom to top, centred on x. `align` says where y is: "top" of the
        text's end (labels hanging below an axis), "bottom" of its start (labels standing above
        one) or its "center"."""
        f = font(points)
        ascent, descent = f.getmetrics()
        strip = Image.new("L", (max(1, math.ceil(f.getlength(text))), ascent + descent), 0)
        ImageDraw.Draw(strip).text((0, 0), text, font=f, fill=255)
        strip = strip.transpose(Image.Transpose.ROTATE_90)
        w, h = strip.size
        top = {"top": y, "bottom": y - h, "center": y - h / 2}[align]
        self.image.paste(rgb(color), (round(x - w / 2), round(top)), strip)

    def rect(self, x0: float, y0: float, x1: float, y1: float, color) -> None:
        """A filled rectangle covering the pixels from (x0, y0) up to, not including, (x1, y1)."""
        x0, y0, x1, y1 = round(x0), round(y0), round(x1), round(y1)
        if x1 > x0 and y1 > y0:
            self.draw.rectangle((x0, y0, x1 - 1, y1 - 1), fill=rgb(color))

    def line(self, points, color, width: int = 1) -> None:
        """A polyline through (x, y) points: an (n, 2) array or a flat sequence."""
        flat = np.asarray(points, dtype=float).ravel().tolist()
        if len(flat) >= 4:
            self.draw.line(flat, fill=rgb(color), width=width)

    def dashed(self, x0: float, y0: float, x1: float, y1: float, color, dash=(6, 4)) -> None:
        """A dashed horizontal or vertical line."""
        length = abs(x1 - x0) + abs(y1 - y0)
        ux, uy = (x1 - x0) / max(length, 1), (y1 - y0) / max(length, 1)
        fill = rgb(color)
        for a in range(0, math.ceil(length), sum(dash)):
            b = min(a + dash[0] - 1, length)
            self.draw.line((x0 + ux * a, y0 + uy * a, x0 + ux * b, y0 + uy * b), fill=fill)

    def legend(
        self,
        items: list[tuple[str, object]],
        x: float,
        y: float,
        points: float = 8,
        column: bool = False,
    ) -> None:
        """Colour swatches with their labels: a row centred on x at height y, or a column
        whose left edge is x, centred on y. An item's colour ("line", c) draws a line of
        colour c instead of a swatch."""
        em = points * PX_PER_PT
        swatch = 2 * em
        widths = [swatch + 0.6 * em + text_width(label, points) for label, _ in items]
        if column:
            for i, (label, color) in enumerate(items):
                self._legend_item(
                    x, y + (i - (len(items) - 1) / 2) * 1.4 * em, label, color, points
                )
            return
        gap = 1.6 * em
        at = x - (sum(widths) + gap * (len(items) - 1)) / 2
        for w, (label, color) in zip(widths, items):
            self._legend_item(at, y, label, color, points)
            at += w + gap

    def _legend_item(self, x, y, label, color, points) -> None:
        em = points * PX_PER_PT
        if isinstance(color, tuple) and color and color[0] == "line":
            self.line([(x, y), (x + 2 * em, y)], color[1], width=2)
        else:
            self.rect(x, y - 0.35 * em, x + 2 * em, y + 0.35 * em, color)
        self.text(x + 2.6 * em, y, label, points, anchor="lm")

    def save(self, path: Path) -> None:
        Path(path).write_bytes(png_bytes(self.pixels()))


@define(eq=False)
class Axes:
    """A box on a canvas with linear data-to-pixel maps; draws data and its own decorations.
    Pixel columns left..right-1 and rows top..bottom-1 are inside."""

    canvas: Canvas
    left: int
    top: int
    right: int
    bottom: int
    xlim: tuple[float, float]
    ylim: tuple[float, float]

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    def px(self, x):
        """Data x to pixel x (a column edge: the pixel at data x is floor(px(x)))."""
        x0, x1 = self.xlim
        return self.left + (np.asarray(x, dtype=float) - x0) * self.width / (x1 - x0)

    def py(self, y):
        """Data y to pixel y (ylim[0] at the bottom edge, ylim[1] at the top)."""
        y0, y1 = self.ylim
        return self.bottom - (np.asarray(y, dtype=float) - y0) * self.height / (y1 - y0)

    def fit(self, pixels: np.ndarray) -> np.ndarray:
        """An (rows, columns, 3) picture stretched to the box's size, nearest neighbour: pixel
        (i, j) of the box shows element (i * rows // height, j * columns // width)."""
        rows, cols = pixels.shape[:2]
        if (rows, cols) == (self.height, self.width):
            return pixels
        i = np.arange(self.height) * rows // self.height
        j = np.arange(self.width) * cols // self.width
        return pixels[i][:, j]

    def image(self, pixels: np.ndarray) -> None:
        """A picture over the whole box (see fit): one of the box's size lands pixel for
        pixel."""
        self.canvas.image.paste(
            Image.fromarray(np.ascontiguousarray(self.fit(pixels)), "RGB"), (self.left, self.top)
        )

    def bars(self, x: np.ndarray, low: np.ndarray, high: np.ndarray, width: float, color) -> None:
        """Bars centred on x from data y `low` to `high`, `width` wide in data units."""
        x0, x1 = self.px(np.asarray(x) - width / 2), self.px(np.asarray(x) + width / 2)
        y0, y1 = self.py(high), self.py(low)
        for a, b, c, d in zip(x0, y0, x1, y1):
            self.canvas.rect(a, b, c, d, color)

    def step(self, t: np.ndarray, y: np.ndarray, color, width: int = 1) -> None:
        """A line that holds each y from its t to the next t (matplotlib's where="post")."""
        if not len(t):
            return
        x, v = np.round(self.px(t)), np.round(self.py(y))
        points = np.empty((2 * len(x) - 1, 2))
        points[0::2] = np.stack([x, v], 1)
        points[1::2] = np.stack([x[1:], v[:-1]], 1)
        self.canvas.line(points, color, width)

    def vlines(self, xs, color, low: float | None = None, high: float | None = None) -> None:
        """Vertical lines at data xs inside the box, from data y low to high (default: the
        whole height)."""
        y0 = self.top if high is None else self.py(high)
        y1 = self.bottom - 1 if low is None else self.py(low)
        for x in self.px(np.asarray(xs, dtype=float)):
            if self.left < x < self.right:
                self.canvas.line([(round(x), y0), (round(x), y1)], color)

    def hline(self, y: float, color, dashed: bool = False) -> None:
        """A horizontal line across the box at data y, solid or dashed."""
        v = round(float(self.py(y)))
        if not self.top <= v <= self.bottom:
            return
        if dashed:
            self.canvas.dashed(self.left, v, self.right - 1, v, color)
        else:
            self.canvas.line([(self.left, v), (self.right - 1, v)], color)

    def frame(self) -> None:
        self.canvas.draw.rectangle(
            (self.left - 1, self.top - 1, self.right, self.bottom), outline=TEXT
        )

    def xticks(
        self,
        ticks,
        labels: list[str] | None = None,
        points: float = 9,
        rotate: bool = False,
        side: str = "bottom",
        length: int = 5,
    ) -> float:
        """Tick marks at data xs on the bottom (or top) edge with labels beside them
        (vertical when `rotate`; no labels when `labels` is None). Returns how far the labels
        reach from the edge, in pixels."""
        edge, out = (self.bottom, 1) if side == "bottom" else (self.top - 1, -1)
        reach = length
        for x, label in zip(self.px(ticks), labels if labels is not None else [None] * len(ticks)):
            x = round(float(x))
            if length:
                self.canvas.line([(x, edge), (x, edge + out * length)], TEXT)
            if label is None:
                continue
            at = edge + out * (length + 3)
            if rotate:
                self.canvas.vertical_text(
                    x, at, label, points, "top" if side == "bottom" else "bottom"
                )
                reach = max(reach, length + 3 + text_width(label, points))
            else:
                self.canvas.text(x, at, label, points, "ma" if side == "bottom" else "md")
                reach = max(reach, length + 3 + 1.2 * points * PX_PER_PT)
        return reach

    def yticks(self, ticks, labels: list[str], points: float = 9, length: int = 5) -> float:
        """Tick marks at data ys on the left edge with labels; returns the labels' reach."""
        reach = length
        for y, label in zip(self.py(ticks), labels):
            y = round(float(y))
            self.canvas.line([(self.left - 1 - length, y), (self.left - 1, y)], TEXT)
            self.canvas.text(self.left - length - 4, y, label, points, "rm")
            reach = max(reach, length + 4 + text_width(label, points))
        return reach

    def xlabel(self, text: str, below: float, points: float = 10) -> None:
        """A label centred under the box, `below` pixels under its bottom edge."""
        self.canvas.text((self.left + self.right) / 2, self.bottom + below, text, points, "ma")

    def ylabel(self, text: str, beside: float, points: float = 10) -> None:
        """A vertical label centred beside the box, `beside` pixels left of its edge; lines
        split by newlines go side by side."""
        lines = text.split("\n")
        step = 1.25 * points * PX_PER_PT
        for k, line in enumerate(lines):
            x = self.left - beside - (len(lines) - 1 - k + 0.5) * step
            self.canvas.vertical_text(x, (self.top + self.bottom) / 2, line, points)

    def title(self, text: str, points: float = 10, above: float = 6) -> None:
        self.canvas.text((self.left + self.right) / 2, self.top - above, text, points, "md")


__all__ = [
    "Axes",
    "Canvas",
    "DPI",
    "PX_PER_PT",
    "font",
    "nice_ticks",
    "png_bytes",
    "rgb",
    "text_width",
    "tick_labels",
]
