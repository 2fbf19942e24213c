"""Bar charts drawn on the server: the geometry here, the SVG in a template
(``admin/ops/tiles/bar_chart.svg.html``), so a chart needs no script and nothing from another host.

Plain Python, in whole pixels: an amount of money is scaled with integer arithmetic, never a float.
"""

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 336
HEIGHT = 120
AXIS_HEIGHT = 16  # room under the bars for their labels
GAP = 8


@dataclass(frozen=True)
class Bar:
    x: int
    y: int
    width: int
    height: int
    label_x: int  # the middle of the bar, for its label
    label: str  # under the bar ("Mon 30")
    caption: str  # its value as people read it ("12.500 BHD"), shown on hover


@dataclass(frozen=True)
class BarChart:
    title: str
    width: int
    height: int
    baseline: int  # y of the axis
    label_y: int
    bars: tuple[Bar, ...]
    peak: str  # the tallest bar's caption, the chart's scale


def bar_chart(*, title: str, values: Sequence[int], labels: Sequence[str], captions: Sequence[str],
              width: int = WIDTH, height: int = HEIGHT) -> BarChart:
    """Bars for ``values`` (non-negative integers) side by side, the tallest filling the plot; a
    value above zero is at least one pixel tall, so a small day still shows."""
    if not len(values) == len(labels) == len(captions):
        raise ValueError("values, labels and captions must be as many")
    baseline = height - AXIS_HEIGHT
    peak = max(values, default=0)
    slot = width // max(len(values), 1)
    bars = []
    for index, (value, label, caption) in enumerate(zip(values, labels, captions, strict=True)):
        if value < 0:
            raise ValueError("a bar chart draws non-negative values")
        bar_height = max(1, value * baseline // peak) if value else 0
        x = index * slot + GAP // 2
        bars.append(Bar(x=x, y=baseline - bar_height, width=slot - GAP, height=bar_height,
                        label_x=x + (slot - GAP) // 2, label=label, caption=caption))
    peak_caption = captions[values.index(peak)] if values else ""
    return BarChart(title=title, width=width, height=height, baseline=baseline, label_y=height - 4,
                    bars=tuple(bars), peak=peak_caption)
