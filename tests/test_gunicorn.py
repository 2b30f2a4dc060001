"""Production serving under gunicorn: real HTTP, signed calls, a broken edit, worker restarts."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from ivr.caller import Call, HttpTransport

from .conftest import CALLER_NUMBER, ROOT, TOKEN
from .test_validator import BASE


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def gunicorn(menu_dir):
    port = free_port()
    log = menu_dir / "access.log"
    env = {
        **os.environ,
        "IVR_MENU": str(menu_dir / "menus" / "main.yaml"),
        "TWILIO_AUTH_TOKEN": TOKEN,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_ACCESS_LOG": str(log),
        "WEB_CONCURRENCY": "2",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "server:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.1)
    yield url, process, menu_dir, log
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=30)


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


def test_broken_edit_and_restarted_workers_keep_the_line_up(gunicorn):
    url, process, menu_dir, log = gunicorn
    call = Call(HttpTransport(url), auth_token=TOKEN, caller_number=CALLER_NUMBER).start()
    call.press("3").press("1")
    assert call.last_heard.startswith("What is human trafficking?")

    menu = menu_dir / "menus" / "main.yaml"
    menu.write_text(BASE.replace("goto: victims", "goto: victim"), encoding="utf-8")
    os.kill(process.pid, signal.SIGHUP)  # gunicorn restarts its workers
    assert wait_for(lambda: all(health(url)["status"] == "degraded" for _ in range(4)))
    for pid in children(process.pid):
        os.kill(pid, signal.SIGKILL)  # a crashed worker boots again even though the file is broken
    assert wait_for(lambda: _answers(url))
    call = Call(HttpTransport(url), auth_token=TOKEN, caller_number=CALLER_NUMBER).start().press("3").press("2")
    assert call.last_heard.startswith("Who are the victims?")  # still the last good menu
    assert process.poll() is None

    menu.write_text(BASE.replace("      en: Choose a topic.", "      en: Pick a topic."), encoding="utf-8")
    assert wait_for(lambda: "Pick a topic." in Call(HttpTransport(url), auth_token=TOKEN).start().press("3").last_heard)

    logged = log.read_text()
    assert '"POST /choose"' in logged and "?" not in logged  # no query strings (call state)
    digits = CALLER_NUMBER.lstrip("+")
    assert digits not in logged and digits[1:] not in logged


def children(parent: int) -> list[int]:
    """The worker processes: every process whose parent is gunicorn's master (read from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    if int(stat.read().rsplit(")", 1)[1].split()[1]) == parent:
                        found.append(int(entry))
            except (OSError, ValueError, IndexError):
                continue
    return found


def _answers(url: str) -> bool:
    try:
        return Call(HttpTransport(url), auth_token=TOKEN).start().waiting_for == "gather"
    except Exception:  # noqa: BLE001 - still booting
        return False
