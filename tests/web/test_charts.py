"""The dashboard's charts (web/charts.py): well-formed SVG with a title and the figures in words,
bars in proportion, colours with enough contrast on white."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest

from grants.web import charts

SVG = "{http://www.w3.org/2000/svg}"


def parsed(markup: str) -> ET.Element:
    root = ET.fromstring(str(markup))
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    assert root.get("width") == "100%" and root.get("viewBox").startswith(f"0 0 {charts.WIDTH} ")
    return root


def bar_widths(root: ET.Element) -> list[float]:
    return [float(r.get("width")) for r in root.iter(f"{SVG}rect") if r.get("fill") == charts.BAR]


def test_bars_are_in_proportion_and_named_in_the_title_and_description():
    root = parsed(charts.bars("c", "By country", [("Belgique", 6), ("<Irlande & co>", 3)]))
    assert root.find(f"{SVG}title").text == "By country"
    assert root.find(f"{SVG}desc").text == "Belgique: 6; <Irlande & co>: 3"  # escaped, read back
    assert root.get("aria-labelledby") == "c-title c-desc"
    wide, narrow = bar_widths(root)
    assert wide == pytest.approx(charts.WIDTH - 2) and narrow == pytest.approx(wide / 2, abs=0.1)


def test_empty_figures_still_make_a_chart():
    for markup in (
        charts.bars("a", "Nothing", []),
        charts.progress("b", "Nobody", []),
        charts.per_day("c", "No days", [], day_words={}),
    ):
        assert parsed(markup).find(f"{SVG}title").text


def test_progress_fills_the_share_done_and_handles_nothing_assigned():
    root = parsed(charts.progress("p", "Reviews", [("Ana (Jury)", 1, 4), ("Ben", 0, 0)]))
    assert bar_widths(root) == [pytest.approx((charts.WIDTH - 2) / 4, abs=0.1), 0]
    assert "Ana (Jury): 1 / 4" in root.find(f"{SVG}desc").text


def test_days_draw_a_column_a_busy_day_and_mark_the_deadline():
    start = date(2027, 1, 1)
    days = [(start + timedelta(days=i), n) for i, n in enumerate([0, 2, 0, 1])]
    words = {day: f"{day.day} janv." for day, _n in days}
    root = parsed(charts.per_day("d", "Per day", days, day_words=words, deadline=days[2][0]))
    columns = [r for r in root.iter(f"{SVG}rect")]
    assert [c.find(f"{SVG}title").text for c in columns] == ["2 janv.: 2", "4 janv.: 1"]
    assert float(columns[0].get("height")) == pytest.approx(2 * float(columns[1].get("height")))
    assert [t.text for t in root.iter(f"{SVG}text")][-2:] == ["1 janv.", "4 janv."]
    assert any(line.get("stroke-dasharray") == "4 3" for line in root.iter(f"{SVG}line"))
    assert root.find(f"{SVG}desc").text == "2 janv.: 2; 4 janv.: 1"


def contrast(colour: str, background: str = "#ffffff") -> float:
    def luminance(hex_colour: str) -> float:
        channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    lighter, darker = sorted((luminance(colour), luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_colours_meet_aa_on_white():
    assert contrast(charts.INK) >= 4.5  # text
    assert contrast(charts.BAR) >= 4.5  # bars (3:1 is the rule for graphics; text-level anyway)
    assert contrast(charts.GRID) >= 4.5
