"""`ivr recordings script | status | accept`: for whoever records the line, and for CI."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import click

from ..menu.recordings import load_library, write_manifest
from . import recordings as rec
from .menu_file import LIVE_MENU, load_or_report

MENU_ARG = click.argument("path", default=LIVE_MENU, type=click.Path(dir_okay=False))


def _menu(path: str, audio: str | None = None):
    menu = load_or_report(path)
    if audio:  # another folder of recordings, e.g. examples made to try the workflow
        menu = dataclasses.replace(menu, recordings=load_library(Path(audio)))
    return menu


AUDIO_OPT = click.option(
    "--audio", type=click.Path(file_okay=False, exists=True), help="Another folder of recordings (default: the menu's)."
)


@click.group()
def recordings() -> None:
    """Recorded voices: the script to record from, which recordings are missing or stale, accepting them.

    Every sentence a caller hears can be recorded: a file named after it in its language's
    folder (audio/en/welcome.prompt.mp3) is played instead of the synthetic voice. See
    docs/recording.md.
    """


@recordings.command()
@MENU_ARG
@click.option("--format", "fmt", type=click.Choice(["markdown", "csv"]), default="markdown", show_default=True)
@click.option("--lang", default=None, help="One language only (e.g. es).")
@click.option(
    "-o", "--output", default="-", show_default=True, type=click.Path(dir_okay=False), help="Where to write it ('-': the terminal)."
)
def script(path: str, fmt: str, lang: str | None, output: str) -> None:
    """Every sentence to record, in call order: file name, words, estimated length, how to read numbers."""
    menu = _menu(path)
    if lang is not None and lang not in menu.languages:
        raise click.BadParameter(f"{lang} is not a language of {path} ({', '.join(menu.languages)}).", param_hint="--lang")
    text = rec.script_markdown(menu, lang) if fmt == "markdown" else rec.script_csv(menu, lang)
    if output == "-":
        click.echo(text, nl=False)
    else:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"Wrote {output}.")


@recordings.command()
@MENU_ARG
@AUDIO_OPT
@click.option("--all", "show_all", is_flag=True, help="List the sentences with no recording too.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def status(path: str, audio: str | None, show_all: bool, fmt: str) -> None:
    """Each sentence's recording: missing, new, present, stale or damaged; and unused files.

    Exits 1 if a recording is stale or damaged (callers hear those spoken instead).
    """
    menu = _menu(path, audio)
    every = rec.rows(menu)
    if fmt == "json":
        click.echo(json.dumps(rec.status_json(menu, every), indent=2, ensure_ascii=False))
    else:
        click.echo(rec.status_text(menu, every, show_all))
    sys.exit(1 if rec.failing(every) else 0)


@recordings.command()
@click.argument("files", nargs=-1, required=True)
@click.option("--menu", "menu_path", default=LIVE_MENU, show_default=True, type=click.Path(dir_okay=False), help="The menu.")
def accept(files: tuple[str, ...], menu_path: str) -> None:
    """Mark recordings as checked: each says the words its sentence says now.

    FILES are paths (audio/en/welcome.prompt.mp3) or names under the audio folder. A running
    server notices within a second or two.
    """
    menu = _menu(menu_path)
    try:
        accepted = rec.accept(menu, list(files))
    except rec.NotAccepted as err:
        click.secho(str(err), fg="red", err=True)
        sys.exit(1)
    folder = Path(menu.recordings.folder)
    entries = dict(menu.recordings.manifest)
    entries.update({file: digest for file, (digest, _) in accepted.items()})
    manifest = write_manifest(folder, entries)
    for file, (_, sentence) in accepted.items():
        click.echo(f'accepted {file}: "{sentence.text}"')
    click.echo(f"{len(accepted)} recording(s) accepted in {manifest}.")
