"""Read a menu file into a frozen `Menu`, or report every mistake in it.

The rules live in this package and only here: the server, `python -m ivr validate`,
lint, graph and the hot reload all call `load_menu`, so a menu that passes one passes
them all. This module reads the top of the file and hands each part to the module that
owns it: `sections` (languages, hotlines, messages, retry), `options` (keys and actions)
and `nodes` (menus and content).
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from . import model as m
from .audio import project_audio_root
from .fields import ID, Checker, close_match
from .messages import messages
from .nodes import node, with_parents
from .options import key_block
from .problems import MenuInvalid, MenuProblem
from .recordings import load_library
from .sections import hotlines, languages, retry, speech
from .situations import privacy_is_told_truly, situations
from .source import Value, parse

DEFAULT_MENU = "menus/main.yaml"
MAX_BYTES = 1_000_000  # a real phone tree is a few kilobytes; far bigger is a mistake or an attack
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")

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
    "speech": False,
    "situations": False,
}


def build_menu(c: Checker, root: Value, digest: str, menu_file: Path) -> m.Menu | None:
    """The whole menu from the located tree, or None with the problems in `c`."""
    top = c.mapping(root, "The menu file")
    if top is None:
        return None
    c.fields(top, TOP_FIELDS, "the menu file")
    langs = languages(c, top.get("languages"))
    default = c.text(top.get("default_language"), "default_language") or (c.langs[0] if c.langs else "en")
    if c.langs and default not in c.langs:
        c.error(
            top.get("default_language").mark,  # type: ignore[union-attr]
            f"default_language '{default}' is not under 'languages'.{close_match(default, c.langs)}",
            "reference",
        )
    greeting = c.translations(top.get("greeting"), "greeting")
    lines = hotlines(c, top.get("hotlines"))
    texts = messages(c, top.get("messages"))
    audio_root = audio_dir(c, top.get("audio_dir"), menu_file)

    nodes_block = c.mapping(top.get("nodes"), "nodes")
    c.node_ids = dict.fromkeys(nodes_block) if nodes_block else {}
    start = c.ident(top.get("start"), "start")
    if start is not None and nodes_block is not None and start not in nodes_block:
        c.error(
            top.get("start").mark,  # type: ignore[union-attr]
            f"start names the node '{start}', but there is no such node under 'nodes'.{close_match(start, list(c.node_ids))}",
            "reference",
        )

    base_retry = retry(c, top.get("retry"), None, "retry")
    global_keys, key_marks = key_block(c, top.get("keys"), "keys", allow_disabled=False)
    for lang in langs.values():
        if lang.switch_key in global_keys:
            c.error(
                key_marks[lang.switch_key],
                f"Key {lang.switch_key} switches to {lang.name}; it cannot also be a global key. Pick another key.",
                "key-twice",
            )

    nodes: dict[str, m.Node] = {}
    for node_id, raw in nodes_block.items() if nodes_block else ():
        if not ID.match(node_id):
            c.error(
                nodes_block.key(node_id).mark,  # type: ignore[union-attr]
                f"Node name '{node_id}' must start with a letter and use only letters, digits, '_' or '-'.",
                "type",
            )
            continue
        built = node(c, node_id, raw, base_retry=base_retry, global_keys=global_keys, languages=langs, audio_root=audio_root)
        if built is not None:
            nodes[node_id] = built
    listening = speech(c, top.get("speech"), langs)
    zero = global_keys.get("0")
    person = zero.action if zero is not None and zero.action.kind == m.TRANSFER else None
    if person is None and c.hotline_ids:
        person = m.Action(m.TRANSFER, c.hotline_ids[0])
    described = situations(c, top.get("situations"), top.mark, person=person, speech_on=bool(listening))
    privacy_is_told_truly(c, described, nodes, c.langs)
    if c.problems:
        return None
    return m.Menu(
        path=c.file,
        languages=m.frozen_map(langs),
        default_language=default,
        hotlines=m.frozen_map(lines),
        nodes=m.frozen_map(with_parents(nodes, start)),  # type: ignore[arg-type]
        start=start,  # type: ignore[arg-type]
        greeting=greeting,
        messages=m.frozen_map(texts),
        digest=digest,
        audio_dir=str(audio_root),
        speech=m.frozen_map(listening),
        situations=m.frozen_map(described),
        keys=m.frozen_map(global_keys),
        recordings=load_library(audio_root),
    )


def audio_dir(c: Checker, value: Value | None, menu_file: Path) -> Path:
    """Where this menu's recordings are: the project's audio/ folder, or a folder inside it."""
    root = project_audio_root(menu_file)
    name = c.text(value, "audio_dir")
    if name is None:
        return root
    folder = (menu_file.parent / name).resolve()
    if not folder.is_relative_to(root):
        c.error(
            value.mark,  # type: ignore[union-attr]
            f"audio_dir '{name}' is outside the project's audio folder ({root.name}/ beside menus/). "
            "Recordings are served only from there: use a folder inside it, such as ../audio/spanish, or remove audio_dir.",
            "audio",
        )
        return root
    return folder


def load_menu(path: str | os.PathLike[str], *, max_bytes: int = MAX_BYTES) -> m.Menu:
    """Load and validate a menu file. Raises `MenuInvalid` with every problem found."""
    path = Path(path)
    return load_menu_bytes(read_menu_file(path, max_bytes), str(path), path)


def read_menu_file(path: Path, max_bytes: int = MAX_BYTES) -> bytes:
    """The file's bytes, from a regular file only, refusing (before reading it) one too big to be
    a phone tree.

    A named pipe, a device or a socket would block whoever reads it (a server's watcher,
    `ivr validate`) until something writes to it, so it is refused before it is opened (opening
    some devices already does something), and again once open, in case one was put in the
    file's place in between: opened without blocking, a named pipe cannot hold up the open itself.
    """
    name = str(path)
    try:
        _regular_file(os.stat(path), name)
        with os.fdopen(os.open(path, os.O_RDONLY | OPEN_NONBLOCKING), "rb") as handle:
            _regular_file(os.fstat(handle.fileno()), name)
            raw = handle.read(max_bytes + 1)
    except OSError as err:
        raise MenuInvalid([MenuProblem(name, 1, 1, f"The menu file cannot be read: {err.strerror}.", code="io")]) from None
    if len(raw) > max_bytes:
        raise MenuInvalid(
            [
                MenuProblem(
                    name,
                    1,
                    1,
                    f"The menu file is larger than {max_bytes:,} bytes, far more than a phone tree needs; "
                    "check that the right file was saved here (the limit is IVR_MENU_MAX_BYTES).",
                    code="too-big",
                )
            ]
        )
    return raw


OPEN_NONBLOCKING = getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
# What a path that is not a regular file is, in words staff know.
NOT_A_FILE = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"))


def _regular_file(status: os.stat_result, name: str) -> None:
    if stat.S_ISREG(status.st_mode):
        return
    kind = next((words for test, words in NOT_A_FILE if test(status.st_mode)), "a device")
    raise MenuInvalid(
        [
            MenuProblem(
                name,
                1,
                1,
                f"The menu file is {kind}, not an ordinary file, so it is not read. Save the menu here as an ordinary "
                "file (a named pipe or a device would leave the reader waiting for data that may never come).",
                code="not-a-file",
            )
        ]
    )


def load_menu_bytes(raw: bytes, name: str, menu_file: Path) -> m.Menu:
    """Validate a menu from its bytes; `menu_file` is where it lives (recordings are found from there)."""
    if raw.startswith(UTF16_BOMS):
        _check_utf8(raw, name)  # libyaml would read UTF-16 happily; staff tools and diffs would not
    root, problems = parse(raw, name)
    if root is None:
        _check_utf8(raw, name)  # a clearer message than libyaml's "invalid leading UTF-8 octet"
        raise MenuInvalid(problems)
    checker = Checker(name)
    menu = build_menu(checker, root, hashlib.sha256(raw).hexdigest(), menu_file)
    problems += checker.problems
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
