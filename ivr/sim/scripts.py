"""Scripted calls: a small YAML format for a call, a runner, and menu coverage.

A script is a list of steps run against the line through the simulated caller:

    name: Spanish caller reaches the national hotline
    lang: es                  # optional: start the call in this language (/voice?lang=es)
    steps:
      - expect: Si está en peligro inmediato      # heard since the caller last acted
      - press: "1"
      - expect_transfer: national
      - dial: busy
      - expect_transfer: coneht

Steps: `expect` (text, or {contains, matches, not_contains, language}), `press` (one or more
keys, pressed one by one), `say` (words, or {text, confidence}: posted as Twilio's SpeechResult
and Confidence), `silence` (optionally a count), `dial` (completed, busy, no-answer,
failed, canceled), `expect_transfer` (a hotline name from the menu), `expect_node` (a node
name), `expect_end`, `hangup`.

The runner reads the menu file only to turn hotline names into numbers and to count
coverage; what happens on the call is decided by the line's HTTP answers alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..menu import Menu
from .caller import DIAL_OUTCOMES, Call, CallError
from .transports import Transport

EXPECTATIONS = ("contains", "matches", "not_contains", "language")
STEP_KINDS = ("expect", "press", "say", "silence", "dial", "expect_transfer", "expect_node", "expect_end", "hangup")


class ScriptError(Exception):
    """A script file that is not a valid script (a staff typo, not a failed call)."""


@dataclass
class Step:
    kind: str
    value: object
    line: int

    def __str__(self) -> str:
        return f"{self.kind}: {self.value}" if self.value is not None else self.kind


@dataclass
class Script:
    name: str
    path: str
    steps: list[Step]
    lang: str | None = None


@dataclass
class Result:
    script: Script
    call: Call | None
    failure: str | None = None
    failed_step: Step | None = None
    events_at_failure: int = 0
    error_kind: str | None = None  # set when the line itself misbehaved (a CallError)

    @property
    def passed(self) -> bool:
        return self.failure is None


@dataclass
class Coverage:
    nodes: set[str] = field(default_factory=set)
    bindings: set[tuple[str, str]] = field(default_factory=set)
    phrases: int = 0  # things said in the scripts
    calls: int = 0

    def add(self, call: Call) -> None:
        self.calls += 1
        self.nodes.update(call.nodes_seen)
        self.bindings.update(call.visits)
        self.phrases += sum(1 for e in call.events if e.kind == "speech")

    def report(self, menu: Menu) -> tuple[str, float, float]:
        all_nodes = set(menu.nodes)
        all_bindings = menu_bindings(menu)
        covered_nodes = self.nodes & all_nodes
        covered_bindings = self.bindings & all_bindings
        node_pct = 100.0 * len(covered_nodes) / max(len(all_nodes), 1)
        binding_pct = 100.0 * len(covered_bindings) / max(len(all_bindings), 1)
        lines = [
            f"Coverage of {menu.path}:",
            f"  nodes: {len(covered_nodes)}/{len(all_nodes)} ({node_pct:.0f}%)",
            f"  key bindings: {len(covered_bindings)}/{len(all_bindings)} ({binding_pct:.0f}%)",
            f"  things said: {self.phrases}",
        ]
        untested_nodes = sorted(all_nodes - covered_nodes)
        if untested_nodes:
            lines.append("  untested nodes: " + ", ".join(untested_nodes))
        untested = sorted(all_bindings - covered_bindings)
        if untested:
            lines.append("  untested key bindings: " + ", ".join(f"{n}[{k}]" for n, k in untested))
        return "\n".join(lines), node_pct, binding_pct


def menu_bindings(menu: Menu) -> set[tuple[str, str]]:
    """Every (node, key) that does something: the node's keys plus the language switch keys."""
    switch = {lang.switch_key for lang in menu.languages.values()} if len(menu.languages) > 1 else set()
    return {(node.id, key) for node in menu.nodes.values() for key in (*node.keys, *switch)}


