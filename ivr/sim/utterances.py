"""Utterance suites: many short calls, each saying one thing, each with where it must lead.

    utterances:
      - {say: "my boss has my passport", expect: person, category: control}
      - {say: "colorado", expect: coneht, category: menu}
      - {say: "quienes son las victimas", lang: es, at: learn, expect: victims, category: menu}
      - {say: "I can't talk now", at: victims, expect: quiet, category: cant_talk}
      - {say: "what's the weather", expect: reprompt, category: noise}

`at` is the node the caller is at when they speak (reached by pressing its keys from the
start; default the start), or the keys themselves ("34"). `expect` is a hotline id (put
through to it), `person` (put through to key 0's hotline), a node id (taken there), a
language code (switched to it), `slower` (the same said again, slowly), `repeat` (the same
again) or `reprompt` (asked again, nothing done). `category` groups the report (the
categories a caller in trouble falls in are in CRITICAL: each of them must reach a person).
Each utterance runs as a whole call through the line's webhooks, like every simulator.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import yaml

from ..menu import Menu
from ..menu import model as m
from .caller import Call
from .scripts import ScriptError
from .transports import Transport

REPROMPT = "reprompt"
PERSON = "person"
SLOWER = "slower"
REPEAT = "repeat"
CRITICAL = m.PERSON_SITUATIONS  # must reach a person, every time
PERSON_GROUP = "person (1-5)"
FIELDS = ("say", "expect", "lang", "at", "confidence", "category")
TARGETS = "95% overall, and every caller in trouble (1-5) to a person"  # what `met` asks of a suite


@dataclass(frozen=True)
class Utterance:
    say: str
    expect: str
    lang: str = "en"
    at: str = ""  # a node id, or keys pressed before speaking
    confidence: float = 0.85
    category: str = ""


@dataclass
class SuiteResult:
    passed: Counter = field(default_factory=Counter)
    total: Counter = field(default_factory=Counter)
    misrouted_noise: list[str] = field(default_factory=list)  # off-topic things that were acted on
    failures: list[str] = field(default_factory=list)

    def add(self, group: str, ok: bool) -> None:
        self.total[group] += 1
        self.passed[group] += ok

    def accuracy(self, group: str) -> float:
        return 100.0 * self.passed[group] / self.total[group] if self.total[group] else 100.0

    def report(self) -> str:
        rows = [f"{'group':<14}{'passed':>8}{'of':>6}{'accuracy':>10}"]
        first = ["all", "en", "es", PERSON_GROUP]
        for group in first + sorted(set(self.total) - set(first)):
            if self.total[group]:
                rows.append(f"{group:<14}{self.passed[group]:>8}{self.total[group]:>6}{self.accuracy(group):>9.1f}%")
        rows.append(f"off-topic things acted on: {len(self.misrouted_noise)}")
        return "\n".join(rows)

    @classmethod
    def pooled(cls, results: list[SuiteResult]) -> SuiteResult:
        """Several suites as one: held-out sentences written at different times are one held-out set."""
        pooled = cls()
        for result in results:
            pooled.passed += result.passed
            pooled.total += result.total
            pooled.misrouted_noise += result.misrouted_noise
            pooled.failures += result.failures
        return pooled

    @property
    def met(self) -> bool:
        return self.accuracy("all") >= 95.0 and self.accuracy(PERSON_GROUP) == 100.0


def is_held_out(path: str) -> bool:
    """A held-out suite (`calls/utterances-held-out*.yaml`): sentences the line is never tuned on."""
    return "held-out" in path.rsplit("/", 1)[-1]


def is_suite(path: str) -> bool:
    """An utterance suite (a mapping with `utterances:`) rather than a scripted call."""
    with open(path, encoding="utf-8") as handle:
        return any(line.startswith("utterances:") for line in handle)


def load_suite(path: str) -> list[Utterance]:
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except yaml.YAMLError as err:
        raise ScriptError(f"{path}: not readable as YAML ({err})") from None
    if not isinstance(data, dict) or not isinstance(data.get("utterances"), list):
        raise ScriptError(f"{path}: an utterance suite is a mapping with a list under 'utterances'.")
    suite = []
    for n, item in enumerate(data["utterances"], 1):
        if not isinstance(item, dict) or not isinstance(item.get("say"), str) or not isinstance(item.get("expect"), str):
            raise ScriptError(f"{path}: utterance {n} needs 'say' and 'expect' as text.")
        unknown = sorted(set(item) - set(FIELDS))
        if unknown:
            raise ScriptError(f"{path}: utterance {n} has unknown fields {', '.join(unknown)}; allowed: {', '.join(FIELDS)}.")
        suite.append(Utterance(**{k: item[k] for k in FIELDS if k in item}))
    return suite


def keys_to(menu: Menu, target: str) -> str:
    """The fewest keys that take a caller from the start to a node (by its options and `next`)."""
    if not target or all(ch in m.PHONE_KEYS for ch in target):
        return target
    queue, seen = deque([(menu.start, "")]), {menu.start}
    while queue:
        node_id, keys = queue.popleft()
        if node_id == target:
            return keys
        node = menu.nodes[node_id]
        for key, option in node.keys.items():
            action = option.action
            nxt = action.target if action.kind == m.GOTO else node.next if action.kind == m.NEXT else None
            if nxt and nxt not in seen:
                seen.add(nxt)
                queue.append((nxt, keys + key))
    raise ScriptError(f"No keys lead from '{menu.start}' to '{target}': 'at' must name a node a caller can reach.")


def _counts(call: Call) -> tuple[str, str]:
    """The silence and wrong-entry counts the line wrote into the Gather it is waiting on."""
    if call.pending is None or call.pending.kind != "gather":
        return ("", "")
    query = parse_qs(urlsplit(call.pending.element.get("action", "")).query)
    return (query.get("s", ["0"])[0], query.get("i", ["0"])[0])


def run_suite(suite: list[Utterance], transport: Transport, menu: Menu, token: str | None) -> SuiteResult:
    result = SuiteResult()
    person = menu.nodes[menu.start].keys["0"].action.target
    numbers = {h.number: h.id for h in menu.hotlines.values()}
    for utterance in suite:
        call = Call(transport, auth_token=token).start(f"voice?lang={utterance.lang}")
        for key in keys_to(menu, utterance.at):
            call.press(key)
        node, lang, since, counts = call.node, utterance.lang, len(call.events), _counts(call)
        call.say(utterance.say, utterance.confidence)
        heard = [e for e in call.events[since:] if e.kind == "say"]
        # the language of the first thing the line says back (later it may offer the others)
        spoken_in = heard[0].language[:2] if heard and heard[0].language else lang
        apology = menu.message("error", menu.language(spoken_in).code)
        if heard and heard[0].text.startswith(apology):
            got = "error"  # the line failed and apologised: never what the caller needed
            ok = False
        elif call.dialled:
            got = numbers.get(call.dialled[-1], call.dialled[-1])
            ok = got == utterance.expect or (utterance.expect == PERSON and got == person)
        else:
            if spoken_in != lang and call.node == node:
                got = spoken_in
            elif call.node != node:
                got = call.node
            elif any(e.slow for e in heard):
                got = SLOWER
            elif _counts(call) == counts:
                # the node again, as on arrival: nothing counted against the caller (asked for
                # the node they are at, that is what they get)
                got = node if utterance.expect == node else REPEAT
            else:
                got = REPROMPT
            ok = got == utterance.expect
        if utterance.expect == REPROMPT and got != REPROMPT:
            result.misrouted_noise.append(f"{utterance.say!r} -> {got}")
        groups = ["all", utterance.lang] + ([utterance.category] if utterance.category else [])
        if utterance.category in CRITICAL:
            groups.append(PERSON_GROUP)
        for group in groups:
            result.add(group, ok)
        if not ok:
            where = f" at {utterance.at}" if utterance.at else ""
            result.failures.append(f"[{utterance.lang}{where}] {utterance.say!r}: expected {utterance.expect}, got {got}")
    return result
