"""`python -m ivr lint`: advice for a valid menu, as warnings at file:line:column.

Validation says whether a menu can be served; lint says whether it serves callers
well. Spoken lengths are measured on the TwiML the renderer really produces, so
lint times exactly what a caller hears.
"""

from __future__ import annotations

import heapq
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from ..line.render import Renderer
from ..line.twiml import choice_sentences
from ..menu import model as m
from ..menu.audio import AudioProblem, duration
from ..menu.problems import MenuProblem
from ..menu.spoken import seconds
from .speech_lint import speech_warnings

MAX_OPTIONS = 5
MAX_SECTION_SECONDS = 60
MAX_PROMPT_SECONDS = 20
MAX_FIRST_CHOICE_SECONDS = 20
AUDIO_RATIO = (0.5, 2.0)  # a recording this much shorter or longer than its text is probably the wrong one
PRESS = re.compile(r"\b(?:press|oprima|marque|pulse|presione)\s+(?:el\s+|la\s+tecla\s+)?(\S+?)[.,;]?(?:\s|$)", re.IGNORECASE)


@dataclass(frozen=True)
class Reach:
    hotline: str
    language: str
    presses: int
    seconds: float
    keys: tuple[str, ...]


class Linter:
    def __init__(self, menu: m.Menu):
        self.menu = menu
        self.renderer = Renderer(menu)
        self.warnings: list[MenuProblem] = []

    def warn(self, node: m.Node, where: m.Location | None, message: str, code: str) -> None:
        """A warning about `node`, at `where` in the file (the node itself when unknown)."""
        where = where or node.where
        file, line, column = where or (self.menu.path, 1, 1)
        self.warnings.append(MenuProblem(file, line, column, message, "warning", code, node=node.id))

    # --- speech, as rendered ------------------------------------------------------------
    def said(self, node_id: str, lang: str) -> list[tuple[str, str]]:
        """(text, language code) of each <Say> on first arrival at a node."""
        codes = {lang.say_language: code for code, lang in self.menu.languages.items()}
        root = ET.fromstring(self.renderer.node(node_id, lang).xml)
        return [(say.text or "", codes.get(say.get("language", ""), lang)) for say in root.iter("Say")]

    def seconds_until(self, node_id: str, lang: str, sentence: str) -> float:
        """Seconds from arriving at a node until `sentence` has been heard in full."""
        total = 0.0
        for text, code in self.said(node_id, lang):
            if sentence in text:
                return total + seconds(text[: text.index(sentence) + len(sentence)], code)
            total += seconds(text, code)
        return total

    def node_seconds(self, node_id: str, lang: str) -> float:
        return sum(seconds(text, code) for text, code in self.said(node_id, lang))

    # --- the checks ---------------------------------------------------------------------
    def run(self) -> list[MenuProblem]:
        self.check_reachability()
        for node in self.menu.nodes.values():
            self.check_mentions(node)
            self.check_size(node)
            self.check_lengths(node)
            self.check_translations(node)
            self.check_audio(node)
        self.check_first_choice()
        for node, where, message, code in speech_warnings(self.menu):
            self.warn(node, where, message, code)
        return sorted(self.warnings)

    def edges(self, node: m.Node, lang: str) -> list[tuple[str, tuple[str, str] | None, str | None]]:
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
        for other in self.menu.languages.values():
            if other.code != lang and other.switch_key and other.switch_key not in node.keys:
                result.append((other.switch_key, (node.id, other.code), None))
        return result

    def check_reachability(self) -> None:
        menu = self.menu
        seen = {(menu.start, menu.default_language)}
        stack = list(seen)
        while stack:
            node_id, lang = stack.pop()
            for _, state, _ in self.edges(menu.nodes[node_id], lang):
                if state and state not in seen:
                    seen.add(state)
                    stack.append(state)
        reached = {node_id for node_id, _ in seen}
        for node in menu.nodes.values():
            if node.id not in reached:
                self.warn(
                    node,
                    node.where,
                    f"No caller can reach node '{node.id}': no key on any menu leads to it. Add an option with 'goto: {node.id}', or delete the node.",
                    "unreachable",
                )
        for node in menu.nodes.values():
            if not self.can_reach_help(node):
                self.warn(
                    node,
                    node.where,
                    f"From node '{node.id}' a caller can reach neither a hotline nor a way back. Bind '0' to a transfer or give it a way back.",
                    "dead-end",
                )

    def can_reach_help(self, node: m.Node) -> bool:
        seen, stack = {node.id}, [node.id]
        while stack:
            current = self.menu.nodes[stack.pop()]
            if current.id != node.id and current.id == self.menu.start:
                return True
            for _, state, hotline in self.edges(current, self.menu.default_language):
                if hotline:
                    return True
                if state and state[0] not in seen:
                    seen.add(state[0])
                    stack.append(state[0])
        return False

    def check_mentions(self, node: m.Node) -> None:
        for code, text in node.prompt.items():
            language = self.menu.languages[code]
            names = {name.lower(): key for key, name in language.key_names.items()}
            for match in PRESS.finditer(text):
                word = match.group(1).lower().strip(".,;")
                key = word if word in m.PHONE_KEYS else names.get(word)
                switch = {lang.switch_key for lang in self.menu.languages.values()}
                if key is not None and key not in node.keys and key not in switch:
                    self.warn(
                        node,
                        node.text_at.get(code, node.where),
                        f"The {code} text of node '{node.id}' says \"{match.group(0).strip()}\", but key {key} does nothing on this node. Fix the text or add an option for key {key}.",
                        "unbound-key",
                    )
        for key, option in node.keys.items():
            if option.announce:
                continue
            mentioned = any(self._mentions(text, key, self.menu.languages[code]) for code, text in node.prompt.items())
            if not mentioned:
                self.warn(
                    node,
                    option.where or node.where,
                    f"Key {key} works on node '{node.id}' but is never announced and no prompt mentions it. Remove 'announce: false' or mention the key in the prompt.",
                    "silent-key",
                )

    @staticmethod
    def _mentions(text: str, key: str, language: m.Language) -> bool:
        return any(match.group(1).strip(".,;").lower() in (key, language.key_name(key).lower()) for match in PRESS.finditer(text))

    def check_size(self, node: m.Node) -> None:
        if len(node.options) > MAX_OPTIONS:
            self.warn(
                node,
                node.where,
                f"Node '{node.id}' has {len(node.options)} options; callers remember at most {MAX_OPTIONS}. Split it into two menus.",
                "too-many-options",
            )

    def check_lengths(self, node: m.Node) -> None:
        for code, text in node.prompt.items():
            spoken = seconds(" ".join(filter(None, [node.title.get(code, ""), text])), code)
            limit = MAX_SECTION_SECONDS if node.kind == m.CONTENT else MAX_PROMPT_SECONDS
            if spoken > limit:
                kind = "section" if node.kind == m.CONTENT else "prompt"
                self.warn(
                    node,
                    node.text_at.get(code, node.where),
                    f"The {code} {kind} of node '{node.id}' takes about {spoken:.0f} seconds to say (over {limit}). Shorten it or split it.",
                    "too-long",
                )

    def check_translations(self, node: m.Node) -> None:
        texts = [("prompt" if node.kind == m.MENU else "text", node.prompt, node.text_at), ("title", node.title, {})]
        texts += [(f"label of key {o.key}", o.label, {}) for o in node.options]
        for what, text, where in texts:
            values = list(text.items())
            for i, (code_a, a) in enumerate(values):
                for code_b, b in values[i + 1 :]:
                    if a == b:
                        self.warn(
                            node,
                            where.get(code_b, node.where),
                            f"The {code_b} {what} of node '{node.id}' is the same as the {code_a} one; it probably still needs translating.",
                            "untranslated",
                        )

    def check_audio(self, node: m.Node) -> None:
        declared = node.audio_declared
        for code, name in declared.items():
            where = node.audio_at.get(code, node.where)
            path = Path(self.menu.audio_dir) / name
            if not path.is_file():
                self.warn(
                    node,
                    where,
                    f"Recording '{name}' for node '{node.id}' ({code}) is not in {self.menu.audio_dir}; callers hear the text spoken instead. Add the file or remove the line.",
                    "audio-missing",
                )
                continue
            try:
                length = duration(path)
            except AudioProblem as err:
                self.warn(node, where, f"Recording '{name}' for node '{node.id}' {err}. Export it as WAV or MP3.", "audio-bad")
                continue
            text = " ".join(filter(None, [node.title.get(code, ""), node.prompt.get(code, "")]))
            expected = seconds(text, code)
            if expected and not (AUDIO_RATIO[0] <= length / expected <= AUDIO_RATIO[1]):
                self.warn(
                    node,
                    where,
                    f"Recording '{name}' for node '{node.id}' lasts {length:.1f} s but its {code} text takes about {expected:.0f} s to say; is it the right recording?",
                    "audio-length",
                )
        if declared:
            for code in self.menu.languages:
                if code not in declared:
                    self.warn(
                        node,
                        node.where,
                        f"Node '{node.id}' has a recording in {', '.join(declared)} but not in {code}; {code} callers hear the synthetic voice instead.",
                        "audio-one-language",
                    )

    def check_first_choice(self) -> None:
        menu = self.menu
        start = menu.nodes[menu.start]
        for code, language in menu.languages.items():
            sentences = choice_sentences(self.menu, start, language)
            if not sentences:
                continue
            spoken = self.seconds_until(start.id, code, sentences[0][1])
            if spoken > MAX_FIRST_CHOICE_SECONDS:
                self.warn(
                    start,
                    start.where,
                    f"A {code} caller waits about {spoken:.0f} seconds before the first choice (over {MAX_FIRST_CHOICE_SECONDS}). Shorten the greeting or the start prompt.",
                    "slow-start",
                )

    # --- hotline reach ------------------------------------------------------------------
    def reach(self) -> list[Reach]:
        """Fewest presses (then fewest seconds) from the start to each hotline, per language."""
        menu = self.menu
        best: dict[tuple[str, str], Reach] = {}
        start = (menu.start, menu.default_language)
        queue: list[tuple[int, float, tuple[str, ...], tuple[str, str]]] = [(0, 0.0, (), start)]
        done: set[tuple[str, str]] = set()
        while queue:
            presses, secs, keys, state = heapq.heappop(queue)
            if state in done:
                continue
            done.add(state)
            node_id, lang = state
            node = menu.nodes[node_id]
            sentences = {o.key: s for o, s in choice_sentences(menu, node, menu.languages[lang])}
            for other in menu.languages.values():
                if other.code != lang:
                    sentences.setdefault(other.switch_key, other.press_sentence(other.switch_label, other.switch_key))
            for key, target, hotline in self.edges(node, lang):
                wait = self.seconds_until(node_id, lang, sentences[key]) if key in sentences else self.node_seconds(node_id, lang)
                if hotline:
                    connect = seconds(menu.message("connecting", lang, hotline=menu.hotlines[hotline].name[lang]), lang)
                    candidate = Reach(hotline, lang, presses + 1, secs + wait + connect, keys + (key,))
                    current = best.get((hotline, lang))
                    if current is None or (candidate.presses, candidate.seconds) < (current.presses, current.seconds):
                        best[(hotline, lang)] = candidate
                elif target not in done:
                    heapq.heappush(queue, (presses + 1, secs + wait, keys + (key,), target))
        return [best[k] for k in sorted(best, key=lambda k: (list(menu.hotlines).index(k[0]), list(menu.languages).index(k[1])))]


