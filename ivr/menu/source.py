"""A YAML document that remembers where every value came from.

`yaml.safe_load` forgets line numbers and silently turns `+18883737888` into an
integer and `no` into False. Here we read PyYAML's node graph (`yaml.compose`)
instead: each value keeps its position and the type YAML *would* have given it,
so the validator can say "line 14: quote this number" instead of guessing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple

import yaml

from .problems import MenuProblem

STR = "tag:yaml.org,2002:str"
INT = "tag:yaml.org,2002:int"
FLOAT = "tag:yaml.org,2002:float"
BOOL = "tag:yaml.org,2002:bool"
NULL = "tag:yaml.org,2002:null"


class Mark(NamedTuple):
    """A place in a file (1-based). Tuples, not dataclasses: a big menu makes hundreds of thousands."""

    file: str
    line: int
    column: int

    def problem(self, message: str, *, severity: str = "error", code: str = "invalid") -> MenuProblem:
        return MenuProblem(self.file, self.line, self.column, message[:1].upper() + message[1:], severity, code)


class Scalar(NamedTuple):
    """A plain value exactly as written, with the type YAML 1.1 would infer.

    Its place is kept as plain fields, not a `Mark`: a tuple of strings and numbers only is
    dropped from the garbage collector's watch, and a big menu has hundreds of thousands.
    """

    text: str
    tag: str
    quoted: bool
    file: str
    line: int
    column: int

    @property
    def mark(self) -> Mark:
        return Mark(self.file, self.line, self.column)

    @property
    def is_str(self) -> bool:
        return self.tag == STR


def _view(raw: _Raw) -> Value:
    """A stored value as the validator sees it: a stored scalar becomes a `Scalar`."""
    return Scalar._make(raw) if type(raw) is tuple else raw  # type: ignore[return-value,arg-type]


class Seq:
    """A list, with its place in the file."""

    __slots__ = ("_items", "_at")

    def __init__(self, items: tuple[_Raw, ...], at: tuple[str, int, int]):
        self._items = items
        self._at = at  # a plain tuple, like a stored scalar: see Map

    @property
    def mark(self) -> Mark:
        return Mark(*self._at)

    @property
    def items(self) -> tuple[Value, ...]:
        return tuple(_view(item) for item in self._items)


class Map:
    """A mapping with string keys, with its place and the place of each key.

    Scalars are stored as plain tuples and handed out as `Scalar`s: an exact tuple of
    strings and numbers is dropped from the garbage collector's watch (a NamedTuple is
    not), and a big menu holds hundreds of thousands of them. Without this, the collector
    walking them again and again was most of the time it took to load a big menu.
    """

    __slots__ = ("_entries", "_keys", "_at")

    def __init__(self, entries: dict[str, _Raw], keys: dict[str, tuple], at: tuple[str, int, int]):
        self._entries = entries
        self._keys = keys
        self._at = at

    @property
    def mark(self) -> Mark:
        return Mark(*self._at)

    def get(self, name: str) -> Value | None:
        raw = self._entries.get(name)
        return None if raw is None else _view(raw)

    def items(self) -> Iterator[tuple[str, Value]]:
        return ((name, _view(raw)) for name, raw in self._entries.items())

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def key(self, name: str) -> Scalar:
        """The key itself, as written (for its place and its YAML type)."""
        return Scalar._make(self._keys[name])

    def keys(self) -> Iterator[tuple[str, Scalar]]:
        return ((name, Scalar._make(raw)) for name, raw in self._keys.items())


Value = Scalar | Seq | Map
_Raw = tuple | Seq | Map  # a scalar is stored as a plain tuple with Scalar's fields


def syntax_problem(file: str, text: str, err: yaml.YAMLError) -> MenuProblem:
    """A YAML syntax error in plain words, on the line where the problem starts, with a caret.

    PyYAML reports where it gave up, which is often lines after the mistake (an unclosed
    bracket or quote is noticed only at the end of the file), and in parser terms.
    """
    lines = text.splitlines()
    line, column, message = _explain(err, lines)
    snippet = f"    {lines[line]}\n    {' ' * column}^" if 0 <= line < len(lines) else ""
    return MenuProblem(file, line + 1, column + 1, message, code="syntax", snippet=snippet)


# What PyYAML was reading when it gave up -> what was opened and never closed.
_UNCLOSED = {"flow sequence": ("list", "[", "]"), "flow mapping": ("block", "{", "}")}
_INDENT_PROBLEMS = ("expected key", "expected '-' indicator", "expected <block end>")
TAB = "Line {n} starts with a tab: indent with spaces instead (YAML does not allow tabs)."
NEVER_CLOSED = "The {what} that opens with '{opener}' on line {n} is never closed: add the missing '{closer}' at its end, and check that its items are separated by commas."
NO_CLOSING_QUOTE = "The text that starts with {quote} on line {n} has no closing {quote}: add {quote} at the end of that text."
INDENTED = "Line {n} is indented differently from the lines above it (line {above}). Lines of the same block must start in the same column: count the spaces at the start of both lines and make them match."
NO_SPACE = "Line {n} needs a space after the ':': write '{key}: {value}'."
COLON_IN_TEXT = "Line {n} has a ':' followed by a space inside a value. If it is text, put the whole text in quotes; if it is a new field, start it on its own line. (Every 'name: value' needs a space after the ':'.)"
UNREADABLE = "Line {n} could not be read as YAML ({problem}). Check the indentation and that every ':' has a space after it; quote text that contains ': ' or starts with a special character."


def _explain(err: yaml.YAMLError, lines: list[str]) -> tuple[int, int, str]:
    """(0-based line, column, message) for a syntax error."""
    for number, text in enumerate(lines):
        indent = text[: len(text) - len(text.lstrip(" \t"))]
        if "\t" in indent:
            return number, indent.index("\t"), TAB.format(n=number + 1)
    opened, mark = getattr(err, "context", None) or "", getattr(err, "context_mark", None)
    problem, at = getattr(err, "problem", None) or str(err), getattr(err, "problem_mark", None)
    for reading, (what, opener, closer) in _UNCLOSED.items():
        if mark is not None and reading in opened:
            return mark.line, mark.column, NEVER_CLOSED.format(what=what, opener=opener, closer=closer, n=mark.line + 1)
    if mark is not None and "quoted scalar" in opened:
        quote = lines[mark.line][mark.column] if mark.line < len(lines) else '"'
        return mark.line, mark.column, NO_CLOSING_QUOTE.format(quote=quote, n=mark.line + 1)
    if at is None:
        return 0, 0, UNREADABLE.format(n=1, problem=problem)
    line, column = at.line, at.column
    for number in range(min(line, len(lines)) - 1, max(-1, line - 30), -1):  # a double-quoted text running on
        text = lines[number].replace('\\"', "")
        if text.count('"') % 2 == 1 and not text.lstrip().startswith("#"):
            return number, text.index('"'), NO_CLOSING_QUOTE.format(quote='"', n=number + 1)
    above = next((n for n in range(min(line, len(lines)) - 1, -1, -1) if lines[n].strip() and not lines[n].lstrip().startswith("#")), line)
    shifted = _indent(lines, line) != _indent(lines, above) and not lines[above].rstrip().endswith(":")
    colon = "mapping values are not allowed" in problem
    if any(p in problem for p in _INDENT_PROBLEMS) or (colon and shifted):
        return line, 0 if colon else column, INDENTED.format(n=line + 1, above=above + 1)
    for number in (above, line):  # "key:value" is one word to YAML, so the next line looks wrong
        squeezed = re.search(r"^\s*([\w-]+):([^\s/].*)$", lines[number]) if number < len(lines) else None
        if squeezed:
            key, value = squeezed.groups()
            return number, squeezed.start(2) - 1, NO_SPACE.format(n=number + 1, key=key, value=value.split(" #")[0].strip())
    return line, column, (COLON_IN_TEXT if colon else UNREADABLE).format(n=line + 1, problem=problem)


def _indent(lines: list[str], number: int) -> int:
    return len(lines[number]) - len(lines[number].lstrip(" ")) if number < len(lines) else 0


_RESOLVER = yaml.resolver.Resolver()
_PLAIN_TAGS: dict[str, str] = {}
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: ~10x faster


_RESOLVED_FIRST = frozenset(k for k in _RESOLVER.yaml_implicit_resolvers if k)


def _plain_tag(value: str) -> str:
    """The type YAML 1.1 gives an unquoted scalar (int, bool, null, ...), memoised."""
    if value and value[0] not in _RESOLVED_FIRST:
        return STR  # no implicit type starts with this character (most text)
    tag = _PLAIN_TAGS.get(value)
    if tag is None:
        tag = _RESOLVER.resolve(yaml.ScalarNode, value, (True, False))
        if len(_PLAIN_TAGS) < 100_000:
            _PLAIN_TAGS[value] = tag
    return tag


def parse(data: bytes, file: str) -> tuple[Value | None, list[MenuProblem]]:
    """Parse a UTF-8 YAML file's bytes into located values; syntax errors come back as problems.

    Built straight from the parser's events rather than `yaml.compose`: the same marks and
    the same implicit types, several times faster on big menus. libyaml is handed the bytes
    as they are (a str would first be re-encoded in one long, uninterruptible step).
    """
    problems: list[MenuProblem] = []
    try:
        root = _Builder(file, problems).build(yaml.parse(data, Loader=_LOADER))
    except yaml.YAMLError as err:
        return None, [syntax_problem(file, data.decode("utf-8", errors="replace"), err)]
    except (ValueError, RecursionError) as err:  # e.g. absurd nesting
        return None, [MenuProblem(file, 1, 1, f"The file could not be read as YAML: {err}.", code="syntax")]
    if root is None:
        return None, [MenuProblem(file, 1, 1, "The menu file is empty. Start from docs/menu-format.md.", code="empty")]
    return _view(root), problems


class _Builder:
    """Turns the parser's event stream into Scalar/Seq/Map values (anchors and aliases included)."""

    MAX_DEPTH = 50

    def __init__(self, file: str, problems: list[MenuProblem]):
        self.file = file
        self.problems = problems
        self.anchors: dict[str, Value] = {}

    def mark(self, event: yaml.Event) -> Mark:
        return Mark(*self.at(event))

    def at(self, event: yaml.Event) -> tuple[str, int, int]:
        return (self.file, event.start_mark.line + 1, event.start_mark.column + 1)

    def build(self, events) -> _Raw | None:  # noqa: ANN001 - an iterator of yaml events
        self.events = iter(events)
        root = None
        for event in self.events:
            if isinstance(event, yaml.DocumentStartEvent) and root is None:
                root = self.value(next(self.events), 0)
            elif isinstance(event, yaml.DocumentStartEvent):
                self.problems.append(
                    self.mark(event).problem("A menu file holds one YAML document; remove the extra '---' and what follows it.")
                )
                return root
        return root

    def value(self, event: yaml.Event, depth: int) -> _Raw:
        if depth > self.MAX_DEPTH:
            raise ValueError("it is nested more than 50 levels deep; check the indentation")
        if isinstance(event, yaml.ScalarEvent):
            plain = not event.style and event.implicit[0]
            tag = event.tag or (_plain_tag(event.value) if plain else STR)
            start = event.start_mark
            result: _Raw = (event.value, tag, not plain, self.file, start.line + 1, start.column + 1)
        elif isinstance(event, yaml.SequenceStartEvent):
            at = self.at(event)
            items = []
            for item in self.events:
                if isinstance(item, yaml.SequenceEndEvent):
                    break
                items.append(self.value(item, depth + 1))
            result = Seq(tuple(items), at)
        elif isinstance(event, yaml.MappingStartEvent):
            result = self.mapping(event, depth)
        elif isinstance(event, yaml.AliasEvent):
            if event.anchor not in self.anchors:
                raise yaml.composer.ComposerError(None, None, f"found undefined alias {event.anchor!r}", event.start_mark)
            return self.anchors[event.anchor]
        else:
            raise ValueError(f"unexpected {type(event).__name__}")
        anchor = getattr(event, "anchor", None)
        if anchor:
            self.anchors[anchor] = result
        return result

    def mapping(self, event: yaml.MappingStartEvent, depth: int) -> Map:
        at = self.at(event)
        entries: dict[str, _Raw] = {}
        keys: dict[str, tuple] = {}
        for key_event in self.events:
            if isinstance(key_event, yaml.MappingEndEvent):
                break
            key_mark = self.mark(key_event)
            key_value = self.value(key_event, depth + 1)
            value = self.value(next(self.events), depth + 1)
            if type(key_value) is not tuple:
                self.problems.append(key_mark.problem("A key here must be a plain word or a quoted key, not a list or a mapping."))
                continue
            name = key_value[0]
            if name in entries:
                self.problems.append(
                    key_mark.problem(
                        f"'{name}' is written twice in the same block (first at line {keys[name][4]}); keep one of them.",
                        code="duplicate",
                    )
                )
                continue
            entries[name] = value
            keys[name] = key_value
        return Map(entries, keys, at)
