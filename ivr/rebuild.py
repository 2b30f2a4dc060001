"""Reload a menu without slowing the calls in progress: build it in a child process.

Parsing, validating and pre-rendering a big menu is seconds of CPU. Done in a thread of
the serving process it would share the interpreter lock with the requests being
answered. So a reload runs a child process (`CHILD`, at lower CPU priority, on another
core), which does all of that and writes the result as a series of small pickles to an
unnamed temporary file: the menu's top level and the objects its nodes share, then one
node at a time with its pre-rendered first-visit TwiML. The serving process maps the file
and only unpickles, some twenty microseconds per step, giving way to requests between
steps (see `pacing`). The child is our own code writing to a file only we can open, so
unpickling its output is safe.
"""

from __future__ import annotations

import contextlib
import copyreg
import gc
import io
import mmap
import os
import pickle
import subprocess
import sys
import tempfile
from dataclasses import fields, is_dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, BinaryIO

from . import model as m
from .errors import MenuInvalid, MenuProblem
from .pacing import give_way
from .render import Renderer
from .validate import load_menu

BATCH = 1  # node per pickle: each unpickling step stays around twenty microseconds
PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)
CHILD = "import sys; from ivr.rebuild import main; sys.exit(main())"


class RebuildFailed(Exception):
    """The child process died or spoke nonsense (not a problem with the menu itself)."""


def _reduce_mappingproxy(proxy: MappingProxyType) -> tuple:
    return _mappingproxy, (dict(proxy),)


def _mappingproxy(data: dict) -> MappingProxyType:
    return MappingProxyType(data)


_DISPATCH = {**copyreg.dispatch_table, MappingProxyType: _reduce_mappingproxy}  # the model's frozen maps


class _Pickler(pickle.Pickler):
    """Pickles the model; objects in `shared` are written as their index in that table."""

    def __init__(self, out: BinaryIO, shared: dict[int, int]):
        super().__init__(out, protocol=pickle.HIGHEST_PROTOCOL)
        self.dispatch_table = _DISPATCH
        self.shared = shared

    def persistent_id(self, obj: object) -> int | None:
        return self.shared.get(id(obj))


class _Unpickler(pickle.Unpickler):
    def __init__(self, stream: BinaryIO, shared: list):
        super().__init__(stream)
        self.shared = shared

    def persistent_load(self, pid: int) -> object:
        return self.shared[pid]


def _dump(out: BinaryIO, message: tuple, shared: dict[int, int] | None = None) -> None:
    _Pickler(out, shared or {}).dump(message)


def _shared_objects(roots: list[object]) -> list[object]:
    """Objects reachable from more than one root (the menu's top level, each node).

    In the child's menu, nodes share objects: the global keys' options, retry settings,
    common strings. Sent once and referred to by index, they stay shared in the server
    too, instead of becoming thousands of copies.
    """
    first_root: dict[int, int] = {}
    shared: dict[int, object] = {}
    for n, root in enumerate(roots):
        stack, seen = [root], set()
        while stack:
            obj = stack.pop()
            if id(obj) in seen:
                continue
            if isinstance(obj, (dict, MappingProxyType)):
                stack.extend(obj.keys())
                stack.extend(obj.values())
            elif isinstance(obj, (tuple, list)):
                stack.extend(obj)
            elif is_dataclass(obj) and not isinstance(obj, type):
                stack.extend(vars(obj).values())
            elif not isinstance(obj, str):
                continue  # numbers, None, booleans: nothing to gain
            seen.add(id(obj))
            if first_root.setdefault(id(obj), n) != n:
                shared[id(obj)] = obj
    return list(shared.values())


