"""Wrong staff passwords, counted where every worker of a server, and the server after a
restart, sees them: a small SQLite file in the state folder, `state/lockout.sqlite3`.

One row per wrong password: which page (the browser phone, the statistics), the client's
address (an IPv6 address by its /64, the block one household or one attacker holds) and
when. Each wrong password deletes that page's rows older than the lock-out window, so the
file holds little more than the failures of the last few minutes. A local file, never a network database, so that a
hung database can never hold up a page. If the file cannot be used (a full disk), each
process counts in memory instead, as before, and the log says so once.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import sqlite3
import threading
from collections import OrderedDict
from contextlib import closing
from pathlib import Path

log = logging.getLogger("ivr")
FILE_NAME = "lockout.sqlite3"
TIMEOUT = 1.0  # seconds to wait for another worker writing the file


def client_of(address: str | None) -> str:
    """Who is counted: an IPv4 address, or an IPv6 address's /64 (one subnet hands out many)."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return address or "-"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


class Failures:
    """Times of recent wrong passwords per (page, client), in the state folder's SQLite file."""

    def __init__(self, state_dir: Path, window: float, max_clients: int = 10_000):
        self.path = Path(state_dir) / FILE_NAME
        self.window = window
        self._memory = InMemory(max_clients)  # when the file cannot be used
        self._broken = False

    def recent(self, page: str, client: str, now: float) -> list[float]:
        """When this client got this page's password wrong within the window, oldest first."""
        try:
            with closing(self._open()) as db:
                rows = db.execute(
                    "SELECT at FROM failures WHERE page = ? AND client = ? AND at > ? ORDER BY at", (page, client, now - self.window)
                )
                return [at for (at,) in rows]
        except (sqlite3.Error, OSError) as err:
            self._fall_back(err)
            return self._memory.recent(page, client, now - self.window)

    def add(self, page: str, client: str, now: float) -> None:
        try:
            with closing(self._open()) as db, db:
                db.execute("DELETE FROM failures WHERE page = ? AND at <= ?", (page, now - self.window))
                db.execute("INSERT INTO failures (page, client, at) VALUES (?, ?, ?)", (page, client, now))
        except (sqlite3.Error, OSError) as err:
            self._fall_back(err)
            self._memory.add(page, client, now)

    def _open(self) -> sqlite3.Connection:
        fresh = not self.path.exists()
        if fresh:  # addresses of failed tries: readable by the server's user only
            self.path.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
        db = sqlite3.connect(self.path, timeout=TIMEOUT)
        if fresh:
            db.execute("PRAGMA journal_mode=WAL")  # readers never wait for a writer
        db.execute("CREATE TABLE IF NOT EXISTS failures (page TEXT NOT NULL, client TEXT NOT NULL, at REAL NOT NULL)")
        db.execute("CREATE INDEX IF NOT EXISTS failures_by_client ON failures (page, client, at)")
        db.commit()
        return db

    def _fall_back(self, err: Exception) -> None:
        if not self._broken:
            self._broken = True
            log.error("Cannot use %s (%s); wrong passwords are counted per process for now.", self.path.name, type(err).__name__)


class InMemory:
    """The same, in this process only: the fallback."""

    def __init__(self, max_clients: int):
        self.max_clients = max_clients
        self._times: OrderedDict[tuple[str, str], list[float]] = OrderedDict()
        self._lock = threading.Lock()

    def recent(self, page: str, client: str, since: float) -> list[float]:
        with self._lock:
            return [t for t in self._times.get((page, client), []) if t > since]

    def add(self, page: str, client: str, now: float) -> None:
        with self._lock:
            self._times[(page, client)] = [*self._times.get((page, client), []), now][-100:]
            self._times.move_to_end((page, client))
            while len(self._times) > self.max_clients:
                self._times.popitem(last=False)
