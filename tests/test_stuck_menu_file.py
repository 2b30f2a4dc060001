"""A menu path that is not a regular file (a named pipe) or that sits on a stuck file system
(a hung network mount) never holds up a call: calls are answered with the last good menu,
/healthz says why, staff tools say it in words. Only the watcher thread looks at the file.

Every step that could block runs under `within`, so a regression fails here instead of
hanging the test run.
"""

from __future__ import annotations

import os
import threading
import time

import pytest
from click.testing import CliRunner

from ivr import MenuInvalid
from ivr.cli import main
from ivr.line import store as store_module

from .test_gunicorn import wait_for
from .test_reload import PICK, health, serve
from .test_staff_tools import bump, call_on, settled


def within(seconds: float, action, *args):
    """`action(*args)`, which must return (or raise) within `seconds`."""
    outcome: list = []

    def run() -> None:
        try:
            outcome.append((True, action(*args)))
        except BaseException as err:  # noqa: BLE001 - handed to the test's own thread
            outcome.append((False, err))

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert outcome, f"{getattr(action, '__name__', action)} blocked for more than {seconds} s"
    returned, value = outcome[0]
    if not returned:
        raise value
    return value


def topics(app) -> str:
    return call_on(app).press("3").last_heard


@pytest.fixture
def pipe_in_place(menu_dir):
    """Puts a named pipe where the menu file is (as `mv` would), and afterwards lets anything
    that did block on it go (a writer that opens and closes gives a blocked reader its end)."""
    path = menu_dir / "menus" / "main.yaml"
    made = []

    def swap() -> None:
        pipe = path.with_suffix(".pipe")
        os.mkfifo(pipe)
        os.replace(pipe, path)
        made.append(path)

    yield swap
    for pipe in made:
        try:
            os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:
            pass  # nobody is waiting on it: nothing was blocked


def not_a_file(status: dict) -> bool:
    return status["status"] == "degraded" and status.get("problem", {}).get("kind") == "not-a-file"


def test_a_named_pipe_swapped_in_for_the_menu_file_never_holds_up_a_call(menu_dir, pipe_in_place):
    app = serve(menu_dir, IVR_RELOAD_INTERVAL=0.05)
    path = menu_dir / "menus" / "main.yaml"
    bump(path, PICK)
    settled(app, path)
    pipe_in_place()
    assert wait_for(lambda: not_a_file(within(5, health, app)), timeout=10)
    for _ in range(5):
        assert "Pick a topic." in within(5, topics, app)  # the last good menu, at once
    assert health(app)["problem"] == {"file": "main.yaml", "line": 1, "kind": "not-a-file", "errors": 1}
    assert health(app)["serving"] == "menu file"  # the menu it had: it never stopped serving it


def test_a_busy_sync_worker_never_opens_the_menu_file_between_calls(menu_dir, pipe_in_place):
    """gunicorn's post_request builds the edit the watcher read; it never reads the file itself."""
    app = serve(menu_dir, IVR_RELOAD_INTERVAL=0.05)
    store = app.extensions["ivr_store"]
    store.between_requests = True  # gunicorn.conf.py's post_worker_init
    call_on(app)
    pipe_in_place()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:  # calls keep flowing, so every edit waits for a gap between them
        assert "Choose a topic." in within(5, topics, app)
        within(5, store.apply_between_requests)
    assert not_a_file(health(app))


def test_a_server_started_on_a_named_pipe_serves_the_last_good_copy_and_says_why(menu_dir, pipe_in_place, caplog):
    serve(menu_dir, IVR_RELOAD_INTERVAL=0)  # accepted: its copy is kept in the state folder
    pipe_in_place()
    restarted = within(5, serve, menu_dir)
    assert "Choose a topic." in within(5, topics, restarted)
    status = health(restarted)
    assert not_a_file(status) and status["serving"] == "last good copy"
    assert "The menu file is a named pipe (FIFO), not an ordinary file" in caplog.text


def test_without_a_last_good_copy_a_named_pipe_is_refused_in_words(menu_dir, pipe_in_place):
    pipe_in_place()  # and this server never had a menu to keep a copy of
    pipe = menu_dir / "menus" / "main.yaml"
    with pytest.raises(MenuInvalid) as err:
        within(5, lambda: serve(menu_dir))
    assert f"{pipe}:1:1: error: The menu file is a named pipe (FIFO), not an ordinary file" in str(err.value)
    result = within(5, CliRunner().invoke, main, ["validate", str(pipe)])
    assert result.exit_code == 1 and "is a named pipe (FIFO), not an ordinary file" in result.output


@pytest.fixture
def stuck_file_system(monkeypatch):
    """The menu file's file system stops answering (a hung network mount): any stat or open of
    that path waits until the test ends. Records which threads tried."""
    released = threading.Event()
    touched: set[str] = set()
    real_stat, real_open = os.stat, os.open

    def hangs(real):
        def call(path, *args, **kwargs):
            if os.fspath(path).endswith(os.path.join("menus", "main.yaml")):
                touched.add(threading.current_thread().name)
                released.wait()
            return real(path, *args, **kwargs)

        return call

    def hang() -> None:
        monkeypatch.setattr(os, "stat", hangs(real_stat))
        monkeypatch.setattr(os, "open", hangs(real_open))

    hang.touched = touched
    yield hang
    released.set()


def test_a_stuck_file_system_stalls_only_the_watcher(menu_dir, stuck_file_system, monkeypatch):
    monkeypatch.setattr(store_module, "SLOW_LOOK", 0.5)
    app = serve(menu_dir, IVR_RELOAD_INTERVAL=0.05)  # reads the file at start, while it still answers
    stuck_file_system()
    for _ in range(5):  # the first request starts the watcher, and waits at most SLOW_LOOK for its first look
        assert "Choose a topic." in within(5, topics, app)
    assert wait_for(lambda: within(5, health, app).get("problem", {}).get("kind") == "not-responding", timeout=5)
    assert health(app)["status"] == "degraded"
    assert stuck_file_system.touched == {"menu-watch"}  # never a thread that answered a call
