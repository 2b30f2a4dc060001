"""`ivr twilio configure | check` against a fake Twilio (tests/fake_twilio.py): the exact REST
requests, never the network; and the probe against the app itself."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner

from ivr import create_app
from ivr.cli import main
from ivr.deploy import twilio_number as tw
from ivr.line.security import PROBE_FIELD
from ivr.sim.caller import Call
from ivr.sim.transports import AppTransport

from .conftest import MAIN_MENU
from .fake_twilio import LINE, NUMBER_SID, SID, FakeTwilio

TOKEN = "twilio-auth-token-0123456789abcdef"
PUBLIC = "https://line.example.org"
ENV = {"TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": TOKEN, "IVR_PUBLIC_URL": PUBLIC}
FALLBACK = "https://handler.twilio.com/twiml/EHx"
# The number set up as `configure --fallback-url FALLBACK` leaves it.
OURS = {
    "voice_url": f"{PUBLIC}/voice",
    "voice_method": "POST",
    "voice_caller_id_lookup": False,
    "status_callback": f"{PUBLIC}/call-status",
    "status_callback_method": "POST",
    "voice_fallback_url": FALLBACK,
    "voice_fallback_method": "POST",
}


def run(fake: FakeTwilio, *args: str, env: dict | None = None, input: str | None = None):
    result = CliRunner().invoke(main, ["twilio", *args], obj=fake, env={**ENV, **(env or {})}, input=input)
    result.said = result.stdout + result.stderr  # errors go to stderr
    return result


# --- configure ----------------------------------------------------------------------------
def test_configure_shows_the_changes_to_which_number_and_asks_before_making_them():
    fake = FakeTwilio()
    result = run(fake, "configure", "--number", LINE, "--fallback-url", FALLBACK, input="n\n")
    assert result.exit_code == 0, result.output
    assert f"Changes to {LINE} ({NUMBER_SID}, 'Denver line'):" in result.output  # Twilio's own record of the number
    assert f"voice_url: 'https://old.example.com/voice' -> '{PUBLIC}/voice'" in result.output
    assert "voice_method: 'GET' -> 'POST'" in result.output and "voice_caller_id_lookup: True -> False" in result.output
    assert "Nothing changed." in result.output and fake.made("POST") == []  # a dry run until the operator says yes
    assert fake.made("GET") == [("/IncomingPhoneNumbers.json", {"PhoneNumber": LINE}, {})]


def test_configure_yes_sends_exactly_the_changed_settings():
    fake = FakeTwilio(settings={"voice_method": "POST"})
    result = run(fake, "configure", "--number", LINE, "--fallback-url", FALLBACK, "--yes")
    assert result.exit_code == 0, result.output
    assert fake.made("POST") == [
        (
            f"/IncomingPhoneNumbers/{NUMBER_SID}.json",
            {},
            {
                "VoiceUrl": f"{PUBLIC}/voice",
                "VoiceCallerIdLookup": "false",
                "VoiceFallbackUrl": FALLBACK,
                "VoiceFallbackMethod": "POST",
                "StatusCallback": f"{PUBLIC}/call-status",  # call lengths for the anonymous statistics
                "StatusCallbackMethod": "POST",
            },
        )
    ]
    again = run(fake, "configure", "--number", LINE, "--fallback-url", FALLBACK, "--yes")
    assert "already configured" in again.output and len(fake.made("POST")) == 1


def test_configure_without_a_fallback_warns_that_the_number_has_none():
    result = run(FakeTwilio(), "configure", "--number", LINE, "--yes")
    assert result.exit_code == 0 and "warning: the number has no fallback URL" in result.output


@pytest.mark.parametrize(
    "env, args, message",
    [
        ({"IVR_PUBLIC_URL": "http://line.example.org"}, [], "IVR_PUBLIC_URL must be an https:// address"),
        ({}, ["--fallback-url", "http://bin.example.org/fallback"], "The fallback URL must be https://"),
        ({}, ["--number", "7205550123"], "is not a phone number in E.164 form"),
        ({}, ["--number", "+17205550000"], "+17205550000 is not a number of this Twilio account."),
    ],
)
def test_configure_refuses_what_twilio_must_not_be_pointed_at(env, args, message):
    fake = FakeTwilio()
    number = [] if "--number" in args else ["--number", LINE]
    result = run(fake, "configure", *number, *args, "--yes", env=env)
    assert result.exit_code == 1 and message in result.said and fake.made("POST") == []


def test_a_number_one_digit_short_is_not_taken_for_the_one_twilio_matches_partially():
    fake = FakeTwilio()
    short = LINE[:-1]  # +1720555012: Twilio's PhoneNumber filter finds +17205550123 for it
    result = run(fake, "configure", "--number", short, "--yes")
    assert result.exit_code == 1, result.output
    assert f"{short} is not a number of this Twilio account (it has {LINE})." in result.said
    assert fake.made("POST") == []
    assert run(fake, "check", "--number", short).exit_code == 1


def test_the_number_is_found_on_a_later_page_of_partial_matches():
    longer = tuple(f"{LINE}{d}" for d in "45678")  # +172055501234...: matched by the filter too, listed first
    fake = FakeTwilio(settings=OURS, numbers=longer, page_size=2)
    fake.numbers.reverse()  # the exact number comes last, on the third page
    result = run(fake, "configure", "--number", LINE, "--fallback-url", FALLBACK, "--yes")
    assert result.exit_code == 0 and "already configured" in result.output, result.output
    pages = [params.get("Page") for path, params, _ in fake.made("GET")]
    assert pages == [None, "1", "2"]  # the first page, then two next_page_uri


def test_bad_credentials_are_one_clear_line_not_a_traceback():
    result = run(FakeTwilio(status=401), "configure", "--number", LINE, "--yes")
    assert result.exit_code == 1
    assert result.said.strip() == (
        "error: Twilio refused the credentials (HTTP 401): check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"
        " (or TWILIO_API_KEY and TWILIO_API_SECRET)."
    )
    assert "Traceback" not in result.said and TOKEN not in result.said


def test_configure_clears_a_twiml_app_and_refuses_a_number_on_a_sip_trunk():
    fake = FakeTwilio(settings={**OURS, "voice_application_sid": "AP" + "c" * 32})
    result = run(fake, "configure", "--number", LINE, "--fallback-url", FALLBACK, "--yes")
    assert result.exit_code == 0 and "a TwiML App is attached" in result.output
    assert fake.made("POST")[0][2] == {"VoiceApplicationSid": ""}
    fake = FakeTwilio(settings={**OURS, "trunk_sid": "TK" + "d" * 32})
    result = run(fake, "configure", "--number", LINE, "--fallback-url", FALLBACK, "--yes")
    assert result.exit_code == 1 and f"is on SIP trunk TK{'d' * 32}" in result.said and "Nothing changed." in result.said
    assert fake.made("POST") == []


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


def serve(monkeypatch, **config) -> object:
    """The app behind the public URL, counting calls into a scratch database."""
    app = create_app({"IVR_MENU": str(MAIN_MENU), "TWILIO_AUTH_TOKEN": TOKEN, "IVR_PUBLIC_URL": PUBLIC, **config})
    monkeypatch.setattr(tw.requests, "Session", lambda: FlaskSession(app))
    return app


@pytest.fixture
def public_line(monkeypatch, tmp_path):
    return serve(monkeypatch, IVR_STATS_URL=f"sqlite:///{tmp_path / 'stats.sqlite3'}")


def calls_counted(app) -> int:  # noqa: ANN001
    """Calls in the statistics, as `ivr stats` reports them."""
    app.extensions["ivr_count"].save()
    env = {"IVR_STATS_URL": app.config["IVR_STATS_URL"], "IVR_MENU": str(MAIN_MENU)}
    result = CliRunner().invoke(main, ["stats", "--format", "json"], env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["calls"]


def test_check_reports_drift_and_that_the_line_answers(public_line):
    result = run(FakeTwilio(), "check", "--number", LINE)
    assert result.exit_code == 1
    assert f"drift: voice_url: 'https://old.example.com/voice' -> '{PUBLIC}/voice'" in result.output
    assert "drift: status_callback: None -> 'https://line.example.org/call-status'" in result.output
    assert "5 setting(s) drifted, 1 problem(s)" in result.output  # the missing fallback


def test_check_passes_when_all_is_ours_and_finds_an_unprotected_line(public_line, monkeypatch):
    result = run(FakeTwilio(settings=OURS), "check", "--number", LINE)
    assert result.exit_code == 0, result.output
    assert f"{LINE} ({NUMBER_SID}, 'Denver line'): settings match" in result.output and "refuses unsigned ones" in result.output
    serve(monkeypatch, TWILIO_AUTH_TOKEN="")  # development mode behind the public URL
    result = run(FakeTwilio(settings=OURS), "check", "--number", LINE)
    assert result.exit_code == 1 and "an unsigned request to https://line.example.org/voice got HTTP 200, not 403" in result.output


def test_check_always_reports_a_missing_fallback_and_compares_a_given_one(public_line):
    no_fallback = {k: v for k, v in OURS.items() if not k.startswith("voice_fallback")}
    result = run(FakeTwilio(settings=no_fallback), "check", "--number", LINE)
    assert result.exit_code == 1 and "problem: the number has no fallback URL" in result.output
    assert "0 setting(s) drifted, 1 problem(s)" in result.output
    other = "https://handler.twilio.com/twiml/EHother"
    result = run(FakeTwilio(settings=OURS), "check", "--number", LINE, "--fallback-url", other)
    assert result.exit_code == 1 and f"drift: voice_fallback_url: '{FALLBACK}' -> '{other}'" in result.output
    assert run(FakeTwilio(settings=OURS), "check", "--number", LINE, "--fallback-url", FALLBACK).exit_code == 0


def test_check_reports_a_twiml_app_or_a_sip_trunk_that_takes_the_calls(public_line):
    result = run(FakeTwilio(settings={**OURS, "voice_application_sid": "AP" + "c" * 32}), "check", "--number", LINE)
    assert result.exit_code == 1
    assert f"drift: voice_application_sid: 'AP{'c' * 32}' -> '' (a TwiML App is attached: Twilio asks the App's Voice URL, not ours)" in (
        result.output
    )
    result = run(FakeTwilio(settings={**OURS, "trunk_sid": "TK" + "d" * 32}), "check", "--number", LINE)
    assert result.exit_code == 1
    assert f"problem: {LINE} is on SIP trunk TK{'d' * 32}: Twilio sends its calls to the trunk and ignores its Voice URL." in result.output


def test_checks_probe_is_answered_but_never_counted(public_line):
    for _ in range(3):  # a monitor running it again and again
        assert run(FakeTwilio(settings=OURS), "check", "--number", LINE).exit_code == 0
    assert calls_counted(public_line) == 0
    Call(AppTransport(public_line, PUBLIC), auth_token=TOKEN).start()  # a real call, signed by Twilio
    assert calls_counted(public_line) == 1


def test_the_probe_marker_needs_a_valid_signature_to_go_uncounted(public_line, monkeypatch, tmp_path):
    client = public_line.test_client()
    form = {"CallSid": "CA" + "1" * 32, PROBE_FIELD: "1"}
    assert client.post("/voice", data=form, headers={"X-Twilio-Signature": "forged"}).status_code == 403
    open_line = serve(monkeypatch, TWILIO_AUTH_TOKEN="", IVR_STATS_URL=f"sqlite:///{tmp_path / 'open.sqlite3'}")
    assert open_line.test_client().post("/voice", data=form).status_code == 200  # no token, no signature:
    assert calls_counted(open_line) == 1  # the marker means nothing, the call is counted


def test_check_with_api_key_credentials_says_what_the_signed_probe_needs(public_line):
    keys = {"TWILIO_API_KEY": "SK" + "e" * 32, "TWILIO_API_SECRET": "api-secret"}
    fake = FakeTwilio(settings=OURS)
    result = run(fake, "check", "--number", LINE, env={**keys, "TWILIO_AUTH_TOKEN": ""})
    assert fake.auth == {keys["TWILIO_API_KEY"]}  # the settings were read with the API key
    assert result.exit_code == 1
    assert "Set TWILIO_AUTH_TOKEN (the same as the server's) to run this check." in result.output
    assert "got HTTP 403" not in result.output  # not a misleading "the line refused us"
    assert "1 problem(s)" in result.output  # the unsigned request was still tried, and refused as it should be
    both = run(FakeTwilio(settings=OURS), "check", "--number", LINE, env=keys)  # API key for REST, auth token to sign
    assert both.exit_code == 0, both.output
