"""A YAML document that remembers where every value came from.

`yaml.safe_load` forgets line numbers and silently turns `+18883737888` into an
integer and `no` into False. Here we read PyYAML's node graph (`yaml.compose`)
instead: each value keeps its position and the type YAML *would* have given it,
so the validator can say "line 14: quote this number" instead of guessing.
"""

from __future__ import annotations

from typing import NamedTuple

import yaml

from .errors import MenuProblem
from .pacing import paced

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
    """A plain value exactly as written, with the type YAML 1.1 would infer."""

    text: str
    tag: str
    quoted: bool
    mark: Mark

    @property
    def is_str(self) -> bool:
        return self.tag == STR


class Seq(NamedTuple):
    items: tuple[Value, ...]
    mark: Mark


class Map(NamedTuple):
    """A mapping with string-ish keys; `keys` keeps each key's own scalar for its position."""

    entries: dict[str, Value]
    keys: dict[str, Scalar]
    mark: Mark

    def get(self, name: str) -> Value | None:
        return self.entries.get(name)


Value = Scalar | Seq | Map


def _mark(file: str, node: yaml.Node) -> Mark:
    return Mark(file, node.start_mark.line + 1, node.start_mark.column + 1)


def syntax_problem(file: str, text: str, err: yaml.YAMLError) -> MenuProblem:
    """Turn a PyYAML syntax error into a problem with the line and a caret under the spot."""
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    problem = getattr(err, "problem", None) or str(err)
    context = getattr(err, "context", None)
    message = f"YAML syntax error: {problem}"
    if context:
        message += f" ({context})"
    message += (
        ". Check the indentation and that every ':' has a space after it; quote text that contains ': ' or starts with a special character."
    )
    if mark is None:
        return MenuProblem(file, 1, 1, message, code="syntax")
    lines = text.splitlines()
    snippet = ""
    if 0 <= mark.line < len(lines):
        snippet = f"    {lines[mark.line]}\n    {' ' * mark.column}^"
    return MenuProblem(file, mark.line + 1, mark.column + 1, message, code="syntax", snippet=snippet)


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
        root = _Builder(file, problems).build(paced(yaml.parse(data, Loader=_LOADER)))
    except yaml.YAMLError as err:
        return None, [syntax_problem(file, data.decode("utf-8", errors="replace"), err)]
    except (ValueError, RecursionError) as err:  # e.g. absurd nesting
        return None, [MenuProblem(file, 1, 1, f"The file could not be read as YAML: {err}.", code="syntax")]
    if root is None:
        return None, [MenuProblem(file, 1, 1, "The menu file is empty. Start from docs/menu-format.md.", code="empty")]
    return root, problems


class _Builder:
    """Turns the parser's event stream into Scalar/Seq/Map values (anchors and aliases included)."""

    MAX_DEPTH = 50

    def __init__(self, file: str, problems: list[MenuProblem]):
        self.file = file
        self.problems = problems
        self.anchors: dict[str, Value] = {}

    def mark(self, event: yaml.Event) -> Mark:
        return Mark(self.file, event.start_mark.line + 1, event.start_mark.column + 1)

    def build(self, events) -> Value | None:  # noqa: ANN001 - an iterator of yaml events
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

    def value(self, event: yaml.Event, depth: int) -> Value:
        if depth > self.MAX_DEPTH:
            raise ValueError("it is nested more than 50 levels deep; check the indentation")
        if isinstance(event, yaml.ScalarEvent):
            plain = not event.style and event.implicit[0]
            tag = event.tag or (_plain_tag(event.value) if plain else STR)
            result: Value = Scalar(event.value, tag, not plain, self.mark(event))
        elif isinstance(event, yaml.SequenceStartEvent):
            mark = self.mark(event)
            items = []
            for item in self.events:
                if isinstance(item, yaml.SequenceEndEvent):
                    break
                items.append(self.value(item, depth + 1))
            result = Seq(tuple(items), mark)
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
        mark = self.mark(event)
        entries: dict[str, Value] = {}
        keys: dict[str, Scalar] = {}
        for key_event in self.events:
            if isinstance(key_event, yaml.MappingEndEvent):
                break
            key_mark = self.mark(key_event)
            key_value = self.value(key_event, depth + 1)
            value = self.value(next(self.events), depth + 1)
            if not isinstance(key_value, Scalar):
                self.problems.append(key_mark.problem("A key here must be a plain word or a quoted key, not a list or a mapping."))
                continue
            if key_value.text in entries:
                first = keys[key_value.text].mark
                self.problems.append(
                    key_mark.problem(
                        f"'{key_value.text}' is written twice in the same block (first at line {first.line}); keep one of them.",
                        code="duplicate",
                    )
                )
                continue
            entries[key_value.text] = value
            keys[key_value.text] = key_value
        return Map(entries, keys, mark)
