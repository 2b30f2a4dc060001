"""Operator tools: scripted calls with coverage, the terminal phone, load mode."""

from __future__ import annotations

import glob
import subprocess
import sys

import pytest
from click.testing import CliRunner

from ivr import load_menu
from ivr.cli import main
from ivr.sim.caller import Call
from ivr.sim.load import is_loopback, run_load
from ivr.sim.scripts import Coverage, ScriptError, format_failure, load_script, run_script
from ivr.sim.terminal import interactive_call
from ivr.sim.transports import HttpTransport, in_process
from ivr.sim.utterances import is_suite

from .conftest import MAIN_MENU, ROOT, TOKEN

SCRIPTS = sorted(p for p in glob.glob(str(ROOT / "calls" / "*.yaml")) if not is_suite(p))  # the utterance suite: test_voice
MENU = load_menu(MAIN_MENU)


@pytest.fixture(scope="module")
def transport():
    return in_process(str(MAIN_MENU), TOKEN)


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.rsplit("/", 1)[-1])
def test_shipped_call_scripts_pass(path, transport):
    result = run_script(load_script(path), transport, MENU, TOKEN)
    assert result.passed, format_failure(result)


def test_shipped_scripts_cover_every_node_and_every_hotline_in_both_languages(transport):
    coverage = Coverage()
    dialled_by_language: dict[str, set[str]] = {"en-US": set(), "es-US": set()}
    for path in SCRIPTS:
        result = run_script(load_script(path), transport, MENU, TOKEN)
        coverage.add(result.call)
        for i, event in enumerate(result.call.events):
            if event.kind == "dial":
                spoken = [e.language for e in result.call.events[:i] if e.kind == "say"][-1]
                dialled_by_language[spoken].add(event.text)
    text, node_pct, binding_pct = coverage.report(MENU)
    assert node_pct == 100, text
    numbers = {h.number for h in MENU.hotlines.values()}
    assert dialled_by_language == {"en-US": numbers, "es-US": numbers}


def test_cli_test_calls_prints_pass_fail_and_coverage():
    suites = [p for p in glob.glob(str(ROOT / "calls" / "*.yaml")) if is_suite(p)]
    assert len(suites) == 7  # the tuning set and the six held-out sets
    result = subprocess.run(
        [sys.executable, "-m", "ivr", "test-calls", "--min-node-coverage", "100", *SCRIPTS, *suites],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(SCRIPTS) + len(suites)} passed, 0 failed" in result.stdout  # every script, and every utterance suite
    assert "Utterance suite" in result.stdout and "person (1-5)" in result.stdout
    assert "The 6 held-out suites together:" in result.stdout  # judged as one held-out set
    assert f"nodes: {len(MENU.nodes)}/{len(MENU.nodes)} (100%)" in result.stdout
    assert "key bindings:" in result.stdout


def test_cli_test_calls_fails_a_suite_that_misses_its_targets(tmp_path):
    suite = tmp_path / "hard.yaml"
    suite.write_text(
        "utterances:\n"
        '  - {say: "they took my passport", expect: person, category: control}\n'
        '  - {say: "zebra quantum marmalade", expect: coneht, category: menu}\n'  # nobody could mean Colorado by this
    )
    result = CliRunner().invoke(main, ["test-calls", str(suite), "--menu", str(MAIN_MENU)])
    assert result.exit_code == 1
    assert "50.0%" in result.output and "FAIL the suite misses its targets" in result.output and "0 passed, 1 failed" in result.output


@pytest.mark.parametrize("passing, code", [(19, 0), (5, 1)])
def test_cli_test_calls_judges_held_out_files_together(tmp_path, passing, code):
    one = tmp_path / "utterances-held-out.yaml"
    one.write_text('utterances:\n  - {say: "zebra quantum marmalade", expect: coneht, category: menu}\n')
    two = tmp_path / "utterances-held-out-2.yaml"
    two.write_text("utterances:\n" + '  - {say: "they took my passport", expect: person, category: control}\n' * passing)
    result = CliRunner().invoke(main, ["test-calls", str(one), str(two), "--menu", str(MAIN_MENU)])
    assert "below the targets on its own" in result.output  # the first file, alone
    assert "The 2 held-out suites together:" in result.output
    assert result.exit_code == code, result.output
    assert ("FAIL the held-out suites miss their targets" in result.output) == bool(code)


def test_failing_script_shows_transcript_up_to_the_failed_step(tmp_path):
    script = tmp_path / "bad.yaml"
    script.write_text(
        'name: wrong expectation\nsteps:\n  - press: "3"\n  - expect: Choose a topic\n  - press: "1"\n  - expect: something never said\n  - press: "1"\n'
    )
    runner = CliRunner()
    result = runner.invoke(main, ["test-calls", str(script), "--menu", str(MAIN_MENU)])
    assert result.exit_code == 1
    out = result.output
    assert f"FAIL wrong expectation ({script}:6)" in out
    assert "expected to hear 'something never said'" in out
    assert "What is human trafficking?" in out  # heard before the failure
    assert "Where does human trafficking happen?" not in out  # after it: not run
    assert "0 passed, 1 failed" in out


def test_script_errors_name_the_line(tmp_path):
    script = tmp_path / "typo.yaml"
    script.write_text("name: typo\nsteps:\n  - press: 3\n")
    with pytest.raises(ScriptError, match=r"typo.yaml:3: quote the keys"):
        load_script(script)
    script.write_text("name: typo\nsteps:\n  - expect: {contains: Sorry, I did not, language: en-US}\n")
    with pytest.raises(ScriptError, match=r"typo.yaml:3: .*quote text that has commas"):
        load_script(script)
    script.write_text("name: typo\nsteps:\n  - prss: '1'\n")
    with pytest.raises(ScriptError, match=r"typo.yaml:3: unknown step 'prss'"):
        load_script(script)


