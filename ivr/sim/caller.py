"""A simulated caller: drives the line through its HTTP webhooks exactly as Twilio does.

It knows nothing about menus. It POSTs Twilio's form fields to /voice, then runs
each TwiML answer verb by verb with Twilio's semantics (Gather falls through on
silence, Dial posts DialCallStatus to its action, Redirect fetches a new document,
the end of a document hangs up). Tests, the terminal phone, scripted calls, the
browser phone and the load generator are all front ends on this one class.
"""

from __future__ import annotations

import secrets
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urljoin, urlsplit

from twilio.request_validator import RequestValidator

from .transports import Transport

DIAL_OUTCOMES = ("completed", "busy", "no-answer", "failed", "canceled")
NESTABLE_IN_GATHER = {"Say", "Play", "Pause"}
FORBIDDEN = {"Record": "records the caller", "Sms": "sends an SMS", "Message": "sends an SMS"}


class CallError(Exception):
    """The line answered with something Twilio would reject, or the call looped."""

    def __init__(self, kind: str, message: str):
        self.kind = kind
        super().__init__(f"{kind}: {message}")


@dataclass(frozen=True)
class Event:
    """One thing that happened on the call, in order: what a caller heard or did."""

    kind: str  # say, play, pause, gather, press, speech, silence, dial, dial-outcome, redirect, hangup, request
    text: str = ""
    language: str = ""
    voice: str = ""
    node: str = ""
    slow: bool = False  # said at a slower rate (SSML <prosody>)

    def __str__(self) -> str:
        if self.kind == "say":
            return f"[{self.language or 'en-US'}] {self.text}"
        if self.kind == "play":
            return f"[recording] {self.text}"
        if self.kind in ("press", "speech", "silence", "dial-outcome"):
            return f">>> {self.kind} {self.text}".rstrip()
        if self.kind == "dial":
            return f"[transfer] dialling {self.text}"
        return f"({self.kind}{' ' + self.text if self.text else ''})"


def node_of(url: str) -> str:
    """The menu node a URL of ours is about (the `node` query parameter), for "where am I"."""
    return parse_qs(urlsplit(url).query).get("node", [""])[0]


@dataclass
class Pending:
    """What the call is waiting for: a key (gather) or a dial outcome (dial)."""

    kind: str
    element: ET.Element
    url: str  # the document it came from
    rest: list[ET.Element] = field(default_factory=list)
    digits: str = ""  # keys collected so far by a Gather


