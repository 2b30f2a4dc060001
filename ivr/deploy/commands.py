"""`ivr twilio configure | check | purge`: the number's settings as code, and call-log clean-up.

Credentials come from TWILIO_ACCOUNT_SID with TWILIO_AUTH_TOKEN (or TWILIO_API_KEY and
TWILIO_API_SECRET); the public address from IVR_PUBLIC_URL. Nothing printed here is ever a
caller's number: settings, and counts.
"""

from __future__ import annotations

import os
import sys

import click

from . import purge as cleanup
from . import twilio_number as tw
from .rest import SetupError, client_from_env

NUMBER_OPT = click.option("--number", required=True, help="The line's Twilio number, e.g. +17205550123.")
FALLBACK_OPT = click.option(
    "--fallback-url", default=None, help="https URL of the fallback TwiML, e.g. a TwiML Bin holding `ivr fallback`."
)


def _client():  # noqa: ANN202 - a twilio Client (tests put a fake HTTP client behind it)
    return client_from_env(dict(os.environ), http_client=click.get_current_context().obj)


def _fail(err: SetupError) -> None:
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
        instance = tw.find_number(client, number)
        trunk = tw.trunk_problem(instance)
        if trunk:
            raise SetupError(f"{trunk} Nothing changed.")
        changes = tw.drift(instance, wanted)
        missing_fallback = tw.fallback_problem(instance, fallback_url)
        if missing_fallback:
            click.secho(f"warning: {missing_fallback}", fg="yellow")
        if not changes:
            click.echo(f"{tw.describe(instance)} is already configured for this line.")
            return
        click.echo(f"Changes to {tw.describe(instance)}:")
        for change in changes:
            click.echo(f"  {change}")
        if not yes and not click.confirm("Make these changes?", default=False):
            click.echo("Nothing changed.")
            return
        tw.update(client, instance, changes)
        click.echo(f"Done: {len(changes)} setting(s) of {instance.phone_number} changed.")
    except SetupError as err:
        _fail(err)


@twilio.command()
@NUMBER_OPT
@FALLBACK_OPT
def check(number: str, fallback_url: str | None) -> None:
    """Report drift between the number's settings and ours, and try the public /voice as Twilio would.

    The signed test request is answered as usual but never counted in the statistics."""
    try:
        public_url = os.environ.get("IVR_PUBLIC_URL", "")
        wanted = tw.desired(public_url, fallback_url)
        instance = tw.find_number(_client(), number)
    except SetupError as err:
        _fail(err)
        return
    changes = tw.drift(instance, wanted)
    for change in changes:
        click.echo(f"drift: {change}")
    problems = [p for p in (tw.trunk_problem(instance), tw.fallback_problem(instance, fallback_url)) if p]
    problems += tw.probe(public_url, os.environ.get("TWILIO_AUTH_TOKEN", ""))
    for problem in problems:
        click.echo(f"problem: {problem}")
    if changes or problems:
        click.echo(f"{len(changes)} setting(s) drifted, {len(problems)} problem(s). Fix settings with: ivr twilio configure")
        sys.exit(1)
    click.echo(f"{tw.describe(instance)}: settings match, and {public_url}/voice answers signed requests and refuses unsigned ones.")


@twilio.command()
@NUMBER_OPT
@click.option("--older-than", "age", default="7d", show_default=True, help="Delete records of calls that ended longer ago (7d, 12h, 30m).")
@click.option("--really", is_flag=True, help="Delete them; without it, only count (a dry run).")
def purge(number: str, age: str, really: bool) -> None:
    """Delete this number's call records (transfer legs, recordings and transcriptions too) older than
    an age. Prints counts only; exits 1 only when something could not be deleted for a reason other
    than Twilio not having finished with it yet."""
    try:
        tally = cleanup.purge(_client(), number, cleanup.parse_age(age), apply=really)
    except SetupError as err:
        _fail(err)
        return
    d = tally.deleted
    what = (
        f"{d['call'] + d['transfer leg']} call record(s) ({d['transfer leg']} of them transfer legs), "
        f"{d['recording']} recording(s) and {d['transcription']} transcription(s) older than {age}"
    )
    if not really:
        click.echo(f"Dry run: would delete {what}.")
        click.echo("Run again with --really to delete them.")
        return
    click.echo(f"Deleted {what}" + (f"; {tally.gone} were already deleted." if tally.gone else "."))
    click.echo(
        f"Skipped {tally.skipped}"
        + (
            ": not finalised by Twilio yet (error 20009; this can take up to 14 days), or holding a record that "
            "could not be deleted. The next run tries them again."
            if tally.skipped
            else "."
        )
    )
    click.echo(f"Failed {tally.failed}.")
    for reason, times in sorted(tally.failures.items()):
        click.echo(f"  {times} x {reason}")
    click.echo("Twilio may take up to 14 days to stop showing deleted records.")
    if tally.failed:
        sys.exit(1)
