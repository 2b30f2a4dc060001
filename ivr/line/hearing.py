"""What a caller said -> a situation, a key, one of the menu's choices, "not sure" or nothing.

Twilio hands us its transcript (`SpeechResult`) and its own `Confidence`. The words are read
by ivr/speech (one normal form, stems in English and Spanish, negations, attached pronouns),
then weighed in this order, because a caller in trouble matters more than a menu word:

1. the menu's own words said as they are ("who are the victims", "Colorado");
2. a key said aloud ("press two", "uno");
3. a situation described in any words: the police or 911 (the 911 sentence; but fear of the
   police, or "I don't want the police", is a caller in danger), danger, control, forced
   work or sex, immigration fear, needs (a person at once), someone else in trouble (a
   report), a caller who cannot talk, a privacy question;
4. the menu's words inside a longer sentence, by stems or nearly ("I'd like the Colorado
   hotline please", "how do the police respond to it", "the national hot line");
5. a sentence no phrase names: the word model (ivr/speech/model.py) for a caller in trouble,
   then the sections' own words for a question ("do the cops in Denver go after this?");
6. two close choices: the one the sections' words point to, or "not sure" with the likeliest
   two; nothing known: "not understood", except a few words about the caller themselves ("I'm
   so tired", "that sounds like me"): those reach a person.

Between a person and anything else, the person wins. The line never dials 911 itself.
What a caller said is as private as their number: nothing here logs or keeps it.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from rapidfuzz import fuzz, process

from ..menu import model as m
from ..speech.phrases import NEGATION_REACH, Match, PhraseIndex  # a negation that near turns a menu phrase down too
from ..speech.words import NOT, Token, analyse, is_negation, languages_of, normalise, plain
from .keys_said import spoken_key
from .understanding import ME_OR_MINE, PRONOUNS, Understanding

CLEAR = 86  # a match scoring this much or more acts...
MARGIN = 8  # ...when the next different choice scores at least this much less
SAID = 78  # a phrase whose every word was said acts from this score (it explains part of a longer sentence)...
MARGIN_SAID = 5  # ...when the next different choice scores at least this much less
SHORT = 3  # in a sentence of this many words or fewer, one word of a phrase is the phrase said
WEAK = 70  # below this it is not a match at all
WHOLE = 97  # what was said is one of the menu's phrases, near enough letter for letter
LOW_CONFIDENCE = 0.35  # Twilio's own doubt: below this only a near-perfect match acts
ACCOUNT = 60  # words of meaning beyond which what is said is an account, not a menu request
LONG = 8  # words of meaning that make an account rather than a request
OVERRULE = 6.0  # log odds by which the word model must find trouble in a long account to overrule menu words in it
STEMMED = 2  # a phrase heard in other forms of its words scores this much less than said as written ("traffickers" is not "trafficking")
PERSON_KEY = "0"  # the key every menu answers with a person
ABOUT_THEMSELVES = 3  # different words at most in a sentence about the caller that, not understood, still reaches a person
# Courtesy says nothing of the caller: "excuse me", "sorry", "permítame" are no words about themselves
# ("please" never gets here: normalise() drops it as a filler).
COURTESY = frozenset("sorry excuse pardon thank thanks perdon perdone disculpe disculpa disculpen permita permiso gracias".split())
NAVIGATION = (m.REPEAT, m.BACK, m.SLOWER)  # moving about the menu, not anything in it
NAVIGATION_WORDS = 5  # words of meaning a request to move about has at the most ("slow down a little, I'm writing")
ASKED_AS_IS = ("police", "privacy")  # a question about these is that situation, not a topic ("can I call from a private number?")
ANSWERED_AFTER_LANGUAGE = ("cant_talk", "privacy")  # "I can't speak English" is a language, not "can't talk"


# Words that ask to be told something, for a sentence that is not a question ("tell me about the
# victims", "quiero saber más", "explíqueme eso").
TELL_ME = frozenset(
    "tell explain learn know about information info more read dime digame diga expliqueme explicame explique"
    " hableme hablame cuenteme cuentame saber informacion sobre acerca mas".split()
)
FEW = 2  # words of meaning in which a topic may be named without asking ("numeros", "the victims")
ASKING_FIRST = frozenset(
    "is are do does did can could will would what who whom where why how when which should isnt"
    " que quien quienes donde como cuando cual cuales por hay pueden puede es son".split()
)


@dataclass(frozen=True)
class Choice:
    """Something a caller can ask for here: an action, with the key that does it (if any) and its label."""

    action: m.Action
    label: str
    key: str | None
    phrases: tuple[str, ...]  # normalised, for matching
    spoken: tuple[str, ...] = ()  # as written, for Twilio's hints and for "Or say: ..."


class Heard(NamedTuple):
    kind: str  # "situation", "key", "choice", "unsure", "nothing"
    choice: Choice | None = None
    key: str | None = None
    alternatives: tuple[Choice, ...] = ()
    situation: str | None = None  # for "situation": which one (danger, police, privacy...)


class Phrasebook:
    """The choices at one node in one language, with their phrases laid out flat, so that
    rapidfuzz compares an utterance with all of them in one call (its loop is in C), and
    indexed by stems, so that a phrase is heard inside a sentence in any of its forms."""

    def __init__(self, choices: Iterable[Choice], lang: str = "en"):
        self.choices = list(choices)
        self.phrases = [p for choice in self.choices for p in choice.phrases]
        self.owner = [n for n, choice in enumerate(self.choices) for _ in choice.phrases]
        # What each phrase does, as a small number: equal actions (a key and a topic that both go
        # to "victims") get the same one, and comparing numbers is cheaper than comparing actions.
        numbers: dict[m.Action, int] = {}
        self.does = [numbers.setdefault(self.choices[n].action, len(numbers)) for n in self.owner]
        self.joined = [p.replace(" ", "") for p in self.phrases]
        # The same, shortest first: a phrase far longer or shorter than what was said cannot
        # score WEAK, so only a slice of them is handed to rapidfuzz.
        order = sorted(range(len(self.joined)), key=lambda n: len(self.joined[n]))
        self.by_length = [self.joined[n] for n in order]
        self.lengths = [len(self.joined[n]) for n in order]
        self.unsorted = order  # position in by_length -> phrase index
        # For "said whole inside the sentence": each phrase, padded, under its first word.
        self.starting: dict[str, list[tuple[int, str]]] = {}
        for n, phrase in enumerate(self.phrases):
            self.starting.setdefault(phrase.split(" ", 1)[0], []).append((n, f" {phrase} "))
        # By stems, in the node's language: each phrase as written ("see|know my number" too),
        # under the number of its normal form above.
        number = {(self.owner[n], phrase): n for n, phrase in enumerate(self.phrases)}
        written: dict[str, dict[str, list[str]]] = {}
        for c, choice in enumerate(self.choices):
            for phrase in choice.spoken or choice.phrases:
                n = number.get((c, normalise(plain(phrase))))
                if n is not None:
                    written.setdefault(str(n), {lang: []})[lang].append(phrase)
        self.index = PhraseIndex(written, near=False)  # near misses: rapidfuzz's scores above


def hear(transcript: str, confidence: float, book: Phrasebook, understanding: Understanding | None = None) -> Heard:
    said = normalise(transcript)
    if not said:
        return Heard("nothing")
    words = said.split()
    tokens = analyse(said)
    # A menu choice is asked for in a sentence or two; in a minute-long account the line listens
    # for what is happening to the caller, not for menu words along the way (and saves the time).
    scores, heard_whole = _scores(said, words, tokens, book) if len(tokens) <= ACCOUNT else ({}, set())
    best = max(scores.items(), key=lambda item: item[1], default=None)
    if best is not None and best[1] >= WHOLE and len(book.joined[best[0]]) * 10 >= len("".join(words)) * 9:
        return Heard("choice", book.choices[book.owner[best[0]]])  # a menu phrase, said as it is
    key = spoken_key(said, words)
    if key is not None:
        return Heard("key", key=key)
    question = is_question(transcript, words)
    languages = languages_of(words)  # what the sentence may be in: the phrases and topics of those
    described = understanding.situation(tokens, languages, question) if understanding is not None else None
    situation = described.name if described is not None else None
    if described is not None and described.weak and situation not in ASKED_AS_IS and question and not _about_me(tokens):
        # "Do traffickers take passports?" asks about a topic; "they took my passport" does not.
        topic = _topic(book, understanding, tokens, languages)
        if topic is not None:
            return topic
    if situation is not None and situation not in ANSWERED_AFTER_LANGUAGE:
        return Heard("situation", situation=situation)
    choice = _choose(scores, confidence, book, heard_whole)
    if situation is not None and not (choice.kind == "choice" and choice.choice.action.kind == m.LANGUAGE):
        return Heard("situation", situation=situation)  # "I can't speak English" asks for Spanish, not quiet
    if understanding is None:
        return choice
    if choice.kind == "choice" and choice.choice.action.kind in NAVIGATION and len(tokens) > NAVIGATION_WORDS:
        # "Again", "back", "slower" are asked for in a few words; in a longer sentence they are
        # part of something else ("el patrón me cambió el turno otra vez", "empezar de nuevo").
        choice = Heard("nothing")
    if choice.kind == "choice":
        # A few menu words inside a long account ("...until I said I'd go back out tonight") do
        # not make it a menu choice when the words as a whole tell of trouble.
        if len(tokens) >= LONG and (guessed := understanding.guess(tokens, OVERRULE)) is not None:
            return Heard("situation", situation=guessed)
        return choice
    # Nothing named: what the words are about. A situation first (a person, in doubt), then a topic.
    guessed = understanding.guess(tokens)
    if guessed is not None:
        return Heard("situation", situation=guessed)
    # Nothing named, or two choices close: the sections' own words decide, when they point to
    # one of the two ("what do the victim advocates do?": "advocates" or "victims").
    topic = _topic(book, understanding, tokens, languages) if _asks(question, words, tokens, understanding) else None
    if topic is not None and (
        choice.kind == "nothing" or topic.choice in choice.alternatives or (question and understanding.asks_about(tokens))
    ):
        return topic
    if choice.kind == "nothing" and not question and _about_themselves(tokens):
        # A few words about themselves that nothing here understood ("I'm so tired", "that sounds
        # like me", "me siento mal"): in doubt between a person and "say that again", the person.
        return Heard("situation", situation=m.NEEDS)
    return choice


def _topic(book: Phrasebook, understanding: Understanding, tokens: list[Token], languages: tuple[str, ...]) -> Heard | None:
    """The section a question is about, by the sections' own words, as a choice at this node."""
    found = understanding.topic(tokens, languages)
    if found is None:
        return None
    action = m.Action(m.GOTO, found)
    return Heard("choice", next((c for c in book.choices if c.action == action), Choice(action, "", None, ())))


