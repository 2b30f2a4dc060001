"""The Twilio voice webhooks: a thin HTTP shell around the renderer.

Routes read the call state from the query string (we wrote it there), hand it to
the renderer and return its TwiML. Anything unexpected becomes an apology and a
transfer to the national hotline, never an HTTP 500 on a live call.

What an answer means for the anonymous statistics (a section read, a transfer tried)
goes to the app's counter, if it has one; a call never waits for it. Nothing that
identifies a call or a caller (CallSid, From, To, what they said) is logged or counted.
"""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, request, send_file
from twilio.twiml.voice_response import VoiceResponse
from werkzeug.exceptions import HTTPException

from ..menu.audio import AudioOutside, find_recording, project_audio_root
from ..menu.sections import E164
from . import events as ev
from .render import DIAL_TIMEOUT, Answer
from .security import check_signature
from .store import MenuStore

log = logging.getLogger("ivr.call")
bp = Blueprint("voice", __name__)
bp.before_request(check_signature)
# Recordings and the health check carry nothing secret, and media fetches are not webhooks.
public = Blueprint("public", __name__)

# Last resort when even the menu cannot be read: the National Human Trafficking Hotline.
NATIONAL_HOTLINE = "+18883737888"
MAX_PARAM = 64
MAX_SPEECH = 300  # characters of a transcript worth matching; longer is noise


def store() -> MenuStore:
    return current_app.extensions["ivr_store"]


def twiml(xml: str) -> Response:
    return Response(xml, mimetype="text/xml")


def counted(answer: Answer, *more: ev.Event) -> Response:
    """The answer's TwiML; its events (and `more`) go to the statistics."""
    record(answer.events + more if more else answer.events)
    return twiml(answer.xml)


def record(events: tuple[ev.Event, ...]) -> None:
    """Count, unless there is no counter or this is the browser phone's test call."""
    counter: ev.Counter | None = current_app.extensions.get("ivr_count")
    if counter is not None and events and not request.environ.get(ev.TEST_CALL):
        counter.add(events)


def arg(name: str, default: str = "") -> str:
    return request.args.get(name, default)[:MAX_PARAM]


def count(name: str) -> int:
    value = request.args.get(name, "0")
    return int(value) if value.isdigit() and len(value) < 4 else 0


def line_number() -> str:
    """The number the caller dialled (ours, not theirs): what a hotline is shown on a transfer.
    Anything but a phone number is dropped, so odd input cannot crowd the answer cache."""
    number = request.form.get("To", "")[:16]
    return number if E164.match(number) else ""


@bp.route("/voice", methods=["GET", "POST"])
def voice() -> Response:
    """The number's Voice URL. GET is accepted too, so a console misconfiguration still works."""
    renderer = store().renderer
    lang = renderer.menu.language(arg("lang") or None).code
    log.debug("call started")
    return counted(renderer.entry(lang), ("", ev.CALL, "", 1), (lang, ev.LANGUAGE, "", 1))


@bp.post("/menu")
def menu() -> Response:
    node = arg("node")
    log.debug("call at %s (%s)", node, arg("n") or "navigate")
    return counted(store().renderer.menu_request(node, arg("lang"), count("s"), count("i"), arg("n") or None, line_number()))


@bp.post("/choose")
def choose() -> Response:
    """A key, or speech (never logged: what a caller says is as private as their number)."""
    digits = request.form.get("Digits", "")[:MAX_PARAM]
    said = request.form.get("SpeechResult", "")[:MAX_SPEECH]
    renderer = store().renderer
    lang = renderer.menu.language(arg("lang")).code
    if said and not digits:
        log.debug("call at %s spoke", arg("node"))
        answer = renderer.hear(arg("node"), lang, count("s"), count("i"), said, confidence(), line_number())
        return counted(answer, (lang, ev.INPUT, "speech", 1))
    log.debug("call at %s pressed %s", arg("node"), digits or "nothing")
    answer = renderer.choose(arg("node"), lang, count("s"), count("i"), digits, line_number())
    return counted(answer, (lang, ev.INPUT, "keys", 1)) if digits else counted(answer)


def confidence() -> float:
    """Twilio's Confidence, 0 to 1 (0 when missing or odd)."""
    try:
        value = float(request.form.get("Confidence", "0")[:16])
    except ValueError:
        return 0.0
    return min(max(value, 0.0), 1.0) if value == value else 0.0  # NaN is not a number we trust


@bp.post("/dial-result")
def dial_result() -> Response:
    status = request.form.get("DialCallStatus", "")[:MAX_PARAM]
    tried = tuple(t[:MAX_PARAM] for t in request.args.getlist("tried")[:10])
    renderer, hotline = store().renderer, arg("to")
    log.debug("call's transfer to %s: %s", hotline, status or "no status")
    answer = renderer.dial_result(hotline, arg("lang"), arg("node"), tried, status, line_number())
    if hotline not in renderer.menu.hotlines:  # only the menu's own ids are ever counted
        return counted(answer)
    return counted(answer, (renderer.menu.language(arg("lang")).code, ev.OUTCOME + ev.outcome(status), hotline, 1))


@bp.post("/call-status")
def call_status() -> Response:
    """Twilio's call status callback (set on the number): how long the call lasted, coarsely."""
    duration = request.form.get("CallDuration", "")[:8]
    if request.form.get("CallStatus") == "completed" and duration.isdigit():
        record((("", ev.CALL_LENGTH, ev.length_bucket(int(duration)), 1),))
    return Response(status=204)


@public.get("/audio/<path:name>")
def audio(name: str) -> Response:
    """Recorded prompts for <Play>: only files that are really inside the project's audio/ folder."""
    live = store()
    root = project_audio_root(live.path)
    try:
        path = find_recording(Path(live.menu.audio_dir), name, root=root)
    except AudioOutside:
        log.warning("Refused a recording that leads outside %s/", root.name)
        path = None
    if path is None or path.suffix.lower() not in (".wav", ".mp3"):
        abort(404)
    return send_file(path, max_age=3600)


@public.get("/healthz")
def healthz() -> dict[str, object]:
    """Status for monitors: which menu is live, its hash, the last reload error, whether the
    statistics are being saved. No secrets, no callers."""
    store().renderer  # noqa: B018 - a health check also notices an edited file
    counter: ev.Counter | None = current_app.extensions.get("ivr_count")
    return {**store().status(), "statistics": counter.status() if counter is not None else {"status": "off"}}


@bp.errorhandler(Exception)
def fail_safe(err: Exception) -> Response | HTTPException:
    """Any bug on a live call: apologise and put the caller through to the national hotline."""
    if isinstance(err, HTTPException):
        return err
    log.error("Unexpected error in %s: %s", request.path, type(err).__name__, exc_info=err)
    return twiml(apology())


def apology() -> str:
    try:
        renderer = store().current
        menu = renderer.menu
        final = menu.nodes[menu.start].retry.final.target
        return renderer.transfer(final, menu.language(request.args.get("lang")).code, menu.start, (final,), "error", line_number()).xml
    except Exception:  # noqa: BLE001 - the apology itself must not fail
        response = VoiceResponse()
        response.say(
            "We are sorry, something went wrong. Connecting you to the National Human Trafficking Hotline.",
            voice="Polly.Joanna",
            language="en-US",
        )
        response.dial(NATIONAL_HOTLINE, timeout=DIAL_TIMEOUT, answer_on_bridge=True, caller_id=line_number() or None)
        return response.to_xml()
