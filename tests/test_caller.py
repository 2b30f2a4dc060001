"""The simulated caller follows Twilio's semantics, verb by verb, and reports bad TwiML."""

from __future__ import annotations

import pytest
from flask import Flask, Response, request
from twilio.twiml.voice_response import VoiceResponse

from ivr.sim.caller import Call, CallError
from ivr.sim.transports import AppTransport, HttpTransport

from .conftest import TOKEN


def fake_line(routes: dict[str, object]) -> Flask:
    """A tiny app answering fixed TwiML per path, recording what it was sent."""
    app = Flask("fake")
    app.config["seen"] = []

    def handler(path: str = "") -> Response:
        app.config["seen"].append((request.method, request.full_path.rstrip("?"), request.form.to_dict()))
        body = routes[path]
        body = body() if callable(body) else body
        if isinstance(body, tuple):
            return Response(body[0], status=body[1], mimetype=body[2])
        return Response(body, mimetype="text/xml")

    app.add_url_rule("/<path:path>", view_func=handler, methods=["GET", "POST"])
    return app


def twiml(build) -> str:
    response = VoiceResponse()
    build(response)
    return response.to_xml()


def test_gather_silence_falls_through_to_next_verb():
    app = fake_line(
        {
            "voice": twiml(
                lambda r: (r.gather(action="pressed", num_digits=1).say("Press 1"), r.say("You said nothing"), r.redirect("again"))
            ),
            "again": twiml(lambda r: r.say("Goodbye")),
        }
    )
    call = Call(AppTransport(app)).start()
    assert call.waiting_for == "gather" and call.last_heard == "Press 1"
    call.silence()
    assert call.last_heard == "You said nothing Goodbye"
    assert call.waiting_for == "ended" and call.events[-1].text == "end of TwiML"


def test_gather_posts_digits_and_action_on_empty_result():
    app = fake_line(
        {
            "voice": twiml(lambda r: r.gather(action="pressed?x=1", action_on_empty_result=True, num_digits=1)),
            "pressed": twiml(lambda r: r.hangup()),
        }
    )
    Call(AppTransport(app)).start().silence()
    method, path, form = app.config["seen"][-1]
    assert (method, path, form["Digits"]) == ("POST", "/pressed?x=1", "")
    Call(AppTransport(app)).start().press("7")
    assert app.config["seen"][-1][2]["Digits"] == "7"


def test_finish_on_key_counts_as_empty():
    app = fake_line(
        {
            "voice": twiml(lambda r: (r.gather(action="pressed"), r.say("fell through"))),
            "pressed": twiml(lambda r: r.say("pressed")),
        }
    )
    call = Call(AppTransport(app)).start().press("#")  # the default finishOnKey with nothing before it
    assert call.last_heard == "fell through"


def test_dial_outcome_posted_to_action_and_without_action_continues():
    app = fake_line(
        {
            "voice": twiml(lambda r: r.dial("+18883737888", action="after")),
            "after": lambda: twiml(lambda r: r.say(f"status {request.form['DialCallStatus']}")),
            "plain": twiml(lambda r: (r.dial("+18664555075"), r.say("next verb"))),
        }
    )
    call = Call(AppTransport(app)).start()
    assert call.waiting_for == "dial" and call.dialled == ["+18883737888"]
    call.dial_outcome("busy")
    assert call.last_heard == "status busy"
    call = Call(AppTransport(app)).start("plain").dial_outcome("no-answer")
    assert call.last_heard == "next verb"
    with pytest.raises(ValueError):
        Call(AppTransport(app)).start().dial_outcome("exploded")


def test_redirect_loop_is_bounded():
    app = fake_line({"voice": twiml(lambda r: r.redirect("voice"))})
    with pytest.raises(CallError) as err:
        Call(AppTransport(app), max_requests=25).start()
    assert err.value.kind == "loop"


@pytest.mark.parametrize(
    "body, kind",
    [
        (("oops", 500, "text/html"), "http-500"),
        (("<Response/>", 200, "text/html"), "content-type"),
        ('<?xml version="1.0"?><Response><Say>unclosed</Response>', "invalid-twiml"),
        ('<?xml version="1.0"?><Html/>', "invalid-twiml"),
        ("  hello <?xml", "invalid-twiml"),
        ('<?xml version="1.0"?><Response><Record/></Response>', "unsafe-verb"),
        ('<?xml version="1.0"?><Response><Say></Say></Response>', "invalid-twiml"),
        ('<?xml version="1.0"?><Response><Gather><Dial>1</Dial></Gather></Response>', "invalid-twiml"),
        ('<?xml version="1.0"?><Response><Frobnicate/></Response>', "invalid-twiml"),
        ('<?xml version="1.0"?><Response><Say>' + "x" * 70000 + "</Say></Response>", "too-large"),
    ],
)
def test_invalid_twiml_is_reported(body, kind):
    app = fake_line({"voice": body})
    with pytest.raises(CallError) as err:
        Call(AppTransport(app)).start()
    assert err.value.kind == kind


def test_twilio_form_fields_sent():
    app = fake_line({"voice": twiml(lambda r: r.say("hi"))})
    Call(AppTransport(app), caller_number="+15550001111").start()
    form = app.config["seen"][0][2]
    for name in ("CallSid", "AccountSid", "From", "To", "CallStatus", "Direction", "ApiVersion"):
        assert form.get(name), name
    assert form["CallSid"].startswith("CA") and len(form["CallSid"]) == 34


def test_signs_requests_against_a_running_production_server(app, live_server):
    url = live_server(app)
    call = Call(HttpTransport(url), auth_token=TOKEN).start().press("3").press("5").press("2")
    assert call.dialled == ["+18664555075"]
    with pytest.raises(CallError) as err:
        Call(HttpTransport(url), auth_token="wrong-token").start()
    assert err.value.kind == "http-403"


def test_num_digits_and_finish_on_key_collect_keys():
    app = fake_line(
        {
            "voice": twiml(lambda r: (r.gather(action="pin", num_digits=3), r.say("no pin"))),
            "open": twiml(lambda r: (r.gather(action="pin"), r.say("no pin"))),
            "pin": lambda: twiml(lambda r: r.say(f"pin {request.form['Digits']}")),
        }
    )
    call = Call(AppTransport(app)).start().press("1").press("2")
    assert call.waiting_for == "gather"  # two of three digits: still listening
    call.press("3")
    assert call.last_heard == "pin 123"
    call = Call(AppTransport(app)).start("open").press("4").press("2").press("#")
    assert call.last_heard == "pin 42"  # finishOnKey submits what was typed
    call = Call(AppTransport(app)).start("open").press("7").silence()
    assert call.last_heard == "pin 7"  # a timeout submits partial input
