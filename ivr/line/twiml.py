"""How each answer is written in TwiML: a node's Gather, a transfer's Dial, the numbers read out.

Pure functions of the frozen menu: no caches and no decisions (render.py decides which
document a caller gets, and remembers it). Built with `twilio.twiml.voice_response` only.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple
from urllib.parse import quote, urlencode

from twilio.twiml.voice_response import Gather, VoiceResponse

from ..menu import model as m
from ..menu.spoken import spoken_digits, spoken_number
from ..speech.words import plain
from . import hearing, listen

DIAL_TIMEOUT = 28  # seconds of ringing before we try the other hotline
SLOW_RATE = "80%"  # SSML prosody for a caller who asked for it ("slower", "más despacio")
SILENCE = "silence"
INVALID = "invalid"
MOVED = "moved"
UNSURE = "unsure"
UNCLEAR = "unclear"  # spoken words the line did not understand
NOTICES = (SILENCE, INVALID, MOVED)
NOTICE_MESSAGES = {SILENCE: "no_input", INVALID: "invalid", MOVED: "moved"}


class Voice(NamedTuple):
    """How the line speaks on this call: in the caller's language, and slowly if they asked."""

    language: m.Language
    slow: bool = False

    @property
    def code(self) -> str:
        return self.language.code

    def other(self, language: m.Language) -> Voice:
        return Voice(language, self.slow)

    def say(self, parent: VoiceResponse | Gather, text: str) -> None:
        """Speak text in the language's own voice; nothing for empty text (Twilio error 13520)."""
        if not text:
            return
        language = self.language
        if self.slow:
            parent.say(voice=language.voice, language=language.say_language).prosody(text, rate=SLOW_RATE)
        else:
            parent.say(text, voice=language.voice, language=language.say_language)

    def state(self, **params: object) -> dict[str, object]:
        """The call state our URLs carry: these values, the language, and whether to speak slowly."""
        return {**params, "lang": self.code, "slow": int(self.slow)}


def url(route: str, **params: object) -> str:
    """A relative URL: Twilio resolves it against the request URL, so the app works under any prefix.

    Every value is an identifier or a number (the validator makes sure), so nothing needs
    percent-encoding, which keeps the signed URL byte-for-byte the one Twilio requests. A
    count of 0 is the default and is left out: shorter URLs to sign, fewer values to read.
    """
    return f"{route}?{urlencode({k: v for k, v in params.items() if v != 0}, doseq=True)}"


def read_numbers(response: VoiceResponse, menu: m.Menu, voice: Voice, hotlines: Iterable[m.Hotline]) -> None:
    """Each hotline's number, and its text line, slowly enough to write down."""
    code = voice.code
    for line in hotlines:
        name = line.name[code]
        voice.say(response, menu.message("number", code, hotline=name, number=spoken_number(line.number)))
        response.pause(length=1)
        if line.sms:
            voice.say(response, menu.message("sms", code, hotline=name, number=spoken_digits(line.sms)))
            response.pause(length=1)


def node_document(
    menu: m.Menu,
    node: m.Node,
    voice: Voice,
    hints: list[str],
    silences: int = 0,
    invalids: int = 0,
    notice: str | None = None,
    alternatives: tuple[hearing.Choice, ...] = (),
) -> str:
    """A node's menu: a Gather that listens for a key or speech, then a Redirect for silence.
    The greeting and prompt on a first visit only; a notice ("not sure", "no input") first.
    A quiet node (a caller who cannot talk) says its prompt once and then only listens."""
    response = VoiceResponse()
    gather = response.gather(
        action=url("choose", **voice.state(node=node.id, s=silences, i=invalids)),
        method="POST",
        num_digits=1,  # every key is one press; no need to wait for '#'
        finish_on_key="",  # '#' is a menu key (repeat), so it must reach us
        timeout=node.retry.timeout,
        action_on_empty_result=False,  # silence falls through to the Redirect below
        **listen.gather_options(menu, node, voice.language, hints),
    )
    first_time = silences == 0 and invalids == 0
    if not node.quiet:
        speak_around(gather, menu, node, voice, invalids, notice, alternatives, first_time)
    elif first_time:
        prompt(gather, menu, node, voice)
    response.redirect(url("menu", **voice.state(node=node.id, s=silences + 1, i=invalids, n=SILENCE)), method="POST")
    return response.to_xml()


