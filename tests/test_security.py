"""Signatures, proxies, development mode and the caller's privacy."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys

import pytest
from twilio.request_validator import RequestValidator

from ivr import ConfigError, create_app
from ivr.sim.caller import Call, CallError
from ivr.sim.transports import AppTransport

from .conftest import CALLER_NUMBER, MAIN_MENU, ROOT, TOKEN

FORM = {"CallSid": "CA" + "1" * 32, "From": CALLER_NUMBER, "To": "+17205550123"}


def sign(url: str, params: dict[str, str], token: str = TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


def test_valid_signature_accepted(app):
    response = app.test_client().post("/voice", data=FORM, headers={"X-Twilio-Signature": sign("http://localhost/voice", FORM)})
    assert response.status_code == 200
    assert response.content_type.startswith("text/xml")
    assert response.data.startswith(b"<?xml")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Twilio-Signature": ""},
        {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"},
        {"X-Twilio-Signature": sign("http://localhost/voice", FORM, token="some-other-token")},
        {"X-Twilio-Signature": sign("http://localhost/voice", {**FORM, "From": "+15550000000"})},  # tampered body
        {"X-Twilio-Signature": sign("http://localhost/menu?node=learn", FORM)},  # signature for another URL
    ],
    ids=["missing", "empty", "garbage", "wrong-token", "tampered-body", "other-url"],
)
def test_forged_or_missing_signature_is_403(app, headers):
    for path in ("/voice", "/menu?node=welcome&lang=en", "/choose?node=welcome&lang=en", "/dial-result?to=national"):
        response = app.test_client().post(path, data=FORM, headers=headers)
        assert response.status_code == 403, path


def test_signed_query_string_cannot_be_changed(app):
    """Our action URLs carry the call state; changing it breaks the signature."""
    params = {**FORM, "Digits": "1"}
    good = sign("http://localhost/choose?node=learn&lang=en&s=0&i=0", params)
    client = app.test_client()
    assert client.post("/choose?node=learn&lang=en&s=0&i=0", data=params, headers={"X-Twilio-Signature": good}).status_code == 200
    assert client.post("/choose?node=welcome&lang=en&s=0&i=0", data=params, headers={"X-Twilio-Signature": good}).status_code == 403


def test_whole_signed_call_works_and_unsigned_simulator_is_refused(app, dial):
    assert dial().press("3").press("1").node == "what_is"
    with pytest.raises(CallError) as err:
        Call(AppTransport(app)).start()
    assert err.value.kind == "http-403"


def test_public_base_url_behind_tls_proxy():
    app = create_app({"IVR_MENU": str(MAIN_MENU), "TWILIO_AUTH_TOKEN": TOKEN, "IVR_PUBLIC_URL": "https://line.example.org/ivr"})
    client = app.test_client()
    url = "https://line.example.org/ivr/voice"
    assert client.post("/voice", data=FORM, headers={"X-Twilio-Signature": sign(url, FORM)}).status_code == 200
    # a signature for the internal URL the app sees is not what Twilio sends
    assert client.post("/voice", data=FORM, headers={"X-Twilio-Signature": sign("http://localhost/voice", FORM)}).status_code == 403


def test_signatures_are_checked_against_the_public_url_never_the_host_header():
    """A request signed for another URL of the same Twilio account is refused, whatever Host it claims."""
    app = create_app(
        {"IVR_MENU": str(MAIN_MENU), "TWILIO_AUTH_TOKEN": TOKEN, "IVR_PUBLIC_URL": "https://line.example.org", "IVR_PROXY_HOPS": 1}
    )
    client = app.test_client()
    other = "https://other-app.example.com/voice"
    spoofed = {"Host": "other-app.example.com", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "other-app.example.com"}
    assert client.post("/voice", data=FORM, headers={**spoofed, "X-Twilio-Signature": sign(other, FORM)}).status_code == 403
    ours = "https://line.example.org/voice"
    assert client.post("/voice", data=FORM, headers={**spoofed, "X-Twilio-Signature": sign(ours, FORM)}).status_code == 200


def test_a_token_without_a_public_url_refuses_to_start(monkeypatch):
    monkeypatch.delenv("IVR_PUBLIC_URL", raising=False)
    with pytest.raises(ConfigError) as err:
        create_app({"IVR_MENU": str(MAIN_MENU), "TWILIO_AUTH_TOKEN": TOKEN, "IVR_PUBLIC_URL": ""})
    assert "IVR_PUBLIC_URL must be too" in str(err.value)
    result = subprocess.run(
        [sys.executable, "server.py"],
        cwd=ROOT,
        env={**os.environ, "TWILIO_AUTH_TOKEN": TOKEN, "IVR_PUBLIC_URL": "", "IVR_MENU": str(MAIN_MENU)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1 and "IVR_PUBLIC_URL must be too" in result.stderr and "Traceback" not in result.stderr


def test_simulated_caller_works_through_proxy_prefix():
    """Relative action URLs resolve under any public prefix, so whole calls work behind a proxy."""
    app = create_app({"IVR_MENU": str(MAIN_MENU), "TWILIO_AUTH_TOKEN": TOKEN, "IVR_PUBLIC_URL": "https://line.example.org"})

    class PublicTransport(AppTransport):
        base_url = "https://line.example.org/"

    call = Call(PublicTransport(app), auth_token=TOKEN).start().press("3").press("5").press("1")
    assert call.dialled == ["+18883737888"]


def test_development_mode_says_so_loudly(caplog):
    with caplog.at_level(logging.WARNING, logger="ivr"):
        app = create_app({"IVR_MENU": str(MAIN_MENU), "TWILIO_AUTH_TOKEN": ""})
    assert "DEVELOPMENT MODE" in caplog.text and "NOT checked" in caplog.text
    assert app.test_client().post("/voice", data=FORM).status_code == 200


def test_no_caller_number_in_any_log_line_of_a_whole_call(app, dial, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    call = dial()
    call.press("7").press("3").press("1").silence().press("1").press("#").press("*").press("0")
    call.dial_outcome("busy").dial_outcome("no-answer").press("0").dial_outcome("completed")
    # and an error path, which logs a traceback
    app.extensions["ivr_store"].current.node = None  # type: ignore[assignment]
    Call(AppTransport(app), auth_token=TOKEN, caller_number=CALLER_NUMBER).start()
    logged = caplog.text + "\n".join(r.getMessage() for r in caplog.records) + capsys.readouterr().err
    assert "call at welcome pressed 7" in logged  # the calls were logged, what they did only
    digits = re.sub(r"\D", "", CALLER_NUMBER)
    for needle in (CALLER_NUMBER, digits, digits[1:], digits[-7:], "From", "Caller", call.call_sid):
        assert needle not in logged, needle
