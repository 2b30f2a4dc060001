"""Who may drive the line: Twilio request signatures, and passwords for the staff pages.

The signature covers the exact URL Twilio requested. The app is told its public base URL
(`IVR_PUBLIC_URL`) and checks every signature against it, never against the request's own
Host header: a request signed for another URL of the same Twilio account is refused.
Behind a proxy, `IVR_PROXY_HOPS` only makes the client's address (for rate limits) the one
the proxy saw.
"""

from __future__ import annotations

import hmac
import time
from pathlib import Path

from flask import Blueprint, Flask, Request, Response, abort, current_app, request
from twilio.request_validator import RequestValidator
from werkzeug.middleware.proxy_fix import ProxyFix

from .events import TEST_CALL
from .lockout import Failures, client_of

MIN_PASSWORD = 12
# A form field only `ivr twilio check` sends, in a request it signs with the auth token: the line
# answers it as usual but leaves it out of the statistics. Honoured only once the signature has
# been checked, so neither a caller nor anyone without the token can use it to go uncounted
# (Twilio's own requests never carry it; it is part of what the signature covers).
PROBE_FIELD = "IvrCheckProbe"


class ConfigError(Exception):
    """A setting the server cannot run with; the message says which and what to do."""


def install_proxy_fix(app: Flask, hops: int) -> None:
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops)  # type: ignore[method-assign]


def request_url(req: Request, public_url: str) -> str:
    """The URL Twilio signed: the public base URL plus the path and the query string exactly as sent."""
    query = req.query_string.decode("latin-1")
    return public_url.rstrip("/") + req.path + (f"?{query}" if query else "")


def check_signature() -> None:
    """A before_request hook: 403 for a missing or wrong X-Twilio-Signature when a token is set.
    The app and the request are looked up once: each access through Flask's context proxies
    costs about 0.7 us, on every webhook."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    validator: RequestValidator | None = app.extensions.get("ivr_validator")
    if validator is None:
        return
    req = request._get_current_object()  # type: ignore[attr-defined]
    signature = req.headers.get("X-Twilio-Signature", "")
    params = req.form.to_dict(flat=True) if req.method == "POST" else {}
    if not signature or not validator.validate(request_url(req, app.config["IVR_PUBLIC_URL"]), params, signature):
        abort(403)
    if PROBE_FIELD in params:
        req.environ[TEST_CALL] = True


class PasswordGate:
    """HTTP Basic password for a staff page, with wrong passwords limited per client address and
    page: after `attempts` within `window` seconds, that address is refused that page (even
    with the right password) until the oldest of them is `window` old. Other addresses, and the
    other staff page, are not affected. The failures are kept in the state folder, so every
    worker and a restarted server count the same ones (lockout.py)."""

    def __init__(self, setting: str, password: str, state_dir: Path, page: str, *, attempts: int = 5, window: float = 300.0):
        if len(password) < MIN_PASSWORD:
            raise ConfigError(f"{setting} must be at least {MIN_PASSWORD} characters long (it has {len(password)}).")
        self.password = password.encode()
        self.page = page
        self.attempts = attempts
        self.window = window
        self.failures = Failures(state_dir, window)

    def check(self, realm: str) -> Response | None:
        """None when the request carries the password; otherwise a 401 (or 429 while locked out)."""
        client = client_of(request.remote_addr)
        now = time.time()  # wall-clock time: shared with other processes and the next start
        auth = request.authorization
        if auth is None:  # a browser's first request carries no password: not a try
            return self._ask(realm)
        recent = self.failures.recent(self.page, client, now)
        if len(recent) >= self.attempts:
            wait = int(recent[-self.attempts] + self.window - now) + 1
            return Response("Too many wrong passwords; try again later.", 429, {"Retry-After": str(max(wait, 1))})
        if hmac.compare_digest((auth.password or "").encode(), self.password):
            return None
        self.failures.add(self.page, client, now)
        return self._ask(realm)

    @staticmethod
    def _ask(realm: str) -> Response:
        return Response("This page needs its password.", 401, {"WWW-Authenticate": f'Basic realm="{realm}"'})


def open_staff_page(app: Flask, bp: Blueprint, setting: str) -> bool:
    """Register a staff page (the browser phone, the statistics). Open in development mode; with
    TWILIO_AUTH_TOKEN set (production) it exists only when its password setting is set. Raises
    ConfigError for a password under 12 characters. Returns whether the page was registered."""
    password = app.config.get(setting) or ""
    if app.config.get("TWILIO_AUTH_TOKEN") and not password:
        return False
    if password:
        app.extensions[f"ivr_gate.{bp.name}"] = PasswordGate(setting, password, Path(app.config["IVR_STATE_DIR"]), bp.name)
    app.register_blueprint(bp)
    return True


def ask_password(bp: Blueprint, realm: str) -> None:
    """Before every request to the blueprint: its app's password, if it set one (open_staff_page)."""

    @bp.before_request
    def require_password() -> Response | None:
        gate: PasswordGate | None = current_app.extensions.get(f"ivr_gate.{bp.name}")
        return gate.check(realm) if gate is not None else None
