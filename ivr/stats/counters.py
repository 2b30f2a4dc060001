"""Counting in memory, saving in the background: a call never waits for the statistics.

A webhook only appends its events, with the current local hour, to a queue (a deque: one
C call, no lock). A daemon thread empties the queue every few seconds into counts keyed by
(local day, hour, language, event, detail) and adds them to the database, and does so once
more when the process exits (gunicorn's `worker_exit`, or `atexit`). While the database is
down or slow the counts wait in memory: the queue and the number of distinct counts are
both capped, anything beyond is dropped and counted as dropped, the failure is logged once,
`/healthz` says "degraded", and the counts are saved when the database is back.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from ..line.events import DROPPED, Event
from .database import Database, Key

log = logging.getLogger("ivr.stats")
TIMEZONE = ZoneInfo("America/Denver")  # the line's local time, DST included
EVERY = 5.0  # seconds between saves
CAP = 10_000  # distinct counts kept in memory while the database is unreachable
QUEUE = 200_000  # answers queued between two saves (a save that hangs for its 5 s timeouts at 40,000 a second)
SLOT = 900.0  # the local hour is looked up again at every quarter hour (zones shift by 15 min at most)


class Counters:
    """What one process has counted and not yet saved (implements `ivr.line.events.Counter`)."""

    def __init__(self, database: Database, *, every: float = EVERY, cap: int = CAP, clock: Callable[[], float] = time.time):
        self.database = database
        self.every = every
        self.cap = cap
        self.clock = clock
        self._queue: deque[tuple[tuple[str, int], tuple[Event, ...]]] = deque()
        self._overflow: deque[int] = deque()  # sizes of what the full queue turned away
        self._pending: dict[Key, int] = {}  # summed, waiting for the database: only flush() touches it
        self._saving = threading.Lock()  # one flush at a time (the thread, the dashboard, the exit)
        self.dropped_total = 0  # since this process started, for /healthz
        self._running = False  # this process has a saver thread (a fork clears it: the child starts its own)
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
        if len(self._queue) < QUEUE:
            self._queue.append((self._slot, events))
        else:
            self._overflow.append(sum(abs(event[3]) for event in events))

    def _new_slot(self, now: float) -> None:
        local = datetime.fromtimestamp(now, TIMEZONE)
        self._slot = (local.date().isoformat(), local.hour)
        self._slot_until = (now // SLOT + 1) * SLOT

    # --- saving --------------------------------------------------------------------------------
    def flush(self) -> bool:
        """Save what is waiting. False if the database refused it (the counts stay in memory)."""
        with self._saving:
            dropped = self._sum_queue()
            pending = self._pending
            if dropped:
                if not self.dropped_total:
                    log.error("Statistics: too many counts waiting for the database; dropping (and counting) the rest")
                self.dropped_total += dropped
                key = (*self._slot, "", DROPPED, "")
                pending[key] = pending.get(key, 0) + dropped  # always kept: the one count of what was lost
            if not pending:
                self._last_saved = self.clock()  # nothing to save is a save that worked
                return True
            try:
                self.database.add(pending)
            except Exception as err:  # noqa: BLE001 - any database failure: keep counting, report it
                if self._healthy:
                    self._healthy = False
                    log.error("Statistics database unavailable (%s); counts wait in memory. Calls are not affected.", describe(err))
                return False
            pending.clear()
            self._last_saved = self.clock()
            if not self._healthy:
                self._healthy = True
                log.warning("Statistics database reachable again; the waiting counts are saved.")
            return True

    def _sum_queue(self) -> int:
        """Move the queue into the summed counts (up to `cap` of them); returns how much was dropped."""
        queue, pending, dropped = self._queue, self._pending, 0
        for _ in range(len(queue)):  # what is there now; requests may append meanwhile
            (day, hour), events = queue.popleft()
            for lang, name, detail, n in events:
                key = (day, hour, lang, name, detail)
                if key in pending:
                    pending[key] += n
                elif len(pending) < self.cap:
                    pending[key] = n
                else:
                    dropped += abs(n)
        while self._overflow:
            dropped += self._overflow.popleft()
        return dropped

    def _start(self) -> None:
        """The first count in this process (a gunicorn worker, after the fork): start saving."""
        self._running = True
        os.register_at_fork(after_in_child=_after_fork(weakref.ref(self)))  # cheaper than asking getpid() per count
        self._saving = threading.Lock()  # a fork may have copied a held one
        self._queue.clear()  # counts copied from a parent process are the parent's
        self._overflow.clear()
        self._pending = {}
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
        if self._closed or not self._running:  # nothing counted in this process: nothing to save
            return
        self._closed = True
        self._stop.set()
        for wait in (0.0, 0.2, 1.0):  # a busy database may refuse once (a lock timeout, say)
            time.sleep(wait)
            if self.flush():
                return
        lost = sum(abs(n) for n in self._pending.values())
        log.error("Statistics: %d counts could not be saved before this process ended.", lost)

    def status(self) -> dict[str, object]:
        """For /healthz: whether counts reach the database (nothing about any call)."""
        waiting = len(self._pending) + len(self._queue)
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
