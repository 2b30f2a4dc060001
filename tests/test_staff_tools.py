"""Staff tools: lint, graph, fallback TwiML, and safe hot reload."""

from __future__ import annotations

import json
import logging
import os
import signal
import time
import wave
import xml.etree.ElementTree as ET

import pytest
from click.testing import CliRunner

from ivr import create_app, load_menu
from ivr.cli import main
from ivr.sim.caller import Call
from ivr.sim.transports import AppTransport
from ivr.staff.lint import lint_menu

from .conftest import MAIN_MENU, TOKEN, need
from .test_validator import BASE, line_of

SVG = "{http://www.w3.org/2000/svg}"


def write_menu(menu_dir, text):
    path = menu_dir / "menus" / "main.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def warnings_for(menu_dir, text):
    path = write_menu(menu_dir, text)
    warnings, _ = lint_menu(load_menu(path))
    return warnings


def one(warnings, code):
    hits = [w for w in warnings if w.code == code]
    assert len(hits) == 1, [str(w) for w in warnings]
    assert hits[0].severity == "warning"
    return hits[0]


def make_wav(path, seconds):
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(b"\0\0" * int(8000 * seconds))


# --- lint -------------------------------------------------------------------------------
def test_main_menu_lints_clean_with_reach_table():
    result = CliRunner().invoke(main, ["lint", str(MAIN_MENU), "--strict"])
    assert result.exit_code == 0, result.output
    assert "0 warning(s)" in result.output
    assert "Hotline reach from the start" in result.output
    assert "Spoken length per node" in result.output
    what_is_row = next(line for line in result.output.splitlines() if line.strip().startswith("what_is"))
    assert "content" in what_is_row and all(0 < float(n) < 90 for n in what_is_row.split()[2:])
    warnings, reach = lint_menu(load_menu(MAIN_MENU))
    table = {(r.hotline, r.language): r for r in reach}
    assert set(table) == {("national", "en"), ("national", "es"), ("coneht", "en"), ("coneht", "es")}
    assert table[("national", "en")].keys == ("0",) and table[("coneht", "es")].keys == ("9", "2")  # 0 is said first
    assert all(r.presses <= 2 and 0 < r.seconds < 60 for r in reach)


def test_unreachable_node(menu_dir):
    text = BASE + "  orphan:\n    type: content\n    text: {en: Nobody hears this., es: Nadie oye esto.}\n"
    w = one(warnings_for(menu_dir, text), "unreachable")
    assert w.line == line_of(text, "  orphan:") + 1 and "'orphan'" in w.message and "goto: orphan" in w.message


def test_prompt_mentions_an_unbound_key(menu_dir):
    text = BASE.replace("      en: Choose a topic.", "      en: Choose a topic, or press 7 for more.")
    w = one(warnings_for(menu_dir, text), "unbound-key")
    assert w.line == line_of(text, "press 7 for more") and "key 7 does nothing" in w.message
    text = BASE.replace("      es: Elija un tema.", "      es: Elija un tema, u oprima 7.")
    assert one(warnings_for(menu_dir, text), "unbound-key").line == line_of(text, "oprima 7")


def test_bound_key_nobody_mentions(menu_dir):
    text = BASE.replace("        goto: learn\n", "        goto: learn\n        announce: false\n", 1)
    w = one(warnings_for(menu_dir, text), "silent-key")
    assert "Key 3" in w.message


def test_too_many_options(menu_dir):
    extra = '      - key: "6"\n        goto: welcome\n        label: {en: Six, es: Seis}\n'
    text = BASE.replace("    say:\n      en: [learn,", extra + "    say:\n      en: [learn,", 1)  # after learn's last option
    w = one(warnings_for(menu_dir, text), "too-many-options")
    assert w.line == line_of(text, "  learn:") + 1 and "6 options" in w.message


