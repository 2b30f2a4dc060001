"""The statistics page with a year of counts: every request under 1 s, whatever its dates.

    python3 bench/stats_page.py [--repeat 5] [--no-postgresql]

Fills a database with a busy year: every hour of 366 days has every count the line can
make (calls, both languages, every section, both hotlines with every outcome, keys and
speech, the four call lengths): about 600,000 rows, far more than a real year. Then asks
`/stats` (Flask's test client, as a browser would, in production mode with its password)
for the default period, the whole year, the dates of issue 18 (`to=9999-12-31`,
`to=0001-01-01`, `from=0001-01-01&to=9999-12-30`), a bad date, and the public CSV of the
year. Prints the median and slowest of `--repeat` requests of each, against the time the
database alone takes for the year's sums (the baseline, measured in the same run).
Target: every request < 1 s. SQLite always; PostgreSQL too when its server programs are
installed (a throwaway cluster, as in the tests).
"""

from __future__ import annotations

import argparse
import base64
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ivr import create_app  # noqa: E402
from ivr.line import events as ev  # noqa: E402
from ivr.menu import load_menu  # noqa: E402
from ivr.stats.counters import TIMEZONE  # noqa: E402
from ivr.stats.database import Database  # noqa: E402

PASSWORD = "a long statistics password"
TOKEN = "bench-token-0123456789abcdef0123"
DAYS = 366


def hour_of_counts(menu) -> list[tuple[str, str, str]]:  # noqa: ANN001 - a Menu
    """Every (language, event, detail) the line counts, for one hour."""
    keys = [("", ev.CALL, ""), ("", ev.BOTH_FAILED, ""), ("", ev.DROPPED, "")]
    for lang in menu.languages:
        keys += [(lang, ev.LANGUAGE, ""), (lang, ev.SAFETY, "")]
        keys += [(lang, ev.SECTION, node) for node in menu.nodes]
        keys += [(lang, ev.INPUT, kind) for kind in ev.INPUTS] + [(lang, ev.ESCALATION, why) for why in ev.ESCALATIONS]
        for hotline in menu.hotlines:
            keys += [(lang, ev.TRANSFER, hotline), (lang, ev.FAILOVER, hotline)]
            keys += [(lang, ev.OUTCOME + outcome, hotline) for outcome in ev.OUTCOMES]
    return keys + [("", ev.CALL_LENGTH, name) for _, name in ev.LENGTHS]


def fill(url: str) -> int:
    database = Database(url, bound=600)
    database.ensure_schema()
    keys = hour_of_counts(load_menu(ROOT / "menus" / "main.yaml"))
    today = datetime.now(TIMEZONE).date()
    rows = 0
    for week in range(0, DAYS, 7):
        batch = {}
        for day in range(week, min(week + 7, DAYS)):
            iso = (today - timedelta(days=day)).isoformat()
            for hour in range(24):
                for lang, name, detail in keys:
                    batch[(iso, hour, lang, name, detail)] = 1 + (day + hour) % 5
        database.add("bench", [(week + 1, batch)])
        rows += len(batch)
    return rows


def measure(url: str, repeat: int) -> list[tuple[str, float, float, int]]:
    state = tempfile.mkdtemp(prefix="ivr-bench-")
    app = create_app(
        {
            "IVR_MENU": str(ROOT / "menus" / "main.yaml"),
            "TWILIO_AUTH_TOKEN": TOKEN,
            "IVR_PUBLIC_URL": "http://localhost",
            "IVR_STATS_URL": url,
            "IVR_STATS_PASSWORD": PASSWORD,
            "IVR_STATE_DIR": state,
        }
    )
    client = app.test_client()
    auth = {"Authorization": "Basic " + base64.b64encode(f"staff:{PASSWORD}".encode()).decode()}
    today = datetime.now(TIMEZONE).date()
    first = today - timedelta(days=DAYS - 1)
    database = app.extensions["ivr_count"].database
    results = []
    baseline = []
    for _ in range(repeat):
        started = time.perf_counter()
        database.totals(first, today)
        baseline.append(time.perf_counter() - started)
    results.append(("baseline: the database's sums for the year", statistics.median(baseline), max(baseline), 0))
    for label, path in (
        ("/stats (the last 30 days)", "/stats"),
        ("/stats, the whole year", f"/stats?from={first}&to={today}"),
        ("/stats?to=9999-12-31", "/stats?to=9999-12-31"),
        ("/stats?to=0001-01-01", "/stats?to=0001-01-01"),
        ("/stats?from=0001-01-01&to=9999-12-30", "/stats?from=0001-01-01&to=9999-12-30"),
        ("/stats?from=yesterday (a bad date)", "/stats?from=yesterday"),
        ("/stats/report.csv, the whole year", f"/stats/report.csv?from={first}&to={today}"),
    ):
        times, status = [], 0
        for _ in range(repeat):
            started = time.perf_counter()
            response = client.get(path, headers=auth)
            times.append(time.perf_counter() - started)
            status = response.status_code
        results.append((label, statistics.median(times), max(times), status))
    return results


def report(name: str, rows: int, results: list[tuple[str, float, float, int]]) -> bool:
    print(f"\n{name}: {rows} counter rows over {DAYS} days")
    print(f"{'request':<44}{'status':>7}{'median ms':>11}{'max ms':>9}{'x base':>8}  target < 1000 ms")
    base = results[0][1]
    met = True
    for label, median, slowest, status in results:
        ok = slowest < 1.0
        met = met and ok
        verdict = "" if not status else ("met" if ok else "MISSED")
        print(f"{label:<44}{status or '':>7}{median * 1000:>11.1f}{slowest * 1000:>9.1f}{median / base:>8.2f}  {verdict}")
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-postgresql", action="store_true")
    args = parser.parse_args()
    met = True
    folder = Path(tempfile.mkdtemp(prefix="ivr-bench-stats-"))
    url = f"sqlite:///{folder / 'stats.sqlite3'}"
    rows = fill(url)
    met &= report("SQLite", rows, measure(url, args.repeat))
    if not args.no_postgresql:
        from tests.postgres import PostgresServer, PostgresUnavailable

        try:
            server = PostgresServer()
        except PostgresUnavailable as err:
            print(f"\nPostgreSQL skipped: {err}")
        else:
            try:
                url = server.new_database()
                rows = fill(url.replace("postgresql://", "postgresql+psycopg://"))
                met &= report("PostgreSQL", rows, measure(url, args.repeat))
            finally:
                server.destroy()
    print(f"\nevery request under 1 s: {'met' if met else 'MISSED'}")


if __name__ == "__main__":
    main()
