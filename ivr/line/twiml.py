"""How each answer is written in TwiML: a node's Gather, a transfer's Dial, the numbers read out.

Pure functions of the frozen menu: no caches and no decisions (render.py decides which
document a caller gets, and remembers it). Built with `twilio.twiml.voice_response` only.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlencode

from twilio.twiml.voice_response import Gather, VoiceResponse

from ..menu import model as m
from ..menu.spoken import spoken_digits, spoken_number
from ..speech.words import plain
from . import hearing, listen
from .voice import SLOW_RATE, Line, Voice, key_word

__all__ = ["SLOW_RATE", "Line", "Voice"]  # the voice, as the renderer and the fallback use it

DIAL_TIMEOUT = 28  # seconds of ringing before we try the other hotline
SILENCE = "silence"
INVALID = "invalid"
MOVED = "moved"
UNSURE = "unsure"
UNCLEAR = "unclear"  # spoken words the line did not understand
NOTICES = (SILENCE, INVALID, MOVED)
NOTICE_MESSAGES = {SILENCE: "no_input", INVALID: "invalid", MOVED: "moved"}


def message(menu: m.Menu, name: str, lang: str, about: str = "", **values: str) -> Line:
    """A shared message as a sentence: `message.connecting.coneht` (`about` names what varies)."""
    return Line(f"message.{name}.{about}" if about else f"message.{name}", menu.message(name, lang, **values))


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
        voice.say(response, message(menu, "number", code, line.id, hotline=name, number=spoken_number(line.number)))
        response.pause(length=1)
        if line.sms:
            voice.say(response, message(menu, "sms", code, line.id, hotline=name, number=spoken_digits(line.sms)))
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
        voice.say(gather, message(menu, "not_sure", code))
        voice.say(gather, *(alternative(menu, node, choice, voice.language) for choice in alternatives))
    elif notice == UNCLEAR:
        voice.say(gather, message(menu, "not_understood", code), what_to_say(menu, node, voice.language, invalids))
    elif notice is not None:
        voice.say(gather, message(menu, NOTICE_MESSAGES[notice], code))
    if node.id == menu.start and first_time:
        voice.say(gather, Line("greeting", menu.greeting[code]))
    if node.id == menu.start:
        for other in menu.languages.values():
            if other.code != code:
                voice.other(other).say(gather, Line("language.switch", other.press_sentence(other.switch_label, other.switch_key)))
    if first_time:
        prompt(gather, menu, node, voice)
    if notice != UNSURE:  # after "not sure", the two likeliest choices only: # repeats them all
        voice.say(gather, *(line for _, line in choice_sentences(menu, node, voice.language)))
    if node.id == menu.start and first_time and code in menu.speech:  # once, after the choices
        voice.say(gather, message(menu, "speech_hint", code))


def what_to_say(menu: m.Menu, node: m.Node, language: m.Language, invalids: int) -> Line:
    """After words the line did not understand: what can be said here; the second time in a row,
    how to reach a person by word or key."""
    zero = node.keys.get("0")
    if invalids >= 2 and zero is not None and zero.say.get(language.code):
        phrase = plain(zero.say[language.code][0])
        text = menu.message("offer_person", language.code, phrase=phrase, key=language.key_name("0"))
        # Worded from key 0: the menu's own everywhere, unless this node binds 0 itself.
        return Line("message.offer_person" if menu.keys.get("0") is zero else f"{node.id}.offer_person", text)
    phrases = ", ".join(listen.examples(menu, node, language.code))
    return Line(f"{node.id}.you_can_say", menu.message("you_can_say", language.code, phrases=phrases))


def alternative(menu: m.Menu, node: m.Node, choice: hearing.Choice, language: m.Language) -> Line:
    """One of the two likeliest choices, after "not sure": by its key (the choice's own sentence
    where it has one here), or by what to say."""
    code = language.code
    if choice.key is None:
        target = f"{choice.action.kind}.{choice.action.target}" if choice.action.target else choice.action.kind
        return Line(f"message.say_choice.{target}", menu.message("say_choice", code, phrase=plain(choice.spoken[0])))
    text = language.press_sentence(choice.label or choice.spoken[0], choice.key)
    option = node.keys.get(choice.key)
    if option is not None and node.announces(option):
        own = Line(choice_name(menu, node, option), language.press_sentence(label(menu, option, code), option.key))
        if own.text == text:
            return own
    return Line(f"{node.id}.alternative.{key_word(choice.key)}", text)


def choice_sentences(menu: m.Menu, node: m.Node, language: m.Language) -> list[tuple[m.Option, Line]]:
    """Each announced option with its sentence, in spoken order (lint times them too)."""
    sentences = []
    for option in node.spoken_options:
        if option.action.kind == m.BACK and node.parent is None:
            continue
        if option.action.kind == m.NEXT and node.next is None:
            continue
        text = language.press_sentence(label(menu, option, language.code), option.key)
        sentences.append((option, Line(choice_name(menu, node, option), text)))
    return sentences


def choice_name(menu: m.Menu, node: m.Node, option: m.Option) -> str:
    """A choice sentence's name, from where its words come: a node's own option
    (`welcome.choice.1`), a key of every menu (`keys.0`), or a built-in label with its key
    (`choice.next.1`, `choice.transfer.coneht.2`): one recording wherever the same words are said."""
    key = key_word(option.key)
    if option.label:
        return f"keys.{key}" if menu.keys.get(option.key) is option else f"{node.id}.choice.{key}"
    action = option.action
    return f"choice.{action.kind}.{action.target}.{key}" if action.kind == m.TRANSFER else f"choice.{action.kind}.{key}"


def label(menu: m.Menu, option: m.Option, lang: str) -> str:
    if lang in option.label:
        return option.label[lang]
    kind = option.action.kind
    if kind == m.TRANSFER:
        return menu.message("transfer_label", lang, hotline=menu.hotlines[option.action.target].name[lang])
    return menu.message(f"{kind}_label", lang)


def prompt(gather: Gather, menu: m.Menu, node: m.Node, voice: Voice) -> None:
    """The node's title and prompt (or text), or its own `audio:` recording in their place."""
    lines = prompt_lines(menu, node, voice.code)
    if voice.code in node.audio:
        voice.say_from(gather, node.audio[voice.code], lines)
    else:
        voice.say(gather, *lines)