def _asks(question: bool, words: list[str], tokens: list[Token], understanding: Understanding) -> bool:
    """Asked to be told something, so the sections' words may answer: a question, "tell me about
    ...", or a topic named in a word or two ("numbers"). A remark that shares two words with a
    section's text ("we're killing time at the mall", "ya pagué la renta") asks for nothing."""
    return question or len(tokens) <= FEW or not TELL_ME.isdisjoint(words) or understanding.asks_about(tokens)


def _about_themselves(tokens: list[Token]) -> bool:
    """A few words about the caller, one of them more than a pronoun or a courtesy ("I'm so
    tired", "me siento mal"; not "it's me", "excuse me", "perdón, yo")."""
    words = {token.word for token in tokens}
    return len(words) <= ABOUT_THEMSELVES and _about_me(tokens) and bool(words - PRONOUNS - COURTESY)


def _about_me(tokens: list[Token]) -> bool:
    """The caller or their own is in it ("can they take my kids?"), not only the world ("do they only go after girls?")."""
    return any(token.word in ME_OR_MINE for token in tokens)


def is_question(transcript: str, words: list[str]) -> bool:
    """Asked, not told: Twilio writes its "?", or a question word comes first."""
    return transcript.rstrip().endswith("?") or bool(words) and words[0] in ASKING_FIRST


