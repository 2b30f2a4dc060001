"""`python -m ivr stats`: the figures for staff and funders, and deleting old ones."""

from __future__ import annotations

import json
import os
import sys
from datetime import date, datetime

import click

from ..line.app import state_dir
from ..line.security import ConfigError
from ..menu import DEFAULT_MENU, MenuInvalid, load_menu
from .counters import TIMEZONE, describe
from .database import Database
from .report import Names, as_csv, as_table, build, public
from .setup import open_database

DATE = click.DateTime(["%Y-%m-%d"])
BOUND = 60.0  # seconds a command's database call may take (pruning rewrites a SQLite file)


def database_from_env() -> Database:
    """The database the server counts into: IVR_STATS_URL, else the SQLite file in its state folder."""
    menu = os.environ.get("IVR_MENU", DEFAULT_MENU)
    try:
        database = open_database(os.environ.get("IVR_STATS_URL", ""), state_dir(menu, os.environ.get("IVR_STATE_DIR", "")), bound=BOUND)
    except ConfigError as err:
        raise click.ClickException(str(err)) from None
    if database is None:
        raise click.ClickException("Counting is off (IVR_STATS_URL=off): there are no statistics to read.")
    return database


def menu_names() -> Names:
    """Every language, hotline and section of the live menu, so a report lists the unheard ones too."""
    try:
        menu = load_menu(os.environ.get("IVR_MENU", DEFAULT_MENU))
    except (MenuInvalid, OSError):
        return Names()  # the report still lists everything that was counted
    return Names.of(menu)


def _day(value: datetime | None) -> date | None:
    return value.date() if value else None


@click.group(invoke_without_command=True)
@click.option("--from", "start", type=DATE, help="First day (YYYY-MM-DD, Denver time). Default: the first count.")
@click.option("--to", "end", type=DATE, help="Last day, included. Default: today.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option("--public", "for_public", is_flag=True, help='For reports that leave the organisation: counts of 1 and 2 shown as "<3".')
@click.pass_context
def stats(ctx: click.Context, start: datetime | None, end: datetime | None, fmt: str, for_public: bool) -> None:
    """Anonymous call statistics: calls, languages, sections heard, transfers and their outcomes.

    Only counts are kept, by day and hour: never a phone number, a call id or anything a caller
    said. `stats prune --before DATE` deletes old counts.
    """
    if ctx.invoked_subcommand is not None:
        return
    if start and end and start > end:
        raise click.BadParameter("--from must not be after --to.")
    database, names = database_from_env(), menu_names()
    try:
        # The period as it really is: from the first counted day (today before any count) to today.
        first, last = _day(start) or database.first_day() or today(), _day(end) or today()
        report = build(database.totals(first, last), first, last, names)
    except Exception as err:  # noqa: BLE001 - a database that is down: say so, no traceback
        raise click.ClickException(f"Cannot read the statistics database ({describe(err)}).") from None
    if for_public:
        report = public(report)
    if fmt == "json":
        click.echo(json.dumps(report, indent=2))
    elif fmt == "csv":
        sys.stdout.write(as_csv(report))
    else:
        click.echo(as_table(report, names))


def today() -> date:
    return datetime.now(TIMEZONE).date()


@stats.command()
@click.option("--before", required=True, type=DATE, help="Delete every count from before this day (YYYY-MM-DD).")
@click.option("--yes", is_flag=True, help="Do not ask.")
def prune(before: datetime, yes: bool) -> None:
    """Delete old counts for good (SQLite's file is rewritten so they do not linger)."""
    if before.date() > today() and not yes:
        click.confirm(f"{before.date()} is in the future: this deletes every count up to today too. Go on?", abort=True)
    elif not yes:
        click.confirm(f"Delete every count from before {before.date()}?", abort=True)
    database = database_from_env()
    try:
        gone = database.prune(before.date())
    except Exception as err:  # noqa: BLE001
        raise click.ClickException(f"Cannot reach the statistics database ({describe(err)}).") from None
    click.echo(f"Deleted {gone} counter rows from before {before.date()}.")
