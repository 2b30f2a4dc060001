"""The two floors every webhook is compared with, as tiny Flask apps.

(a) `bare`: a Flask route returning a constant TwiML string.
(b) `secure`: a Flask route that parses the form, checks X-Twilio-Signature with
    twilio's RequestValidator and returns a constant TwiML string: the work no signed
    webhook can avoid.
Both answer any path, so whole simulated calls can be driven against them too.
"""

from __future__ import annotations

import os

from flask import Flask, Response, abort, request
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import VoiceResponse


def constant_twiml() -> str:
    """A small menu-like answer: a Gather that posts back here, and a Redirect on silence."""
    response = VoiceResponse()
    gather = response.gather(action="choose?node=x&lang=en&s=0&i=0", method="POST", num_digits=1, finish_on_key="", timeout=10)
    gather.say("To talk to the National Human Trafficking Hotline, press 1.", voice="Polly.Joanna", language="en-US")
    response.redirect("menu?node=x&lang=en&s=1&i=0&n=silence", method="POST")
    return response.to_xml()


def bare_app() -> Flask:
    app = Flask("floor_bare")
    body = constant_twiml()

    @app.route("/", defaults={"path": ""}, methods=["GET", "POST"])
    @app.route("/<path:path>", methods=["GET", "POST"])
    def answer(path: str) -> Response:
        return Response(body, mimetype="text/xml")

    return app


def secure_app(token: str | None = None) -> Flask:
    app = Flask("floor_secure")
    body = constant_twiml()
    validator = RequestValidator(token or os.environ["TWILIO_AUTH_TOKEN"])

    @app.route("/", defaults={"path": ""}, methods=["GET", "POST"])
    @app.route("/<path:path>", methods=["GET", "POST"])
    def answer(path: str) -> Response:
        query = request.query_string.decode("latin-1")
        url = f"{request.scheme}://{request.host}{request.root_path}{request.path}" + (f"?{query}" if query else "")
        if not validator.validate(url, request.form.to_dict(flat=True), request.headers.get("X-Twilio-Signature", "")):
            abort(403)
        return Response(body, mimetype="text/xml")

    return app


# For gunicorn: `gunicorn bench.floors:secure` (reads TWILIO_AUTH_TOKEN).
secure = secure_app() if os.environ.get("TWILIO_AUTH_TOKEN") else None