def _choose(scores: dict[int, float], confidence: float, book: Phrasebook, heard_whole: set[int] = frozenset()) -> Heard:  # type: ignore[assignment]
    """The best two choices that do different things (two phrases of one choice never compete).
    A phrase whose every word was said is surer than a near miss: it needs a smaller lead. In
    doubt between a person and one other choice, the person."""
    top: tuple[float, int] | None = None  # (score, phrase index)
    second: tuple[float, int] | None = None
    does = book.does
    for index, score in scores.items():
        if top is None or score > top[0]:
            if top is not None and does[top[1]] != does[index]:
                second = top
            top = (score, index)
        elif does[index] != does[top[1]] and (second is None or score > second[0]):
            second = (score, index)
    if top is None:
        return Heard("nothing")
    best = book.choices[book.owner[top[1]]]
    runner_up = second[0] if second else 0.0
    said = top[1] in heard_whole
    enough, margin = (SAID, MARGIN_SAID) if said else (CLEAR, MARGIN)
    if top[0] >= enough and top[0] - runner_up >= margin and (confidence >= LOW_CONFIDENCE or top[0] >= WHOLE):
        return Heard("choice", best)
    if second is None:
        return Heard("unsure", alternatives=(best,))
    alternatives = (best, book.choices[book.owner[second[1]]])
    person = [choice for choice in alternatives if choice.key == PERSON_KEY]
    return Heard("choice", person[0]) if len(person) == 1 else Heard("unsure", alternatives=alternatives)


