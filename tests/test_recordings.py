"""Recorded voices: whole calls with and without recordings, stale and damaged recordings, the
script's completeness, the recordings' own commands, their real lengths in lint, and /audio/."""

from __future__ import annotations

import csv
import glob
import io
import json
import re
import shutil

import pytest
from click.testing import CliRunner

from examples.make_recordings import make
from ivr import create_app, load_menu
from ivr.cli import main
from ivr.line.sentences import catalogue
from ivr.menu.audio import AudioProblem, probe
from ivr.sim.caller import Call
from ivr.sim.scripts import _run_step, load_script
from ivr.sim.transports import AppTransport
from ivr.sim.utterances import is_suite
from ivr.staff.lint import lint_menu
from ivr.staff.timing import Timer

from .conftest import CALLER_NUMBER, MAIN_MENU, ROOT, TOKEN, says
from .recordings import spoken_tools, tone

SCRIPTS = sorted(p for p in glob.glob(str(ROOT / "calls" / "*.yaml")) if not is_suite(p))
EXAMPLE = ("greeting", "language.switch", "welcome.prompt", "welcome.choice.1", "welcome.choice.2", "message.connecting.national")


@pytest.fixture(scope="session")
def example_recordings(tmp_path_factory):
    """The worked example: a few sentences spoken by espeak-ng (examples/make_recordings.py)."""
    spoken_tools()
    folder = tmp_path_factory.mktemp("example-audio")
    make(load_menu(MAIN_MENU), folder, (*EXAMPLE, "choice.next.1"))
    return folder


def line_app(menu_dir, **config):
    """The line on the copy in `menu_dir`, re-reading the menu and audio/ at every request."""
    return create_app({"IVR_MENU": str(menu_dir / "menus" / "main.yaml"), "TWILIO_AUTH_TOKEN": TOKEN, "IVR_RELOAD_INTERVAL": 0, **config})


def call(app, lang=None):
    return Call(AppTransport(app), auth_token=TOKEN, caller_number=CALLER_NUMBER).start(f"voice?lang={lang}" if lang else "voice")


def played(call_, since=0):
    return [e.text.split("/audio/", 1)[1] for e in call_.events[since:] if e.kind == "play"]


def status(menu_dir, *more):
    return CliRunner().invoke(main, ["recordings", "status", str(menu_dir / "menus" / "main.yaml"), *more])


def accept(menu_dir, *files):
    return CliRunner().invoke(main, ["recordings", "accept", *files, "--menu", str(menu_dir / "menus" / "main.yaml")])


# --- whole calls ---------------------------------------------------------------------------
def test_a_whole_call_without_recordings_is_spoken_as_before(dial):
    c = dial().press("3").press("1").press("1").press("0")
    assert played(c) == [] and c.dialled == ["+18883737888"]
    assert "If you are in immediate danger" in says(c)[0].text


def test_a_whole_call_with_recordings_plays_them_and_speaks_the_rest(menu_dir, example_recordings):
    shutil.copytree(example_recordings, menu_dir / "audio", dirs_exist_ok=True)
    app = line_app(menu_dir)
    c = call(app)
    assert played(c) == [
        "en/greeting.wav",
        "es/language.switch.wav",
        "en/welcome.prompt.wav",
        "en/welcome.choice.1.wav",
        "en/welcome.choice.2.wav",
    ]
    heard = " ".join(e.text for e in says(c))
    assert "immediate danger" not in heard and "For the Colorado hotline" not in heard  # played, not also said
    assert "To learn about human trafficking, press 3. About your privacy, press 4." in heard  # not recorded: spoken
    c.press("1")
    assert played(c)[-1] == "en/message.connecting.national.wav" and c.dialled == ["+18883737888"]
    # Twilio can fetch every one of them, as audio, with what it needs to cache it.
    client = app.test_client()
    for file in played(c):
        response = client.get("/audio/" + file)
        assert response.status_code == 200 and response.mimetype == "audio/wav", file
        assert "no-cache" in response.headers["Cache-Control"] and response.headers["ETag"]
        again = client.get("/audio/" + file, headers={"If-None-Match": response.headers["ETag"]})
        assert again.status_code == 304  # Twilio's cached copy is still good: no download
    # In Spanish, the Spanish recordings, and the English voice for "For English, press 9."
    es = call(app, "es")
    assert played(es)[:3] == ["es/greeting.wav", "en/language.switch.wav", "es/welcome.prompt.wav"]


