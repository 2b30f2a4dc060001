"""The days staff ask `/stats` for: checked, each with its own message, and kept within the
days the data can hold (the first counted day to today), so that no date can make the page
fail or work for long: `to=9999-12-31` shows up to today and says so beside the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
DEFAULT_DAYS = 30
FIELDS = {"from": "First day", "to": "Last day"}


@dataclass
class Period:
    """What the form asked for and what is shown. `messages` are per field (`from`, `to`):
    errors (the request is refused) or notes (how the period was limited)."""

    typed: dict[str, str]  # what was typed, shown back in the form
    start: date | None = None
    end: date | None = None
    errors: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    first: date | None = None  # the first counted day: the form's min
    today: date | None = None  # the form's max

    @property
    def messages(self) -> dict[str, str]:
        return {**self.notes, **self.errors}


def ask(args: dict[str, str]) -> Period:
    """Read `?from=YYYY-MM-DD&to=YYYY-MM-DD` (both optional) without touching the database."""
    typed = {name: (args.get(name) or "").strip()[:40] for name in FIELDS}
    period = Period(typed)
    for name, value in typed.items():
        if not value:
            continue
        if not DAY.fullmatch(value):
            period.errors[name] = f"“{value}” is not a date: write the day as YYYY-MM-DD, for example 2026-12-01."
            continue
        try:
            day = date.fromisoformat(value)
        except ValueError:
            period.errors[name] = f"{value} is not a day of the calendar."
            continue
        if name == "from":
            period.start = day
        else:
            period.end = day
    if period.start and period.end and period.start > period.end:
        period.errors["to"] = "The last day is before the first day."
    return period


def limit(period: Period, first: date | None, today: date) -> Period:
    """Keep the period between the first counted day (today before any count) and today; by
    default, the last 30 days. Says beside a field when its day was moved."""
    first = min(first or today, today)
    period.first, period.today = first, today
    end = period.end or today
    if end > today:
        period.notes["to"] = f"Counts go up to today, {today.isoformat()}: shown up to today."
        end = today
    elif end < first:
        period.notes["to"] = f"Counting started on {first.isoformat()}: shown from that day."
        end = first
    start = period.start or max(first, end - timedelta(days=min(DEFAULT_DAYS - 1, (end - date.min).days)))
    if start < first:
        period.notes["from"] = f"Counting started on {first.isoformat()}: shown from that day."
        start = first
    elif start > end:
        period.notes["from"] = f"Counts go up to today, {today.isoformat()}: shown up to today."
        start = end
    period.start, period.end = start, end
    return period
