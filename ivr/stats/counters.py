"""Counting in memory, saving in the background: a call never waits for the statistics.

Each process that answers calls keeps its counts in a dict keyed by (local day, hour,
language, event, detail), and a daemon thread adds them to the database every few
seconds, and once more when the process exits (gunicorn's `worker_exit`, or `atexit`).
While the database is down or slow the counts wait in memory; the number of distinct keys
waiting is capped, and anything beyond the cap is dropped and counted as dropped. The
failure is logged once, `/healthz` says "degraded", and the counts are saved when the
database is back.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from ..line.events import DROPPED, Event
from .database import Database, Key

log = logging.getLogger("ivr.stats")
TIMEZONE = ZoneInfo("America/Denver")  # the line's local time, DST included
EVERY = 5.0  # seconds between saves
CAP = 10_000  # distinct counts kept in memory while the database is unreachable
SLOT = 900.0  # the local hour is looked up again at every quarter hour (zones shift by 15 min at most)


class Counters:
    """What one process has counted and not yet saved (implements `ivr.line.events.Counter`)."""

    def __init__(self, database: Database, *, every: float = EVERY, cap: int = CAP, clock: Callable[[], float] = time.time):
        self.database = database
        self.every = every
        self.cap = cap
        self.clock = clock
        # (slot, event) -> how many times: the events are the renderer's own cached tuples, so a
        # count builds nothing but this pair; flush() turns them into database keys.
        self._pending: dict[tuple[tuple[str, int], Event], int] = {}
        self._dropped = 0  # counts dropped and not yet saved as such
        self.dropped_total = 0  # since this process started, for /healthz
        self._lock = threading.Lock()
        self._pid = 0  # the process whose saver thread runs
        self._running = False  # in this process (a fork clears it: the child starts its own thread)
        self._stop = threading.Event()
        self._slot_until = 0.0
        self._slot: tuple[str, int] = ("", 0)
        self._healthy = True
        self._last_saved = clock()
        self._closed = False

    # --- from requests: cheap, never blocks on the database --------------------------------
    def add(self, events: tuple[Event, ...]) -> None:
        if not self._running:
            self._start()
        now = self.clock()
        if now >= self._slot_until:
            self._new_slot(now)
        slot = self._slot
        with self._lock:
            pending = self._pending
            for event in events:
                key = (slot, event)
                if key in pending:
                    pending[key] += 1
                elif len(pending) < self.cap:
                    pending[key] = 1
                else:
                    self._drop(abs(event[3]))

    def _drop(self, n: int) -> None:
        if not self.dropped_total:
            log.error("Statistics: too many counts waiting for the database; dropping (and counting) the rest")
        self._dropped += n
        self.dropped_total += n

    def _new_slot(self, now: float) -> None:
        local = datetime.fromtimestamp(now, TIMEZONE)
        self._slot = (local.date().isoformat(), local.hour)
        self._slot_until = (now // SLOT + 1) * SLOT

    # --- saving --------------------------------------------------------------------------------
    def flush(self) -> bool:
        """Save what is waiting. False if the database refused it (the counts stay in memory)."""
        with self._lock:
            waiting, self._pending = self._pending, {}
            dropped, self._dropped = self._dropped, 0
        batch: dict[Key, int] = {}
        for ((day, hour), (lang, event, detail, n)), times in waiting.items():
            key = (day, hour, lang, event, detail)
            batch[key] = batch.get(key, 0) + n * times
        if dropped:
            key = (*self._slot, "", DROPPED, "")
            batch[key] = batch.get(key, 0) + dropped
        if not batch:
            return True
        try:
            self.database.add(batch)
        except Exception as err:  # noqa: BLE001 - any database failure: keep counting, report it
            self._keep(batch)
            if self._healthy:
                self._healthy = False
                log.error("Statistics database unavailable (%s); counts wait in memory. Calls are not affected.", describe(err))
            return False
        self._last_saved = self.clock()
        if not self._healthy:
            self._healthy = True
            log.warning("Statistics database reachable again; the waiting counts are saved.")
        return True

    def _keep(self, batch: dict[Key, int]) -> None:
        """Put back what the database refused (as one event of the summed size per key)."""
        with self._lock:
            pending = self._pending
            for (day, hour, lang, event, detail), n in batch.items():
                key = ((day, hour), (lang, event, detail, n))
                if key in pending:
                    pending[key] += 1
                elif len(pending) < self.cap:
                    pending[key] = 1
                else:
                    self._drop(abs(n))

    def _start(self) -> None:
        """The first count in this process (a gunicorn worker, after the fork): start saving."""
        self._pid, self._running = os.getpid(), True
        os.register_at_fork(after_in_child=_after_fork(weakref.ref(self)))  # cheaper than asking getpid() per count
        self._lock = threading.Lock()  # a fork may have copied a held one
        self._pending, self._dropped = {}, 0  # counts copied from a parent process are the parent's
        self._stop = threading.Event()
        counters, stop, every = weakref.ref(self), self._stop, self.every

        def run() -> None:
            while not stop.wait(every):
                live = counters()
                if live is None:
                    return
                live.flush()
                del live

        threading.Thread(target=run, name="stats-save", daemon=True).start()
        atexit.register(_close, weakref.ref(self))

    def close(self) -> None:
        """The process is ending: stop the thread, save what is left (once)."""
        if self._closed or self._pid != os.getpid():
            return
        self._closed = True
        self._stop.set()
        if not self.flush():
            with self._lock:
                lost = sum(abs(n) for n in self._pending.values())
            log.error("Statistics: %d counts could not be saved before this process ended.", lost)

    def status(self) -> dict[str, object]:
        """For /healthz: whether counts reach the database (nothing about any call)."""
        with self._lock:
            waiting = len(self._pending)
        late = waiting > 0 and self.clock() - self._last_saved > 6 * self.every  # a save is stuck
        return {
            "status": "ok" if self._healthy and not late else "degraded",
            "database": self.database.kind,
            "waiting": waiting,
            "dropped": self.dropped_total,
        }


def _after_fork(ref: weakref.ref[Counters]) -> Callable[[], None]:
    def forked() -> None:
        counters = ref()
        if counters is not None:
            counters._running = False

    return forked


def _close(ref: weakref.ref[Counters]) -> None:
    counters = ref()
    if counters is not None:
        counters.close()


def describe(err: Exception) -> str:
    """An error for the log: its kind and first line, never the statement's parameters."""
    first = str(getattr(err, "orig", None) or err).strip().splitlines()[:1]
    return f"{type(err).__name__}: {first[0][:200]}" if first else type(err).__name__
