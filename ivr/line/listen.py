"""The menu's side of speech: what can be said at a node, and how Twilio should listen there.

Pure functions of the frozen menu (the renderer caches what they give per node and
language): the choices a caller may name at a node, the hints Twilio gets, and the
attributes of `<Gather>` when the menu has speech on.
"""

from __future__ import annotations

from dataclasses import replace

from ..menu import model as m
from ..speech.words import normalise, plain
from .hearing import PERSON_KEY, Choice

MAX_HINTS = 500  # Twilio's limit for one <Gather> (error 13330)
LANGUAGE = "language"  # an Action kind only speech makes: switch the call's language
EXAMPLES = 3  # "You can say Colorado, learn, or someone": a few of this node's choices


def _choice(action: m.Action, label: str, phrases: m.Phrases, lang: str, every_language: bool = False) -> Choice | None:
    said = tuple(dict.fromkeys(p for code, items in phrases.items() if every_language or code == lang for p in items))
    if not said:
        return None
    first = plain(said[0])
    return Choice(action, label or first[:1].upper() + first[1:], None, tuple(dict.fromkeys(normalise(plain(p)) for p in said)), said)


def shared_choices(menu: m.Menu, lang: str) -> list[Choice]:
    """What can be said on every menu: the hotlines, any section by its topic, the other
    languages. Built once per language, not once per node (a big menu has thousands)."""
    found = [_choice(m.Action(m.TRANSFER, h.id), h.name.get(lang, ""), h.say, lang) for h in menu.hotlines.values()]
    found += [_choice(m.Action(m.GOTO, n.id), n.title.get(lang, ""), n.say, lang) for n in menu.nodes.values() if n.say]
    found += [
        _choice(m.Action(LANGUAGE, code), language.switch_label, language.say, lang, every_language=True)
        for code, language in menu.languages.items()
        if code != lang
    ]
    return [choice for choice in found if choice is not None]


def choices(node: m.Node, lang: str, shared: list[Choice]) -> list[Choice]:
    """Everything a caller may ask for at `node`, by voice: its own keys (options and the global
    keys), and what can be said everywhere, named by this node's key and label where it has one."""
    keys_for: dict[m.Action, str] = {}
    labels: dict[m.Action, str] = {}
    for key, option in node.keys.items():
        keys_for.setdefault(option.action, key)
        if option.label.get(lang):
            labels.setdefault(option.action, option.label[lang])
    # A person is asked for in any language: "páseme con alguien" on the English line is heard.
    found = [_choice(option.action, option.label.get(lang, ""), option.say, lang, key == PERSON_KEY) for key, option in node.keys.items()]
    # Asking by name for the section being read ("the numbers" at get_help) is asking to hear it
    # again, and for the menu above ("los temas") is going back: one choice with "repeat" or
    # "back" (or "next"), not a rival to it.
    moves = {m.REPEAT: node.id, m.BACK: node.parent, m.NEXT: node.next}
    same = {m.Action(m.GOTO, moves[o.action.kind]): o.action for o in node.keys.values() if moves.get(o.action.kind)}
    found += [replace(choice, action=same.get(choice.action, choice.action)) for choice in shared]
    return [
        replace(choice, key=keys_for[choice.action], label=labels.get(choice.action) or choice.label)
        if choice.action in keys_for
        else choice
        for choice in found
        if choice is not None
    ]


def hints(node: m.Node, lang: str, shared: list[Choice]) -> list[str]:
    """The phrases a caller may say at a node, as written, for Twilio's hints (no Choice objects
    are made: a big menu renders thousands of nodes, and most are never spoken to). All of
    them: `<Gather>` takes the first MAX_HINTS, and lint warns about the rest."""
    own = (p for option in node.keys.values() for p in option.say.get(lang, ()))
    everywhere = (p for choice in shared for p in choice.spoken)
    return list(dict.fromkeys(plain(p).replace(",", " ") for p in (*own, *everywhere)))


def examples(menu: m.Menu, node: m.Node, lang: str) -> list[str]:
    """A few things a caller may say at this node, in the order its choices are read, and how
    to ask for a person: what "Sorry, I did not understand" goes on to suggest."""
    found: list[str] = []
    for option in node.spoken_options:
        action = option.action
        said = option.say.get(lang) or (
            menu.nodes[action.target].say.get(lang)
            if action.kind == m.GOTO
            else menu.hotlines[action.target].say.get(lang)
            if action.kind == m.TRANSFER
            else None
        )
        if said:
            found.append(plain(said[0]))
    zero = node.keys.get("0")
    person = plain(zero.say[lang][0]) if zero is not None and zero.say.get(lang) else None
    found = list(dict.fromkeys(found))[:EXAMPLES]
    if person and person not in found:
        found.append(person)
    return found


def gather_options(menu: m.Menu, node: m.Node, language: m.Language, hinted: list[str]) -> dict[str, object]:
    """`<Gather>` attributes for speech at this node (none when the menu listens for keys only)."""
    speech = menu.speech.get(language.code)
    if speech is None:
        return {"input": "dtmf"}
    options: dict[str, object] = {
        "input": "dtmf speech",
        "language": speech.language,
        "speech_timeout": speech.timeout,
        # A section is read at length, maybe in a car or on a street: noise must not cut it off.
        "barge_in": node.kind == m.MENU,
    }
    if hinted:
        options["hints"] = ", ".join(hinted[:MAX_HINTS])
    if speech.model:
        options["speech_model"] = speech.model
    return options
