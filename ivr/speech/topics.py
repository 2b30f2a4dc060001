"""Which topic a question is about, from the topics' own words.

A caller asks in their own words ("can a guy get trafficked too?", "¿cómo engañan a la
gente?"); the menu's phrases cannot list every question. But each section already says what
it is about: its title, its text, the labels that lead to it, what callers may say for it.
So each topic is a bag of stems from those words (phrases count most, then labels, then the
text), weighed by how few topics share a stem (tf-idf), and a question goes to the topic it
shares most with, when that one clearly leads. Built from the menu, so an edit to a section
changes what it answers.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping

from .words import NOT, Token, analyse, normalise

ENOUGH = 0.5  # a score below this shares too little with any topic
# Asking words: they help tell "where" from "who", but a question that shares nothing else with
# a topic ("what time is it", "who is this") is about something else.
ASKING = frozenset("what who whom where how why when which que quien quienes donde como cuando cual cuales".split())
LEAD = 1.5  # the best topic must score this many times the next one
QUESTION = 40  # words of meaning a question about a topic has at the most


def stems_of(text: str, lang: str) -> list[str]:
    """A text's words as stems of its own language ("es:victim"), asking words and negations left out."""
    return [_stem(token, lang) for token in analyse(normalise(text.replace("|", " "))) if token.word not in ASKING and token.word != NOT]


def _stem(token: Token, lang: str) -> str:
    return f"{lang}:{token.es if lang == 'es' else token.en}"


class TopicIndex:
    """Topics (by label) as weighted bags of stems, for questions in either language."""

    def __init__(self, topics: Mapping[str, Iterable[tuple[str, str, float]]]):
        bags: dict[str, Counter[str]] = {}
        for label, texts in topics.items():
            bag: Counter[str] = Counter()
            for text, lang, weight in texts:
                for stem in stems_of(text, lang):
                    bag[stem] += weight
            if bag:
                bags[label] = bag
        shared = Counter(stem for bag in bags.values() for stem in bag)
        self.idf = {stem: math.log(1 + len(bags) / count) for stem, count in shared.items()}
        self.bags = bags
        self.norms = {label: math.sqrt(sum((v * self.idf[s]) ** 2 for s, v in bag.items())) for label, bag in bags.items()}

    def best(self, tokens: list[Token], languages: tuple[str, ...] = ("en", "es")) -> str | None:
        """The topic these words are about, if one clearly leads and shares two of the words
        (or all of them): one word in common is too little ("wrong number" is not "the numbers")."""
        if len(tokens) > QUESTION:
            return None  # a minute of speech is no question about a topic
        # A word just after a negation is not asked about ("the wrong number", "no la policía").
        words = [
            {_stem(token, lang) for lang in languages}
            for n, token in enumerate(tokens)
            if token.word not in ASKING and token.word != NOT and (n == 0 or tokens[n - 1].word != NOT)
        ]
        asked = set().union(*words) & self.idf.keys() if words else set()
        if not asked:
            return None
        scores = sorted(
            ((sum(bag[s] * self.idf[s] ** 2 for s in asked if s in bag) / self.norms[label], label) for label, bag in self.bags.items()),
            reverse=True,
        )
        (top, label), runner_up = scores[0], (scores[1][0] if len(scores) > 1 else 0.0)
        shared = sum(1 for word in words if word & self.bags[label].keys())
        if top < ENOUGH or top < LEAD * runner_up or shared < min(2, len(words)):
            return None
        return label
