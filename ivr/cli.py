"""`python -m ivr ...`: the staff and operator commands."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .deploy.commands import twilio
from .menu import DEFAULT_MENU, MenuInvalid, load_menu
from .staff.menu_file import LIVE_MENU
from .staff.menu_file import load_or_report as _load_or_report
from .staff.recording_commands import recordings
from .stats.commands import stats

MENU_ARG = click.argument("path", default=LIVE_MENU, type=click.Path(dir_okay=False))
FORMAT_OPT = click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True, help="json is for editors and CI."
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Tools for the Denver trafficking-awareness phone line.

    Edit menus/main.yaml, then run `validate` (errors) and `lint` (advice)
    before the change goes live.
    """


@main.command()
@MENU_ARG
@FORMAT_OPT
def validate(path: str, fmt: str) -> None:
    """Check a menu file; print every error with file:line:column and how to fix it.

    Exits 0 and prints a one-line summary when the menu is valid, 1 otherwise.
    """
    menu = _load_or_report(path, fmt)
    summary = f"{path}: valid - {len(menu.nodes)} nodes, languages {', '.join(menu.languages)}, hotlines {', '.join(menu.hotlines)}."
    if fmt == "json":
        click.echo(json.dumps({"valid": True, "problems": [], "summary": summary, "sha256": menu.digest}, indent=2))
    else:
        click.echo(summary)


# --- operators: simulated calls ---------------------------------------------------------
URL_OPT = click.option(
    "--url", default=None, help="A running server (e.g. http://127.0.0.1:5000). Default: the app in-process, no network."
)
MENU_OPT = click.option(
    "--menu",
    "menu_path",
    default=DEFAULT_MENU,
    show_default=True,
    type=click.Path(dir_okay=False),
    help="Menu file (in-process target; also names hotlines for scripts).",
)
TOKEN_OPT = click.option(
    "--token", envvar="TWILIO_AUTH_TOKEN", default=None, help="Sign requests like Twilio (default: $TWILIO_AUTH_TOKEN)."
)


def _transport(url: str | None, menu_path: str, token: str | None):
    from .sim.transports import HttpTransport, in_process

    if url:
        return HttpTransport(url), token
    token = token or "simulator-" + __import__("secrets").token_hex(8)  # in-process calls are always signed
    return in_process(menu_path, token), token


@main.command()
@URL_OPT
@MENU_OPT
@TOKEN_OPT
@click.option("--lang", default=None, help="Start the call in this language (e.g. es).")
@click.option(
    "--transcript", "transcript_path", type=click.Path(dir_okay=False, writable=True), help="Write the call's transcript here at the end."
)
def call(url: str | None, menu_path: str, token: str | None, lang: str | None, transcript_path: str | None) -> None:
    """Call the line from the terminal: hear each prompt, type keys.

    Type ? during the call for the commands (silence, dial outcomes, hang up).
    """
    from .line.sentences import words
    from .sim.caller import Call, CallError
    from .sim.terminal import interactive_call

    if not url:
        menu = _load_or_report(menu_path)
    else:  # a server elsewhere: its recordings are named by the local menu, if there is one
        try:
            menu = load_menu(menu_path)
        except MenuInvalid:
            menu = None
    transport, token = _transport(url, menu_path, token)
    phone = Call(transport, auth_token=token)
    try:
        interactive_call(phone, lang, words=words(menu) if menu is not None else None)
    except CallError as err:
        click.secho(f"The line failed: {err}", fg="red", err=True)
    if transcript_path:
        with open(transcript_path, "w", encoding="utf-8") as out:
            out.write(phone.transcript() + "\n")
        click.echo(f"Transcript written to {transcript_path}")


