"""Menu model -> TwiML. Pure functions of the menu and the call's URL state.

Every answer is built with `twilio.twiml.voice_response`, never by hand. All
state a call needs (node, language, silences, wrong keys, hotlines tried) goes
into the relative action/Redirect URLs we emit, so any worker can answer the
next request, and the same inputs always give the same TwiML (which is what
makes answers cacheable).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import NamedTuple
from urllib.parse import quote, urlencode

from twilio.twiml.voice_response import Gather, VoiceResponse

from ..menu import model as m
from ..menu.spoken import spoken_digits, spoken_number
from . import hearing, listen
from .events import BOTH_FAILED, ESCALATION, FAILOVER, LANGUAGE, SAFETY, SECTION, TRANSFER, Event

DIAL_TIMEOUT = 28  # seconds of ringing before we try the other hotline
DIAL_SUCCESS = ("completed", "answered")
SILENCE = "silence"
INVALID = "invalid"
MOVED = "moved"
UNSURE = "unsure"
NOTICES = (SILENCE, INVALID, MOVED)


class Answer(NamedTuple):
    """A TwiML document, and what it means for the anonymous statistics (see events.py)."""

    xml: str
    events: tuple[Event, ...] = ()

    def plus(self, *events: Event) -> Answer:
        return Answer(self.xml, self.events + events)


def url(route: str, **params: object) -> str:
    """A relative URL: Twilio resolves it against the request URL, so the app works under any prefix.

    Every value is an identifier or a number (the validator makes sure), so nothing needs
    percent-encoding, which keeps the signed URL byte-for-byte the one Twilio requests. A
    count of 0 is the default and is left out: shorter URLs to sign, fewer values to read.
    """
    return f"{route}?{urlencode({k: v for k, v in params.items() if v != 0}, doseq=True)}"


def say(parent: VoiceResponse | Gather, text: str, language: m.Language) -> None:
    """Speak text in the language's own voice; nothing for empty text (Twilio error 13520)."""
    if text:
        parent.say(text, voice=language.voice, language=language.say_language)


