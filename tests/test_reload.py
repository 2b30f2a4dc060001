"""Hot reload, the last good copy, and the limits on what a menu file can do to the server.

The watcher thread runs for real here (a short interval), and every check is made the way
an operator or Twilio would see it: calls, /healthz, the log.
"""

from __future__ import annotations

import gc
import json
import logging
import sys
import time

import pytest

from ivr import MenuInvalid, create_app
from ivr.cli import main
from ivr.line.render import Renderer

from .conftest import TOKEN
from .test_staff_tools import BASE, bump, call_on, settled
from .test_validator import line_of

PICK = BASE.replace("      en: Choose a topic.", "      en: Pick a topic.")
BROKEN = BASE.replace("goto: victims", "goto: victim")


def serve(menu_dir, **config):
    settings = {"IVR_MENU": str(menu_dir / "menus" / "main.yaml"), "TWILIO_AUTH_TOKEN": TOKEN, "IVR_STATE_DIR": str(menu_dir / "state")}
    return create_app({**settings, **config})


def health(app) -> dict:
    return app.test_client().get("/healthz").get_json()


def test_the_first_call_after_an_edit_hears_it_with_no_traffic_in_between(menu_dir):
    app = serve(menu_dir, IVR_RELOAD_INTERVAL=0.5)
    assert "Choose a topic." in call_on(app).press("3").last_heard
    path = menu_dir / "menus" / "main.yaml"
    bump(path, PICK)
    time.sleep(2.0)  # the line is quiet: no request notices the edit, only the watcher can
    assert "Pick a topic." in call_on(app).press("3").last_heard


def test_any_failure_of_a_reload_is_logged_once_shown_and_does_not_stop_the_next(menu_dir, monkeypatch, caplog):
    app = serve(menu_dir, IVR_RELOAD_INTERVAL=0.05)
    path = menu_dir / "menus" / "main.yaml"
    real_warm = Renderer.warm

    def broken_warm(self):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(Renderer, "warm", broken_warm)
    with caplog.at_level(logging.ERROR, logger="ivr.reload"):
        bump(path, PICK)
        deadline = time.monotonic() + 5
        while health(app)["status"] != "degraded" and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.3)  # several more watcher rounds
    status = health(app)
    assert status["status"] == "degraded" and status["problem"] == {"file": "main.yaml", "kind": "RuntimeError"}
    assert caplog.text.count("Menu reload failed") == 1 and "disk on fire" in caplog.text
    assert "Choose a topic." in call_on(app).press("3").last_heard  # the line keeps answering
    monkeypatch.setattr(Renderer, "warm", real_warm)
    bump(path, PICK.replace("Pick a topic.", "Pick one topic."))
    settled(app, path)
    assert "Pick one topic." in call_on(app).press("3").last_heard and health(app)["status"] == "ok"


def test_a_server_started_on_a_broken_file_serves_the_last_good_copy(menu_dir, caplog):
    path = menu_dir / "menus" / "main.yaml"
    first = serve(menu_dir, IVR_RELOAD_INTERVAL=0)
    bump(path, PICK)
    assert "Pick a topic." in call_on(first).press("3").last_heard  # accepted: copied to the state folder
    copies = list((menu_dir / "state").glob("main.last-good.*.yaml"))
    assert [c.read_text(encoding="utf-8") for c in copies] == [PICK]
    assert not list((menu_dir / "menus").glob("*last-good*"))  # never in menus/
    bump(path, BROKEN)
    assert "Pick a topic." in call_on(first).press("3").last_heard  # refused, the copy is untouched
    assert copies[0].read_text(encoding="utf-8") == PICK

    with caplog.at_level(logging.ERROR, logger="ivr.reload"):
        restarted = serve(menu_dir, IVR_RELOAD_INTERVAL=0)
    assert "Pick a topic." in call_on(restarted).press("3").last_heard
    assert "THE MENU FILE HAS ERRORS. Serving the last good copy" in caplog.text
    status = health(restarted)
    assert status["status"] == "degraded" and status["serving"] == "last good copy"
    assert status["problem"] == {"file": "main.yaml", "line": line_of(BROKEN, "goto: victim"), "kind": "reference", "errors": 1}


def test_with_no_last_good_copy_a_broken_file_refuses_to_start(menu_dir):
    (menu_dir / "menus" / "main.yaml").write_text(BROKEN, encoding="utf-8")
    with pytest.raises(MenuInvalid):
        serve(menu_dir)


