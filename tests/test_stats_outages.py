"""The statistics database in trouble, under gunicorn with several workers, as in production:
hung (every PostgreSQL process stopped with SIGSTOP, as a stalled disk or network leaves it),
or down. Calls, /healthz and /stats are answered in normal time throughout; no count is lost
when the server is stopped meanwhile, and they all arrive once the database is back."""

from __future__ import annotations

import json
import random
import threading
import time

import pytest
import requests
from click.testing import CliRunner

from ivr.cli import main
from ivr.sim.caller import Call
from ivr.sim.load import random_call
from ivr.sim.transports import HttpTransport

from .conftest import MAIN_MENU, TOKEN
from .test_gunicorn import free_port, start_gunicorn, stop

PASSWORD = "statistics for staff only"
NORMAL = 2.0  # seconds: far above any answer seen here (milliseconds), far below the 10-15 s of a stall


def counted(url: str) -> dict:
    result = CliRunner().invoke(main, ["stats", "--format", "json"], env={"IVR_STATS_URL": url, "IVR_MENU": str(MAIN_MENU)})
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def wait_until_counted(url: str, calls: int, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        figures = counted(url)
        if figures["calls"] >= calls or time.monotonic() > deadline:
            return figures
        time.sleep(0.5)


class Callers:
    """Whole random calls, a few at a time, until told to stop; every request's time is kept."""

    def __init__(self, base: str, concurrency: int = 3):
        self.base, self.made, self.latencies, self.errors = base, 0, [], []
        self._lock, self._stop = threading.Lock(), threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(i,)) for i in range(concurrency)]

    def _run(self, seed: int) -> None:
        rng = random.Random(seed)
        while not self._stop.is_set():
            call = Call(HttpTransport(self.base, timeout=15), auth_token=TOKEN)
            try:
                random_call(call, rng, think=0.02)
            except Exception as err:  # noqa: BLE001 - kept and reported by the test
                self.errors.append(repr(err))
            with self._lock:
                self.made += call.requests > 0
                self.latencies += call.latencies

    def __enter__(self) -> Callers:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)


def fetch(url: str, **kwargs) -> tuple[int, float, str]:
    started = time.monotonic()
    response = requests.get(url, timeout=15, **kwargs)
    return response.status_code, time.monotonic() - started, response.text


def test_a_hung_database_never_holds_up_calls_health_or_the_statistics_page(postgres_server, menu_dir):
    url = postgres_server.new_database()
    port = free_port()
    process = start_gunicorn(menu_dir, port, menu_dir / "access.log", IVR_STATS_URL=url, WEB_CONCURRENCY="4", IVR_STATS_PASSWORD=PASSWORD)
    base = f"http://127.0.0.1:{port}"
    pages: list[tuple[int, float, str]] = []
    health: list[tuple[int, float, str]] = []
    try:
        with Callers(base) as callers:  # a few calls before: every worker has open database connections
            time.sleep(3)
        assert wait_until_counted(url, callers.made)["calls"] == callers.made
        before = callers.made
        stopped = postgres_server.pause()
        try:
            with Callers(base) as callers:
                deadline = time.monotonic() + 16  # several save rounds of every worker, each cut off
                for burst in (0.5, 8.0):  # staff open /stats, more often than there are workers
                    time.sleep(max(0.0, deadline - 16 + burst - time.monotonic()))
                    openers = [
                        threading.Thread(target=lambda: pages.append(fetch(base + "/stats", auth=("staff", PASSWORD)))) for _ in range(6)
                    ]
                    for opener in openers:
                        opener.start()
                    for opener in openers:
                        opener.join(20)
                while time.monotonic() < deadline:
                    health.append(fetch(base + "/healthz"))
                    time.sleep(0.25)
        finally:
            postgres_server.resume(stopped)
        assert not callers.errors, callers.errors[:3]
        assert callers.made > 20 and max(callers.latencies) < NORMAL, max(callers.latencies)  # no call waited on the database
        assert all(status == 200 and took < NORMAL for status, took, _ in health), health
        assert any('"status":"degraded"' in text.replace(" ", "") for _, _, text in health)  # and it says the counts wait
        assert len(pages) == 12 and all(status == 503 for status, _, _ in pages), [p[:2] for p in pages]  # the page, no hang
        assert all("cannot be reached" in text or "being read for another page" in text for _, _, text in pages)
        figures = wait_until_counted(url, before + callers.made)  # once it runs again, every call is there, once
        assert figures["calls"] == before + callers.made and sum(figures["call_length"].values()) == before + callers.made
    finally:
        output = stop(process)
    assert "WORKER TIMEOUT" not in output and "SIGKILL" not in output and "Traceback" not in output, output[-3000:]


@pytest.mark.parametrize("trouble", ["down", "hung"])
def test_stopping_the_server_while_the_database_is_down_or_hung_loses_no_count(postgres_server, menu_dir, trouble):
    """The counts go to the state folder as the workers exit, well within gunicorn's graceful
    timeout; the next start, with the database back, saves every one of them."""
    url = postgres_server.new_database()
    port = free_port()
    process = start_gunicorn(menu_dir, port, menu_dir / "access.log", IVR_STATS_URL=url, WEB_CONCURRENCY="3")
    base = f"http://127.0.0.1:{port}"
    stopped: list[int] = []
    try:
        with Callers(base) as before:
            time.sleep(2)
        if trouble == "down":
            postgres_server.stop()
        else:
            stopped = postgres_server.pause()
        with Callers(base) as during:
            time.sleep(4)
        started = time.monotonic()
        output = stop(process)  # SIGTERM, as systemd or a deploy stops it
        took = time.monotonic() - started
    finally:
        if process.poll() is None:
            stop(process)
        if trouble == "down":
            postgres_server.start()
        else:
            postgres_server.resume(stopped)
    assert not before.errors and not during.errors, (before.errors + during.errors)[:3]
    assert took < 10, took  # gunicorn's graceful timeout: no worker had to be killed
    assert "SIGKILL" not in output and "could not be saved" not in output and "Traceback" not in output, output[-3000:]
    waiting = list((menu_dir / "state" / "stats-waiting").glob("*.jsonl"))
    assert waiting, "nothing was kept on disk"
    for spooled in waiting:  # only counts, in the same words as the database: nothing about a call
        for line in spooled.read_text().splitlines():
            batch = json.loads(line)
            assert set(batch) == {"batch", "counts"} and all(len(row) == 6 for row in batch["counts"])
    assert "batches of counts wait on disk" in output

    restarted = start_gunicorn(menu_dir, port, menu_dir / "access.log", IVR_STATS_URL=url, WEB_CONCURRENCY="3")
    try:
        figures = wait_until_counted(url, before.made + during.made)
    finally:
        stop(restarted)
    total = before.made + during.made
    assert figures["calls"] == total and sum(figures["by_language"].values()) == total and sum(figures["call_length"].values()) == total
    assert not list((menu_dir / "state" / "stats-waiting").glob("*.jsonl"))  # saved, and gone from the disk
