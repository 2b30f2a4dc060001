"""Who may use the browser phone, and what its API returns."""

from __future__ import annotations

import base64

import pytest

from ivr import ConfigError, create_app

from .conftest import MAIN_MENU, TOKEN
from .recordings import tone


def basic(password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"operator:{password}".encode()).decode()}


def test_on_in_development_mode():
    app = create_app({"IVR_MENU": str(MAIN_MENU), "TWILIO_AUTH_TOKEN": ""})
    assert app.test_client().get("/simulator").status_code == 200


def test_off_in_production_without_its_own_password():
    app = create_app({"IVR_MENU": str(MAIN_MENU), "TWILIO_AUTH_TOKEN": TOKEN})
    client = app.test_client()
    assert client.get("/simulator").status_code == 404
    assert client.post("/simulator/api/call", json={}).status_code == 404


PASSWORD = "correct horse battery"


def test_production_with_password_asks_for_it_and_signs_calls(tmp_path):
    app = create_app(
        {
            "IVR_MENU": str(MAIN_MENU),
            "TWILIO_AUTH_TOKEN": TOKEN,
            "IVR_SIMULATOR_PASSWORD": PASSWORD,
            "IVR_PUBLIC_URL": "https://line.example.org/ivr",
            "IVR_STATE_DIR": str(tmp_path),
        }
    )
    client = app.test_client()
    assert client.get("/simulator").status_code == 401
    assert client.get("/simulator", headers=basic("wrong")).status_code == 401
    assert client.get("/simulator", headers=basic(PASSWORD)).status_code == 200
    # the browser phone's calls are signed for the public URL, as Twilio signs them
    state = client.post("/simulator/api/call", json={"lang": "es"}, headers=basic(PASSWORD)).get_json()
    assert state["node"] == "welcome" and state["waiting_for"] == "gather"  # the signed webhooks answered
    assert state["events"][0]["language"] == "es-US"
    after = client.post("/simulator/api/call", json={"lang": "es", "actions": [["press", "1"]]}, headers=basic(PASSWORD)).get_json()
    assert after["waiting_for"] == "dial" and after["dialled"] == "+18883737888"
    assert after["events"][0] == {"kind": "press", "text": "1", "language": "", "voice": "", "node": "welcome"}


def test_a_short_password_refuses_to_start():
    with pytest.raises(ConfigError) as err:
        create_app({"IVR_MENU": str(MAIN_MENU), "TWILIO_AUTH_TOKEN": TOKEN, "IVR_SIMULATOR_PASSWORD": "s3cret-pass"})
    assert "IVR_SIMULATOR_PASSWORD must be at least 12 characters long (it has 11)" in str(err.value)


def test_wrong_passwords_are_limited_per_client_and_page_across_workers(tmp_path):
    """Two apps on one state folder are two workers of one server (or one server and the same
    one restarted): a guesser's tries add up across them."""
    settings = {"IVR_MENU": str(MAIN_MENU), "TWILIO_AUTH_TOKEN": TOKEN, "IVR_SIMULATOR_PASSWORD": PASSWORD, "IVR_STATE_DIR": str(tmp_path)}
    first, second = (create_app({**settings, "IVR_STATS_PASSWORD": "another long password"}).test_client() for _ in range(2))
    guesser = {"REMOTE_ADDR": "198.51.100.7"}
    for guess, client in enumerate((first, second, first, second, first)):
        assert client.get("/simulator", headers=basic(f"guess-{guess}"), environ_base=guesser).status_code == 401
    for client in (first, second, create_app(settings).test_client()):  # and a restarted server
        locked = client.get("/simulator", headers=basic(PASSWORD), environ_base=guesser)
        assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0  # even the right password waits
    # another client is not locked out by someone else's guesses, nor is the statistics page
    assert second.get("/simulator", headers=basic(PASSWORD), environ_base={"REMOTE_ADDR": "203.0.113.5"}).status_code == 200
    assert second.get("/stats", headers=basic("another long password"), environ_base=guesser).status_code == 200
    # an IPv6 guesser is one client across its /64
    for guess in range(5):
        v6 = {"REMOTE_ADDR": f"2001:db8:1:2::{guess + 1:x}"}
        assert first.get("/simulator", headers=basic(f"v6-{guess}"), environ_base=v6).status_code == 401
    assert second.get("/simulator", headers=basic(PASSWORD), environ_base={"REMOTE_ADDR": "2001:db8:1:2::99"}).status_code == 429
    assert second.get("/simulator", headers=basic(PASSWORD), environ_base={"REMOTE_ADDR": "2001:db8:1:3::1"}).status_code == 200
    stored = (tmp_path / "lockout.sqlite3").read_bytes()
    assert PASSWORD.encode() not in stored and b"guess-" not in stored  # what was typed is never kept


