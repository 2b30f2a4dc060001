"""`messages:` - the sentences the line says around the menu's own texts, and their placeholders.

Most must be written by staff in every offered language. Some have wording built in (the
speech path, the privacy sentence, the slower key): a menu may word them itself, and where
it does not, the built-in English and Spanish are used (English for any other language), so
the renderer can always ask the menu for any of them.
"""

from __future__ import annotations

from . import model as m
from .fields import Checker
from .sections import placeholders
from .source import Map, Value

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
    # built in, below, when a menu leaves them out
    "speech_hint": set(),
    "not_sure": set(),
    "say_choice": {"phrase"},
    "not_understood": set(),
    "you_can_say": {"phrases"},
    "offer_person": {"phrase", "key"},
    "slower_label": set(),
    "number_hidden": set(),
    "number_shown": {"hotline"},
    "number_hidden_others": set(),
}
BUILT_IN: dict[str, dict[str, str]] = {
    "speech_hint": {"en": "You can say what you need, or press a key.", "es": "Puede decir lo que necesita, u oprimir una tecla."},
    "not_sure": {"en": "Sorry, I am not sure I understood.", "es": "Disculpe, no estoy segura de haber entendido."},
    "say_choice": {"en": "You can say: {phrase}.", "es": "Puede decir: {phrase}."},
    # After speech the line never talks of keys ("that key is not one of the choices").
    "not_understood": {"en": "Sorry, I did not understand.", "es": "Disculpe, no le entendí."},
    "you_can_say": {"en": "You can say {phrases}, or press a key.", "es": "Puede decir {phrases}, u oprimir una tecla."},
    "offer_person": {
        "en": "To talk to someone now, say {phrase}, or press {key}.",
        "es": "Para hablar con alguien ahora, diga {phrase}, u oprima {key}.",
    },
    "slower_label": {"en": "To hear this more slowly", "es": "Para escucharlo más despacio"},
    # The privacy section's `{hotlines_see}`, written from each hotline's show_caller_number.
    "number_hidden": {
        "en": "When we put you through, the hotline is shown this line's number, not yours.",
        "es": "Cuando le comunicamos, la línea de ayuda ve el número de esta línea, no el suyo.",
    },
    "number_shown": {
        "en": "When we put you through to {hotline}, they are shown your phone number.",
        "es": "Cuando le comunicamos con {hotline}, ven su número de teléfono.",
    },
    "number_hidden_others": {
        "en": "Any other hotline is shown this line's number, not yours.",
        "es": "Las otras líneas ven el número de esta línea, no el suyo.",
    },
}


def messages(c: Checker, value: Value | None) -> dict[str, m.Text]:
    block = c.mapping(value, "messages")
    if block is None:
        return {}
    c.fields(block, {name: name not in BUILT_IN for name in MESSAGES}, "messages")
    result: dict[str, m.Text] = {}
    for name, allowed in MESSAGES.items():
        raw = block.get(name)
        texts = dict(c.translations(raw, f"messages.{name}", required=name not in BUILT_IN)) if raw is not None else {}
        if isinstance(raw, Map):
            for lang, text in texts.items():
                placeholders(c, raw.get(lang), text, allowed, f"The {lang} text of messages.{name}")
        if name in BUILT_IN:
            for lang in c.langs:
                texts.setdefault(lang, BUILT_IN[name].get(lang) or BUILT_IN[name]["en"])
        if texts:
            result[name] = m.frozen_map(texts)
    return result
