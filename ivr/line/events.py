"""What happens on a call, as the line reports it for anonymous statistics.

The line only names events; counting and storing them is `ivr/stats`, above it. An event
is `(language, name, detail, n)`: `detail` is always one of the menu's own ids (a node, a
hotline) or one of the fixed words below, never anything a caller sent, and there is no
call id in it. `n` is +1, or -1 when a call's language moves to another one.
"""

from __future__ import annotations

from typing import Protocol

Event = tuple[str, str, str, int]

CALL = "call"  # a call answered (POST /voice); language "": the total
LANGUAGE = "language"  # a call's language: +1 where it starts; a switch moves it (-1 old, +1 new)
SECTION = "section"  # a node read to the caller (detail: node id)
TRANSFER = "transfer"  # a transfer attempted (detail: hotline id)
OUTCOME = "outcome:"  # + an outcome below: how a transfer ended (detail: hotline id)
FAILOVER = "failover"  # a hotline tried because another one failed (detail: that hotline's id)
BOTH_FAILED = "both_failed"  # every hotline failed: the numbers were read out instead
ESCALATION = "escalation"  # put through to a person after silence or wrong keys (detail below)
SITUATION = "situation"  # a caller described a situation by voice (detail: its name, e.g. danger, police, privacy)
SAFETY = "safety"  # (before 2026-12: a safety phrase put the caller through; counts kept, no longer made)
INPUT = "input"  # one turn of the caller's (detail: keys | speech)
CALL_LENGTH = "call_length"  # from Twilio's call status callback (detail: a bucket below)
DROPPED = "dropped"  # counts lost because the database could not take them in time

OUTCOMES = ("completed", "busy", "no-answer", "failed", "canceled")
ESCALATIONS = ("silence", "wrong_keys", "not_understood")
INPUTS = ("keys", "speech")
LENGTHS = ((60, "under 1 min"), (180, "1-3 min"), (600, "3-10 min"), (None, "10 min or more"))

# A WSGI environ key (not an HTTP header, so nobody outside can set it): the browser phone's
# test calls, and the signed probe of `ivr twilio check` (security.PROBE_FIELD), are answered
# like any other, but not counted.
TEST_CALL = "ivr.test_call"


def outcome(dial_call_status: str) -> str:
    """Twilio's DialCallStatus as the line acted on it: anything unexpected was a failure."""
    if dial_call_status == "answered":
        return "completed"
    return dial_call_status if dial_call_status in OUTCOMES else "failed"


def length_bucket(seconds: int) -> str:
    """A call's length, coarsely: exact lengths could tell one call from another."""
    return next(name for limit, name in LENGTHS if limit is None or seconds < limit)


class Counter(Protocol):
    """What the line counts into (see ivr/stats/counters.py); absent, nothing is counted."""

    def add(self, events: tuple[Event, ...]) -> None: ...

    def status(self) -> dict[str, object]: ...
