"""Whole calls through the webhooks, as Twilio makes them: signed POSTs, following every action."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from ivr import load_menu
from ivr.menu.spoken import seconds

from .conftest import MAIN_MENU, TOKEN, says

MENU = load_menu(MAIN_MENU)
NATIONAL = MENU.hotlines["national"].number
CONEHT = MENU.hotlines["coneht"].number


def test_first_sentence_is_911_then_spanish_offered_in_spanish(dial):
    call = dial()
    heard = says(call)
    assert heard[0].text.startswith("If you are in immediate danger, hang up and call 9 1 1")
    assert heard[1].language.startswith("es") and "español" in heard[1].text and "9" in heard[1].text
    # Spanish offer within the first seconds: only the 911 sentence comes before it.
    assert seconds(heard[0].text) < 6
    assert call.waiting_for == "gather"


def test_first_choice_within_20_seconds(dial):
    call = dial()
    spoken = " ".join(e.text for e in says(call))
    before_first_choice = spoken[: spoken.index("press 1") + len("press 1")]
    assert seconds(before_first_choice) <= 20


def fewest_presses(dial, number, lang_keys=()):
    """Breadth-first over key sequences: the fewest presses from the start that dial `number`."""
    frontier = [[]]
    for depth in (1, 2, 3):
        next_frontier = []
        for path in frontier:
            for key in "0123456789*#":
                call = dial()
                for k in [*lang_keys, *path, key]:
                    call.press(k)
                if call.dialled == [number]:
                    return depth
                if call.waiting_for == "gather":
                    next_frontier.append([*path, key])
        frontier = next_frontier
    return None


@pytest.mark.parametrize("lang_keys", [(), ("9",)], ids=["english", "spanish"])
@pytest.mark.parametrize("hotline", ["national", "coneht"])
def test_each_hotline_within_two_presses_in_both_languages(dial, lang_keys, hotline):
    presses = fewest_presses(dial, MENU.hotlines[hotline].number, lang_keys)
    assert presses is not None and presses <= 2


def test_main_menu_hotline_keys(dial):
    assert dial().press("1").dialled == [NATIONAL]
    assert dial().press("2").dialled == [CONEHT]
    assert dial().press("9").press("1").dialled == [NATIONAL]
    assert dial().press("9").press("2").dialled == [CONEHT]


def walk_all_nodes(dial, lang_keys=()):
    """Visit every node reachable by key presses; yields (node, path of keys)."""
    seen: dict[str, list[str]] = {}
    frontier = [[]]
    while frontier:
        path = frontier.pop(0)
        call = dial()
        for key in [*lang_keys, *path]:
            call.press(key)
        if call.waiting_for != "gather" or call.node in seen:
            continue
        seen[call.node] = path
        frontier.extend(path + [k] for k in "12345")
    return seen


def test_every_node_is_reachable_and_zero_transfers_everywhere(dial):
    seen = walk_all_nodes(dial)
    by_voice = {s.action.target for s in MENU.situations.values() if s.action.kind == "goto"}  # the 911 and quiet answers
    assert set(seen) | by_voice == set(MENU.nodes) and by_voice - set(seen) == {"emergency", "quiet"}
    for node in by_voice - set(seen):
        seen[node] = []
    for node, path in seen.items():
        call = dial()
        for key in path:
            call.press(key)
        if not path and node != MENU.start:
            call.say({"emergency": "call the police", "quiet": "I can't talk"}[node])
        assert call.node == node
        call.press("0")
        assert call.dialled and call.dialled[-1] in (NATIONAL, CONEHT), node
        assert call.waiting_for == "dial"


def test_spanish_is_kept_for_the_whole_call(dial):
    call = dial().press("9")
    start = len(call.events)
    call.press("3").press("1").press("1").silence().press("7").press("*").press("0")
    call.dial_outcome("busy").dial_outcome("failed")
    call.silence().silence()  # back in the menu after the numbers; two silences there: a person
    call.dial_outcome("completed")
    heard = says(call, start)
    assert heard, "nothing heard"
    assert {e.language for e in heard} == {"es-US"}
    assert {e.voice for e in heard} == {"Polly.Lupe"}
    assert call.events[-1].kind == "hangup"


def test_switching_back_to_english(dial):
    call = dial().press("9")
    assert "For English, press 9" in call.last_heard
    call.press("9")
    assert call.last_heard.startswith("If you are in immediate danger")
    after = [e for e in says(call)[-4:] if "español" not in e.text]
    assert after and all(e.language == "en-US" for e in after)


def test_silence_reprompts_shorter_then_transfers_never_hangs_up(dial):
    call = dial().press("3")  # learn menu
    full = call.last_heard
    call.silence()
    first_retry = call.last_heard
    assert first_retry.startswith("Sorry, I did not hear a choice.")
    assert "Choose a topic" not in first_retry  # shorter: the intro is not repeated
    assert len(first_retry) < len(full) + len("Sorry, I did not hear a choice.")
    assert call.waiting_for == "gather"
    call.silence()  # menus/main.yaml's retry: two silences, then a person
    assert call.waiting_for == "dial"
    assert call.dialled == [NATIONAL]
    assert call.last_heard == "Connecting you to the National Human Trafficking Hotline. Please stay on the line."


def test_a_silent_caller_reaches_a_person_from_the_front_door_in_their_language(dial):
    """Issue #16: the front door says early that staying on the line reaches someone, and one
    silence there is enough (lint times it: under 45 seconds from the call's start)."""
    call = dial()
    assert "To talk to someone now, stay on the line, or press 0." in call.last_heard
    call.silence()
    assert call.waiting_for == "dial" and call.dialled == [NATIONAL]
    call = dial().press("9")
    assert "Para hablar con alguien ahora, quédese en la línea, u oprima 0." in call.last_heard
    call.silence()
    assert call.dialled == [NATIONAL] and call.last_heard.startswith("Le comunicamos con la Línea Nacional")
    assert {e.language for e in says(call)[-1:]} == {"es-US"}


def test_silence_on_a_content_node_does_not_reread_the_section(dial):
    call = dial().press("3").press("1")
    assert "What is human trafficking?" in call.last_heard
    call.silence()
    assert "What is human trafficking?" not in call.last_heard
    assert "For the next topic, press 1" in call.last_heard


def test_wrong_keys_reprompt_then_transfer(dial):
    call = dial().press("7")
    assert call.last_heard.startswith("Sorry, that key is not one of the choices.")
    call.press("5")
    assert call.waiting_for == "gather"
    call.press("6")
    assert call.waiting_for == "dial" and call.dialled == [NATIONAL]


def test_gather_settings_on_every_node(dial):
    seen = walk_all_nodes(dial)
    for path in seen.values():
        call = dial()
        for key in path:
            call.press(key)
        gather = call.pending.element
        assert int(gather.get("timeout")) >= 8
        assert gather.get("finishOnKey") == ""
        assert gather.get("input") == "dtmf speech"  # keys and speech, everywhere
        assert gather.get("language") == "en-US" and gather.get("speechTimeout") == "auto" and gather.get("speechModel") is None
        hints = gather.get("hints").split(", ")
        assert "Colorado hotline" in hints and "a person" in hints and 0 < len(hints) <= 500 and max(map(len, hints)) <= 100
        # a menu may be interrupted by speech; a section read at length may not (street noise)
        assert gather.get("bargeIn") == ("true" if MENU.nodes[call.node].kind == "menu" else "false"), call.node
        # silence must never end the call: something follows the Gather
        assert call.pending.rest and call.pending.rest[0].tag == "Redirect"


def test_back_repeat_and_next(dial):
    call = dial().press("3").press("2")
    assert call.last_heard.startswith("Who are the victims?")
    call.press("1")
    assert call.last_heard.startswith("Who are the traffickers?")
    assert "Department of Justice" in call.last_heard
    call.press("#")
    assert call.last_heard.startswith("Who are the traffickers?")
    call.press("*")
    assert call.node == "learn"
    call.press("*")
    assert call.node == "welcome"
    call.press("*")  # back at the top repeats the main menu
    assert call.node == "welcome" and "immediate danger" in call.last_heard


def test_busy_hotline_puts_caller_through_to_the_other(dial):
    call = dial().press("1").dial_outcome("busy")
    assert call.dialled == [NATIONAL, CONEHT]
    assert "could not reach the National Human Trafficking Hotline" in call.last_heard
    call = dial().press("2").dial_outcome("no-answer")
    assert call.dialled == [CONEHT, NATIONAL]


def test_both_hotlines_fail_numbers_read_slowly_then_back_to_menu(dial):
    call = dial().press("1").dial_outcome("failed").dial_outcome("busy")
    heard = call.last_heard
    assert heard.count("1, 8 8 8, 3 7 3, 7 8 8 8") == 2
    assert heard.count("1, 8 6 6, 4 5 5, 5 0 7 5") == 2
    assert "2 3 3 7 3 3" in heard
    assert call.waiting_for == "gather" and call.node == "welcome"
    pauses = [e for e in call.events if e.kind == "pause"]
    assert pauses


def test_completed_transfer_ends_politely(dial):
    call = dial().press("2").dial_outcome("completed")
    assert call.last_heard == "Thank you for calling. Take care."
    assert call.waiting_for == "ended"
    assert call.events[-1].text == "by the line"


def test_dial_uses_answer_on_bridge_timeout_and_action(dial):
    call = dial().press("1")
    element = call.pending.element
    assert element.get("answerOnBridge") == "true"
    assert 25 <= int(element.get("timeout")) <= 30
    assert element.get("action", "").startswith("dial-result")
    assert element.get("record") in (None, "do-not-record")


def test_no_recording_or_sms_verbs_anywhere(app):
    client = app.test_client()
    app.config["TWILIO_AUTH_TOKEN"] = ""
    app.extensions.pop("ivr_validator")
    renderer = app.extensions["ivr_store"].renderer
    for node in MENU.nodes:
        for lang in MENU.languages:
            for s in range(3):
                xml = client.post(f"/menu?node={node}&lang={lang}&s={s}&i=0").get_data()
                tags = {el.tag for el in ET.fromstring(xml).iter()}
                assert not tags & {"Record", "Sms", "Message", "Hangup"}, (node, tags)
    assert renderer.menu is not None


def test_get_on_voice_is_answered(app):
    """A number configured for GET still gets the menu instead of a 405 'application error'."""
    from twilio.request_validator import RequestValidator

    url = "http://localhost/voice"
    signature = RequestValidator(TOKEN).compute_signature(url, {})
    response = app.test_client().get("/voice", headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200 and b"<Gather" in response.data


# --- anonymous transfers -----------------------------------------------------------------
def dials(call) -> list:
    """The <Dial> elements the line answered with, from the transcript's requests."""
    return [e for e in call.events if e.kind == "dial"]


def test_a_transfer_shows_the_hotline_our_number_not_the_callers(app):
    import xml.etree.ElementTree as ET

    from ivr.sim.caller import Call
    from ivr.sim.transports import AppTransport

    from .conftest import CALLER_NUMBER, TOKEN

    seen = []

    class Recording(AppTransport):
        def send(self, method, url, params, headers):
            reply = super().send(method, url, params, headers)
            seen.extend(ET.fromstring(reply.body).iter("Dial"))
            return reply

    line = "+17205550123"
    call = Call(Recording(app), auth_token=TOKEN, caller_number=CALLER_NUMBER, line_number=line).start()
    call.press("1").dial_outcome("busy").dial_outcome("no-answer")  # national, then CoNEHT, then the numbers
    call.silence()  # and the final transfer after silence (one, on the front door)
    assert len(seen) == 3
    assert all(d.get("callerId") == line for d in seen)  # never the caller's own number
    assert all(CALLER_NUMBER not in ET.tostring(d, encoding="unicode") for d in seen)


def test_a_hotline_can_opt_in_to_see_the_callers_number(menu_dir):
    from ivr import create_app
    from ivr.sim.caller import Call
    from ivr.sim.transports import AppTransport

    from .conftest import TOKEN
    from .test_validator import BASE

    path = menu_dir / "menus" / "main.yaml"
    path.write_text(BASE.replace("    fallback: coneht\n", "    fallback: coneht\n    show_caller_number: true\n", 1), encoding="utf-8")
    app = create_app({"IVR_MENU": str(path), "TWILIO_AUTH_TOKEN": TOKEN})
    body = []

    class Recording(AppTransport):
        def send(self, method, url, params, headers):
            reply = super().send(method, url, params, headers)
            body.append(reply.body.decode())
            return reply

    Call(Recording(app), auth_token=TOKEN).start().press("1")
    assert 'callerId="' not in body[-1] and "<Dial" in body[-1]  # Twilio's default: the caller's number
    Call(Recording(app), auth_token=TOKEN).start().press("2")
    assert 'callerId="+17205550123"' in body[-1]  # CoNEHT did not opt in


def test_show_caller_number_must_be_true_or_false(tmp_path):
    import pytest

    from ivr import MenuInvalid, load_menu

    from .test_validator import BASE

    path = tmp_path / "main.yaml"
    path.write_text(
        BASE.replace("    fallback: coneht\n", '    fallback: coneht\n    show_caller_number: "sometimes"\n', 1), encoding="utf-8"
    )
    with pytest.raises(MenuInvalid) as err:
        load_menu(path)
    assert "The show_caller_number of hotline 'national' must be true or false." in str(err.value)
