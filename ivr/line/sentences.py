"""Every sentence the line can say, by name, in call order: what a recording script lists.

Found by rendering every kind of answer (each node's first visit and its re-prompts, each
transfer and what follows a failed one) with a voice that writes down each sentence as it
is said (`Voice.heard`), so the list comes from the very code that speaks to callers: a
sentence the line can say cannot be missing from it.
"""

from __future__ import annotations

from typing import NamedTuple

from ..menu import model as m
from . import listen, twiml
from .voice import Heard, Voice

# When a sentence is heard, in the order the script shows them.
ON_THE_WAY = "on the way through the menu"
TRANSFERS = "when a caller is put through"
TROUBLE = "when a caller is silent, presses a wrong key or is not understood"
UNSURE = "when the line is not sure what a caller said"
FAILED = "when a hotline does not answer"


class Sentence(NamedTuple):
    code: str  # language
    name: str  # stable name: "welcome.prompt"
    text: str
    when: str  # one of the headings above
    file: str | None = None  # a node's own `audio:` file; None: the name's own file

    @property
    def stem(self) -> str:
        """The recording's name under the audio folder, without extension: "en/welcome.prompt"."""
        return self.file.rsplit(".", 1)[0] if self.file else f"{self.code}/{self.name}"

    def file_name(self, extension: str = ".mp3") -> str:
        return self.file or f"{self.stem}{extension}"


def call_order(menu: m.Menu) -> list[str]:
    """Nodes as a caller meets them: depth first from the start, in the order choices are read;
    then nodes reached only by what a caller says (the 911 sentence, the quiet node)."""
    seen: list[str] = []
    stack = [menu.start]
    while stack:
        node_id = stack.pop()
        if node_id in seen:
            continue
        seen.append(node_id)
        node = menu.nodes[node_id]
        targets = [o.action.target for o in (*node.spoken_options, *node.keys.values()) if o.action.kind == m.GOTO]
        targets += [node.next] if node.next else []
        stack.extend(reversed([t for t in targets if t and t not in seen]))
    return seen + [node_id for node_id in menu.nodes if node_id not in seen]


def catalogue(menu: m.Menu) -> list[Sentence]:
    """Every sentence in every language, once each (by language and name), in call order."""
    found: dict[tuple[str, str], Sentence] = {}
    for language in menu.languages.values():
        for when, heard in _heard(menu, language):
            for item in heard:
                sentence = Sentence(item.code, item.line.name, item.line.text, when, item.file)
                found.setdefault((item.code, sentence.stem), sentence)
    return list(found.values())


def words(menu: m.Menu) -> dict[str, str]:
    """What each recording says, by its name under the audio folder without extension
    ("en/welcome.prompt"): for the timings, `ivr call` and the browser phone."""
    return {sentence.stem: sentence.text for sentence in catalogue(menu)}


def _heard(menu: m.Menu, language: m.Language):  # noqa: ANN202 - a generator of (when, [Heard])
    code, order = language.code, call_order(menu)
    hints: list[str] = []

    def voice() -> tuple[Voice, list[Heard]]:
        heard: list[Heard] = []
        return Voice(language, heard=heard), heard

    for node_id in order:  # each node on arrival, then where its keys put a caller through
        node = menu.nodes[node_id]
        speaker, heard = voice()
        twiml.node_document(menu, node, speaker, hints)
        yield ON_THE_WAY, heard
        for option in node.spoken_options:
            if option.action.kind == m.TRANSFER:
                speaker, heard = voice()
                twiml.dial_document(menu, menu.hotlines[option.action.target], speaker, node.id, (), None, "")
                yield TRANSFERS, heard
    for hotline in menu.hotlines.values():  # put through after trouble, or by the apology
        for reason in ("final", "error"):
            speaker, heard = voice()
            twiml.dial_document(menu, hotline, speaker, menu.start, (), twiml.message(menu, reason, code), "")
            yield TRANSFERS, heard
    shared = listen.shared_choices(menu, code)
    for node_id in order:
        node = menu.nodes[node_id]
        for notice, invalids in ((twiml.SILENCE, 0), (twiml.INVALID, 1), (twiml.UNCLEAR, 0), (twiml.UNCLEAR, 2)):
            speaker, heard = voice()
            twiml.node_document(menu, node, speaker, hints, 1 if notice == twiml.SILENCE else 0, invalids, notice)
            yield TROUBLE, heard
        if node.id == menu.start:
            speaker, heard = voice()
            twiml.node_document(menu, node, speaker, hints, 0, 0, twiml.MOVED)
            yield TROUBLE, heard
    for node_id in order:
        node = menu.nodes[node_id]
        for choice in listen.choices(node, code, shared):
            speaker, heard = voice()
            twiml.node_document(menu, node, speaker, hints, 0, 1, twiml.UNSURE, (choice,))
            yield UNSURE, heard
    for hotline in menu.hotlines.values():
        for other in menu.hotlines.values():
            if other.id != hotline.id:
                speaker, heard = voice()
                failed = twiml.message(menu, "transfer_failed", code, hotline.id, hotline=hotline.name[code])
                twiml.dial_document(menu, other, speaker, menu.start, (), failed, "")
                yield FAILED, heard
        speaker, heard = voice()
        twiml.numbers_document(menu, speaker, hotline, menu.start)
        yield FAILED, heard
    speaker, heard = voice()
    twiml.goodbye_document(menu, speaker)
    yield TRANSFERS, heard
