"""Read a menu file into a frozen `Menu`, or report every mistake in it.

The rules live here and only here: the server, `python -m ivr validate`, lint,
graph and the hot reloader all call `load_menu`, so a menu that passes one
passes them all.
"""

from __future__ import annotations

import difflib
import gc
import hashlib
import os
import re
import string
import sys
from collections import deque
from collections.abc import Callable
from pathlib import Path
from types import MappingProxyType

from . import model as m
from .errors import MenuInvalid, MenuProblem
from .pacing import give_way, paced
from .source import BOOL, FLOAT, INT, NULL, Map, Mark, Scalar, Seq, Value, parse
from .speech import say_limit

NEXT_KEY = "1"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
OPEN_LEVELS = 4  # release_gradually opens the first levels of a tree whatever their size...
SMALL_PIECE = 64  # ...and below them any container bigger than this
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
EMERGENCY = {"911", "933", "112", "999", "000", "110", "119", "118", "100", "101", "102", "108"}
LANG_CODE = re.compile(r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")
ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
AUDIO_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_./-]*\.(wav|mp3)$", re.IGNORECASE)

# Every message the line may speak, and the {placeholders} each one may use.
MESSAGES: dict[str, set[str]] = {
    "no_input": set(),
    "invalid": set(),
    "final": set(),
    "connecting": {"hotline"},
    "transfer_failed": {"hotline"},
    "both_failed": set(),
    "number": {"hotline", "number"},
    "sms": {"hotline", "number"},
    "goodbye": set(),
    "moved": set(),
    "error": set(),
    "repeat_label": set(),
    "back_label": set(),
    "next_label": set(),
    "transfer_label": {"hotline"},
}

TOP_FIELDS = {
    "languages": True,
    "default_language": False,
    "start": True,
    "greeting": True,
    "hotlines": True,
    "keys": False,
    "retry": False,
    "messages": True,
    "nodes": True,
    "audio_dir": False,
}
LANGUAGE_FIELDS = {
    "name": True,
    "voice": True,
    "say_language": True,
    "switch_key": True,
    "switch_label": True,
    "press": True,
    "key_names": False,
}
HOTLINE_FIELDS = {"number": True, "name": True, "sms": False, "fallback": False}
RETRY_FIELDS = {"timeout": False, "silences": False, "invalid": False, "final": False}
NODE_FIELDS = {
    "type": True,
    "prompt": False,
    "title": False,
    "text": False,
    "audio": False,
    "options": False,
    "keys": False,
    "retry": False,
    "next": False,
    "back": False,
}
OPTION_FIELDS = {"key": True, "goto": False, "transfer": False, "do": False, "label": False, "announce": False}
DEFAULT_RETRY = {"timeout": 10, "silences": 3, "invalid": 3}
SIMPLE_ACTIONS = (m.BACK, m.REPEAT, m.NEXT)


def _describe(tag: str, text: str) -> str:
    return {
        INT: "a number",
        FLOAT: "a number",
        BOOL: f"true/false ({text} means {'true' if text.lower() in ('yes', 'true', 'on', 'y') else 'false'} to YAML)",
        NULL: "empty",
    }.get(tag, "a value")


