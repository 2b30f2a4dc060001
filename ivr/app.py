"""The application factory: configuration from the environment, one menu store, the blueprints."""

from __future__ import annotations

import logging
import os
import signal
import weakref
from typing import Any

from flask import Flask
from twilio.request_validator import RequestValidator

from .security import install_proxy_fix
from .store import MenuStore
from .webhooks import bp as voice_bp
from .webhooks import public as public_bp

log = logging.getLogger("ivr")

DEFAULT_MENU = "menus/main.yaml"
# Twilio's webhook form posts are a few kilobytes; anything much larger is not Twilio.
MAX_BODY = 32 * 1024


def settings_from_env(environ: dict[str, str] | os._Environ[str] = os.environ) -> dict[str, Any]:
    return {
        "IVR_MENU": environ.get("IVR_MENU", DEFAULT_MENU),
        "TWILIO_AUTH_TOKEN": environ.get("TWILIO_AUTH_TOKEN", ""),
        "IVR_PUBLIC_URL": environ.get("IVR_PUBLIC_URL", ""),
        "IVR_PROXY_HOPS": int(environ.get("IVR_PROXY_HOPS", "0") or 0),
        "IVR_SIMULATOR": environ.get("IVR_SIMULATOR", ""),
        "IVR_SIMULATOR_PASSWORD": environ.get("IVR_SIMULATOR_PASSWORD", ""),
        "IVR_RELOAD_INTERVAL": float(environ.get("IVR_RELOAD_INTERVAL", "1") or 1),
        "IVR_RELOAD_BACKGROUND": environ.get("IVR_RELOAD_BACKGROUND", "1") != "0",
    }


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the app. Raises `MenuInvalid` if the menu has errors: an invalid menu is never served."""
    app = Flask(__name__)
    app.config.update(settings_from_env())
    app.config.update(overrides or {})
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    store = MenuStore(
        app.config["IVR_MENU"], check_interval=app.config["IVR_RELOAD_INTERVAL"], background=app.config["IVR_RELOAD_BACKGROUND"]
    )
    app.extensions["ivr_store"] = store
    app.wsgi_app = store.pacer.wrap(app.wsgi_app)  # type: ignore[method-assign]

    token = app.config["TWILIO_AUTH_TOKEN"]
    if token:
        app.extensions["ivr_validator"] = RequestValidator(token)
    else:
        log.warning(
            "\n%s\nDEVELOPMENT MODE: TWILIO_AUTH_TOKEN is not set, so webhook signatures are NOT checked.\n"
            "Anyone who can reach this server can drive it. Set TWILIO_AUTH_TOKEN before going live.\n%s",
            "!" * 72,
            "!" * 72,
        )
    install_proxy_fix(app, app.config["IVR_PROXY_HOPS"])
    app.register_blueprint(voice_bp)
    app.register_blueprint(public_bp)
    _register_simulator(app)
    install_sighup(store)
    log.info("Serving menu %s (%d nodes)", store.path, len(store.menu.nodes))
    return app


def _register_simulator(app: Flask) -> None:
    try:
        from .simulator import register
    except ImportError:  # the browser phone is optional
        return
    register(app)


_STORES: weakref.WeakSet[MenuStore] = weakref.WeakSet()


def install_sighup(store: MenuStore) -> None:
    """SIGHUP makes every live store re-read its file on the next request (main thread only)."""
    _STORES.add(store)
    try:
        if signal.getsignal(signal.SIGHUP) is not _on_hup:
            signal.signal(signal.SIGHUP, _on_hup)
    except (ValueError, AttributeError, OSError):
        pass  # not the main thread, or no SIGHUP on this platform: the mtime check still works


def _on_hup(signum: int, frame: object) -> None:
    for store in list(_STORES):
        store.request_reload()
