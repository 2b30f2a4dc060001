"""Counting in memory, saving in the background: a call never waits for the statistics.

A webhook only appends its events, with the current local hour, to a queue (a deque: one
C call, no lock). A daemon thread sums the queue every 5 seconds into a numbered batch of
counts keyed by (local day, hour, language, event, detail) and adds it to the database.
Nothing a request does waits for that thread or shares a lock with it; every database call
is bounded in time (connection.py). A batch the database cannot take goes to a small file
in the state folder (spool.py) and is saved, exactly once, when the database is back: by
this process, by another one, or by the next start. A process that exits saves what it
holds, or puts it on disk, within `EXIT_WITHIN` seconds.

So counts are lost only when neither the database nor the disk can take them (beyond
10,000 distinct counts waiting in memory; dropped counts are counted as dropped, and the
log and /healthz say so), or when a process is killed outright (kill -9, out of memory):
then what it counted since its last save, at most the last few seconds of its calls.
"""

from __future__ import annotations

import atexit
import logging
import os
import secrets
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from ..line.events import DROPPED, Event
from .database import Batch, Database, Key
from .spool import Spool

log = logging.getLogger("ivr.stats")
TIMEZONE = ZoneInfo("America/Denver")  # the line's local time, DST included
EVERY = 5.0  # seconds between saves
CAP = 10_000  # distinct counts kept in memory while neither the database nor the disk takes them
QUEUE = 200_000  # answers queued between two saves (a save that hangs for its 5 s timeouts at 40,000 a second)
SLOT = 900.0  # the local hour is looked up again at every quarter hour (zones shift by 15 min at most)
EXIT_WITHIN = 5.0  # seconds an exiting process may spend on its counts (gunicorn's graceful timeout is 10)


