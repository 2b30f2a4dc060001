"""Bad input on the phone line: always valid TwiML that keeps the caller in a menu or transfers them."""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from urllib.parse import quote

import pytest
from twilio.request_validator import RequestValidator

from ivr import MenuInvalid, create_app, load_menu

from .conftest import MAIN_MENU, ROOT, TOKEN
from .recordings import tone

FORM = {"CallSid": "CA" + "2" * 32, "From": "+17205551234", "To": "+17205550123"}


def signed_post(app, path: str, form: dict[str, str]):
    signature = RequestValidator(TOKEN).compute_signature("http://localhost" + path, form)
    return app.test_client().post(path, data=form, headers={"X-Twilio-Signature": signature})


def twiml_of(response) -> ET.Element:
    assert response.status_code == 200, response.status_code
    assert response.content_type.startswith("text/xml")
    root = ET.fromstring(response.data)
    assert root.tag == "Response"
    return root


def keeps_caller(root: ET.Element) -> None:
    """A caller-facing answer either gathers a key (with a fallback) or dials a hotline."""
    tags = [child.tag for child in root]
    assert "Gather" in tags or "Dial" in tags, tags
    if "Gather" in tags:
        assert tags[-1] == "Redirect"


@pytest.mark.parametrize(
    "digits",
    ["", "a", "abc", "12", "5" * 5000, "é", "٣", "\u202e1", "1\n2", "*#", "<Say>", "&amp;", " "],
    ids=lambda d: repr(d[:10]),
)
def test_any_digits_value(app, digits):
    root = twiml_of(signed_post(app, "/choose?node=learn&lang=en&s=0&i=0", {**FORM, "Digits": digits}))
    keeps_caller(root)


@pytest.mark.parametrize(
    "query",
    [
        "node=nope&lang=en",
        "node=&lang=",
        "",
        "node=learn&lang=xx",
        "node=learn&lang=en&s=abc&i=-4",
        "node=learn&lang=en&s=99999999999999&i=99999",
        "node=" + quote("../../etc/passwd") + "&lang=en",
        "node=" + "x" * 5000,
        "node=" + quote("\u00e9\u202e") + "&lang=" + quote("<b>"),
        "node=learn&node=welcome&lang=en&lang=es",
    ],
)
@pytest.mark.parametrize("route", ["/menu", "/choose", "/dial-result"])
def test_tampered_query_strings(app, route, query):
    path = f"{route}?{query}" if query else route
    root = twiml_of(signed_post(app, path, {**FORM, "Digits": "1", "DialCallStatus": "busy"}))
    tags = [child.tag for child in root]
    assert tags, "empty response"
    assert set(tags) <= {"Say", "Gather", "Redirect", "Dial", "Pause", "Hangup"}


def test_unknown_node_sends_caller_to_start_with_an_apology(app):
    root = twiml_of(signed_post(app, "/choose?node=removed_node&lang=es&s=0&i=0", {**FORM, "Digits": "1"}))
    gather = root.find("Gather")
    texts = [say.text for say in gather.iter("Say")]
    assert texts[0].startswith("Disculpe, este menú ha cambiado")
    assert "node=welcome" in gather.get("action")


def test_unknown_dial_status_tries_the_other_hotline(app):
    root = twiml_of(signed_post(app, "/dial-result?to=national&lang=en&node=welcome&tried=national", {**FORM, "DialCallStatus": "weird"}))
    assert root.find("Dial").text == "+18664555075"


def test_oversized_body_is_413(app):
    response = signed_post(app, "/voice", {**FORM, "Junk": "x" * 100_000})
    assert response.status_code == 413


