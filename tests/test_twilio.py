"""`ivr twilio configure | check | purge` against a fake Twilio: the exact REST requests, never the network.

The twilio library's REST client takes an HTTP client; this one answers like Twilio's API
and records every request, the way twilio-python's own tests do.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner
from twilio.http import HttpClient
from twilio.http.response import Response

from ivr import create_app
from ivr.cli import main
from ivr.deploy import twilio_number as tw

from .conftest import MAIN_MENU

SID = "AC" + "a" * 32
TOKEN = "twilio-auth-token-0123456789abcdef"
LINE = "+17205550123"
NUMBER_SID = "PN" + "b" * 32
CALLER = "+13035550199"  # a caller's number as Twilio's call log holds it: must never be printed
PUBLIC = "https://line.example.org"
ENV = {"TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": TOKEN, "IVR_PUBLIC_URL": PUBLIC}
BASE = f"/2010-04-01/Accounts/{SID}"


class FakeTwilio(HttpClient):
    """Answers the few API calls we make, from a dict of the number's settings and a call log."""

    def __init__(self, settings: dict | None = None, calls: list[dict] | None = None, status: int = 200):
        super().__init__(logger=logging.getLogger("fake-twilio"), is_async=False)
        self.settings = {
            "voice_url": "https://old.example.com/voice",
            "voice_method": "GET",
            "voice_caller_id_lookup": True,
            **(settings or {}),
        }
        self.calls = calls or []
        self.status = status
        self.requests: list[tuple[str, str, dict, dict]] = []

    def request(self, method, uri, params=None, data=None, headers=None, auth=None, timeout=None, allow_redirects=False):  # noqa: ANN001, ANN201
        path = urlsplit(uri).path
        self.requests.append((method, path, dict(params or {}), dict(data or {})))
        if self.status != 200:
            return Response(self.status, json.dumps({"code": 20003, "message": "Authenticate", "status": self.status}))
        number = {"sid": NUMBER_SID, "account_sid": SID, "phone_number": LINE, **self.settings}
        if path.endswith("/IncomingPhoneNumbers.json"):
            found = [number] if params.get("PhoneNumber") == LINE else []
            return Response(200, json.dumps({"incoming_phone_numbers": found, "next_page_uri": None}))
        if path.endswith(f"/IncomingPhoneNumbers/{NUMBER_SID}.json"):
            self.settings.update({_snake(k): _value(v) for k, v in (data or {}).items()})
            return Response(200, json.dumps({**number, **self.settings}))
        if path.endswith("/Calls.json"):
            side = "to" if "To" in params else "from"
            value = params.get("To") or params.get("From")
            return Response(200, json.dumps({"calls": [c for c in self.calls if c[side] == value], "next_page_uri": None}))
        if path.endswith("/Recordings.json"):
            found = [
                {"sid": "RE" + c["sid"][2:], "call_sid": c["sid"]}
                for c in self.calls
                if c["sid"] == params.get("CallSid") and c.get("recorded")
            ]
            return Response(200, json.dumps({"recordings": found, "next_page_uri": None}))
        if method == "DELETE":
            return Response(204, "")
        return Response(404, json.dumps({"code": 20404, "message": "not found", "status": 404}))

    def made(self, method: str) -> list[tuple[str, dict, dict]]:
        return [(path.removeprefix(BASE), params, data) for m, path, params, data in self.requests if m == method]


def _snake(name: str) -> str:
    return "".join("_" + ch.lower() if ch.isupper() else ch for ch in name).lstrip("_")


def _value(text: str) -> object:
    return {"true": True, "false": False}.get(str(text).lower(), text)


def run(fake: FakeTwilio, *args: str, env: dict | None = None, input: str | None = None):
    result = CliRunner().invoke(main, ["twilio", *args], obj=fake, env={**ENV, **(env or {})}, input=input)
    result.said = result.stdout + result.stderr  # errors go to stderr
    return result


# --- configure ----------------------------------------------------------------------------
def test_configure_shows_the_changes_and_asks_before_making_them():
    fake = FakeTwilio()
    result = run(fake, "configure", "--number", LINE, "--fallback-url", "https://handler.twilio.com/twiml/EHx", input="n\n")
    assert result.exit_code == 0, result.output
    assert f"voice_url: 'https://old.example.com/voice' -> '{PUBLIC}/voice'" in result.output
    assert "voice_method: 'GET' -> 'POST'" in result.output and "voice_caller_id_lookup: True -> False" in result.output
    assert "Nothing changed." in result.output and fake.made("POST") == []  # a dry run until the operator says yes
    assert fake.made("GET") == [("/IncomingPhoneNumbers.json", {"PhoneNumber": LINE, "PageSize": 2}, {})]


def test_configure_yes_sends_exactly_the_changed_settings():
    fake = FakeTwilio(settings={"voice_method": "POST"})
    result = run(fake, "configure", "--number", LINE, "--fallback-url", "https://handler.twilio.com/twiml/EHx", "--yes")
    assert result.exit_code == 0, result.output
    assert fake.made("POST") == [
        (
            f"/IncomingPhoneNumbers/{NUMBER_SID}.json",
            {},
            {
                "VoiceUrl": f"{PUBLIC}/voice",
                "VoiceCallerIdLookup": "false",
                "VoiceFallbackUrl": "https://handler.twilio.com/twiml/EHx",
                "VoiceFallbackMethod": "POST",
                "StatusCallback": f"{PUBLIC}/call-status",  # call lengths for the anonymous statistics
                "StatusCallbackMethod": "POST",
            },
        )
    ]
    again = run(fake, "configure", "--number", LINE, "--fallback-url", "https://handler.twilio.com/twiml/EHx", "--yes")
    assert "already configured" in again.output and len(fake.made("POST")) == 1


