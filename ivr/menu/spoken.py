"""How things sound: phone numbers read digit by digit, keys by name, speaking time.

Kept apart from rendering so lint, the fallback document and the renderer all
estimate and read numbers the same way.
"""

from __future__ import annotations

import re

WORDS_PER_MINUTE = 150  # English, as Polly's voices speak at their default rate
# Spanish voices say more (shorter) words a minute; the rate the front-door targets assume.
LANGUAGE_RATE = {"es": 160}

_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def spoken_number(e164: str) -> str:
    """`+18883737888` -> `1, 8 8 8, 3 7 3, 7 8 8 8`: digits in groups, slow enough to write down."""
    digits = e164.lstrip("+")
    if e164.startswith("+1") and len(digits) == 11:
        groups = [digits[0], digits[1:4], digits[4:7], digits[7:]]
    else:
        groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    return ", ".join(" ".join(group) for group in groups)


def spoken_digits(text: str) -> str:
    """`233733` -> `2 3 3 7 3 3`, so a voice does not say "two hundred thirty-three thousand"."""
    return " ".join(text)


def word_count(text: str) -> int:
    return len(_WORD.findall(text))


def seconds(text: str, lang: str = "en") -> float:
    """Estimated speaking time: 150 words a minute in English, 160 in Spanish."""
    return word_count(text) * 60.0 / LANGUAGE_RATE.get(lang, WORDS_PER_MINUTE)


def say_limit(voice: str) -> int:
    """Twilio's character limit for one <Say>: 3,000 for Polly/neural voices, 4,096 for basic ones."""
    return 3000 if voice.split(".", 1)[0] in ("Polly", "Google") else 4096
