"""The statistics page for staff, `/stats`: the figures of the line, drawn on the server.

Open in development mode; with TWILIO_AUTH_TOKEN set (production) it exists only when
IVR_STATS_PASSWORD is set, under the same rules as the browser phone's password. The
page shows exact counts (staff only); its CSV download is the public report, with counts
under 3 hidden.

The page never holds up a call. It shares no lock with the saver thread (it reads what is
saved: the last few seconds of calls appear on the next visit); its database calls are
bounded like every other (connection.py); after a failure it does not try the database again
for a few seconds; and only one worker at a time reads for it (a lock file in the state
folder, never waited on): while the database hangs, one worker waits out the bound and every
other one answers calls.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from flask import Blueprint, Flask, Response, current_app, render_template, request

from ..line.security import ask_password, open_staff_page
from . import charts
from .counters import TIMEZONE, Counters
from .period import FIELDS, Period, ask, limit
from .report import DAYS, INPUT_WORDS, OUTCOME_WORDS, SITUATION_WORDS, Names, as_csv, build, public

log = logging.getLogger("ivr.stats")
bp = Blueprint("stats", __name__, template_folder="templates", url_prefix="/stats")
READING = "stats-page.lock"


def register(app: Flask) -> None:
    """Add /stats, unless this is production without IVR_STATS_PASSWORD. Raises ConfigError for a
    password under 12 characters."""
    if not open_staff_page(app, bp, "IVR_STATS_PASSWORD"):
        log.info("The statistics page /stats is closed: set IVR_STATS_PASSWORD (12 characters or more) to open it.")


ask_password(bp, "statistics")


class Busy(Exception):
    """Another request is reading the statistics right now."""


def figures(period: Period) -> dict | None:
    """The report for the period, limited to the days the data holds (None if counting is off).
    Raises when the database cannot be read (or failed a moment ago), Busy when another worker
    is reading it."""
    counter: Counters | None = current_app.extensions.get("ivr_count")
    if counter is None:
        return None
    database = counter.database
    if database.recently_failed():
        raise ConnectionError("the statistics database failed a moment ago")
    with one_reader(Path(current_app.config["IVR_STATE_DIR"])):
        limit(period, database.first_day(), datetime.now(TIMEZONE).date())
        return build(
            database.totals(period.start, period.end), period.start, period.end, Names.of(current_app.extensions["ivr_store"].menu)
        )


@contextmanager
def one_reader(state_dir: Path) -> Iterator[None]:
    """Only one worker of this server reads the statistics for a page at a time (an flock on a
    file in the state folder, never waited on: others are Busy). Without a state folder to
    lock in, nothing is limited."""
    try:
        fd = os.open(state_dir / READING, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError:
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Busy from None
        except OSError:  # a file system without locks: nothing is limited
            pass
        yield
    finally:
        os.close(fd)


def read(period: Period) -> tuple[dict | None, str | None, int]:
    """(report, problem, HTTP status) for a period whose fields were read without error."""
    try:
        report = figures(period)
    except Busy:
        return None, "busy", 503
    except Exception as err:  # noqa: BLE001 - the page says so; calls are unaffected
        log.error("The statistics page could not read the database: %s", type(err).__name__)
        return None, "unreachable", 503
    return report, None if report is not None else "off", 200


@bp.get("")
def page() -> tuple[str, int]:
    period = ask(request.args)
    if period.errors:
        return render_template("stats.html", period=period, fields=FIELDS, report=None, problem="dates"), 400
    report, problem, status = read(period)
    if report is None:
        return render_template("stats.html", period=period, fields=FIELDS, report=None, problem=problem), status
    menu = current_app.extensions["ivr_store"].menu
    lang = request.accept_languages.best_match(list(menu.languages)) or menu.default_language
    names = Names.of(menu, lang)
    cells, busiest = charts.heat(report["calls_by_hour_of_week"])
    transfers = report["transfers"]
    drawn = {
        "time": charts.over_time(report["calls_by_day"], period.start, period.end),
        "languages": charts.bars({names.language(c): n for c, n in report["by_language"].items()}),
        "sections": charts.bars({names.section(s): n for s, n in sorted(report["sections"].items(), key=lambda i: -i[1])}),
        "outcomes": {h: charts.bars({OUTCOME_WORDS[o]: n for o, n in transfers[h].items()}) for h in transfers},
        "input": charts.bars({INPUT_WORDS[k]: n for k, n in report["input"].items()}),
        "situations": charts.bars({SITUATION_WORDS[k]: n for k, n in report["situations"].items()}),
        "length": charts.bars(report["call_length"]),
    }
    counter: Counters = current_app.extensions["ivr_count"]
    return render_template(
        "stats.html", period=period, fields=FIELDS, report=report, problem=None, charts=drawn, cells=cells, busiest=busiest,
        week_days=DAYS, names=names, lang=lang, saving=counter.status(),
    ), 200  # fmt: skip


@bp.after_request
def not_stored(response: Response) -> Response:
    """Staff figures: no browser or proxy keeps a copy."""
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/report.csv")
def csv_report() -> Response | tuple[str, int]:
    """The public report (counts under 3 shown as "<3") for the period, as a download."""
    period = ask(request.args)
    if period.errors:
        return render_template("stats.html", period=period, fields=FIELDS, report=None, problem="dates"), 400
    report, problem, status = read(period)
    if report is None:
        return render_template(
            "stats.html", period=period, fields=FIELDS, report=None, problem=problem
        ), 404 if problem == "off" else status
    name = f"line-statistics-{period.start.isoformat()}-to-{period.end.isoformat()}-public.csv"
    return Response(as_csv(public(report)), mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})