@pytest.mark.parametrize(
    "env, args, message",
    [
        ({"IVR_PUBLIC_URL": "http://line.example.org"}, [], "IVR_PUBLIC_URL must be an https:// address"),
        ({}, ["--fallback-url", "http://bin.example.org/fallback"], "The fallback URL must be https://"),
        ({}, ["--number", "7205550123"], "is not a phone number in E.164 form"),
        ({}, ["--number", "+17205550000"], "is not a number of this Twilio account"),
    ],
)
def test_configure_refuses_what_twilio_must_not_be_pointed_at(env, args, message):
    fake = FakeTwilio()
    number = [] if "--number" in args else ["--number", LINE]
    result = run(fake, "configure", *number, *args, "--yes", env=env)
    assert result.exit_code == 1 and message in result.said and fake.made("POST") == []


def test_bad_credentials_are_one_clear_line_not_a_traceback():
    result = run(FakeTwilio(status=401), "configure", "--number", LINE, "--yes")
    assert result.exit_code == 1
    assert result.said.strip() == "error: Twilio refused the credentials (HTTP 401): check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN."
    assert "Traceback" not in result.said and TOKEN not in result.said


# --- check --------------------------------------------------------------------------------
class FlaskSession:
    """`requests.Session` for the probe, answered by the app in-process (what the public URL serves)."""

    def __init__(self, app):  # noqa: ANN001
        self.client = app.test_client()

    def post(self, url, data=None, headers=None, timeout=None, allow_redirects=False):  # noqa: ANN001, ANN201
        reply = self.client.post(urlsplit(url).path, data=data, headers=headers or {})

        class Answer:
            status_code, content = reply.status_code, reply.get_data()
            headers = {"Content-Type": reply.content_type}

        return Answer()


@pytest.fixture
def public_line(monkeypatch):
    app = create_app({"IVR_MENU": str(MAIN_MENU), "TWILIO_AUTH_TOKEN": TOKEN, "IVR_PUBLIC_URL": PUBLIC})
    monkeypatch.setattr(tw.requests, "Session", lambda: FlaskSession(app))
    return app


def test_check_reports_drift_and_that_the_line_answers(public_line):
    result = run(FakeTwilio(), "check", "--number", LINE)
    assert result.exit_code == 1
    assert f"drift: voice_url: 'https://old.example.com/voice' -> '{PUBLIC}/voice'" in result.output
    assert "drift: status_callback: None -> 'https://line.example.org/call-status'" in result.output
    assert "5 setting(s) drifted, 0 problem(s)" in result.output


def test_check_with_no_drift_passes_and_finds_an_unprotected_line(public_line, monkeypatch):
    settings = {"voice_url": f"{PUBLIC}/voice", "voice_method": "POST", "voice_caller_id_lookup": False}
    settings.update(status_callback=f"{PUBLIC}/call-status", status_callback_method="POST")
    result = run(FakeTwilio(settings=settings), "check", "--number", LINE)
    assert result.exit_code == 0, result.output
    assert "settings match" in result.output and "refuses unsigned ones" in result.output
    open_line = create_app({"IVR_MENU": str(MAIN_MENU), "TWILIO_AUTH_TOKEN": ""})  # development mode behind the public URL
    monkeypatch.setattr(tw.requests, "Session", lambda: FlaskSession(open_line))
    result = run(FakeTwilio(settings=settings), "check", "--number", LINE)
    assert result.exit_code == 1 and "an unsigned request to https://line.example.org/voice got HTTP 200, not 403" in result.output


# --- purge ---------------------------------------------------------------------------------
CALLS = [
    {"sid": "CA" + "1" * 32, "to": LINE, "from": CALLER, "recorded": True},
    {"sid": "CA" + "2" * 32, "to": LINE, "from": CALLER},
    {"sid": "CA" + "3" * 32, "to": "+18883737888", "from": LINE},  # the transfer leg
]


def test_purge_is_a_dry_run_by_default_and_prints_counts_only():
    fake = FakeTwilio(calls=CALLS)
    result = run(fake, "purge", "--number", LINE, "--older-than", "7d")
    assert result.exit_code == 0, result.output
    assert "Dry run: would delete 3 call record(s) and 1 recording(s) older than 7d." in result.output
    assert fake.made("DELETE") == []
    lists = [(path, params) for path, params, _ in fake.made("GET") if path == "/Calls.json"]
    assert [sorted(p) for _, p in lists] == [["EndTime<", "To"], ["EndTime<", "From"]]
    assert all(p.get("To", p.get("From")) == LINE for _, p in lists)
    for needle in (CALLER, CALLER[2:], LINE):
        assert needle not in result.output


def test_purge_really_deletes_the_calls_and_their_recordings():
    fake = FakeTwilio(calls=CALLS)
    result = run(fake, "purge", "--number", LINE, "--older-than", "12h", "--really")
    assert result.exit_code == 0, result.output
    assert "Deleted 3 call record(s) and 1 recording(s) older than 12h." in result.output
    deleted = [path for path, _, _ in fake.made("DELETE")]
    assert deleted == ["/Recordings/RE" + "1" * 32 + ".json"] + [f"/Calls/{c['sid']}.json" for c in CALLS]
    assert CALLER not in result.output


def test_purge_refuses_an_age_it_cannot_read():
    result = run(FakeTwilio(), "purge", "--number", LINE, "--older-than", "a week")
    assert result.exit_code == 1 and "write it like 7d, 12h or 30m" in result.said
