"""Charts as inline SVG, written by hand: a report opens offline, in any browser, with
nothing fetched and no script run.

Values arrive as Decimal; they become float only as coordinates. Every label is text
the caller formatted (万元, percentages), escaped here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape

FONT = "'Microsoft YaHei','PingFang SC','Noto Sans CJK SC','WenQuanYi Micro Hei',sans-serif"
AXIS = "#7f7f7f"
GRID = "#e6e6e6"
TEXT = "#262626"
BLUE = "#2f5597"
ORANGE = "#c55a11"
RED = "#c00000"
GREEN = "#548235"
GREY = "#a6a6a6"
PURPLE = "#7030a0"


def _n(value: float) -> str:
    """Coordinates with at most one decimal: small, stable output."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def text_width(text: str, size: float = 12) -> float:
    """Rough rendered width: CJK characters are square, others about half as wide."""
    return sum(size if ord(ch) > 0x2E7F else size * 0.58 for ch in text)


def _clip(text: str, width: float, size: float = 12) -> str:
    if text_width(text, size) <= width:
        return text
    out = ""
    for ch in text:
        if text_width(out + ch + "…", size) > width:
            break
        out += ch
    return out + "…"


def _open(width: float, height: float, title: str) -> list[str]:
    return [
        # no xmlns: inline SVG in HTML does not need it, and a report holds no URL at all
        f'<svg width="{_n(width)}" height="{_n(height)}" '
        f'viewBox="0 0 {_n(width)} {_n(height)}" role="img" aria-label="{escape(title)}" '
        f'font-family="{escape(FONT)}" font-size="12" style="max-width:100%;height:auto;">',
        f"<title>{escape(title)}</title>",
    ]


@dataclass(frozen=True)
class Bar:
    label: str
    value: Decimal | None
    value_text: str
    color: str = BLUE
    tooltip: str | None = None


