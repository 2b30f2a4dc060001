"""The whole server: the phone line, plus the browser phone for operators when it is allowed.

Composed here, on top of both, so that the line never depends on its simulators.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from .line.app import create_line_app
from .sim import browser


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Raises `MenuInvalid` with no valid menu to serve, `ConfigError` for unusable settings."""
    app = create_line_app(overrides)
    browser.register(app)
    return app
