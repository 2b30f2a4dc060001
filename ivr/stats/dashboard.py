"""The statistics page for staff, `/stats`: the figures of the line, drawn on the server.

Open in development mode; with TWILIO_AUTH_TOKEN set (production) it exists only when
IVR_STATS_PASSWORD is set, under the same rules as the browser phone's password. The
page shows exact counts (staff only); its CSV download is the public report, with counts
under 3 hidden.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from flask import Blueprint, Flask, Response, abort, current_app, render_template, request

from ..line.security import ask_password, open_staff_page
from . import charts
from .counters import TIMEZONE, Counters
from .report import DAYS, Names, as_csv, build, public

log = logging.getLogger("ivr.stats")
bp = Blueprint("stats", __name__, template_folder="templates", url_prefix="/stats")
DEFAULT_DAYS = 30
OUTCOME_WORDS = ("answered", "busy", "no answer", "failed", "canceled")  # Twilio's outcomes, in words


def register(app: Flask) -> None:
    """Add /stats, unless this is production without IVR_STATS_PASSWORD. Raises ConfigError for a
    password under 12 characters."""
    if not open_staff_page(app, bp, "IVR_STATS_PASSWORD"):
        log.info("The statistics page /stats is closed: set IVR_STATS_PASSWORD (12 characters or more) to open it.")


ask_password(bp, "statistics")


def period() -> tuple[date, date]:
    """?from=YYYY-MM-DD&to=YYYY-MM-DD, both included; by default the last 30 days, local time."""
    today = datetime.now(TIMEZONE).date()
    try:
        end = date.fromisoformat(request.args["to"]) if request.args.get("to") else today
        start = date.fromisoformat(request.args["from"]) if request.args.get("from") else end - timedelta(days=DEFAULT_DAYS - 1)
    except ValueError:
        abort(400, "Dates are written YYYY-MM-DD, for example 2026-12-01.")
    if start > end:
        abort(400, "The first date must not be after the last one.")
    return start, end


def figures(start: date, end: date) -> dict | None:
    """The report for the period, with this process's latest counts saved first; None if off."""
    counter: Counters | None = current_app.extensions.get("ivr_count")
    if counter is None:
        return None
    counter.flush()
    menu = current_app.extensions["ivr_store"].menu
    return build(counter.database.totals(start, end), start, end, Names.of(menu))


@bp.get("")
def page() -> tuple[str, int]:
    start, end = period()
    try:
        report = figures(start, end)
    except Exception as err:  # noqa: BLE001 - the page says so; calls are unaffected
        log.error("The statistics page could not read the database: %s", type(err).__name__)
        return render_template("stats.html", report=None, problem="unreachable", start=start, end=end), 503
    if report is None:
        return render_template("stats.html", report=None, problem="off", start=start, end=end), 200
    menu = current_app.extensions["ivr_store"].menu
    lang = menu.default_language
    titles = {node_id: node.title.get(lang) or node_id for node_id, node in menu.nodes.items()}
    hotline_names = {h.id: h.name.get(lang, h.id) for h in menu.hotlines.values()}
    days = {}
    day = start
    while day <= end:  # every day of the period, quiet ones too
        days[day.isoformat()] = report["calls_by_day"].get(day.isoformat(), 0)
        day += timedelta(days=1)
    cells, busiest = charts.heat(report["calls_by_hour_of_week"])
    drawn = {
        "days": charts.upward(days),
        "languages": charts.across({menu.languages[c].name if c in menu.languages else c: n for c, n in report["by_language"].items()}),
        "sections": charts.across({titles.get(s, s): n for s, n in sorted(report["sections"].items(), key=lambda i: -i[1])}),
        "outcomes": {
            h: charts.across(dict(zip(OUTCOME_WORDS, report["transfers"][h].values(), strict=True)), 100) for h in report["transfers"]
        },
        "input": charts.across(report["input"], 100),
        "length": charts.across(report["call_length"], 100),
    }
    return render_template(
        "stats.html", report=report, problem=None, start=start, end=end, charts=drawn, cells=cells, busiest=busiest,
        week_days=DAYS, hotline_names=hotline_names,
    ), 200  # fmt: skip


@bp.after_request
def not_stored(response: Response) -> Response:
    """Staff figures: no browser or proxy keeps a copy."""
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/report.csv")
def csv_report() -> Response:
    """The public report (counts under 3 shown as "<3") for the period, as a download."""
    start, end = period()
    report = figures(start, end)
    if report is None:
        abort(404, "Counting is off (IVR_STATS_URL=off).")
    name = f"line-statistics-{start.isoformat()}-to-{end.isoformat()}-public.csv"
    return Response(as_csv(public(report)), mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})
