"""Where the counts are kept: SQLite by default, PostgreSQL to share them between servers.

One table of counters, `(day, hour, language, event, detail) -> n`, and no call records:
there is no column a phone number, a call id or a caller's words could go into. The same
counts summed per day (`ivr_days`, written in the same transaction) are what reports read:
24 times fewer rows, so a year of figures is summed in well under a second. Both databases
go through SQLAlchemy Core; adding to a count is each dialect's own upsert (`INSERT ... ON
CONFLICT DO UPDATE SET n = n + excluded.n`), so several processes and servers can add to
the same row at once.

Every call is bounded in time, whatever state the database is in (connection.py).

Counts are saved in batches, each numbered by the process that counted it. A batch whose
save was cut off may still commit later (its COMMIT was on its way), and a batch kept on
disk may be replayed twice (a crash after the commit): so each batch claims its number in
`ivr_savers` in the same transaction, and a batch whose number was claimed is not added
again. Every batch is saved exactly once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TypeVar

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Date,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    delete,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite

from .connection import BOUND, UPGRADE_BOUND, Bounded

T = TypeVar("T")
Key = tuple[str, int, str, str, str]  # (ISO day, hour, language, event, detail)
Batch = tuple[int, dict[Key, int]]  # (number within its saver, counts)
SCHEMA_VERSION = 2
FILE_NAME = "stats.sqlite3"
SAVERS_KEPT = timedelta(days=90)  # how long a process's last batch number is remembered

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
CALLS = "event = 'call'"
Index("ivr_counts_calls", counts.c.day, counts.c.hour, sqlite_where=text(CALLS), postgresql_where=text(CALLS))  # calls per hour
days = Table(
    "ivr_days",
    metadata,
    Column("day", Date, primary_key=True),
    Column("lang", String(8), primary_key=True),
    Column("event", String(32), primary_key=True),
    Column("detail", String(64), primary_key=True),
    Column("n", BigInteger, nullable=False),
)
savers = Table(
    "ivr_savers",
    metadata,
    Column("saver", String(32), primary_key=True),  # a random name per server process
    Column("batch", BigInteger, nullable=False),  # the last of its batches that was saved
    Column("day", Date, nullable=False),  # when: old rows are deleted at start
)
schema = Table("ivr_schema", metadata, Column("version", Integer, nullable=False))
KEY_COLUMNS = ("day", "hour", "lang", "event", "detail")
# Upgrades from one schema version to the next, applied when a server starts: {version: [SQL, ...]}.
UPGRADES: dict[int, list[str]] = {
    2: [
        f"CREATE INDEX IF NOT EXISTS ivr_counts_calls ON ivr_counts (day, hour) WHERE {CALLS}",
        "INSERT INTO ivr_days (day, lang, event, detail, n) SELECT day, lang, event, detail, SUM(n) FROM ivr_counts GROUP BY day, lang, event, detail",
    ],
}


class NeedsUpgrade(Exception):
    """The tables are from an older version of the line: the next server start upgrades them."""


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
    """One statistics database; every call bounded in time (see connection.py).

    `bound` is how long a connected call may take; the `ivr stats` commands use a longer one
    than the line (pruning a big SQLite file rewrites it)."""

    def __init__(self, url: str, *, bound: float = BOUND):
        self.url = url
        self.kind = "postgresql" if url.startswith("postgresql") else "sqlite"
        self.connection = Bounded(url, self.kind, bound)
        self._ready = False

    @property
    def longest(self) -> float:
        """The most seconds any call can take."""
        return self.connection.longest

    def recently_failed(self) -> bool:
        return self.connection.recently_failed()

    def _run(self, work: Callable[[Connection], T]) -> T:
        """`work` in one bounded transaction, once the tables exist (a database that was down
        at start gets them now)."""

        def ready(conn: Connection) -> T:
            if not self._ready:
                self._create_tables(conn)
            return work(conn)

        return self.connection.run(ready)

    def ensure_schema(self) -> None:
        """Create the tables, or upgrade them to this version of the line (with a longer bound:
        a big table takes a while). Compile the statements now, in the process that starts the
        server: a worker's first save would otherwise spend ~20 ms of interpreter time on it
        while it answers a call."""

        def warm(conn: Connection) -> None:
            conn.execute(self._claim(), {"saver": "", "batch": 0, "day": date(2000, 1, 1)})
            row = {"day": date(2000, 1, 1), "lang": "", "event": "", "detail": "", "n": 0}
            conn.execute(self._upsert(counts), [{**row, "hour": 0}])
            conn.execute(self._upsert(days), [row])
            conn.rollback()  # nothing is written

        self._ready = False
        try:
            self._run(warm)
        except NeedsUpgrade:
            self.connection.run(self._upgrade, bound=UPGRADE_BOUND)
            self._run(warm)

    def _create_tables(self, conn: Connection) -> None:
        """Create what is missing; raise NeedsUpgrade for older tables (never upgraded here, within
        the bound of a save)."""
        metadata.create_all(conn)
        version = conn.execute(select(schema.c.version)).scalar()
        if version is None:
            conn.execute(insert(schema).values(version=SCHEMA_VERSION))
        elif version < SCHEMA_VERSION:
            raise NeedsUpgrade(
                f"the statistics tables are version {version}; this line needs {SCHEMA_VERSION}: restart the server to upgrade them"
            )
        conn.execute(delete(savers).where(savers.c.day < date.today() - SAVERS_KEPT))
        conn.commit()
        self._ready = True

    def _upgrade(self, conn: Connection) -> None:
        metadata.create_all(conn)
        if self.kind == "postgresql":
            ms = int(UPGRADE_BOUND * 1000)
            conn.execute(text(f"SET LOCAL statement_timeout = {ms}"))
            conn.execute(text(f"SET LOCAL lock_timeout = {ms}"))
        # One server upgrades; another starting at the same moment waits for it, then finds it done.
        version = conn.execute(select(schema.c.version).with_for_update()).scalar() or SCHEMA_VERSION
        for step in range(version + 1, SCHEMA_VERSION + 1):
            for statement in UPGRADES.get(step, []):
                conn.execute(text(statement))
            conn.execute(schema.update().values(version=step))

    def _dialect(self):  # noqa: ANN202 - a SQLAlchemy dialect module
        return postgresql if self.kind == "postgresql" else sqlite

    def _upsert(self, table: Table):  # noqa: ANN202 - a dialect's Insert
        stmt = self._dialect().insert(table)
        keys = [column.name for column in table.primary_key]
        return stmt.on_conflict_do_update(index_elements=keys, set_={"n": table.c.n + stmt.excluded.n})

    def _claim(self):  # noqa: ANN202 - a dialect's Insert
        """A saver's batch number, recorded only if it is newer than the last one saved."""
        stmt = self._dialect().insert(savers)
        newer = savers.c.batch < stmt.excluded.batch
        return stmt.on_conflict_do_update(
            index_elements=["saver"], set_={"batch": stmt.excluded.batch, "day": stmt.excluded.day}, where=newer
        )

    def add(self, saver: str, batches: list[Batch]) -> int:
        """Add a saver's batches (oldest first) in one transaction, each one only if it was never
        saved before; returns how many were new."""

        def add(conn: Connection) -> int:
            summed: dict[Key, int] = {}
            new = 0
            for number, batch in batches:
                if conn.execute(self._claim(), {"saver": saver, "batch": number, "day": date.today()}).rowcount:
                    new += 1
                    for key, n in batch.items():
                        summed[key] = summed.get(key, 0) + n
            if summed:
                # In key order: processes that save at the same moment then lock the same rows in
                # the same order, and PostgreSQL never has to break a deadlock between them.
                hourly, daily = [], {}
                for (day, hour, lang, name, detail), n in sorted(summed.items()):
                    hourly.append({"day": date.fromisoformat(day), "hour": hour, "lang": lang, "event": name, "detail": detail, "n": n})
                    daily[(day, lang, name, detail)] = daily.get((day, lang, name, detail), 0) + n
                conn.execute(self._upsert(counts), hourly)
                conn.execute(
                    self._upsert(days),
                    [
                        {"day": date.fromisoformat(day), "lang": lang, "event": name, "detail": detail, "n": n}
                        for (day, lang, name, detail), n in sorted(daily.items())
                    ],
                )
            return new

        return self._run(add)

    def first_day(self) -> date | None:
        """The first day anything was counted (None before the first count)."""
        return self._run(lambda conn: conn.execute(select(func.min(days.c.day))).scalar())

    def totals(self, start: date | None = None, end: date | None = None) -> Totals:
        """The sums between two local dates, both included."""

        def within(table: Table) -> list:
            return [c for c in (table.c.day >= start if start else None, table.c.day <= end if end else None) if c is not None]

        def read(conn: Connection) -> Totals:
            by_key = conn.execute(
                select(days.c.lang, days.c.event, days.c.detail, func.sum(days.c.n))
                .where(*within(days))
                .group_by(days.c.lang, days.c.event, days.c.detail)
            )
            hours = conn.execute(
                select(counts.c.day, counts.c.hour, func.sum(counts.c.n))
                .where(text(CALLS), *within(counts))
                .group_by(counts.c.day, counts.c.hour)
            )
            return Totals(
                by_key={(lang, name, detail): int(n) for lang, name, detail, n in by_key},
                calls_by_hour={(day, hour): int(n) for day, hour, n in hours},
            )

        return self._run(read)

    def prune(self, before: date) -> int:
        """Delete every count before a date; returns how many rows went. SQLite's file is
        rewritten too, so the deleted counts do not linger in its free pages."""

        def prune(conn: Connection) -> int:
            conn.execute(delete(days).where(days.c.day < before))
            return conn.execute(delete(counts).where(counts.c.day < before)).rowcount

        gone = self._run(prune)
        if self.kind == "sqlite":
            with self.connection.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM"))
                conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        return gone

    def dispose(self) -> None:
        """Close this process's connections (before gunicorn forks its workers)."""
        self.connection.dispose()