def get_from(address: str, port: int, path: str, password: str) -> int:
    """A request from one of the loopback addresses (127.0.0.0/8), as a distinct client."""
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(address, 0))
    try:
        connection.request("GET", path, headers=basic(password))
        return connection.getresponse().status
    finally:
        connection.close()


def test_lock_out_holds_across_gunicorn_workers_and_a_restart(menu_dir):
    from concurrent.futures import ThreadPoolExecutor

    from .test_gunicorn import free_port, start_gunicorn, stop

    port = free_port()
    settings = {"WEB_CONCURRENCY": "4", "IVR_SIMULATOR_PASSWORD": PASSWORD, "IVR_STATS_URL": "off"}
    process = start_gunicorn(menu_dir, port, menu_dir / "access.log", **settings)
    try:
        assert get_from("127.0.0.2", port, "/simulator", PASSWORD) == 200
        with ThreadPoolExecutor(3) as pool:  # at once, so that they land on different workers
            assert list(pool.map(lambda i: get_from("127.0.0.2", port, "/simulator", f"guess-{i}"), range(3))) == [401] * 3
    finally:
        stop(process)
    process = start_gunicorn(menu_dir, port, menu_dir / "access.log", **settings)  # restarted: fresh workers
    try:
        with ThreadPoolExecutor(2) as pool:
            assert list(pool.map(lambda i: get_from("127.0.0.2", port, "/simulator", f"more-{i}"), range(2))) == [401] * 2
        assert [get_from("127.0.0.2", port, "/simulator", PASSWORD) for _ in range(8)] == [429] * 8  # on every worker
        assert get_from("127.0.0.3", port, "/simulator", PASSWORD) == 200  # staff elsewhere get in
    finally:
        stop(process)


def test_api_is_stateless_and_rejects_bad_actions():
    first = create_app({"IVR_MENU": str(MAIN_MENU), "TWILIO_AUTH_TOKEN": ""})
    second = create_app({"IVR_MENU": str(MAIN_MENU), "TWILIO_AUTH_TOKEN": ""})  # another worker
    first.test_client().post("/simulator/api/call", json={})
    state = second.test_client().post("/simulator/api/call", json={"actions": [["press", "3"], ["press", "1"], ["silence", ""]]}).get_json()
    assert state["node"] == "what_is" and state["events"][0]["kind"] == "silence"
    client = first.test_client()
    assert client.post("/simulator/api/call", json={"actions": [["press", "12"]]}).status_code == 400
    assert client.post("/simulator/api/call", json={"actions": [["launch", ""]]}).status_code == 400
    assert client.post("/simulator/api/call", json={"actions": "press"}).status_code == 400
    too_long = client.post("/simulator/api/call", json={"actions": [["silence", ""]] * 201})
    assert too_long.status_code == 400 and too_long.is_json  # JSON the page can show, never an HTML page
    assert "longer than 200 actions, the most one can take. Press Call to start a new one." in too_long.get_json()["error"]
    assert client.post("/simulator/api/call", json={"actions": [["launch", ""]]}).get_json()["error"] == "unknown action"


