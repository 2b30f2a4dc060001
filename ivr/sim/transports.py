"""How a simulated caller's requests reach a line: in-process (Flask's test client) or over HTTP.

The caller (caller.py) only knows `Transport.send`; which line answers, and how, is chosen here.
"""

from __future__ import annotations

import http.client
import time
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlencode, urlsplit

from ..line.events import TEST_CALL


@dataclass
class Reply:
    status: int
    content_type: str
    body: bytes
    seconds: float


class Transport(Protocol):
    base_url: str

    def send(self, method: str, url: str, params: dict[str, str], headers: dict[str, str]) -> Reply: ...


class AppTransport:
    """In-process: Flask's test client, no network.

    `base_url` is the address the app is known by (what Twilio would call and sign); each
    request goes to the app at the path below it.
    """

    base_url = "http://localhost/"

    def __init__(self, app, base_url: str | None = None, *, test_call: bool = False):  # noqa: ANN001 - a Flask app
        self.client = app.test_client()
        if base_url:
            self.base_url = base_url.rstrip("/") + "/"
        # A test call is answered like any other but left out of the statistics.
        self.environ = {TEST_CALL: True} if test_call else {}

    def send(self, method: str, url: str, params: dict[str, str], headers: dict[str, str]) -> Reply:
        if url.startswith(self.base_url):
            path = "/" + url[len(self.base_url) :]
        else:
            parts = urlsplit(url)
            path = parts.path + (f"?{parts.query}" if parts.query else "")
        started = time.perf_counter()
        if method == "GET":
            response = self.client.get(path, headers=headers, environ_base=self.environ)
        else:
            response = self.client.post(path, data=params, headers=headers, environ_base=self.environ)
        return Reply(response.status_code, response.content_type or "", response.get_data(), time.perf_counter() - started)


class HttpTransport:
    """A running server, over HTTP(S), keeping the connection open when the server allows.

    Plain `http.client`, not a full HTTP library: the load generator runs hundreds of these
    on the same machine as the server, and every microsecond of client work would show up
    in the latencies it reports.
    """

    def __init__(self, base_url: str, timeout: float = 15.0):
        self.base_url = base_url.rstrip("/") + "/"
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url}")
        self._connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        self._netloc = parts.netloc
        self.timeout = timeout
        self._connection: http.client.HTTPConnection | None = None

    def send(self, method: str, url: str, params: dict[str, str], headers: dict[str, str]) -> Reply:
        parts = urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        body = urlencode(params) if method == "POST" else None
        headers = {**headers, "Content-Type": "application/x-www-form-urlencoded"} if body is not None else headers
        started = time.perf_counter()
        for attempt in (1, 2):
            reused = self._connection is not None
            connection = self._connection or self._connection_class(self._netloc, timeout=self.timeout)
            try:
                connection.request(method, target, body=body, headers=headers)
                response = connection.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                connection.close()
                self._connection = None
                if reused and attempt == 1:
                    continue  # the server had closed a kept-alive connection: once more on a new one
                raise
            break
        if response.will_close:
            connection.close()
            self._connection = None
        else:
            self._connection = connection
        return Reply(response.status, response.getheader("Content-Type", ""), data, time.perf_counter() - started)


def in_process(menu_path: str, auth_token: str | None = None) -> AppTransport:
    """A transport to a fresh app serving `menu_path`, without a network."""
    from ..line.app import create_line_app

    config = {"IVR_MENU": menu_path, "TWILIO_AUTH_TOKEN": auth_token or "", "IVR_PUBLIC_URL": AppTransport.base_url}
    return AppTransport(create_line_app(config))