def speak_around(
    gather: Gather,
    menu: m.Menu,
    node: m.Node,
    voice: Voice,
    invalids: int,
    notice: str | None,
    alternatives: tuple[hearing.Choice, ...],
    first_time: bool,
) -> None:
    """What a node says: the notice, the greeting and other languages (start), the prompt
    (first visit), the choices, the speech hint (start, first visit)."""
    code = voice.code
    if notice == UNSURE:
        voice.say(gather, menu.message("not_sure", code))
        voice.say(gather, " ".join(alternative(menu, choice, voice.language) for choice in alternatives))
    elif notice == UNCLEAR:
        voice.say(gather, " ".join((menu.message("not_understood", code), what_to_say(menu, node, voice.language, invalids))))
    elif notice is not None:
        voice.say(gather, menu.message(NOTICE_MESSAGES[notice], code))
    if node.id == menu.start and first_time:
        voice.say(gather, menu.greeting[code])
    if node.id == menu.start:
        for other in menu.languages.values():
            if other.code != code:
                voice.other(other).say(gather, other.press_sentence(other.switch_label, other.switch_key))
    if first_time:
        prompt(gather, menu, node, voice)
    if notice != UNSURE:  # after "not sure", the two likeliest choices only: # repeats them all
        voice.say(gather, choices(menu, node, voice.language))
    if node.id == menu.start and first_time and code in menu.speech:  # once, after the choices
        voice.say(gather, menu.message("speech_hint", code))


def what_to_say(menu: m.Menu, node: m.Node, language: m.Language, invalids: int) -> str:
    """After words the line did not understand: what can be said here; the second time in a row,
    how to reach a person by word or key."""
    zero = node.keys.get("0")
    if invalids >= 2 and zero is not None and zero.say.get(language.code):
        phrase = plain(zero.say[language.code][0])
        return menu.message("offer_person", language.code, phrase=phrase, key=language.key_name("0"))
    return menu.message("you_can_say", language.code, phrases=", ".join(listen.examples(menu, node, language.code)))


def alternative(menu: m.Menu, choice: hearing.Choice, language: m.Language) -> str:
    """One of the two likeliest choices, after "not sure": by its key, or by what to say."""
    if choice.key is not None:
        return language.press_sentence(choice.label or choice.spoken[0], choice.key)
    return menu.message("say_choice", language.code, phrase=plain(choice.spoken[0]))


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


def prompt(gather: Gather, menu: m.Menu, node: m.Node, voice: Voice) -> None:
    """The node's recording if there is one, else its title and prompt."""
    code = voice.code
    if code in node.audio:
        gather.play(f"audio/{quote(node.audio[code])}")
        return
    parts = [node.title.get(code, ""), node.prompt.get(code, "")]
    text = " ".join(p for p in parts if p)
    voice.say(gather, text.replace("{" + m.HOTLINES_SEE + "}", hotlines_see(menu, code)))


def hotlines_see(menu: m.Menu, lang: str) -> str:
    """Which number each hotline is shown on a transfer, from its own settings: the privacy
    section says this, so an edit to a hotline cannot make that section untrue."""
    shown = [h for h in menu.hotlines.values() if h.show_caller_number]
    if not shown:
        return menu.message("number_hidden", lang)
    sentences = [menu.message("number_shown", lang, hotline=h.name[lang]) for h in shown]
    if len(shown) < len(menu.hotlines):
        sentences.append(menu.message("number_hidden_others", lang))
    return " ".join(sentences)


def dial_document(menu: m.Menu, hotline: m.Hotline, voice: Voice, node_id: str, tried: tuple[str, ...], prefix: str, line: str) -> str:
    """Put the caller through to a hotline; `line` (the number they dialled) is what the hotline sees."""
    response = VoiceResponse()
    text = menu.message("connecting", voice.code, hotline=hotline.name[voice.code])
    voice.say(response, f"{prefix} {text}".strip())
    response.dial(
        hotline.number,
        action=url("dial-result", **voice.state(to=hotline.id, node=node_id, tried=list(tried))),
        method="POST",
        timeout=DIAL_TIMEOUT,
        answer_on_bridge=True,  # the caller hears ringing until a person answers
        # Twilio shows the hotline the caller's own number unless told otherwise: show ours.
        caller_id=None if hotline.show_caller_number else line or None,
    )
    return response.to_xml()


def goodbye_document(menu: m.Menu, voice: Voice) -> str:
    response = VoiceResponse()
    voice.say(response, menu.message("goodbye", voice.code))
    response.hangup()
    return response.to_xml()


def numbers_document(menu: m.Menu, voice: Voice, failed: m.Hotline | None, back: str) -> str:
    """Every hotline failed: say so, read the numbers slowly, twice, and go back to the menu."""
    response = VoiceResponse()
    code = voice.code
    lines = [menu.message("transfer_failed", code, hotline=failed.name[code])] if failed else []
    lines.append(menu.message("both_failed", code))
    voice.say(response, " ".join(lines))
    for _ in range(2):
        read_numbers(response, menu, voice, menu.hotlines.values())
    response.redirect(url("menu", **voice.state(node=back)), method="POST")
    return response.to_xml()
