"""The line's application factory: settings from the environment, one menu store, the webhooks."""

from __future__ import annotations

import logging
import os
import signal
import weakref
from pathlib import Path
from typing import Any

from flask import Flask, request
from twilio.request_validator import RequestValidator

from ..menu import DEFAULT_MENU, MAX_BYTES
from .logtext import escape_arguments
from .security import ConfigError, install_proxy_fix
from .store import MenuStore
from .webhooks import bp as voice_bp
from .webhooks import public as public_bp

log = logging.getLogger("ivr")

# Twilio's webhook form posts are a few kilobytes; anything much larger is not Twilio.
MAX_BODY = 32 * 1024
DEVELOPMENT_MODE = f"""
{"!" * 72}
DEVELOPMENT MODE: TWILIO_AUTH_TOKEN is not set, so webhook signatures are NOT checked.
Anyone who can reach this server can drive it. Set TWILIO_AUTH_TOKEN before going live.
{"!" * 72}"""


def settings_from_env(environ: dict[str, str] | os._Environ[str] = os.environ) -> dict[str, Any]:
    return {
        "IVR_MENU": environ.get("IVR_MENU", DEFAULT_MENU),
        "IVR_STATE_DIR": environ.get("IVR_STATE_DIR", ""),
        "IVR_MENU_MAX_BYTES": int(environ.get("IVR_MENU_MAX_BYTES", "") or MAX_BYTES),
        "TWILIO_AUTH_TOKEN": environ.get("TWILIO_AUTH_TOKEN", ""),
        "IVR_PUBLIC_URL": environ.get("IVR_PUBLIC_URL", ""),
        "IVR_PROXY_HOPS": int(environ.get("IVR_PROXY_HOPS", "0") or 0),
        "IVR_SIMULATOR": environ.get("IVR_SIMULATOR", ""),
        "IVR_SIMULATOR_PASSWORD": environ.get("IVR_SIMULATOR_PASSWORD", ""),
        "IVR_RELOAD_INTERVAL": float(environ.get("IVR_RELOAD_INTERVAL", "1") or 1),
        "IVR_STATS_URL": environ.get("IVR_STATS_URL", ""),
        "IVR_STATS_PASSWORD": environ.get("IVR_STATS_PASSWORD", ""),
    }


def state_dir(menu: str | Path, setting: str = "") -> Path:
    """What the server writes (last good menu, statistics): IVR_STATE_DIR, or state/ beside menus/."""
    return Path(setting) if setting else Path(menu).resolve().parent.parent / "state"


class LineApp(Flask):
    def log_exception(self, exc_info: Any) -> None:
        """Flask's line for an unexpected error, with the request's path passed as an argument, so
        that it is escaped (logtext.py) instead of written out decoded."""
        self.logger.error("Exception on %s [%s]", request.path, request.method, exc_info=exc_info)


def create_line_app(overrides: dict[str, Any] | None = None) -> Flask:
    """The phone line alone. Raises `MenuInvalid` when there is no valid menu to serve (neither
    the file nor a last good copy) and `ConfigError` for settings it cannot run with."""
    app = LineApp("ivr")
    escape_arguments(app.logger)
    app.config.update(settings_from_env())
    app.config.update(overrides or {})
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    token = app.config["TWILIO_AUTH_TOKEN"]
    public_url = app.config["IVR_PUBLIC_URL"].rstrip("/")
    if token and not public_url.startswith(("https://", "http://")):
        raise ConfigError(
            "TWILIO_AUTH_TOKEN is set, so IVR_PUBLIC_URL must be too: the public base URL Twilio calls, e.g. "
            "IVR_PUBLIC_URL=https://line.example.org (signatures are checked against it, never against the Host header)."
        )
    app.config["IVR_PUBLIC_URL"] = public_url
    menu = Path(app.config["IVR_MENU"])
    state = state_dir(menu, app.config["IVR_STATE_DIR"])
    app.config["IVR_STATE_DIR"] = str(state)
    store = MenuStore(menu, state_dir=state, interval=app.config["IVR_RELOAD_INTERVAL"], max_bytes=app.config["IVR_MENU_MAX_BYTES"])
    app.extensions["ivr_store"] = store
    if token:
        app.extensions["ivr_validator"] = RequestValidator(token)
    else:
        log.warning(DEVELOPMENT_MODE)
    install_proxy_fix(app, app.config["IVR_PROXY_HOPS"])
    app.register_blueprint(voice_bp)
    app.register_blueprint(public_bp)
    install_sighup(store)
    log.info("Serving menu %s (%d nodes)", store.path, len(store.menu.nodes))
    return app


_STORES: weakref.WeakSet[MenuStore] = weakref.WeakSet()


def install_sighup(store: MenuStore) -> None:
    """SIGHUP makes every live store re-read its file now (handlers can only be set in the main thread)."""
    _STORES.add(store)
    try:
        if signal.getsignal(signal.SIGHUP) is not _on_hup:
            signal.signal(signal.SIGHUP, _on_hup)
    except (ValueError, AttributeError, OSError):
        pass  # not the main thread, or no SIGHUP on this platform: the watcher still notices edits


def _on_hup(signum: int, frame: object) -> None:
    for store in list(_STORES):
        store.request_reload()
