"""A word model of what callers describe: naive Bayes over stems, for the sentences no phrase names.

Phrases (phrases.py) are exact about what they hear and say so; but a caller in trouble
rarely uses the words anyone listed ("every week there's a new charge, so my check comes out
to zero"). This model has learnt, from the tuning sentences (calls/utterances.yaml) and the
built-in phrases, which stems go with which situation and which go with anything else (menu
words, small talk). The line asks it only when neither the phrases nor the menu understood,
and acts only when a situation is far likelier than "something else" (MARGIN, in natural
log odds). It is a table of numbers, trained by `python -m ivr.speech.train` into
model.json; a test retrains it and fails if the file is stale.

Naive Bayes over the presence of features (the share of a class's sentences that have each
one, with add-half smoothing; absent features are not counted): a few hundred sentences train
it in milliseconds, it reads in microseconds, and every weight can be looked at.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import NamedTuple

from .words import NOT, Token

MODEL = Path(__file__).with_name("model.json")
# What is not a situation, in two kinds that look nothing alike: the menu's own matters (a topic,
# a hotline, a key, a language) and everyday life (a wrong number, the TV, an errand).
MENU, NOISE = "menu", "noise"
OTHER = (MENU, NOISE)
SMOOTHING = 0.5
MIN_COUNT = 1  # features seen this often at least are kept
WEIGHED = 60  # words of one sentence the model weighs (a minute of speech has ~150)


def features(tokens: list[Token]) -> set[str]:
    """What the model looks at: every stem in both languages, and pairs of English stems in a row
    ("not paid", "my passport"); a negation is a word like any other here."""
    found = {f"en:{t.en}" for t in tokens} | {f"es:{t.es}" for t in tokens}
    found.update(f"2:{a.en}_{b.en}" for a, b in zip(tokens, tokens[1:], strict=False))
    found.discard(f"es:{NOT}")  # the same word twice
    return found


class Guess(NamedTuple):
    situation: str | None  # the likeliest situation, or None when "something else" is likelier
    margin: float  # its log odds over "something else"


class SituationModel:
    """Log probabilities per class: a prior, and per feature its weight given the class."""

    def __init__(self, priors: dict[str, float], weights: dict[str, dict[str, float]]):
        self.priors = priors
        self.weights = weights  # feature -> class -> log P(feature | class); features seen too rarely are left out
        # The same as rows of numbers in one order of classes: a sentence sums rows, not dicts.
        self.labels = tuple(priors)
        self.rows = {f: tuple(by_class[label] for label in self.labels) for f, by_class in weights.items()}

    @classmethod
    def train(cls, examples: Iterable[tuple[list[Token], str]]) -> SituationModel:
        counts: Counter[str] = Counter()
        seen: dict[str, Counter[str]] = {}
        for tokens, label in examples:
            counts[label] += 1
            for feature in features(tokens):
                seen.setdefault(feature, Counter())[label] += 1
        n = sum(counts.values())
        priors = {label: round(math.log(count / n), 4) for label, count in sorted(counts.items())}
        # P(feature | class): the share of the class's sentences that have it, smoothed in
        # proportion to the class's size, so that a word no class has seen counts the same for
        # all: otherwise the smallest class would win every sentence of unknown words.
        mean = n / len(counts)
        smoothing = {label: SMOOTHING * counts[label] / mean for label in priors}
        weights = {
            f: {
                label: round(math.log((by_class.get(label, 0) + smoothing[label]) / (counts[label] + 2 * smoothing[label])), 4)
                for label in priors
            }
            for f, by_class in sorted(seen.items())
            if sum(by_class.values()) >= MIN_COUNT
        }
        return cls(priors, weights)

    def scores(self, tokens: list[Token]) -> dict[str, float]:
        """Log probability of each class for these words (up to a constant). A minute of speech
        is weighed by its first WEIGHED words: by then the evidence is in."""
        rows = [row for feature in features(tokens[:WEIGHED]) if (row := self.rows.get(feature)) is not None]
        totals = [sum(column) for column in zip(*rows, strict=True)] if rows else [0.0] * len(self.labels)
        return {label: self.priors[label] + total for label, total in zip(self.labels, totals, strict=True)}

    def guess(self, tokens: list[Token], situations: Iterable[str]) -> Guess:
        """The likeliest of `situations` (those the menu has), and its lead over the likelier of
        the menu's matters and everyday life."""
        scores = self.scores(tokens)
        known = [s for s in situations if s in scores]
        others = [scores[o] for o in OTHER if o in scores]
        if not known or not others:
            return Guess(None, 0.0)
        best = max(known, key=scores.__getitem__)
        margin = scores[best] - max(others)
        return Guess(best if margin > 0 else None, margin)

    def as_json(self) -> str:
        return json.dumps({"priors": self.priors, "weights": self.weights}, sort_keys=True, indent=0) + "\n"


@cache
def shipped() -> SituationModel | None:
    """The model trained into model.json (None if it is missing: the line then has phrases only)."""
    try:
        data = json.loads(MODEL.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return SituationModel(data["priors"], data["weights"])
