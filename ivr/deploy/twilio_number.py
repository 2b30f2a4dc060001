"""The Twilio number's settings as code, and a live check of the line behind it.

What this module returns and prints are settings, never a caller's number.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

import requests
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from ..line.security import PROBE_FIELD
from ..menu.sections import E164
from .rest import SetupError, request

# Why a setting matters, said next to its drift.
NOTES = {"voice_application_sid": "a TwiML App is attached: Twilio asks the App's Voice URL, not ours"}


@dataclass(frozen=True)
class Change:
    field: str
    current: object
    wanted: object

    def __str__(self) -> str:
        note = NOTES.get(self.field) if self.current else None
        return f"{self.field}: {self.current!r} -> {self.wanted!r}" + (f" ({note})" if note else "")


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
    """The account's number, exactly: Twilio's PhoneNumber filter matches *partially*, so a number
    one digit short would otherwise find (and reconfigure) another one."""
    if not E164.match(number):
        raise SetupError(f"{number} is not a phone number in E.164 form, like +17205550123.")
    found = request(lambda: client.incoming_phone_numbers.list(phone_number=number))
    exact = [n for n in found if n.phone_number == number]
    if len(exact) != 1:
        near = sorted({n.phone_number for n in found} - {number})
        hint = f" (it has {', '.join(near[:3])}{', ...' if len(near) > 3 else ''})" if near else ""
        raise SetupError(f"{number} is not a number of this Twilio account{hint}.")
    return exact[0]


def describe(instance: object) -> str:
    """The number as Twilio holds it, so the operator sees which one is being changed."""
    name = getattr(instance, "friendly_name", None)
    return f"{instance.phone_number} ({instance.sid}" + (f", {name!r})" if name and name != instance.phone_number else ")")


def drift(instance: object, wanted: dict[str, object]) -> list[Change]:
    """Every setting of the number that differs from ours (Twilio reports "unset" as None or "")."""
    changes = []
    for field, value in wanted.items():
        current = getattr(instance, field, None)
        if (current or "") != (value or ""):
            changes.append(Change(field, current, value))
    return changes


def update(client: Client, instance: object, changes: list[Change]) -> None:
    request(lambda: client.incoming_phone_numbers(instance.sid).update(**{c.field: c.wanted for c in changes}))


def trunk_problem(instance: object) -> str | None:
    """A SIP trunk on the number takes its calls: Twilio then ignores the Voice URL (and any TwiML App)."""
    trunk = getattr(instance, "trunk_sid", None)
    if not trunk:
        return None
    return (
        f"{instance.phone_number} is on SIP trunk {trunk}: Twilio sends its calls to the trunk and ignores its Voice URL. "
        f"Remove it from the trunk (console: Elastic SIP Trunking -> Trunks -> {trunk} -> Numbers)."
    )


def fallback_problem(instance: object, fallback_url: str | None) -> str | None:
    """No fallback URL: when the line fails, callers hear Twilio's "application error" and are cut off.
    (With --fallback-url, a different one is drift instead.)"""
    if fallback_url is not None or getattr(instance, "voice_fallback_url", None):
        return None
    return (
        "the number has no fallback URL: if the line fails, callers hear Twilio's application error and the call ends. "
        "Make one with `ivr fallback` and set it with: ivr twilio configure --fallback-url https://..."
    )


def probe(public_url: str, auth_token: str, *, session: requests.Session | None = None) -> list[str]:
    """Ask the public /voice as Twilio would: a signed request must get TwiML, an unsigned one 403.
    The signed one carries PROBE_FIELD, so the line answers it as usual but does not count it.
    Returns what is wrong (nothing when all is well)."""
    http = session or requests.Session()
    url = public_url.rstrip("/") + "/voice"
    form = {"CallSid": "CA" + "0" * 32, "AccountSid": "AC" + "0" * 32, "To": "+10000000000", "From": "+10000000000", PROBE_FIELD: "1"}
    problems = []
    if not auth_token:
        problems.append(
            f"a signed request to {url} was not tried: Twilio signs webhooks with the account's auth token, which an "
            "API key cannot stand in for. Set TWILIO_AUTH_TOKEN (the same as the server's) to run this check."
        )
    try:
        if auth_token:
            signature = RequestValidator(auth_token).compute_signature(url, form)
            signed = http.post(url, data=form, headers={"X-Twilio-Signature": signature}, timeout=15, allow_redirects=False)
            if signed.status_code != 200 or "xml" not in signed.headers.get("Content-Type", "") or not _is_twiml(signed.content):
                problems.append(
                    f"a signed request to {url} got HTTP {signed.status_code}, not TwiML (is TWILIO_AUTH_TOKEN the same there?)"
                )
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
