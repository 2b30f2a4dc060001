"""The whole server: the phone line, its anonymous statistics, and the browser phone for
operators when it is allowed.

Composed here, on top of all three, so that the line never depends on its simulators or
on a database.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from .line.app import create_line_app
from .sim import browser
from .stats.setup import install_stats


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Raises `MenuInvalid` with no valid menu to serve, `ConfigError` for unusable settings."""
    app = create_line_app(overrides)
    install_stats(app)
    browser.register(app)
    return app