def test_expect_transfer_failure_message(transport):
    path = ROOT / "calls" / "en-national-hotline.yaml"
    script = load_script(path)
    press = next(n for n, step in enumerate(script.steps) if step.kind == "press")
    script.steps[press].value = "2"  # press 2 instead: the Colorado hotline
    result = run_script(script, transport, MENU, TOKEN)
    assert not result.passed
    assert "expected to hear 'Connecting you to the National" in result.failure


def test_interactive_terminal_call(capsys, transport):
    keys = iter(["3", "1", "s", "0", "busy", "completed"])
    call = Call(transport, auth_token=TOKEN)
    interactive_call(call, read=lambda prompt: next(keys))
    out = capsys.readouterr().out
    assert "[en-US] If you are in immediate danger" in out
    assert "[en-US] What is human trafficking?" in out
    assert "Sorry, I did not hear a choice." in out
    assert "[transfer] the line is dialling +18883737888" in out
    assert "[transfer] the line is dialling +18664555075" in out
    assert "call ended" in out
    assert call.waiting_for == "ended"


def test_cli_call_in_spanish_writes_a_transcript(tmp_path):
    transcript = tmp_path / "call.txt"
    result = CliRunner().invoke(
        main, ["call", "--lang", "es", "--menu", str(MAIN_MENU), "--transcript", str(transcript)], input="2\nno-answer\nbusy\nh\n"
    )
    assert result.exit_code == 0, result.output
    assert "[es-US] Si está en peligro inmediato" in result.output
    text = transcript.read_text()
    assert ">>> press 2" in text and "[transfer] dialling +18664555075" in text
    assert "Por favor, anote estos números" in text
    assert "(hangup by caller)" in text


def test_load_mode_against_a_running_server(app, live_server):
    url = live_server(app)
    report = run_load(lambda: HttpTransport(url), calls=30, concurrency=5, auth_token=TOKEN, progress=False)
    assert report.calls == 30
    assert not report.errors, report.errors
    assert report.requests >= 30 and report.percentile(50) > 0
    assert report.spoken >= 10  # random callers speak as well as press (SpeechResult, as Twilio posts it)
    assert report.percentile(50) <= report.percentile(95) <= report.percentile(99)
    summary = report.summary()
    assert "calls/s" in summary and "p99" in summary and "errors: none" in summary


def test_load_mode_counts_errors_by_kind(app, live_server):
    url = live_server(app)
    report = run_load(lambda: HttpTransport(url), calls=6, concurrency=2, auth_token="wrong", progress=False)
    assert report.errors == {"http-403": 6}


def test_load_cli_with_scripts_and_progress(app, live_server):
    url = live_server(app)
    result = CliRunner().invoke(
        main,
        ["load", "--url", url, "--calls", "12", "--concurrency", "4", "--token", TOKEN, "--scripts", SCRIPTS[0], "--scripts", SCRIPTS[1]],
    )
    assert result.exit_code == 0, result.output
    assert "calls: 12" in result.output and "p95" in result.output and "12/12 calls" in result.output


def test_load_refuses_remote_targets():
    assert is_loopback("http://127.0.0.1:5000") and is_loopback("http://[::1]:5000")
    assert not is_loopback("http://192.0.2.10:5000")
    result = CliRunner().invoke(main, ["load", "--url", "http://192.0.2.10:5000", "--calls", "1"])
    assert result.exit_code == 2 and "not a loopback address" in result.output


def test_load_mode_spreads_the_callers_starts_over_the_ramp(monkeypatch):
    """Callers do not all dial in the same millisecond: starts are spread over `ramp` seconds."""
    import time as clock

    from ivr.sim import load

    starts: list[float] = []

    def first_call(call, rng, max_steps=12, think=0.0):  # noqa: ANN001, ARG001
        starts.append(clock.perf_counter())
        clock.sleep(0.5)  # a call lasts longer than the ramp, so each caller places one

    monkeypatch.setattr(load, "random_call", first_call)
    began = clock.perf_counter()
    run_load(lambda: None, calls=8, concurrency=8, progress=False, ramp=0.4)
    assert len(starts) == 8
    assert max(starts) - began >= 0.4 * 7 / 8  # the last caller waited its turn
    run_load(lambda: None, calls=8, concurrency=8, progress=False, ramp=0.0)  # no think time: all at once is allowed


def test_http_transport_reconnects_when_the_server_drops_a_kept_alive_connection():
    """A server (or proxy) may close an idle keep-alive connection; the next request goes on a new one."""
    import socket
    import threading

    body = b"<Response><Say>ok</Say></Response>"
    answered = []
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        for _ in range(2):  # each connection: one answer, promised as kept alive, then dropped
            conn, _ = listener.accept()
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                answered.append(data.split(b"\r\n", 1)[0])
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    transport = HttpTransport(f"http://127.0.0.1:{listener.getsockname()[1]}")
    first = transport.send("GET", transport.base_url + "voice", {}, {})
    second = transport.send("GET", transport.base_url + "voice?again=1", {}, {})
    thread.join(5)
    listener.close()
    assert first.status == second.status == 200 and second.body == body
    assert answered == [b"GET /voice HTTP/1.1", b"GET /voice?again=1 HTTP/1.1"]
