"""Where the counts are kept: SQLite by default, PostgreSQL to share them between servers.

One table of counters, `(day, hour, language, event, detail) -> n`, and no call records:
there is no column a phone number, a call id or a caller's words could go into. Both
databases go through SQLAlchemy Core; adding to a count is each dialect's own upsert
(`INSERT ... ON CONFLICT DO UPDATE SET n = n + excluded.n`), so several processes and
servers can add to the same row at once.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    Engine,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite

log = logging.getLogger("ivr.stats")
Key = tuple[str, int, str, str, str]  # (ISO day, hour, language, event, detail)
SCHEMA_VERSION = 1
FILE_NAME = "stats.sqlite3"

metadata = MetaData()
counts = Table(
    "ivr_counts",
    metadata,
    Column("day", Date, primary_key=True),  # the local date in America/Denver
    Column("hour", SmallInteger, primary_key=True),  # 0-23, local
    Column("lang", String(8), primary_key=True),  # "" for counts that belong to no language
    Column("event", String(32), primary_key=True),
    Column("detail", String(64), primary_key=True),  # a node or hotline id from the menu, or a fixed word
    Column("n", BigInteger, nullable=False),
)
schema = Table("ivr_schema", metadata, Column("version", Integer, nullable=False))
KEY_COLUMNS = ("day", "hour", "lang", "event", "detail")
# Upgrades from one schema version to the next, applied at start: {version: [SQL, ...]}.
UPGRADES: dict[int, list[str]] = {}


class StatsConfigError(ValueError):
    """IVR_STATS_URL names something we cannot count into."""


def database_url(setting: str, state_dir: Path) -> str | None:
    """IVR_STATS_URL -> a SQLAlchemy URL, or None for `off`.

    "" (unset): a SQLite file in the server's state folder. `sqlite:///PATH`: that file.
    `postgresql://...` (or `postgres://`): that server, through psycopg 3.
    """
    setting = setting.strip()
    if setting.lower() == "off":
        return None
    if not setting:
        return f"sqlite:///{Path(state_dir) / FILE_NAME}"
    scheme, sep, rest = setting.partition("://")
    if not sep:
        raise StatsConfigError(f"IVR_STATS_URL={setting!r} is not a URL: use off, sqlite:///PATH or postgresql://USER@HOST/DB.")
    if scheme in ("postgresql", "postgres"):
        return f"postgresql+psycopg://{rest}"
    if scheme in ("sqlite", "postgresql+psycopg"):
        return setting
    raise StatsConfigError(f"IVR_STATS_URL starts with {scheme}://; use sqlite:///PATH or postgresql://USER@HOST/DB (or off).")


@dataclass
class Totals:
    """What a report is made of: the sums per (language, event, detail), and calls per day and hour."""

    by_key: dict[tuple[str, str, str], int]
    calls_by_hour: dict[tuple[date, int], int]


class Database:
    """One statistics database. Connections are made per process, lazily (safe across fork)."""

    def __init__(self, url: str):
        self.url = url
        self.kind = "postgresql" if url.startswith("postgresql") else "sqlite"
        self._engine: Engine | None = None
        self._pid = 0
        self._ready = False

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine, self._pid = self._connect(), os.getpid()
        elif self._pid != os.getpid():
            # A forked worker: it opens its own connections (the parent's stay the parent's) but
            # keeps the engine, with its statements already compiled (see ensure_schema).
            self._engine.dispose(close=False)
            self._pid = os.getpid()
        return self._engine

    def _connect(self) -> Engine:
        if self.kind == "sqlite":
            path = self.url.removeprefix("sqlite:///")
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(self.url, connect_args={"timeout": 10})
            event.listen(engine, "connect", _sqlite_pragmas)
            return engine
        # A database that is down must fail fast: the saver retries later.
        args = {"connect_timeout": 3, "options": "-c statement_timeout=5000"}
        return create_engine(self.url, connect_args=args, pool_pre_ping=True, pool_size=1, max_overflow=1)

    def ensure_schema(self) -> None:
        """Create the tables, or upgrade them to this version of the line."""
        with self.engine.begin() as conn:
            metadata.create_all(conn)
            version = conn.execute(select(schema.c.version)).scalar()
            if version is None:
                conn.execute(insert(schema).values(version=SCHEMA_VERSION))
                version = SCHEMA_VERSION
            for step in range(version + 1, SCHEMA_VERSION + 1):
                for statement in UPGRADES.get(step, []):
                    conn.execute(text(statement))
                conn.execute(schema.update().values(version=step))
        # Compile the upsert now, in the process that starts the server: a worker's first save
        # would otherwise spend ~20 ms of interpreter time on it while it answers a call.
        with self.engine.connect() as conn:
            conn.execute(self._upsert(), [{"day": date(2000, 1, 1), "hour": 0, "lang": "", "event": "", "detail": "", "n": 0}])
            conn.rollback()  # nothing is written
        self._ready = True

    def _upsert(self):  # noqa: ANN202 - a dialect's Insert
        dialect = postgresql if self.kind == "postgresql" else sqlite
        stmt = dialect.insert(counts)
        return stmt.on_conflict_do_update(index_elements=list(KEY_COLUMNS), set_={"n": counts.c.n + stmt.excluded.n})

    def _with_tables(self) -> Engine:
        """The engine, once the tables exist (a database that was down at start gets them now)."""
        if not self._ready:
            self.ensure_schema()
        return self.engine

    def add(self, batch: dict[Key, int]) -> None:
        """Add to the counters, in one transaction."""
        engine = self._with_tables()
        # In key order: processes that save at the same moment then lock the same rows in the same
        # order, and PostgreSQL never has to break a deadlock between them.
        rows = [
            {"day": date.fromisoformat(day), "hour": hour, "lang": lang, "event": name, "detail": detail, "n": n}
            for (day, hour, lang, name, detail), n in sorted(batch.items())
        ]
        with engine.begin() as conn:
            conn.execute(self._upsert(), rows)

    def totals(self, start: date | None = None, end: date | None = None) -> Totals:
        """The sums between two local dates, both included."""
        engine = self._with_tables()
        where = []
        if start is not None:
            where.append(counts.c.day >= start)
        if end is not None:
            where.append(counts.c.day <= end)
        total = func.sum(counts.c.n)
        with engine.connect() as conn:
            by_key = conn.execute(
                select(counts.c.lang, counts.c.event, counts.c.detail, total)
                .where(*where)
                .group_by(counts.c.lang, counts.c.event, counts.c.detail)
            )
            hours = conn.execute(
                select(counts.c.day, counts.c.hour, total).where(counts.c.event == "call", *where).group_by(counts.c.day, counts.c.hour)
            )
            return Totals(
                by_key={(lang, name, detail): int(n) for lang, name, detail, n in by_key},
                calls_by_hour={(day, hour): int(n) for day, hour, n in hours},
            )

    def prune(self, before: date) -> int:
        """Delete every count before a date; returns how many rows went. SQLite's file is
        rewritten too, so the deleted counts do not linger in its free pages."""
        engine = self._with_tables()
        with engine.begin() as conn:
            gone = conn.execute(delete(counts).where(counts.c.day < before)).rowcount
        if self.kind == "sqlite":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM"))
                conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        return gone

    def dispose(self) -> None:
        """Close this process's connections (before gunicorn forks its workers); the engine stays."""
        if self._engine is not None and self._pid == os.getpid():
            self._engine.dispose()


def _sqlite_pragmas(dbapi_connection, connection_record) -> None:  # noqa: ANN001 - SQLAlchemy's event signature
    """WAL: the workers of one server add to the file at the same time as staff read it."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA secure_delete=ON")  # pruned counts are overwritten, not just unlinked
    cursor.close()
