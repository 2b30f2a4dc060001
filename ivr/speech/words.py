"""Words as the line hears them: one normal form for a transcript and for every phrase.

Recognisers slip and people speak loosely: capitals and punctuation come and go, Spanish
loses its accents, "won't" arrives as "wont", words split ("pass port") or merge. So a
transcript and every phrase are read the same way, in two steps:

- `normalise` gives lower-case words without accents, punctuation or filler words (what the
  menu's fuzzy matching compares);
- `analyse` turns those words into tokens for meaning: contractions opened ("cant" -> can
  not), every negation one token (`NOT`), Spanish pronouns split off the verb they are
  attached to ("sáquenme" -> saquen me), function words dropped, and each remaining word
  stemmed by Snowball in English and in Spanish (PyStemmer's C build when installed), so that
  "threatened", "threatening" and "threats", or "quitaron" and "quitó", are one stem.

What a caller said is as private as their number: nothing here logs or keeps it, and the
stem cache holds single words, never a sentence.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

import snowballstemmer

NOT = "not"  # every negation, in either language, is this one token

FILLERS = frozenset("um umm uh uhh er ah hmm mm please ok okay so well yeah yes like just eh este pues bueno porfavor favor por".split())
PUNCTUATION = re.compile(r"[^\w*#\s]")
# The same for plain ASCII, in one pass: apostrophes go ("what's" -> "whats"), other punctuation is a space.
ASCII_PUNCTUATION = str.maketrans({chr(c): " " for c in range(128) if PUNCTUATION.match(chr(c))} | {"'": None})
# Spanish and other Latin-1 letters without their accents, and its punctuation ("¿", "¡", "’"),
# in one pass: what the general path below gives for them, without going letter by letter.
LATIN = {
    chr(c): "".join(ch for ch in unicodedata.normalize("NFKD", chr(c)) if not unicodedata.combining(ch))
    for c in range(0xC0, 0x180)
    if chr(c).islower()
}
LATIN_PUNCTUATION = str.maketrans({chr(c): " " for c in range(0x80, 0xC0) if PUNCTUATION.match(chr(c))} | {"’": None} | LATIN)


def normalise(text: str) -> str:
    """Lower case, no accents, no punctuation, no filler words, one space between words."""
    text = text.lower()
    if text.isascii():
        text = text.translate(ASCII_PUNCTUATION)
    elif (latin := text.translate(LATIN_PUNCTUATION)).isascii():  # Spanish, as it mostly comes
        text = latin.translate(ASCII_PUNCTUATION)
    else:  # accents to strip ("línea" -> "linea")
        text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
        text = PUNCTUATION.sub(" ", text.replace("'", "").replace("’", ""))
    return " ".join([word for word in text.split() if word not in FILLERS])


# English contractions as normalise() leaves them (no apostrophe). "id" and "were" are left
# alone: "he has my ID" and "we were" mean themselves far more often than "I would".
CONTRACTIONS = {
    "cant": "can not", "cannot": "can not", "wont": "will not", "dont": "do not", "doesnt": "does not",
    "didnt": "did not", "isnt": "is not", "arent": "are not", "wasnt": "was not", "werent": "were not",
    "havent": "have not", "hasnt": "has not", "hadnt": "had not", "wouldnt": "would not", "couldnt": "could not",
    "shouldnt": "should not", "aint": "am not", "mustnt": "must not", "neednt": "need not",
    "im": "i am", "ive": "i have", "ill": "i will", "youre": "you are", "youll": "you will", "hes": "he is",
    "shes": "she is", "theyre": "they are", "theyll": "they will", "theyve": "they have", "theyd": "they would",
    "itll": "it will", "whats": "what is", "thats": "that is", "theres": "there is", "whos": "who is",
    "lets": "let us", "gonna": "going to", "wanna": "want to", "gotta": "got to", "gimme": "give me",
    "lemme": "let me", "cuz": "because", "cause": "because", "cos": "because", "ya": "you", "u": "you",
    "hed": "he would", "shed": "she would", "someones": "someone is", "somebodys": "somebody is", "yall": "you all", "dunno": "do not know", "kinda": "kind of",
}  # fmt: skip
NEGATIONS = frozenset("not no never nunca jamas ni nope nah nadie".split())
# A word marked as the wrong one is not asked for either: "the wrong number", "me equivoqué de
# número" (before it), "número equivocado" (after it, as Spanish puts adjectives).
WRONG_BEFORE = frozenset("wrong equivoque equivoco".split())
WRONG_AFTER = frozenset("equivocado equivocada incorrecto incorrecta".split())

# Words that carry no meaning for what a caller needs; negations and pronouns are kept
# ("they won't let me leave" needs "not", and "I am a victim" is not "who are the victims").
FUNCTION_WORDS = frozenset(
    """a an the to of in on at for with by from and or but is am are was were be been being do does did doing
    will would shall should can could may might must this that these those it its
    as than then just really very too also some any all about into
    el la los las lo un una unos unas de del al en y e o u pero que es son era eran fue fueron ser sido
    estar este esto ese eso esa hay habia muy ya con para se le les
    mas tan tambien""".split()
)

# "On" is a function word, except before the person something is done against: "they'll call
# the cops on me" fears the police, "call the cops for me" asks for them.
AGAINST = frozenset("me us".split())

# Words only one of the two languages uses, to tell which one a sentence is in: Snowball's
# English and Spanish stems of one word can meet by chance ("more" and "morir" are both "mor"),
# so a sentence plainly in one language is not read with the other's phrases.
ENGLISH = frozenset("the i you he she they we it is are was were to of and my this that what do does with for have has".split())
SPANISH = frozenset("el la los las de del que y es un una mi mis yo usted se lo le por para con esta estoy son tengo".split())


def languages_of(said_words: list[str]) -> tuple[str, ...]:
    """The languages a sentence may be in: both, unless it is plainly one of them (two of its
    words or more, and at least four times as many as of the other: "I told my patrón no")."""
    english = sum(word in ENGLISH for word in said_words)
    spanish = sum(word in SPANISH for word in said_words)
    if english >= 2 and english >= 4 * spanish:
        return ("en",)
    if spanish >= 2 and spanish >= 4 * english:
        return ("es",)
    return ("en", "es")


# Spanish pronouns written onto a verb ("ayúdame", "sáquenme", "llévennos", "díganles").
# Snowball strips them only after an infinitive or gerund; a command needs this too. "me"
# and "te" after a vowel or a plural command; the others only after a plural command
# ("-nnos", "-nles"): "papeles", "hermanos" and "animales" are words, not commands.
ENCLITIC = (
    re.compile(r"^(\w{3,}?(?:[aeiou]n?|[aei]r))(me|te)$"),
    re.compile(r"^(\w{3,}?[aeiou]n)(nos|les?|los?|las?)$"),
)
ENCLITIC_MIN = 6


SPLIT_WORD = 11  # two words this short together, one of them very short, may be one word split ("traffic king", "de port")


class Stems(NamedTuple):
    """A word and its stem in English and in Spanish (the caller may use either)."""

    word: str
    en: str
    es: str


class Token(NamedTuple):
    """One word of meaning, and the same written together with the word spoken before it:
    recognisers split words ("pass port", "de port"), and the pair may be the word meant."""

    word: str
    en: str
    es: str
    joined: Stems | None = None


_STEMMERS = {"en": snowballstemmer.stemmer("english"), "es": snowballstemmer.stemmer("spanish")}


@lru_cache(maxsize=8192)
def stems(word: str) -> Stems:
    """The word's stems (cached: callers use few words, and a stem never changes)."""
    return Stems(word, _STEMMERS["en"].stemWord(word), _STEMMERS["es"].stemWord(word))


