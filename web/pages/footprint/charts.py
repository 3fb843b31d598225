"""Charts of the footprint pages, drawn on the server as inline SVG (no chart library, nothing from outside).

Each chart is an `<svg role="img">` with a `<title>` and a `<desc>` saying in words what it shows; the page
puts the same figures in a table beside it. Colours are the desk's (text contrast ≥ 4.5:1 on white).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from markupsafe import Markup

INK = "#1a1a1a"
MUTED = "#4f5459"
LINE = "#c8ced6"
ACCENT = "#0b57d0"
STATUS_COLOURS = {
    "pass": "#146c2e",
    "at_risk": "#7a4d00",
    "fail": "#b3261e",
    "not_assessed": MUTED,
    "not_applicable": MUTED,
}
ATTENDANCE_COLOURS = {"present": "#146c2e", "late": "#7a4d00", "left_early": "#8a5a00", "absent": "#b3261e"}
WORK_COLOURS = {"on_time": "#146c2e", "late": "#7a4d00", "missing": "#b3261e", "pending": MUTED}


def _value(value: Any) -> str:
    return f"{value:.1f}" if isinstance(value, float) else escape(str(value))


def el(tag: str, content: str | None = None, **attributes: Any) -> str:
    """One SVG element (`font_size=` becomes `font-size=`; floats get one decimal)."""
    rendered = " ".join(f'{name.rstrip("_").replace("_", "-")}="{_value(v)}"' for name, v in attributes.items())
    return f"<{tag} {rendered}/>" if content is None else f"<{tag} {rendered}>{content}</{tag}>"


def _svg(width: int, height: int, title: str, description: str, body: list[str], ident: str) -> Markup:
    head = (
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc" xmlns="http://www.w3.org/2000/svg">'
    )
    texts = el("title", escape(title), id=f"{ident}-title") + el("desc", escape(description), id=f"{ident}-desc")
    return Markup(head + texts + "".join(body) + "</svg>")


def weekly_bars(
    values: Sequence[float | None], labels: Sequence[str], title: str, description: str, ident: str
) -> Markup:
    """Bars of a share (0–1) per week, with a 0–100 % axis; a week without classes gets no bar."""
    width, height, left, bottom, top = 640, 220, 40, 28, 12
    plot = height - bottom - top
    step = (width - left - 8) / max(1, len(values))
    parts = []
    for tick in (0, 25, 50, 75, 100):
        y = top + plot * (1 - tick / 100)
        parts.append(el("line", x1=left, x2=width - 8, y1=y, y2=y, stroke=LINE))
        parts.append(el("text", f"{tick}%", x=left - 6, y=y + 4, font_size=11, text_anchor="end", fill=MUTED))
    for number, (value, label) in enumerate(zip(values, labels, strict=True)):
        x = left + number * step
        if value is not None:
            bar = plot * max(0.0, min(1.0, value))
            tip = el("title", f"{escape(label)}: {round(value * 100)}%")
            parts.append(
                el("rect", tip, x=x + step * 0.15, y=top + plot - bar, width=step * 0.7, height=bar, fill=ACCENT)
            )
        if len(values) <= 20 or number % 2 == 0:
            parts.append(
                el("text", escape(label), x=x + step / 2, y=height - 10, font_size=11, text_anchor="middle", fill=MUTED)
            )
    return _svg(width, height, title, description, parts, ident)


def gauge(value: float | None, limit: float | None, status: str, caption: str, title: str, ident: str) -> Markup:
    """A half-circle gauge of a share in percent, the rule's limit marked on it, coloured by the check's status."""
    width, height, cx, cy, radius = 220, 130, 110, 110, 90

    def point(percent: float, r: float) -> tuple[float, float]:
        angle = math.pi * (1 - max(0.0, min(100.0, percent)) / 100)
        return cx + r * math.cos(angle), cy - r * math.sin(angle)

    def arc(percent: float) -> str:
        (x0, y0), (x1, y1) = point(0, radius), point(percent, radius)
        return f"M{x0:.1f},{y0:.1f} A{radius},{radius} 0 0 1 {x1:.1f},{y1:.1f}"

    colour = STATUS_COLOURS.get(status, MUTED)
    parts = [el("path", d=arc(100), fill="none", stroke=LINE, stroke_width=16)]
    if value is not None:
        parts.append(el("path", d=arc(value), fill="none", stroke=colour, stroke_width=16))
    if limit is not None:
        (ax, ay), (bx, by) = point(limit, radius - 14), point(limit, radius + 14)
        parts.append(el("line", x1=ax, y1=ay, x2=bx, y2=by, stroke=INK, stroke_width=3))
    shown = "–" if value is None else f"{value:.1f}%"
    parts.append(el("text", shown, x=cx, y=cy - 18, font_size=26, font_weight=700, text_anchor="middle", fill=colour))
    parts.append(el("text", escape(caption), x=cx, y=cy + 2, font_size=12, text_anchor="middle", fill=INK))
    return _svg(width, height, title, caption, parts, ident)


@dataclass(frozen=True)
class Mark:
    """One thing on a learner's timeline: when (days from the period's start), which row, what colour."""

    day: float
    row: int
    colour: str
    label: str


def timeline(
    rows: Sequence[str], marks: Sequence[Mark], weekly: Sequence[int], days: float, title: str, description: str
) -> Markup:
    """A learner's period: logins per week as bars on the first row, then a row of marks per kind of event."""
    width, left, row_h, top = 720, 140, 34, 8
    bottom = top + row_h * (len(rows) + 1)
    height = bottom + 24
    scale = (width - left - 10) / max(1, days)
    parts = []
    for number, name in enumerate(["", *rows]):
        y = top + row_h * number
        parts.append(el("line", x1=left, x2=width - 10, y1=y + row_h, y2=y + row_h, stroke=LINE))
        if name:
            parts.append(
                el("text", escape(name), x=left - 8, y=y + row_h / 2 + 4, font_size=12, text_anchor="end", fill=INK)
            )
    most = max(weekly, default=0) or 1
    for week, count in enumerate(weekly):
        bar = (row_h - 8) * count / most
        x = left + week * 7 * scale + 1
        tip = el("title", str(count))
        span = min(7.0, days - week * 7)  # the period's last week may be short
        parts.append(
            el("rect", tip, x=x, y=top + row_h - bar, width=max(1.0, span * scale - 2), height=bar, fill=ACCENT)
        )
    for week in range(0, int(days // 7) + 1):
        x = left + week * 7 * scale
        parts.append(el("line", x1=x, x2=x, y1=top, y2=bottom, stroke=LINE, stroke_dasharray="2 3"))
        parts.append(el("text", str(week + 1), x=x + 2, y=height - 6, font_size=10, fill=MUTED))
    for mark in marks:
        middle = top + row_h * (mark.row + 1) + row_h / 2
        tip = el("title", escape(mark.label))
        parts.append(el("circle", tip, cx=left + mark.day * scale, cy=middle, r=5, fill=mark.colour))
    return _svg(width, height, title, description, parts, "timeline")
