"""How long things take to hear: measured on the TwiML the renderer really produces.

Lint's targets (issue #16): the first choice within 12 seconds in every language (the 911
sentence first), and a caller who says nothing put through to a person within 45 seconds of
the call's start, in the language of the call. Speech is timed at 150 words a minute in
English and 160 in Spanish (ivr/menu/spoken.py); a recording that is played counts its real
length (a key it names is heard at the same share of it as of its words); a Gather's timeout
is waited in full.
"""

from __future__ import annotations

import heapq
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from ..line.render import Renderer
from ..line.sentences import words
from ..menu import model as m
from ..menu.spoken import seconds

MAX_FIRST_CHOICE_SECONDS = 12
MAX_SILENT_SECONDS = 45
PRESS = re.compile(r"\b(?:press|oprima|marque|pulse|presione)\s+(?:el\s+|la\s+tecla\s+)?(\S+?)[.,;]?(?:\s|$)", re.IGNORECASE)


@dataclass(frozen=True)
class Reach:
    hotline: str
    language: str
    presses: int
    seconds: float
    keys: tuple[str, ...]


class Timer:
    """Times a menu as a caller hears it, document by document."""

    def __init__(self, menu: m.Menu, renderer: Renderer | None = None):
        self.menu = menu
        self.renderer = renderer or Renderer(menu)
        self.codes = {lang.say_language: code for code, lang in menu.languages.items()}
        self._words: dict[str, str] | None = None  # what each recording says, when one is played

    def spoken(self, xml: str, lang: str) -> list[tuple[str, str, float]]:
        """(words, language code, seconds) of each <Say> and <Play> in a document, in order."""
        heard = []
        for element in ET.fromstring(xml).iter():
            if element.tag == "Say":
                text = "".join(element.itertext())
                code = self.codes.get(element.get("language", ""), lang)
                heard.append((text, code, seconds(text, code)))
            elif element.tag == "Play":
                heard.append(self.played(unquote((element.text or "").strip()).removeprefix("audio/"), lang))
        return heard

    def played(self, file: str, lang: str) -> tuple[str, str, float]:
        """A recording: the words it stands for, and how long it really lasts."""
        if self._words is None:
            self._words = words(self.menu)
        code = file.split("/", 1)[0] if file.split("/", 1)[0] in self.menu.languages else lang
        text = self._words.get(file.rsplit(".", 1)[0], "")
        recording = self.menu.recordings.files.get(file)
        return text, code, recording.seconds if recording is not None else seconds(text, code)

    def said(self, node_id: str, lang: str) -> list[tuple[str, str, float]]:
        """What a caller hears on first arrival at a node."""
        return self.spoken(self.renderer.node(node_id, lang).xml, lang)

    def node_seconds(self, node_id: str, lang: str) -> float:
        return sum(length for _, _, length in self.said(node_id, lang))

    def seconds_until(self, node_id: str, lang: str, sentence: str) -> float:
        """Seconds from arriving at a node until `sentence` has been heard in full."""
        total = 0.0
        for text, code, length in self.said(node_id, lang):
            if sentence in text:
                return total + share(text, text.index(sentence) + len(sentence), code, length)
            total += length
        return total

    def seconds_until_key(self, node_id: str, lang: str, keys: set[str] | None = None) -> tuple[float, str | None]:
        """Seconds from arriving at a node until a key is first named ("... press 0"), and which
        key; `keys` limits it to those (default: any key but a language switch)."""
        switch = {language.switch_key for language in self.menu.languages.values()}
        total = 0.0
        for text, code, length in self.said(node_id, lang):
            names = {name.lower(): key for key, name in self.menu.languages[code].key_names.items()}
            for match in PRESS.finditer(text):
                word = match.group(1).lower().strip(".,;")
                key = word if word in m.PHONE_KEYS else names.get(word)
                if key is not None and (key in keys if keys is not None else key not in switch):
                    return total + share(text, match.end(), code, length), key
            total += length
        return total, None

    def first_choice(self, lang: str) -> float:
        """Seconds from the call's start (or from choosing the language) to the first choice."""
        return self.seconds_until_key(self.menu.start, lang)[0]

    def silent_caller(self, lang: str) -> float:
        """Seconds from the call's start until a caller who says nothing is put through to a
        person: every document heard in full, every Gather's timeout waited out."""
        xml = self.renderer.entry(lang).xml
        total = 0.0
        for _ in range(30):  # a menu that never transfers a silent caller stops here
            root = ET.fromstring(xml)
            total += sum(length for _, _, length in self.spoken(xml, lang))
            if root.find("Dial") is not None:
                return total
            gather = root.find("Gather")
            if gather is not None:
                total += float(gather.get("timeout", "5"))
            redirect = root.find("Redirect")
            if redirect is None:
                break
            state = {k: v[0] for k, v in parse_qs(urlsplit(redirect.text or "").query).items()}
            xml = self.renderer.menu_request(
                state.get("node", ""), lang, int(state.get("s", 0)), int(state.get("i", 0)), state.get("n"), slow=state.get("slow") == "1"
            ).xml
        return float("inf")

    def reach(self) -> list[Reach]:
        """Fewest presses (then fewest seconds) from the start to each hotline, per language."""
        menu = self.menu
        best: dict[tuple[str, str], Reach] = {}
        queue: list[tuple[int, float, tuple[str, ...], tuple[str, str]]] = [(0, 0.0, (), (menu.start, menu.default_language))]
        done: set[tuple[str, str]] = set()
        while queue:
            presses, secs, keys, state = heapq.heappop(queue)
            if state in done:
                continue
            done.add(state)
            node_id, lang = state
            for key, target, hotline in edges(menu, menu.nodes[node_id], lang):
                wait, named = self.seconds_until_key(node_id, lang, {key})
                if named is None:
                    wait = self.node_seconds(node_id, lang)
                if hotline:
                    dial = self.renderer.transfer(hotline, lang, node_id, (hotline,)).xml
                    connect = sum(length for _, _, length in self.spoken(dial, lang))
                    candidate = Reach(hotline, lang, presses + 1, secs + wait + connect, keys + (key,))
                    current = best.get((hotline, lang))
                    if current is None or (candidate.presses, candidate.seconds) < (current.presses, current.seconds):
                        best[(hotline, lang)] = candidate
                elif target not in done:
                    heapq.heappush(queue, (presses + 1, secs + wait, keys + (key,), target))
        return [best[k] for k in sorted(best, key=lambda k: (list(menu.hotlines).index(k[0]), list(menu.languages).index(k[1])))]


