"""The statistics page `/stats` as staff use it: any date typed or put in the URL, long
periods, and figures in plain words in the staff's language."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from ivr import create_app

from .conftest import MAIN_MENU

TODAY = datetime.now(ZoneInfo("America/Denver")).date()


def line_with_calls(tmp_path, days: dict[date, int], menu: str = str(MAIN_MENU)):
    """A line (development mode: the page is open) whose database holds `days` {day: calls}."""
    app = create_app(
        {"IVR_MENU": menu, "TWILIO_AUTH_TOKEN": "", "IVR_STATS_URL": f"sqlite:///{tmp_path / 's.sqlite3'}", "IVR_STATE_DIR": str(tmp_path)}
    )
    counts = {(day.isoformat(), 12, "", "call", ""): n for day, n in days.items()}
    counts |= {(day.isoformat(), 12, "en", "section", "what_is"): n for day, n in days.items()}
    app.extensions["ivr_count"].database.add("test", [(1, counts)])
    return app


def field_message(html: str, name: str) -> str | None:
    """The message shown beside a date field, if the field points to it."""
    field = re.search(rf'<input type="date" id="{name}"[^>]*>', html, re.S)
    assert field, f"no {name} field"
    if f'aria-describedby="{name}-message"' not in field.group(0):
        return None
    return re.search(rf'id="{name}-message">([^<]*)<', html).group(1)


def shown(html: str, name: str) -> str:
    return re.search(rf'<input type="date" id="{name}" name="{name}"\s+value="([^"]*)"', html).group(1)


FIRST = TODAY - timedelta(days=400)


@pytest.mark.parametrize(
    ("query", "start", "end", "notes"),
    [
        ("", TODAY - timedelta(days=29), TODAY, {}),  # the last 30 days
        ("?to=9999-12-31", TODAY - timedelta(days=29), TODAY, {"to": "Counts go up to today"}),
        ("?to=0001-01-01", FIRST, FIRST, {"to": f"Counting started on {FIRST}"}),
        ("?from=0001-01-01&to=9999-12-30", FIRST, TODAY, {"from": f"Counting started on {FIRST}", "to": "Counts go up to today"}),
        ("?from=9999-01-01", TODAY, TODAY, {"from": "Counts go up to today"}),
        (f"?from={FIRST - timedelta(days=3)}&to={FIRST + timedelta(days=3)}", FIRST, FIRST + timedelta(days=3), {"from": "Counting"}),
    ],
)
def test_any_date_is_kept_within_the_counted_days_and_said_beside_its_field(tmp_path, query, start, end, notes):
    app = line_with_calls(tmp_path, {FIRST: 2, TODAY: 3})
    client = app.test_client()
    for path in ("/stats", "/stats/report.csv"):
        response = client.get(path + query)
        assert response.status_code == 200, (path, response.status_code)
    html = client.get("/stats" + query).text
    assert (shown(html, "from"), shown(html, "to")) == (start.isoformat(), end.isoformat())
    assert f'min="{FIRST}" max="{TODAY}"' in html  # the browser's date picker offers only counted days
    for name in ("from", "to"):
        message = field_message(html, name)
        assert (message is None) == (name not in notes), (name, message)
        if message:
            assert message.startswith(notes[name]), message
    expected = (2 if start <= FIRST <= end else 0) + (3 if start <= TODAY <= end else 0)
    assert f'<b id="calls">{expected}</b>' in html
    download = client.get("/stats/report.csv" + query)
    assert f"period,{start},{end}," in download.text and f"-{start}-to-{end}-public.csv" in download.headers["Content-Disposition"]


@pytest.mark.parametrize(
    ("query", "messages"),
    [
        ("?from=yesterday", {"from": "“yesterday” is not a date: write the day as YYYY-MM-DD"}),
        ("?from=2026-02-30", {"from": "2026-02-30 is not a day of the calendar."}),
        ("?from=2026-1-5&to=20261205", {"from": "“2026-1-5” is not a date", "to": "“20261205” is not a date"}),
        ("?to=99999-01-01", {"to": "“99999-01-01” is not a date"}),
        ("?from=2026-12-05&to=2026-12-01", {"to": "The last day is before the first day."}),
        ("?from=%3Cscript%3E", {"from": "“&lt;script&gt;” is not a date"}),
    ],
)
def test_a_bad_date_shows_the_form_again_with_its_message_beside_the_field(tmp_path, query, messages):
    client = line_with_calls(tmp_path, {TODAY: 1}).test_client()
    for path in ("/stats", "/stats/report.csv"):  # a hand-made download link gets the page, not a bare error
        response = client.get(path + query)
        assert response.status_code == 400 and response.mimetype == "text/html", path
        html = response.text
        assert '<form method="get"' in html and "<script>" not in html
        for name in ("from", "to"):
            message = field_message(html, name)
            assert (message is None) == (name not in messages), (name, message)
            if message:
                assert message.startswith(messages[name]), message
                assert re.search(rf'id="{name}"[^>]*aria-invalid="true"', html, re.S)


def per_day_chart(html: str) -> tuple[str, int, list[int]]:
    """(unit, bars drawn, figures in its table) of the calls-over-time chart."""
    section = re.search(r'<section id="per-day">(.*?)</section>', html, re.S).group(1)
    unit = re.search(r"<h2[^>]*>Calls per (\w+)</h2>", section).group(1)
    table = re.search(r"<tbody>(.*?)</tbody>", section, re.S).group(1)
    return unit, section.count('<rect class="day"'), [int(n) for n in re.findall(r"<td>(\d+)</td>", table)]


def test_long_periods_are_drawn_by_week_month_or_year_and_say_so(tmp_path):
    """Twenty years of calls: the bars always fit a phone, the table has the same figures, the
    page stays small, and the chart says how it grouped the days."""
    days = {TODAY - timedelta(days=i): 1 + i % 3 for i in range(20 * 365)}
    client = line_with_calls(tmp_path, days).test_client()
    for back, unit in ((60, "day"), (365, "week"), (5 * 365, "month"), (20 * 365, "year")):
        start = TODAY - timedelta(days=back - 1)
        response = client.get(f"/stats?from={start}&to={TODAY}")
        html = response.text
        drawn, bars, figures = per_day_chart(html)
        assert drawn == unit, (back, drawn)
        assert bars == len(figures) <= 120
        assert sum(figures) == sum(n for day, n in days.items() if day >= start)
        assert len(response.data) < 100_000, len(response.data)
        if unit == "day":
            assert "Grouped by" not in html
        else:
            assert f"Grouped by {unit}" in html and f"{back} days are too many for one bar each" in html


def test_sections_and_outcomes_read_in_plain_words_in_the_staff_language(tmp_path, menu_dir):
    menu = menu_dir / "menus" / "main.yaml"
    text = menu.read_text()
    menu.write_text(
        text.replace("  learn:\n    type: menu\n", "  learn:\n    type: menu\n    title: {en: Topics menu, es: Menú de temas}\n")
    )
    app = line_with_calls(tmp_path, {TODAY: 2}, menu=str(menu))
    client = app.test_client()
    english = client.get("/stats").text
    assert "What is human trafficking?" in english and "Topics menu" in english  # a title first, else the first sentence
    assert "This is the Denver human trafficking line." in english  # the first sentence that is not a key to press
    assert not re.search(r">\s*(what_is|learn|get_help|law_enforcement|no-answer|completed)\s*<", english)  # no ids
    assert "no answer" in english and "answered" in english
    spanish = client.get("/stats", headers={"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"}).text
    assert "¿Qué es la trata de personas?" in spanish and "Menú de temas" in spanish
    assert '<table class="bars" lang="es">' in spanish  # read aloud in Spanish by a screen reader
    assert "What is human trafficking?" in client.get("/stats", headers={"Accept-Language": "fr"}).text  # else the menu's default
