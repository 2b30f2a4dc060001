"""The menu-wide sections: languages, hotlines (and their phone numbers), messages, retry rules."""

from __future__ import annotations

import re
import string

from . import model as m
from .fields import Checker, _describe, close_match
from .options import action_of
from .source import FLOAT, INT, Scalar, Value

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
EMERGENCY = {"911", "933", "112", "999", "000", "110", "119", "118", "100", "101", "102", "108"}
LANG_CODE = re.compile(r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")

LANGUAGE_FIELDS = {
    "name": True,
    "voice": True,
    "say_language": True,
    "switch_key": True,
    "switch_label": True,
    "press": True,
    "key_names": False,
    "say": False,
}
HOTLINE_FIELDS = {"number": True, "name": True, "sms": False, "fallback": False, "show_caller_number": False, "say": False}
RETRY_FIELDS = {"timeout": False, "silences": False, "invalid": False, "final": False}
DEFAULT_RETRY = {"timeout": 10, "silences": 3, "invalid": 3}


# --- sections ------------------------------------------------------------------------
def languages(c: Checker, value: Value | None) -> dict[str, m.Language]:
    block = c.mapping(value, "languages")
    if block is None:
        return {}
    c.langs = []
    for code in block:
        key = block.key(code)
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
        fields = c.mapping(block.get(code), f"languages.{code}")
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
        placeholders(c, fields.get("press"), press, {"label", "key"}, f"languages.{code}.press", required={"label", "key"})
        names: dict[str, str] = {}
        names_block = c.mapping(fields.get("key_names"), f"languages.{code}.key_names")
        if names_block is not None:
            for k, v in names_block.items():
                if k not in m.PHONE_KEYS:
                    c.error(names_block.key(k).mark, f"'{k}' in key_names is not a phone key; use one of 0-9, * or #.", "type")
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
            say=c.phrases(fields.get("say"), f"what a caller may say to switch to languages.{code}"),
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


def hotlines(c: Checker, value: Value | None) -> dict[str, m.Hotline]:
    block = c.mapping(value, "hotlines")
    if block is None:
        return {}
    c.hotline_ids = list(block)
    result: dict[str, m.Hotline] = {}
    for hid, raw in block.items():
        fields = c.mapping(raw, f"hotlines.{hid}")
        if fields is None:
            continue
        c.fields(fields, HOTLINE_FIELDS, f"hotlines.{hid}")
        number = phone(c, fields.get("number"), f"The phone number of hotline '{hid}'")
        sms = c.text(fields.get("sms"), f"The text-message number of hotline '{hid}'")
        if sms is not None and not (sms.isascii() and sms.isdigit()):
            c.error(fields.get("sms").mark, f"The text-message number of hotline '{hid}' must be digits only, like \"233733\".", "type")  # type: ignore[union-attr]
        fallback = c.ident(fields.get("fallback"), f"hotlines.{hid}.fallback")
        if fallback is not None:
            c.refer_hotline(fallback, fields.get("fallback"))  # type: ignore[arg-type]
        result[hid] = m.Hotline(
            id=hid,
            number=number or "",
            name=c.translations(fields.get("name"), f"hotlines.{hid}.name"),
            sms=sms,
            fallback=fallback,
            show_caller_number=c.flag(fields.get("show_caller_number"), f"The show_caller_number of hotline '{hid}'", default=False),
            say=c.phrases(fields.get("say"), f"what a caller may say to reach hotline '{hid}'"),
        )
    if not result and not c.problems:
        c.error(block.mark, "Name at least one hotline under 'hotlines'.", "missing")
    return result


def phone(c: Checker, value: Value | None, what: str) -> str | None:
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


def placeholders(c: Checker, value: Value | None, text: str, allowed: set[str], what: str, required: set[str] = frozenset()) -> None:  # type: ignore[assignment]
    if value is None:
        return
    try:
        used = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError:
        c.error(value.mark, f"{what} has an unmatched '{{' or '}}'; placeholders look like {{hotline}}.", "placeholder")
        return
    for name in sorted(used - allowed):
        hint = f"allowed here: {', '.join('{' + a + '}' for a in sorted(allowed))}" if allowed else "no placeholders are allowed here"
        c.error(value.mark, f"{what} uses {{{name}}}, which is not known ({hint}).{close_match(name, sorted(allowed))}", "placeholder")
    for name in sorted(required - used):
        c.error(value.mark, f"{what} must contain {{{name}}}.", "placeholder")


def retry(c: Checker, value: Value | None, base: m.Retry | None, what: str) -> m.Retry:
    block = c.mapping(value, what)
    fields: dict[str, Value] = {}
    if block is not None:
        c.fields(block, RETRY_FIELDS, what)
        fields = dict(block.items())
    timeout = c.integer(fields.get("timeout"), f"{what}.timeout (seconds to wait for a key)", 8, 30)
    silences = c.integer(fields.get("silences"), f"{what}.silences (silent tries before the final action)", 1, 5)
    invalid = c.integer(fields.get("invalid"), f"{what}.invalid (wrong keys before the final action)", 1, 5)
    final = None
    if "final" in fields:
        final = action_of(c, fields["final"], f"{what}.final", allow=(m.TRANSFER,))
    if base is None:
        # Menu-wide defaults; the final action defaults to the first hotline listed.
        default_final = m.Action(m.TRANSFER, c.hotline_ids[0] if c.hotline_ids else "")
        base = m.Retry(DEFAULT_RETRY["timeout"], DEFAULT_RETRY["silences"], DEFAULT_RETRY["invalid"], default_final)
    if block is None:
        return base  # nothing overridden: share the menu-wide rules
    return m.Retry(timeout or base.timeout, silences or base.silence_limit, invalid or base.invalid_limit, final or base.final)


SPEECH_FIELDS = {"enabled": False, "language": False, "timeout": False, "model": False}
BCP47 = re.compile(r"^[a-z]{2,3}-[A-Z]{2}$")


def speech(c: Checker, value: Value | None, languages: dict[str, m.Language]) -> dict[str, m.Speech]:
    """`speech:` - listening for what callers say, besides keys. Off unless `enabled: true`
    (Twilio bills every recognition). Per language: `language` (default: the voice's say_language),
    `timeout` (`auto`, or 1-10 seconds of silence) and `model`; `auto` cannot go with a model."""
    block = c.mapping(value, "speech")
    if block is None or not c.flag(block.get("enabled"), "speech.enabled", default=False):
        return {}
    c.fields(block, {"enabled": False, **{code: False for code in languages}}, "speech")
    result = {}
    for code, language in languages.items():
        fields = c.mapping(block.get(code), f"speech.{code}")
        entries = dict(fields.items()) if fields is not None else {}
        if fields is not None:
            c.fields(fields, {k: v for k, v in SPEECH_FIELDS.items() if k != "enabled"}, f"speech.{code}")
        tag = c.text(entries.get("language"), f"speech.{code}.language") or language.say_language
        if not BCP47.match(tag):
            c.error((entries.get("language") or block).mark, f"speech.{code}.language '{tag}' must look like en-US or es-US.", "type")
        raw = entries.get("timeout")
        timeout = "auto"
        if isinstance(raw, Scalar) and raw.text != "auto":
            timeout = str(c.integer(raw, f"speech.{code}.timeout (seconds, or auto)", 1, 10) or "auto")
        model = c.text(entries.get("model"), f"speech.{code}.model")
        if model and timeout == "auto":
            c.error(
                entries["model"].mark,
                f"speech.{code} sets a model with timeout auto, which Twilio refuses (error 13335): give timeout in seconds, or drop the model.",
                "speech",
            )
        result[code] = m.Speech(tag, timeout, model)
    return result