def test_an_oversized_file_is_refused_with_a_clear_message(menu_dir, caplog):
    path = menu_dir / "menus" / "main.yaml"
    limit = len(BASE.encode()) + 5_000  # the shipped menu loads, with room to grow; the padding is far over
    app = serve(menu_dir, IVR_RELOAD_INTERVAL=0, IVR_MENU_MAX_BYTES=limit)
    huge = BASE + "\n".join(f"# padding line {i} " + "x" * 60 for i in range(limit // 60)) + "\n"
    with caplog.at_level(logging.ERROR, logger="ivr.reload"):
        bump(path, huge)
        assert "Choose a topic." in call_on(app).press("3").last_heard
    assert health(app)["problem"]["kind"] == "too-big"
    assert f"larger than {limit:,} bytes" in caplog.text and "padding line" not in caplog.text
    result = pytest.importorskip("click.testing").CliRunner().invoke(main, ["validate", str(path)], env={"IVR_MENU_MAX_BYTES": str(limit)})
    assert result.exit_code == 1 and f"larger than {limit:,} bytes" in result.output


def test_thousands_of_errors_stay_bounded_in_the_log_the_cli_and_healthz(menu_dir, caplog):
    path = menu_dir / "menus" / "main.yaml"
    app = serve(menu_dir, IVR_RELOAD_INTERVAL=0)
    many = BASE.replace("nodes:\n", "nodes:\n" + "".join(f"  n{i}:\n    type: wrong\n" for i in range(3000)), 1)
    with caplog.at_level(logging.ERROR, logger="ivr.reload"):
        bump(path, many)
        call_on(app)
    assert "and 2950 more error(s) not shown" in caplog.text and caplog.text.count("must be 'menu' or 'content'") == 50
    body = app.test_client().get("/healthz").get_data()
    assert len(body) < 1000 and json.loads(body)["problem"]["errors"] == 3000
    assert str(menu_dir) not in body.decode()
    result = pytest.importorskip("click.testing").CliRunner().invoke(main, ["validate", str(path), "--format", "json"])
    payload = json.loads(result.output)
    assert len(payload["problems"]) == 50 and payload["not_shown"] == 2950


def test_reloads_change_no_process_wide_interpreter_settings(menu_dir):
    before = (sys.getswitchinterval(), gc.isenabled(), gc.get_threshold(), gc.get_freeze_count())
    app = serve(menu_dir, IVR_RELOAD_INTERVAL=0)
    path = menu_dir / "menus" / "main.yaml"
    for i in range(3):
        bump(path, BASE.replace("      en: Choose a topic.", f"      en: Topic {i}."))
        assert f"Topic {i}." in call_on(app).press("3").last_heard
    assert (sys.getswitchinterval(), gc.isenabled(), gc.get_threshold(), gc.get_freeze_count()) == before


def test_only_the_live_menu_file_is_said_to_keep_the_last_good_menu(menu_dir, monkeypatch):
    other = menu_dir / "menus" / "draft.yaml"
    other.write_text(BROKEN, encoding="utf-8")
    from click.testing import CliRunner

    result = CliRunner().invoke(main, ["validate", str(other)])
    assert result.exit_code == 1 and "last good menu" not in result.output and "before this menu goes live" in result.output
    live = CliRunner().invoke(main, ["validate"])  # the default path is the live menu
    assert live.exit_code == 0
    monkeypatch.setattr("ivr.staff.menu_file.LIVE_MENU", str(other))
    result = CliRunner().invoke(main, ["validate", str(other)])
    assert "The line keeps serving the last good menu" in result.output


def test_a_busy_sync_worker_applies_an_edit_between_calls_and_a_quiet_one_at_once(menu_dir):
    """Under gunicorn's sync worker no call is answered while a new menu is built: the watcher
    leaves the edit to the end of the current response (post_request), unless the worker is quiet."""
    app = serve(menu_dir, IVR_RELOAD_INTERVAL=0.05)
    store = app.extensions["ivr_store"]
    store.between_requests = True  # what gunicorn.conf.py's post_worker_init sets
    path = menu_dir / "menus" / "main.yaml"
    old = store.menu.digest
    call_on(app)  # calls are flowing
    bump(path, PICK)
    time.sleep(0.3)  # several watcher rounds, all within a second of the last request
    assert store.menu.digest == old and store._pending is not None  # read by the watcher, not yet built
    store.apply_between_requests()  # gunicorn's post_request, after the response went out
    assert "Pick a topic." in call_on(app).press("3").last_heard
    bump(path, PICK.replace("Pick a topic.", "Pick one topic."))
    time.sleep(2.0)  # no request at all: the watcher applies it itself
    assert "Pick one topic." in store.menu.nodes["learn"].prompt["en"]