def share(text: str, end: int, code: str, length: float) -> float:
    """How long it takes to hear `text` up to `end`, in something that lasts `length` in all."""
    whole = seconds(text, code)
    return length * seconds(text[:end], code) / whole if whole else length


def edges(menu: m.Menu, node: m.Node, lang: str) -> list[tuple[str, tuple[str, str] | None, str | None]]:
    """(key, next state or None, hotline or None) for every key that does something here."""
    result = []
    for key, option in node.keys.items():
        action = option.action
        if action.kind == m.TRANSFER:
            result.append((key, None, action.target))
        elif action.kind == m.GOTO:
            result.append((key, (action.target, lang), None))
        elif action.kind == m.NEXT and node.next:
            result.append((key, (node.next, lang), None))
        elif action.kind == m.BACK and node.parent:
            result.append((key, (node.parent, lang), None))
    for other in menu.languages.values():
        if other.code != lang and other.switch_key and other.switch_key not in node.keys:
            result.append((other.switch_key, (node.id, other.code), None))
    return result


def length_table(menu: m.Menu) -> str:
    """Estimated seconds of speech per node and language (the prompt or section, and the whole
    first visit), then the front door's two targets per language."""
    timer = Timer(menu)
    codes = list(menu.languages)
    header = f"  {'node':<22}{'kind':<9}" + "".join(f"{code + ' text':>10}{code + ' all':>9}" for code in codes)
    lines = [
        "Spoken length per node in seconds (text: its words, estimated; all: the first visit, recordings at their real length):",
        header,
    ]
    for node in menu.nodes.values():
        row = f"  {node.id:<22}{node.kind:<9}"
        for code in codes:
            text = " ".join(filter(None, [node.title.get(code, ""), node.prompt.get(code, "")]))
            row += f"{seconds(text, code):>10.0f}{timer.node_seconds(node.id, code):>9.0f}"
        lines.append(row)
    first = ", ".join(f"{code} {timer.first_choice(code):.0f} s" for code in codes)
    silent = ", ".join(f"{code} {timer.silent_caller(code):.0f} s" for code in codes)
    lines.append(f"  time to the first choice (target <= {MAX_FIRST_CHOICE_SECONDS} s): {first}")
    lines.append(f"  a silent caller reaches a person after (target <= {MAX_SILENT_SECONDS} s): {silent}")
    return "\n".join(lines)


def reach_table(reach: list[Reach]) -> str:
    lines = [
        "Hotline reach from the start (fewest key presses; seconds at 150 words a minute, 160 in Spanish, recordings at their real length):",
        f"  {'hotline':<12}{'language':<10}{'presses':>8}{'seconds':>9}  keys",
    ]
    for r in reach:
        lines.append(f"  {r.hotline:<12}{r.language:<10}{r.presses:>8}{r.seconds:>9.0f}  {' '.join(r.keys)}")
    return "\n".join(lines)