def stream_menu(path: str | os.PathLike[str], out: BinaryIO) -> None:
    """The child's side: load, validate, pre-render, and write it all to `out`."""
    try:
        menu = load_menu(path)
    except MenuInvalid as err:
        _dump(out, ("invalid", err.problems))
        return
    renderer = Renderer(menu).warm()
    top = {f.name: getattr(menu, f.name) for f in fields(menu) if f.name != "nodes"}
    shared = _shared_objects([top, *menu.nodes.values()])
    _dump(out, ("menu", top, len(menu.nodes), shared))
    table = {id(obj): index for index, obj in enumerate(shared)}
    ids = list(menu.nodes)
    for start in range(0, len(ids), BATCH):
        batch = [(menu.nodes[i], tuple(renderer.node(i, code) for code in menu.languages)) for i in ids[start : start + BATCH]]
        _dump(out, ("nodes", batch), table)
    _dump(out, ("end",))


def build_in_child(path: str | os.PathLike[str]) -> Renderer:
    """The serving process's side: run the child and adopt its menu a few nodes at a time.

    Raises `MenuInvalid` if the menu has errors, `RebuildFailed` if the child itself failed.
    """
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [PACKAGE_ROOT, os.environ.get("PYTHONPATH")]))}
    # The child writes to an unnamed temporary file, which we then map into memory: reading
    # it back needs no system calls, so no step of the adoption lets go of the interpreter
    # halfway and has to fight a request for it back.
    with tempfile.TemporaryFile() as output:
        status = subprocess.call([sys.executable, "-c", CHILD, str(path)], stdin=subprocess.DEVNULL, stdout=output, env=env)
        if status != 0:
            raise RebuildFailed(f"the menu-building process exited with status {status}")
        if output.seek(0, os.SEEK_END) == 0:
            raise RebuildFailed("the menu-building process wrote nothing")
        with mmap.mmap(output.fileno(), 0, access=mmap.ACCESS_READ) as stream:
            try:
                return _adopt(stream)  # type: ignore[arg-type]
            except (EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError, IndexError) as err:
                raise RebuildFailed(f"the menu-building process stopped early ({type(err).__name__}: {err})") from None


def _adopt(stream: BinaryIO) -> Renderer:
    # One pickle.load per message: an Unpickler reused across pickles numbers its memo wrongly.
    message: Any = pickle.load(stream)
    if message[0] == "invalid":
        problems: list[MenuProblem] = message[1]
        raise MenuInvalid(problems)
    if message[0] != "menu":
        raise RebuildFailed(f"unexpected message {message[0]!r}")
    top, count, shared = message[1], message[2], message[3]
    codes = tuple(top["languages"])
    nodes: dict[str, m.Node] = {}
    first: dict[tuple[str, str], str] = {}
    # The collector's own passes would walk the new objects again and again, sometimes in
    # the middle of a request; the paced job's small sweeps stand in for them meanwhile
    # and freeze what it has adopted as it goes (see pacing._Job.give_way).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        while True:
            give_way()
            message = _Unpickler(stream, shared).load()
            if message[0] == "end":
                break
            for node, twiml in message[1]:
                nodes[node.id] = node
                for code, xml in zip(codes, twiml, strict=True):  # first-visit TwiML, one per language in menu order
                    first[(node.id, code)] = xml
        if len(nodes) != count:
            raise RebuildFailed(f"received {len(nodes)} of {count} nodes")
        return Renderer(m.Menu(nodes=MappingProxyType(nodes), **top), first=first)
    finally:
        if was_enabled:
            gc.enable()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        sys.stderr.write("usage: python -c 'from ivr.rebuild import main; main()' MENU_FILE  (the server runs this to reload a menu)\n")
        return 2
    with contextlib.suppress(OSError):
        os.nice(10)  # the server's workers answering calls come first for the CPU
    gc.disable()  # a short-lived process that makes no cycles: collecting would only slow it down
    out = io.BufferedWriter(io.FileIO(sys.stdout.fileno(), "wb", closefd=False), buffer_size=1 << 16)
    stream_menu(args[0], out)
    out.flush()
    return 0
