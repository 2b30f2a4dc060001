"""The figures staff and funders read: sums of the counters, shaped for people.

`build` turns the database's totals into one report (a dict, the JSON `ivr stats` prints);
`public` hides counts of 1 and 2 as "<3", as the National Human Trafficking Hotline does,
for reports that leave the organisation; `as_csv` and `as_table` print it.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from ..line import events as ev
from ..menu import Menu
from ..menu.model import PERSON_SITUATIONS, SITUATIONS
from .database import Totals

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
SMALL = "<3"
OUTCOME_WORDS = {"completed": "answered", "busy": "busy", "no-answer": "no answer", "failed": "failed", "canceled": "canceled"}
INPUT_WORDS = {"keys": "pressed keys", "speech": "spoke"}
# What callers described by voice (events.SITUATION), in plain words: never what they said.
SITUATION_WORDS = {
    "danger": "danger, fear or violence",
    "control": "not free to leave, watched, documents taken",
    "forced": "forced work or sex, a debt to pay off",
    "immigration": "threats of deportation",
    "needs": "wanting out, nowhere to go",
    "report": "worried about someone else, a tip",
    "police": "asked for the police or 911",
    "cant_talk": "could not talk",
    "privacy": "asked about privacy",
}
ESCALATION_WORDS = {"silence": "silence", "wrong_keys": "wrong keys", "not_understood": "words not understood"}
TITLE_LENGTH = 70  # a first sentence longer than this is no name for a section
SENTENCE = re.compile(r"\s*(.+?[.?!])(?=\s|$)")
NAMES_A_KEY = re.compile(r"\b(press|oprima|marque|pulse)\b", re.IGNORECASE)  # "...or press 0." names no section


@dataclass(frozen=True)
class Names:
    """The menu's languages, hotlines and nodes: listed in every report, heard or not; and what
    staff call them, in one of the menu's languages (an id the menu does not name stays an id)."""

    languages: tuple[str, ...] = ()
    hotlines: tuple[str, ...] = ()
    sections: tuple[str, ...] = ()
    language_names: Mapping[str, str] = field(default_factory=dict)
    hotline_names: Mapping[str, str] = field(default_factory=dict)
    section_names: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, menu: Menu, lang: str | None = None) -> Names:
        default = menu.default_language
        lang = lang if lang in menu.languages else default
        return cls(
            tuple(menu.languages),
            tuple(menu.hotlines),
            tuple(menu.nodes),
            {code: language.name for code, language in menu.languages.items()},
            {h.id: h.name.get(lang) or h.name.get(default) or h.id for h in menu.hotlines.values()},
            {node_id: section_title(node.title, node.prompt, lang, default) or node_id for node_id, node in menu.nodes.items()},
        )

    def language(self, code: str) -> str:
        return self.language_names.get(code, code)

    def hotline(self, hotline: str) -> str:
        return self.hotline_names.get(hotline, hotline)

    def section(self, node: str) -> str:
        return self.section_names.get(node, node)


def section_title(title: Mapping[str, str], prompt: Mapping[str, str], lang: str, default: str) -> str | None:
    """A node's name for staff: its title, else the first short sentence it says that is not a
    key to press ("What is human trafficking?", "This is the Denver human trafficking line."),
    in `lang` or else the menu's default language."""
    for text in (title.get(lang), title.get(default)):
        if text:
            return text.strip()
    for text in (prompt.get(lang), prompt.get(default)):
        for found in SENTENCE.finditer(text or ""):
            sentence = found.group(1)
            if not NAMES_A_KEY.search(sentence):
                if len(sentence) <= TITLE_LENGTH:
                    return sentence
                break
    return None


def build(totals: Totals, start: date | None, end: date | None, names: Names = Names()) -> dict:
    """The report between two dates (both included), in the shape `ivr stats --format json` prints."""
    by_key = totals.by_key

    def per(event: str, details: tuple[str, ...] = (), lang: str | None = None) -> dict[str, int]:
        found: dict[str, int] = dict.fromkeys(details, 0)
        for (key_lang, name, detail), n in by_key.items():
            if name == event and (lang is None or key_lang == lang):
                found[detail] = found.get(detail, 0) + n
        return found

    languages: dict[str, int] = dict.fromkeys(names.languages, 0)
    for (lang, name, _), n in by_key.items():
        if name == ev.LANGUAGE and lang:
            languages[lang] = languages.get(lang, 0) + n
    attempts, failovers = per(ev.TRANSFER), per(ev.FAILOVER)
    outcomes = {o: per(ev.OUTCOME + o) for o in ev.OUTCOMES}
    hotlines = tuple(dict.fromkeys(names.hotlines + tuple(attempts)))
    transfers = {h: {o: outcomes[o].get(h, 0) for o in ev.OUTCOMES} for h in hotlines}
    by_day: dict[str, int] = {}
    week = [[0] * 24 for _ in DAYS]
    for (day, hour), n in sorted(totals.calls_by_hour.items()):
        by_day[day.isoformat()] = by_day.get(day.isoformat(), 0) + n
        week[day.weekday()][hour] += n
    return {
        "calls": sum(per(ev.CALL).values()),
        "by_language": {lang: max(n, 0) for lang, n in languages.items()},
        "transfers": transfers,
        "sections": per(ev.SECTION, names.sections),
        "from": start.isoformat() if start else None,
        "to": end.isoformat() if end else None,
        "timezone": "America/Denver",
        "transfer_attempts": {h: attempts.get(h, 0) for h in hotlines},
        "failover_used": {h: failovers.get(h, 0) for h in hotlines},
        "both_hotlines_failed": sum(per(ev.BOTH_FAILED).values()),
        "escalations": per(ev.ESCALATION, ev.ESCALATIONS),
        "situations": (situations := per(ev.SITUATION, SITUATIONS)),
        # a person at once, because of what the caller said (before 2026-12: the safety phrases)
        "safety_phrases": sum(per(ev.SAFETY).values()) + sum(situations[name] for name in PERSON_SITUATIONS),
        "input": per(ev.INPUT, ev.INPUTS),
        "call_length": per(ev.CALL_LENGTH, tuple(name for _, name in ev.LENGTHS)),
        "calls_by_day": by_day,
        "calls_by_hour_of_week": dict(zip(DAYS, week, strict=True)),
        "dropped": sum(per(ev.DROPPED).values()),
    }


