"""Phrases heard as stems, in order, with room between: what a caller describes, and the
menu's own words said in a sentence.

A phrase is a few words ("take passport", "not let leave"); each word may have
alternatives ("take|keep|hold passport|id|papers"). It is heard when its words' stems come
in that order in what the caller said, with at most GAP other words between two of them:
"take passport" hears "they took my passport" and "he keeps my ID" is heard by "keep id".
Inflections, plurals, attached Spanish pronouns and contractions are the stemmer's and
words.py's business, so a phrase is written once, in its plainest form.

Each match says whether a negation stood just before it ("I don't want the police"), so
the line can decide what that means; and which stems a match used, so it can tell a caller
speaking about themselves from one speaking about someone else.

The same index serves two masters: the situations a caller may describe (labelled by
situation; the built-in floor in floor.yaml holds the five that reach a person at once, and
a menu adds its own), and the menu's own phrases (labelled by phrase), so that "how do the
police respond to this" is heard by "how police respond".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import NamedTuple

import yaml
from rapidfuzz import fuzz

from .words import NOT, Token, analyse, normalise

GAP = 2  # other words allowed between two words of a phrase
NEGATION_REACH = 2  # a negation this many words before a phrase applies to it
NEAR = 86  # a long word this close to a phrase's word counts as it ("deportid", "pasaporte")
NEAR_MIN = 6  # ...only words this long: short words are too easily near something else
NEAR_MAX = 12  # ...and no longer: no phrase word is, and two words run together rarely are
NEARLY_KEPT = 4096  # near misses remembered (words, not sentences)
NEAR_CHECKED = 16  # words of one sentence looked at for near misses (a minute of speech has ~150)
EXACT_BELOW = 4  # a stem shorter than this is heard only as the words written ("mata", not "more")
FLOOR = Path(__file__).with_name("floor.yaml")
FEARED = "police_feared"  # the floor's heading for fear of the police: a caller in danger


NOTHING: frozenset[str] = frozenset()
EXACT = "="  # marks a word heard as written, beside the stems
SHORT = "~"  # marks a short stem, heard only in a sentence plainly in the phrase's language


class Pattern(NamedTuple):
    label: str  # a situation's name, or whatever the index's owner numbers its phrases by
    lang: str
    slots: tuple[frozenset[str], ...]  # stems, one set of alternatives a word
    negative: bool  # the phrase itself says "not"
    text: str  # as written, for lint and the diagram
    rest: tuple[frozenset[str], ...] = ()  # the slots after the first (kept apart: looked at for every candidate)


class Match(NamedTuple):
    label: str
    start: int  # first and last word position it used
    end: int
    negated: bool  # a negation just before it, and the phrase has none of its own
    pattern: Pattern


def compile_phrase(label: str, phrase: str, lang: str) -> Pattern | None:
    """A written phrase as stems in its own language; None if nothing in it carries meaning."""
    slots = []
    for slot in phrase.split():
        alternatives = set()
        for word in slot.split("|"):
            if word.startswith(EXACT):  # "=officer": only that word ("office" would share its stem)
                alternatives.add(EXACT + normalise(word[1:]))
                continue
            tokens = analyse(normalise(word))
            if tokens:  # a command with its pronoun ("ayudame") is heard by its verb
                stem = tokens[0].es if lang == "es" else tokens[0].en
                # A very short stem meets words of the other language by chance (Spanish "mor"
                # is "morir" and English "more"): in a sentence that may be in either language,
                # such a word is heard only as written; in one plainly in its own, by its stem.
                if len(stem) >= EXACT_BELOW or stem == NOT:
                    alternatives.add(stem)
                else:
                    alternatives.update((EXACT + tokens[0].word, SHORT + stem))
        if alternatives:
            slots.append(frozenset(alternatives))
    if not slots:
        return None
    return Pattern(label, lang, tuple(slots), any(NOT in slot for slot in slots), phrase, tuple(slots[1:]))


@cache
def floor() -> dict[str, dict[str, tuple[str, ...]]]:
    """The built-in phrases: situation -> language -> phrases (read once)."""
    with FLOOR.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    return {name: {lang: tuple(items) for lang, items in by_lang.items()} for name, by_lang in data.items()}


class PhraseIndex:
    """Phrases by label and language, laid out for one pass over an utterance.

    Each phrase is tried in its own language: English phrases against the English stems of
    what was said, Spanish ones against the Spanish stems (a caller may speak either).
    """

    def __init__(self, phrases: Mapping[str, Mapping[str, Iterable[str]]], near: bool = True):
        self.patterns: list[Pattern] = []
        self.fuzzy = near  # hear a phrase word in a near miss ("deportid"); off where rapidfuzz already forgives
        self._nearly: dict[tuple[str, str], frozenset[str]] = {}  # (lang, stem) -> the phrase words it is nearly
        for label, by_lang in phrases.items():
            for lang, items in by_lang.items():
                for phrase in items:
                    pattern = compile_phrase(label, phrase, lang)
                    if pattern is not None:
                        self.patterns.append(pattern)
        # Patterns by the stems of their first word, per language: an utterance's words
        # look up only the phrases that can start with them.
        self.starting: dict[str, dict[str, list[Pattern]]] = {"en": {}, "es": {}}
        for pattern in self.patterns:
            for first in pattern.slots[0]:
                self.starting.setdefault(pattern.lang, {}).setdefault(first, []).append(pattern)
        self.vocabulary = {
            lang: frozenset(stem for p in self.patterns if p.lang == lang for slot in p.slots for stem in slot) | {NOT}
            for lang in self.starting
        }
        # Words heard only as written, and short stems heard only in a sentence plainly in the
        # phrase's language: looked up without building a marked string for every word said.
        self.exact = {lang: frozenset(w[1:] for w in words if w.startswith(EXACT)) for lang, words in self.vocabulary.items()}
        self.short = {lang: frozenset(w[1:] for w in words if w.startswith(SHORT)) for lang, words in self.vocabulary.items()}
        # Long phrase words by themselves and with one letter left out: a word said is near one
        # of them when it, or it less one letter, is found here (a letter wrong, missing or added).
        self.near: dict[str, dict[str, set[str]]] = {}
        for lang, words in self.vocabulary.items():
            near = self.near[lang] = {}
            for stem in words:
                if len(stem) >= NEAR_MIN - 1 and not stem.startswith((EXACT, SHORT)):
                    for key in _less_one_letter(stem):
                        near.setdefault(key, set()).add(stem)

    def find(self, tokens: list[Token], languages: tuple[str, ...] = ("en", "es")) -> list[Match]:
        """Every phrase heard in the tokens (words.analyse), in the order they start; only the
        phrases of `languages` (words.languages_of: what the sentence may be in)."""
        found: list[Match] = []
        for lang in languages:
            starting = self.starting.get(lang)
            if not starting:
                continue
            heard = self._heard(tokens, lang, single=len(languages) == 1)
            present = frozenset().union(*heard)  # a phrase with a word said nowhere cannot match
            for start, at in enumerate(heard):
                if not at:
                    continue
                before = heard[max(0, start - NEGATION_REACH) : start]
                negation = any(NOT in words for words in before)
                for stem in at:
                    for pattern in starting.get(stem, ()):
                        end = start
                        if pattern.rest:
                            for slot in pattern.rest:
                                if present.isdisjoint(slot):
                                    break  # a phrase with a word said nowhere cannot match
                            else:
                                end = self._rest(pattern.rest, heard, start, pattern.negative)
                            if end is None or end == start:
                                continue
                        found.append(Match(pattern.label, start, end, negation and not pattern.negative, pattern))
        return found

    def _heard(self, tokens: list[Token], lang: str, single: bool) -> list[frozenset[str]]:
        """What each word position may be heard as, among the phrases' words (nothing else can
        match): its stem, the stem of it joined with the word before ("pass port", "en
        cerrada"), the word as written, and a phrase word it is nearly ("deportid")."""
        known, near, spanish = self.vocabulary[lang], self.near[lang], lang == "es"
        exact, short = self.exact[lang], self.short[lang]
        heard = []
        guesses = NEAR_CHECKED  # near misses looked for in so many words at most: bounded work
        for token in tokens:
            stem = token.es if spanish else token.en
            joined = None if token.joined is None else token.joined.es if spanish else token.joined.en
            at = None
            if stem in known:
                at = {stem}
            if joined is not None and joined in known:
                at = (at or set()) | {joined}
            if token.word in exact:
                at = (at or set()) | {EXACT + token.word}
            if single and stem in short:
                at = (at or set()) | {SHORT + stem}
            if at is None and self.fuzzy and guesses > 0:
                for said in (stem, joined):
                    if said is not None and NEAR_MIN <= len(said) <= NEAR_MAX:
                        guesses -= 1
                        found = self._near(said, lang, near)
                        if found:
                            at = (at or set()) | found
            heard.append(frozenset(at) if at else NOTHING)
        return heard

    def _near(self, stem: str, lang: str, near: dict[str, set[str]]) -> frozenset[str]:
        """The phrase words this one is nearly (rapidfuzz's ratio >= NEAR), found by the letter
        left out rather than by comparing with every word (a sentence may hold a hundred words),
        and remembered: callers use the same words again."""
        found = self._nearly.get((lang, stem))
        if found is None:
            candidates = {word for key in _less_one_letter(stem) for word in near.get(key, ())}
            found = frozenset(word for word in candidates if fuzz.ratio(stem, word) >= NEAR)
            if len(self._nearly) >= NEARLY_KEPT:
                self._nearly.clear()  # bounded: a flood of new words cannot grow it
            self._nearly[(lang, stem)] = found
        return found

    @staticmethod
    def _rest(rest: tuple[frozenset[str], ...], heard: list[frozenset[str]], start: int, negative: bool = False) -> int | None:
        """Where the phrase whose first word is at `start` ends, if its other words follow in order.
        A negation between them breaks a phrase that has none ("I got the wrong number" is not
        "got ... number", "I need no help" not "need ... help")."""
        position = start
        for slot in rest:
            for candidate in range(position + 1, min(position + 2 + GAP, len(heard))):
                if not slot.isdisjoint(heard[candidate]):
                    position = candidate
                    break
                if not negative and NOT in heard[candidate]:
                    return None
            else:
                return None
        return position


def _less_one_letter(word: str) -> set[str]:
    """The word, and the word with each one of its letters left out."""
    return {word} | {word[:i] + word[i + 1 :] for i in range(len(word))}