class Counters:
    """What one process has counted and not yet saved (implements `ivr.line.events.Counter`).

    One class, not several: the queue, the numbered batches and this process's file must keep
    one order (a batch saved before an older one would make the older one look saved), and
    the saver thread and the exit share one lock to keep it."""

    def __init__(
        self,
        database: Database,
        spool: Spool | None = None,
        *,
        every: float = EVERY,
        cap: int = CAP,
        clock: Callable[[], float] = time.time,
    ):
        self.database = database
        self.spool = spool
        self.every = every
        self.cap = cap
        self.clock = clock
        self.name = ""  # this process's saver name, for saving each batch once (made at its first count)
        self._queue: deque[tuple[tuple[str, int], tuple[Event, ...]]] = deque()
        self._overflow: deque[int] = deque()  # sizes of what the full queue turned away
        self._pending: dict[Key, int] = {}  # summed, not yet in a batch
        self._batches: deque[Batch] = deque()  # numbered, not saved and not on disk, oldest first
        self._number = 0
        self._saving = threading.Lock()  # the saver thread and the process's exit; never a request
        self.dropped_total = 0  # since this process started, for /healthz
        self._running = False  # this process has a saver thread (a fork clears it: the child starts its own)
        self._stop = threading.Event()
        self._slot_until = 0.0
        self._slot: tuple[str, int] = ("", 0)
        self._healthy = True
        self._disk_ok = True
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

    # --- saving (the saver thread, and the exit) ------------------------------------------------
    def save(self) -> bool:
        """Save what is waiting, older batches first, then what stopped or killed processes left
        on disk. False if the database refused: the counts are then on disk (or in memory, if
        the disk refused too)."""
        with self._saving:
            return self._save(orphans=True)

    def _save(self, orphans: bool) -> bool:
        self._seal()
        if not self._healthy:
            self._to_disk()  # while the database fails, new counts reach the disk first, at once
        try:
            if self.spool is not None:
                self.spool.save_own(self.database.add, self.name)  # older than anything in memory
            while self._batches:
                self.database.add(self.name, [self._batches[0]])
                self._batches.popleft()
            if self.spool is not None and orphans:
                self.spool.save_orphans(self.database.add)
        except Exception as err:  # noqa: BLE001 - any database failure: keep counting, report it
            if self._healthy:
                self._healthy = False
                log.error("Statistics database unavailable (%s); counts wait on disk. Calls are not affected.", describe(err))
            self._to_disk()
            return False
        self._last_saved = self.clock()
        if not self._healthy:
            self._healthy = True
            log.warning("Statistics database reachable again; the waiting counts are saved.")
        return True

    def _seal(self) -> None:
        """Sum the queue into a new numbered batch (up to `cap` distinct counts in memory)."""
        queue, pending = self._queue, self._pending
        room = self.cap - sum(len(counts) for _, counts in self._batches)
        dropped = 0
        for _ in range(len(queue)):  # what is there now; requests may append meanwhile
            (day, hour), events = queue.popleft()
            for lang, name, detail, n in events:
                key = (day, hour, lang, name, detail)
                if key in pending:
                    pending[key] += n
                elif len(pending) < room:
                    pending[key] = n
                else:
                    dropped += abs(n)
        while self._overflow:
            dropped += self._overflow.popleft()
        if dropped:
            if not self.dropped_total:
                log.error("Statistics: too many counts waiting for the database; dropping (and counting) the rest")
            self.dropped_total += dropped
            key = (*self._slot, "", DROPPED, "")
            pending[key] = pending.get(key, 0) + dropped  # always kept: the one count of what was lost
        if pending:
            self._number += 1
            self._batches.append((self._number, pending))
            self._pending = {}

    def _to_disk(self) -> None:
        """Move the unsaved batches to this process's file, oldest first, as far as the disk lets us."""
        if self.spool is None:
            return
        try:
            while self._batches:
                self.spool.write(self.name, *self._batches[0])
                self._batches.popleft()
        except OSError as err:
            if self._disk_ok:
                self._disk_ok = False
                log.error("Statistics: cannot keep the waiting counts on disk (%s); they wait in memory.", describe(err))
            return
        self._disk_ok = True

    def _start(self) -> None:
        """The first count in this process (a gunicorn worker, after the fork): start saving."""
        self._running = True
        os.register_at_fork(after_in_child=_after_fork(weakref.ref(self)))  # cheaper than asking getpid() per count
        self._saving = threading.Lock()  # a fork may have copied a held one
        self._queue.clear()  # counts copied from a parent process are the parent's
        self._overflow.clear()
        self._pending, self._batches, self._number = {}, deque(), 0
        self.name = secrets.token_hex(8)
        if self.spool is not None:
            self.spool.forget_parent()
        self._stop = threading.Event()
        counters, stop, every = weakref.ref(self), self._stop, self.every

        def run() -> None:
            due = time.monotonic()
            while True:
                due += every  # a steady beat, however long a save took: a kill -9 loses at most one interval
                if stop.wait(max(0.0, due - time.monotonic())):
                    return
                live = counters()
                if live is None:
                    return
                live.save()
                del live

        threading.Thread(target=run, name="stats-save", daemon=True).start()
        atexit.register(_close, weakref.ref(self))

    def close(self, within: float = EXIT_WITHIN) -> None:
        """The process is ending: stop the thread and, within `within` seconds, save what is left
        or put it on disk (once). The database is tried only if it was working and there is
        time for its slowest answer; the disk always is."""
        if self._closed or not self._running:  # nothing counted in this process: nothing to save
            return
        self._closed = True
        self._stop.set()
        deadline = time.monotonic() + within
        if not self._saving.acquire(timeout=within):  # a save outlived every bound: leave it be
            log.error("Statistics: a save is still running as this process ends; what it holds is lost.")
            return
        try:
            if not (self._healthy and deadline - time.monotonic() > self.database.longest and self._save(orphans=False)):
                self._seal()
                self._to_disk()
                if self.spool is not None and self.spool.batches:
                    log.warning(
                        "Statistics: %d batches of counts wait on disk; they are saved when the database is back.", self.spool.batches
                    )
            lost = sum(abs(n) for _, counts in self._batches for n in counts.values())
            if lost:
                log.error("Statistics: %d counts could not be saved or kept on disk before this process ended.", lost)
            if self.spool is not None:
                self.spool.close()
        finally:
            self._saving.release()

    def status(self) -> dict[str, object]:
        """For /healthz: whether counts reach the database (nothing about any call)."""
        waiting = len(self._pending) + len(self._queue) + len(self._batches)
        on_disk = self.spool.batches if self.spool is not None else 0
        late = waiting > 0 and self.clock() - self._last_saved > 6 * self.every  # a save is stuck
        return {
            "status": "ok" if self._healthy and not late and not on_disk else "degraded",
            "database": self.database.kind,
            "waiting": waiting,
            "on_disk": on_disk,
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
