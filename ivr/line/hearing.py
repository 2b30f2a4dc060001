"""What a caller said -> one of the menu's choices, or "not sure", or "nothing I know".

Twilio hands us its transcript (`SpeechResult`) and its own `Confidence`. Recognisers slip:
accents go missing, words split ("hot line") or merge, numbers come back as words. So both
the transcript and every phrase of the menu are normalised the same way (case, accents,
punctuation, filler words), a spoken key ("press one", "uno", "number two") is read as that
key, and the rest is matched with rapidfuzz, which forgives near misses. A clear match acts;
two close ones, or a weak match on a low-confidence transcript, make the line ask again with
the likeliest two; nothing known counts like a wrong key.

Safety first: a caller who says "help", "I'm in danger", "ayuda", "auxilio"... is put through
to a person whatever else was said and wherever they are. The line never dials 911 itself.

What a caller said is as private as their number: nothing here logs or keeps it.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from rapidfuzz import fuzz, process

from ..menu import model as m

CLEAR = 86  # a match scoring this much or more acts...
MARGIN = 8  # ...when the next different choice scores at least this much less
WEAK = 70  # below this it is not a match at all
LOW_CONFIDENCE = 0.35  # Twilio's own doubt: below this only a near-perfect match acts

# Said anywhere, in any language: put the caller through to a person at once.
SAFETY = (
    "help", "help me", "i need help", "emergency", "danger", "in danger", "dangerous", "not safe", "unsafe",
    "hurting me", "hurt me", "hit me", "hitting me", "beating me", "kill me", "save me", "scared", "afraid",
    "trapped", "cant leave", "cannot leave", "held against my will", "threatening me", "threatened",
    "ayuda", "ayudame", "necesito ayuda", "auxilio", "socorro", "emergencia", "peligro", "estoy en peligro",
    "me estan lastimando", "me lastiman", "me pega", "me golpea", "me quieren matar", "tengo miedo",
    "no estoy segura", "no estoy seguro", "atrapada", "atrapado", "no puedo salir", "me amenaza",
)  # fmt: skip
FILLERS = frozenset("um umm uh uhh er ah hmm mm please ok okay so well yeah yes like just eh este pues bueno porfavor favor por".split())
NUMBERS = {
    "0": "zero oh cero", "1": "one won uno una", "2": "two dos", "3": "three tree tres", "4": "four cuatro",
    "5": "five cinco", "6": "six seis", "7": "seven siete", "8": "eight ocho", "9": "nine nueve",
    "*": "star asterisk asterisco estrella", "#": "pound hash numeral gato",
}  # fmt: skip
KEY_WORDS = {word: key for key, words in NUMBERS.items() for word in words.split()} | {key: key for key in NUMBERS}
# "press two", "number 2", "option two", "oprima dos", "marque el dos": the word after is a key.
PRESS_WORDS = frozenset("press push number option key oprima oprimo marque marco pulse presione numero opcion tecla".split())
PRESS = re.compile(r"\b(?:" + "|".join(sorted(PRESS_WORDS)) + r")\s+(?:el\s+|la\s+)?(\S+)")


PUNCTUATION = re.compile(r"[^\w*#\s]")
# The same for plain ASCII, in one pass: apostrophes go ("what's" -> "whats"), other punctuation is a space.
ASCII_PUNCTUATION = str.maketrans({chr(c): " " for c in range(128) if PUNCTUATION.match(chr(c))} | {"'": None})


def normalise(text: str) -> str:
    """Lower case, no accents, no punctuation, no filler words, one space between words."""
    text = text.lower()
    if text.isascii():
        text = text.translate(ASCII_PUNCTUATION)
    else:  # accents to strip ("línea" -> "linea")
        text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
        text = PUNCTUATION.sub(" ", text.replace("'", ""))
    return " ".join([word for word in text.split() if word not in FILLERS])


def spoken_key(said: str, words: list[str] | None = None) -> str | None:
    """The phone key a normalised utterance names ("press one", "uno", "2"), if it names one."""
    if said in KEY_WORDS:
        return KEY_WORDS[said]
    if words is not None and PRESS_WORDS.isdisjoint(words) and not _KEY_SIGNS.intersection(said):
        return None  # no "press" word: no need for the regex (a set test is cheaper)
    match = PRESS.search(said)
    return KEY_WORDS.get(match.group(1)) if match else None


SAFETY_PHRASE = re.compile(r"\b(?:" + "|".join(sorted(map(re.escape, SAFETY), key=len, reverse=True)) + r")\b")
SAFETY_WORDS = [phrase for phrase in SAFETY if " " not in phrase and len(phrase) >= 6]
SAFETY_NEAR = 88  # a word this close to one of SAFETY_WORDS counts as it ("emergancy")
# The same test as SAFETY_PHRASE, by words: one set test, then the longer phrases by their first word.
SAFETY_SINGLE = frozenset(phrase for phrase in SAFETY if " " not in phrase)
SAFETY_LONGER: dict[str, list[str]] = {}
for _phrase in SAFETY:
    if " " in _phrase:
        SAFETY_LONGER.setdefault(_phrase.split(" ", 1)[0], []).append(f" {_phrase} ")
_KEY_SIGNS = frozenset("*#")  # the only characters besides words and spaces normalise() keeps


def says_safety_phrase(said: str, words: list[str]) -> bool:
    """A safety phrase said whole (what SAFETY_PHRASE finds, without scanning for 60 phrases)."""
    if _KEY_SIGNS.intersection(said):  # "help*": word boundaries the split does not see
        return SAFETY_PHRASE.search(said) is not None
    if not SAFETY_SINGLE.isdisjoint(words):
        return True
    padded = f" {said} "
    return any(phrase in padded for word in words for phrase in SAFETY_LONGER.get(word, ()))


def is_safety(said: str, words: list[str], known: frozenset[str] = frozenset()) -> bool:
    """A safety phrase said, or one of its longer words nearly ("emergancy"). Words in `known`
    are words of the menu's own phrases that are not near a safety word: no need to look."""
    if says_safety_phrase(said, words):
        return True
    return any(near_safety_word(word) for word in words if len(word) >= 6 and word not in known)


