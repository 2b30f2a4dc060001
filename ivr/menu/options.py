"""Keys and what they do: actions (goto, transfer, back, repeat, next), options and `keys:` blocks."""

from __future__ import annotations

from . import model as m
from .fields import Checker, close_match
from .source import Mark, Scalar, Value

OPTION_FIELDS = {"key": True, "goto": False, "transfer": False, "do": False, "label": False, "announce": False, "say": False}
SIMPLE_ACTIONS = (m.BACK, m.REPEAT, m.NEXT, m.SLOWER)


# --- keys and actions ----------------------------------------------------------------
def action_of(c: Checker, value: Value, what: str, allow: tuple[str, ...] = m.ACTIONS) -> m.Action | None:
    """`back` / `repeat` / `next`, or a block with one of goto / transfer / do."""
    if isinstance(value, Scalar):
        word = c.text(value, what)
        if word in SIMPLE_ACTIONS and word in allow:
            return m.Action(word)
        if word is not None:
            c.error(
                value.mark,
                f"{what} '{word}' is not an action; use back, repeat, or a block such as 'transfer: national' or 'goto: learn'.{close_match(word, list(SIMPLE_ACTIONS))}",
                "action",
            )
        return None
    block = c.mapping(value, what)
    if block is None:
        return None
    chosen = [name for name in ("goto", "transfer", "do") if name in block]
    if len(chosen) != 1:
        c.error(
            block.mark,
            f"{what} needs exactly one of 'goto: NODE', 'transfer: HOTLINE' or 'do: back|repeat|next|slower'"
            + (f"; it has {', '.join(chosen)}." if chosen else "."),
            "action",
        )
        return None
    kind = chosen[0]
    raw = block.get(kind)
    if kind == "do":
        word = c.text(raw, f"{what}.do")
        if word not in SIMPLE_ACTIONS or word not in allow:
            if word is not None:
                c.error(
                    raw.mark,
                    f"'do: {word}' is not known here; use one of {', '.join(a for a in SIMPLE_ACTIONS if a in allow)}.{close_match(word, list(SIMPLE_ACTIONS))}",
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
        c.refer_node(target, raw)
    else:
        c.refer_hotline(target, raw)
    return m.Action(m.GOTO if kind == "goto" else m.TRANSFER, target)


def read_option(c: Checker, value: Value, what: str, key: str | None = None) -> m.Option | None:
    """One key binding; `key` is given when it comes from a `keys:` block."""
    if isinstance(value, Scalar):
        action = action_of(c, value, what)
        if action is None or key is None:
            return None
        return m.Option(key, action, m.frozen_map({}), True, False, tuple(value.mark))
    block = c.mapping(value, what)
    if block is None:
        return None
    fields = dict(OPTION_FIELDS)
    if key is not None:
        fields.pop("key")
    c.fields(block, fields, what)
    if key is None:
        key = c.key(block.get("key"), f"The key of {what}")
    action = action_of(c, block, what)
    label = c.translations(block.get("label"), f"the label of {what}") if "label" in block else m.frozen_map({})
    raw_announce = block.get("announce")
    sections_only = isinstance(raw_announce, Scalar) and raw_announce.is_str and raw_announce.text == "sections"
    announce = True if sections_only else c.flag(raw_announce, f"announce in {what} (true, false or sections)", default=True)
    if action is not None and action.kind == m.GOTO and not label and announce:
        c.error(
            block.mark,
            f"{what} goes to '{action.target}' but has no label to announce it; add 'label: {{en: ..., es: ...}}'.",
            "missing",
        )
    if key is None or action is None:
        return None
    return m.Option(
        key, action, label, announce, sections_only, tuple(block.mark), c.phrases(block.get("say"), f"what a caller may say for {what}")
    )


def key_block(c: Checker, value: Value | None, what: str, allow_disabled: bool) -> tuple[dict[str, m.Option | None], dict[str, Mark]]:
    """A `keys:` block: key -> binding (None where a node disables a global key), and each key's mark."""
    block = c.mapping(value, what)
    result: dict[str, m.Option | None] = {}
    marks: dict[str, Mark] = {}
    if block is None:
        return result, marks
    for name, raw in block.items():
        key = c.key(block.key(name), f"The key in {what}")
        if key is None:
            continue
        if allow_disabled and isinstance(raw, Scalar) and raw.is_str and raw.text == "disabled":
            result[key] = None
            continue
        option = read_option(c, raw, f"{what} '{key}'", key)
        if option is not None:
            result[key] = option
            marks[key] = block.key(name).mark
    return result, marks
