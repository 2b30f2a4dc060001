"""What a caller describes, in any words: a situation (danger ... privacy) or a topic.

The menu's side of it: the built-in floor (ivr/speech/floor.yaml) and the menu's own
`situations:` phrases, the word model for sentences no phrase names, and the sections' own
words for questions. ivr/line/hearing.py weighs what this finds against the menu's choices.
What a caller said is as private as their number: nothing here logs or keeps it.
"""

from __future__ import annotations

from typing import NamedTuple

from ..menu import model as m
from ..speech.model import NOISE, OTHER, WordModel, shipped
from ..speech.phrases import FEARED, Match, PhraseIndex, floor
from ..speech.topics import TopicIndex
from ..speech.words import NOT, Token, stems

EVERYDAY_WORDS = 2  # words of everyday life a sentence needs before it may be found to be about everyday life
EVERYDAY = 1.0  # log odds by which everyday life must beat every situation to overrule one word of trouble
GUESS_FROM = 3  # different words a sentence needs before the word model weighs it
MODEL_MARGIN = 0.5  # log odds by which the word model must find trouble likelier than anything else


def _stems(english: str, spanish: str) -> frozenset[str]:
    """Words as stems of their own language, "en:fear", "es:mied" (English and Spanish stems of
    one word can meet by chance: Spanish "workers" stems to "work")."""
    return frozenset([f"en:{stems(w).en}" for w in english.split()] + [f"es:{stems(w).es}" for w in spanish.split()])


def _said(tokens: list[Token]) -> frozenset[str]:
    """The stems of what was said, in the form `_stems` gives."""
    return frozenset([f"en:{t.en}" for t in tokens] + [f"es:{t.es}" for t in tokens])


# Knowledge about people, not about any menu: who a sentence is about, and what turns a word
# about the police into fear of them or into a question about them.
FEAR = _stems("afraid scared scare fear frightened terrified", "miedo asustada asustado temor")
ASKING_ABOUT = _stems(
    "respond response handle handles investigate investigation investigations work works deal treat role case cases trafficking"
    " unit units special detective detectives investigator investigators",
    "responde responden trabaja trabajan hace hacen investiga investigan trata manejan unidad unidades especial",  # not "caso": its stem is "casa"
)
SOMEONE_ELSE = _stems(
    "friend friends neighbor neighbors neighbour sister brother cousin daughter niece nephew aunt uncle coworker coworkers"
    " roommate girl girls woman women lady guy nanny employee kid kids teen teenager student",
    "amiga amigo amigas vecina vecino vecinas hermana hermano prima primo hija sobrina sobrino tia tio compañero compañera"
    " compañeros muchacha muchachas muchacho niña niñas niño mujer mujeres señora",
)
ABOUT_ME = frozenset("i me myself we us yo nos nosotros nosotras conmigo".split())  # the caller, not their belongings
ME_OR_MINE = ABOUT_ME | frozenset("my mine our mi mis nuestro nuestra".split())  # the caller or their own ("my kids")


# As words and as the stems of phrase words ("nuestr" is the stem of "nuestro", "nuestras"...).
PRONOUNS = frozenset(
    "i me my mine we us our you your he him his she her they them their yo mi mis nos nuestr nuestro nuestra nuestros nuestras"
    " su sus le les lo la".split()
)


def _words_of_meaning(match: Match) -> int:
    """The phrase's words that are not only a pronoun: "save us" and "my papers" are one word of
    trouble ("save us some tamales", "my tax papers"), "took my passport" two."""
    return sum(1 for slot in match.pattern.slots if not all(stem.lstrip("=~") in PRONOUNS for stem in slot))


def _other_words(tokens: list[Token], matches: list[Match]) -> int:
    """Words of meaning besides the phrases heard and pronouns: what a sentence says of everyday
    life, if it does ("can you help me?" says nothing else; "can you help me with my homework" does)."""
    used = {i for match in matches for i in range(match.start, match.end + 1)}
    return sum(1 for i, t in enumerate(tokens) if i not in used and t.word not in PRONOUNS and t.word != NOT)


class Described(NamedTuple):
    name: str  # a situation: danger ... privacy
    weak: bool  # only single words of it were heard ("help"), no phrase, no fear of the police