def test_a_slow_caller_hears_every_sentence_spoken_slowly(menu_dir, example_recordings):
    shutil.copytree(example_recordings, menu_dir / "audio", dirs_exist_ok=True)
    c = call(line_app(menu_dir)).press("3").press("1")  # a section, which announces "more slowly"
    assert "en/choice.next.1.wav" in played(c)
    before = len(c.events)
    c.press("8")
    assert played(c, before) == []  # a recording cannot be slowed down: spoken, at the slow rate
    assert all(e.slow for e in says(c, before)) and any("For the next topic, press 1." in e.text for e in says(c, before))


def test_a_new_recording_is_played_without_a_menu_edit(menu_dir):
    app = line_app(menu_dir)
    assert played(call(app)) == []
    tone(menu_dir / "audio" / "en" / "greeting.wav", 3.0)
    assert played(call(app)) == ["en/greeting.wav"]


def test_a_damaged_recording_is_spoken_instead(menu_dir):
    audio = menu_dir / "audio"
    whole = tone(audio / "scratch.wav", 3.0).read_bytes()
    (audio / "scratch.wav").unlink()
    (audio / "en").mkdir()
    (audio / "en" / "greeting.wav").write_bytes(whole[: len(whole) // 4])  # cut off: the copy stopped
    (audio / "en" / "welcome.prompt.mp3").write_bytes(b"<html>404 Not Found</html>")  # a saved error page
    (audio / "en" / "welcome.choice.1.mp3").write_bytes(whole)  # a WAV named .mp3
    c = call(line_app(menu_dir))
    assert played(c) == []
    heard = " ".join(e.text for e in says(c))
    assert heard.startswith("If you are in immediate danger") and "To talk to someone now, stay on the line" in heard
    assert "For the National Human Trafficking Hotline, day or night, press 1." in heard
    result = status(menu_dir)
    assert result.exit_code == 1
    assert re.search(r"damaged +en/greeting\.wav +is cut off", result.output)
    assert re.search(r"damaged +en/welcome\.prompt\.mp3 +is not a WAV or MP3 recording", result.output)
    assert re.search(r"damaged +en/welcome\.choice\.1\.mp3 +is a WAV recording named \.mp3", result.output)
    refused = accept(menu_dir, str(audio / "en" / "greeting.wav"))
    assert refused.exit_code == 1 and "cannot be accepted" in refused.output


def test_a_text_edit_makes_an_accepted_recording_stale_and_the_new_words_are_spoken(menu_dir):
    menu = menu_dir / "menus" / "main.yaml"
    tone(menu_dir / "audio" / "en" / "welcome.prompt.wav", 5.0)
    app = line_app(menu_dir)
    first = status(menu_dir)
    assert first.exit_code == 0 and re.search(r"new +en/welcome\.prompt\.wav +not checked yet", first.output)
    done = accept(menu_dir, str(menu_dir / "audio" / "en" / "welcome.prompt.wav"))
    assert done.exit_code == 0 and 'accepted en/welcome.prompt.wav: "To talk to someone now' in done.output
    assert re.search(r"present +en/welcome\.prompt\.wav", status(menu_dir).output)
    assert "en/welcome.prompt.wav" in played(call(app))
    # Staff edit the words; the recording still says the old ones.
    menu.write_text(
        menu.read_text().replace("This is the Denver human trafficking line.", "This is Denver's line about human trafficking.")
    )
    stale = status(menu_dir)
    assert stale.exit_code == 1 and re.search(r"stale +en/welcome\.prompt\.wav +recorded for other words", stale.output)
    warnings, _ = lint_menu(load_menu(menu))
    (warning,) = [w for w in warnings if w.code == "recording-stale"]
    assert "en/welcome.prompt.wav" in warning.message and warning.line == menu.read_text().splitlines().index("  welcome:") + 4
    c = call(app)
    assert "en/welcome.prompt.wav" not in played(c)
    assert "This is Denver's line about human trafficking." in " ".join(e.text for e in says(c))  # the new words, spoken
    # Checked again (the recording is fine after all, or was re-recorded): played again.
    assert accept(menu_dir, "en/welcome.prompt.wav").exit_code == 0
    assert status(menu_dir).exit_code == 0 and "en/welcome.prompt.wav" in played(call(app))


def test_the_privacy_section_stays_true_when_recorded(menu_dir):
    """Its `{hotlines_see}` sentence is a recording of its own: showing a hotline the caller's
    number switches which one plays, and the section's own parts stay current."""
    menu = menu_dir / "menus" / "main.yaml"
    for name in ("privacy.text.1", "message.number_hidden", "privacy.text.2", "message.number_shown.coneht"):
        tone(menu_dir / "audio" / "en" / f"{name}.wav", 2.0)
    app = line_app(menu_dir)
    assert played(call(app).press("4"))[-3:] == ["en/privacy.text.1.wav", "en/message.number_hidden.wav", "en/privacy.text.2.wav"]
    menu.write_text(menu.read_text().replace("    fallback: national\n", "    fallback: national\n    show_caller_number: true\n", 1))
    c = call(app).press("4")
    assert played(c)[-3:] == ["en/privacy.text.1.wav", "en/message.number_shown.coneht.wav", "en/privacy.text.2.wav"]
    heard = " ".join(e.text for e in says(c))
    assert "Any other hotline is shown this line's number, not yours." in heard  # not recorded: spoken


# --- the script ----------------------------------------------------------------------------
def every_sentence_recorded(menu_dir):
    """A short tone for every sentence of the script: then nothing a caller hears is spoken."""
    for sentence in catalogue(load_menu(menu_dir / "menus" / "main.yaml")):
        tone(menu_dir / "audio" / sentence.file_name(".wav"), 0.2)


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.rsplit("/", 1)[-1])
def test_every_sentence_a_scripted_call_hears_is_in_the_script(menu_dir, path):
    """With a recording for every sentence the script lists, the scripted calls (keys, silence,
    words understood or not, failed transfers) hear nothing spoken, unless they asked for it slowly."""
    every_sentence_recorded(menu_dir)
    app = line_app(menu_dir, IVR_RELOAD_INTERVAL=60)
    script = load_script(path)
    c = Call(AppTransport(app), auth_token=TOKEN).start(f"voice?lang={script.lang}" if script.lang else "voice")
    for step in script.steps:
        if not step.kind.startswith("expect"):
            _run_step(c, step, None)
    spoken = [e.text for e in says(c) if not e.slow]
    assert spoken == [], f"not in the script: {spoken}"
    assert played(c)


def test_the_script_in_markdown_and_csv(menu_dir):
    runner = CliRunner()
    path = str(menu_dir / "menus" / "main.yaml")
    markdown = runner.invoke(main, ["recordings", "script", path]).output
    english = markdown.split("## English (en)")[1].split("## Español")[0]
    assert english.index("`en/greeting.mp3`") < english.index("`en/welcome.prompt.mp3`") < english.index("`en/learn.prompt.mp3`")
    assert english.index("`en/learn.prompt.mp3`") < english.index("`en/message.no_input.mp3`")  # trouble comes after the way through
    greeting = next(line for line in english.splitlines() if "`en/greeting.mp3`" in line)
    assert "If you are in immediate danger, hang up and call 9 1 1." in greeting and "Read digit by digit: 9 1 1." in greeting
    get_help = next(line for line in english.splitlines() if "`en/get_help.text.mp3`" in line)
    assert "digit by digit: 9 1 1; 1, 8 8 8, 3 7 3, 7 8 8 8; 2 3 3 7 3 3" in get_help and "as numbers: 24, 200" in get_help
    rows = list(csv.DictReader(io.StringIO(runner.invoke(main, ["recordings", "script", path, "--format", "csv", "--lang", "es"]).output)))
    assert [row["file"] for row in rows[:3]] == [
        "es/language.switch.mp3",
        "es/greeting.mp3",
        "es/welcome.prompt.mp3",
    ]  # as an English and a Spanish call hear them
    assert float(rows[1]["estimated_seconds"]) > 2
    assert {row["language"] for row in rows} == {"es"} and len(rows) == len({row["file"] for row in rows})
    assert "es/message.connecting.coneht.mp3" in {row["file"] for row in rows}
    assert len(rows) == sum(1 for s in catalogue(load_menu(path)) if s.code == "es")
    tone(menu_dir / "audio" / "es" / "greeting.mp3".replace(".mp3", ".wav"))
    again = list(csv.DictReader(io.StringIO(runner.invoke(main, ["recordings", "script", path, "--format", "csv", "--lang", "es"]).output)))
    assert again[1]["file"] == "es/greeting.wav" and again[1]["state"] == "new"  # the script says what is done


def test_status_json_unused_recordings_and_accept_mistakes(menu_dir):
    tone(menu_dir / "audio" / "en" / "welcom.prompt.wav")  # a typo
    tone(menu_dir / "audio" / "en" / "greeting.wav", 3.0)
    result = status(menu_dir, "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["unused"] == ["en/welcom.prompt.wav"]
    (greeting,) = [s for s in data["sentences"] if s["file"] == "en/greeting.wav"]
    assert greeting["state"] == "new" and greeting["seconds"] == pytest.approx(3.0)
    text = status(menu_dir).output
    assert re.search(r"unused +en/welcom\.prompt\.wav +no sentence has this name", text)
    warnings, _ = lint_menu(load_menu(menu_dir / "menus" / "main.yaml"))
    assert {"recording-unused", "recording-new"} <= {w.code for w in warnings}
    typo = accept(menu_dir, "en/welcom.prompt.wav")
    assert typo.exit_code == 1 and "no sentence of" in typo.output and "en/welcom.prompt" in typo.output
    absent = accept(menu_dir, "en/nothing.wav")
    assert absent.exit_code == 1 and "there is no such recording" in absent.output
    assert not (menu_dir / "audio" / "accepted.yaml").exists()  # nothing accepted by a failed command


# --- real lengths --------------------------------------------------------------------------
def test_lint_times_the_front_door_with_the_recordings_real_length(menu_dir):
    menu_file = menu_dir / "menus" / "main.yaml"
    spoken = Timer(load_menu(menu_file)).first_choice("en")
    tone(menu_dir / "audio" / "en" / "greeting.wav", 1.0)  # said faster than the estimate
    faster = Timer(load_menu(menu_file)).first_choice("en")
    assert faster < spoken - 1.5
    tone(menu_dir / "audio" / "en" / "greeting.wav", 12.0)  # a slow, long reading (or another sentence)
    menu = load_menu(menu_file)
    estimate = Timer(load_menu(MAIN_MENU)).seconds_until(menu.start, "en", "call 9 1 1.")  # the greeting, spoken
    assert Timer(menu).first_choice("en") == pytest.approx(spoken - estimate + 12.0, abs=0.01)
    warnings, reach = lint_menu(menu)
    slow = [w for w in warnings if w.code == "slow-start"]
    assert slow and "recordings at their real length: en/greeting.wav 12.0 s" in slow[0].message
    assert [w for w in warnings if w.code == "recording-length"]  # 12 s for a 5-second sentence: the wrong file?
    silent = Timer(menu).silent_caller("en")
    assert silent == pytest.approx(Timer(load_menu(MAIN_MENU)).silent_caller("en") - estimate + 12.0, abs=0.01)
    assert {r.hotline for r in reach} == {"national", "coneht"}


def test_real_lengths_and_formats_are_read_with_mutagen(tmp_path):
    spoken_tools(mp3=True)
    from examples.make_recordings import record

    wav = record("Connecting you to the hotline. Please stay on the line.", "en", tmp_path / "a.wav")
    mp3 = record("Connecting you to the hotline. Please stay on the line.", "en", tmp_path / "a.mp3")
    a, b = probe(wav), probe(mp3)
    assert (a.kind, a.sample_rate, a.channels) == ("wav", 8000, 1) and (b.kind, b.sample_rate) == ("mp3", 8000)
    assert a.seconds == pytest.approx(b.seconds, abs=0.15) and 2 < a.seconds < 6
    (tmp_path / "cut.mp3").write_bytes(mp3.read_bytes()[:300])
    with pytest.raises(AudioProblem, match="cut off"):
        probe(tmp_path / "cut.mp3")
    with pytest.raises(AudioProblem, match="below the telephone's 8000 Hz"):
        probe(tone(tmp_path / "low.wav", 1.0, rate=4000))


def test_an_mp3_recording_is_served_as_audio_mpeg(menu_dir):
    spoken_tools(mp3=True)
    from examples.make_recordings import record

    record("If you are in immediate danger, hang up and call 9 1 1.", "en", menu_dir / "audio" / "en" / "greeting.mp3")
    app = line_app(menu_dir)
    c = call(app)
    assert played(c)[0] == "en/greeting.mp3"
    response = app.test_client().get("/audio/en/greeting.mp3")
    assert response.mimetype == "audio/mpeg" and (
        response.data[:3] == b"ID3" or response.data[:2] in (b"\xff\xf3", b"\xff\xe3", b"\xff\xfb")
    )


def test_the_terminal_call_says_which_recording_plays(menu_dir):
    tone(menu_dir / "audio" / "en" / "greeting.wav", 3.0)
    result = CliRunner().invoke(main, ["call", "--menu", str(menu_dir / "menus" / "main.yaml")], input="h\n")
    assert "[recording en/greeting.wav] If you are in immediate danger, hang up and call 9 1 1." in result.output
    assert "[en-US] To talk to someone now, stay on the line" in result.output  # not recorded: spoken
