"""Lint for speech: phrases that point two ways, phrases missing in a language, choices a
caller can press but not say, and more hints than Twilio takes."""

from __future__ import annotations

from collections.abc import Iterator

from ..line import listen
from ..menu import model as m
from ..speech.phrases import FEARED, compile_phrase, floor

Warning = tuple[m.Node, m.Location | None, str, str]  # node, where, message, code


def speech_warnings(menu: m.Menu) -> Iterator[Warning]:
    if not menu.speech:
        return
    codes = list(menu.languages)
    shared = {lang: listen.shared_choices(menu, lang) for lang in codes}  # once, not once per node
    for node in menu.nodes.values():
        for lang in codes:
            found = listen.choices(node, lang, shared[lang])
            meanings: dict[str, set[m.Action]] = {}
            for choice in found:
                for phrase in choice.phrases:
                    meanings.setdefault(phrase, set()).add(choice.action)
            for phrase, actions in sorted(meanings.items()):
                if len(actions) > 1:
                    what = " and ".join(sorted(str(a) for a in actions))
                    yield (
                        node,
                        node.where,
                        f"At node '{node.id}' the {lang} phrase '{phrase}' means both {what}; give it to one of them only.",
                        "phrase-twice",
                    )
            said = {choice.action for choice in found}
            for option in node.spoken_options:
                if option.action.kind in (m.GOTO, m.TRANSFER) and option.action not in said:
                    yield (
                        node,
                        option.where or node.where,
                        f"At node '{node.id}' callers in {lang} can press {option.key} ({option.action}) but cannot say it: add 'say:' phrases to the option, or to its node or hotline.",
                        "keys-only",
                    )
            hints = listen.hints(node, lang, shared[lang])  # exactly what the line would hint
            if len(hints) > listen.MAX_HINTS:
                yield (
                    node,
                    node.where,
                    f"Node '{node.id}' has {len(hints)} {lang} phrases; Twilio takes {listen.MAX_HINTS} hints, so the rest are not hinted.",
                    "too-many-hints",
                )
    yield from situation_warnings(menu)
    owners: list[tuple[str, m.Phrases, m.Node | None]] = [(f"hotline '{h.id}'", h.say, None) for h in menu.hotlines.values()]
    owners += [(f"node '{n.id}'", n.say, n) for n in menu.nodes.values()]
    owners += [(f"key {o.key} of node '{n.id}'", o.say, n) for n in menu.nodes.values() for o in n.options]
    start = menu.nodes[menu.start]
    for what, phrases, node in owners:
        missing = [code for code in codes if phrases and not phrases.get(code)]
        if missing:
            yield (
                node or start,
                (node or start).where,
                f"The phrases of {what} have no {', '.join(missing)} version; callers in that language cannot say it.",
                "phrase-language",
            )


def situation_warnings(menu: m.Menu) -> Iterator[Warning]:
    """A phrase the menu lists for two situations (or for one, while the built-in floor has it
    for another) is heard as whichever the line weighs first: give it to one of them only."""
    start = menu.nodes[menu.start]
    heard_as: dict[tuple[str, tuple[frozenset[str], ...]], set[str]] = {}
    for name, by_lang in floor().items():
        for lang, items in by_lang.items():
            for phrase in items:
                pattern = compile_phrase(name, phrase, lang)
                if pattern is not None:
                    heard_as.setdefault((lang, pattern.slots), set()).add("danger" if name == FEARED else name)
    for situation in menu.situations.values():
        for lang, items in situation.say.items():
            for phrase in items:
                pattern = compile_phrase(situation.name, phrase, lang)
                if pattern is not None:
                    heard_as.setdefault((lang, pattern.slots), set()).add(situation.name)
    for situation in menu.situations.values():
        for lang, items in situation.say.items():
            for phrase in items:
                pattern = compile_phrase(situation.name, phrase, lang)
                names = heard_as.get((lang, pattern.slots), set()) if pattern is not None else set()
                dropped = [word for word in phrase.split() if compile_phrase(situation.name, word, lang) is None]
                if pattern is not None and len(pattern.slots) == 1 and dropped:
                    yield (
                        start,
                        situation.where or start.where,
                        f"The {lang} phrase '{phrase}' of situations.{situation.name} is heard as a single word: "
                        f"{' and '.join(repr(w) for w in dropped)} {'is' if len(dropped) == 1 else 'are'} too common to count. "
                        "Add a word that carries meaning, or write the single word if that is what you mean.",
                        "phrase-one-word",
                    )
                if len(names) > 1:
                    others = " and ".join(sorted(names - {situation.name}))
                    yield (
                        start,
                        situation.where or start.where,
                        f"The {lang} phrase '{phrase}' of situations.{situation.name} is also heard as {others}; give it to one of them only.",
                        "situation-twice",
                    )
