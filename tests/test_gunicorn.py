"""Production serving under gunicorn: real HTTP, signed calls, a broken edit, worker restarts."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from ivr.sim.caller import Call
from ivr.sim.transports import HttpTransport

from .conftest import CALLER_NUMBER, ROOT, TOKEN
from .processes import children
from .test_validator import BASE, line_of


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(menu_dir, port: int, log, **more_env: str):
    env = {
        **os.environ,
        "IVR_MENU": str(menu_dir / "menus" / "main.yaml"),
        "IVR_STATE_DIR": str(menu_dir / "state"),
        "TWILIO_AUTH_TOKEN": TOKEN,
        "IVR_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_ACCESS_LOG": str(log),
        "WEB_CONCURRENCY": "2",
        **more_env,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "server:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.1)
    return process


def stop(process) -> str:
    os.killpg(process.pid, signal.SIGTERM)
    output, _ = process.communicate(timeout=30)
    return output.decode(errors="replace")


@pytest.fixture
def gunicorn(menu_dir):
    port = free_port()
    log = menu_dir / "access.log"
    process = start_gunicorn(menu_dir, port, log)
    yield f"http://127.0.0.1:{port}", process, menu_dir, log
    if process.poll() is None:
        stop(process)


def health(url: str) -> dict:
    import requests

    return requests.get(url + "/healthz", timeout=5).json()


def wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def topics_prompt(url: str) -> str:
    return Call(HttpTransport(url), auth_token=TOKEN, caller_number=CALLER_NUMBER).start().press("3").last_heard


def test_restarted_workers_serve_the_last_good_edit_not_the_boot_menu(gunicorn):
    """Valid edit A, broken edit B, then every worker dies and boots again: they serve A."""
    url, process, menu_dir, log = gunicorn
    assert "Choose a topic." in topics_prompt(url)  # the menu the master loaded at boot
    menu = menu_dir / "menus" / "main.yaml"
    menu.write_text(BASE.replace("      en: Choose a topic.", "      en: Pick a topic."), encoding="utf-8")  # edit A
    assert wait_for(lambda: all("Pick a topic." in topics_prompt(url) for _ in range(6)))
    menu.write_text(BASE.replace("goto: victims", "goto: victim"), encoding="utf-8")  # broken edit B
    assert wait_for(lambda: all(health(url)["status"] == "degraded" for _ in range(6)))

    for pid in children(process.pid):
        os.kill(pid, signal.SIGKILL)  # workers crash and are booted again from the master
    assert wait_for(lambda: _answers(url))
    heard = [topics_prompt(url) for _ in range(30)]  # spread over both new workers
    assert all("Pick a topic." in text for text in heard), heard
    assert all(health(url)["status"] == "degraded" for _ in range(6))
    assert process.poll() is None

    # a whole new server, started while the file is still broken, serves the last good copy
    output = stop(process)
    restarted = start_gunicorn(menu_dir, int(url.rsplit(":", 1)[1]), log)
    try:
        assert wait_for(lambda: _answers(url))
        assert "Pick a topic." in topics_prompt(url)
        status = health(url)
        assert status["status"] == "degraded" and status["serving"] == "last good copy"
        assert status["problem"] == {
            "file": "main.yaml",
            "line": line_of(menu.read_text(), "goto: victim"),
            "kind": "reference",
            "errors": 1,
        }
        menu.write_text(BASE, encoding="utf-8")  # fixed: live again within the reload interval
        assert wait_for(lambda: "Choose a topic." in topics_prompt(url) and health(url)["status"] == "ok")
    finally:
        output += stop(restarted)
    assert "Serving the last good copy" in output

    logged = log.read_text()
    assert '"POST /choose"' in logged and "?" not in logged  # no query strings (call state)
    digits = CALLER_NUMBER.lstrip("+")
    assert digits not in logged and digits[1:] not in logged


def test_a_named_pipe_in_place_of_the_menu_never_takes_the_line_down(gunicorn):
    """A sync worker once opened the menu file between two calls: a named pipe put in its place
    blocked it until gunicorn killed it, and each worker booted after that blocked again."""
    url, process, menu_dir, log = gunicorn
    menu = menu_dir / "menus" / "main.yaml"

    def prompt() -> str:
        return Call(HttpTransport(url, timeout=5), auth_token=TOKEN).start().press("3").last_heard

    def not_a_file() -> bool:
        return all(health(url).get("problem", {}).get("kind") == "not-a-file" for _ in range(6))

    assert "Choose a topic." in prompt()
    pipe = menu.with_suffix(".pipe")
    os.mkfifo(pipe)
    os.replace(pipe, menu)
    try:
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:  # calls flow, so busy workers apply edits between calls
            assert "Choose a topic." in prompt()
        assert wait_for(not_a_file, timeout=10)
        for pid in children(process.pid):
            os.kill(pid, signal.SIGKILL)  # workers booted now look at the pipe before their first call
        assert wait_for(lambda: _answers(url))
        assert all("Choose a topic." in prompt() for _ in range(10)) and not_a_file()
    finally:
        try:
            os.close(os.open(menu, os.O_WRONLY | os.O_NONBLOCK))  # let go of any reader stuck on it
        except OSError:
            pass
    output = stop(process)
    assert "WORKER TIMEOUT" not in output and "The menu file is a named pipe (FIFO), not an ordinary file" in output


def _answers(url: str) -> bool:
    try:
        return Call(HttpTransport(url), auth_token=TOKEN).start().waiting_for == "gather"
    except Exception:  # noqa: BLE001 - still booting
        return False


FORGERIES = [
    b"GET /x%0aFORGED-1 HTTP/1.1",  # the decoded path holds a newline
    b"GET /x%0d%0aFORGED-2 HTTP/1.1",
    b"GET /x%1b[2JFORGED-3 HTTP/1.1",  # an escape sequence that would clear a terminal
    b"GET /audio/x%0aFORGED-4.wav HTTP/1.1",
    b"GET /x%c2%85FORGED-5 HTTP/1.1",  # NEL, a line break to some readers
    b"GET /x\rFORGED-6 HTTP/1.1",  # raw in the request line: gunicorn's error log quotes it
    b"GET /x\x1b[2JFORGED-7 HTTP/1.1",
]


def test_a_request_cannot_forge_a_line_in_the_access_or_error_log(gunicorn):
    url, process, menu_dir, log = gunicorn
    port = int(url.rsplit(":", 1)[1])
    for line in FORGERIES:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(line + b"\r\nHost: line\r\nConnection: close\r\n\r\n")
            assert s.recv(100).split(b" ")[1] in (b"400", b"404")
    assert "Choose a topic." in topics_prompt(url)  # and the line answers as ever
    output = stop(process)
    logged = log.read_text(encoding="utf-8", errors="replace")
    for text in (logged, output):
        assert not [line for line in text.splitlines() if line.startswith("FORGED")], text  # splitlines() breaks at \r and NEL too
        assert "\x1b" not in text and "\x85" not in text
    assert '"GET /x\\nFORGED-1"' in logged and '"GET /x\\r\\nFORGED-2"' in logged and '"GET /x\\x1b[2JFORGED-3"' in logged
    assert '"GET /audio/x\\nFORGED-4.wav"' in logged and "FORGED-6" in output and "FORGED-7" in output
