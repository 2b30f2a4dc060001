"""A word model of what callers describe: naive Bayes over stems, for the sentences no phrase names.

Phrases (phrases.py) are exact about what they hear and say so; but a caller in trouble
rarely uses the words anyone listed ("every week there's a new charge, so my check comes out
to zero"). This model has learnt, from the tuning sentences (calls/utterances.yaml) and the
built-in phrases, which stems go with which situation and which go with anything else (menu
words, small talk). The line asks it only when neither the phrases nor the menu understood,
and acts only when a situation is far likelier than "something else" (MARGIN, in natural
log odds). It is a table of numbers, trained by `python -m ivr.speech.train` into
model.json; a test retrains it and fails if the file is stale.

It asks two questions, each of its own table. *Whether* the sentence tells of trouble at all
is decided with every kind of trouble pooled into one class (TROUBLE): more sentences per class,
and no maximum over five small classes, whose noise would make some class look likely for an
everyday sentence. *Which* trouble it is (danger, control, ... report) is then read from the
table that keeps them apart. Measured by 5-fold cross-validation of the whole line, on 1885
tuning sentences: callers in trouble reaching a person 786/789 vs 785/789 with one table,
everyday sentences left alone 53.6% vs 52.0%, privacy questions 94.9% vs 93.7% (each at its
best margin: 0.5 log odds here, 1.0 with one table).

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


TROUBLE = "trouble"  # every situation the model may guess, pooled, in the table that decides whether


class Guess(NamedTuple):
    situation: str | None  # the likeliest situation, or None when "something else" is likelier
    margin: float  # its log odds over "something else"


class SituationModel:
    """Log probabilities per class: a prior, and per feature its weight given each class, as a
    row of numbers in the order of the classes (a sentence sums rows, not dicts)."""

    def __init__(self, priors: dict[str, float], rows: dict[str, Iterable[float]]):
        self.priors = priors
        self.labels = tuple(priors)
        self.rows = {f: tuple(row) for f, row in rows.items()}  # features seen too rarely are left out

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
        rows = {
            f: [
                round(math.log((by_class.get(label, 0) + smoothing[label]) / (counts[label] + 2 * smoothing[label])), 4) for label in priors
            ]
            for f, by_class in sorted(seen.items())
            if sum(by_class.values()) >= MIN_COUNT
        }
        return cls(priors, rows)

    def scores(self, tokens: list[Token]) -> dict[str, float]:
        """Log probability of each class for these words (up to a constant). A minute of speech
        is weighed by its first WEIGHED words: by then the evidence is in."""
        rows = [row for feature in features(tokens[:WEIGHED]) if (row := self.rows.get(feature)) is not None]
        totals = [sum(column) for column in zip(*rows, strict=True)] if rows else [0.0] * len(self.labels)
        return {label: self.priors[label] + total for label, total in zip(self.labels, totals, strict=True)}


class WordModel:
    """The two tables: whether a sentence tells of trouble (the guessable situations pooled),
    and which trouble it is."""

    def __init__(self, whether: SituationModel, which: SituationModel, pooled: Iterable[str]):
        self.whether = whether
        self.which = which
        self.pooled = frozenset(pooled)

    @classmethod
    def train(cls, examples: Iterable[tuple[list[Token], str]], pooled: Iterable[str]) -> WordModel:
        examples = list(examples)
        pooled = frozenset(pooled)
        whether = SituationModel.train((tokens, TROUBLE if label in pooled else label) for tokens, label in examples)
        return cls(whether, SituationModel.train(examples), pooled)

    def scores(self, tokens: list[Token]) -> dict[str, float]:
        """Log probability of trouble (pooled), of each situation not pooled, of the menu's
        matters and of everyday life: what decides whether a sentence is trouble at all."""
        return self.whether.scores(tokens)

    def guess(self, tokens: list[Token], situations: Iterable[str]) -> Guess:
        """The likeliest of `situations` (those the menu has), and the lead of trouble over the
        likelier of the menu's matters and everyday life."""
        situations = list(situations)
        scores = self.whether.scores(tokens)
        known = [s for s in situations if s in scores and s not in self.pooled]
        if any(s in self.pooled for s in situations):
            known.append(TROUBLE)
        others = [scores[o] for o in OTHER if o in scores]
        if not known or not others:
            return Guess(None, 0.0)
        best = max(known, key=scores.__getitem__)
        margin = scores[best] - max(others)
        if margin <= 0:
            return Guess(None, margin)
        if best == TROUBLE:  # which one: the table that keeps them apart
            which = self.which.scores(tokens)
            best = max((s for s in situations if s in self.pooled and s in which), key=which.__getitem__)
        return Guess(best, margin)

    @classmethod
    def from_json(cls, text: str) -> WordModel:
        data = json.loads(text)
        return cls(*(SituationModel(data[t]["priors"], data[t]["rows"]) for t in ("whether", "which")), data["pooled"])

    def as_json(self) -> str:
        # One feature a line (a retrain's diff shows which words moved), a third of the size of
        # one number a line. Each piece is json.dumps's; only the line breaks are ours.
        def table(model: SituationModel) -> str:
            rows = ",\n".join(f"{json.dumps(f)}: {json.dumps(list(row))}" for f, row in sorted(model.rows.items()))
            return f'{{"priors": {json.dumps(model.priors, sort_keys=True)}, "rows": {{\n{rows}}}}}'

        return f'{{"pooled": {json.dumps(sorted(self.pooled))},\n"whether": {table(self.whether)},\n"which": {table(self.which)}}}\n'


@cache
def shipped() -> WordModel | None:
    """The model trained into model.json (None if it is missing: the line then has phrases only)."""
    try:
        return WordModel.from_json(MODEL.read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError):
        return None
