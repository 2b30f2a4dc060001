"""The browser phone at /simulator: a keypad and live transcript driving the simulated caller.

The page talks to a small JSON API; the API runs a `Call` against this same app's
webhooks in-process (signed with the app's token when there is one), so the browser
exercises exactly what Twilio would. On in development mode; with TWILIO_AUTH_TOKEN
set it is off unless IVR_SIMULATOR_PASSWORD is set, and then it asks for that password.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import OrderedDict
from urllib.parse import urlsplit

from flask import Blueprint, Flask, Response, abort, current_app, jsonify, render_template, request

from .caller import DIAL_OUTCOMES, AppTransport, Call, CallError, Event

bp = Blueprint("simulator", __name__, template_folder="templates")
MAX_SESSIONS = 200
SESSION_SECONDS = 30 * 60


class Sessions:
    """Simulated calls in progress (a developer tool: the phone line itself keeps no state)."""

    def __init__(self) -> None:
        self.calls: OrderedDict[str, tuple[Call, float]] = OrderedDict()
        self.lock = threading.Lock()

    def add(self, call: Call) -> str:
        key = secrets.token_urlsafe(16)
        with self.lock:
            self._expire()
            self.calls[key] = (call, time.monotonic())
            while len(self.calls) > MAX_SESSIONS:
                self.calls.popitem(last=False)
        return key

    def get(self, key: str) -> Call | None:
        with self.lock:
            self._expire()
            entry = self.calls.get(key)
            if entry is None:
                return None
            self.calls[key] = (entry[0], time.monotonic())
            self.calls.move_to_end(key)
            return entry[0]

    def _expire(self) -> None:
        now = time.monotonic()
        for key in [k for k, (_, used) in self.calls.items() if now - used > SESSION_SECONDS]:
            del self.calls[key]


def enabled(app: Flask) -> bool:
    if app.config.get("IVR_SIMULATOR") == "off":
        return False
    if app.config.get("TWILIO_AUTH_TOKEN"):
        return bool(app.config.get("IVR_SIMULATOR_PASSWORD"))
    return True


def register(app: Flask) -> None:
    if enabled(app):
        app.extensions["ivr_simulator"] = Sessions()
        app.register_blueprint(bp)


@bp.before_request
def require_password() -> Response | None:
    password = current_app.config.get("IVR_SIMULATOR_PASSWORD")
    if not current_app.config.get("TWILIO_AUTH_TOKEN") and not password:
        return None  # development mode
    auth = request.authorization
    given = (auth.password or "") if auth else ""
    if not hmac.compare_digest(given.encode(), password.encode()):
        return Response("The simulator needs its password.", 401, {"WWW-Authenticate": 'Basic realm="simulator"'})
    return None


def event_json(event: Event) -> dict[str, str]:
    text = event.text
    if event.kind == "play":
        text = urlsplit(text).path.lstrip("/")  # relative, so it works under any prefix
    return {"kind": event.kind, "text": text, "language": event.language, "voice": event.voice, "node": event.node}


def state_json(call: Call, since: int) -> dict[str, object]:
    return {
        "events": [event_json(e) for e in call.events[since:] if e.kind != "request"],
        "waiting_for": call.waiting_for,
        "node": call.node,
        "dialled": call.dialled[-1] if call.waiting_for == "dial" and call.dialled else "",
    }


@bp.get("/simulator")
def page() -> str:
    return render_template("simulator.html", outcomes=DIAL_OUTCOMES)


@bp.post("/simulator/api/call")
def start() -> Response:
    body = request.get_json(silent=True) or {}
    lang = str(body.get("lang") or "")[:8]
    token = current_app.config.get("TWILIO_AUTH_TOKEN") or None
    call = Call(AppTransport(current_app._get_current_object()), auth_token=token)  # type: ignore[attr-defined]
    try:
        call.start(f"voice?lang={lang}" if lang.isalpha() else "voice")
    except CallError as err:
        return jsonify({"error": str(err)}), 502  # type: ignore[return-value]
    key = current_app.extensions["ivr_simulator"].add(call)
    return jsonify({"id": key, **state_json(call, 0)})


@bp.post("/simulator/api/act")
def act() -> Response:
    body = request.get_json(silent=True) or {}
    call = current_app.extensions["ivr_simulator"].get(str(body.get("id", "")))
    if call is None:
        abort(404)
    action, value = str(body.get("action", "")), str(body.get("value", ""))
    since = len(call.events)
    try:
        if action == "press" and len(value) == 1 and value in "0123456789*#":
            call.press(value)
        elif action == "silence":
            call.silence()
        elif action == "dial" and value in DIAL_OUTCOMES:
            call.dial_outcome(value)
        elif action == "hangup":
            call.hangup()
        else:
            abort(400)
    except CallError as err:
        return jsonify({"error": str(err), **state_json(call, since)}), 409  # type: ignore[return-value]
    return jsonify(state_json(call, since))
