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
from rapidfuzz import fuzz, process

from .words import NOT, Token, analyse, normalise

GAP = 2  # other words allowed between two words of a phrase
NEGATION_REACH = 2  # a negation this many words before a phrase applies to it
NEAR = 86  # a long word this close to a phrase's word counts as it ("deportid", "pasaporte")
NEAR_MIN = 6  # ...only words this long: short words are too easily near something else
EXACT_BELOW = 4  # a stem shorter than this is heard only as the words written ("mata", not "more")
FLOOR = Path(__file__).with_name("floor.yaml")
FEARED = "police_feared"  # the floor's heading for fear of the police: a caller in danger


EXACT = "="  # marks a word heard as written, beside the stems
SHORT = "~"  # marks a short stem, heard only in a sentence plainly in the phrase's language


class Pattern(NamedTuple):
    label: str  # a situation's name, or whatever the index's owner numbers its phrases by
    lang: str
    slots: tuple[frozenset[str], ...]  # stems, one set of alternatives a word
    negative: bool  # the phrase itself says "not"
    text: str  # as written, for lint and the diagram


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
    return Pattern(label, lang, tuple(slots), any(NOT in slot for slot in slots), phrase)


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

    def __init__(self, phrases: Mapping[str, Mapping[str, Iterable[str]]]):
        self.patterns: list[Pattern] = []
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
            lang: frozenset(stem for p in self.patterns if p.lang == lang for slot in p.slots for stem in slot) for lang in self.starting
        }
        self.long_words = {lang: sorted(stem for stem in words if len(stem) >= NEAR_MIN - 1) for lang, words in self.vocabulary.items()}

    def find(self, tokens: list[Token], languages: tuple[str, ...] = ("en", "es")) -> list[Match]:
        """Every phrase heard in the tokens (words.analyse), in the order they start; only the
        phrases of `languages` (words.languages_of: what the sentence may be in)."""
        found: list[Match] = []
        for lang in languages:
            starting = self.starting.get(lang)
            if not starting:
                continue
            heard = self._heard(tokens, lang, single=len(languages) == 1)
            for start, at in enumerate(heard):
                for stem in at:
                    for pattern in starting.get(stem, ()):
                        end = self._rest(pattern.slots, heard, start)
                        if end is not None:
                            negated = not pattern.negative and any(NOT in heard[i] for i in range(max(0, start - NEGATION_REACH), start))
                            found.append(Match(pattern.label, start, end, negated, pattern))
        return found

    def _heard(self, tokens: list[Token], lang: str, single: bool) -> list[frozenset[str]]:
        """What each word position may be heard as: its stem, the stem of it joined with the next
        word ("pass port", "en cerrada"), and a phrase word it is nearly ("deportid")."""
        known, long_words = self.vocabulary[lang], self.long_words[lang]
        heard = []
        for token in tokens:
            said = [token.es if lang == "es" else token.en]
            if token.joined is not None:
                said.append(token.joined.es if lang == "es" else token.joined.en)
            at = set(said)
            at.add(EXACT + token.word)
            if single:
                at.add(SHORT + said[0])
            for stem in said:
                if stem not in known and len(stem) >= NEAR_MIN and stem != NOT:
                    near = process.extractOne(stem, long_words, scorer=fuzz.ratio, score_cutoff=NEAR)
                    if near is not None:
                        at.add(near[0])
            heard.append(frozenset(at))
        return heard

    @staticmethod
    def _rest(slots: tuple[frozenset[str], ...], heard: list[frozenset[str]], start: int) -> int | None:
        """Where the phrase whose first word is at `start` ends, if its other words follow in order."""
        position = start
        for slot in slots[1:]:
            for candidate in range(position + 1, min(position + 2 + GAP, len(heard))):
                if not slot.isdisjoint(heard[candidate]):
                    position = candidate
                    break
            else:
                return None
        return position
