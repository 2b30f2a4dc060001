"""Shared fixtures: the app as Twilio sees it, and simulated callers that sign like Twilio."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from ivr import create_app
from ivr.sim.caller import Call
from ivr.sim.transports import AppTransport

ROOT = Path(__file__).resolve().parent.parent
MAIN_MENU = ROOT / "menus" / "main.yaml"
TOKEN = "test-auth-token-0123456789abcdef"
CALLER_NUMBER = "+17205551234"

# The Flask test client requests http://localhost/..., so that is the public URL Twilio signed.
os.environ.setdefault("IVR_PUBLIC_URL", "http://localhost")
# Last good menu copies go to a scratch folder, never into the checkout.
os.environ["IVR_STATE_DIR"] = tempfile.mkdtemp(prefix="ivr-test-state-")


@pytest.fixture
def app():
    """Production mode: signatures checked."""
    return create_app({"IVR_MENU": str(MAIN_MENU), "TWILIO_AUTH_TOKEN": TOKEN})


@pytest.fixture
def dial(app):
    """Start a signed simulated call on the app: `dial()` or `dial(app=other)`."""

    def start(target=None, **kwargs) -> Call:
        kwargs.setdefault("auth_token", TOKEN)
        kwargs.setdefault("caller_number", CALLER_NUMBER)
        return Call(AppTransport(target or app), **kwargs).start()

    return start


@pytest.fixture
def menu_dir(tmp_path):
    """A writable copy of the project layout (menus/ and audio/) to edit in a test."""
    (tmp_path / "menus").mkdir()
    (tmp_path / "audio").mkdir()
    shutil.copy(MAIN_MENU, tmp_path / "menus" / "main.yaml")
    return tmp_path


def need(command: str, package: str) -> str:
    """The path of a Debian-packaged tool a test needs. Missing, the test is skipped on a
    developer's machine, and fails where .ci/run has installed it (IVR_REQUIRE_TOOLS=1)."""
    path = shutil.which(command)
    if path is None:
        if os.environ.get("IVR_REQUIRE_TOOLS") == "1":
            pytest.fail(f"{command} is required here (IVR_REQUIRE_TOOLS=1) but is not installed")
        pytest.skip(f"{command} is not installed (apt-get install {package}); .ci/run installs it and makes this test mandatory")
    return path


def says(call: Call, since: int = 0):
    """The <Say> events heard since an index."""
    return [e for e in call.events[since:] if e.kind == "say"]


@pytest.fixture
def live_server():
    """Serve an app on a loopback port in a thread: `url = live_server(app)`."""
    import threading

    from werkzeug.serving import make_server

    servers = []

    def serve(target) -> str:
        server = make_server("127.0.0.1", 0, target, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        url = f"http://127.0.0.1:{server.server_port}"
        if hasattr(target, "config"):
            target.config["IVR_PUBLIC_URL"] = url  # what Twilio would sign for this server
        return url

    yield serve
    for server in servers:
        server.shutdown()


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL server for this test session (skipped, saying why, where none can be
    started; mandatory where .ci/run installed it: IVR_REQUIRE_TOOLS=1)."""
    from .postgres import PostgresServer, PostgresUnavailable

    try:
        server = PostgresServer()
    except PostgresUnavailable as err:
        if os.environ.get("IVR_REQUIRE_TOOLS") == "1":
            pytest.fail(f"PostgreSQL is required here (IVR_REQUIRE_TOOLS=1): {err}")
        pytest.skip(f"PostgreSQL cannot be started here: {err}; .ci/run installs it and makes these tests mandatory")
    yield server
    server.destroy()
