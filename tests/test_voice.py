"""Callers who speak: whole calls by voice in English and Spanish, safety phrases from deep
menus, doubt handled by asking again, and nothing a caller said kept anywhere."""

from __future__ import annotations

import logging
import re

import pytest

from ivr.line.hearing import hear, normalise
from ivr.line.keys_said import spoken_key

from .conftest import CALLER_NUMBER, MAIN_MENU, TOKEN

NATIONAL, CONEHT = "+18883737888", "+18664555075"


def test_an_english_call_by_voice_reaches_a_section_and_the_colorado_hotline(dial):
    call = dial()
    assert call.last_heard.endswith("Or say what you need.")
    call.say("who are the victims")  # a section's topic, straight from the main menu
    assert call.node == "victims" and call.last_heard.startswith("Who are the victims?")
    call.say("go back")
    assert call.node == "learn"  # back from a section is its topic menu
    call.say("I'd like the Colorado hotline please", confidence=0.81)
    assert call.waiting_for == "dial" and call.dialled == [CONEHT]


def test_a_spanish_call_by_voice(dial):
    call = dial()
    call.say("español")
    assert call.node == "welcome" and call.events[-3].language == "es-US"
    call.say("quienes son los tratantes")  # no accents, as recognisers often return it
    assert call.node == "traffickers" and call.last_heard.startswith("¿Quiénes son los tratantes?")
    call.say("línea nacional")
    assert call.dialled == [NATIONAL] and "Le comunicamos con la Línea Nacional" in call.last_heard


@pytest.mark.parametrize(
    "said", ["help", "I'm in danger", "someone is hurting me", "ayuda", "auxilio", "estoy en peligro", "emergency please", "Ayúdenme."]
)
def test_safety_phrases_reach_a_person_from_deep_menus(dial, said):
    call = dial().press("3").press("4")  # the law enforcement section, two levels down
    assert call.node == "law_enforcement"
    call.say(said, confidence=0.42)
    assert call.waiting_for == "dial" and call.dialled == [NATIONAL]
    assert "Let me connect you with someone who can help." in call.last_heard or "Le voy a comunicar" in call.last_heard


def test_spoken_keys_work_and_keys_still_work(dial):
    call = dial().say("press three")
    assert call.node == "learn"
    call.say("número dos")
    assert call.node == "victims"
    call.press("*")
    assert call.node == "learn"


def test_an_unclear_answer_asks_again_with_the_two_likeliest(dial):
    call = dial().press("3")
    call.say("victims or traffickers", confidence=0.9)  # two topics in one breath
    heard = call.last_heard
    assert heard.startswith("Sorry, I am not sure I understood.")
    assert "For who the victims and the traffickers are, press 2." in heard  # on this menu: by its key
    assert "You can say: who are the traffickers." in heard  # not on this menu: by what to say
    assert call.node == "learn" and call.waiting_for == "gather"


def test_words_not_understood_are_never_answered_as_a_key_and_never_hang_up(dial):
    call = dial().press("3")
    call.say("pizza delivery", confidence=0.3)
    first = call.last_heard
    assert first.startswith("Sorry, I did not understand. You can say ") and first.split(".")[1].strip().endswith("or press a key")
    assert "key is not" not in first and call.node == "learn"
    call.say("[inaudible]", confidence=0.3)  # the second in a row: how to reach a person, by word or key
    assert call.last_heard.startswith("Sorry, I did not understand. To talk to someone now, say someone, or press 0.")
    call.say("pizza delivery", confidence=0.3)
    assert call.waiting_for == "dial" and call.dialled == [NATIONAL]  # after the limit: a person, as with wrong keys
    heard = " ".join(e.text for e in call.events if e.kind == "say")
    assert "that key" not in heard
    spanish = dial().press("9").press("3")
    spanish.say("quiero una pizza", confidence=0.3)
    assert spanish.last_heard.startswith("Disculpe, no le entendí. Puede decir ") and "tecla no es" not in spanish.last_heard


def test_speech_can_be_switched_off_per_menu_file(menu_dir):
    from ivr import create_app
    from ivr.sim.caller import Call
    from ivr.sim.transports import AppTransport

    path = menu_dir / "menus" / "main.yaml"
    path.write_text(path.read_text().replace("speech:\n  enabled: true\n", "speech:\n  enabled: false\n"), encoding="utf-8")
    app = create_app({"IVR_MENU": str(path), "TWILIO_AUTH_TOKEN": TOKEN})
    call = Call(AppTransport(app), auth_token=TOKEN).start()
    assert call.pending.element.get("input") == "dtmf" and "Or say what you need" not in call.last_heard
    call.press("3").say("Colorado")  # Twilio hears nothing on a keys-only Gather: like silence
    assert call.node == "learn" and "Sorry, I did not hear a choice." in call.last_heard


