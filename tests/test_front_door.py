"""Issue #16: a front door that keeps callers safe — a person soon for a silent caller, the first
choice soon, a privacy section that is always true, and a line that slows down when asked."""

from __future__ import annotations

import pytest

from ivr import create_app, load_menu
from ivr.sim.caller import Call
from ivr.sim.transports import AppTransport
from ivr.staff.lint import lint_menu
from ivr.staff.timing import MAX_FIRST_CHOICE_SECONDS, MAX_SILENT_SECONDS, Timer

from .conftest import MAIN_MENU, TOKEN, says
from .test_validator import BASE

NATIONAL, CONEHT = "+18883737888", "+18664555075"


def call_on(path) -> Call:
    return Call(AppTransport(create_app({"IVR_MENU": str(path), "TWILIO_AUTH_TOKEN": TOKEN})), auth_token=TOKEN).start()


# --- 1, 2: timings, per language ------------------------------------------------------------
@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_shipped_front_door_meets_both_targets(lang):
    timer = Timer(load_menu(MAIN_MENU))
    assert timer.first_choice(lang) <= MAX_FIRST_CHOICE_SECONDS == 12
    assert timer.silent_caller(lang) <= MAX_SILENT_SECONDS == 45
    said = " ".join(text for text, _, _ in timer.said("welcome", lang))
    assert said.startswith("If you are in immediate danger" if lang == "en" else "Si está en peligro inmediato")  # 911 first
    assert ("stay on the line" if lang == "en" else "quédese en la línea") in said  # said early: staying reaches someone


def test_lint_says_when_a_silent_caller_waits_too_long_for_a_person(menu_dir):
    path = menu_dir / "menus" / "main.yaml"
    path.write_text(
        BASE.replace(
            "    retry:\n      silences: 1\n    say:\n      en: [main menu", "    retry:\n      silences: 3\n    say:\n      en: [main menu"
        ),
        encoding="utf-8",
    )
    warnings, _ = lint_menu(load_menu(path))
    slow = [w for w in warnings if w.code == "slow-to-a-person"]
    assert {w.message.split()[1] for w in slow} == {"en", "es"} and all("over 45" in w.message for w in slow)
    # the silent call itself, as Twilio would run it: three silences, never a hang-up, then a person
    call = call_on(path)
    for _ in range(2):
        call.silence()
        assert call.waiting_for == "gather"
    call.silence()
    assert call.dialled == [NATIONAL]


# --- 3: privacy ---------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", ["en", "es"])
def test_privacy_by_key_from_the_front_door_and_after_get_help(dial, lang):
    call = dial().press("9") if lang == "es" else dial()
    assert ("About your privacy, press 4." if lang == "en" else "Sobre su privacidad, oprima 4.") in call.last_heard
    call.press("4")
    heard = call.last_heard
    words = {
        "en": [
            "does not record your call or keep anything you say",
            "this line's number, not yours",
            "call history",
            "phone bill",
            "hang up at any time and call back",
            "never calls anyone",
        ],
        "es": [
            "no graba su llamada ni guarda nada",
            "el número de esta línea, no el suyo",
            "historial de llamadas",
            "factura",
            "colgar en cualquier momento",
            "nunca llama a nadie",
        ],
    }[lang]
    assert call.node == "privacy" and all(w in heard for w in words), heard
    assert "delete" not in heard and "borr" not in heard  # not advised: deleting can itself be noticed
    help_call = dial().press("9") if lang == "es" else dial()
    help_call.press("3").press("5")
    assert (
        "To hear how this call stays private, press 3." if lang == "en" else "Para saber cómo se protege su privacidad, oprima 3."
    ) in help_call.last_heard
    help_call.press("3")
    assert help_call.node == "privacy"


def test_what_the_privacy_section_says_of_numbers_follows_the_hotlines(menu_dir, dial):
    """A hotline set to see callers' numbers changes what callers are told: the sentence is
    written from the YAML, so an edit cannot make it untrue."""
    path = menu_dir / "menus" / "main.yaml"
    shown = BASE.replace('    sms: "233733"\n', '    sms: "233733"\n    show_caller_number: true\n', 1)
    path.write_text(shown, encoding="utf-8")
    call = call_on(path).press("4")
    assert "When we put you through to the National Human Trafficking Hotline, they are shown your phone number." in call.last_heard
    assert "Any other hotline is shown this line's number, not yours." in call.last_heard
    assert "the hotline is shown this line's number, not yours" not in call.last_heard
    spanish = call_on(path).press("9").press("4")
    assert "Cuando le comunicamos con la Línea Nacional contra la Trata de Personas, ven su número de teléfono." in spanish.last_heard
    call.press("0")  # and it is so: the national hotline's <Dial> carries no callerId of ours
    assert call.waiting_for == "dial" and call.pending.element.get("callerId") is None
    shipped = dial().press("4")
    assert "When we put you through, the hotline is shown this line's number, not yours." in shipped.last_heard


# --- 6: slower ----------------------------------------------------------------------------------
def spoken_slowly(call, since):
    heard = says(call, since)
    return heard and all(e.slow for e in heard)


@pytest.mark.parametrize("lang, said", [("en", "slower please"), ("es", "más despacio")])
def test_slower_repeats_what_was_said_slowly_and_stays_slow(dial, lang, said):
    call = dial().press("9") if lang == "es" else dial()
    call.press("3").press("2")  # the victims section
    before = call.last_heard
    assert not any(e.slow for e in says(call))
    since = len(call.events)
    call.say(said)
    assert call.node == "victims" and call.last_heard == before  # the same words again...
    assert spoken_slowly(call, since)  # ...at a slower rate (SSML prosody)
    assert call.pending.element.find("Say/prosody") is not None and call.pending.element.find("Say/prosody").get("rate") == "80%"
    for step in (lambda c: c.press("1"), lambda c: c.silence(), lambda c: c.press("*"), lambda c: c.press("9"), lambda c: c.press("0")):
        since = len(call.events)
        step(call)
        assert spoken_slowly(call, since), call.transcript()  # until the caller hangs up
    since = len(call.events)
    call.dial_outcome("busy").dial_outcome("failed")  # both hotlines fail: the numbers, slowly too
    assert spoken_slowly(call, since) and "3 7 3" in call.last_heard


def test_the_slower_key_is_named_on_the_sections_and_works(dial):
    call = dial().press("3").press("1")
    assert "To hear this more slowly, press 8." in call.last_heard
    since = len(call.events)
    call.press("8")
    assert spoken_slowly(call, since) and call.node == "what_is"
    learn = dial().press("3")
    assert "press 8" not in learn.last_heard  # a menu stays short: "slower" can be said there
    learn.say("slow down")
    assert learn.node == "learn" and spoken_slowly(learn, len(learn.events) - 2)
