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
import re
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple
from urllib.parse import parse_qsl

from flask import Blueprint, Request, Response, abort, current_app, request, send_file
from twilio.twiml.voice_response import VoiceResponse
from werkzeug.exceptions import HTTPException

from ..menu.audio import MIME, AudioOutside, find_recording, project_audio_root
from ..menu.sections import E164
from . import events as ev
from .logtext import escape_arguments
from .render import Answer
from .security import check_signature
from .store import MenuStore
from .twiml import DIAL_TIMEOUT

log = logging.getLogger("ivr.call")
escape_arguments(log)  # node, key, status: whatever the request says, never a new log line
bp = Blueprint("voice", __name__)
bp.before_request(check_signature)
# Recordings and the health check carry nothing secret, and media fetches are not webhooks.
public = Blueprint("public", __name__)

# Last resort when even the menu cannot be read: the National Human Trafficking Hotline.
NATIONAL_HOTLINE = "+18883737888"
MAX_PARAM = 64
MAX_SPEECH = 1000  # characters of a transcript read (about a minute of speech); the rest is dropped
DECIMAL = re.compile(r"[0-9]{1,3}(\.[0-9]{1,12})?")  # Twilio's Confidence, e.g. 0.9123


def store() -> MenuStore:
    return current_app.extensions["ivr_store"]


def twiml(xml: str) -> Response:
    return Response(xml, mimetype="text/xml")


class Hook(NamedTuple):
    """This request and this app's parts, each looked up once: an access through Flask's
    context proxies (`request.form`, `current_app.extensions`) costs about 0.7 us, and a
    webhook would otherwise make a dozen."""

    request: Request
    store: MenuStore
    counter: ev.Counter | None

    def state(self) -> list[tuple[str, str]]:
        """The query string: the call's state, which our own TwiML wrote into its action URLs.
        Read with the standard library's parse_qsl: werkzeug's request.args (a MultiDict) costs
        about four times as much."""
        return parse_qsl(self.request.query_string.decode("latin-1"))

    def record(self, events: tuple[ev.Event, ...]) -> None:
        """Count, unless there is no counter or this is the browser phone's test call. A failure
        to count is logged and forgotten: it must never change what the caller hears."""
        if self.counter is not None and events and not self.request.environ.get(ev.TEST_CALL):
            try:
                self.counter.add(events)
            except Exception as err:  # noqa: BLE001
                log.error("Counting failed (%s); the call goes on.", type(err).__name__)

    def answer(self, answer: Answer, *more: ev.Event) -> Response:
        """The answer's TwiML; its events (and `more`) go to the statistics."""
        self.record(answer.events + more if more else answer.events)
        return twiml(answer.xml)


def hook() -> Hook:
    extensions = current_app.extensions
    return Hook(request._get_current_object(), extensions["ivr_store"], extensions.get("ivr_count"))  # type: ignore[attr-defined]


def first(values: Mapping[str, str], name: str, limit: int = MAX_PARAM) -> str:
    """One query or form value, cut to `limit`; "" when absent (a plain membership test: werkzeug's
    own .get() raises and catches an exception for every missing name, on every request)."""
    return values[name][:limit] if name in values else ""


def number(values: Mapping[str, str], name: str, most: int = 3, odd: int = 0) -> int:
    """A count of at most `most` digits; `odd` when absent or anything else. ASCII digits only:
    str.isdigit() is also true for '²' (which int() refuses) and for '٣' (which int() reads as 3)."""
    value = first(values, name)
    return int(value) if len(value) <= most and value.isascii() and value.isdigit() else odd


def slow(values: Mapping[str, str]) -> bool:
    """The caller asked the line to speak slowly (our own URLs say so from then on)."""
    return first(values, "slow") == "1"


def line_number(form: Mapping[str, str]) -> str:
    """The number the caller dialled (ours, not theirs): what a hotline is shown on a transfer.
    Anything but a phone number is dropped, so odd input cannot crowd the answer cache."""
    number = first(form, "To", 16)
    return number if E164.fullmatch(number) else ""


@bp.route("/voice", methods=["GET", "POST"])
def voice() -> Response:
    """The number's Voice URL. GET is accepted too, so a console misconfiguration still works."""
    now = hook()
    renderer = now.store.renderer
    lang = renderer.menu.language(first(dict(now.state()), "lang") or None).code
    log.debug("call started")
    return now.answer(renderer.entry(lang), ("", ev.CALL, "", 1), (lang, ev.LANGUAGE, "", 1))


@bp.post("/menu")
def menu() -> Response:
    now = hook()
    args = dict(now.state())
    node, notice = first(args, "node"), first(args, "n") or None
    log.debug("call at %s (%s)", node, notice or "navigate")
    renderer = now.store.renderer
    silences, invalids, form = number(args, "s"), number(args, "i"), now.request.form
    answer = renderer.menu_request(node, first(args, "lang"), silences, invalids, notice, line_number(form), slow(args))
    return now.answer(answer)