def near_safety_word(word: str) -> bool:
    return process.extractOne(word, SAFETY_WORDS, scorer=fuzz.ratio, score_cutoff=SAFETY_NEAR) is not None


@dataclass(frozen=True)
class Choice:
    """Something a caller can ask for here: an action, with the key that does it (if any) and its label."""

    action: m.Action
    label: str
    key: str | None
    phrases: tuple[str, ...]  # normalised, for matching
    spoken: tuple[str, ...] = ()  # as written, for Twilio's hints and for "Or say: ..."


class Heard(NamedTuple):
    kind: str  # "safety", "key", "choice", "unsure", "nothing"
    choice: Choice | None = None
    key: str | None = None
    alternatives: tuple[Choice, ...] = ()


class Phrasebook:
    """The choices at one node in one language, with their phrases laid out flat, so that
    rapidfuzz compares an utterance with all of them in one call (its loop is in C)."""

    def __init__(self, choices: Iterable[Choice]):
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
        # Words of these phrases that no safety word is near: heard, they need no fuzzy safety check.
        words = {w for p in self.phrases for w in p.split() if len(w) >= 6}
        self.known = frozenset(w for w in words if not near_safety_word(w))


def hear(transcript: str, confidence: float, book: Phrasebook) -> Heard:
    said = normalise(transcript)
    if not said:
        return Heard("nothing")
    words = said.split()
    if is_safety(said, words, book.known):
        return Heard("safety")
    key = spoken_key(said, words)
    if key is not None:
        return Heard("key", key=key)
    # The best two choices that do different things (two phrases of one choice never compete).
    top: tuple[float, int] | None = None  # (score, phrase index)
    second: tuple[float, int] | None = None
    does = book.does
    for index, score in _scores(said, words, book).items():
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
    if top[0] >= CLEAR and top[0] - runner_up >= MARGIN and (confidence >= LOW_CONFIDENCE or top[0] >= 97):
        return Heard("choice", best)
    return Heard("unsure", alternatives=(best, book.choices[book.owner[second[1]]]) if second else (best,))


def _scores(said: str, words: list[str], book: Phrasebook) -> dict[int, float]:
    """How well the utterance matches each phrase that matches at all (WEAK or more), by the
    phrase's index. A phrase said inside a longer sentence ("I want the Colorado hotline" ~
    "colorado hotline") counts 75-100 by how much of it the phrase explains, so a longer phrase
    said whole beats a shorter one inside it; near misses count almost as much: a slip of a
    letter or two, or words split or merged ("hot line", "human traffic king")."""
    # Compared with the spaces taken out, so split and merged words cost nothing; below WEAK a
    # score changes nothing, which lets rapidfuzz skip work.
    scores = fuzzy_scores("".join(words), book)
    padded = f" {said} "
    for word in set(words):
        for n, phrase in book.starting.get(word, ()):
            if phrase in padded:
                scores[n] = 75.0 + 25.0 * (len(phrase) - 2) / len(said)
    return scores


def fuzzy_scores(joined: str, book: Phrasebook) -> dict[int, float]:
    """rapidfuzz's ratio of the utterance (spaces out) with every phrase (spaces out) scoring
    WEAK or more. ratio <= 200 * min(a, b) / (a + b) for lengths a and b, so only phrases of a
    length in [lo, hi] can get there: the rest are not handed over at all."""
    size = len(joined)
    lo = bisect_left(book.lengths, size * WEAK / (200 - WEAK) - 1e-9)
    hi = bisect_right(book.lengths, size * (200 - WEAK) / WEAK + 1e-9)
    found = process.extract(joined, book.by_length[lo:hi], scorer=fuzz.ratio, limit=None, score_cutoff=WEAK)
    return {book.unsorted[lo + n]: score for _, score, n in found}