def test_nothing_a_caller_said_is_logged(app, dial, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    secret = "my boss took my passport at the farm"
    dial().say(secret, confidence=0.55)
    dial().press("3").say("I can't talk he's listening")
    dial().say("is this call recorded").say("police please")
    call = dial().say("who are the victims").say("Colorado hotline").dial_outcome("busy").dial_outcome("no-answer")
    call.say("auxilio ayuda", confidence=0.2)
    logged = caplog.text + "\n".join(r.getMessage() for r in caplog.records) + capsys.readouterr().err
    assert "spoke" in logged  # the calls were logged, without what was said
    for needle in (
        secret,
        "passport",
        "listening",
        "recorded",
        "police please",
        "who are the victims",
        "Colorado hotline",
        "auxilio",
        CALLER_NUMBER,
    ):
        assert needle.lower() not in logged.lower(), needle
    cache = app.extensions["ivr_store"].current._cache
    assert not any("passport" in str(key) for key in cache)  # not even in the answer cache


@pytest.mark.parametrize(
    "said, key",
    [
        ("press one", "1"),
        ("uno", "1"),
        ("number two", "2"),
        ("oprima el tres", "3"),
        ("star", "*"),
        ("la tecla numeral", "#"),
        ("to the hotline", None),
        ("9", "9"),
        ("auction two", "2"),  # a recogniser's "option"
    ],
)
def test_spoken_keys(said, key):
    assert spoken_key(normalise(said)) == key


def test_normalising_forgives_what_recognisers_do():
    assert normalise("¡Línea de COLORADO, por favor!") == "linea de colorado"
    assert normalise("Um, the national hot-line") == "the national hot line"


def test_gather_hints_fit_twilios_limits():
    from ivr import load_menu
    from ivr.line.render import Renderer

    renderer = Renderer(load_menu(MAIN_MENU))
    for node_id in renderer.menu.nodes:
        for lang in ("en", "es"):
            xml = renderer.node(node_id, lang).xml
            hints = re.search(r'hints="([^"]*)"', xml).group(1).split(", ")
            assert len(hints) <= 500 and all(0 < len(h) <= 100 for h in hints)


def test_a_phrase_over_twilios_hint_limit_is_refused(tmp_path):
    from ivr import MenuInvalid, load_menu

    from .test_validator import BASE

    path = tmp_path / "main.yaml"
    path.write_text(BASE.replace("en: [main menu,", "en: [" + "very " * 30 + "long,", 1), encoding="utf-8")
    with pytest.raises(MenuInvalid) as err:
        load_menu(path)
    assert "must have 1 to 100 characters (Twilio's limit for a hint)" in str(err.value)


def test_auto_timeout_with_a_model_is_refused(tmp_path):
    from ivr import MenuInvalid, load_menu

    from .test_validator import BASE

    path = tmp_path / "main.yaml"
    path.write_text(BASE.replace("speech:\n  enabled: true\n", "speech:\n  enabled: true\n  en: {model: phone_call}\n"), encoding="utf-8")
    with pytest.raises(MenuInvalid) as err:
        load_menu(path)
    assert "error 13335" in str(err.value)


def test_matching_is_lenient_but_not_loose():
    from ivr import load_menu
    from ivr.line.hearing import Phrasebook
    from ivr.line.listen import choices, shared_choices

    menu = load_menu(MAIN_MENU)
    found = Phrasebook(choices(menu.nodes["welcome"], "en", shared_choices(menu, "en")), "en")
    assert hear("national hot line", 0.8, found).choice.action.target == "national"
    assert hear("human traffic king", 0.6, found).choice.action.target == "what_is"
    for off_topic in ("what time is it", "what's the weather", "pizza delivery", "hello is anybody there", "I don't know"):
        assert hear(off_topic, 0.9, found).kind in ("nothing", "unsure"), off_topic  # asked again, never acted on


def test_the_utterance_suite_meets_its_targets(app):
    """calls/utterances.yaml: 150+ things callers say, in both languages, through whole calls."""
    from ivr import load_menu
    from ivr.sim.transports import AppTransport
    from ivr.sim.utterances import load_suite, run_suite

    from .conftest import ROOT

    suite = load_suite(str(ROOT / "calls" / "utterances.yaml"))
    assert len(suite) >= 450 and {u.lang for u in suite} == {"en", "es"}
    result = run_suite(suite, AppTransport(app), load_menu(MAIN_MENU), TOKEN)
    assert result.accuracy("all") >= 95.0, result.failures
    assert result.accuracy("person (1-5)") == 100.0 and result.total["person (1-5)"] >= 300, result.failures
    assert result.total["all"] == len(suite)
    assert result.met


def test_lint_knows_speech(menu_dir):
    from ivr import load_menu
    from ivr.staff.lint import lint_menu
    from ivr.staff.timing import length_table

    from .test_validator import BASE

    path = menu_dir / "menus" / "main.yaml"
    text = BASE.replace("en: [law enforcement,", "en: [Colorado, law enforcement,", 1)  # a phrase pointing two ways
    text = re.sub(r"\n      es: \[servicios a víctimas,[^\n]*", "", text, count=1)  # victim_services: English only
    get_help = text.index("  get_help:")
    said = re.compile(r"    say:\n      en: \[hotline numbers[^\n]*\n      es: [^\n]*\n")
    assert said.search(text, get_help)
    text = text[:get_help] + said.sub("", text[get_help:], count=1)  # get_help can be pressed, not said
    path.write_text(text, encoding="utf-8")
    warnings, _ = lint_menu(load_menu(path))
    codes = {(w.code, w.node) for w in warnings}
    assert ("phrase-twice", "welcome") in codes  # 'colorado': the CoNEHT hotline and the police section
    assert "Colorado" not in {w.message for w in warnings if w.code == "phrase-twice"}
    assert ("phrase-language", "victim_services") in codes
    assert ("keys-only", "learn") in codes  # key 5 of the topics menu (get_help) can be pressed, not said
    table = length_table(load_menu(MAIN_MENU))
    assert (
        "time to the first choice (target <= 12 s): en" in table and "a silent caller reaches a person after (target <= 45 s): en" in table
    )


def test_the_speech_sentences_can_be_worded_in_the_menu(menu_dir):
    from ivr import create_app
    from ivr.sim.caller import Call
    from ivr.sim.transports import AppTransport

    from .test_validator import BASE

    path = menu_dir / "menus" / "main.yaml"
    worded = "  not_sure:\n    en: I did not quite catch that.\n    es: No le entendí bien.\n  say_choice:\n    en: 'Or just say: {phrase}.'\n    es: 'O diga: {phrase}.'\n"
    path.write_text(BASE.replace("messages:\n", "messages:\n" + worded, 1), encoding="utf-8")
    call = Call(AppTransport(create_app({"IVR_MENU": str(path), "TWILIO_AUTH_TOKEN": TOKEN})), auth_token=TOKEN).start().press("3")
    call.say("victims or traffickers")
    assert call.last_heard.startswith("I did not quite catch that.") and "Or just say: who are the traffickers." in call.last_heard
    fresh = Call(AppTransport(create_app({"IVR_MENU": str(path), "TWILIO_AUTH_TOKEN": TOKEN})), auth_token=TOKEN).start()
    assert fresh.last_heard.endswith("Or say what you need.")  # the menu's own wording of the hint


def test_graph_can_show_phrases(tmp_path):
    from click.testing import CliRunner

    from ivr.cli import main

    plain = CliRunner().invoke(main, ["graph", str(MAIN_MENU), "--out-dir", str(tmp_path / "a"), "--print", "mermaid"])
    said = CliRunner().invoke(main, ["graph", str(MAIN_MENU), "--out-dir", str(tmp_path / "b"), "--print", "dot", "--phrases"])
    assert plain.exit_code == said.exit_code == 0
    assert "say:" not in plain.output
    assert "say: 'who are the victims', 'victims'" in said.output and "say: 'Colorado', 'Colorado hotline'" in said.output


def test_more_phrases_than_twilio_hints_are_cut_and_warned_about(menu_dir):
    import xml.etree.ElementTree as ET

    from ivr import load_menu
    from ivr.line.render import Renderer
    from ivr.staff.lint import lint_menu

    from .test_validator import BASE

    many = ", ".join(f"hotline phrase {n}" for n in range(520))
    path = menu_dir / "menus" / "main.yaml"
    path.write_text(BASE.replace("en: [national hotline, national,", f"en: [{many}, national hotline, national,", 1), encoding="utf-8")
    menu = load_menu(path)
    hints = ET.fromstring(Renderer(menu).node("welcome", "en").xml).find("Gather").get("hints").split(", ")
    assert len(hints) == 500
    warnings, _ = lint_menu(menu)
    assert any(w.code == "too-many-hints" and w.node == "welcome" and "Twilio takes 500 hints" in w.message for w in warnings)


def test_a_broken_utterance_suite_is_an_error_not_a_traceback(tmp_path):
    from click.testing import CliRunner

    from ivr.cli import main

    suite = tmp_path / "utterances.yaml"
    suite.write_text("utterances:\n  - {say: colorado, expect: coneht\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["test-calls", str(suite), "--menu", str(MAIN_MENU)])
    assert result.exit_code == 1 and "ERROR" in result.output and "not readable as YAML" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
