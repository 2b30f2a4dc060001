"""Talking to Twilio's REST API: the client from the environment, and one request at a time.

Everything goes through the `twilio` library's REST client, which takes an HTTP client: the
tests hand it a fake one and read the exact requests made, so no test reaches Twilio.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import TypeVar

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http import HttpClient
from twilio.rest import Client

T = TypeVar("T")
# Twilio: "An API Request that receives an error 429 response is never processed and is always
# safe to retry" after backing off. Seconds to wait before each new try; then it is a failure.
BACKOFF = (1, 2, 4, 8, 16, 32)
pause = time.sleep  # the tests replace it, to read the waits instead of sitting through them
# Twilio's own client logs each request's query at INFO; a purge's query names our number only,
# but nothing of Twilio's belongs in our logs.
logging.getLogger("twilio.http_client").setLevel(logging.WARNING)


class SetupError(Exception):
    """Something an operator must fix, said in one line (bad credentials, a number not in the account...)."""


class Refused(SetupError):
    """Twilio refused one request: its HTTP status and, when it gave one, its error code."""

    def __init__(self, status: int | None, code: int | None, message: str):
        super().__init__(f"Twilio answered HTTP {status}" + (f" (error {code})" if code else "") + f": {message}")
        self.status, self.code = status, code


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


def request(action: Callable[[], T]) -> T:
    """Run one REST request (or one whole list, pages and all), waiting and trying again while
    Twilio answers 429. Refused credentials are a SetupError; any other refusal is `Refused`."""
    waits = iter(BACKOFF)
    while True:
        try:
            return action()
        except TwilioException as err:  # a refused request, or a page of a list that could not be fetched
            refused = _refusal(err)
            wait = next(waits, None) if refused.status == 429 else None
            if wait is not None:
                pause(wait)
                continue
            if refused.status in (401, 403):
                raise SetupError(
                    f"Twilio refused the credentials (HTTP {refused.status}): check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"
                    " (or TWILIO_API_KEY and TWILIO_API_SECRET)."
                ) from None
            raise refused from None


def _refusal(err: TwilioException) -> Refused:
    if isinstance(err, TwilioRestException):
        return Refused(err.status, err.code, err.msg)
    # A list's page: twilio-python raises a bare TwilioException holding the HTTP response.
    response = err.args[-1] if len(err.args) > 1 else None
    try:
        body = json.loads(response.text)
    except (AttributeError, TypeError, ValueError):
        body = {}
    body = body if isinstance(body, dict) else {}
    return Refused(
        getattr(response, "status_code", None), body.get("code"), body.get("message") or (str(err.args[0]) if err.args else "no answer")
    )