def hbar_chart(
    bars: Sequence[Bar],
    *,
    title: str,
    reference: Decimal | None = None,
    reference_label: str = "",
    axis_format: str = "percent",
    width: float = 860,
    legend: Sequence[tuple[str, str]] = (),
) -> str:
    """Horizontal bars, one per item, with an optional vertical reference line (the
    expected-progress line of a monitoring report)."""
    row_height = 18.0
    label_width = min(260.0, max([text_width(b.label) for b in bars] + [60.0]) + 8)
    top = 34.0 + (18.0 if legend else 0.0)
    plot_left = label_width + 8
    plot_right = width - 70
    values = [float(b.value) for b in bars if b.value is not None]
    ceiling = max([1.0, *values, float(reference or 0)])
    if axis_format == "percent":
        ceiling = max(1.0, -(-ceiling // 0.2) * 0.2)  # round up to a 20% tick
    height = top + row_height * max(len(bars), 1) + 30

    def x(value: float) -> float:
        return plot_left + (plot_right - plot_left) * value / ceiling

    parts = _open(width, height, title)
    parts.append(
        f'<text x="{_n(width / 2)}" y="18" text-anchor="middle" font-size="14" '
        f'font-weight="bold" fill="{TEXT}">{escape(title)}</text>'
    )
    legend_x = plot_left
    for color, text in legend:
        parts.append(
            f'<rect x="{_n(legend_x)}" y="28" width="12" height="12" fill="{color}"/>'
            f'<text x="{_n(legend_x + 16)}" y="38" fill="{TEXT}">{escape(text)}</text>'
        )
        legend_x += text_width(text) + 40
    bottom = top + row_height * max(len(bars), 1)
    ticks = 5
    for i in range(ticks + 1):
        value = ceiling * i / ticks
        tx = x(value)
        label = f"{value * 100:.0f}%" if axis_format == "percent" else f"{value:.0f}"
        parts.append(
            f'<line x1="{_n(tx)}" y1="{_n(top - 4)}" x2="{_n(tx)}" y2="{_n(bottom)}" '
            f'stroke="{GRID}"/>'
            f'<text x="{_n(tx)}" y="{_n(bottom + 16)}" text-anchor="middle" fill="{AXIS}">'
            f"{label}</text>"
        )
    for index, bar in enumerate(bars):
        y = top + row_height * index
        parts.append(
            f'<text x="{_n(label_width)}" y="{_n(y + 13)}" text-anchor="end" fill="{TEXT}">'
            f"<title>{escape(bar.tooltip or bar.label)}</title>"
            f"{escape(_clip(bar.label, label_width - 8))}</text>"
        )
        if bar.value is not None:
            end = x(max(0.0, float(bar.value)))
            tip = escape((bar.tooltip or bar.label) + "：" + bar.value_text)
            parts.append(
                f'<rect x="{_n(plot_left)}" y="{_n(y + 3)}" '
                f'width="{_n(max(end - plot_left, 0.5))}" height="{_n(row_height - 6)}" '
                f'fill="{bar.color}"><title>{tip}</title></rect>'
            )
        else:
            end = plot_left
        parts.append(
            f'<text x="{_n(end + 4)}" y="{_n(y + 13)}" fill="{TEXT}" font-size="11">'
            f"{escape(bar.value_text)}</text>"
        )
    parts.append(
        f'<line x1="{_n(plot_left)}" y1="{_n(top - 4)}" x2="{_n(plot_left)}" y2="{_n(bottom)}" '
        f'stroke="{AXIS}"/>'
    )
    if reference is not None:
        rx = x(float(reference))
        parts.append(
            f'<line x1="{_n(rx)}" y1="{_n(top - 6)}" x2="{_n(rx)}" y2="{_n(bottom)}" '
            f'stroke="{RED}" stroke-width="2" stroke-dasharray="6 3"/>'
            f'<text x="{_n(rx + 4)}" y="{_n(top - 8)}" fill="{RED}" font-weight="bold">'
            f"{escape(reference_label)}</text>"
        )
    parts.append("</svg>")
    return "\n".join(parts)


@dataclass(frozen=True)
class Segment:
    label: str
    value: Decimal
    color: str
    value_text: str


def share_chart(
    rows: Sequence[tuple[str, Sequence[Segment]]], *, title: str, width: float = 860
) -> str:
    """100% stacked bars (e.g. projects by status, by count and by money) with a legend."""
    label_width = max([text_width(label) for label, _ in rows] + [40.0]) + 12
    plot_left, plot_right = label_width + 8, width - 20
    bar_height, gap = 28.0, 16.0
    legend_items: dict[str, str] = {}
    for _, segments in rows:
        for segment in segments:
            legend_items.setdefault(segment.label, segment.color)
    top = 56.0
    height = top + (bar_height + gap) * len(rows) + 8
    parts = _open(width, height, title)
    parts.append(
        f'<text x="{_n(width / 2)}" y="18" text-anchor="middle" font-size="14" '
        f'font-weight="bold" fill="{TEXT}">{escape(title)}</text>'
    )
    lx = plot_left
    for label, color in legend_items.items():
        parts.append(
            f'<rect x="{_n(lx)}" y="30" width="12" height="12" fill="{color}"/>'
            f'<text x="{_n(lx + 16)}" y="40" fill="{TEXT}">{escape(label)}</text>'
        )
        lx += text_width(label) + 36
    for index, (label, segments) in enumerate(rows):
        y = top + (bar_height + gap) * index
        total = sum((s.value for s in segments), Decimal(0))
        parts.append(
            f'<text x="{_n(label_width)}" y="{_n(y + bar_height / 2 + 4)}" text-anchor="end" '
            f'fill="{TEXT}">{escape(label)}</text>'
        )
        x = plot_left
        for segment in segments:
            if total <= 0 or segment.value <= 0:
                continue
            w = (plot_right - plot_left) * float(segment.value / total)
            parts.append(
                f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(w)}" height="{_n(bar_height)}" '
                f'fill="{segment.color}"><title>{escape(segment.label + "：" + segment.value_text)}'
                f"</title></rect>"
            )
            if w > text_width(segment.value_text, 11) + 6:
                parts.append(
                    f'<text x="{_n(x + w / 2)}" y="{_n(y + bar_height / 2 + 4)}" '
                    f'text-anchor="middle" fill="#ffffff" font-size="11">'
                    f"{escape(segment.value_text)}</text>"
                )
            x += w
    parts.append("</svg>")
    return "\n".join(parts)


def column_chart(
    bars: Sequence[Bar],
    *,
    title: str,
    width: float = 560,
    height: float = 300,
    reference: Sequence[tuple[str, Decimal]] = (),
    axis_format: str = "count",
    legend: Sequence[tuple[str, str]] = (),
) -> str:
    """Vertical columns (grade distribution, progress by checkpoint). ``reference`` is one
    marker per column (e.g. the expected progress at each checkpoint), drawn as a dash."""
    top, bottom_margin, left = 48.0, 44.0, 56.0
    plot_bottom = height - bottom_margin
    plot_right = width - 16
    values = [float(b.value) for b in bars if b.value is not None]
    values += [float(v) for _, v in reference]
    ceiling = max([*values, 1.0])
    if axis_format == "percent":
        ceiling = max(1.0, -(-ceiling // 0.2) * 0.2)
    else:
        ceiling = _nice_ceiling(ceiling)

    def y(value: float) -> float:
        return plot_bottom - (plot_bottom - top) * value / ceiling

    parts = _open(width, height, title)
    parts.append(
        f'<text x="{_n(width / 2)}" y="18" text-anchor="middle" font-size="14" '
        f'font-weight="bold" fill="{TEXT}">{escape(title)}</text>'
    )
    lx = left
    for color, text in legend:
        parts.append(
            f'<rect x="{_n(lx)}" y="28" width="12" height="12" fill="{color}"/>'
            f'<text x="{_n(lx + 16)}" y="38" fill="{TEXT}">{escape(text)}</text>'
        )
        lx += text_width(text) + 40
    for i in range(5):
        value = ceiling * i / 4
        ty = y(value)
        label = f"{value * 100:.0f}%" if axis_format == "percent" else _count_label(value)
        parts.append(
            f'<line x1="{_n(left)}" y1="{_n(ty)}" x2="{_n(plot_right)}" y2="{_n(ty)}" '
            f'stroke="{GRID}"/>'
            f'<text x="{_n(left - 6)}" y="{_n(ty + 4)}" text-anchor="end" fill="{AXIS}">'
            f"{label}</text>"
        )
    slot = (plot_right - left) / max(len(bars), 1)
    bar_width = min(64.0, slot * 0.6)
    for index, bar in enumerate(bars):
        cx = left + slot * (index + 0.5)
        if bar.value is not None:
            top_y = y(max(0.0, float(bar.value)))
            parts.append(
                f'<rect x="{_n(cx - bar_width / 2)}" y="{_n(top_y)}" width="{_n(bar_width)}" '
                f'height="{_n(max(plot_bottom - top_y, 0.5))}" fill="{bar.color}">'
                f"<title>{escape(bar.label + '：' + bar.value_text)}</title></rect>"
                f'<text x="{_n(cx)}" y="{_n(top_y - 6)}" text-anchor="middle" fill="{TEXT}">'
                f"{escape(bar.value_text)}</text>"
            )
        parts.append(
            f'<text x="{_n(cx)}" y="{_n(plot_bottom + 18)}" text-anchor="middle" '
            f'fill="{TEXT}">{escape(bar.label)}</text>'
        )
        if index < len(reference):
            marker, marker_value = reference[index]
            ry = y(float(marker_value))
            parts.append(
                f'<line x1="{_n(cx - bar_width / 2 - 6)}" y1="{_n(ry)}" '
                f'x2="{_n(cx + bar_width / 2 + 6)}" y2="{_n(ry)}" stroke="{RED}" '
                f'stroke-width="2.5" stroke-dasharray="5 2"><title>{escape(marker)}</title></line>'
            )
    parts.append(
        f'<line x1="{_n(left)}" y1="{_n(plot_bottom)}" x2="{_n(plot_right)}" '
        f'y2="{_n(plot_bottom)}" stroke="{AXIS}"/>'
    )
    parts.append("</svg>")
    return "\n".join(parts)


def _nice_ceiling(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= value:
            return float(step * magnitude)
    return float(10 * magnitude)


def _count_label(value: float) -> str:
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"