def read_numbers(response: VoiceResponse, menu: m.Menu, language: m.Language, hotlines: Iterable[m.Hotline]) -> None:
    """Each hotline's number, and its text line, slowly enough to write down."""
    for line in hotlines:
        name = line.name[language.code]
        say(response, menu.message("number", language.code, hotline=name, number=spoken_number(line.number)), language)
        response.pause(length=1)
        if line.sms:
            say(response, menu.message("sms", language.code, hotline=name, number=spoken_digits(line.sms)), language)
            response.pause(length=1)


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

    def _alternative(self, choice: hearing.Choice, language: m.Language) -> str:
        if choice.key is not None:
            return language.press_sentence(choice.label or choice.spoken[0], choice.key)
        return listen.message(self.menu, "say_choice", language.code, phrase=choice.spoken[0])

    def _dial_result(self, hotline_id: str, lang: str, node_id: str, tried: tuple[str, ...], connected: bool, line: str) -> Answer:
        menu = self.menu
        language = menu.language(lang)
        hotline = menu.hotlines.get(hotline_id)
        response = VoiceResponse()
        if connected:
            self._say(response, menu.message("goodbye", language.code), language)
            response.hangup()
            return Answer(response.to_xml())
        tried = tuple(t for t in tried if t in menu.hotlines) or ((hotline_id,) if hotline else ())
        failed_name = hotline.name[language.code] if hotline else ""
        nxt = self._untried(hotline, tried)
        if nxt is not None:
            text = menu.message("transfer_failed", language.code, hotline=failed_name) if hotline else ""
            return self._dial(nxt, language, node_id, tried + (nxt.id,), text, line)
        # Every hotline failed: read the numbers slowly, twice, and go back to the menu.
        lines = [menu.message("transfer_failed", language.code, hotline=failed_name)] if hotline else []
        lines.append(menu.message("both_failed", language.code))
        self._say(response, " ".join(lines), language)
        for _ in range(2):
            read_numbers(response, menu, language, menu.hotlines.values())
        back = node_id if node_id in menu.nodes else menu.start
        response.redirect(url("menu", node=back, lang=language.code), method="POST")
        return Answer(response.to_xml(), ((language.code, BOTH_FAILED, "", 1),))

    # --- building blocks -----------------------------------------------------------------
    def _node(
        self, node_id: str, lang: str, silences: int = 0, invalids: int = 0, notice: str | None = None, alternatives: tuple = ()
    ) -> str:
        menu = self.menu
        node = menu.nodes[node_id]
        language = menu.language(lang)
        response = VoiceResponse()
        state = dict(node=node.id, lang=language.code, s=silences, i=invalids)
        gather = response.gather(
            action=url("choose", **state),
            method="POST",
            num_digits=1,  # every key is one press; no need to wait for '#'
            finish_on_key="",  # '#' is a menu key (repeat), so it must reach us
            timeout=node.retry.timeout,
            action_on_empty_result=False,  # silence falls through to the Redirect below
            **listen.gather_options(menu, node, language, listen.hints(node, language.code, self.shared_choices(language.code))),
        )
        if notice == UNSURE:
            self._say(gather, listen.message(menu, "not_sure", language.code), language)
            self._say(gather, " ".join(self._alternative(choice, language) for choice in alternatives), language)
        elif notice is not None:
            self._say(gather, menu.message({SILENCE: "no_input", INVALID: "invalid", MOVED: "moved"}[notice], language.code), language)
        first_time = silences == 0 and invalids == 0
        if node.id == menu.start and first_time:
            self._say(gather, menu.greeting[language.code], language)
        if node.id == menu.start:
            for other in menu.languages.values():
                if other.code != language.code:
                    self._say(gather, other.press_sentence(other.switch_label, other.switch_key), other)
        if first_time:
            self._prompt(gather, node, language)
        if notice != UNSURE:  # after "not sure", the two likeliest choices only: # repeats them all
            self._say(gather, self.choices(node, language), language)
        if node.id == menu.start and first_time and language.code in menu.speech:  # once, after the choices
            self._say(gather, listen.message(menu, "speech_hint", language.code), language)
        response.redirect(url("menu", node=node.id, lang=language.code, s=silences + 1, i=invalids, n=SILENCE), method="POST")
        return response.to_xml()

    def choices(self, node: m.Node, language: m.Language) -> str:
        """The "To X, press N." sentences, generated from option labels."""
        return " ".join(sentence for _, sentence in self.choice_sentences(node, language))

    def choice_sentences(self, node: m.Node, language: m.Language) -> list[tuple[m.Option, str]]:
        """Each announced option with its sentence, in spoken order (lint times them too)."""
        sentences = []
        for option in node.spoken_options:
            if option.action.kind == m.BACK and node.parent is None:
                continue
            if option.action.kind == m.NEXT and node.next is None:
                continue
            sentences.append((option, language.press_sentence(self.label(option, language.code), option.key)))
        return sentences

    def label(self, option: m.Option, lang: str) -> str:
        if lang in option.label:
            return option.label[lang]
        kind = option.action.kind
        if kind == m.TRANSFER:
            return self.menu.message("transfer_label", lang, hotline=self.menu.hotlines[option.action.target].name[lang])
        return self.menu.message(f"{kind}_label", lang)

    def _transfer(self, hotline_id: str, lang: str, node_id: str, tried: tuple[str, ...], reason: str | None, line: str) -> Answer:
        language = self.menu.language(lang)
        prefix = self.menu.message(reason, language.code) if reason else ""
        return self._dial(self.menu.hotlines[hotline_id], language, node_id, tried, prefix, line)

    def _dial(self, hotline: m.Hotline, language: m.Language, node_id: str, tried: tuple[str, ...], prefix: str, line: str) -> Answer:
        response = VoiceResponse()
        text = self.menu.message("connecting", language.code, hotline=hotline.name[language.code])
        self._say(response, f"{prefix} {text}".strip(), language)
        response.dial(
            hotline.number,
            action=url("dial-result", to=hotline.id, lang=language.code, node=node_id, tried=list(tried)),
            method="POST",
            timeout=DIAL_TIMEOUT,
            answer_on_bridge=True,  # the caller hears ringing until a person answers
            # Twilio shows the hotline the caller's own number unless told otherwise: show ours.
            caller_id=None if hotline.show_caller_number else line or None,
        )
        events: tuple[Event, ...] = ((language.code, TRANSFER, hotline.id, 1),)
        if len(tried) > 1:  # an earlier hotline failed: this one is the failover
            events += ((language.code, FAILOVER, hotline.id, 1),)
        return Answer(response.to_xml(), events)

    def _untried(self, hotline: m.Hotline | None, tried: tuple[str, ...]) -> m.Hotline | None:
        hotlines = self.menu.hotlines
        if hotline is not None and hotline.fallback and hotline.fallback not in tried:
            return hotlines[hotline.fallback]
        return next((h for h in hotlines.values() if h.id not in tried), None)

    def _prompt(self, gather: Gather, node: m.Node, language: m.Language) -> None:
        if language.code in node.audio:
            gather.play(f"audio/{quote(node.audio[language.code])}")
            return
        parts = [node.title.get(language.code, ""), node.prompt.get(language.code, "")]
        text = " ".join(p for p in parts if p)
        if text:
            self._say(gather, text, language)

    _say = staticmethod(say)

    def _language_for_key(self, digits: str, current: str) -> str | None:
        for language in self.menu.languages.values():
            if language.code != current and language.switch_key == digits:
                return language.code
        return None

    @staticmethod
    def _clamp(node: m.Node, silences: int, invalids: int) -> tuple[int, int]:
        return (min(max(silences, 0), node.retry.silence_limit), min(max(invalids, 0), node.retry.invalid_limit))
