"""The browser phone at /simulator: a keypad and live transcript driving the simulated caller.

The page talks to a small JSON API; the API runs a `Call` against this same app's
webhooks in-process (signed with the app's token when there is one), so the browser
exercises exactly what Twilio would. Like the line itself it keeps no state: the page
sends the call's actions so far, and the server replays them (a few cached webhooks)
before the new one, so any worker of any instance can answer. On in development mode;
with TWILIO_AUTH_TOKEN set it is off unless IVR_SIMULATOR_PASSWORD is set (at least 12
characters), and then it asks for that password, with wrong guesses rate-limited.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qs, urlsplit

from flask import Blueprint, Flask, Response, abort, current_app, jsonify, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from ..line.security import ask_password, open_staff_page
from .caller import DIAL_OUTCOMES, Call, CallError, Event
from .terminal import recording_file
from .transports import AppTransport

bp = Blueprint("simulator", __name__, template_folder="templates")


def register(app: Flask) -> None:
    """Add the browser phone to the line's app, unless IVR_SIMULATOR=off, or production without
    IVR_SIMULATOR_PASSWORD. Raises ConfigError for a password under 12 characters."""
    if app.config.get("IVR_SIMULATOR") != "off":
        open_staff_page(app, bp, "IVR_SIMULATOR_PASSWORD")


ask_password(bp, "simulator")


def event_json(event: Event, words: Mapping[str, str] | None = None) -> dict[str, str]:
    """One event for the page. A recording comes with its file and the words it stands for, so
    the page can show which recording played and what it said."""
    text = event.text
    found = {"kind": event.kind, "text": text, "language": event.language, "voice": event.voice, "node": event.node}
    if event.kind == "play":
        found["text"] = audio_path(text)  # relative, so it works under any prefix
        found["file"] = recording_file(text)
        found["words"] = (words or {}).get(found["file"].rsplit(".", 1)[0], "")
    return found


def audio_path(url: str) -> str:
    """`http://host/prefix/audio/en/x.mp3` -> `audio/en/x.mp3`, relative to the page (under any prefix)."""
    path = urlsplit(url).path
    return "audio/" + path.split("/audio/", 1)[1] if "/audio/" in path else path.lstrip("/")


def state_json(call: Call, since: int, words: Mapping[str, str] | None = None) -> dict[str, object]:
    dialling = call.waiting_for == "dial" and call.pending is not None and bool(call.dialled)
    dialled = call.dialled[-1] if dialling else ""
    return {
        "events": [event_json(e, words) for e in call.events[since:] if e.kind != "request"],
        "waiting_for": call.waiting_for,
        "node": call.node,
        "language": next((e.language for e in reversed(call.events) if e.kind == "say"), ""),
        "dialled": dialled,
        "dialled_name": hotline_name(dialled, _call_language(call) if dialling else ""),
    }


def _call_language(call: Call) -> str:
    """The menu language of a call being transferred: the `lang` our Dial's action URL carries."""
    action = call.pending.element.get("action", "") if call.pending is not None else ""
    return parse_qs(urlsplit(action).query).get("lang", [""])[0]


def hotline_name(number: str, lang: str = "") -> str:
    """ "the National Human Trafficking Hotline (1-888-373-7888)": who is being dialled, in words,
    in the call's language ("la Línea Nacional..." in a Spanish call)."""
    if not number:
        return ""
    menu = current_app.extensions["ivr_store"].menu
    hotline = next((h for h in menu.hotlines.values() if h.number == number), None)
    digits = number.lstrip("+")
    shown = f"{digits[0]}-{digits[1:4]}-{digits[4:7]}-{digits[7:]}" if number.startswith("+1") and len(digits) == 11 else number
    if hotline is None:
        return shown
    name = hotline.name.get(lang) or hotline.name.get(menu.default_language) or next(iter(hotline.name.values()))
    return f"{name} ({shown})"


# What each transfer outcome Twilio can report means, in words an operator reads at a glance.
OUTCOMES = (
    ("completed", "Answered", "a person at the hotline picked up"),
    ("busy", "Busy", "the hotline's line was busy"),
    ("no-answer", "No answer", "nobody picked up within the ring time"),
    ("failed", "Failed", "the call to the hotline could not be placed"),
    ("canceled", "Canceled", "the transfer was stopped before it connected"),
)
assert tuple(o[0] for o in OUTCOMES) == DIAL_OUTCOMES
MAX_ACTIONS = 200  # in one simulated call: each request replays them all