def test_fail_safe_apologises_and_transfers(app, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(app.extensions["ivr_store"].current, "choose", broken)
    root = twiml_of(signed_post(app, "/choose?node=learn&lang=es&s=0&i=0", {**FORM, "Digits": "1"}))
    assert root.find("Say").text.startswith("Lo sentimos, algo salió mal")
    assert root.find("Dial").text == "+18883737888"
    assert "RuntimeError" in caplog.text


def test_fail_safe_even_without_a_menu(app, monkeypatch):
    app.extensions["ivr_store"] = None  # the worst case: no menu at all
    root = twiml_of(signed_post(app, "/voice", FORM))
    assert root.find("Dial").text == "+18883737888"
    assert "something went wrong" in root.find("Say").text


def test_unknown_routes_and_methods_are_clean_4xx(app):
    client = app.test_client()
    assert client.get("/nope").status_code == 404
    assert client.get("/choose").status_code == 405


def test_audio_played_when_present_and_spoken_otherwise(menu_dir):
    menu = menu_dir / "menus" / "main.yaml"
    text = menu.read_text()
    text = text.replace(
        "  learn:\n    type: menu\n",
        "  learn:\n    type: menu\n    audio:\n      en: learn-en.mp3\n      es: learn-es.mp3\n",
    )
    menu.write_text(text)
    (menu_dir / "audio" / "learn-en.mp3").write_bytes(tone(menu_dir / "scratch.wav").read_bytes())  # a WAV named .mp3
    app = create_app({"IVR_MENU": str(menu), "TWILIO_AUTH_TOKEN": "", "IVR_RELOAD_INTERVAL": 0})
    client = app.test_client()
    en = ET.fromstring(client.post("/menu?node=learn&lang=en").data)
    assert en.find("Gather/Play") is None and "Choose a topic" in " ".join(s.text for s in en.iter("Say"))  # mislabelled: spoken
    (menu_dir / "audio" / "learn-en.mp3").unlink()
    tone(menu_dir / "audio" / "learn-en.wav", 1.0)
    menu.write_text(text.replace("en: learn-en.mp3", "en: learn-en.wav"))
    en = ET.fromstring(client.post("/menu?node=learn&lang=en").data)
    es = ET.fromstring(client.post("/menu?node=learn&lang=es").data)
    assert en.find("Gather/Play").text == "audio/learn-en.wav"
    assert "Choose a topic" not in " ".join(s.text for s in en.iter("Say"))
    assert es.find("Gather/Play") is None  # the Spanish file is missing: spoken instead
    assert "Elija un tema" in " ".join(s.text for s in es.iter("Say"))
    assert client.get("/audio/learn-en.wav").data == (menu_dir / "audio" / "learn-en.wav").read_bytes()
    assert client.get("/audio/../menus/main.yaml").status_code == 404
    assert client.get("/audio/%2e%2e/menus/main.yaml").status_code == 404


def test_menu_file_path_from_env(monkeypatch):
    monkeypatch.setenv("IVR_MENU", str(MAIN_MENU))
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TOKEN)
    app = create_app()
    assert app.extensions["ivr_store"].path == MAIN_MENU
    assert app.test_client().post("/voice", data=FORM).status_code == 403


def test_odd_digits_share_one_answer(app):
    """Any non-key input is one "wrong key" answer: it cannot crowd good answers out of the cache."""
    renderer = app.extensions["ivr_store"].current
    answers = {renderer.choose("learn", "en", 0, 0, odd).xml for odd in ["a", "é", "12", "٣", "x" * 64, "?"]}
    assert len(answers) == 1 and "Sorry, that key is not one of the choices." in answers.pop()
    keys = {k for k in renderer._cache if k[0] == "choose"}
    assert keys == {("choose", "learn", "en", 0, 0, "?", "", False)}


# --- recordings only from the project's audio/ folder ------------------------------------
def test_audio_dir_outside_the_audio_folder_is_refused_by_validate(menu_dir):
    menu = menu_dir / "menus" / "main.yaml"
    menu.write_text(menu.read_text().replace("start: welcome\n", "start: welcome\naudio_dir: /etc\n"))
    with pytest.raises(MenuInvalid) as err:
        load_menu(menu)
    (problem,) = err.value.problems
    assert (
        problem.code == "audio"
        and problem.line == menu.read_text().splitlines().index("audio_dir: /etc") + 1
        and "outside the project's audio folder" in problem.message
    )
    menu.write_text(menu.read_text().replace("audio_dir: /etc\n", "audio_dir: ../audio/../menus\n"))
    with pytest.raises(MenuInvalid):
        load_menu(menu)
    (menu_dir / "audio" / "spanish").mkdir()
    menu.write_text(menu.read_text().replace("audio_dir: ../audio/../menus\n", "audio_dir: ../audio/spanish\n"))
    assert load_menu(menu).audio_dir == str((menu_dir / "audio" / "spanish").resolve())  # inside is fine


