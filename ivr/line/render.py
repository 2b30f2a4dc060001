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
from . import hearing, listen, twiml
from .events import BOTH_FAILED, ESCALATION, FAILOVER, LANGUAGE, SAFETY, SECTION, TRANSFER, Event
from .twiml import INVALID, MOVED, NOTICES, SILENCE, UNSURE

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

    def node(self, node_id: str, lang: str, silences: int = 0, invalids: int = 0, notice: str | None = None) -> Answer:
        if not (silences or invalids or notice):
            answer = self._first.get((node_id, lang))
            if answer is not None:
                return answer
        return self._cached(("node", node_id, lang, silences, invalids, notice), self._visit, node_id, lang, silences, invalids, notice)

    def _visit(self, node_id: str, lang: str, silences: int = 0, invalids: int = 0, notice: str | None = None) -> Answer:
        """A node, counted as a section read when the caller hears it afresh (not a re-prompt)."""
        xml = self._node(node_id, lang, silences, invalids, notice)
        if silences or invalids or notice:
            return Answer(xml)
        return Answer(xml, ((self.menu.language(lang).code, SECTION, node_id, 1),))

    def choose(self, node_id: str, lang: str, silences: int, invalids: int, digits: str, line: str = "") -> Answer:
        """The caller pressed something (or nothing, if Twilio posts an empty result).

        Anything but one phone key is just "a wrong key", so odd input cannot crowd the cache.
        """
        if digits and digits not in m.PHONE_KEYS:
            digits = "?"
        return self._cached(
            ("choose", node_id, lang, silences, invalids, digits, line), self._choose, node_id, lang, silences, invalids, digits, line
        )

    def menu_request(self, node_id: str, lang: str, silences: int, invalids: int, notice: str | None, line: str = "") -> Answer:
        """A Redirect back to a node: after silence, or plain navigation."""
        return self._cached(
            ("menu", node_id, lang, silences, invalids, notice, line), self._menu_request, node_id, lang, silences, invalids, notice, line
        )

    def transfer(
        self, hotline_id: str, lang: str, node_id: str, tried: tuple[str, ...], reason: str | None = None, line: str = ""
    ) -> Answer:
        """Put the caller through; `reason` names a message said first ("final", "error"). `line` is
        the number the caller dialled: the hotline is shown it instead of the caller's own."""
        return self._cached(
            ("transfer", hotline_id, lang, node_id, tried, reason, line), self._transfer, hotline_id, lang, node_id, tried, reason, line
        )

    def entry(self, lang: str | None = None) -> Answer:
        return self.node(self.menu.start, self.menu.language(lang).code)

    def _menu_request(self, node_id: str, lang: str, silences: int, invalids: int, notice: str | None, line: str) -> Answer:
        node, language, silences, invalids = self._where(node_id, lang, silences, invalids)
        if node is None:
            return self.node(self.menu.start, language.code, 0, 0, MOVED)
        if silences >= node.retry.silence_limit:
            return self.final(node, language.code, line, "silence")
        return self.node(node.id, language.code, silences, invalids, notice if notice in NOTICES else None)

    def _where(self, node_id: str, lang: str, silences: int, invalids: int) -> tuple[m.Node | None, m.Language, int, int]:
        """The node a request is about (None if a reload removed it), its language, and the counts clamped."""
        language = self.menu.language(lang)
        node = self.menu.nodes.get(node_id)
        if node is None:
            return None, language, 0, 0
        return (node, language, *self._clamp(node, silences, invalids))

    def _choose(self, node_id: str, lang: str, silences: int, invalids: int, digits: str, line: str) -> Answer:
        node, language, silences, invalids = self._where(node_id, lang, silences, invalids)
        if node is None:
            return self.node(self.menu.start, language.code, 0, 0, MOVED)
        if not digits:
            return self.menu_request(node.id, language.code, silences + 1, invalids, SILENCE, line)
        switch = self._language_for_key(digits, language.code)
        if switch is not None:
            return self.switch(node, language.code, switch)
        option = node.keys.get(digits)
        if option is None:
            if invalids + 1 >= node.retry.invalid_limit:
                return self.final(node, language.code, line, "wrong_keys")
            return self.node(node.id, language.code, silences, invalids + 1, INVALID)
        return self.act(node, option.action, language.code, line)

    def switch(self, node: m.Node, old: str, new: str) -> Answer:
        """The caller chose another language: the node again in it, and the call's language moves."""
        return Answer(self.node(node.id, new).xml, ((old, LANGUAGE, "", -1), (new, LANGUAGE, "", 1), (new, SECTION, node.id, 1)))

    def act(self, node: m.Node, action: m.Action, lang: str, line: str = "") -> Answer:
        if action.kind == m.TRANSFER:
            return self.transfer(action.target, lang, node.id, (action.target,), line=line)
        if action.kind == m.GOTO:
            return self.node(action.target, lang)
        if action.kind == m.NEXT and node.next:
            return self.node(node.next, lang)
        if action.kind == m.BACK and node.parent:
            return self.node(node.parent, lang)
        return self.node(node.id, lang)  # repeat, or back at the top

    def final(self, node: m.Node, lang: str, line: str = "", why: str = "silence") -> Answer:
        """Too many silences or wrong keys (`why`): never hang up, hand the caller to a person."""
        answer = self.transfer(node.retry.final.target, lang, node.id, (node.retry.final.target,), "final", line)
        return answer.plus((lang, ESCALATION, why, 1))

    def dial_result(self, hotline_id: str, lang: str, node_id: str, tried: tuple[str, ...], status: str, line: str = "") -> Answer:
        """After a transfer: goodbye if it connected, else the next hotline, else the numbers."""
        connected = status in DIAL_SUCCESS
        return self._cached(
            ("dial", hotline_id, lang, node_id, tried, connected, line),
            self._dial_result,
            hotline_id,
            lang,
            node_id,
            tried,
            connected,
            line,
        )

    def hear(self, node_id: str, lang: str, silences: int, invalids: int, said: str, confidence: float, line: str = "") -> Answer:
        """The caller spoke. What they said is never cached, kept or logged: only what it meant."""
        node, language, silences, invalids = self._where(node_id, lang, silences, invalids)
        if node is None:
            return self.node(self.menu.start, language.code, 0, 0, MOVED)
        heard = hearing.hear(said, confidence, self.phrasebook(node, language.code))
        if heard.kind == "safety":  # at once, from anywhere: a person (key 0's hotline, else the final one)
            zero = node.keys.get("0")
            target = zero.action.target if zero and zero.action.kind == m.TRANSFER else node.retry.final.target
            return self.transfer(target, language.code, node.id, (target,), "final", line).plus((language.code, SAFETY, "", 1))
        if heard.kind == "key":
            return self.choose(node.id, language.code, silences, invalids, heard.key, line)
        if heard.kind == "choice" and heard.choice.action.kind == listen.LANGUAGE:
            return self.switch(node, language.code, heard.choice.action.target)
        if heard.kind == "choice":
            return self.act(node, heard.choice.action, language.code, line)
        if heard.kind == "unsure" and invalids + 1 < node.retry.invalid_limit:
            key = ("unsure", node.id, language.code, silences, invalids + 1, tuple(c.action for c in heard.alternatives))
            return self._cached(key, self._unsure, node.id, language.code, silences, invalids + 1, heard.alternatives)
        return self.choose(node.id, language.code, silences, invalids, "?", line)  # like a wrong key

    def _unsure(self, node_id: str, lang: str, silences: int, invalids: int, alternatives: tuple[hearing.Choice, ...]) -> Answer:
        return Answer(self._node(node_id, lang, silences, invalids, UNSURE, alternatives))

    def phrasebook(self, node: m.Node, lang: str) -> hearing.Phrasebook:
        """What can be said at a node, built once per node and language."""
        book = self._spoken.get((node.id, lang))
        if book is None:  # made when a caller first speaks at this node
            book = self._spoken[(node.id, lang)] = hearing.Phrasebook(listen.choices(node, lang, self.shared_choices(lang)))
        return book

    def shared_choices(self, lang: str) -> list[hearing.Choice]:
        shared = self._shared.get(lang)
        if shared is None:
            shared = self._shared[lang] = listen.shared_choices(self.menu, lang)
        return shared

    def _dial_result(self, hotline_id: str, lang: str, node_id: str, tried: tuple[str, ...], connected: bool, line: str) -> Answer:
        menu = self.menu
        language = menu.language(lang)
        hotline = menu.hotlines.get(hotline_id)
        if connected:
            return Answer(twiml.goodbye_document(menu, language))
        tried = tuple(t for t in tried if t in menu.hotlines) or ((hotline_id,) if hotline else ())
        nxt = self._untried(hotline, tried)
        if nxt is not None:
            text = menu.message("transfer_failed", language.code, hotline=hotline.name[language.code]) if hotline else ""
            return self._dial(nxt, language, node_id, tried + (nxt.id,), text, line)
        back = node_id if node_id in menu.nodes else menu.start
        return Answer(twiml.numbers_document(menu, language, hotline, back), ((language.code, BOTH_FAILED, "", 1),))

    # --- building blocks -----------------------------------------------------------------
    def _node(
        self, node_id: str, lang: str, silences: int = 0, invalids: int = 0, notice: str | None = None, alternatives: tuple = ()
    ) -> str:
        node, language = self.menu.nodes[node_id], self.menu.language(lang)
        hints = listen.hints(node, language.code, self.shared_choices(language.code))
        return twiml.node_document(self.menu, node, language, hints, silences, invalids, notice, alternatives)

    def _transfer(self, hotline_id: str, lang: str, node_id: str, tried: tuple[str, ...], reason: str | None, line: str) -> Answer:
        language = self.menu.language(lang)
        prefix = self.menu.message(reason, language.code) if reason else ""
        return self._dial(self.menu.hotlines[hotline_id], language, node_id, tried, prefix, line)

    def _dial(self, hotline: m.Hotline, language: m.Language, node_id: str, tried: tuple[str, ...], prefix: str, line: str) -> Answer:
        events: tuple[Event, ...] = ((language.code, TRANSFER, hotline.id, 1),)
        if len(tried) > 1:  # an earlier hotline failed: this one is the failover
            events += ((language.code, FAILOVER, hotline.id, 1),)
        return Answer(twiml.dial_document(self.menu, hotline, language, node_id, tried, prefix, line), events)

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