def stem(word: str, lang: str) -> str:
    token = stems(word)
    return token.es if lang == "es" else token.en


def open_words(words: list[str]) -> list[str]:
    """Contractions opened, negations made one token, Spanish enclitic pronouns split off."""
    opened: list[str] = []
    for word in words:
        if word in CONTRACTIONS:
            opened.extend(CONTRACTIONS[word].split())
        elif word in NEGATIONS or word in WRONG_BEFORE:
            opened.append(NOT)
        elif word in WRONG_AFTER and opened:
            opened.insert(len(opened) - 1, NOT)
        elif len(word) >= ENCLITIC_MIN and (verb := _command(word)) is not None:
            opened.extend(verb)
        else:
            opened.append(word)
    return opened


def _command(word: str) -> tuple[str, str] | None:
    """A Spanish command and the pronoun written onto it, if the word is one ("sáquenme")."""
    for pattern in ENCLITIC:
        match = pattern.match(word)
        if match is not None and len(match.group(1)) >= 4:
            return match.group(1), match.group(2)
    return None


def analyse(said: str) -> list[Token]:
    """The normalised utterance as tokens of meaning (function words dropped, negations kept)."""
    tokens = []
    before = ""
    words = open_words(said.split())
    for n, word in enumerate(words):
        if word not in FUNCTION_WORDS or (word == "on" and n + 1 < len(words) and words[n + 1] in AGAINST):
            pair = (
                before + word
                if before and word != NOT and len(before) + len(word) <= SPLIT_WORD and min(len(before), len(word)) <= 4
                else None
            )
            tokens.append(Token(*stems(word), stems(pair) if pair else None))
        before = word if word != NOT else ""
    return tokens


def is_negation(word: str) -> bool:
    """A normalised word that says "not" ("no", "never", "dont", "cant")."""
    return word in NEGATIONS or word in WRONG_BEFORE or CONTRACTIONS.get(word, "").endswith(" not")


def plain(phrase: str) -> str:
    """A phrase as a caller would say it: the first of each word's alternatives ("see|know my
    number" -> "see my number"), for Twilio's hints and for "you can say"."""
    return " ".join(slot.split("|", 1)[0].lstrip("=") for slot in phrase.split())


def phrase_tokens(phrase: str, lang: str) -> tuple[str, ...]:
    """A written phrase as the stems it must be heard as, in its own language."""
    return tuple(stem(token.word, lang) for token in analyse(normalise(phrase)))