@bp.post("/choose")
def choose() -> Response:
    """A key, or speech (never logged: what a caller says is as private as their number)."""
    now = hook()
    args, form = dict(now.state()), now.request.form
    digits, said = first(form, "Digits"), first(form, "SpeechResult", MAX_SPEECH)
    renderer = now.store.renderer
    node, lang, silences, invalids = (
        first(args, "node"),
        renderer.menu.language(first(args, "lang")).code,
        number(args, "s"),
        number(args, "i"),
    )
    if said and not digits:
        log.debug("call at %s spoke", node)
        answer = renderer.hear(node, lang, silences, invalids, said, confidence(form), line_number(form), slow(args))
        return now.answer(answer, (lang, ev.INPUT, "speech", 1))
    log.debug("call at %s pressed %s", node, digits or "nothing")
    answer = renderer.choose(node, lang, silences, invalids, digits, line_number(form), slow(args))
    return now.answer(answer, (lang, ev.INPUT, "keys", 1)) if digits else now.answer(answer)


def confidence(form: Mapping[str, str]) -> float:
    """Twilio's Confidence, 0 to 1 (0 when missing or odd). Only a plain decimal in ASCII digits:
    float() also reads '١.٥', '1_0', ' 1 ', 'inf' and 'nan'."""
    value = first(form, "Confidence", 16)
    return min(float(value), 1.0) if DECIMAL.fullmatch(value) else 0.0


@bp.post("/dial-result")
def dial_result() -> Response:
    now = hook()
    pairs, form = now.state(), now.request.form
    args, status = dict(pairs), first(form, "DialCallStatus")
    tried = tuple(value[:MAX_PARAM] for name, value in pairs if name == "tried")[:10]  # the one value that repeats
    renderer, hotline, lang = now.store.renderer, first(args, "to"), first(args, "lang")
    log.debug("call's transfer to %s: %s", hotline, status or "no status")
    answer = renderer.dial_result(hotline, lang, first(args, "node"), tried, status, line_number(form), slow(args))
    if hotline not in renderer.menu.hotlines:  # only the menu's own ids are ever counted
        return now.answer(answer)
    return now.answer(answer, (renderer.menu.language(lang).code, ev.OUTCOME + ev.outcome(status), hotline, 1))


@bp.post("/call-status")
def call_status() -> Response:
    """Twilio's call status callback (set on the number): how long the call lasted, coarsely."""
    now = hook()
    form = now.request.form
    seconds = number(form, "CallDuration", 8, odd=-1)
    if first(form, "CallStatus") == "completed" and seconds >= 0:
        now.record((("", ev.CALL_LENGTH, ev.length_bucket(seconds), 1),))
    return Response(status=204)


@public.get("/audio/<path:name>")
def audio(name: str) -> Response:
    """Recordings for <Play>: only files that are really inside the project's audio/ folder.

    Served as what they are (audio/mpeg, audio/wav: Twilio refuses anything else, error 13420),
    with an ETag and `Cache-Control: no-cache`: Twilio keeps a copy and asks each time whether it
    changed, which costs a 304 and no download, and a re-recorded file reaches callers at once
    (Twilio's documented way to have an edited file picked up).
    """
    live = store()
    root = project_audio_root(live.path)
    try:
        path = find_recording(Path(live.menu.audio_dir), name, root=root)
    except AudioOutside:
        log.warning("Refused a recording that leads outside %s/", root.name)
        path = None
    if path is None or path.suffix.lower() not in MIME:
        abort(404)
    try:
        response = send_file(path, mimetype=MIME[path.suffix.lower()], etag=True, conditional=True, max_age=None)
    except OSError as err:  # there, but not readable by the server (permissions): staff must hear of it
        log.error("Recording %s cannot be read (%s); callers hear nothing in its place.", path.name, err.strerror)
        abort(404)
    response.cache_control.public = True
    response.cache_control.no_cache = True
    return response


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
        now = hook()
        renderer = now.store.current
        menu = renderer.menu
        final = menu.nodes[menu.start].retry.final.target
        lang = menu.language(first(dict(now.state()), "lang")).code
        return renderer.transfer(final, lang, menu.start, (final,), "error", line_number(now.request.form)).xml
    except Exception:  # noqa: BLE001 - the apology itself must not fail
        response = VoiceResponse()
        response.say(
            "We are sorry, something went wrong. Connecting you to the National Human Trafficking Hotline.",
            voice="Polly.Joanna",
            language="en-US",
        )
        response.dial(NATIONAL_HOTLINE, timeout=DIAL_TIMEOUT, answer_on_bridge=True, caller_id=line_number(request.form) or None)
        return response.to_xml()