class Call:
    """One simulated phone call."""

    def __init__(
        self,
        transport: Transport,
        *,
        auth_token: str | None = None,
        caller_number: str = "+15555550100",
        line_number: str = "+17205550123",
        max_requests: int = 60,
        on_event: Callable[[Event], None] | None = None,
        on_request: Callable[[str, float, int], None] | None = None,
    ):
        self.transport = transport
        self.validator = RequestValidator(auth_token) if auth_token else None
        self.max_requests = max_requests
        self.on_event = on_event
        self.on_request = on_request
        self.call_sid = "CA" + secrets.token_hex(16)
        self.base_params = {
            "CallSid": self.call_sid,
            "AccountSid": "AC" + "0" * 32,
            "From": caller_number,
            "Caller": caller_number,
            "To": line_number,
            "Called": line_number,
            "CallStatus": "in-progress",
            "Direction": "inbound",
            "ApiVersion": "2010-04-01",
        }
        self.events: list[Event] = []
        self.requests = 0
        self.latencies: list[float] = []
        self.pending: Pending | None = None
        self.ended = False
        self.node = ""
        self.dialled: list[str] = []
        self.visits: list[tuple[str, str]] = []  # (node, key) pairs the caller pressed
        self.nodes_seen: list[str] = []  # every node whose menu the caller heard, in order

    # --- the caller's actions -----------------------------------------------------------
    def start(self, path: str = "voice") -> Call:
        self._fetch(urljoin(self.transport.base_url, path), {})
        return self

    def press(self, key: str) -> Call:
        """One key. Like Twilio, keys collect until numDigits is reached or finishOnKey is pressed."""
        gather = self._expect("gather")
        self._event("press", key)
        element = gather.element
        if self.node:
            self.visits.append((self.node, key))
        finish = element.get("finishOnKey", "#")
        if finish and key == finish:
            return self._submit(gather)
        gather.digits += key
        wanted = element.get("numDigits", "")
        if wanted.isdigit() and len(gather.digits) >= int(wanted):
            return self._submit(gather)
        return self  # still listening for more keys

    def silence(self) -> Call:
        """Let the Gather time out: keys typed so far are submitted, or Twilio moves on."""
        gather = self._expect("gather")
        self._event("silence")
        return self._submit(gather)

    def say(self, text: str, confidence: float = 0.9) -> Call:
        """Speak, as Twilio reports it: SpeechResult and Confidence posted to the Gather's action.
        A Gather that listens for keys only hears nothing (Twilio moves on, as after silence)."""
        gather = self._expect("gather")
        self._event("speech", text)
        if "speech" not in gather.element.get("input", "dtmf"):
            return self._submit(gather)
        form = {"SpeechResult": text, "Confidence": f"{confidence:.2f}"}
        self._fetch(self._action(gather.element, gather.url), form, gather.element.get("method", "POST"))
        return self

    def _submit(self, gather: Pending) -> Call:
        element = gather.element
        if gather.digits or element.get("actionOnEmptyResult") == "true":
            self._fetch(self._action(element, gather.url), {"Digits": gather.digits}, element.get("method", "POST"))
        else:
            self._run(gather.rest, gather.url)  # nothing entered: on to the next verb
        return self

    def dial_outcome(self, outcome: str) -> Call:
        if outcome not in DIAL_OUTCOMES:
            raise ValueError(f"dial outcome must be one of {', '.join(DIAL_OUTCOMES)}")
        dial = self._expect("dial")
        self._event("dial-outcome", outcome)
        action = dial.element.get("action")
        if action:
            extra = {
                "DialCallStatus": outcome,
                "DialCallSid": "CA" + secrets.token_hex(16),
                "DialCallDuration": "30" if outcome == "completed" else "0",
            }
            self._fetch(urljoin(dial.url, action), extra, dial.element.get("method", "POST"))
        else:
            self._run(dial.rest, dial.url)
        return self

    def hangup(self) -> Call:
        self._event("hangup", "by caller")
        self.pending = None
        self.ended = True
        return self

    def call_ended(self, seconds: int, path: str = "call-status") -> Call:
        """What Twilio posts to the number's status callback once the call is over."""
        url = urljoin(self.transport.base_url, path)
        params = {**self.base_params, "CallStatus": "completed", "CallDuration": str(seconds)}
        headers = {"X-Twilio-Signature": self.validator.compute_signature(url, params)} if self.validator else {}
        reply = self.transport.send("POST", url, params, headers)
        self.latencies.append(reply.seconds)
        if reply.status not in (200, 204):
            raise CallError(f"http-{reply.status}", f"POST {url} answered {reply.status}")
        return self

    # --- what the caller heard ----------------------------------------------------------
    @property
    def waiting_for(self) -> str:
        return "ended" if self.ended else (self.pending.kind if self.pending else "ended")

    def heard_since(self, index: int) -> str:
        return " ".join(e.text for e in self.events[index:] if e.kind == "say")

    @property
    def last_heard(self) -> str:
        """Everything said since the caller last acted."""
        start = 0
        for i, event in enumerate(self.events):
            if event.kind in ("press", "speech", "silence", "dial-outcome"):
                start = i + 1
        return self.heard_since(start)

    def transcript(self) -> str:
        return "\n".join(str(e) for e in self.events if e.kind != "request")

    # --- Twilio's semantics -------------------------------------------------------------
    def _expect(self, kind: str) -> Pending:
        if self.ended or self.pending is None:
            raise CallError("call-ended", f"cannot {kind}: the call has ended")
        if self.pending.kind != kind:
            raise CallError("unexpected", f"the line is waiting for a {self.pending.kind}, not a {kind}")
        return self.pending

    @staticmethod
    def _action(element: ET.Element, url: str) -> str:
        # Without an action Twilio posts back to the document's own URL.
        return urljoin(url, element.get("action") or url)

    def _fetch(self, url: str, extra: dict[str, str], method: str = "POST") -> None:
        self.requests += 1
        if self.requests > self.max_requests:
            raise CallError("loop", f"more than {self.max_requests} webhook requests in one call")
        method = method.upper()
        params = {**self.base_params, **extra} if method == "POST" else {}
        headers = {}
        if self.validator is not None:
            headers["X-Twilio-Signature"] = self.validator.compute_signature(url, params)
        self.pending = None
        reply = self.transport.send(method, url, params, headers)
        self.latencies.append(reply.seconds)
        if self.on_request:
            self.on_request(url, reply.seconds, reply.status)
        self._event("request", f"{method} {url} -> {reply.status}")
        if reply.status != 200:
            raise CallError(f"http-{reply.status}", f"{method} {url} answered {reply.status}")
        if "xml" not in reply.content_type:
            raise CallError("content-type", f"{url} answered {reply.content_type!r}, Twilio needs text/xml (12300)")
        if not reply.body.lstrip().startswith(b"<?xml") and not reply.body.lstrip().startswith(b"<Response"):
            raise CallError("invalid-twiml", f"{url}: nothing may come before <?xml (12100)")
        if len(reply.body) > 64 * 1024:
            raise CallError("too-large", f"{url}: TwiML over 64 kB (11750)")
        try:
            root = ET.fromstring(reply.body)
        except ET.ParseError as err:
            raise CallError("invalid-twiml", f"{url}: not well-formed XML ({err})") from None
        if root.tag != "Response":
            raise CallError("invalid-twiml", f"{url}: root element is <{root.tag}>, not <Response>")
        self._run(list(root), url)

    def _run(self, verbs: list[ET.Element], url: str) -> None:
        verbs = list(verbs)
        while verbs:
            verb = verbs.pop(0)
            tag = verb.tag
            if tag in FORBIDDEN:
                raise CallError("unsafe-verb", f"<{tag}> {FORBIDDEN[tag]}; this line must never do that")
            if tag in ("Say", "Play", "Pause"):
                self._speak(verb, url)
            elif tag == "Gather":
                for child in verb:
                    if child.tag not in NESTABLE_IN_GATHER:
                        raise CallError("invalid-twiml", f"<{child.tag}> cannot be nested in <Gather>")
                    self._speak(child, url)
                self.node = node_of(urljoin(url, verb.get("action") or url)) or self.node
                if self.node:
                    self.nodes_seen.append(self.node)
                self._event("gather", verb.get("action", ""))
                self.pending = Pending("gather", verb, url, verbs)
                return
            elif tag == "Dial":
                number = (verb.text or "").strip() or " ".join((c.text or "").strip() for c in verb)
                self.dialled.append(number)
                self._event("dial", number)
                self.pending = Pending("dial", verb, url, verbs)
                return
            elif tag == "Redirect":
                target = urljoin(url, (verb.text or "").strip())
                self._event("redirect", target)
                self._fetch(target, {}, verb.get("method", "POST"))
                return
            elif tag in ("Hangup", "Reject"):
                self._event("hangup", "by the line")
                self.ended = True
                return
            else:
                raise CallError("invalid-twiml", f"unknown or unsupported verb <{tag}>")
        # Twilio hangs up at the end of a document.
        self._event("hangup", "end of TwiML")
        self.ended = True

    def _speak(self, verb: ET.Element, url: str) -> None:
        if verb.tag == "Say":
            text = "".join(verb.itertext()).strip()
            if not text:
                raise CallError("invalid-twiml", "empty <Say> (13520)")
            self._event("say", text, verb.get("language", ""), verb.get("voice", ""), slow=verb.find("prosody") is not None)
        elif verb.tag == "Play":
            self._event("play", urljoin(url, (verb.text or "").strip()))
        else:
            self._event("pause", verb.get("length", "1"))

    def _event(self, kind: str, text: str = "", language: str = "", voice: str = "", slow: bool = False) -> None:
        event = Event(kind, text, language, voice, self.node, slow)
        self.events.append(event)
        if self.on_event:
            self.on_event(event)