def test_a_link_out_of_the_audio_folder_is_refused_by_validate_and_when_fetched(menu_dir, tmp_path_factory):
    secret = tmp_path_factory.mktemp("outside") / "secret.wav"
    secret.write_bytes(b"RIFF-not-for-callers")
    (menu_dir / "audio" / "learn-en.wav").symlink_to(secret)
    menu = menu_dir / "menus" / "main.yaml"
    text = menu.read_text().replace("  learn:\n    type: menu\n", "  learn:\n    type: menu\n    audio: {en: learn-en.wav}\n")
    menu.write_text(text)
    with pytest.raises(MenuInvalid) as err:
        load_menu(menu)
    assert "is a link to a file outside audio/" in str(err.value)

    # a link made after the menu was accepted is still refused when Twilio (or anyone) asks for it
    (menu_dir / "audio" / "learn-en.wav").unlink()
    (menu_dir / "audio" / "learn-en.wav").write_bytes(b"RIFF-real-prompt")
    app = create_app({"IVR_MENU": str(menu), "TWILIO_AUTH_TOKEN": ""})
    client = app.test_client()
    assert client.get("/audio/learn-en.wav").data == b"RIFF-real-prompt"
    (menu_dir / "audio" / "later.wav").symlink_to(secret)
    (menu_dir / "audio" / "passwd.wav").symlink_to("/etc/passwd")
    assert client.get("/audio/later.wav").status_code == 404
    assert client.get("/audio/passwd.wav").status_code == 404
    assert client.get("/audio//etc/passwd", follow_redirects=True).status_code == 404
    assert client.get("/audio/main.yaml").status_code == 404  # only recordings, even from inside


# --- names no file can have: a clean 404, never a 500 or a traceback ---------------------
NO_SUCH_RECORDING = [
    "a%00.wav",
    "..%00/x",
    "%00",
    "learn-en.wav%00.mp3",
    "a" * 300,
    "a" * 300 + ".wav",
    "x/" * 200 + "a.wav",
    "b/" + "c" * 300 + "/d.mp3",
    "%ff%fe.wav",
    "a%0a.wav",
    "..%2f..%2fetc%2fpasswd",
    "." * 300,
]


@pytest.mark.parametrize("name", NO_SUCH_RECORDING, ids=lambda n: n[:24])
@pytest.mark.parametrize("signed", [False, True], ids=["unsigned", "signed"])
def test_a_recording_name_no_file_can_have_is_404_without_a_traceback(app, name, signed, caplog):
    path = "/audio/" + name
    headers = {"X-Twilio-Signature": RequestValidator(TOKEN).compute_signature("http://localhost" + path, {})} if signed else {}
    with caplog.at_level(logging.DEBUG):
        response = app.test_client().get(path, headers=headers)
    assert response.status_code == 404
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info], caplog.text
    assert str(ROOT) not in caplog.text and str(ROOT) not in response.get_data(as_text=True)


def test_a_recording_the_server_cannot_read_is_404_and_staff_are_told(menu_dir, monkeypatch, caplog):
    menu = menu_dir / "menus" / "main.yaml"
    (menu_dir / "audio" / "learn-en.wav").write_bytes(b"RIFF-real-prompt")
    app = create_app({"IVR_MENU": str(menu), "TWILIO_AUTH_TOKEN": TOKEN})

    def unreadable(path, **kwargs):  # what open() says for a file the service user may not read
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr("ivr.line.webhooks.send_file", unreadable)
    with caplog.at_level(logging.INFO):
        assert app.test_client().get("/audio/learn-en.wav").status_code == 404
    assert "Recording learn-en.wav cannot be read (Permission denied)" in caplog.text
    assert "Traceback" not in caplog.text and str(menu_dir) not in caplog.text


# --- numbers in a request: ASCII digits only ------------------------------------------------
ODD_DIGITS = ["²", "٣", "３", "①", "1²", "-1", "+2", " 2", "2\n", "0x2"]


