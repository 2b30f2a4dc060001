"""Loading a menu file for a staff command: the menu, or its problems printed and exit 1."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from ..menu import DEFAULT_MENU, MAX_BYTES, Menu, MenuInvalid, load_menu

LIVE_MENU = os.environ.get("IVR_MENU", DEFAULT_MENU)


def is_live(path: str) -> bool:
    return Path(path).resolve() == Path(LIVE_MENU).resolve()


def load_or_report(path: str, fmt: str = "text", tail: str | None = None) -> Menu:
    """Load a menu for a command, or print its problems (the first 50, text or JSON) and exit 1."""
    try:
        return load_menu(path, max_bytes=int(os.environ.get("IVR_MENU_MAX_BYTES", "") or MAX_BYTES))
    except MenuInvalid as err:
        if fmt == "json":
            shown = [p.as_dict() for p in err.shown]
            click.echo(json.dumps({"valid": False, "problems": shown, "not_shown": err.more}, indent=2))
        else:
            click.echo(err.report())
            if tail is None:
                # Only the live menu file has a last good menu behind it.
                tail = (
                    "The line keeps serving the last good menu until they are fixed."
                    if is_live(path)
                    else "Fix them before this menu goes live."
                )
            click.echo(f"{len(err.problems)} error(s) in {path}. {tail}")
        sys.exit(1)