def prompt_lines(menu: m.Menu, node: m.Node, code: str) -> list[Line]:
    """The title, then the prompt (menus) or text (sections); a text that says `{hotlines_see}`
    is cut there into parts (`privacy.text.1`, `.2`) around the hotline sentences, so that a
    recorded section stays true whatever a hotline is set to show."""
    kind = "text" if node.kind == m.CONTENT else "prompt"
    lines = [Line(f"{node.id}.title", node.title.get(code, ""))]
    text = node.prompt.get(code, "")
    marker = "{" + m.HOTLINES_SEE + "}"
    if marker not in text:
        return [*lines, Line(f"{node.id}.{kind}", text)]
    for number, part in enumerate(text.split(marker), 1):
        if number > 1:
            lines += hotlines_see(menu, code)
        lines.append(Line(f"{node.id}.{kind}.{number}", part.strip()))
    return lines


def hotlines_see(menu: m.Menu, lang: str) -> list[Line]:
    """Which number each hotline is shown on a transfer, from its own settings: the privacy
    section says this, so an edit to a hotline cannot make that section untrue."""
    shown = [h for h in menu.hotlines.values() if h.show_caller_number]
    if not shown:
        return [message(menu, "number_hidden", lang)]
    sentences = [message(menu, "number_shown", lang, h.id, hotline=h.name[lang]) for h in shown]
    if len(shown) < len(menu.hotlines):
        sentences.append(message(menu, "number_hidden_others", lang))
    return sentences


def dial_document(
    menu: m.Menu, hotline: m.Hotline, voice: Voice, node_id: str, tried: tuple[str, ...], prefix: Line | None, line: str
) -> str:
    """Put the caller through to a hotline, after `prefix` ("we could not reach..."); `line` (the
    number they dialled) is what the hotline sees."""
    response = VoiceResponse()
    voice.say(response, prefix, message(menu, "connecting", voice.code, hotline.id, hotline=hotline.name[voice.code]))
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
    voice.say(response, message(menu, "goodbye", voice.code))
    response.hangup()
    return response.to_xml()


def numbers_document(menu: m.Menu, voice: Voice, failed: m.Hotline | None, back: str) -> str:
    """Every hotline failed: say so, read the numbers slowly, twice, and go back to the menu."""
    response = VoiceResponse()
    code = voice.code
    failed_line = message(menu, "transfer_failed", code, failed.id, hotline=failed.name[code]) if failed else None
    voice.say(response, failed_line, message(menu, "both_failed", code))
    for _ in range(2):
        read_numbers(response, menu, voice, menu.hotlines.values())
    response.redirect(url("menu", **voice.state(node=back)), method="POST")
    return response.to_xml()
