"""The utterance suite: many short calls, each saying one thing, each with where it must lead.

    utterances:
      - {say: "I need help", expect: person, safety: true}
      - {say: "colorado", expect: coneht}
      - {say: "quienes son las victimas", lang: es, expect: victims}
      - {say: "press two", at: "3", expect: victims}     # at: keys pressed first
      - {say: "what's the weather", expect: reprompt}

`expect` is a hotline id (put through to it), `person` (put through to key 0's hotline), a
node id (taken there), a language code (switched to it) or `reprompt` (asked again, nothing
done). Each runs as a whole call through the line's webhooks, like every simulator.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import yaml

from ..menu import Menu
from .caller import Call
from .scripts import ScriptError
from .transports import Transport

REPROMPT = "reprompt"
PERSON = "person"


@dataclass(frozen=True)
class Utterance:
    say: str
    expect: str
    lang: str = "en"
    at: str = ""  # keys pressed before speaking
    confidence: float = 0.85
    safety: bool = False


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
        for group in sorted(self.total):
            rows.append(f"{group:<14}{self.passed[group]:>8}{self.total[group]:>6}{self.accuracy(group):>9.1f}%")
        rows.append(f"off-topic things acted on: {len(self.misrouted_noise)}")
        return "\n".join(rows)

    @property
    def met(self) -> bool:
        return self.accuracy("all") >= 95.0 and self.accuracy("safety") == 100.0 and not self.misrouted_noise


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
        suite.append(Utterance(**{k: item[k] for k in ("say", "expect", "lang", "at", "confidence", "safety") if k in item}))
    return suite


def run_suite(suite: list[Utterance], transport: Transport, menu: Menu, token: str | None) -> SuiteResult:
    result = SuiteResult()
    person = menu.nodes[menu.start].keys["0"].action.target
    numbers = {h.number: h.id for h in menu.hotlines.values()}
    for utterance in suite:
        call = Call(transport, auth_token=token).start(f"voice?lang={utterance.lang}")
        for key in utterance.at:
            call.press(key)
        node, lang, since = call.node, utterance.lang, len(call.events)
        call.say(utterance.say, utterance.confidence)
        # the language of the first thing the line says back (later it may offer the others)
        spoken_in = next((e.language[:2] for e in call.events[since:] if e.kind == "say"), lang)
        if call.dialled:
            got = numbers.get(call.dialled[-1], call.dialled[-1])
            ok = got == utterance.expect or (utterance.expect == PERSON and got == person)
        elif spoken_in != lang and call.node == node:
            got = spoken_in
            ok = got == utterance.expect
        elif call.node != node:
            got = call.node
            ok = got == utterance.expect
        else:
            got = REPROMPT
            ok = utterance.expect == REPROMPT
        if utterance.expect == REPROMPT and got != REPROMPT:
            result.misrouted_noise.append(f"{utterance.say!r} -> {got}")
        for group in ("all", utterance.lang) + (("safety",) if utterance.safety else ()):
            result.add(group, ok)
        if not ok:
            result.failures.append(
                f"[{utterance.lang}{' at ' + utterance.at if utterance.at else ''}] {utterance.say!r}: expected {utterance.expect}, got {got}"
            )
    return result
