"""`ivr twilio configure | check | purge`: the number's settings as code, and call-log clean-up.

Credentials come from TWILIO_ACCOUNT_SID with TWILIO_AUTH_TOKEN (or TWILIO_API_KEY and
TWILIO_API_SECRET); the public address from IVR_PUBLIC_URL. Nothing printed here is ever a
caller's number: settings, and counts.
"""

from __future__ import annotations

import os
import sys

import click

from . import twilio_number as tw

NUMBER_OPT = click.option("--number", required=True, help="The line's Twilio number, e.g. +17205550123.")
FALLBACK_OPT = click.option(
    "--fallback-url", default=None, help="https URL of the fallback TwiML, e.g. a TwiML Bin holding `ivr fallback`."
)


def _client():  # noqa: ANN202 - a twilio Client (tests put a fake HTTP client behind it)
    return tw.client_from_env(dict(os.environ), http_client=click.get_current_context().obj)


def _fail(err: tw.SetupError) -> None:
    click.secho(f"error: {err}", fg="red", err=True)
    sys.exit(1)


@click.group("twilio")
def twilio() -> None:
    """Point a Twilio number at this line, check it, clean its call log."""


@twilio.command()
@NUMBER_OPT
@FALLBACK_OPT
@click.option("--yes", is_flag=True, help="Make the changes without asking.")
def configure(number: str, fallback_url: str | None, yes: bool) -> None:
    """Set the number's Voice URL (IVR_PUBLIC_URL + /voice, POST) and fallback URL; shows the changes first."""
    try:
        wanted = tw.desired(os.environ.get("IVR_PUBLIC_URL", ""), fallback_url)
        client = _client()
        changes = tw.configure(client, number, wanted, apply=False)
        if not changes:
            click.echo(f"{number} is already configured for this line.")
            return
        click.echo(f"Changes to {number}:")
        for change in changes:
            click.echo(f"  {change}")
        if not yes and not click.confirm("Make these changes?", default=False):
            click.echo("Nothing changed.")
            return
        tw.configure(client, number, wanted, apply=True)
        click.echo(f"Done: {len(changes)} setting(s) changed.")
    except tw.SetupError as err:
        _fail(err)


@twilio.command()
@NUMBER_OPT
@FALLBACK_OPT
def check(number: str, fallback_url: str | None) -> None:
    """Report drift between the number's settings and ours, and try the public /voice as Twilio would."""
    try:
        public_url = os.environ.get("IVR_PUBLIC_URL", "")
        wanted = tw.desired(public_url, fallback_url)
        changes = tw.drift(tw.find_number(_client(), number), wanted)
    except tw.SetupError as err:
        _fail(err)
        return
    for change in changes:
        click.echo(f"drift: {change}")
    problems = tw.probe(public_url, os.environ.get("TWILIO_AUTH_TOKEN", ""))
    for problem in problems:
        click.echo(f"problem: {problem}")
    if changes or problems:
        click.echo(f"{len(changes)} setting(s) drifted, {len(problems)} problem(s) with {public_url}/voice. Fix with: ivr twilio configure")
        sys.exit(1)
    click.echo(f"{number}: settings match, and {public_url}/voice answers signed requests and refuses unsigned ones.")


@twilio.command()
@NUMBER_OPT
@click.option("--older-than", "age", default="7d", show_default=True, help="Delete records of calls that ended longer ago (7d, 12h, 30m).")
@click.option("--really", is_flag=True, help="Delete them; without it, only count (a dry run).")
def purge(number: str, age: str, really: bool) -> None:
    """Delete this number's call records (and any recordings) older than an age. Prints counts only."""
    try:
        counts = tw.purge(_client(), number, tw.parse_age(age), apply=really)
    except tw.SetupError as err:
        _fail(err)
        return
    verb = "Deleted" if really else "Dry run: would delete"
    click.echo(f"{verb} {counts.calls} call record(s) and {counts.recordings} recording(s) older than {age}.")
    if not really:
        click.echo("Run again with --really to delete them. Twilio may take up to 14 days to stop showing deleted records.")