def test_long_section_and_slow_start(menu_dir):
    long = " ".join(["word"] * 200)
    text = BASE.replace("      en: Choose a topic.", f"      en: {long}")
    w = one(warnings_for(menu_dir, text), "too-long")
    assert w.line == line_of(text, "word word") and "seconds" in w.message
    text = BASE.replace(
        "      en: To talk to someone now, stay on the line, or press 0.", "      en: " + " ".join(["welcome"] * 40) + ". Press 0."
    )
    warnings = warnings_for(menu_dir, text)
    w = one(warnings, "slow-start")
    assert "before the first choice" in w.message and "over 12" in w.message
    assert "over 45" in one(warnings, "slow-to-a-person").message  # and a silent caller waits too long for a person


def test_untranslated_spanish(menu_dir):
    text = BASE.replace("      es: Elija un tema.", "      es: Choose a topic.")
    w = one(warnings_for(menu_dir, text), "untranslated")
    assert w.line == line_of(text, "es: Choose a topic.") and "translating" in w.message


def test_recordings(menu_dir):
    audio = menu_dir / "audio"
    make_wav(audio / "learn-en.wav", 1.0)  # "Choose a topic." is about 1.2 s: right
    make_wav(audio / "learn-es.wav", 30.0)  # far too long for "Elija un tema."
    (audio / "what-en.mp3").write_bytes(b"<html>not audio</html>")
    text = BASE.replace("  learn:\n    type: menu\n", "  learn:\n    type: menu\n    audio: {en: learn-en.wav, es: learn-es.wav}\n")
    text = text.replace("  what_is:\n    type: content\n", "  what_is:\n    type: content\n    audio:\n      en: what-en.mp3\n")
    text = text.replace(
        "  where:\n    type: content\n", "  where:\n    type: content\n    audio:\n      en: missing.mp3\n      es: missing-es.mp3\n"
    )
    warnings = warnings_for(menu_dir, text)
    length = one(warnings, "audio-length")
    assert "learn-es.wav" in length.message and "30.0 s" in length.message
    bad = one(warnings, "audio-bad")
    assert bad.line == line_of(text, "en: what-en.mp3") and "not a WAV or MP3" in bad.message
    one_lang = one(warnings, "audio-one-language")
    assert "'what_is'" in one_lang.message
    missing = [w for w in warnings if w.code == "audio-missing"]
    assert {w.line for w in missing} == {line_of(text, "en: missing.mp3"), line_of(text, "es: missing-es.mp3")}


def test_mp3_duration_estimate(menu_dir):
    from ivr.menu.audio import duration

    frame = bytes([0xFF, 0xFB, 0x90, 0x00]) + b"\0" * 413  # MPEG-1 layer III, 128 kbit/s
    path = menu_dir / "audio" / "x.mp3"
    path.write_bytes(b"ID3\x03\x00\x00\x00\x00\x00\x00" + frame * 40)
    assert duration(path) == pytest.approx(len(frame * 40) * 8 / 128000, rel=0.01)


def test_lint_strict_and_json(menu_dir):
    text = BASE.replace("      es: Elija un tema.", "      es: Choose a topic.")
    path = write_menu(menu_dir, text)
    runner = CliRunner()
    assert runner.invoke(main, ["lint", str(path)]).exit_code == 0
    assert runner.invoke(main, ["lint", str(path), "--strict"]).exit_code == 1
    data = json.loads(runner.invoke(main, ["lint", str(path), "--format", "json"]).output)
    assert data["warnings"][0]["code"] == "untranslated" and data["warnings"][0]["line"] == line_of(text, "es: Choose a topic.")
    assert {r["hotline"] for r in data["reach"]} == {"national", "coneht"}


def test_lint_on_invalid_menu_reports_errors_and_exits_1(menu_dir):
    text = BASE.replace('"+18883737888"', "+18883737888")
    path = write_menu(menu_dir, text)
    result = CliRunner().invoke(main, ["lint", str(path)])
    assert result.exit_code == 1 and f"{path}:{line_of(text, 'number: +18883737888')}:13: error:" in result.output


def test_yaml_syntax_error_shows_caret_in_cli(menu_dir):
    text = BASE.replace("  timeout: 8 ", "  timeout: [8 ")
    path = write_menu(menu_dir, text)
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    caret = next(i for i, line in enumerate(lines) if line.strip() == "^")
    assert "is never closed" in lines[caret - 2] and lines[caret - 1].strip().startswith("timeout: [8")


