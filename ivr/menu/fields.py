"""Reading typed values out of the located YAML tree, collecting problems as it goes.

Every check in the validator goes through one `Checker`: it turns a located value into
text, a key, a whole number or a per-language text, or records a problem that says where
and how to fix it. It also holds the names defined so far (languages, hotlines, nodes),
so that a reference can be checked with a "did you mean" hint.
"""

from __future__ import annotations

import difflib
import re

from . import model as m
from .problems import MenuProblem
from .source import BOOL, FLOAT, INT, NULL, Map, Mark, Scalar, Seq, Value
from .spoken import say_limit

ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
MAX_PHRASE = 100


def _describe(tag: str, text: str) -> str:
    return {
        INT: "a number",
        FLOAT: "a number",
        BOOL: f"true/false ({text} means {'true' if text.lower() in ('yes', 'true', 'on', 'y') else 'false'} to YAML)",
        NULL: "empty",
    }.get(tag, "a value")


def close_match(name: str, choices: list[str]) -> str:
    """A " Did you mean 'x'?" hint for a misspelt name, or nothing."""
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    return f" Did you mean '{close[0]}'?" if close else ""


class Checker:
    """Walks the located YAML tree, collecting problems instead of stopping at the first."""

    def __init__(self, file: str):
        self.file = file
        self.problems: list[MenuProblem] = []
        self.langs: list[str] = []
        self.voices: dict[str, str] = {}
        self.hotline_ids: list[str] = []
        self.node_ids: dict[str, None] = {}  # a dict: ordered, and quick to look up in a big menu

    def error(self, mark: Mark, message: str, code: str = "invalid") -> None:
        self.problems.append(mark.problem(message, code=code))

    # --- shapes -------------------------------------------------------------------------
    def mapping(self, value: Value | None, what: str) -> Map | None:
        if value is None:
            return None
        if isinstance(value, Map):
            return value
        self.error(value.mark, f"{what} must be a block of 'name: value' lines, not {self._kind(value)}.", "type")
        return None

    def fields(self, block: Map, allowed: dict[str, bool], what: str) -> None:
        for name, key in block.keys():
            if name in allowed:
                continue
            close = close_match(name, list(allowed))
            hint = close or f" Allowed here: {', '.join(allowed)}."
            self.error(key.mark, f"Unknown field '{name}' in {what}.{hint}", "unknown-field")
        missing = [name for name, required in allowed.items() if required and name not in block]
        if len(missing) == 1:
            self.error(block.mark, f"{what} is missing the field '{missing[0]}'; add '{missing[0]}:' to it.", "missing")
        elif missing:
            self.error(
                block.mark,
                f"{what} is missing the fields {', '.join(missing)}; add each of them (docs/menu-format.md has an example).",
                "missing",
            )

    def text(self, value: Value | None, what: str, *, quote_hint: bool = True) -> str | None:
        """A string; YAML numbers/booleans are refused with the exact quoting to use."""
        if value is None:
            return None
        if isinstance(value, Scalar):
            if value.is_str:
                return value.text
            if quote_hint and value.tag != NULL:
                self.error(
                    value.mark,
                    f'{what} {value.text} is read by YAML as {_describe(value.tag, value.text)}; put it in quotes: "{value.text}".',
                    "unquoted",
                )
                return None
        self.error(value.mark, f"{what} must be text, not {self._kind(value)}.", "type")
        return None

    def ident(self, value: Value | None, what: str) -> str | None:
        name = self.text(value, what)
        if name is not None and not ID.match(name):
            self.error(value.mark, f"{what} '{name}' must start with a letter and use only letters, digits, '_' or '-'.", "type")  # type: ignore[union-attr]
            return None
        return name

    def integer(self, value: Value | None, what: str, low: int, high: int) -> int | None:
        if value is None:
            return None
        if isinstance(value, Scalar) and value.tag == INT and not value.quoted:
            number = int(value.text, 0) if value.text.lstrip("+-").isdigit() else None
            if number is not None and low <= number <= high:
                return number
        self.error(value.mark, f"{what} must be a whole number from {low} to {high}.", "type")
        return None

    def phrases(self, value: Value | None, what: str) -> m.Phrases:
        """What a caller may say, per language: {en: [colorado, colorado hotline], es: [...]}.
        Twilio takes at most 100 characters a hint (error 13330)."""
        block = self.mapping(value, what)
        if block is None:
            return m.EMPTY
        result: dict[str, tuple[str, ...]] = {}
        for lang, item in block.items():
            if lang not in self.langs:
                self.error(block.key(lang).mark, f"'{lang}' in {what} is not an offered language ({', '.join(self.langs)}).", "language")
                continue
            items = item.items if isinstance(item, Seq) else (item,)
            said = []
            for phrase in items:
                text = self.text(phrase, f"A {lang} phrase of {what}")
                if text is None:
                    continue
                text = " ".join(text.split())
                if not text or len(text) > MAX_PHRASE:
                    self.error(
                        phrase.mark,
                        f"A {lang} phrase of {what} must have 1 to {MAX_PHRASE} characters (Twilio's limit for a hint).",
                        "phrase",
                    )
                    continue
                said.append(text)
            result[lang] = tuple(said)
        return m.frozen_map(result)

    def flag(self, value: Value | None, what: str, default: bool) -> bool:
        """true or false (YAML also reads yes/no/on/off so); anything else is refused."""
        if value is None:
            return default
        if isinstance(value, Scalar) and value.tag == BOOL:
            return value.text.lower() in ("true", "yes", "on", "y")
        self.error(value.mark, f"{what} must be true or false.", "type")
        return default

    def key(self, value: Value | None, what: str) -> str | None:
        if value is None:
            return None
        if isinstance(value, Scalar) and not value.is_str:
            self.error(value.mark, f'{what} must be quoted so YAML keeps it as a key: write "{value.text}", not {value.text}.', "unquoted")
            return None
        key = self.text(value, what)
        if key is not None and key not in m.PHONE_KEYS:
            self.error(value.mark, f"{what} '{key}' is not a phone key; use one of 0-9, * or #.", "type")  # type: ignore[union-attr]
            return None
        return key

    def translations(self, value: Value | None, what: str, *, required: bool = True, limit: bool = True) -> m.Text:
        """A text written once per offered language, e.g. {en: ..., es: ...}."""
        block = self.mapping(value, what)
        if block is None:
            return m.frozen_map({})
        result: dict[str, str] = {}
        for lang, item in block.items():
            if lang not in self.langs:
                self.error(
                    block.key(lang).mark,
                    f"'{lang}' in {what} is not an offered language ({', '.join(self.langs)}); remove it or add it under 'languages'.",
                    "language",
                )
                continue
            text = self.text(item, f"The {lang} version of {what}")
            if text is None:
                continue
            text = " ".join(text.split())
            if not text:
                self.error(item.mark, f"The {lang} version of {what} is empty; Twilio cannot speak empty text (error 13520).", "empty")
                continue
            most = say_limit(self.voices.get(lang, ""))
            if limit and len(text) > most:
                self.error(
                    item.mark,
                    f"The {lang} version of {what} has {len(text)} characters; Twilio's <Say> takes at most {most} for this voice. Split it into two sections.",
                    "too-long",
                )
            result[lang] = text
        if required:
            for lang in self.langs:
                if lang not in block:
                    self.error(block.mark, f"{what} has no {lang} translation; add '{lang}: ...' to it.", "translation")
        return m.frozen_map(result)

    @staticmethod
    def _kind(value: Value) -> str:
        if isinstance(value, Map):
            return "a block of fields"
        if isinstance(value, Seq):
            return "a list"
        return f"'{value.text}'"

    # --- references ----------------------------------------------------------------------
    def refer_node(self, target: str, raw: Value) -> None:
        self._refer("node", "nodes", target, raw, self.node_ids)

    def refer_hotline(self, target: str, raw: Value) -> None:
        self._refer("hotline", "hotlines", target, raw, self.hotline_ids)

    def _refer(self, kind: str, block: str, target: str, raw: Value, names: list[str] | dict[str, None]) -> None:
        if target not in names:
            hint = close_match(target, list(names))
            self.error(
                raw.mark, f"There is no {kind} named '{target}'.{hint} {kind.title()} names are the keys under '{block}'.", "reference"
            )