@main.command("test-calls")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False))
@URL_OPT
@MENU_OPT
@TOKEN_OPT
@click.option("--min-node-coverage", type=float, default=0.0, help="Fail unless at least this % of nodes were visited.")
def test_calls(files: tuple[str, ...], url: str | None, menu_path: str, token: str | None, min_node_coverage: float) -> None:
    """Run scripted calls (default: calls/*.yaml), print pass/fail and menu coverage.

    A failing call shows its transcript up to the failed step. Exits 1 if any call fails.
    Held-out suites (*held-out*.yaml) are one held-out set written over time: each is
    reported, and the targets apply to them together, as they do to the tuning suite.
    """
    import glob

    from .sim.scripts import Coverage, ScriptError, format_failure, load_script, run_script
    from .sim.utterances import TARGETS, SuiteResult, is_held_out, is_suite, load_suite, run_suite

    paths = list(files) or sorted(glob.glob("calls/*.yaml"))
    if not paths:
        click.echo("No call scripts given and none in calls/.", err=True)
        sys.exit(1)
    menu = _load_or_report(menu_path)
    transport, token = _transport(url, menu_path, token)
    coverage = Coverage()
    failed = 0
    held_out: list[SuiteResult] = []
    for path in paths:
        if is_suite(path):
            try:
                suite = run_suite(load_suite(path), transport, menu, token)
            except ScriptError as err:
                click.secho(f"ERROR {err}", fg="red")
                failed += 1
                continue
            click.echo(f"\nUtterance suite {path}:\n{suite.report()}")
            for failure in suite.failures:
                click.secho(f"  MISS {failure}", fg="red")
            if is_held_out(path):
                held_out.append(suite)
                if not suite.met:
                    click.echo("(below the targets on its own: they apply to the held-out suites together, below)")
            elif not suite.met:
                failed += 1
                click.secho(f"FAIL the suite misses its targets ({TARGETS})", fg="red")
            continue
        try:
            script = load_script(path)
        except ScriptError as err:
            click.secho(f"ERROR {err}", fg="red")
            failed += 1
            continue
        result = run_script(script, transport, menu, token)
        if result.call is not None:
            coverage.add(result.call)
        if result.passed:
            click.secho("PASS ", fg="green", nl=False)
            click.echo(f"{script.name} ({path})")
        else:
            failed += 1
            click.secho(format_failure(result), fg="red")
    if held_out:
        together = SuiteResult.pooled(held_out)
        click.echo(f"\nThe {len(held_out)} held-out suites together:\n{together.report()}")
        if not together.met:
            failed += len(held_out)
            click.secho(f"FAIL the held-out suites miss their targets ({TARGETS})", fg="red")
    summary = f"\n{len(paths) - failed} passed, {failed} failed"
    if coverage.calls == 0:  # utterance suites only: menu coverage is about scripted calls
        click.echo(summary)
        sys.exit(1 if failed else 0)
    text, node_pct, _ = coverage.report(menu)
    click.echo(f"{summary}\n{text}")
    if failed or node_pct < min_node_coverage:
        sys.exit(1)


@main.command()
@click.option("--url", required=True, help="The running server to load, e.g. http://127.0.0.1:5000")
@click.option("--calls", "n_calls", type=int, default=200, show_default=True, help="How many whole calls to place.")
@click.option("--concurrency", type=int, default=20, show_default=True, help="Calls in progress at once.")
@click.option(
    "--scripts",
    "script_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Scripted calls to replay (repeatable); default: random callers.",
)
@MENU_OPT
@TOKEN_OPT
@click.option("--allow-remote", is_flag=True, help="Allow a target that is not a loopback address.")
@click.option("--seed", type=int, default=1, show_default=True, help="Seed for the random callers.")
@click.option("--think", type=float, default=0.0, show_default=True, help="Mean seconds a random caller listens before each action.")
@click.option("--ramp", type=float, default=None, help="Seconds over which the concurrent callers start (default: the think time).")
def load(
    url: str,
    n_calls: int,
    concurrency: int,
    script_files: tuple[str, ...],
    menu_path: str,
    token: str | None,
    allow_remote: bool,
    seed: int,
    think: float,
    ramp: float | None,
) -> None:
    """Place many concurrent simulated calls against a running server and report speed and errors."""
    from .sim.load import http_transport_factory, is_loopback, run_load
    from .sim.scripts import load_script

    if not allow_remote and not is_loopback(url):
        click.echo(f"Refusing to load {url}: not a loopback address. Pass --allow-remote if you really mean it.", err=True)
        sys.exit(2)
    scripts = [load_script(p) for p in script_files]
    menu = _load_or_report(menu_path) if scripts else None
    report = run_load(
        http_transport_factory(url),
        n_calls,
        max(1, concurrency),
        scripts=scripts,
        menu=menu,
        auth_token=token,
        seed=seed,
        think=think,
        ramp=ramp,
    )
    click.echo(report.summary())
    if report.errors:
        sys.exit(1)