def lint_menu(menu: m.Menu) -> tuple[list[MenuProblem], list[Reach]]:
    linter = Linter(menu)
    return linter.run(), linter.reach()


def length_table(menu: m.Menu) -> str:
    """Estimated seconds of speech per node and language: the prompt or section, and the whole
    first visit (greeting, prompt or section, and every choice)."""
    linter = Linter(menu)
    codes = list(menu.languages)
    header = f"  {'node':<22}{'kind':<9}" + "".join(f"{code + ' text':>10}{code + ' all':>9}" for code in codes)
    lines = ["Spoken length per node (estimated seconds):", header]
    for node in menu.nodes.values():
        row = f"  {node.id:<22}{node.kind:<9}"
        for code in codes:
            text = " ".join(filter(None, [node.title.get(code, ""), node.prompt.get(code, "")]))
            row += f"{seconds(text, code):>10.0f}{linter.node_seconds(node.id, code):>9.0f}"
        lines.append(row)
    start = menu.nodes[menu.start]
    first = []
    for code, language in menu.languages.items():
        sentences = choice_sentences(linter.menu, start, language)
        if sentences:
            first.append(f"{code} {linter.seconds_until(start.id, code, sentences[0][1]):.0f} s")
    lines.append(f"  time to the first choice (target <= {MAX_FIRST_CHOICE_SECONDS} s): " + ", ".join(first))
    return "\n".join(lines)


def reach_table(reach: list[Reach]) -> str:
    lines = [
        "Hotline reach from the start (fewest key presses, estimated seconds at 150 words a minute):",
        f"  {'hotline':<12}{'language':<10}{'presses':>8}{'seconds':>9}  keys",
    ]
    for r in reach:
        lines.append(f"  {r.hotline:<12}{r.language:<10}{r.presses:>8}{r.seconds:>9.0f}  {' '.join(r.keys)}")
    return "\n".join(lines)
