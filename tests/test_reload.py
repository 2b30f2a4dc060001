"""Reloading without slowing calls: the child-process build, pacing, and gentle freeing.

Timing targets are checked by bench/bigmenu.py, never here; these tests check that the
machinery does what it says: the child builds exactly the menu an in-process load builds,
a failing child never costs the staff their edit, paced work rests while a request is
being answered, and freeing a tree leaves alone whatever something else still holds.
"""

from __future__ import annotations

import logging

import pytest

from ivr import MenuInvalid, load_menu, pacing, rebuild
from ivr.render import Renderer
from ivr.validate import release_gradually

from .conftest import MAIN_MENU, TOKEN
from .test_staff_tools import BASE, bump, call_on, settled


def test_child_builds_the_same_menu_and_answers_as_an_in_process_load():
    adopted = rebuild.build_in_child(MAIN_MENU)
    built = Renderer(load_menu(MAIN_MENU)).warm()
    assert adopted.menu == built.menu
    menu = built.menu
    for node_id in menu.nodes:
        for code in menu.languages:
            assert adopted.node(node_id, code) == built.node(node_id, code)
            assert adopted.node(node_id, code, silences=1, notice="silence") == built.node(node_id, code, silences=1, notice="silence")
    assert adopted.choose("welcome", "es", 0, 0, "1") == built.choose("welcome", "es", 0, 0, "1")


def test_child_reports_menu_errors_with_file_and_line(tmp_path):
    path = tmp_path / "main.yaml"
    path.write_text(BASE.replace("goto: victims", "goto: victim"), encoding="utf-8")
    with pytest.raises(MenuInvalid) as child:
        rebuild.build_in_child(path)
    with pytest.raises(MenuInvalid) as here:
        load_menu(path)
    assert child.value.problems == here.value.problems
    assert f"{path}:" in str(child.value)


def test_a_failing_child_does_not_cost_the_edit(menu_dir, monkeypatch, caplog):
    """If the child cannot run (odd deployment, killed), the server builds the menu itself."""
    monkeypatch.setattr(rebuild, "CHILD", "import sys; sys.exit(3)")
    path = menu_dir / "menus" / "main.yaml"
    from ivr import create_app

    app = create_app({"IVR_MENU": str(path), "TWILIO_AUTH_TOKEN": TOKEN, "IVR_RELOAD_INTERVAL": 0})
    with caplog.at_level(logging.WARNING, logger="ivr.reload"):
        bump(path, BASE.replace("      en: Choose a topic.", "      en: Pick a topic."))
        settled(app, path)
    assert "Pick a topic." in call_on(app).press("3").last_heard
    assert "exited with status 3" in caplog.text


def test_a_child_that_stops_halfway_is_a_failure_not_a_menu(tmp_path, monkeypatch):
    monkeypatch.setattr(rebuild, "CHILD", "import sys; sys.stdout.buffer.write(b'\\x80\\x05garbage'); sys.exit(0)")
    with pytest.raises(rebuild.RebuildFailed):
        rebuild.build_in_child(MAIN_MENU)


def test_requests_are_counted_while_they_are_answered(app):
    pacer = app.extensions["ivr_store"].pacer
    seen = []

    @app.get("/_probe")
    def probe():
        seen.append(pacer.in_progress)
        return "ok"

    assert app.test_client().get("/_probe").status_code == 200
    assert seen == [1] and pacer.in_progress == 0


def test_paced_work_rests_while_a_request_is_answered(monkeypatch):
    """At a safe point: carry on when the server is idle, rest while it answers a request."""
    sleeps: list[float] = []
    monkeypatch.setattr(pacing.time, "sleep", sleeps.append)
    pacer = pacing.Pacer()
    pacing.give_way()  # outside paced work: nothing at all
    assert sleeps == []
    with pacer.background():
        pacing.give_way()
        assert all(s <= pacing.BREATHER for s in sleeps)  # idle: at most a short pause
        pacer.in_progress = 1
        pacing.give_way()
        assert sleeps[-1] >= pacing.MIN_REST  # a request in progress: rest
        pacer.in_progress = 0
        pacer.last_answered = pacing.time.perf_counter()
        pacing.give_way()
        assert sleeps[-1] >= pacing.MIN_REST  # one just answered: another is likely on its way
    assert pacer.working is False


def test_paced_work_lowers_the_switch_interval_only_while_it_runs():
    import sys

    before = sys.getswitchinterval()
    pacer = pacing.Pacer()
    with pacer.background():
        assert pacer.working
        assert sys.getswitchinterval() <= pacing.SWITCH_INTERVAL
    assert sys.getswitchinterval() == before


def test_release_gradually_takes_apart_only_what_nobody_else_holds():
    shared = {"keep": ["me", "intact"]}
    tree = {"nodes": {f"n{i}": {"text": [i] * 3, "shared": shared} for i in range(200)}, "big": list(range(500))}
    nodes, big = tree["nodes"], tree["big"]
    stack = [tree]
    del tree
    release_gradually(stack)
    assert stack == []
    assert shared == {"keep": ["me", "intact"]}  # still referenced here: let go, not emptied
    assert len(nodes) == 200 and len(big) == 500  # so were these, because this test holds them


def test_release_gradually_empties_what_it_alone_holds():
    inner = {f"n{i}": [i, i + 1] for i in range(100)}
    probe = inner["n5"]
    stack = [{"nodes": inner}]
    del inner
    release_gradually(stack)
    assert probe == [5, 6]  # held here too, so left whole


def test_a_reload_keeps_the_new_menu_whole_after_the_old_one_is_freed(menu_dir):
    path = menu_dir / "menus" / "main.yaml"
    from ivr import create_app

    app = create_app({"IVR_MENU": str(path), "TWILIO_AUTH_TOKEN": TOKEN, "IVR_RELOAD_INTERVAL": 0})
    store = app.extensions["ivr_store"]
    old = store.renderer
    bump(path, BASE.replace("      en: Choose a topic.", "      en: Pick a topic."))
    settled(app, path)
    stack = [old]
    del old
    release_gradually(stack)  # what the retire timer does, without waiting 20 s
    assert "Pick a topic." in call_on(app).press("3").last_heard
    assert len(store.menu.nodes) == len(load_menu(path).nodes)


def test_invalid_utf8_is_reported_on_its_line(tmp_path):
    path = tmp_path / "main.yaml"
    lines = BASE.splitlines(keepends=True)
    raw = "".join(lines[:9]).encode() + b"# caf\xe9\n" + "".join(lines[9:]).encode()
    path.write_bytes(raw)
    with pytest.raises(MenuInvalid) as err:
        load_menu(path)
    (problem,) = err.value.problems
    assert problem.code == "encoding" and problem.line == 10 and "UTF-8" in problem.message


def test_utf16_file_is_refused_as_not_utf8(tmp_path):
    path = tmp_path / "main.yaml"
    path.write_bytes(BASE.encode("utf-16"))
    with pytest.raises(MenuInvalid) as err:
        load_menu(path)
    assert err.value.problems[0].code == "encoding"
