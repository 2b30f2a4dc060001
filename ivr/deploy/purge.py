"""`ivr twilio purge`: delete Twilio's records of the line's calls, as Twilio really behaves.

- The calls to and from the number are listed with `EndTime<`; Twilio documents that filter by
  date, so each call's own end time is checked again here before anything is deleted.
- A transfer (`<Dial>`) is a child call of the caller's call (`parent_call_sid`). It may carry
  the caller's number as its caller ID and a hotline's as its `To`, so it is listed through its
  parent, never by our number alone.
- Recordings go with their call, and transcriptions with their recording. A call is deleted
  only once nothing of it remains, so a record that could not be deleted is found again by the
  next run through its call.
- Twilio answers 429 when asked too fast: `rest.request` waits and tries again. A call that is
  not finalised yet (error 20009, up to 14 days) is skipped and counted; a record already gone
  (404: Twilio lists deleted records for a while) is not an error. Everything else is counted
  as failed, and the run goes on.

Nothing here is printed or kept but counts.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from twilio.rest import Client

from .rest import Refused, SetupError, request
from .twilio_number import find_number

NOT_FINALISED = 20009  # Twilio: "Cannot delete this resource before it is complete"
AGE = re.compile(r"^(\d+)([dhm])$")
UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def parse_age(text: str) -> timedelta:
    match = AGE.match(text.strip())
    if not match:
        raise SetupError(f"{text!r} is not an age; write it like 7d, 12h or 30m.")
    return timedelta(**{UNITS[match.group(2)]: int(match.group(1))})


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Tally:
    """What a purge did (or, in a dry run, would do), by kind: call, transfer leg, recording, transcription."""

    deleted: Counter[str] = field(default_factory=Counter)
    gone: int = 0  # already deleted: Twilio lists deleted records for up to 14 days
    skipped: int = 0  # not finalised yet, or still holding a record that could not be deleted
    failures: Counter[str] = field(default_factory=Counter)  # Twilio's answer -> how many times

    @property
    def failed(self) -> int:
        return sum(self.failures.values())


class Purge:
    """One run: deletes (with `apply`; otherwise only counts) and keeps the tally."""

    def __init__(self, client: Client, *, apply: bool):
        self.client, self.apply, self.tally = client, apply, Tally()

    def run(self, number: str, cutoff: datetime) -> Tally:
        """Every call to or from `number` that ended before `cutoff`, with its transfer legs."""
        find_number(self.client, number)
        listed = request(lambda: self.client.calls.list(to=number, end_time_before=cutoff))
        listed += request(lambda: self.client.calls.list(from_=number, end_time_before=cutoff))
        calls = {c.sid: c for c in listed if c.end_time is not None and c.end_time < cutoff}
        for call in calls.values():
            if call.parent_call_sid not in calls:  # a leg of a listed call goes with its parent
                self.call(call, "call")
        return self.tally

    def call(self, call, kind: str) -> bool:  # noqa: ANN001 - a twilio CallInstance
        """Delete a call's legs, recordings and then the call. True when the call is gone."""
        done = []  # lists, not generators: every part is tried even after one fails
        if kind == "call":
            legs = self.listing(lambda: self.client.calls.list(parent_call_sid=call.sid))
            done.append(legs is not None and all([self.call(leg, "transfer leg") for leg in legs]))
        recordings = self.listing(lambda: self.client.recordings.list(call_sid=call.sid))
        done.append(recordings is not None and all([self.recording(r) for r in recordings]))
        if not all(done):
            self.tally.skipped += 1  # kept, so that the next run finds what is left through it
            return False
        return self.delete(kind, self.client.calls(call.sid))

    def recording(self, recording) -> bool:  # noqa: ANN001 - a twilio RecordingInstance
        context = self.client.recordings(recording.sid)
        transcriptions = self.listing(lambda: context.transcriptions.list())
        if transcriptions is None or not all([self.delete("transcription", context.transcriptions(t.sid)) for t in transcriptions]):
            return False
        return self.delete("recording", context)

    def listing(self, action: Callable[[], list]) -> list | None:
        """A list of what a record holds; None (counted as a failure) when Twilio would not give it."""
        try:
            return request(action)
        except Refused as err:
            if err.status == 404:
                return []
            self.tally.failures[str(err)] += 1
            return None

    def delete(self, kind: str, context) -> bool:  # noqa: ANN001 - a twilio resource context
        if self.apply:
            try:
                request(context.delete)
            except Refused as err:
                if err.status == 404:
                    self.tally.gone += 1
                    return True
                if err.code == NOT_FINALISED:
                    self.tally.skipped += 1
                else:
                    self.tally.failures[str(err)] += 1
                return False
        self.tally.deleted[kind] += 1
        return True


def purge(client: Client, number: str, older_than: timedelta, *, apply: bool) -> Tally:
    """Delete (with `apply`; otherwise only count) the records of calls to and from `number` that
    ended longer than `older_than` ago: their transfer legs, recordings and transcriptions too."""
    return Purge(client, apply=apply).run(number, utcnow() - older_than)