@pytest.mark.parametrize("odd", ODD_DIGITS, ids=repr)
@pytest.mark.parametrize("count", ["s", "i"])
def test_a_count_in_the_call_state_that_is_not_ascii_digits_counts_as_none(app, odd, count):
    """`s=²` once sent the caller to the hotline (int() refused it: the apology), and `s=٣` counted
    as three silences. Both are read as 0, exactly as if they were missing."""
    plain = signed_post(app, "/choose?node=learn&lang=en&s=0&i=0", FORM).data
    state = {"s": "0", "i": "0", count: odd}
    odd_query = "node=learn&lang=en&" + "&".join(f"{k}={quote(v)}" for k, v in state.items())
    answer = signed_post(app, "/choose?" + odd_query, FORM)
    assert answer.data == plain
    assert "Sorry, I did not hear a choice." in " ".join(s.text for s in twiml_of(answer).iter("Say"))


class Tally:
    """Stands in for the statistics: what the line asked to count."""

    def __init__(self):
        self.events = []

    def add(self, events):
        self.events.extend(events)

    def status(self):
        return {"status": "ok"}


@pytest.mark.parametrize("odd", ODD_DIGITS + ["", "123456789"], ids=repr)
def test_a_call_length_that_is_not_ascii_digits_is_not_counted(app, odd):
    """`CallDuration=²` once answered the status callback with the apology TwiML (a <Dial>)."""
    app.extensions["ivr_count"] = tally = Tally()
    response = signed_post(app, "/call-status", {**FORM, "CallStatus": "completed", "CallDuration": odd})
    assert response.status_code == 204 and response.data == b""
    assert tally.events == []
    assert signed_post(app, "/call-status", {**FORM, "CallStatus": "completed", "CallDuration": "75"}).status_code == 204
    assert tally.events == [("", "call_length", "1-3 min", 1)]


@pytest.mark.parametrize(
    "given, read",
    [("0.93", 0.93), ("1", 1.0), ("7", 1.0), ("0", 0.0), ("", 0.0), ("٠.٩", 0.0), ("0.9\n", 0.0), (" 0.9", 0.0)]
    + [(odd, 0.0) for odd in ("inf", "nan", "1_0", "1e0", "-0.5", "0x1", "²")],
    ids=repr,
)
def test_speech_confidence_is_a_plain_ascii_decimal(app, monkeypatch, given, read):
    heard = []
    renderer = app.extensions["ivr_store"].current
    real = renderer.hear
    monkeypatch.setattr(renderer, "hear", lambda *args: heard.append(args[5]) or real(*args))
    root = twiml_of(signed_post(app, "/choose?node=learn&lang=en&s=0&i=0", {**FORM, "SpeechResult": "victims", "Confidence": given}))
    keeps_caller(root)
    assert heard == [read]


# --- nothing a request brings can start a new log line ------------------------------------
def no_forged_line(text: str) -> None:
    assert "FORGED" in text  # it was logged...
    assert not [line for line in text.splitlines() if line.startswith("FORGED")], text  # ...inside its own line
    assert "\x1b" not in text


def test_the_calls_debug_lines_escape_what_the_request_says(caplog):
    app = create_app({"IVR_MENU": str(MAIN_MENU), "TWILIO_AUTH_TOKEN": ""})  # development mode: anyone can post
    client = app.test_client()
    with caplog.at_level(logging.DEBUG, logger="ivr.call"):
        client.post("/menu?node=learn%0aFORGED&n=%1b[2J%0aFORGED&lang=en", data=FORM)
        client.post("/choose?node=learn%0dFORGED&lang=en", data={**FORM, "Digits": "1\nFORGED"})
        client.post("/dial-result?to=national%0aFORGED&lang=en", data={**FORM, "DialCallStatus": "busy\u2028FORGED"})
    no_forged_line(caplog.text)
    assert "call at learn\\nFORGED" in caplog.text and "pressed 1\\nFORGED" in caplog.text and "busy\\u2028FORGED" in caplog.text


def test_an_unexpected_error_logs_the_path_escaped(app, monkeypatch, caplog):
    def bug(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("ivr.line.webhooks.find_recording", bug)
    with caplog.at_level(logging.ERROR):
        assert app.test_client().get("/audio/x%0dFORGED%e2%80%a8.wav").status_code == 500  # (a path never matches \n)
    no_forged_line(caplog.text)
    assert "Exception on /audio/x\\rFORGED\\u2028.wav [GET]" in caplog.text