def test_an_action_the_call_cannot_take_now_does_nothing_and_says_so():
    """As on a phone: keys while a hotline is dialled, an outcome while the line listens, anything
    after the end. Once a 409 that replayed the whole call from its greeting."""
    client = create_app({"IVR_MENU": str(MAIN_MENU), "TWILIO_AUTH_TOKEN": ""}).test_client()

    def after(*actions):
        response = client.post("/simulator/api/call", json={"actions": [list(a) for a in actions]})
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    dialling = after(("press", "0"), ("press", "5"))
    assert dialling["events"] == [] and dialling["waiting_for"] == "dial"
    assert dialling["note"] == "Key 5 does nothing while the line dials a hotline: choose what happens to the transfer."
    # a key ignored before the last action is ignored again on every replay, silently
    later = after(("press", "0"), ("press", "5"), ("press", "6"), ("say", "help"), ("silence", ""))
    assert later["events"] == [] and later["note"] == "The line is dialling a hotline: choose what happens to the transfer."
    assert after(("press", "0"), ("say", "help"))["note"].startswith("Nobody hears that while the line dials a hotline")
    listening = after(("dial", "busy"))
    assert listening["events"] == [] and listening["waiting_for"] == "gather" and listening["node"] == "welcome"
    assert listening["note"] == "There is no transfer to answer: the line is listening for a key or words."
    over = after(("press", "0"), ("dial", "completed"), ("press", "1"), ("hangup", ""))
    assert over["events"] == [] and over["note"] == "The call has ended: press Call to start a new one."
    answered = after(("press", "0"), ("press", "5"), ("dial", "busy"))  # the call goes on as if never pressed
    assert answered["note"] == "" and answered["dialled"] == "+18664555075"
    assert [e["text"] for e in answered["events"] if e["kind"] == "dial"] == ["+18664555075"]


def test_an_error_before_the_last_action_never_replays_the_call(monkeypatch):
    from ivr.sim import caller

    client = create_app({"IVR_MENU": str(MAIN_MENU), "TWILIO_AUTH_TOKEN": ""}).test_client()
    real_fetch = caller.Call._fetch

    def fails_on_the_second_key(self, url, extra, method="POST"):
        if extra.get("Digits") == "1":
            raise caller.CallError("invalid-twiml", "the line answered something Twilio would refuse")
        return real_fetch(self, url, extra, method)

    monkeypatch.setattr(caller.Call, "_fetch", fails_on_the_second_key)
    response = client.post("/simulator/api/call", json={"actions": [["press", "3"], ["press", "1"], ["press", "2"]]})
    assert response.status_code == 409 and response.get_json()["error"].startswith("invalid-twiml")
    assert response.get_json()["events"] == []  # not the whole call from its greeting, again


def test_recordings_are_passed_to_the_page(menu_dir):
    menu = menu_dir / "menus" / "main.yaml"
    menu.write_text(menu.read_text().replace("  learn:\n    type: menu\n", "  learn:\n    type: menu\n    audio: {en: learn-en.wav}\n"))
    tone(menu_dir / "audio" / "learn-en.wav")
    app = create_app({"IVR_MENU": str(menu), "TWILIO_AUTH_TOKEN": ""})
    client = app.test_client()
    after = client.post("/simulator/api/call", json={"actions": [["press", "3"]]}).get_json()
    plays = [e for e in after["events"] if e["kind"] == "play"]
    assert plays == [
        {
            "kind": "play",
            "text": "audio/learn-en.wav",
            "language": "",
            "voice": "",
            "node": "welcome",
            "file": "learn-en.wav",
            "words": "Choose a topic.",
        }
    ]
    assert client.get("/" + plays[0]["text"]).data == (menu_dir / "audio" / "learn-en.wav").read_bytes()
