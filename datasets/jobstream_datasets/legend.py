"""The quick-look's frame: coordinates along two sides and a colour bar in the variable's
units, drawn with Pillow around the map (quicklook.py).

Decisions:
- Pillow's own font (``ImageFont.load_default``: Aileron, embedded in Pillow), so the
  picture is the same on every machine and needs no font installed; no matplotlib.
- A small map is enlarged by a whole factor (nearest neighbour): each cell stays a square
  and the labels stay sharp, where a browser's enlargement would blur them.
- Ticks at round values (1, 2, 2.5 or 5 times a power of ten), at most five a side. Longitudes
  and latitudes are written 4°E and 57°N on a geographic grid (EPSG:4326); other grids'
  coordinates as numbers, named by the grid's axes.
- The colour bar runs over the stretch the map uses (2nd to 98th percentile): a value
  beyond it takes the colour of its end.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

Colour = tuple[int, int, int]
# The map is enlarged to about this many pixels along its longer side.
TARGET = 256
BAR_WIDTH, BAR_GAP, TICK = 14, 12, 4
LEFT, TOP, BOTTOM, RIGHT = 48, 22, 24, 64
INK: Colour = (29, 35, 48)
PAPER: Colour = (255, 255, 255)
FRAME: Colour = (102, 112, 133)
FONT = ImageFont.load_default(size=11)


@dataclass(frozen=True)
class Span:
    """An axis: its values from ``first`` at the start (left, top) to ``last`` at the end."""

    first: float
    last: float

    def at(self, value: float, length: int) -> float:
        """The pixel offset of ``value`` along ``length`` pixels."""
        return (value - self.first) / ((self.last - self.first) or 1.0) * length


@dataclass(frozen=True)
class Legend:
    """What the frame says: the map's coordinates, its values' stretch and their units."""

    x: Span
    y: Span
    values: Span | None  # low and high of the stretch; None when no value is valid
    units: str
    geographic: bool = True


@dataclass(frozen=True)
class Layout:
    """Where the map and the colour bar sit in the picture, as (left, top, right, bottom)."""

    map_box: tuple[int, int, int, int]
    bar_box: tuple[int, int, int, int]
    size: tuple[int, int]


def scale_of(width: int, height: int) -> int:
    """The whole factor that brings the longer side near ``TARGET`` (at least 1)."""
    return max(1, TARGET // max(width, height, 1))


def layout(map_size: tuple[int, int]) -> Layout:
    width, height = map_size
    map_box = (LEFT, TOP, LEFT + width, TOP + height)
    bar_left = map_box[2] + BAR_GAP
    bar_box = (bar_left, TOP, bar_left + BAR_WIDTH, TOP + height)
    return Layout(map_box, bar_box, (bar_box[2] + RIGHT, TOP + height + BOTTOM))


def ticks(low: float, high: float, most: int = 5) -> list[float]:
    """Round values from ``low`` to ``high``, at most ``most`` of them."""
    low, high = min(low, high), max(low, high)
    if high == low:
        return [low]
    raw = (high - low) / most
    power = 10 ** math.floor(math.log10(raw))
    step = next(f * power for f in (1, 2, 2.5, 5, 10) if f * power >= raw)
    first = math.ceil(low / step - 1e-9)
    values = [(first + i) * step for i in range(most + 2)]
    return [round(v, 10) for v in values if v <= high + 1e-9 * step]


def _degrees(value: float, positive: str, negative: str) -> str:
    if value == 0:
        return "0°"
    return f"{abs(value):g}°{positive if value > 0 else negative}"


def _label(value: float, axis: str, geographic: bool) -> str:
    if not geographic:
        return f"{value:g}"
    return _degrees(value, "E", "W") if axis == "x" else _degrees(value, "N", "S")


def _text_size(text: str) -> tuple[int, int]:
    left, top, right, bottom = FONT.getbbox(text)
    return int(right - left), int(bottom)


def _x_axis(draw: ImageDraw.ImageDraw, legend: Legend, box: tuple[int, int, int, int]) -> None:
    left, _, right, bottom = box
    low, high = sorted((legend.x.first, legend.x.last))
    for value in ticks(low, high):
        x = left + legend.x.at(value, right - left)
        draw.line([(x, bottom), (x, bottom + TICK)], fill=FRAME)
        text = _label(value, "x", legend.geographic)
        width, _ = _text_size(text)
        draw.text((x - width / 2, bottom + TICK + 1), text, font=FONT, fill=INK)


def _y_axis(draw: ImageDraw.ImageDraw, legend: Legend, box: tuple[int, int, int, int]) -> None:
    left, top, _, bottom = box
    low, high = sorted((legend.y.first, legend.y.last))
    for value in ticks(low, high):
        y = top + legend.y.at(value, bottom - top)
        draw.line([(left - TICK - 1, y), (left - 1, y)], fill=FRAME)
        text = _label(value, "y", legend.geographic)
        width, height = _text_size(text)
        draw.text((left - TICK - 2 - width, y - height / 2 - 1), text, font=FONT, fill=INK)


def _colour_bar(canvas: Image.Image, legend: Legend, ramp: Sequence[Colour], box) -> None:
    """The ramp from high (top) to low (bottom), its ticks and its units above it."""
    left, top, right, bottom = box
    draw = ImageDraw.Draw(canvas)
    for row in range(top, bottom):
        share = (bottom - 1 - row) / max(bottom - top - 1, 1)
        draw.line([(left, row), (right - 1, row)], fill=ramp[round(share * (len(ramp) - 1))])
    draw.rectangle([left - 1, top - 1, right, bottom], outline=FRAME)
    draw.text((left, top - 16), legend.units, font=FONT, fill=INK)
    if legend.values is None:
        return
    bar = Span(legend.values.last, legend.values.first)  # high at the top
    for value in ticks(legend.values.first, legend.values.last):
        y = top + bar.at(value, bottom - top)
        draw.line([(right, y), (right + TICK, y)], fill=FRAME)
        _, height = _text_size(f"{value:g}")
        draw.text((right + TICK + 2, y - height / 2 - 1), f"{value:g}", font=FONT, fill=INK)


def framed(map_image: Image.Image, legend: Legend, ramp: Sequence[Colour]) -> Image.Image:
    """``map_image`` (RGB, north up, enlarged) with its coordinates and colour bar."""
    places = layout(map_image.size)
    canvas = Image.new("RGB", places.size, PAPER)
    canvas.paste(map_image, places.map_box[:2])
    draw = ImageDraw.Draw(canvas)
    left, top, right, bottom = places.map_box
    draw.rectangle([left - 1, top - 1, right, bottom], outline=FRAME)
    _x_axis(draw, legend, places.map_box)
    _y_axis(draw, legend, places.map_box)
    _colour_bar(canvas, legend, ramp, places.bar_box)
    return canvas