def _scores(said: str, words: list[str], tokens: list[Token], book: Phrasebook) -> tuple[dict[int, float], set[int]]:
    """How well the utterance matches each phrase that matches at all (WEAK or more), by the
    phrase's index. A phrase said inside a longer sentence ("I want the Colorado hotline" ~
    "colorado hotline"), or heard by its stems ("how do the police respond to it" ~ "how police
    respond"), counts 75-100 by how much of the sentence it explains, so a longer phrase beats
    a shorter one inside it; near misses count almost as much: a slip of a letter or two, or
    words split or merged ("hot line", "human traffic king"). A phrase with a negation just
    before it is turned down ("not the national one")."""
    # Compared with the spaces taken out, so split and merged words cost nothing; below WEAK a
    # score changes nothing, which lets rapidfuzz skip work.
    scores = fuzzy_scores("".join(words), book)
    whole: set[int] = set()  # phrases whose every word was said
    padded = f" {said} "
    offset = 0  # where the word starts in `padded`, less its leading space
    for position, word in enumerate(words):
        for n, phrase in book.starting.get(word, ()):
            if padded.startswith(phrase, offset) and not _negated(words, position):
                scores[n] = max(scores.get(n, 0.0), 75.0 + 25.0 * (len(phrase) - 2) / len(said))
                if phrase.count(" ") > 2 or len(words) <= SHORT:  # one word inside a long sentence is not enough
                    whole.add(n)
        offset += len(word) + 1
    if len(tokens) > 1:
        for match in book.index.find(tokens):
            if not match.negated:
                n = int(match.label)
                scores[n] = max(scores.get(n, 0.0), 75.0 + 25.0 * (match.end - match.start + 1) / len(tokens) - STEMMED)
                if match.end > match.start or len(tokens) <= SHORT:
                    whole.add(n)
    return scores, whole


def _negated(words: list[str], position: int) -> bool:
    return any(is_negation(word) for word in words[max(0, position - NEGATION_REACH) : position])


def fuzzy_scores(joined: str, book: Phrasebook) -> dict[int, float]:
    """rapidfuzz's ratio of the utterance (spaces out) with every phrase (spaces out) scoring
    WEAK or more. ratio <= 200 * min(a, b) / (a + b) for lengths a and b, so only phrases of a
    length in [lo, hi] can get there: the rest are not handed over at all."""
    size = len(joined)
    lo = bisect_left(book.lengths, size * WEAK / (200 - WEAK) - 1e-9)
    hi = bisect_right(book.lengths, size * (200 - WEAK) / WEAK + 1e-9)
    found = process.extract(joined, book.by_length[lo:hi], scorer=fuzz.ratio, limit=None, score_cutoff=WEAK)
    return {book.unsorted[lo + n]: score for _, score, n in found}


__all__ = ["Choice", "Heard", "Match", "Phrasebook", "Understanding", "hear", "plain", "spoken_key", "NOT"]