def load_script(path: str | Path) -> Script:
    path = Path(path)
    try:
        root = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except (OSError, yaml.YAMLError) as err:
        raise ScriptError(f"{path}: {err}") from None
    if not isinstance(root, yaml.MappingNode):
        raise ScriptError(f"{path}:1: a call script is a block with 'name:' and 'steps:'")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    fields = {k.value: v for k, v in root.value}
    unknown = set(data) - {"name", "lang", "steps"}
    if unknown:
        raise ScriptError(f"{path}:1: unknown field(s) {', '.join(sorted(unknown))}; a script has name, lang and steps")
    steps_node = fields.get("steps")
    if not isinstance(steps_node, yaml.SequenceNode) or not isinstance(data.get("steps"), list):
        raise ScriptError(f"{path}:1: 'steps:' must be a list")
    steps = []
    for node, raw in zip(steps_node.value, data["steps"], strict=True):
        line = node.start_mark.line + 1
        if isinstance(raw, str) and raw in STEP_KINDS:
            kind, value = raw, None
        elif isinstance(raw, dict) and len(raw) == 1:
            kind, value = next(iter(raw.items()))
        else:
            raise ScriptError(f"{path}:{line}: each step is one of {', '.join(STEP_KINDS)}, like '- press: \"1\"'")
        if kind not in STEP_KINDS:
            raise ScriptError(f"{path}:{line}: unknown step '{kind}'; use one of {', '.join(STEP_KINDS)}")
        if kind == "press" and not isinstance(value, str):
            raise ScriptError(f'{path}:{line}: quote the keys to press: press: "{value}"')
        if kind == "expect" and isinstance(value, dict):
            bad = [k for k, v in value.items() if k not in EXPECTATIONS or v is None]
            if bad:
                raise ScriptError(
                    f"{path}:{line}: expect takes {', '.join(EXPECTATIONS)} with a value; "
                    f"'{bad[0]}' is not one (inside {{ }} a comma starts a new field: quote text that has commas)"
                )
        if kind == "say" and not (isinstance(value, str) or (isinstance(value, dict) and isinstance(value.get("text"), str))):
            raise ScriptError(f'{path}:{line}: say takes the words, or {{text: "...", confidence: 0.6}}')
        if kind == "dial" and value not in DIAL_OUTCOMES:
            raise ScriptError(f"{path}:{line}: dial takes one of {', '.join(DIAL_OUTCOMES)}")
        steps.append(Step(kind, value, line))
    return Script(str(data.get("name") or path.stem), str(path), steps, data.get("lang"))


def run_script(script: Script, transport: Transport, menu: Menu, auth_token: str | None = None) -> Result:
    call = Call(transport, auth_token=auth_token)
    result = Result(script, call)
    try:
        call.start(f"voice?lang={script.lang}" if script.lang else "voice")
        for step in script.steps:
            problem = _run_step(call, step, menu)
            if problem:
                result.failure, result.failed_step = problem, step
                break
    except CallError as err:
        result.failure = f"the line answered badly: {err}"
        result.error_kind = err.kind
        result.failed_step = step if "step" in locals() else None
    result.events_at_failure = len(call.events)
    return result


def _run_step(call: Call, step: Step, menu: Menu) -> str | None:
    kind, value = step.kind, step.value
    if kind == "press":
        for key in str(value):
            call.press(key)
    elif kind == "say":
        spoken = value if isinstance(value, dict) else {"text": value}
        call.say(str(spoken["text"]), float(spoken.get("confidence", 0.9)))
    elif kind == "silence":
        for _ in range(int(value or 1)):
            call.silence()
    elif kind == "dial":
        call.dial_outcome(str(value))
    elif kind == "hangup":
        call.hangup()
    elif kind == "expect":
        return _expect(call, value)
    elif kind == "expect_transfer":
        hotline = menu.hotlines.get(str(value))
        if hotline is None:
            return f"no hotline named '{value}' in {menu.path}"
        if call.waiting_for != "dial" or call.dialled[-1:] != [hotline.number]:
            now = f"dialling {call.dialled[-1]}" if call.waiting_for == "dial" else f"waiting for a {call.waiting_for}"
            return f"expected a transfer to {value} ({hotline.number}), but the call is {now}"
    elif kind == "expect_node":
        if call.node != value or call.waiting_for != "gather":
            return f"expected to be at node '{value}', but the call is at '{call.node}' ({call.waiting_for})"
    elif kind == "expect_end" and call.waiting_for != "ended":
        return f"expected the call to have ended, but it is waiting for a {call.waiting_for}"
    return None


def _expect(call: Call, value: object) -> str | None:
    heard = call.last_heard
    checks = value if isinstance(value, dict) else {"contains": value}
    for how, wanted in checks.items():
        wanted = str(wanted)
        if how == "contains" and wanted.lower() not in heard.lower():
            return f"expected to hear {wanted!r}; heard {heard!r}"
        if how == "not_contains" and wanted.lower() in heard.lower():
            return f"expected not to hear {wanted!r}; heard {heard!r}"
        if how == "matches" and not re.search(wanted, heard):
            return f"expected to hear something matching /{wanted}/; heard {heard!r}"
        if how == "language":
            languages = {e.language for e in call.events if e.kind == "say"}
            last = [e.language for e in call.events if e.kind == "say"][-1:] or [""]
            if last[0] != wanted:
                return f"expected speech in {wanted}; the last was in {last[0] or 'nothing'} (heard so far: {sorted(languages)})"
        if how not in ("contains", "not_contains", "matches", "language"):
            return f"unknown expectation '{how}'; use contains, matches, not_contains or language"
    return None


def format_failure(result: Result) -> str:
    """The transcript up to the failed step, so a failing call reads like a story."""
    lines = [f"FAIL {result.script.name} ({result.script.path}" + (f":{result.failed_step.line}" if result.failed_step else "") + ")"]
    if result.failed_step:
        lines.append(f"  step: {result.failed_step}")
    lines.append(f"  why: {result.failure}")
    if result.call is not None:
        lines.append("  transcript:")
        lines.extend(f"    {e}" for e in result.call.events[: result.events_at_failure] if e.kind != "request")
    return "\n".join(lines)