class Understanding:
    """What a menu's callers may describe or ask about, in every language: the built-in floor
    for the five situations that reach a person, the menu's own phrases for every situation,
    the word model for sentences no phrase names, and the menu's topics by their own words.
    One per menu (a reload builds a new one with the new phrases and texts)."""

    def __init__(self, menu: m.Menu, model: WordModel | None = None):
        situations = menu.situations
        self.model = model if model is not None else shipped()
        self.topics = TopicIndex(topics(menu))
        phrases: dict[str, dict[str, list[str]]] = {}
        for name, by_lang in floor().items():
            for lang, items in by_lang.items():
                phrases.setdefault(name, {}).setdefault(lang, []).extend(items)
        for name, situation in situations.items():
            for lang, items in situation.say.items():
                phrases.setdefault(name, {}).setdefault(lang, []).extend(items)
        self.known = frozenset(situations)
        # The floor's heading for fear of the police is heard whenever the police are.
        self.index = PhraseIndex({name: by_lang for name, by_lang in phrases.items() if name in situations or name == FEARED})

    def topic(self, tokens: list[Token], languages: tuple[str, ...]) -> str | None:
        """The node a question is about, by the sections' own words, if one stands out."""
        return self.topics.best(tokens, languages)

    @staticmethod
    def asks_about(tokens: list[Token]) -> bool:
        return bool(_said(tokens) & ASKING_ABOUT)

    def guess(self, tokens: list[Token], margin: float | None = None) -> str | None:
        """The situation the word model finds likelier than anything else, if any: in a sentence,
        not a word or two ("sí sí", "is anybody there"), which phrases alone must carry."""
        if self.model is None or len({t.word for t in tokens if t.word != NOT}) < GUESS_FROM:
            return None
        guess = self.model.guess(tokens, [s for s in self.known if s in self.model.pooled])
        return guess.situation if guess.margin >= (MODEL_MARGIN if margin is None else margin) else None

    def _everyday(self, tokens: list[Token]) -> bool:
        """A sentence the word model finds plainly about everyday life ("I'm locked out of my
        email", "the police show was good", "I owe my sister twenty bucks"): a single word of
        trouble in it is not trouble. A phrase of two words or more, or any doubt, still counts."""
        if self.model is None:
            return False
        scores = self.model.scores(tokens)
        situations = [score for name, score in scores.items() if name not in OTHER]
        return NOISE in scores and bool(situations) and scores[NOISE] - max(situations) >= EVERYDAY

    @staticmethod
    def _refused(tokens: list[Token], matches: list[Match]) -> bool:
        """A negation just after a word for the police ("la policía no", "no cops"), or just
        before it: they are refused, not asked for."""
        police = {match.start for match in matches if match.label == "police"}
        return any(NOT in (tokens[i].word for i in range(max(0, at - 3), min(len(tokens), at + 2))) for at in police)

    def situation(self, tokens: list[Token], languages: tuple[str, ...], question: bool = False) -> Described | None:
        """The situation a caller describes (in `languages`: words.languages_of), if any, by what
        matters most, and whether single words were all there was to it (then a question about
        the world is not that situation)."""
        matches = self.index.find(tokens, languages)
        name = self._situation(tokens, matches, question) if matches else None
        if name is None:
            return None
        own = [match for match in matches if match.label == name]
        return Described(name, bool(own) and all(len(match.pattern.slots) == 1 for match in own))

    def _situation(self, tokens: list[Token], matches: list[Match], question: bool) -> str | None:
        found: dict[str, bool] = {}  # situation -> heard without a negation before it
        for match in matches:
            found[match.label] = found.get(match.label, False) or not match.negated
        if not found:
            return None
        single = {match.label for match in matches} - {match.label for match in matches if _words_of_meaning(match) > 1}
        if single and _other_words(tokens, matches) >= EVERYDAY_WORDS and self._everyday(tokens):
            # one word of trouble each, in a sentence about everyday life
            for label in single:
                found.pop(label, None)
            if not found:
                return None
        stems_said = _said(tokens)
        if "police" in found:
            # Asking for the police, 911, an ambulance: the 911 sentence. But not when the police
            # are feared or refused ("I don't want the police", "la policía no, me deportan"):
            # that caller is in danger. And "how do the police handle it" asks about them.
            refused = (
                not found["police"] or self._refused(tokens, matches) or stems_said & FEAR or "immigration" in found or FEARED in found
            )
            if not refused and not stems_said & ASKING_ABOUT:
                return "police"
            if refused:
                return "danger"  # about themselves, whoever else the sentence names
            found.pop("police")
        if found.pop(FEARED, None) is not None:
            return "danger"
        person = next((name for name in m.PERSON_SITUATIONS if name in found), None)
        about_me = any(t.word in ABOUT_ME for t in tokens)
        if person and (about_me or not (stems_said & SOMEONE_ELSE or "report" in found)):
            return person
        if person or "report" in found:
            return "report"
        if found.get("cant_talk") and not (question and "privacy" in found):  # "is anyone else listening?" asks
            return "cant_talk"
        if "privacy" in found:
            return "privacy"
        return None


def topics(menu: m.Menu) -> dict[str, list[tuple[str, str, float]]]:
    """Each node a caller may ask for by name (it has `say:` phrases), in its own words: the
    phrases count most, then the labels of the options that lead to it, then its title and text."""
    leading: dict[str, list[tuple[str, str]]] = {}
    for node in menu.nodes.values():
        for option in node.options:
            if option.action.kind == m.GOTO:
                leading.setdefault(option.action.target, []).extend(option.label.items())
    found = {}
    for node in menu.nodes.values():
        if node.say:
            words = [(p, lang, 3.0) for lang, items in node.say.items() for p in items]
            words += [(label, lang, 2.0) for lang, label in leading.get(node.id, ())]
            words += [(text, lang, 1.0) for texts in (node.title, node.prompt) for lang, text in texts.items()]
            found[node.id] = words
    return found