# --- staff: lint, graph, fallback -------------------------------------------------------
@main.command()
@MENU_ARG
@FORMAT_OPT
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too (for CI).")
def lint(path: str, fmt: str, strict: bool) -> None:
    """Advice on a valid menu: unreachable nodes, keys the prompts get wrong, long prompts,
    untranslated text, recordings, and how fast each hotline is reached.

    Warnings exit 0 (1 with --strict); validation errors exit 1.
    """
    from .staff.lint import lint_menu
    from .staff.timing import length_table, reach_table

    menu = _load_or_report(path, fmt, f"Fix these first: python -m ivr validate {path}")
    warnings, reach = lint_menu(menu)
    if fmt == "json":
        payload = {
            "valid": True,
            "warnings": [w.as_dict() for w in warnings],
            "reach": [
                {"hotline": r.hotline, "language": r.language, "presses": r.presses, "seconds": round(r.seconds, 1), "keys": list(r.keys)}
                for r in reach
            ],
        }
        click.echo(json.dumps(payload, indent=2))
    else:
        for warning in warnings:
            click.echo(str(warning))
        click.echo(f"{len(warnings)} warning(s) in {path}.\n")
        click.echo(length_table(menu) + "\n")
        click.echo(reach_table(reach))
    if strict and warnings:
        sys.exit(1)


@main.command()
@MENU_ARG
@click.option(
    "--out-dir",
    default="build/graph",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Where to write NAME.mmd, NAME.dot and NAME.svg.",
)
@click.option("--print", "show", type=click.Choice(["mermaid", "dot"]), default=None, help="Also print this format to the terminal.")
@click.option("--phrases", is_flag=True, help="Show what a caller may say for each node and hotline.")
def graph(path: str, out_dir: str, show: str | None, phrases: bool) -> None:
    """Draw the tree: Mermaid (renders on GitHub), Graphviz DOT, and SVG if Graphviz is installed.

    Hotlines are gold; nodes with lint warnings are red.
    """
    from .staff.graph import dot, mermaid, write_graphs
    from .staff.lint import lint_menu

    menu = _load_or_report(path, "text")
    warnings, _ = lint_menu(menu)
    written = write_graphs(menu, warnings, Path(out_dir), phrases)
    if show:
        click.echo(mermaid(menu, warnings, phrases) if show == "mermaid" else dot(menu, warnings, phrases))
    for kind, file in written.items():
        click.echo(f"{kind}: {file}")
    if "svg" not in written:
        click.echo("svg: skipped (install Graphviz: apt-get install graphviz)")


@main.command()
@MENU_ARG
@click.option(
    "-o",
    "--output",
    default="fallback.xml",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="Where to write the TwiML ('-' for the terminal).",
)
@click.option("--caller-id", default=None, help="The line's own number (+1...), shown to the hotline instead of the caller's.")
def fallback(path: str, output: str, caller_id: str | None) -> None:
    """Write static TwiML for Twilio's Fallback URL ("Primary handler fails").

    It needs no server of ours: paste it into a TwiML Bin, or host the file anywhere static.
    """
    from .line.fallback import fallback_twiml
    from .menu.sections import E164

    menu = _load_or_report(path, "text")
    if caller_id is not None and not E164.match(caller_id):
        raise click.BadParameter(f"{caller_id} is not a phone number in E.164 form, like +17205550123.", param_hint="--caller-id")
    if caller_id is None:
        click.echo("Note: without --caller-id the hotline will see the caller's own number if this document is ever used.", err=True)
    xml = fallback_twiml(menu, caller_id)
    if output == "-":
        click.echo(xml)
    else:
        with open(output, "w", encoding="utf-8") as out:
            out.write(xml + "\n")
        click.echo(f"Wrote {output} ({len(xml)} bytes). Paste it into a TwiML Bin and set it as the number's Fallback URL.")


main.add_command(twilio)  # ivr twilio configure | check | purge (ivr/deploy/)
main.add_command(stats)  # ivr stats [--from --to --format --public] | stats prune (ivr/stats/)
main.add_command(recordings)  # ivr recordings script | status | accept (ivr/staff/)