# --- graph ------------------------------------------------------------------------------
def test_graph_svg_has_every_node_and_hotline(tmp_path):
    need("dot", "graphviz")
    result = CliRunner().invoke(main, ["graph", str(MAIN_MENU), "--out-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    svg = ET.parse(tmp_path / "main.svg").getroot()
    texts = " ".join(t.text or "" for t in svg.iter(f"{SVG}text"))
    ids = {g.get("id") for g in svg.iter(f"{SVG}g")}
    menu = load_menu(MAIN_MENU)
    for node in menu.nodes:
        assert f"node-{node}" in ids and f"{node} (" in texts, node
    for hotline in menu.hotlines.values():
        assert f"hotline-{hotline.id}" in ids and hotline.number in texts
    mermaid = (tmp_path / "main.mmd").read_text()
    assert mermaid.startswith("flowchart TD") and 'welcome -- "1" --> hotline_national' in mermaid


def test_graph_marks_lint_warnings(menu_dir, tmp_path):
    need("dot", "graphviz")
    text = BASE.replace("      es: Elija un tema.", "      es: Choose a topic.")
    path = write_menu(menu_dir, text)
    CliRunner().invoke(main, ["graph", str(path), "--out-dir", str(tmp_path)])
    svg = ET.parse(tmp_path / "main.svg").getroot()
    learn = next(g for g in svg.iter(f"{SVG}g") if g.get("id") == "node-learn")
    assert any(p.get("stroke") == "#dc2626" for p in learn.iter(f"{SVG}polygon"))
    assert "⚠ learn" in (tmp_path / "main.mmd").read_text()


# --- fallback ---------------------------------------------------------------------------
def test_fallback_twiml_needs_no_server(tmp_path):
    out = tmp_path / "fallback.xml"
    result = CliRunner().invoke(main, ["fallback", str(MAIN_MENU), "-o", str(out)])
    assert result.exit_code == 0
    root = ET.parse(out).getroot()
    assert root.tag == "Response"
    menu = load_menu(MAIN_MENU)
    dials = root.findall("Dial")
    assert [d.text for d in dials] == [menu.hotlines["national"].number]
    assert all(el.get("action") is None for el in root.iter()) and root.find("Redirect") is None
    says = [s.text for s in root.iter("Say")]
    languages = {s.get("language") for s in root.iter("Say")}
    assert languages == {"en-US", "es-US"}
    assert says[0] == "If you are in immediate danger, hang up and call 9 1 1." == menu.greeting["en"]
    assert says[1] == "Si está en peligro inmediato, cuelgue y llame al 9 1 1."
    assert says[2] == "We are sorry, something went wrong." and says[3] == "Lo sentimos, algo salió mal."
    spoken = " ".join(says)
    assert spoken.count("1, 8 8 8, 3 7 3, 7 8 8 8") >= 2 and spoken.count("1, 8 6 6, 4 5 5, 5 0 7 5") >= 2
    # every hotline number the menu knows is read aloud
    from ivr.menu.spoken import spoken_number

    for hotline in menu.hotlines.values():
        assert spoken_number(hotline.number) in spoken


# --- hot reload -------------------------------------------------------------------------
def bump(path, text):
    """Write and move the mtime forward, so the change is seen even on coarse filesystems."""
    before = path.stat().st_mtime_ns
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(before + 2_000_000_000, before + 2_000_000_000))


@pytest.fixture
def reloading(menu_dir):
    path = menu_dir / "menus" / "main.yaml"
    app = create_app({"IVR_MENU": str(path), "TWILIO_AUTH_TOKEN": TOKEN, "IVR_RELOAD_INTERVAL": 0})
    return app, path


def call_on(app):
    return Call(AppTransport(app), auth_token=TOKEN).start()


def settled(app, path, broken=False, timeout=15.0):
    """Poll /healthz, as an operator would, until the edited file is live (or refused, if broken)."""
    import hashlib
    import time

    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        health = app.test_client().get("/healthz").get_json()
        problem = health.get("problem")
        if (broken and problem and problem["file"] == path.name) or (not broken and health["sha256"] == digest and problem is None):
            return health
        time.sleep(0.02)
    raise AssertionError(f"menu never settled: {health}")


def test_edit_is_served(reloading):
    app, path = reloading
    assert "Choose a topic." in call_on(app).press("3").last_heard
    bump(path, BASE.replace("      en: Choose a topic.", "      en: Pick a topic."))
    health = settled(app, path)
    assert "Pick a topic." in call_on(app).press("3").last_heard
    assert health["status"] == "ok" and health["sha256"] == load_menu(path).digest and "problem" not in health


def test_broken_edit_keeps_the_old_menu(reloading, caplog):
    app, path = reloading
    good_hash = app.test_client().get("/healthz").get_json()["sha256"]
    broken = BASE.replace("goto: victims", "goto: victim")
    with caplog.at_level(logging.ERROR, logger="ivr.reload"):
        bump(path, broken)
        settled(app, path, broken=True)
        call = call_on(app).press("3").press("2")
    assert call.last_heard.startswith("Who are the victims?")  # the last good menu answered
    expected = f"{path}:{line_of(broken, 'goto: victim')}:"
    assert expected in caplog.text and "keeps serving the last good menu" in caplog.text
    health = app.test_client().get("/healthz").get_json()
    assert health["status"] == "degraded" and health["sha256"] == good_hash
    assert health["problem"] == {"file": "main.yaml", "line": line_of(broken, "goto: victim"), "kind": "reference", "errors": 1}
    assert TOKEN not in json.dumps(health) and str(path.parent) not in json.dumps(health)
    bump(path, BASE)  # fixed: served again, error cleared
    health = settled(app, path)
    assert health["status"] == "ok" and "problem" not in health


def test_node_removed_mid_call(reloading):
    app, path = reloading
    call = call_on(app).press("3").press("2")
    assert call.node == "victims"
    text = BASE.replace("        goto: victims\n", "        goto: traffickers\n").replace("    next: victims\n", "    next: traffickers\n")
    start, end = text.index("  victims:\n"), text.index("  traffickers:\n")
    bump(path, text[:start] + text[end:])
    settled(app, path)
    call.press("#")  # the caller's node is gone
    assert call.last_heard.startswith("Sorry, this menu has changed. Here is the main menu.")
    assert call.node == "welcome" and call.waiting_for == "gather"


def test_reload_is_atomic_for_calls_in_progress(reloading):
    """A call keeps working across many reloads: every answer comes from one whole menu."""
    app, path = reloading
    call = call_on(app)
    for i in range(10):
        bump(path, BASE.replace("      en: Choose a topic.", f"      en: Choose topic number {i}."))
        settled(app, path)
        call.press("3")
        assert f"Choose topic number {i}." in call.last_heard
        call.press("*")


def test_sighup_forces_a_reload(menu_dir):
    path = menu_dir / "menus" / "main.yaml"
    app = create_app({"IVR_MENU": str(path), "TWILIO_AUTH_TOKEN": TOKEN, "IVR_RELOAD_INTERVAL": 3600})
    assert "Choose a topic." in call_on(app).press("3").last_heard  # the watcher now runs, once an hour
    stat = path.stat()
    path.write_text(BASE.replace("      en: Choose a topic.", "      en: Pick one topic."), encoding="utf-8")  # same size
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # and same mtime: only a signal reveals it
    time.sleep(0.2)
    assert "Choose a topic." in call_on(app).press("3").last_heard
    os.kill(os.getpid(), signal.SIGHUP)
    settled(app, path)
    assert "Pick one topic." in call_on(app).press("3").last_heard


def test_missing_file_keeps_the_menu_and_is_logged_once(reloading, caplog):
    app, path = reloading
    path.unlink()  # IVR_RELOAD_INTERVAL 0: every request checks the file
    with caplog.at_level(logging.ERROR, logger="ivr.reload"):
        for _ in range(5):
            assert "Choose a topic." in call_on(app).press("3").last_heard
    assert caplog.text.count("The menu file cannot be read: No such file or directory.") == 1
    assert app.test_client().get("/healthz").get_json()["status"] == "degraded"
    path.write_text(BASE, encoding="utf-8")
    assert settled(app, path)["status"] == "ok"