@bp.get("/")
def home() -> Response:
    """Where a person opening the server in a browser wants to be (the line itself is /voice)."""
    return redirect(url_for("simulator.page"))


@bp.get("/simulator")
def page() -> str:
    return render_template("simulator.html", outcomes=OUTCOMES, max_actions=MAX_ACTIONS)


@bp.errorhandler(400)
def bad_request(err: HTTPException) -> Response:
    """A JSON answer the page can show, never an HTML error page it cannot parse."""
    return jsonify({"error": err.description, "waiting_for": "ended", "events": []}), 400  # type: ignore[return-value]


def _act(call: Call, action: str, value: str) -> str:
    """Do what the operator did, as the phone would. An action the call cannot take just now (a key
    pressed while a hotline is being dialled, an outcome clicked while the line listens) does
    nothing, as on a real phone; the answer is a short note saying so."""
    if not _known(action, value):
        abort(400, "unknown action")
    waiting = call.waiting_for
    if waiting == "ended":
        return ENDED
    if action == "hangup":
        call.hangup()
    elif waiting != ("dial" if action == "dial" else "gather"):
        return IGNORED[action].format(key=value)
    elif action == "press":
        call.press(value)
    elif action == "say":
        call.say(value.strip())  # what a caller might say, typed or spoken
    elif action == "silence":
        call.silence()
    else:
        call.dial_outcome(value)
    return ""


def _known(action: str, value: str) -> bool:
    if action == "press":
        return len(value) == 1 and value in "0123456789*#"
    if action == "say":
        return 0 < len(value.strip()) <= 300
    if action == "dial":
        return value in DIAL_OUTCOMES
    return action in ("silence", "hangup")


# What the page says when the phone does nothing with an action.
ENDED = "The call has ended: press Call to start a new one."
IGNORED = {
    "press": "Key {key} does nothing while the line dials a hotline: choose what happens to the transfer.",
    "say": "Nobody hears that while the line dials a hotline: choose what happens to the transfer.",
    "silence": "The line is dialling a hotline: choose what happens to the transfer.",
    "dial": "There is no transfer to answer: the line is listening for a key or words.",
}


@bp.post("/simulator/api/call")
def replay() -> Response:
    """Body: {"lang": "es"?, "actions": [[action, value], ...]}. Replays the call and returns
    what the last action produced (all of it when there are no actions yet)."""
    body = request.get_json(silent=True) or {}
    lang = str(body.get("lang") or "")[:8]
    actions = body.get("actions") or []
    if not isinstance(actions, list):
        abort(400, "actions must be a list")
    if len(actions) > MAX_ACTIONS:
        abort(400, f"This simulated call is longer than {MAX_ACTIONS} actions, the most one can take. Press Call to start a new one.")
    token = current_app.config.get("TWILIO_AUTH_TOKEN") or None
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    # Signed as Twilio signs the public URL; replayed at every action, so never counted in the statistics.
    transport = AppTransport(app, base_url=app.config["IVR_PUBLIC_URL"] or None, test_call=True)
    call = Call(transport, auth_token=token, max_requests=4 * MAX_ACTIONS)
    since, note = 0 if not actions else None, ""
    try:
        call.start(f"voice?lang={lang}" if lang.isalpha() else "voice")
        for index, item in enumerate(actions):
            if not (isinstance(item, list) and len(item) == 2):
                abort(400, "each action is [action, value]")
            if index == len(actions) - 1:
                since = len(call.events)
            note = _act(call, str(item[0]), str(item[1]))
    except CallError as err:
        # Only what the last action produced: an earlier one failing must not replay the call.
        state = state_json(call, len(call.events) if since is None else since, recorded_words())
        return jsonify({**state, "error": str(err), "actions_left": MAX_ACTIONS - len(actions)}), 409  # type: ignore[return-value]
    return jsonify({**state_json(call, since or 0, recorded_words()), "note": note, "actions_left": MAX_ACTIONS - len(actions)})


def recorded_words() -> Mapping[str, str]:
    """What each recording of the live menu says (made once per menu, and only if it has any)."""
    renderer = current_app.extensions["ivr_store"].current
    return renderer.words() if renderer.menu.recordings.files else {}