def public(report: dict) -> dict:
    """The report with every count of 1 or 2 shown as "<3" (0 stays 0: nothing to hide)."""

    def hide(value: object) -> object:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, dict):
                return {k: hide(v) for k, v in value.items()}
            if isinstance(value, list):
                return [hide(v) for v in value]
            return value
        return SMALL if 0 < value < 3 else value

    return {**hide(report), "public": True}


def rows(report: dict) -> list[tuple[str, str, str, object]]:
    """The report as (measure, name, detail, count) rows: what the CSV and the table show."""
    out: list[tuple[str, str, str, object]] = [("calls", "", "", report["calls"])]
    out += [("by_language", lang, "", n) for lang, n in report["by_language"].items()]
    for hotline, outcomes in report["transfers"].items():
        out.append(("transfer_attempts", hotline, "", report["transfer_attempts"][hotline]))
        out += [("transfers", hotline, outcome, n) for outcome, n in outcomes.items()]
        out.append(("failover_used", hotline, "", report["failover_used"][hotline]))
    out.append(("both_hotlines_failed", "", "", report["both_hotlines_failed"]))
    out += [("escalations", why, "", n) for why, n in report["escalations"].items()]
    out.append(("safety_phrases", "", "", report["safety_phrases"]))
    out += [("situations", name, "", n) for name, n in report["situations"].items()]
    out += [("input", kind, "", n) for kind, n in report["input"].items()]
    out += [("sections", node, "", n) for node, n in report["sections"].items()]
    out += [("call_length", bucket, "", n) for bucket, n in report["call_length"].items()]
    out += [("calls_by_day", day, "", n) for day, n in report["calls_by_day"].items()]
    return out


def as_csv(report: dict) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["measure", "name", "detail", "count"])
    writer.writerow(["period", report["from"] or "", report["to"] or "", ""])
    writer.writerows(rows(report))
    return buffer.getvalue()


def as_table(report: dict, names: Names = Names()) -> str:
    """For staff at a terminal: the figures in plain words, grouped."""
    period = f"{report['from'] or 'the first count'} to {report['to'] or 'today'} ({report['timezone']} time)"
    lines = [f"Calls to the line, {period}" + ("; public: counts under 3 shown as <3" if report.get("public") else ""), ""]

    def row(label: str, value: object, indent: int = 0) -> None:
        lines.append(f"{' ' * indent}{label:<{66 - indent}}{value!s:>8}")

    row("Calls answered", report["calls"])
    for lang, n in report["by_language"].items():
        row(f"in {names.language(lang)}", n, 2)
    for hotline, outcomes in report["transfers"].items():
        lines += ["", f"Transfers to {names.hotline(hotline)}"]
        row("tried", report["transfer_attempts"][hotline], 2)
        for outcome, n in outcomes.items():
            row(OUTCOME_WORDS.get(outcome, outcome), n, 4)
        row("tried after the other hotline did not connect", report["failover_used"][hotline], 2)
    lines.append("")
    row("Both hotlines failed", report["both_hotlines_failed"])
    for why, n in report["escalations"].items():
        row(f"Put through after {ESCALATION_WORDS.get(why, why)}", n)
    row("Put through at once for what they described by voice", report["safety_phrases"])
    for kind, n in report["input"].items():
        row(f"Turns where the caller {INPUT_WORDS.get(kind, kind)}", n)
    for title, key, name in (
        ("What callers described by voice", "situations", lambda s: SITUATION_WORDS.get(s, s)),
        ("Sections heard", "sections", names.section),
        ("Call length", "call_length", str),
        ("Calls per day", "calls_by_day", str),
    ):
        lines += ["", title]
        for item, n in report[key].items():
            row(name(item), n, 2)
    if report["dropped"]:
        lines.append(f"\nNote: {report['dropped']} counts were lost while neither the database nor the disk could take them.")
    return "\n".join(lines)
