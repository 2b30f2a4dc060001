"""`python -m ivr lint`: advice for a valid menu, as warnings at file:line:column.

Validation says whether a menu can be served; lint says whether it serves callers
well. Spoken lengths are measured on the TwiML the renderer really produces, so
lint times exactly what a caller hears.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import unquote

from ..menu import model as m
from ..menu.audio import AudioProblem, duration
from ..menu.problems import MenuProblem
from ..menu.spoken import seconds
from . import recordings as rec
from .speech_lint import speech_warnings
from .timing import MAX_FIRST_CHOICE_SECONDS, MAX_SILENT_SECONDS, PRESS, Reach, Timer, edges

MAX_OPTIONS = 5
MAX_SECTION_SECONDS = 60
MAX_PROMPT_SECONDS = 20
AUDIO_RATIO = (0.5, 2.0)  # a recording this much shorter or longer than its text is probably the wrong one


class Linter:
    def __init__(self, menu: m.Menu):
        self.menu = menu
        self.timer = Timer(menu)
        self.warnings: list[MenuProblem] = []
        self.announced = {(key, option.action) for node in menu.nodes.values() for key, option in node.keys.items() if option.announce}

    def warn(self, node: m.Node, where: m.Location | None, message: str, code: str) -> None:
        """A warning about `node`, at `where` in the file (the node itself when unknown)."""
        where = where or node.where
        file, line, column = where or (self.menu.path, 1, 1)
        self.warnings.append(MenuProblem(file, line, column, message, "warning", code, node=node.id))

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
        self.check_recordings()
        for node, where, message, code in speech_warnings(self.menu):
            self.warn(node, where, message, code)
        return sorted(self.warnings)

    def check_reachability(self) -> None:
        menu = self.menu
        seen = {(menu.start, menu.default_language)}
        # A node a situation leads to is reached by voice, from anywhere ("police" -> the 911 node).
        seen |= {(s.action.target, menu.default_language) for s in menu.situations.values() if s.action.kind == m.GOTO and menu.speech}
        stack = list(seen)
        while stack:
            node_id, lang = stack.pop()
            for _, state, _ in edges(self.menu, menu.nodes[node_id], lang):
                if state and state not in seen:
                    seen.add(state)
                    stack.append(state)
        reached = {node_id for node_id, _ in seen}
        for node in menu.nodes.values():
            if node.id not in reached:
                self.warn(
                    node,
                    node.where,
                    f"No caller can reach node '{node.id}': no key on any menu (nor any situation under 'situations:') leads to it. Add an option with 'goto: {node.id}', or delete the node.",
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
            for _, state, hotline in edges(self.menu, current, self.menu.default_language):
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
            if option.announce or (key, option.action) in self.announced:  # callers hear of it on the other menus
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

    def check_recordings(self) -> None:
        """What `ivr recordings status` says, as warnings: stale, damaged, unchecked and unused
        recordings, and recordings far longer or shorter than their words."""
        menu, every = self.menu, rec.rows(self.menu)
        for row in every:
            s = row.sentence
            if row.state == rec.MISSING or (s.file and row.state != rec.STALE):  # a node's own audio: check_audio
                continue
            node = menu.nodes.get(s.name.split(".", 1)[0])
            where = (node.text_at.get(s.code) if node else None) or (node.where if node else None) or (menu.path, 1, 1)
            found = []
            if row.state in (rec.STALE, rec.DAMAGED, rec.NEW):
                found.append((f"Recording {row.file} ({s.name}) {row.why()}.", f"recording-{row.state}"))
            if row.length_warning():
                found.append((f"Recording {row.file} ({s.name}) {row.length_warning()}", "recording-length"))
            for message, code in found:
                self.warnings.append(MenuProblem(where[0], where[1], where[2], message, "warning", code, node=node.id if node else ""))
        for file in rec.unused(menu, every):
            message = f"Recording {file} is not played: no sentence has this name. Rename it (`ivr recordings script` lists the names) or remove it."
            self.warnings.append(MenuProblem(menu.path, 1, 1, message, "warning", "recording-unused"))
        if menu.recordings.problem:
            self.warnings.append(MenuProblem(menu.path, 1, 1, f"Recordings: {menu.recordings.problem}.", "warning", "recording-manifest"))

    def played(self, lang: str) -> str:
        """The recordings a caller hears on the front door, with their lengths, for a timing warning."""
        root = ET.fromstring(self.timer.renderer.entry(lang).xml)
        files = [unquote(p.text or "").removeprefix("audio/") for p in root.iter("Play")]
        lengths = [f"{f} {self.menu.recordings.files[f].seconds:.1f} s" for f in files if f in self.menu.recordings.files]
        return f" (recordings at their real length: {', '.join(lengths)})" if lengths else ""

    def check_first_choice(self) -> None:
        """The front door's two targets, per language: the first choice soon, and a person for
        a caller who says nothing."""
        start = self.menu.nodes[self.menu.start]
        for code in self.menu.languages:
            spoken = self.timer.first_choice(code)
            if spoken > MAX_FIRST_CHOICE_SECONDS:
                self.warn(
                    start,
                    start.where,
                    f"A {code} caller waits about {spoken:.0f} seconds before the first choice (over {MAX_FIRST_CHOICE_SECONDS}){self.played(code)}. "
                    "Shorten the greeting or the start prompt (or record them faster), or name a key sooner.",
                    "slow-start",
                )
            silent = self.timer.silent_caller(code)
            if silent > MAX_SILENT_SECONDS:
                self.warn(
                    start,
                    start.where,
                    f"A {code} caller who says nothing reaches a person after about {silent:.0f} seconds (over {MAX_SILENT_SECONDS}){self.played(code)}. "
                    "Give the start node fewer silences or a shorter timeout under 'retry:', or shorten what it says.",
                    "slow-to-a-person",
                )


def lint_menu(menu: m.Menu) -> tuple[list[MenuProblem], list[Reach]]:
    linter = Linter(menu)
    return linter.run(), linter.timer.reach()