class Checker:
    """Walks the located YAML tree, collecting problems instead of stopping at the first."""

    def __init__(self, file: str):
        self.file = file
        self.problems: list[MenuProblem] = []
        self.langs: list[str] = []
        self.voices: dict[str, str] = {}

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
        for name, key in block.keys.items():
            if name in allowed:
                continue
            close = difflib.get_close_matches(name, list(allowed), n=1, cutoff=0.6)
            hint = f" Did you mean '{close[0]}'?" if close else f" Allowed here: {', '.join(allowed)}."
            self.error(key.mark, f"Unknown field '{name}' in {what}.{hint}", "unknown-field")
        missing = [name for name, required in allowed.items() if required and name not in block.entries]
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
        for lang, item in block.entries.items():
            if lang not in self.langs:
                self.error(
                    block.keys[lang].mark,
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
                if lang not in block.entries:
                    self.error(block.mark, f"{what} has no {lang} translation; add '{lang}: ...' to it.", "translation")
        return m.frozen_map(result)

    @staticmethod
    def _kind(value: Value) -> str:
        if isinstance(value, Map):
            return "a block of fields"
        if isinstance(value, Seq):
            return "a list"
        return f"'{value.text}'"


def _close(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    return f" Did you mean '{close[0]}'?" if close else ""


class MenuBuilder:
    def __init__(self, file: str, root: Value, digest: str, base_dir: Path):
        self.c = Checker(file)
        self.file = file
        self.root = root
        self.digest = digest
        self.base_dir = base_dir
        self.hotline_ids: list[str] = []
        self.node_ids: list[str] = []
        self.node_set: set[str] = set()
        self.pending_refs: list[Callable[[], None]] = []
        self.audio_root = (base_dir / "../audio").resolve()

    def build(self) -> m.Menu | None:
        c = self.c
        top = c.mapping(self.root, "The menu file")
        if top is None:
            return None
        c.fields(top, TOP_FIELDS, "the menu file")
        languages = self.languages(top.get("languages"))
        default = c.text(top.get("default_language"), "default_language") or (c.langs[0] if c.langs else "en")
        if c.langs and default not in c.langs:
            c.error(
                top.get("default_language").mark,
                f"default_language '{default}' is not under 'languages'.{_close(default, c.langs)}",
                "reference",
            )  # type: ignore[union-attr]
        greeting = c.translations(top.get("greeting"), "greeting")
        hotlines = self.hotlines(top.get("hotlines"))
        messages = self.messages(top.get("messages"))
        give_way()
        self.audio_root = (self.base_dir / (c.text(top.get("audio_dir"), "audio_dir") or "../audio")).resolve()

        nodes_block = c.mapping(top.get("nodes"), "nodes")
        self.node_ids = list(nodes_block.entries) if nodes_block else []
        self.node_set = set(self.node_ids)
        give_way()
        start = c.ident(top.get("start"), "start")
        if start is not None and nodes_block is not None and start not in nodes_block.entries:
            c.error(
                top.get("start").mark,
                f"start names the node '{start}', but there is no such node under 'nodes'.{_close(start, self.node_ids)}",
                "reference",
            )  # type: ignore[union-attr]

        retry = self.retry(top.get("retry"), None, "retry")
        global_keys, key_marks = self.key_block(top.get("keys"), "keys", allow_disabled=False)
        for lang in languages.values():
            if lang.switch_key in global_keys:
                c.error(
                    key_marks[lang.switch_key],
                    f"Key {lang.switch_key} switches to {lang.name}; it cannot also be a global key. Pick another key.",
                    "key-twice",
                )

        nodes: dict[str, m.Node] = {}
        if nodes_block is not None:
            for node_id, raw in paced(nodes_block.entries.items(), every=4):
                key_mark = nodes_block.keys[node_id].mark
                if not ID.match(node_id):
                    c.error(key_mark, f"Node name '{node_id}' must start with a letter and use only letters, digits, '_' or '-'.", "type")
                    continue
                node = self.node(node_id, raw, retry, global_keys, languages)
                if node is not None:
                    nodes[node_id] = node
        # The closures refer back to self and the parsed tree: drop each once it has run, which
        # breaks the cycle and frees them one at a time rather than all at once.
        pending, self.pending_refs = self.pending_refs[::-1], []
        for _ in paced(range(len(pending))):
            pending.pop()()  # in the order they were made; each freed as soon as it has run
        if c.problems:
            return None
        nodes = self.with_parents(nodes, start)  # type: ignore[arg-type]
        return m.Menu(
            path=self.file,
            languages=m.frozen_map(languages),
            default_language=default,
            hotlines=m.frozen_map(hotlines),
            nodes=m.frozen_map(nodes),
            start=start,  # type: ignore[arg-type]
            greeting=greeting,
            messages=m.frozen_map(messages),
            digest=self.digest,
            audio_dir=str(self.audio_root),
        )

    # --- sections ------------------------------------------------------------------------
    def languages(self, value: Value | None) -> dict[str, m.Language]:
        c = self.c
        block = c.mapping(value, "languages")
        if block is None:
            return {}
        c.langs = []
        for code in block.entries:
            key = block.keys[code]
            if not key.is_str:
                c.error(
                    key.mark,
                    f'The language code {code} is read by YAML as {_describe(key.tag, code)}; put it in quotes: "{code}".',
                    "unquoted",
                )
                continue
            if not LANG_CODE.match(code):
                c.error(key.mark, f"The language code '{code}' must be a short code such as en, es or pt-BR.", "type")
                continue
            c.langs.append(code)
        langs: dict[str, m.Language] = {}
        switch_keys: dict[str, list[str]] = {}
        for code in c.langs:
            fields = c.mapping(block.entries[code], f"languages.{code}")
            if fields is None:
                continue
            c.fields(fields, LANGUAGE_FIELDS, f"languages.{code}")
            voice = c.text(fields.get("voice"), f"languages.{code}.voice") or ""
            c.voices[code] = voice
            say_language = c.text(fields.get("say_language"), f"languages.{code}.say_language") or ""
            if say_language and not re.match(r"^[a-z]{2}-[A-Z]{2}$", say_language):
                c.error(fields.get("say_language").mark, f"say_language '{say_language}' must look like en-US or es-MX.", "type")  # type: ignore[union-attr]
            switch_key = c.key(fields.get("switch_key"), f"languages.{code}.switch_key") or ""
            press = c.text(fields.get("press"), f"languages.{code}.press") or "{label}, {key}."
            self.placeholders(fields.get("press"), press, {"label", "key"}, f"languages.{code}.press", required={"label", "key"})
            names: dict[str, str] = {}
            names_block = c.mapping(fields.get("key_names"), f"languages.{code}.key_names")
            if names_block is not None:
                for k, v in names_block.entries.items():
                    if k not in m.PHONE_KEYS:
                        c.error(names_block.keys[k].mark, f"'{k}' in key_names is not a phone key; use one of 0-9, * or #.", "type")
                    name = c.text(v, f"The name of key {k}")
                    if name:
                        names[k] = name
            if switch_key:
                switch_keys.setdefault(switch_key, []).append(code)
            langs[code] = m.Language(
                code=code,
                name=c.text(fields.get("name"), f"languages.{code}.name") or code,
                voice=voice,
                say_language=say_language,
                switch_key=switch_key,
                switch_label=c.text(fields.get("switch_label"), f"languages.{code}.switch_label") or "",
                press=press,
                key_names=m.frozen_map(names),
            )
        for key, codes in switch_keys.items():
            if len(codes) > 1 and len(c.langs) > 2:
                c.error(
                    block.mark,
                    f"Languages {', '.join(codes)} share switch_key {key}; with more than two languages each needs its own key.",
                    "key-twice",
                )
        if not c.langs:
            c.error(block.mark, "Offer at least one language under 'languages'.", "missing")
        return langs

    def hotlines(self, value: Value | None) -> dict[str, m.Hotline]:
        c = self.c
        block = c.mapping(value, "hotlines")
        if block is None:
            return {}
        self.hotline_ids = list(block.entries)
        result: dict[str, m.Hotline] = {}
        for hid, raw in block.entries.items():
            fields = c.mapping(raw, f"hotlines.{hid}")
            if fields is None:
                continue
            c.fields(fields, HOTLINE_FIELDS, f"hotlines.{hid}")
            number = self.phone(fields.get("number"), f"The phone number of hotline '{hid}'")
            sms = c.text(fields.get("sms"), f"The text-message number of hotline '{hid}'")
            if sms is not None and not sms.isdigit():
                c.error(fields.get("sms").mark, f"The text-message number of hotline '{hid}' must be digits only, like \"233733\".", "type")  # type: ignore[union-attr]
            fallback = c.ident(fields.get("fallback"), f"hotlines.{hid}.fallback")
            if fallback is not None:
                self.refer_hotline(fallback, fields.get("fallback"))  # type: ignore[arg-type]
            result[hid] = m.Hotline(
                id=hid,
                number=number or "",
                name=c.translations(fields.get("name"), f"hotlines.{hid}.name"),
                sms=sms,
                fallback=fallback,
            )
        if not result and not c.problems:
            c.error(block.mark, "Name at least one hotline under 'hotlines'.", "missing")
        return result

    def phone(self, value: Value | None, what: str) -> str | None:
        c = self.c
        if value is None:
            return None
        if isinstance(value, Scalar) and value.tag in (INT, FLOAT) and not value.quoted:
            shown = value.text if value.text.startswith("+") else "+" + value.text.lstrip("0")
            c.error(
                value.mark,
                f'{what} {value.text} must be quoted, or YAML turns it into an integer and drops the "+": "{shown}".',
                "unquoted",
            )
            return None
        number = c.text(value, what)
        if number is None:
            return None
        digits = re.sub(r"\D", "", number)
        if digits in EMERGENCY or (digits.startswith("1") and digits[1:] in EMERGENCY):
            c.error(
                value.mark,
                f"{what} {number} is an emergency number. This line never dials emergency services: tell callers to hang up and dial 911 themselves.",
                "emergency",
            )
            return None
        if not E164.match(number):
            hint = f' Write it as "+{digits}".' if len(digits) >= 8 else ""
            if len(digits) == 10:
                hint = f' Write it as "+1{digits}".'
            c.error(
                value.mark,
                f"{what} '{number}' is not in E.164 form (a plus sign, the country code and the number, no spaces or dashes).{hint}",
                "phone",
            )
            return None
        return number

    def messages(self, value: Value | None) -> dict[str, m.Text]:
        c = self.c
        block = c.mapping(value, "messages")
        if block is None:
            return {}
        c.fields(block, {name: True for name in MESSAGES}, "messages")
        result: dict[str, m.Text] = {}
        for name, allowed in MESSAGES.items():
            raw = block.get(name)
            if raw is None:
                continue
            texts = c.translations(raw, f"messages.{name}")
            if isinstance(raw, Map):
                for lang, text in texts.items():
                    self.placeholders(raw.entries[lang], text, allowed, f"The {lang} text of messages.{name}")
            result[name] = texts
        return result

    def placeholders(self, value: Value | None, text: str, allowed: set[str], what: str, required: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        if value is None:
            return
        try:
            used = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
        except ValueError:
            self.c.error(value.mark, f"{what} has an unmatched '{{' or '}}'; placeholders look like {{hotline}}.", "placeholder")
            return
        for name in sorted(used - allowed):
            hint = f"allowed here: {', '.join('{' + a + '}' for a in sorted(allowed))}" if allowed else "no placeholders are allowed here"
            self.c.error(value.mark, f"{what} uses {{{name}}}, which is not known ({hint}).{_close(name, sorted(allowed))}", "placeholder")
        for name in sorted(required - used):
            self.c.error(value.mark, f"{what} must contain {{{name}}}.", "placeholder")

    def retry(self, value: Value | None, base: m.Retry | None, what: str) -> m.Retry:
        c = self.c
        block = c.mapping(value, what)
        fields: dict[str, Value] = {}
        if block is not None:
            c.fields(block, RETRY_FIELDS, what)
            fields = block.entries
        timeout = c.integer(fields.get("timeout"), f"{what}.timeout (seconds to wait for a key)", 8, 30)
        silences = c.integer(fields.get("silences"), f"{what}.silences (silent tries before the final action)", 1, 5)
        invalid = c.integer(fields.get("invalid"), f"{what}.invalid (wrong keys before the final action)", 1, 5)
        final = None
        if "final" in fields:
            final = self.action_of(fields["final"], f"{what}.final", allow=(m.TRANSFER,))
        if base is None:
            # Menu-wide defaults; the final action defaults to the first hotline listed.
            default_final = m.Action(m.TRANSFER, self.hotline_ids[0] if self.hotline_ids else "")
            base = m.Retry(DEFAULT_RETRY["timeout"], DEFAULT_RETRY["silences"], DEFAULT_RETRY["invalid"], default_final)
        return m.Retry(timeout or base.timeout, silences or base.silence_limit, invalid or base.invalid_limit, final or base.final)

    # --- keys and actions ----------------------------------------------------------------
    def action_of(self, value: Value, what: str, allow: tuple[str, ...] = m.ACTIONS) -> m.Action | None:
        """`back` / `repeat` / `next`, or a block with one of goto / transfer / do."""
        c = self.c
        if isinstance(value, Scalar):
            word = c.text(value, what)
            if word in SIMPLE_ACTIONS and word in allow:
                return m.Action(word)
            if word is not None:
                c.error(
                    value.mark,
                    f"{what} '{word}' is not an action; use back, repeat, or a block such as 'transfer: national' or 'goto: learn'.{_close(word, list(SIMPLE_ACTIONS))}",
                    "action",
                )
            return None
        block = c.mapping(value, what)
        if block is None:
            return None
        chosen = [name for name in ("goto", "transfer", "do") if name in block.entries]
        if len(chosen) != 1:
            c.error(
                block.mark,
                f"{what} needs exactly one of 'goto: NODE', 'transfer: HOTLINE' or 'do: back|repeat|next'"
                + (f"; it has {', '.join(chosen)}." if chosen else "."),
                "action",
            )
            return None
        kind = chosen[0]
        raw = block.entries[kind]
        if kind == "do":
            word = c.text(raw, f"{what}.do")
            if word not in SIMPLE_ACTIONS or word not in allow:
                if word is not None:
                    c.error(
                        raw.mark,
                        f"'do: {word}' is not known here; use one of {', '.join(a for a in SIMPLE_ACTIONS if a in allow)}.{_close(word, list(SIMPLE_ACTIONS))}",
                        "action",
                    )
                return None
            return m.Action(word)
        if kind not in allow:
            c.error(raw.mark, f"{what} can only transfer to a hotline here.", "action")
            return None
        target = c.ident(raw, f"{what}.{kind}")
        if target is None:
            return None
        if kind == "goto":
            self.pending_refs.append(lambda: self.refer_node(target, raw))
        else:
            self.refer_hotline(target, raw)
        return m.Action(m.GOTO if kind == "goto" else m.TRANSFER, target)

    def refer_node(self, target: str, raw: Value) -> None:
        if target not in self.node_set:
            self.c.error(
                raw.mark,
                f"There is no node named '{target}'.{_close(target, self.node_ids)} Node names are the keys under 'nodes'.",
                "reference",
            )

    def refer_hotline(self, target: str, raw: Value) -> None:
        if target not in self.hotline_ids:
            self.c.error(
                raw.mark,
                f"There is no hotline named '{target}'.{_close(target, self.hotline_ids)} Hotline names are the keys under 'hotlines'.",
                "reference",
            )

    def option(self, value: Value, what: str, key: str | None = None) -> m.Option | None:
        """One key binding; `key` is given when it comes from a `keys:` block."""
        c = self.c
        if isinstance(value, Scalar):
            action = self.action_of(value, what)
            if action is None or key is None:
                return None
            return m.Option(key, action, m.frozen_map({}), True, m.Location(value.mark.file, value.mark.line, value.mark.column))
        block = c.mapping(value, what)
        if block is None:
            return None
        fields = dict(OPTION_FIELDS)
        if key is not None:
            fields.pop("key")
        c.fields(block, fields, what)
        if key is None:
            key = c.key(block.get("key"), f"The key of {what}")
        action = self.action_of(block, what)
        label = c.translations(block.get("label"), f"the label of {what}") if "label" in block.entries else m.frozen_map({})
        announce = True
        if "announce" in block.entries:
            flag = block.entries["announce"]
            if isinstance(flag, Scalar) and flag.tag == BOOL:
                announce = flag.text.lower() in ("true", "yes", "on", "y")
            else:
                c.error(flag.mark, f"announce in {what} must be true or false.", "type")
        if action is not None and action.kind == m.GOTO and not label and announce:
            c.error(
                block.mark,
                f"{what} goes to '{action.target}' but has no label to announce it; add 'label: {{en: ..., es: ...}}'.",
                "missing",
            )
        if key is None or action is None:
            return None
        return m.Option(key, action, label, announce, m.Location(block.mark.file, block.mark.line, block.mark.column))

    def key_block(self, value: Value | None, what: str, allow_disabled: bool) -> tuple[dict[str, m.Option | None], dict[str, Mark]]:
        """A `keys:` block: key -> binding (None where a node disables a global key), and each key's mark."""
        c = self.c
        block = c.mapping(value, what)
        result: dict[str, m.Option | None] = {}
        marks: dict[str, Mark] = {}
        if block is None:
            return result, marks
        for name, raw in block.entries.items():
            key = c.key(block.keys[name], f"The key in {what}")
            if key is None:
                continue
            if allow_disabled and isinstance(raw, Scalar) and raw.is_str and raw.text == "disabled":
                result[key] = None
                continue
            option = self.option(raw, f"{what} '{key}'", key)
            if option is not None:
                result[key] = option
                marks[key] = block.keys[name].mark
        return result, marks

    # --- nodes ---------------------------------------------------------------------------
    def node(self, node_id: str, raw: Value, retry: m.Retry, global_keys: dict, languages: dict[str, m.Language]) -> m.Node | None:
        c = self.c
        what = f"node '{node_id}'"
        block = c.mapping(raw, what)
        if block is None:
            return None
        c.fields(block, NODE_FIELDS, what)
        kind = c.text(block.get("type"), f"The type of {what}")
        if kind is not None and kind not in (m.MENU, m.CONTENT):
            c.error(
                block.get("type").mark,
                f"The type of {what} must be 'menu' or 'content', not '{kind}'.{_close(kind, [m.MENU, m.CONTENT])}",
                "type",
            )  # type: ignore[union-attr]
            return None
        if kind == m.CONTENT:
            if "prompt" in block.entries:
                c.error(
                    block.keys["prompt"].mark, f"{what} is a content node: put what it says under 'text', not 'prompt'.", "unknown-field"
                )
            text = c.translations(block.get("text"), f"the text of {what}")
            if "text" not in block.entries:
                c.error(block.mark, f"{what} is a content node and needs 'text:' with what to read aloud.", "missing")
        else:
            if "text" in block.entries:
                c.error(
                    block.keys["text"].mark,
                    f"{what} is a menu: put what it says under 'prompt', not 'text' (or make it 'type: content').",
                    "unknown-field",
                )
            text = c.translations(block.get("prompt"), f"the prompt of {what}") if "prompt" in block.entries else m.frozen_map({})
        title = c.translations(block.get("title"), f"the title of {what}") if "title" in block.entries else m.frozen_map({})
        declared, present = self.audio(block.get("audio"), what)

        options: list[m.Option] = []
        seen: dict[str, m.Option] = {}
        raw_options = block.get("options")
        if raw_options is not None and not isinstance(raw_options, Seq):
            c.error(raw_options.mark, f"The options of {what} must be a list: each option starts with '- key: \"1\"'.", "type")
        elif raw_options is not None:
            for index, item in enumerate(raw_options.items, 1):
                option = self.option(item, f"option {index} of {what}")
                if option is None:
                    continue
                if option.key in seen:
                    first = self.mark_of(seen[option.key], item.mark)
                    c.error(
                        item.mark,
                        f"Key {option.key} is bound twice in {what} (first at line {first.line}); give this option another key.",
                        "key-twice",
                    )
                    continue
                if option.action.kind == m.NEXT and "next" not in block.entries:
                    c.error(item.mark, f"option {index} of {what} says 'do: next' but the node has no 'next:'.", "action")
                seen[option.key] = option
                options.append(option)

        nxt = c.ident(block.get("next"), f"next of {what}")
        if nxt is not None:
            nxt_raw = block.get("next")
            self.pending_refs.append(lambda: self.refer_node(nxt, nxt_raw))
            if NEXT_KEY in seen and seen[NEXT_KEY].action.kind != m.NEXT:
                c.error(
                    block.keys["next"].mark,
                    f"{what} has 'next:', which uses key {NEXT_KEY}, but key {NEXT_KEY} is already an option; remove one of them.",
                    "key-twice",
                )
            elif NEXT_KEY not in seen:
                opt = m.Option(NEXT_KEY, m.Action(m.NEXT), m.frozen_map({}), True, None)
                options.insert(0, opt)
                seen[NEXT_KEY] = opt
        back = c.ident(block.get("back"), f"back of {what}")
        if back is not None:
            back_raw = block.get("back")
            self.pending_refs.append(lambda: self.refer_node(back, back_raw))

        overrides, _ = self.key_block(block.get("keys"), f"keys of {what}", allow_disabled=True)
        keys: dict[str, m.Option] = {o.key: o for o in options}
        for key, option in global_keys.items():
            if key in overrides or key in keys:
                continue
            keys[key] = option
        for key, option in overrides.items():
            if key in seen:
                c.error(block.keys["keys"].mark, f"Key {key} is both an option and under 'keys' in {what}; keep one.", "key-twice")
                continue
            if option is not None:
                keys[key] = option
        for lang in languages.values():
            if lang.switch_key in seen and len(languages) > 1:
                c.error(
                    self.mark_of(seen[lang.switch_key], block.mark),
                    f"Key {lang.switch_key} in {what} is the key that switches to {lang.name}; use another key for this option.",
                    "key-twice",
                )  # type: ignore[arg-type]
        zero = keys.get("0")
        if "0" in global_keys and (zero is None or zero.action.kind != m.TRANSFER):
            c.error(
                block.mark,
                f"Key 0 must reach a person (a hotline transfer) on every node, but in {what} it does not. Bind 0 to 'transfer: ...'.",
                "safety",
            )
        node_retry = self.retry(block.get("retry"), retry, f"retry of {what}")
        return m.Node(
            id=node_id,
            kind=kind or m.MENU,
            prompt=text,
            options=tuple(options),
            keys=m.frozen_map(keys),
            retry=node_retry,
            audio=m.frozen_map(present),
            audio_declared=m.frozen_map(declared),
            title=title,
            parent=back,
            next=nxt,
            where=m.Location(block.mark.file, block.mark.line, block.mark.column),
            text_at=m.frozen_map(self.locations(block.get("text" if kind == m.CONTENT else "prompt"))),
            audio_at=m.frozen_map(self.locations(block.get("audio"))),
        )

    @staticmethod
    def locations(value: Value | None) -> dict[str, m.Location]:
        """Where each language's entry of a per-language block was written (for lint messages)."""
        if not isinstance(value, Map):
            return {}
        return {lang: m.Location(v.mark.file, v.mark.line, v.mark.column) for lang, v in value.entries.items()}

    @staticmethod
    def mark_of(option: m.Option, default: Mark) -> Mark:
        where = option.where
        return Mark(where.file, where.line, where.column) if where else default

    def audio(self, value: Value | None, what: str) -> tuple[dict[str, str], dict[str, str]]:
        c = self.c
        block = c.mapping(value, f"the audio of {what}")
        declared: dict[str, str] = {}
        present: dict[str, str] = {}
        if block is None:
            return declared, present
        for lang, raw in block.entries.items():
            if lang not in c.langs:
                c.error(block.keys[lang].mark, f"'{lang}' in the audio of {what} is not an offered language.", "language")
                continue
            name = c.text(raw, f"The {lang} audio file of {what}")
            if name is None:
                continue
            if not AUDIO_NAME.match(name) or ".." in name.split("/"):
                c.error(
                    raw.mark,
                    f"The audio file '{name}' of {what} must be a .wav or .mp3 file name inside audio/, like 'welcome-en.mp3'.",
                    "audio",
                )
                continue
            declared[lang] = name
            if (self.audio_root / name).is_file():
                present[lang] = name
        return declared, present

    # --- derived -------------------------------------------------------------------------
    @staticmethod
    def with_parents(nodes: dict[str, m.Node], start: str) -> dict[str, m.Node]:
        """`back` goes to the menu a caller came down from: the first node (breadth-first from
        the start) whose goto/next reaches this one, unless the node names its own `back`."""
        parents: dict[str, str] = {}
        queue = deque([start])
        seen = {start}
        visited = 0
        while queue:
            visited += 1
            if visited % 64 == 0:
                give_way()
            current = queue.popleft()
            node = nodes[current]
            targets = [o.action.target for o in node.options if o.action.kind == m.GOTO]
            if node.next:
                targets.append(node.next)
            for target in targets:
                if target and target not in seen:
                    seen.add(target)
                    parents[target] = current if node.kind == m.MENU else parents.get(current, current)
                    queue.append(target)
        result = {}
        for node_id in paced(list(nodes), every=16):
            node = nodes.pop(node_id)  # each draft goes as its replacement is made, not all at once at the end
            parent = node.parent or parents.get(node_id)
            result[node_id] = m.Node(**{**node.__dict__, "parent": parent})
        return result


def load_menu(path: str | os.PathLike[str], display_name: str | None = None, *, gentle: bool = False) -> m.Menu:
    """Load and validate a menu file. Raises `MenuInvalid` with every problem found.

    `gentle` (for reloads inside a serving process) frees the parsed YAML a little at a
    time, so other threads never wait long for the interpreter while it goes.
    """
    path = Path(path)
    name = display_name or _display(path)
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise MenuInvalid([MenuProblem(name, 1, 1, f"The menu file cannot be read: {err.strerror}.", code="io")]) from None
    return load_menu_text(raw, name, path.parent, gentle=gentle)


def load_menu_text(raw: bytes, name: str, base_dir: Path, *, gentle: bool = False) -> m.Menu:
    # A big menu allocates ~1M short-lived objects; the cyclic GC would walk them all again and
    # again (half the load time) though none form cycles. Pause it for the load.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _load_menu_text(raw, name, base_dir, gentle)
    finally:
        if was_enabled:
            gc.enable()


def _load_menu_text(raw: bytes, name: str, base_dir: Path, gentle: bool) -> m.Menu:
    if raw.startswith(UTF16_BOMS):
        _check_utf8(raw, name)  # libyaml would read UTF-16 happily; staff tools and diffs would not
    root, problems = parse(raw, name)
    if root is None:
        _check_utf8(raw, name)  # a clearer message than libyaml's "invalid leading UTF-8 octet"
        raise MenuInvalid(problems)
    give_way()
    builder = MenuBuilder(name, root, hashlib.sha256(raw).hexdigest(), base_dir)
    menu = builder.build()
    problems += builder.c.problems
    if gentle:
        builder.root = None
        stack = [root]
        del root
        release_gradually(stack)
    if problems or menu is None:
        raise MenuInvalid(problems or [MenuProblem(name, 1, 1, "The menu could not be built.")])
    return menu


def _check_utf8(raw: bytes, name: str) -> None:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise MenuInvalid(
            [MenuProblem(name, line, 1, "This line is not valid UTF-8 text; save the file as UTF-8.", code="encoding")]
        ) from None


def release_gradually(stack: list) -> None:
    """Free a large tree of containers piece by piece, with safe points between the pieces.

    Dropping the last reference to a big tree frees it in one uninterruptible cascade
    (tens of milliseconds for a 10,000-node menu) that stalls every other thread. Taking
    it apart from the top frees it in small pieces instead: the first few levels and every
    big container are opened, and whatever is below them (one node, one string) is small
    enough to go in one step of a few microseconds.

    Only what nobody else holds is taken apart (a container still referenced elsewhere is
    just let go), so pass the stack the last references: `stack = [tree]; del tree`.
    """
    work = [(item, 0) for item in stack]
    stack.clear()
    steps = 0
    while work:
        item, depth = work[-1]
        alone = sys.getrefcount(item) <= 3  # `work`'s pair, `item`, and getrefcount's argument
        opened = alone and (depth <= OPEN_LEVELS or (hasattr(item, "__len__") and len(item) > SMALL_PIECE))
        if opened and isinstance(item, dict) and item:
            work.append((item.popitem()[1], depth + 1))  # one entry per step; the emptied dict goes last
        elif opened and isinstance(item, list) and item:
            work.append((item.pop(), depth + 1))
        else:
            work.pop()
            if opened and isinstance(item, tuple):
                work.append((list(item), depth + 1))
            elif opened and isinstance(item, MappingProxyType):
                work.extend((referent, depth + 1) for referent in gc.get_referents(item))
            elif opened and hasattr(item, "__dict__") and not isinstance(item, type):
                work.append((item.__dict__, depth + 1))
        del item
        steps += 1
        if steps % 8 == 0:
            give_way()


def _display(path: Path) -> str:
    """Show the path as staff typed it."""
    return str(path)
