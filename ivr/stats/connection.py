"""How the statistics reach their database without ever waiting long for it.

Every call is bounded, whatever state the database is in: connecting gives up after 2 s
(psycopg's `connect_timeout`), the server cancels a statement after the bound
(`statement_timeout`, `lock_timeout`; SQLite's busy timeout), and because a hung server
(stopped, a stalled disk or network) cancels nothing, a watchdog cuts the call off from our
side when the bound is over: a PostgreSQL connection's socket is shut down, a SQLite
statement interrupted. So no call takes longer than `longest` seconds.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError

log = logging.getLogger("ivr.stats")
T = TypeVar("T")
CONNECT_TIMEOUT = 2  # seconds; psycopg's minimum
BOUND = 2.0  # seconds a connected call may take before the watchdog cuts it off
COOL_OFF = 10.0  # seconds readers leave a failing database alone (the saver keeps trying)
UPGRADE_BOUND = 120.0  # seconds for upgrading the tables when a server starts (a big table is rewritten)
DROPPED = 0.5  # a pooled connection the server dropped fails within this: then it is replaced once


class Bounded:
    """A database's engine, made per process (safe across fork), and calls with a time limit."""

    def __init__(self, url: str, kind: str, bound: float = BOUND):
        self.url = url
        self.kind = kind
        self.bound = bound
        self.longest = DROPPED + CONNECT_TIMEOUT + bound  # the most any call can take
        self._engine: Engine | None = None
        self._pid = 0
        self._failed_at: float | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine, self._pid = self._create(), os.getpid()
        elif self._pid != os.getpid():
            # A forked worker: it opens its own connections (the parent's stay the parent's) but
            # keeps the engine, with its statements already compiled.
            self._engine.dispose(close=False)
            self._pid = os.getpid()
        return self._engine

    def _create(self) -> Engine:
        pool = {"pool_size": 2, "max_overflow": 2, "pool_timeout": self.bound}  # never queue for long
        if self.kind == "sqlite":
            path = self.url.removeprefix("sqlite:///")
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(self.url, connect_args={"timeout": self.bound}, **pool)
            event.listen(engine, "connect", _sqlite_pragmas(self.bound))
            return engine
        ms = int(self.bound * 1000)
        options = f"-c statement_timeout={ms} -c lock_timeout={ms} -c idle_in_transaction_session_timeout={5 * ms}"
        return create_engine(self.url, connect_args={"connect_timeout": CONNECT_TIMEOUT, "options": options}, **pool)

    def run(self, work: Callable[[Connection], T], *, bound: float | None = None) -> T:
        """`work` in one transaction, committed at the end, cut off after `bound` seconds (the
        database's own bound by default). A pooled connection the server dropped (a restart) is
        replaced once; a call the watchdog cut off is not retried."""
        started = time.monotonic()
        try:
            try:
                return self._once(work, bound or self.bound)
            except DBAPIError as err:
                if not err.connection_invalidated or time.monotonic() - started > DROPPED:
                    raise
                return self._once(work, bound or self.bound)
        except Exception:
            self._failed_at = time.monotonic()
            raise

    def _once(self, work: Callable[[Connection], T], bound: float) -> T:
        conn = self.engine.connect()  # a new connection gives up after CONNECT_TIMEOUT
        watchdog = Watchdog(bound, conn.connection.dbapi_connection, self.kind)
        try:
            result = work(conn)
            conn.commit()
            self._failed_at = None
            return result
        finally:
            try:
                conn.close()  # back to the pool, reset while the watchdog still runs
            finally:
                watchdog.cancel()

    def recently_failed(self) -> bool:
        """Whether a call failed in the last COOL_OFF seconds and none has worked since."""
        return self._failed_at is not None and time.monotonic() - self._failed_at < COOL_OFF

    def dispose(self) -> None:
        """Close this process's connections (before gunicorn forks its workers); the engine stays."""
        if self._engine is not None and self._pid == os.getpid():
            self._engine.dispose()


class Watchdog:
    """Ends a call that outlives its bound, from a timer thread."""

    def __init__(self, bound: float, dbapi_connection, kind: str):  # noqa: ANN001 - a DBAPI connection
        self._connection, self._kind = dbapi_connection, kind
        self._timer = threading.Timer(bound, self._cut_off)
        self._timer.daemon = True
        self._timer.start()

    def cancel(self) -> None:
        self._timer.cancel()

    def _cut_off(self) -> None:
        try:
            if self._kind == "sqlite":
                self._connection.interrupt()  # the statement fails with "interrupted"
                return
            # A stopped server never answers and cancels nothing: shut the socket down, so that
            # the waiting call fails at once (psycopg: "server closed the connection").
            with socket.socket(fileno=os.dup(self._connection.fileno())) as sock:
                sock.shutdown(socket.SHUT_RDWR)
        except (OSError, ValueError, AttributeError) as err:  # already closed: nothing left to cut
            log.debug("Statistics watchdog: %s", err)


def _sqlite_pragmas(bound: float):  # noqa: ANN202 - a SQLAlchemy connect listener
    def pragmas(dbapi_connection, connection_record) -> None:  # noqa: ANN001 - SQLAlchemy's event signature
        """WAL: the workers of one server add to the file at the same time as staff read it."""
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(bound * 1000)}")
        cursor.execute("PRAGMA secure_delete=ON")  # pruned counts are overwritten, not just unlinked
        cursor.close()

    return pragmas
