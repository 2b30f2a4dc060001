"""Which TwiML a caller gets, given the menu and the call's state: the line's decisions.

All state a call needs (node, language, silences, wrong keys, hotlines tried) travels in
the relative action/Redirect URLs our TwiML gives Twilio (twiml.py writes them), so any
worker can answer the next request, and the same inputs always give the same answer: which
is what makes answers cacheable. Each answer also says what it means for the anonymous
statistics (events.py).
"""

from __future__ import annotations

import time
from typing import NamedTuple

from ..menu import model as m
from . import hearing, listen, sentences, twiml
from .events import BOTH_FAILED, ESCALATION, FAILOVER, LANGUAGE, SECTION, SITUATION, TRANSFER, Event
from .twiml import INVALID, MOVED, NOTICES, SILENCE, UNCLEAR, UNSURE, Line, Voice

DIAL_SUCCESS = ("completed", "answered")


class Answer(NamedTuple):
    """A TwiML document, and what it means for the anonymous statistics (see events.py)."""

    xml: str
    events: tuple[Event, ...] = ()

    def plus(self, *events: Event) -> Answer:
        return Answer(self.xml, self.events + events)


class Renderer:
    """Renders one frozen menu. A reload makes a new Renderer, so caches never outlive their menu."""

    def __init__(self, menu: m.Menu, cache_size: int = 1024):
        self.menu = menu
        self._first: dict[tuple[str, str], Answer] = {}  # (node, lang) -> first visit, filled by warm()
        self._spoken: dict[tuple[str, str], hearing.Phrasebook] = {}  # (node, lang) -> what can be said there
        self._shared: dict[str, list[hearing.Choice]] = {}  # lang -> what can be said everywhere
        self._understanding: hearing.Understanding | None = None  # what callers may describe, built when first needed
        self._words: dict[str, str] | None = None  # what each recording says, for the simulators
        # Every answer is a pure function of its arguments, so a webhook is a cache lookup.
        # Plain dicts, not functools.lru_cache on bound methods: those make reference cycles
        # that keep a replaced menu alive until the cyclic collector finds them.
        self._cache: dict[tuple, Answer] = {}
        self._cache_size = cache_size

    # --- answers (each a TwiML string, cached) ---------------------------------------------
    def _cached(self, key: tuple, build, *args) -> Answer:  # noqa: ANN001 - a render method
        answer = self._cache.get(key)
        if answer is None:
            answer = build(*args)
            if len(self._cache) >= self._cache_size:
                self._cache.pop(next(iter(self._cache)), None)  # oldest first; bounded memory
            self._cache[key] = answer
        return answer

    def warm(self) -> Renderer:
        """Render every node's first visit in every language now, so that a webhook is a lookup
        (and a menu that cannot be rendered is refused before it goes live).

        It runs in the reload thread while calls are answered: between nodes it hands the
        interpreter to a request that is waiting for it, which would otherwise wait out the
        interpreter's switch interval (5 ms) at every step of its own.
        """
        first = {}
        for node_id in self.menu.nodes:
            for code in self.menu.languages:
                first[(node_id, code)] = self._visit(node_id, code)
            time.sleep(0)
        self._first = first
        return self

    def node(self, node_id: str, lang: str, silences: int = 0, invalids: int = 0, notice: str | None = None, slow: bool = False) -> Answer:
        if not (silences or invalids or notice or slow):
            answer = self._first.get((node_id, lang))
            if answer is not None:
                return answer
        return self._cached(
            ("node", node_id, lang, silences, invalids, notice, slow), self._visit, node_id, lang, silences, invalids, notice, slow
        )

    def _visit(
        self, node_id: str, lang: str, silences: int = 0, invalids: int = 0, notice: str | None = None, slow: bool = False
    ) -> Answer:
        """A node, counted as a section read when the caller hears it afresh (not a re-prompt)."""
        xml = self._node(node_id, lang, silences, invalids, notice, slow=slow)
        if silences or invalids or notice:
            return Answer(xml)
        return Answer(xml, ((self.menu.language(lang).code, SECTION, node_id, 1),))

    def choose(self, node_id: str, lang: str, silences: int, invalids: int, digits: str, line: str = "", slow: bool = False) -> Answer:
        """The caller pressed something (or nothing, if Twilio posts an empty result).

        Anything but one phone key is just "a wrong key", so odd input cannot crowd the cache.
        """
        if digits and digits not in m.PHONE_KEYS:
            digits = "?"
        key = ("choose", node_id, lang, silences, invalids, digits, line, slow)
        return self._cached(key, self._choose, node_id, lang, silences, invalids, digits, line, slow)

    def menu_request(
        self, node_id: str, lang: str, silences: int, invalids: int, notice: str | None, line: str = "", slow: bool = False
    ) -> Answer:
        """A Redirect back to a node: after silence, or plain navigation."""
        key = ("menu", node_id, lang, silences, invalids, notice, line, slow)
        return self._cached(key, self._menu_request, node_id, lang, silences, invalids, notice, line, slow)

    def transfer(
        self,
        hotline_id: str,
        lang: str,
        node_id: str,
        tried: tuple[str, ...],
        reason: str | None = None,
        line: str = "",
        slow: bool = False,
    ) -> Answer:
        """Put the caller through; `reason` names a message said first ("final", "error"). `line` is
        the number the caller dialled: the hotline is shown it instead of the caller's own."""
        key = ("transfer", hotline_id, lang, node_id, tried, reason, line, slow)
        return self._cached(key, self._transfer, hotline_id, lang, node_id, tried, reason, line, slow)

    def entry(self, lang: str | None = None) -> Answer:
        return self.node(self.menu.start, self.menu.language(lang).code)

    def _menu_request(self, node_id: str, lang: str, silences: int, invalids: int, notice: str | None, line: str, slow: bool) -> Answer:
        node, language, silences, invalids = self._where(node_id, lang, silences, invalids)
        if node is None:
            return self.node(self.menu.start, language.code, 0, 0, MOVED, slow)
        if silences >= node.retry.silence_limit:
            return self.final(node, language.code, line, "silence", slow)
        return self.node(node.id, language.code, silences, invalids, notice if notice in NOTICES else None, slow)

    def _where(self, node_id: str, lang: str, silences: int, invalids: int) -> tuple[m.Node | None, m.Language, int, int]:
        """The node a request is about (None if a reload removed it), its language, and the counts clamped."""
        language = self.menu.language(lang)
        node = self.menu.nodes.get(node_id)
        if node is None:
            return None, language, 0, 0
        return (node, language, *self._clamp(node, silences, invalids))

    def _choose(self, node_id: str, lang: str, silences: int, invalids: int, digits: str, line: str, slow: bool) -> Answer:
        node, language, silences, invalids = self._where(node_id, lang, silences, invalids)
        if node is None:
            return self.node(self.menu.start, language.code, 0, 0, MOVED, slow)
        if not digits:
            return self.menu_request(node.id, language.code, silences + 1, invalids, SILENCE, line, slow)
        switch = self._language_for_key(digits, language.code)
        if switch is not None:
            return self.switch(node, language.code, switch, slow)
        option = node.keys.get(digits)
        if option is None:
            if invalids + 1 >= node.retry.invalid_limit:
                return self.final(node, language.code, line, "wrong_keys", slow)
            return self.node(node.id, language.code, silences, invalids + 1, INVALID, slow)
        return self.act(node, option.action, language.code, line, slow)

    def switch(self, node: m.Node, old: str, new: str, slow: bool = False) -> Answer:
        """The caller chose another language: the node again in it, and the call's language moves."""
        events = ((old, LANGUAGE, "", -1), (new, LANGUAGE, "", 1), (new, SECTION, node.id, 1))
        return Answer(self.node(node.id, new, slow=slow).xml, events)

    def act(self, node: m.Node, action: m.Action, lang: str, line: str = "", slow: bool = False) -> Answer:
        if action.kind == m.TRANSFER:
            return self.transfer(action.target, lang, node.id, (action.target,), line=line, slow=slow)
        if action.kind == m.GOTO:
            return self.node(action.target, lang, slow=slow)
        if action.kind == m.NEXT and node.next:
            return self.node(node.next, lang, slow=slow)
        if action.kind == m.BACK and node.parent:
            return self.node(node.parent, lang, slow=slow)
        if action.kind == m.SLOWER:  # what was just said, again, slowly; and slow from now on
            return self.node(node.id, lang, slow=True)
        return self.node(node.id, lang, slow=slow)  # repeat, or back at the top

    def final(self, node: m.Node, lang: str, line: str = "", why: str = "silence", slow: bool = False) -> Answer:
        """Too many silences, wrong keys or unclear words (`why`): never hang up, hand the caller to a
        person. A silent caller was told that staying on the line reaches someone: no more words."""
        reason = None if why == "silence" else "final"
        answer = self.transfer(node.retry.final.target, lang, node.id, (node.retry.final.target,), reason, line, slow)
        return answer.plus((lang, ESCALATION, why, 1))

    def dial_result(
        self, hotline_id: str, lang: str, node_id: str, tried: tuple[str, ...], status: str, line: str = "", slow: bool = False
    ) -> Answer:
        """After a transfer: goodbye if it connected, else the next hotline, else the numbers."""
        connected = status in DIAL_SUCCESS
        key = ("dial", hotline_id, lang, node_id, tried, connected, line, slow)
        return self._cached(key, self._dial_result, hotline_id, lang, node_id, tried, connected, line, slow)

    def hear(
        self,
        node_id: str,
        lang: str,
        silences: int,
        invalids: int,
        said: str,
        confidence: float,
        line: str = "",
        slow: bool = False,
    ) -> Answer:
        """The caller spoke. What they said is never cached, kept or logged: only what it meant."""
        node, language, silences, invalids = self._where(node_id, lang, silences, invalids)
        code = language.code
        if node is None:
            return self.node(self.menu.start, code, 0, 0, MOVED, slow)
        heard = hearing.hear(said, confidence, self.phrasebook(node, code), self.understanding())
        if heard.kind == "situation":  # at once, from anywhere
            return self.described(node, heard.situation, code, line, slow)
        if heard.kind == "key":
            return self.choose(node.id, code, silences, invalids, heard.key, line, slow)
        if heard.kind == "choice" and heard.choice.action.kind == listen.LANGUAGE:
            return self.switch(node, code, heard.choice.action.target, slow)
        if heard.kind == "choice":
            return self.act(node, heard.choice.action, code, line, slow)
        if invalids + 1 >= node.retry.invalid_limit:
            return self.final(node, code, line, "not_understood", slow)
        if heard.kind == "unsure":
            key = ("unsure", node.id, code, silences, invalids + 1, tuple(c.action for c in heard.alternatives), slow)
            return self._cached(key, self._unsure, node.id, code, silences, invalids + 1, heard.alternatives, slow)
        return self.node(node.id, code, silences, invalids + 1, UNCLEAR, slow)  # never "that key": they spoke

    def described(self, node: m.Node, name: str, lang: str, line: str, slow: bool) -> Answer:
        """A situation the caller described: a person at once, or the node that answers it."""
        situation = self.menu.situations.get(name)
        if situation is None:  # a menu without it (speech off, or not configured): a person
            target = node.retry.final.target
            return self.transfer(target, lang, node.id, (target,), "final", line, slow).plus((lang, SITUATION, name, 1))
        action = situation.action
        if action.kind == m.TRANSFER:
            answer = self.transfer(action.target, lang, node.id, (action.target,), "final", line, slow)
        else:
            answer = self.node(action.target, lang, slow=slow)
        return answer.plus((lang, SITUATION, name, 1))

    def _unsure(
        self, node_id: str, lang: str, silences: int, invalids: int, alternatives: tuple[hearing.Choice, ...], slow: bool
    ) -> Answer:
        return Answer(self._node(node_id, lang, silences, invalids, UNSURE, alternatives, slow))

    def phrasebook(self, node: m.Node, lang: str) -> hearing.Phrasebook:
        """What can be said at a node, built once per node and language."""
        book = self._spoken.get((node.id, lang))
        if book is None:  # made when a caller first speaks at this node
            book = self._spoken[(node.id, lang)] = hearing.Phrasebook(listen.choices(node, lang, self.shared_choices(lang)), lang)
        return book

    def understanding(self) -> hearing.Understanding:
        """What callers may describe on this menu, built when a caller first speaks."""
        if self._understanding is None:
            self._understanding = hearing.Understanding(self.menu)
        return self._understanding

    def words(self) -> dict[str, str]:
        """What each sentence's recording says, by its name ("en/welcome.prompt"), made when first asked."""
        if self._words is None:
            self._words = sentences.words(self.menu)
        return self._words

    def shared_choices(self, lang: str) -> list[hearing.Choice]:
        shared = self._shared.get(lang)
        if shared is None:
            shared = self._shared[lang] = listen.shared_choices(self.menu, lang)
        return shared

    def _dial_result(
        self, hotline_id: str, lang: str, node_id: str, tried: tuple[str, ...], connected: bool, line: str, slow: bool
    ) -> Answer:
        menu = self.menu
        voice = self.voice(lang, slow)
        hotline = menu.hotlines.get(hotline_id)
        if connected:
            return Answer(twiml.goodbye_document(menu, voice))
        tried = tuple(t for t in tried if t in menu.hotlines) or ((hotline_id,) if hotline else ())
        nxt = self._untried(hotline, tried)
        if nxt is not None:
            failed = twiml.message(menu, "transfer_failed", voice.code, hotline.id, hotline=hotline.name[voice.code]) if hotline else None
            return self._dial(nxt, voice, node_id, tried + (nxt.id,), failed, line)
        back = node_id if node_id in menu.nodes else menu.start
        return Answer(twiml.numbers_document(menu, voice, hotline, back), ((voice.code, BOTH_FAILED, "", 1),))

    # --- building blocks -----------------------------------------------------------------
    def _node(
        self,
        node_id: str,
        lang: str,
        silences: int = 0,
        invalids: int = 0,
        notice: str | None = None,
        alternatives: tuple = (),
        slow: bool = False,
    ) -> str:
        node, language = self.menu.nodes[node_id], self.menu.language(lang)
        hints = listen.hints(node, language.code, self.shared_choices(language.code))
        return twiml.node_document(self.menu, node, self.voice(language.code, slow), hints, silences, invalids, notice, alternatives)

    def _transfer(
        self, hotline_id: str, lang: str, node_id: str, tried: tuple[str, ...], reason: str | None, line: str, slow: bool
    ) -> Answer:
        voice = self.voice(lang, slow)
        prefix = twiml.message(self.menu, reason, voice.code) if reason else None
        return self._dial(self.menu.hotlines[hotline_id], voice, node_id, tried, prefix, line)

    def voice(self, lang: str, slow: bool = False) -> Voice:
        """The line's voice in a language, with this menu's recordings."""
        return Voice(self.menu.language(lang), slow, self.menu.recordings)

    def _dial(self, hotline: m.Hotline, voice: Voice, node_id: str, tried: tuple[str, ...], prefix: Line | None, line: str) -> Answer:
        events: tuple[Event, ...] = ((voice.code, TRANSFER, hotline.id, 1),)
        if len(tried) > 1:  # an earlier hotline failed: this one is the failover
            events += ((voice.code, FAILOVER, hotline.id, 1),)
        return Answer(twiml.dial_document(self.menu, hotline, voice, node_id, tried, prefix, line), events)

    def _untried(self, hotline: m.Hotline | None, tried: tuple[str, ...]) -> m.Hotline | None:
        hotlines = self.menu.hotlines
        if hotline is not None and hotline.fallback and hotline.fallback not in tried:
            return hotlines[hotline.fallback]
        return next((h for h in hotlines.values() if h.id not in tried), None)

    def _language_for_key(self, digits: str, current: str) -> str | None:
        for language in self.menu.languages.values():
            if language.code != current and language.switch_key == digits:
                return language.code
        return None

    @staticmethod
    def _clamp(node: m.Node, silences: int, invalids: int) -> tuple[int, int]:
        return (min(max(silences, 0), node.retry.silence_limit), min(max(invalids, 0), node.retry.invalid_limit))
