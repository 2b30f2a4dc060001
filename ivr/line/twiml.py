"""How each answer is written in TwiML: a node's Gather, a transfer's Dial, the numbers read out.

Pure functions of the frozen menu: no caches and no decisions (render.py decides which
document a caller gets, and remembers it). Built with `twilio.twiml.voice_response` only.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote, urlencode

from twilio.twiml.voice_response import Gather, VoiceResponse

from ..menu import model as m
from ..menu.spoken import spoken_digits, spoken_number
from . import hearing, listen

DIAL_TIMEOUT = 28  # seconds of ringing before we try the other hotline
SILENCE = "silence"
INVALID = "invalid"
MOVED = "moved"
UNSURE = "unsure"
NOTICES = (SILENCE, INVALID, MOVED)


def url(route: str, **params: object) -> str:
    """A relative URL: Twilio resolves it against the request URL, so the app works under any prefix.

    Every value is an identifier or a number (the validator makes sure), so nothing needs
    percent-encoding, which keeps the signed URL byte-for-byte the one Twilio requests. A
    count of 0 is the default and is left out: shorter URLs to sign, fewer values to read.
    """
    return f"{route}?{urlencode({k: v for k, v in params.items() if v != 0}, doseq=True)}"


def say(parent: VoiceResponse | Gather, text: str, language: m.Language) -> None:
    """Speak text in the language's own voice; nothing for empty text (Twilio error 13520)."""
    if text:
        parent.say(text, voice=language.voice, language=language.say_language)


def read_numbers(response: VoiceResponse, menu: m.Menu, language: m.Language, hotlines: Iterable[m.Hotline]) -> None:
    """Each hotline's number, and its text line, slowly enough to write down."""
    for line in hotlines:
        name = line.name[language.code]
        say(response, menu.message("number", language.code, hotline=name, number=spoken_number(line.number)), language)
        response.pause(length=1)
        if line.sms:
            say(response, menu.message("sms", language.code, hotline=name, number=spoken_digits(line.sms)), language)
            response.pause(length=1)


def node_document(
    menu: m.Menu,
    node: m.Node,
    language: m.Language,
    hints: list[str],
    silences: int = 0,
    invalids: int = 0,
    notice: str | None = None,
    alternatives: tuple[hearing.Choice, ...] = (),
) -> str:
    """A node's menu: a Gather that listens for a key or speech, then a Redirect for silence.
    The greeting and prompt on a first visit only; a notice ("not sure", "no input") first."""
    response = VoiceResponse()
    state = dict(node=node.id, lang=language.code, s=silences, i=invalids)
    gather = response.gather(
        action=url("choose", **state),
        method="POST",
        num_digits=1,  # every key is one press; no need to wait for '#'
        finish_on_key="",  # '#' is a menu key (repeat), so it must reach us
        timeout=node.retry.timeout,
        action_on_empty_result=False,  # silence falls through to the Redirect below
        **listen.gather_options(menu, node, language, hints),
    )
    if notice == UNSURE:
        say(gather, listen.message(menu, "not_sure", language.code), language)
        say(gather, " ".join(alternative(menu, choice, language) for choice in alternatives), language)
    elif notice is not None:
        say(gather, menu.message({SILENCE: "no_input", INVALID: "invalid", MOVED: "moved"}[notice], language.code), language)
    first_time = silences == 0 and invalids == 0
    if node.id == menu.start and first_time:
        say(gather, menu.greeting[language.code], language)
    if node.id == menu.start:
        for other in menu.languages.values():
            if other.code != language.code:
                say(gather, other.press_sentence(other.switch_label, other.switch_key), other)
    if first_time:
        prompt(gather, node, language)
    if notice != UNSURE:  # after "not sure", the two likeliest choices only: # repeats them all
        say(gather, choices(menu, node, language), language)
    if node.id == menu.start and first_time and language.code in menu.speech:  # once, after the choices
        say(gather, listen.message(menu, "speech_hint", language.code), language)
    response.redirect(url("menu", node=node.id, lang=language.code, s=silences + 1, i=invalids, n=SILENCE), method="POST")
    return response.to_xml()


def alternative(menu: m.Menu, choice: hearing.Choice, language: m.Language) -> str:
    """One of the two likeliest choices, after "not sure": by its key, or by what to say."""
    if choice.key is not None:
        return language.press_sentence(choice.label or choice.spoken[0], choice.key)
    return listen.message(menu, "say_choice", language.code, phrase=choice.spoken[0])


def choices(menu: m.Menu, node: m.Node, language: m.Language) -> str:
    """The "To X, press N." sentences, generated from option labels."""
    return " ".join(sentence for _, sentence in choice_sentences(menu, node, language))


def choice_sentences(menu: m.Menu, node: m.Node, language: m.Language) -> list[tuple[m.Option, str]]:
    """Each announced option with its sentence, in spoken order (lint times them too)."""
    sentences = []
    for option in node.spoken_options:
        if option.action.kind == m.BACK and node.parent is None:
            continue
        if option.action.kind == m.NEXT and node.next is None:
            continue
        sentences.append((option, language.press_sentence(label(menu, option, language.code), option.key)))
    return sentences


def label(menu: m.Menu, option: m.Option, lang: str) -> str:
    if lang in option.label:
        return option.label[lang]
    kind = option.action.kind
    if kind == m.TRANSFER:
        return menu.message("transfer_label", lang, hotline=menu.hotlines[option.action.target].name[lang])
    return menu.message(f"{kind}_label", lang)


def prompt(gather: Gather, node: m.Node, language: m.Language) -> None:
    """The node's recording if there is one, else its title and prompt."""
    if language.code in node.audio:
        gather.play(f"audio/{quote(node.audio[language.code])}")
        return
    parts = [node.title.get(language.code, ""), node.prompt.get(language.code, "")]
    text = " ".join(p for p in parts if p)
    if text:
        say(gather, text, language)


def dial_document(
    menu: m.Menu, hotline: m.Hotline, language: m.Language, node_id: str, tried: tuple[str, ...], prefix: str, line: str
) -> str:
    """Put the caller through to a hotline; `line` (the number they dialled) is what the hotline sees."""
    response = VoiceResponse()
    text = menu.message("connecting", language.code, hotline=hotline.name[language.code])
    say(response, f"{prefix} {text}".strip(), language)
    response.dial(
        hotline.number,
        action=url("dial-result", to=hotline.id, lang=language.code, node=node_id, tried=list(tried)),
        method="POST",
        timeout=DIAL_TIMEOUT,
        answer_on_bridge=True,  # the caller hears ringing until a person answers
        # Twilio shows the hotline the caller's own number unless told otherwise: show ours.
        caller_id=None if hotline.show_caller_number else line or None,
    )
    return response.to_xml()


def goodbye_document(menu: m.Menu, language: m.Language) -> str:
    response = VoiceResponse()
    say(response, menu.message("goodbye", language.code), language)
    response.hangup()
    return response.to_xml()


def numbers_document(menu: m.Menu, language: m.Language, failed: m.Hotline | None, back: str) -> str:
    """Every hotline failed: say so, read the numbers slowly, twice, and go back to the menu."""
    response = VoiceResponse()
    lines = [menu.message("transfer_failed", language.code, hotline=failed.name[language.code])] if failed else []
    lines.append(menu.message("both_failed", language.code))
    say(response, " ".join(lines), language)
    for _ in range(2):
        read_numbers(response, menu, language, menu.hotlines.values())
    response.redirect(url("menu", node=back, lang=language.code), method="POST")
    return response.to_xml()
