"""A phone key said aloud: "press two", "option three", "oprima el uno", "the star key", "2".

Callers who are used to phone menus say the key instead of what it does; a key said is as
good as a key pressed. Kept apart from the rest of hearing because it is a small grammar of
its own (number words, words that frame them, sound-alikes), not a matter of meaning.
"""

from __future__ import annotations

import re

NUMBERS = {
    "0": "zero oh cero cerito", "1": "one won uno una", "2": "two to too dos", "3": "three tree tres", "4": "four for cuatro",
    "5": "five cinco", "6": "six seis", "7": "seven siete", "8": "eight ocho", "9": "nine nueve",
    "*": "star asterisk asterisco estrella estrellita", "#": "pound hash hashtag numeral gato gatito",
}  # fmt: skip
SOUNDS_LIKE = frozenset("to too for won tree oh".split())  # heard for a number, or just a word
KEY_WORDS = {word: key for key, words in NUMBERS.items() for word in words.split()} | {key: key for key in NUMBERS}
# "press two", "number 2", "option two", "oprima dos", "marque el dos": the word after is a key.
PRESS_WORDS = frozenset(
    "press pressing push hit dial number option auction key oprima oprimo marque marco marcar pulse presione numero opcion tecla".split()
)
# Said around a key without changing it: "the star key", "la tecla del gato", "el cuatro".
KEY_FRAME = frozenset("the key button el la de tecla del boton escojo elijo quiero".split())
PRESS = re.compile(r"\b(?:" + "|".join(sorted(PRESS_WORDS)) + r")\s+(?:el\s+|la\s+|the\s+)?(\S+)")
_KEY_SIGNS = frozenset("*#")  # the only characters besides words and spaces normalise() keeps


def spoken_key(said: str, words: list[str] | None = None) -> str | None:
    """The phone key a normalised utterance names ("press one", "uno", "2"), if it names one."""
    if said in KEY_WORDS:
        return KEY_WORDS[said]
    framed = words if words is not None else said.split()
    if len(framed) <= 4:  # "the star key", "el cuatro", "la tecla del gato"
        named = [word for word in framed if word not in KEY_FRAME]
        if len(named) == 1 and named[0] in KEY_WORDS and named[0] not in SOUNDS_LIKE:
            return KEY_WORDS[named[0]]
    if words is not None and PRESS_WORDS.isdisjoint(words) and not _KEY_SIGNS.intersection(said):
        return None  # no "press" word: no need for the regex (a set test is cheaper)
    match = PRESS.search(said)
    if match is None or (match.group(1) in SOUNDS_LIKE and match.end() != len(said)):
        return None  # "the number for the hotline" names no key; "press for" does
    return KEY_WORDS.get(match.group(1))
