"""`situations:` - what a caller may describe by voice, on any menu, and where each leads.

    situations:
      danger:    {transfer: national, say: {en: [he took my kids], es: [...]}}
      police:    {goto: emergency, say: {en: [police, call 911], es: [policía]}}
      cant_talk: {goto: quiet, say: ...}
      privacy:   {goto: privacy, say: ...}

The five situations of a caller in trouble (danger, control, forced, immigration, needs)
always reach a person: they may only transfer, and the line's built-in phrases for them
(ivr/speech/floor.yaml) are heard whatever the menu says; a menu adds phrases, it cannot
remove them. Left out, they (and `report`) go to the hotline of key 0. With speech on,
`police`, `cant_talk` and `privacy` must name the node that answers them: a caller asking
for the police must hear the 911 sentence, never a section about policing.
"""

from __future__ import annotations

from ..speech.phrases import compile_phrase
from . import model as m
from .fields import Checker, close_match
from .options import action_of
from .source import Map, Mark, Scalar, Seq, Value

FIELDS = {"transfer": False, "goto": False, "say": False}
TO_A_PERSON = (*m.PERSON_SITUATIONS, "report")
ANSWERED_BY_A_NODE = ("police", "cant_talk", "privacy")
WHAT_THEY_ANSWER = {
    "police": "the 911 sentence, then a person",
    "cant_talk": "a short, quiet answer for a caller who cannot talk",
    "privacy": "the privacy section",
}


def situations(c: Checker, value: Value | None, top: Mark, *, person: m.Action | None, speech_on: bool) -> dict[str, m.Situation]:
    block = c.mapping(value, "situations")
    entries: dict[str, Value] = {}
    if block is not None:
        for name, key in block.keys():
            if name in m.SITUATIONS:
                entries[name] = block.get(name)  # type: ignore[assignment]
            else:
                hint = close_match(name, list(m.SITUATIONS)) or f" The situations are: {', '.join(m.SITUATIONS)}."
                c.error(key.mark, f"Unknown situation '{name}' under 'situations'.{hint}", "unknown-field")
    result: dict[str, m.Situation] = {}
    for name in m.SITUATIONS:
        raw = entries.get(name)
        if raw is None:
            if name in TO_A_PERSON and person is not None:
                result[name] = m.Situation(name, person)
            elif name in ANSWERED_BY_A_NODE and speech_on:
                c.error(
                    block.mark if block is not None else top,
                    f"Speech is on, so add 'situations: {name}: {{goto: NODE}}' with the node that answers it ({WHAT_THEY_ANSWER[name]}).",
                    "missing",
                )
            continue
        built = situation(c, name, raw, person)
        if built is not None:
            result[name] = built
    return result


def situation(c: Checker, name: str, raw: Value, person: m.Action | None) -> m.Situation | None:
    what = f"situations.{name}"
    fields = c.mapping(raw, what)
    if fields is None:
        return None
    c.fields(fields, FIELDS, what)
    action: m.Action | None = person
    if name in TO_A_PERSON and "goto" in fields:
        c.error(
            fields.key("goto").mark,
            f"{what} must reach a person: use 'transfer: HOTLINE' (a caller who says this is put through at once), not 'goto'.",
            "safety",
        )
        return None
    if name in ANSWERED_BY_A_NODE and "transfer" in fields:
        c.error(fields.key("transfer").mark, f"{what} is answered by a node ({WHAT_THEY_ANSWER[name]}): use 'goto: NODE'.", "action")
        return None
    if "transfer" in fields or "goto" in fields:
        action = action_of(c, fields, what, allow=(m.TRANSFER,) if name in TO_A_PERSON else (m.GOTO,))
    elif name in ANSWERED_BY_A_NODE:
        c.error(fields.mark, f"{what} needs 'goto: NODE': the node that answers it ({WHAT_THEY_ANSWER[name]}).", "missing")
        return None
    phrases = c.phrases(fields.get("say"), f"what a caller may say for {what}")
    heard_as_nothing(c, fields.get("say"), name, phrases)
    if action is None:
        return None
    return m.Situation(name, action, phrases, tuple(fields.mark))


def heard_as_nothing(c: Checker, value: Value | None, name: str, phrases: m.Phrases) -> None:
    """A phrase made only of words the line does not listen for ("the", "is", "a") would match
    nothing; say so rather than let staff believe it works."""
    if not isinstance(value, Map):
        return
    for lang in phrases:
        raw = value.get(lang)
        for item in raw.items if isinstance(raw, Seq) else (raw,):
            if isinstance(item, Scalar) and item.is_str and item.text.strip() and compile_phrase(name, item.text, lang) is None:
                c.error(
                    item.mark,
                    f"The {lang} phrase '{item.text}' of situations.{name} has no word the line listens for "
                    "(words such as 'the', 'is' and 'to' are not heard); add the words that say what happens.",
                    "phrase",
                )


def privacy_is_told_truly(c: Checker, found: dict[str, m.Situation], nodes: dict[str, m.Node], langs: list[str]) -> None:
    """The privacy answer must say which number each hotline sees from the hotlines' own
    settings (`{hotlines_see}`), so that an edit to a hotline can never make it false."""
    privacy = found.get("privacy")
    if privacy is None or privacy.action.target not in nodes:
        return
    node = nodes[privacy.action.target]
    for lang in langs:
        if "{" + m.HOTLINES_SEE + "}" not in node.prompt.get(lang, ""):
            where = node.text_at.get(lang) or node.where or (c.file, 1, 1)
            c.error(
                Mark(*where),
                f"Node '{node.id}' answers privacy questions, so its {lang} text must say {{{m.HOTLINES_SEE}}} where the line "
                "tells which number the hotline sees (it is written from each hotline's show_caller_number).",
                "privacy",
            )
