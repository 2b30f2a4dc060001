"""The menu's side of speech: what can be said at a node, and how Twilio should listen there.

Pure functions of the frozen menu (the renderer caches what they give per node and
language): the choices a caller may name at a node, the hints Twilio gets, and the
attributes of `<Gather>` when the menu has speech on.
"""

from __future__ import annotations

from ..menu import model as m
from .hearing import Choice, normalise

MAX_HINTS = 500  # Twilio's limit for one <Gather> (error 13330)
LANGUAGE = "language"  # an Action kind only speech makes: switch the call's language
# Sentences the speech path needs; a menu may word them itself under `messages:`.
DEFAULT_MESSAGES = {
    "speech_hint": {"en": "You can say what you need, or press a key.", "es": "Puede decir lo que necesita, u oprimir una tecla."},
    "not_sure": {"en": "Sorry, I am not sure I understood.", "es": "Disculpe, no estoy segura de haber entendido."},
    "say_choice": {"en": "You can say: {phrase}.", "es": "Puede decir: {phrase}."},
}


def message(menu: m.Menu, name: str, lang: str, **values: str) -> str:
    text = menu.messages.get(name, {}).get(lang) or DEFAULT_MESSAGES[name].get(lang) or DEFAULT_MESSAGES[name]["en"]
    return text.format(**values)


def choices(menu: m.Menu, node: m.Node, lang: str) -> list[Choice]:
    """Everything a caller may ask for at `node`, by voice: its options and the global keys,
    the hotlines, any section by its topic, and the other languages."""
    keys_for, labels = {}, {}
    for key, option in node.keys.items():
        keys_for.setdefault(option.action, key)
        if option.label.get(lang):
            labels.setdefault(option.action, option.label[lang])
    found: list[Choice] = []

    def add(action: m.Action, label: str, phrases: m.Phrases, every_language: bool = False) -> None:
        said = tuple(dict.fromkeys(p for code, items in phrases.items() if every_language or code == lang for p in items))
        if said:
            label = labels.get(action) or label or said[0][:1].upper() + said[0][1:]  # what this menu calls it
            found.append(Choice(action, label, keys_for.get(action), tuple(dict.fromkeys(normalise(p) for p in said)), said))

    for option in node.keys.values():
        add(option.action, option.label.get(lang, ""), option.say)
    for hotline in menu.hotlines.values():
        add(m.Action(m.TRANSFER, hotline.id), hotline.name.get(lang, ""), hotline.say)
    for target in menu.nodes.values():
        add(m.Action(m.GOTO, target.id), target.title.get(lang, ""), target.say)
    for language in menu.languages.values():
        if language.code != lang:
            add(m.Action(LANGUAGE, language.code), language.switch_label, language.say, every_language=True)
    return found


def gather_options(menu: m.Menu, node: m.Node, language: m.Language, found: list[Choice]) -> dict[str, object]:
    """`<Gather>` attributes for speech at this node (none when the menu listens for keys only)."""
    speech = menu.speech.get(language.code)
    if speech is None:
        return {"input": "dtmf"}
    hints = list(dict.fromkeys(p.replace(",", " ") for choice in found for p in choice.spoken))[:MAX_HINTS]
    options: dict[str, object] = {
        "input": "dtmf speech",
        "language": speech.language,
        "speech_timeout": speech.timeout,
        # A section is read at length, maybe in a car or on a street: noise must not cut it off.
        "barge_in": node.kind == m.MENU,
    }
    if hints:
        options["hints"] = ", ".join(hints)
    if speech.model:
        options["speech_model"] = speech.model
    return options
