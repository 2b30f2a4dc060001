"""A YAML document that remembers where every value came from.

`yaml.safe_load` forgets line numbers and silently turns `+18883737888` into an
integer and `no` into False. Here we read PyYAML's node graph (`yaml.compose`)
instead: each value keeps its position and the type YAML *would* have given it,
so the validator can say "line 14: quote this number" instead of guessing.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from .errors import MenuProblem

STR = "tag:yaml.org,2002:str"
INT = "tag:yaml.org,2002:int"
FLOAT = "tag:yaml.org,2002:float"
BOOL = "tag:yaml.org,2002:bool"
NULL = "tag:yaml.org,2002:null"


@dataclass(frozen=True)
class Mark:
    file: str
    line: int
    column: int

    def problem(self, message: str, *, severity: str = "error", code: str = "invalid") -> MenuProblem:
        return MenuProblem(self.file, self.line, self.column, message[:1].upper() + message[1:], severity, code)


@dataclass(frozen=True)
class Scalar:
    """A plain value exactly as written, with the type YAML 1.1 would infer."""

    text: str
    tag: str
    quoted: bool
    mark: Mark

    @property
    def is_str(self) -> bool:
        return self.tag == STR


@dataclass(frozen=True)
class Seq:
    items: tuple[Value, ...]
    mark: Mark


@dataclass(frozen=True)
class Map:
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


def parse(text: str, file: str) -> tuple[Value | None, list[MenuProblem]]:
    """Parse YAML text into located values; syntax errors come back as problems, never raised."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as err:
        return None, [syntax_problem(file, text, err)]
    except (ValueError, RecursionError) as err:  # e.g. absurd nesting
        return None, [MenuProblem(file, 1, 1, f"The file could not be read as YAML: {err}.", code="syntax")]
    if root is None:
        return None, [MenuProblem(file, 1, 1, "The menu file is empty. Start from docs/menu-format.md.", code="empty")]
    problems: list[MenuProblem] = []
    return _convert(root, file, problems, 0), problems


def _convert(node: yaml.Node, file: str, problems: list[MenuProblem], depth: int) -> Value:
    mark = _mark(file, node)
    if depth > 50:
        problems.append(mark.problem("This value is nested too deeply (more than 50 levels); check the indentation."))
        return Scalar("", NULL, False, mark)
    if isinstance(node, yaml.ScalarNode):
        return Scalar(node.value, node.tag, node.style in ("'", '"', "|", ">"), mark)
    if isinstance(node, yaml.SequenceNode):
        return Seq(tuple(_convert(item, file, problems, depth + 1) for item in node.value), mark)
    entries: dict[str, Value] = {}
    keys: dict[str, Scalar] = {}
    for key_node, value_node in node.value:
        key_mark = _mark(file, key_node)
        if not isinstance(key_node, yaml.ScalarNode):
            problems.append(key_mark.problem("A key here must be a plain word or a quoted key, not a list or a mapping."))
            continue
        key = Scalar(key_node.value, key_node.tag, key_node.style in ("'", '"'), key_mark)
        if key.text in entries:
            first = keys[key.text].mark
            problems.append(
                key_mark.problem(
                    f"'{key.text}' is written twice in the same block (first at line {first.line}); keep one of them.",
                    code="duplicate",
                )
            )
            continue
        entries[key.text] = _convert(value_node, file, problems, depth + 1)
        keys[key.text] = key
    return Map(entries, keys, mark)
