"""The Twilio side of going live: the number's settings as code, a live check, and call-log clean-up.

Everything goes through the `twilio` library's REST client, which takes an HTTP client: the
tests hand it a fake one and read the exact requests made, so no test reaches Twilio. What
this module returns and prints are settings and counts, never a caller's number.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http import HttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from ..menu.sections import E164

AGE = re.compile(r"^(\d+)([dhm])$")
UNITS = {"d": "days", "h": "hours", "m": "minutes"}
# Twilio's own client logs each request's query at INFO; a purge's query names our number only,
# but nothing of Twilio's belongs in our logs.
logging.getLogger("twilio.http_client").setLevel(logging.WARNING)


class SetupError(Exception):
    """Something an operator must fix, said in one line (bad credentials, a number not in the account...)."""


@dataclass(frozen=True)
class Change:
    field: str
    current: object
    wanted: object

    def __str__(self) -> str:
        return f"{self.field}: {self.current!r} -> {self.wanted!r}"


def client_from_env(environ: dict[str, str], http_client: HttpClient | None = None) -> Client:
    """A REST client from TWILIO_ACCOUNT_SID with TWILIO_AUTH_TOKEN, or with TWILIO_API_KEY + TWILIO_API_SECRET."""
    sid = environ.get("TWILIO_ACCOUNT_SID", "")
    key, secret = environ.get("TWILIO_API_KEY", ""), environ.get("TWILIO_API_SECRET", "")
    token = environ.get("TWILIO_AUTH_TOKEN", "")
    if not sid.startswith("AC"):
        raise SetupError("Set TWILIO_ACCOUNT_SID (it starts with AC; Twilio console -> Account info).")
    if key and secret:
        return Client(key, secret, sid, http_client=http_client)
    if token:
        return Client(sid, token, http_client=http_client)
    raise SetupError("Set TWILIO_AUTH_TOKEN, or TWILIO_API_KEY and TWILIO_API_SECRET.")


def desired(public_url: str, fallback_url: str | None) -> dict[str, object]:
    """The number's voice settings for this line. Refuses what Twilio must not be pointed at."""
    if not public_url.startswith("https://"):
        raise SetupError(f"IVR_PUBLIC_URL must be an https:// address Twilio can reach (it is {public_url or 'not set'}).")
    settings: dict[str, object] = {
        "voice_url": public_url.rstrip("/") + "/voice",
        "voice_method": "POST",
        # When a call ends Twilio posts its length here: counted in coarse buckets, nothing else kept.
        "status_callback": public_url.rstrip("/") + "/call-status",
        "status_callback_method": "POST",
        "voice_caller_id_lookup": False,  # no caller-name lookup: we want to know nothing about callers
        "voice_application_sid": "",  # a TwiML App on the number would override the Voice URL
    }
    if fallback_url is not None:
        if not fallback_url.startswith("https://"):
            raise SetupError(f"The fallback URL must be https:// (it is {fallback_url}).")
        settings.update(voice_fallback_url=fallback_url, voice_fallback_method="POST")
    return settings


def find_number(client: Client, number: str):  # noqa: ANN201 - a twilio IncomingPhoneNumberInstance
    if not E164.match(number):
        raise SetupError(f"{number} is not a phone number in E.164 form, like +17205550123.")
    found = _rest(lambda: client.incoming_phone_numbers.list(phone_number=number, limit=2))
    if len(found) != 1:
        raise SetupError(f"{number} is not a number of this Twilio account.")
    return found[0]


def drift(instance: object, wanted: dict[str, object]) -> list[Change]:
    """Every setting of the number that differs from ours (Twilio reports "unset" as None or "")."""
    changes = []
    for field, value in wanted.items():
        current = getattr(instance, field, None)
        if (current or "") != (value or ""):
            changes.append(Change(field, current, value))
    return changes


def configure(client: Client, number: str, wanted: dict[str, object], *, apply: bool) -> list[Change]:
    """The changes that make the number ours; made only with `apply`."""
    instance = find_number(client, number)
    changes = drift(instance, wanted)
    if apply and changes:
        _rest(lambda: client.incoming_phone_numbers(instance.sid).update(**{c.field: c.wanted for c in changes}))
    return changes


def probe(public_url: str, auth_token: str, *, session: requests.Session | None = None) -> list[str]:
    """Ask the public /voice as Twilio would: a signed request must get TwiML, an unsigned one 403.
    Returns what is wrong (nothing when all is well)."""
    http = session or requests.Session()
    url = public_url.rstrip("/") + "/voice"
    form = {"CallSid": "CA" + "0" * 32, "AccountSid": "AC" + "0" * 32, "To": "+10000000000", "From": "+10000000000"}
    problems = []
    try:
        signature = RequestValidator(auth_token).compute_signature(url, form)
        signed = http.post(url, data=form, headers={"X-Twilio-Signature": signature}, timeout=15, allow_redirects=False)
        if signed.status_code != 200 or "xml" not in signed.headers.get("Content-Type", "") or not _is_twiml(signed.content):
            problems.append(f"a signed request to {url} got HTTP {signed.status_code}, not TwiML (is TWILIO_AUTH_TOKEN the same there?)")
        unsigned = http.post(url, data=form, timeout=15, allow_redirects=False)
        if unsigned.status_code != 403:
            problems.append(f"an unsigned request to {url} got HTTP {unsigned.status_code}, not 403: signatures are not checked there")
    except requests.RequestException as err:
        problems.append(f"{url} could not be reached ({type(err).__name__})")
    return problems


def _is_twiml(body: bytes) -> bool:
    try:
        return ET.fromstring(body).tag == "Response"
    except ET.ParseError:
        return False


def parse_age(text: str) -> timedelta:
    match = AGE.match(text.strip())
    if not match:
        raise SetupError(f"{text!r} is not an age; write it like 7d, 12h or 30m.")
    return timedelta(**{UNITS[match.group(2)]: int(match.group(1))})


@dataclass(frozen=True)
class PurgeCount:
    calls: int
    recordings: int


def purge(client: Client, number: str, older_than: timedelta, *, apply: bool, now: datetime | None = None) -> PurgeCount:
    """Delete the records of calls to and from `number` that ended before `older_than` ago, with
    their recordings (the line makes none, but a console user might have). Counts only."""
    find_number(client, number)
    cutoff = (now or datetime.now(timezone.utc)) - older_than
    calls = _rest(lambda: client.calls.list(to=number, end_time_before=cutoff) + client.calls.list(from_=number, end_time_before=cutoff))
    sids = list(dict.fromkeys(call.sid for call in calls))  # a call can match both lists
    recordings = 0
    for sid in sids:
        for recording in _rest(lambda sid=sid: client.recordings.list(call_sid=sid)):
            recordings += 1
            if apply:
                _rest(lambda recording=recording: client.recordings(recording.sid).delete())
        if apply:
            _rest(lambda sid=sid: client.calls(sid).delete())
    return PurgeCount(len(sids), recordings)


def _rest(action):  # noqa: ANN001, ANN202
    """Run one REST call; Twilio's refusals become one line for the operator."""
    try:
        return action()
    except TwilioException as err:  # a refused request, or a page of a list that could not be fetched
        status = err.status if isinstance(err, TwilioRestException) else getattr(err.args[-1], "status_code", None)
        if status in (401, 403):
            raise SetupError(f"Twilio refused the credentials (HTTP {status}): check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN.") from None
        raise SetupError(f"Twilio answered HTTP {status}: {getattr(err, 'msg', err.args[0])}") from None
