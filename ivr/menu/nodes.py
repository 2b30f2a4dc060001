"""One node of the tree (a menu or a content section), its recordings, and where `back` leads."""

from __future__ import annotations

import re
from collections import deque
from dataclasses import replace
from pathlib import Path

from . import model as m
from .audio import AudioOutside, find_recording
from .fields import Checker, close_match
from .options import key_block, read_option
from .sections import placeholders, retry
from .source import Map, Mark, Seq, Value

NEXT_KEY = "1"
# What a caller says for the key 'next:' adds ("For the next topic, press 1"). A node that wants
# other words writes the option itself: `- key: "1"`, `do: next`, `say: ...`.
NEXT_SAID = m.frozen_map(
    {
        "en": ("next", "next topic", "the next one", "next section", "go on", "keep going", "continue"),
        "es": ("siguiente", "el siguiente", "siguiente tema", "el que sigue", "continuar", "sígale", "adelante"),
    }
)
AUDIO_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_./-]*\.(wav|mp3)$", re.IGNORECASE)
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
    "say": False,
    "quiet": False,
}


def node(
    c: Checker, node_id: str, raw: Value, *, base_retry: m.Retry, global_keys: dict, languages: dict[str, m.Language], audio_root: Path
) -> m.Node | None:
    what = f"node '{node_id}'"
    block = c.mapping(raw, what)
    if block is None:
        return None
    c.fields(block, NODE_FIELDS, what)
    kind = c.text(block.get("type"), f"The type of {what}")
    if kind is not None and kind not in (m.MENU, m.CONTENT):
        c.error(
            block.get("type").mark,
            f"The type of {what} must be 'menu' or 'content', not '{kind}'.{close_match(kind, [m.MENU, m.CONTENT])}",
            "type",
        )  # type: ignore[union-attr]
        return None
    if kind == m.CONTENT:
        if "prompt" in block:
            c.error(block.key("prompt").mark, f"{what} is a content node: put what it says under 'text', not 'prompt'.", "unknown-field")
        text = c.translations(block.get("text"), f"the text of {what}")
        if "text" not in block:
            c.error(block.mark, f"{what} is a content node and needs 'text:' with what to read aloud.", "missing")
    else:
        if "text" in block:
            c.error(
                block.key("text").mark,
                f"{what} is a menu: put what it says under 'prompt', not 'text' (or make it 'type: content').",
                "unknown-field",
            )
        text = c.translations(block.get("prompt"), f"the prompt of {what}") if "prompt" in block else m.frozen_map({})
    written = block.get("text" if kind == m.CONTENT else "prompt")
    if isinstance(written, Map):  # the line may fill in which number a hotline sees, nothing else
        for lang, said in text.items():
            placeholders(c, written.get(lang), said, {m.HOTLINES_SEE}, f"The {lang} text of {what}")
    title = c.translations(block.get("title"), f"the title of {what}") if "title" in block else m.frozen_map({})
    declared, present = audio(c, block.get("audio"), what, audio_root)

    options: list[m.Option] = []
    seen: dict[str, m.Option] = {}
    raw_options = block.get("options")
    if raw_options is not None and not isinstance(raw_options, Seq):
        c.error(raw_options.mark, f"The options of {what} must be a list: each option starts with '- key: \"1\"'.", "type")
    elif raw_options is not None:
        for index, item in enumerate(raw_options.items, 1):
            option = read_option(c, item, f"option {index} of {what}")
            if option is None:
                continue
            if option.key in seen:
                first = mark_of(seen[option.key], item.mark)
                c.error(
                    item.mark,
                    f"Key {option.key} is bound twice in {what} (first at line {first.line}); give this option another key.",
                    "key-twice",
                )
                continue
            if option.action.kind == m.NEXT and "next" not in block:
                c.error(item.mark, f"option {index} of {what} says 'do: next' but the node has no 'next:'.", "action")
            seen[option.key] = option
            options.append(option)

    nxt = c.ident(block.get("next"), f"next of {what}")
    if nxt is not None:
        c.refer_node(nxt, block.get("next"))
        if NEXT_KEY in seen and seen[NEXT_KEY].action.kind != m.NEXT:
            c.error(
                block.key("next").mark,
                f"{what} has 'next:', which uses key {NEXT_KEY}, but key {NEXT_KEY} is already an option; remove one of them.",
                "key-twice",
            )
        elif NEXT_KEY not in seen:
            opt = m.Option(NEXT_KEY, m.Action(m.NEXT), m.frozen_map({}), True, say=NEXT_SAID)
            options.insert(0, opt)
            seen[NEXT_KEY] = opt
    back = c.ident(block.get("back"), f"back of {what}")
    if back is not None:
        c.refer_node(back, block.get("back"))

    overrides, _ = key_block(c, block.get("keys"), f"keys of {what}", allow_disabled=True)
    keys: dict[str, m.Option] = {o.key: o for o in options}
    for key, option in global_keys.items():
        if key in overrides or key in keys:
            continue
        keys[key] = option
    for key, option in overrides.items():
        base = global_keys.get(key)
        if option is not None and base is not None and not option.say and option.action == base.action:
            option = replace(option, say=base.say)  # announced differently here, said the same way
        if key in seen:
            c.error(block.key("keys").mark, f"Key {key} is both an option and under 'keys' in {what}; keep one.", "key-twice")
            continue
        if option is not None:
            keys[key] = option
    for lang in languages.values():
        if lang.switch_key in seen and len(languages) > 1:
            c.error(
                mark_of(seen[lang.switch_key], block.mark),
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
    node_retry = retry(c, block.get("retry"), base_retry, f"retry of {what}")
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
        where=tuple(block.mark),
        text_at=m.frozen_map(locations(block.get("text" if kind == m.CONTENT else "prompt"))),
        audio_at=m.frozen_map(locations(block.get("audio"))),
        say=c.phrases(block.get("say"), f"what a caller may say to reach {what}"),
        quiet=c.flag(block.get("quiet"), f"quiet in {what}", default=False),
    )


def locations(value: Value | None) -> dict[str, m.Location]:
    """Where each language's entry of a per-language block was written (for lint messages)."""
    if not isinstance(value, Map):
        return {}
    return {lang: tuple(v.mark) for lang, v in value.items()}


def mark_of(option: m.Option, default: Mark) -> Mark:
    return Mark(*option.where) if option.where else default


def audio(c: Checker, value: Value | None, what: str, audio_root: Path) -> tuple[dict[str, str], dict[str, str]]:
    block = c.mapping(value, f"the audio of {what}")
    declared: dict[str, str] = {}
    present: dict[str, str] = {}
    if block is None:
        return declared, present
    for lang, raw in block.items():
        if lang not in c.langs:
            c.error(block.key(lang).mark, f"'{lang}' in the audio of {what} is not an offered language.", "language")
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
        try:
            if find_recording(audio_root, name) is not None:
                present[lang] = name
        except AudioOutside:
            c.error(
                raw.mark,
                f"The audio file '{name}' of {what} is a link to a file outside audio/; copy the recording into audio/ instead.",
                "audio",
            )
    return declared, present


# --- derived -------------------------------------------------------------------------


def with_parents(nodes: dict[str, m.Node], start: str) -> dict[str, m.Node]:
    """`back` goes to the menu a caller came down from: the first node (breadth-first from
    the start) whose goto/next reaches this one, unless the node names its own `back`."""
    parents: dict[str, str] = {}
    queue = deque([start])
    seen = {start}
    while queue:
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
    for node_id, node in nodes.items():
        parent = node.parent or parents.get(node_id)
        result[node_id] = replace(node, parent=parent)
    return result
