"""`ivr twilio purge` against a fake Twilio that behaves like Twilio where it matters
(tests/fake_twilio.py): transfer legs, pages, date filters, 429, 20009, records already gone."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from ivr.cli import main
from ivr.deploy import purge as purge_module
from ivr.deploy import rest

from .fake_twilio import LINE, SID, FakeTwilio

ENV = {"TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": "twilio-auth-token-0123456789abcdef"}
NOW = datetime(2026, 5, 10, 15, 0, tzinfo=timezone.utc)
OLD = NOW - timedelta(days=8)
CALLER = "+13035550199"  # a caller's number as Twilio's call log holds it: must never be printed
NATIONAL = "+18883737888"


def sid(n: int) -> str:
    return "CA" + str(n) * 32


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    """The purge's clock, fixed; and the waits between tries, recorded instead of slept."""
    monkeypatch.setattr(purge_module, "utcnow", lambda: NOW)
    waits: list[float] = []
    monkeypatch.setattr(rest, "pause", waits.append)
    return waits


def run(fake: FakeTwilio, *args: str):
    result = CliRunner().invoke(main, ["twilio", "purge", "--number", LINE, *args], obj=fake, env=ENV)
    result.said = result.stdout + result.stderr
    return result


def deleted(fake: FakeTwilio) -> list[str]:
    return [path for path, _, _ in fake.made("DELETE")]


CALLS = [
    {"sid": sid(1), "to": LINE, "from": CALLER, "end": OLD, "recorded": True},
    {"sid": sid(2), "to": LINE, "from": CALLER, "end": OLD},
    {"sid": sid(3), "to": NATIONAL, "from": LINE, "end": OLD, "parent": sid(2)},  # a transfer showing the line's number
]


def test_purge_is_a_dry_run_by_default_and_prints_counts_only():
    fake = FakeTwilio(calls=CALLS)
    result = run(fake, "--older-than", "7d")
    assert result.exit_code == 0, result.output
    assert "Dry run: would delete 3 call record(s) (1 of them transfer legs), 1 recording(s) and 0 transcription(s) older than 7d." in (
        result.output
    )
    assert deleted(fake) == []
    lists = [params for path, params, _ in fake.made("GET") if path == "/Calls.json" and "ParentCallSid" not in params]
    assert lists == [{"To": LINE, "EndTime<": "2026-05-03T15:00:00Z"}, {"From": LINE, "EndTime<": "2026-05-03T15:00:00Z"}]
    for needle in (CALLER, CALLER[2:], LINE):
        assert needle not in result.output


def test_purge_really_deletes_legs_recordings_then_calls():
    fake = FakeTwilio(calls=CALLS)
    result = run(fake, "--older-than", "12h", "--really")
    assert result.exit_code == 0, result.output
    assert "Deleted 3 call record(s) (1 of them transfer legs), 1 recording(s) and 0 transcription(s) older than 12h." in result.output
    assert "Skipped 0" in result.output and "Failed 0." in result.output
    assert deleted(fake) == [f"/Recordings/RE{'1' * 32}.json", f"/Calls/{sid(1)}.json", f"/Calls/{sid(3)}.json", f"/Calls/{sid(2)}.json"]
    assert CALLER not in result.output


def test_purge_finds_transfer_legs_that_carry_the_callers_number():
    # show_caller_number: true -> the leg's From is the caller and its To a hotline: neither is the line.
    calls = [
        {"sid": sid(1), "to": LINE, "from": CALLER, "end": OLD},
        {"sid": sid(2), "to": NATIONAL, "from": CALLER, "end": OLD, "parent": sid(1)},
        {"sid": sid(4), "to": "+17205551111", "from": CALLER, "end": OLD},  # another number's call: not ours
    ]
    fake = FakeTwilio(calls=calls)
    result = run(fake, "--really")
    assert result.exit_code == 0, result.output
    assert deleted(fake) == [f"/Calls/{sid(2)}.json", f"/Calls/{sid(1)}.json"]  # the leg first, then its parent
    assert ("/Calls.json", {"ParentCallSid": sid(1)}, {}) in fake.made("GET")


def test_purge_deletes_transcriptions_before_their_recording():
    fake = FakeTwilio(calls=[{"sid": sid(5), "to": LINE, "from": CALLER, "end": OLD, "recorded": True, "transcribed": True}])
    result = run(fake, "--really")
    assert result.exit_code == 0, result.output
    assert deleted(fake) == [
        f"/Recordings/RE{'5' * 32}/Transcriptions/TR{'5' * 32}.json",
        f"/Recordings/RE{'5' * 32}.json",
        f"/Calls/{sid(5)}.json",
    ]
    assert "1 recording(s) and 1 transcription(s)" in result.output


