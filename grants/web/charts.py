"""Charts as inline SVG, drawn on the server: no script, no CDN, readable at a glance.

Each function is pure (figures in, markup out). Every chart is an `<svg role="img">` with a
`<title>` and a `<desc>` that states the figures in words; the page puts the same figures in a
table beside it for screen readers and for copying. The drawing scales to its container
(`viewBox`, width 100%), so it never makes a phone's page scroll sideways. Colours: ink #1b1b1b
and bars #1d4f91 on white (contrast 17:1 and 8:1), the unfinished part of a progress bar
#ffffff outlined in #1d4f91.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from markupsafe import Markup, escape

INK = "#1b1b1b"
BAR = "#1d4f91"
GRID = "#595959"  # 7:1 on white
WIDTH = 360  # the drawing's units; it is scaled to the page's width (about 1:1 on a phone)
FONT = 15
ROW = 40  # a horizontal bar's row: its label above, the bar below


def _svg(chart_id: str, title: str, desc: str, height: int, body: list[str]) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" width="100%" preserveAspectRatio="xMinYMin meet" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" font-size="{FONT}" '
        f'font-family="system-ui, sans-serif">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>'
    )
    return Markup(head + "".join(body) + "</svg>")


def _words(pairs: Sequence[tuple[str, object]]) -> str:
    return "; ".join(f"{name}: {value}" for name, value in pairs)


def bars(chart_id: str, title: str, shares: Sequence[tuple[str, int]]) -> Markup:
    """Horizontal bars, one row a share: its label and count above, the bar below, all bars
    scaled to the largest."""
    top = max((n for _label, n in shares), default=0) or 1
    body = []
    for row, (name, count) in enumerate(shares):
        y = row * ROW
        length = round((WIDTH - 2) * count / top, 1)
        body.append(
            f'<text x="0" y="{y + FONT}" fill="{INK}">{escape(name)}</text>'
            f'<text x="{WIDTH}" y="{y + FONT}" fill="{INK}" text-anchor="end" '
            f'font-weight="bold">{count}</text>'
            f'<rect x="0" y="{y + FONT + 5}" width="{length}" height="14" fill="{BAR}"/>'
        )
    return _svg(chart_id, title, _words(shares), max(ROW * len(shares), ROW), body)


def progress(chart_id: str, title: str, rows: Sequence[tuple[str, int, int]]) -> Markup:
    """One bar a row (label, done, out of): the done part filled, the rest outlined, with
    "done / out of" at the end of its label line."""
    body = []
    for row, (name, done, total) in enumerate(rows):
        y = row * ROW
        share = done / total if total else 0
        body.append(
            f'<text x="0" y="{y + FONT}" fill="{INK}">{escape(name)}</text>'
            f'<text x="{WIDTH}" y="{y + FONT}" fill="{INK}" text-anchor="end" '
            f'font-weight="bold">{done} / {total}</text>'
            f'<rect x="1" y="{y + FONT + 5}" width="{WIDTH - 2}" height="14" fill="#ffffff" '
            f'stroke="{BAR}" stroke-width="1.5"/>'
            f'<rect x="1" y="{y + FONT + 5}" width="{round((WIDTH - 2) * share, 1)}" '
            f'height="14" fill="{BAR}"/>'
        )
    words = _words([(name, f"{done} / {total}") for name, done, total in rows])
    return _svg(chart_id, title, words, max(ROW * len(rows), ROW), body)


def per_day(
    chart_id: str,
    title: str,
    days: Sequence[tuple[date, int]],
    *,
    day_words: dict[date, str],
    deadline: date | None = None,
) -> Markup:
    """A column a day, scaled to the busiest day; the first and last days named under the axis
    (`day_words`: each day as the reader writes it), the deadline marked by a dashed line."""
    height, axis = 170, 140
    top = max((n for _day, n in days), default=0) or 1
    step = WIDTH / max(len(days), 1)
    body = [
        f'<line x1="0" y1="{axis}" x2="{WIDTH}" y2="{axis}" stroke="{GRID}"/>',
        f'<text x="0" y="{FONT}" fill="{INK}">{top}</text>',
        f'<line x1="0" y1="{FONT + 4}" x2="{WIDTH}" y2="{FONT + 4}" stroke="{GRID}" '
        f'stroke-dasharray="2 4"/>',
    ]
    scale = (axis - FONT - 4) / top
    for index, (day, count) in enumerate(days):
        if count:
            column = round(count * scale, 1)
            body.append(
                f'<rect x="{round(index * step, 2)}" y="{round(axis - column, 1)}" '
                f'width="{round(max(step - 1, 1), 2)}" height="{column}" fill="{BAR}">'
                f"<title>{escape(day_words.get(day, day.isoformat()))}: {count}</title></rect>"
            )
        if deadline is not None and day == deadline:
            x = round((index + 1) * step, 2)
            body.append(
                f'<line x1="{x}" y1="{FONT + 4}" x2="{x}" y2="{axis}" stroke="{INK}" '
                f'stroke-dasharray="4 3"/>'
            )
    if days:
        first, last = days[0][0], days[-1][0]
        body.append(
            f'<text x="0" y="{height - 6}" fill="{INK}">'
            f"{escape(day_words.get(first, first.isoformat()))}</text>"
            f'<text x="{WIDTH}" y="{height - 6}" fill="{INK}" text-anchor="end">'
            f"{escape(day_words.get(last, last.isoformat()))}</text>"
        )
    busy = [(day_words.get(day, day.isoformat()), n) for day, n in days if n]
    return _svg(chart_id, title, _words(busy), height, body)
