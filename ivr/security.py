"""Twilio request signatures, including behind a TLS-terminating proxy.

The signature covers the exact URL Twilio requested. Behind a proxy the app
sees http://127.0.0.1:PORT/..., so we either trust the proxy's X-Forwarded-*
headers (a configured hop count, via werkzeug's ProxyFix) or are told our public
base URL outright. Without a token the app runs in development mode.
"""

from __future__ import annotations

from flask import Flask, abort, current_app, request
from twilio.request_validator import RequestValidator
from werkzeug.middleware.proxy_fix import ProxyFix


def install_proxy_fix(app: Flask, hops: int) -> None:
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops)  # type: ignore[method-assign]


def request_url() -> str:
    """The URL Twilio signed: the configured public base URL (or the request's own scheme, host
    and prefix) plus the path and the query string exactly as sent, percent-escapes and all."""
    base = current_app.config.get("IVR_PUBLIC_URL") or f"{request.scheme}://{request.host}{request.root_path}"
    query = request.query_string.decode("latin-1")
    return base.rstrip("/") + request.path + (f"?{query}" if query else "")


def check_signature() -> None:
    """A before_request hook: 403 for a missing or wrong X-Twilio-Signature when a token is set."""
    validator: RequestValidator | None = current_app.extensions.get("ivr_validator")
    if validator is None:
        return
    signature = request.headers.get("X-Twilio-Signature", "")
    params = request.form.to_dict(flat=True) if request.method == "POST" else {}
    if not signature or not validator.validate(request_url(), params, signature):
        abort(403)