def test_purge_keeps_to_its_cutoff_whatever_twilios_date_filter_returns():
    calls = [
        {"sid": sid(1), "to": LINE, "from": CALLER, "end": NOW - timedelta(hours=3)},  # same day as the cutoff, but after it
        {"sid": sid(2), "to": LINE, "from": CALLER, "end": NOW - timedelta(hours=5)},
        {"sid": sid(3), "to": LINE, "from": CALLER, "end": None},  # still going on
    ]
    fake = FakeTwilio(calls=calls)
    result = run(fake, "--older-than", "4h", "--really")
    assert result.exit_code == 0, result.output
    assert deleted(fake) == [f"/Calls/{sid(2)}.json"]


def test_purge_reads_every_page():
    calls = [{"sid": sid(n), "to": LINE, "from": CALLER, "end": OLD} for n in range(1, 8)]
    fake = FakeTwilio(calls=calls, page_size=3)
    result = run(fake, "--really")
    assert result.exit_code == 0 and "Deleted 7 call record(s)" in result.output, result.output
    pages = [params.get("PageToken") for path, params, _ in fake.made("GET") if path == "/Calls.json" and "To" in params]
    assert pages == [None, "PA1", "PA2"]


def test_purge_backs_off_and_tries_again_when_twilio_says_429(clock):
    fake = FakeTwilio(calls=CALLS, throttle=4)  # every fourth request: lists, pages and deletes alike
    result = run(fake, "--really")
    assert result.exit_code == 0, result.output
    assert "Deleted 3 call record(s)" in result.output and "Failed 0." in result.output
    assert clock and set(clock) == {rest.BACKOFF[0]}  # each refused request waited, then went through
    assert fake.deleted == {sid(1), sid(2), sid(3), "RE" + "1" * 32}


def test_purge_gives_up_with_one_line_when_twilio_never_stops_saying_429(clock):
    result = run(FakeTwilio(calls=CALLS, throttle=1), "--really")
    assert result.exit_code == 1
    assert result.said.strip() == "error: Twilio answered HTTP 429 (error 20429): Too Many Requests"
    assert clock == list(rest.BACKOFF)


def test_purge_skips_calls_twilio_has_not_finalised_and_carries_on():
    calls = [
        {"sid": sid(1), "to": LINE, "from": CALLER, "end": OLD, "finalised": False},  # error 20009, for up to 14 days
        {"sid": sid(2), "to": LINE, "from": CALLER, "end": OLD},
    ]
    fake = FakeTwilio(calls=calls)
    result = run(fake, "--really")
    assert result.exit_code == 0, result.output  # nothing failed: the next run tries again
    assert "Deleted 1 call record(s)" in result.output and "Skipped 1:" in result.output and "Failed 0." in result.output
    assert fake.deleted == {sid(2)}


def test_a_leg_that_cannot_be_deleted_keeps_its_parent_for_the_next_run():
    calls = [
        {"sid": sid(1), "to": LINE, "from": CALLER, "end": OLD, "recorded": True},
        {"sid": sid(2), "to": NATIONAL, "from": CALLER, "end": OLD, "parent": sid(1), "finalised": False},
    ]
    fake = FakeTwilio(calls=calls)
    result = run(fake, "--really")
    assert result.exit_code == 0 and "Skipped 2:" in result.output, result.output
    assert fake.deleted == {"RE" + "1" * 32}  # its recording goes now; the parent stays, so the leg is found through it next time


def test_purge_counts_real_failures_goes_on_and_exits_1():
    calls = [
        {"sid": sid(1), "to": LINE, "from": CALLER, "end": OLD, "broken": True},
        {"sid": sid(2), "to": LINE, "from": CALLER, "end": OLD},
    ]
    fake = FakeTwilio(calls=calls)
    result = run(fake, "--really")
    assert result.exit_code == 1
    assert (
        "Failed 1." in result.output
        and "1 x Twilio answered HTTP 500 (error 20500): Unable to delete record: Internal Server Error" in result.output
    )
    assert fake.deleted == {sid(2)}


def test_the_next_nights_run_finds_deleted_records_still_listed_and_is_not_alarmed():
    fake = FakeTwilio(calls=CALLS)
    assert run(fake, "--really").exit_code == 0
    again = run(fake, "--really")  # Twilio still lists them: each DELETE now answers 404
    assert again.exit_code == 0, again.output
    assert "Deleted 0 call record(s)" in again.output and "4 were already deleted" in again.output


def test_purge_refuses_an_age_it_cannot_read():
    result = run(FakeTwilio(), "--older-than", "a week")
    assert result.exit_code == 1 and "write it like 7d, 12h or 30m" in result.said
