"""`python -m ivr ...`: the staff and operator commands."""

from __future__ import annotations

import json
import sys

import click

from .app import DEFAULT_MENU
from .errors import MenuInvalid
from .validate import load_menu

MENU_ARG = click.argument("path", default=DEFAULT_MENU, type=click.Path(dir_okay=False))
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
    try:
        menu = load_menu(path)
    except MenuInvalid as err:
        if fmt == "json":
            click.echo(json.dumps({"valid": False, "problems": [p.as_dict() for p in err.problems]}, indent=2))
        else:
            for problem in err.problems:
                click.echo(str(problem))
            click.echo(f"{len(err.problems)} error(s) in {path}. The line keeps serving the last good menu until they are fixed.")
        sys.exit(1)
    summary = f"{path}: valid - {len(menu.nodes)} nodes, languages {', '.join(menu.languages)}, hotlines {', '.join(menu.hotlines)}."
    if fmt == "json":
        click.echo(json.dumps({"valid": True, "problems": [], "summary": summary, "sha256": menu.digest}, indent=2))
    else:
        click.echo(summary)
