"""Counts that could not reach the database, kept on local disk until they can.

Each server process that has counts it cannot save appends them to its own file in the
state folder, `stats-waiting/<database>-<process>.jsonl`: append-only, one line per batch,
`{"batch": 7, "counts": [["2026-12-01", 14, "en", "section", "welcome", 3], ...]}`. The same
fixed words as the database rows and nothing else: no call, no number, no time finer than
the hour. The file is small (a line per 5 s of counting while the database is away) and is
deleted once every batch in it is saved.

The process holds an exclusive lock (`flock`) on its file for as long as the file exists;
the kernel releases it when the process ends, however it ends. A file nobody holds is an
orphan (a stopped or killed process): any process that can reach the database saves it,
oldest batch first, the starting server first of all. Saving is exactly once (each batch
claims its number, see database.py), so a replay cut short is simply replayed again.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
from collections.abc import Callable
from datetime import date
from pathlib import Path

from .database import Batch, Key

log = logging.getLogger("ivr.stats")
FOLDER = "stats-waiting"
REPLAY_CHUNK = 50  # batches per transaction when a file is saved


def folder_key(url: str) -> str:
    """Which database a file's counts are for: a short hash of its URL, without any password
    (several servers, or tests, may share a state folder but not a database)."""
    from sqlalchemy.engine import make_url

    return hashlib.sha256(make_url(url).render_as_string(hide_password=True).encode()).hexdigest()[:10]


class Spool:
    """This process's file of waiting counts, and the files other processes left behind."""

    def __init__(self, state_dir: Path, url: str):
        self.folder = Path(state_dir) / FOLDER
        self.prefix = folder_key(url) + "-"
        self._own: int | None = None  # the open, locked file descriptor of our own file
        self._own_path: Path | None = None
        self.batches = 0  # batches in our own file

    def forget_parent(self) -> None:
        """After a fork: the parent's open file is the parent's."""
        self._own, self._own_path, self.batches = None, None, 0

    def write(self, saver: str, number: int, counts: dict[Key, int]) -> None:
        """Append one batch to this process's file (made and locked on first use). Raises OSError."""
        if self._own is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            path = self.folder / f"{self.prefix}{saver}.jsonl"
            # Made and locked under another name, then renamed: nobody can take a new file for an orphan.
            hidden = self.folder / f".{path.name}.new"
            fd = os.open(hidden, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.rename(hidden, path)
            self._own, self._own_path = fd, path
        line = json.dumps({"batch": number, "counts": [[*key, n] for key, n in counts.items()]}, separators=(",", ":"))
        os.write(self._own, (line + "\n").encode())  # one write per batch: a crash tears at most the last line
        self.batches += 1

    def save_own(self, save: Callable[[str, list[Batch]], int], saver: str) -> None:
        """Save this process's waiting batches through `save(saver, batches)`, oldest first, and
        delete the file; a failure is raised (what is left stays on disk)."""
        if self._own is not None and self._own_path is not None:
            self._save_file(self._own, self._own_path, saver, save)
            self._own, self._own_path, self.batches = None, None, 0

    def save_orphans(self, save: Callable[[str, list[Batch]], int]) -> None:
        """Save the files no live process holds (each under the name of the process that wrote
        it). A database failure is raised; a file that cannot be read is logged and left alone,
        so that it can never stop the others, or this process's own counts, from being saved."""
        for path in self.orphans():
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:  # saved by someone else meanwhile
                continue
            except OSError as err:
                log.error("Statistics: cannot open %s (%s); it is left alone.", path.name, err)
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:  # a live process's file: it saves it itself
                os.close(fd)
                continue
            self._save_file(fd, path, path.stem.removeprefix(self.prefix), save)

    def orphans(self) -> list[Path]:
        try:
            return sorted(p for p in self.folder.glob(f"{self.prefix}*.jsonl") if p != self._own_path)
        except OSError:
            return []

    def _save_file(self, fd: int, path: Path, saver: str, save: Callable[[str, list[Batch]], int]) -> None:
        """Save a locked file's batches and delete it. A database failure is raised. An orphan's
        descriptor is always closed (its lock released); our own stays open until all is saved."""
        own = fd == self._own
        try:
            batches = read(fd, path)
            for start in range(0, len(batches), REPLAY_CHUNK):
                save(saver, batches[start : start + REPLAY_CHUNK])
            path.unlink(missing_ok=True)
        except OSError as err:  # the disk, not the database
            log.error("Statistics: cannot read or delete %s (%s); it is left alone.", path.name, err)
            if own:
                raise
            return
        finally:
            if not own:
                os.close(fd)
        if own:
            os.close(fd)
        log.info("Statistics: %d waiting batches from %s saved.", len(batches), path.name)

    def close(self) -> None:
        if self._own is not None:
            os.close(self._own)
            self._own = None


def read(fd: int, path: Path) -> list[Batch]:
    """The batches of a file, in order. A line torn by a crash, or not in our format, is skipped
    and logged: it must not stop the rest from being saved."""
    os.lseek(fd, 0, os.SEEK_SET)
    with os.fdopen(os.dup(fd), "rb") as file:
        data = file.read()
    batches: list[Batch] = []
    for number, line in enumerate(data.splitlines(), 1):
        try:
            item = json.loads(line)
            counts: dict[Key, int] = {}
            for day, hour, lang, name, detail, n in item["counts"]:
                date.fromisoformat(day)
                if not (isinstance(hour, int) and 0 <= hour < 24 and isinstance(n, int)) or not all(
                    isinstance(s, str) and len(s) <= 64 for s in (lang, name, detail)
                ):
                    raise ValueError("not a count")
                counts[(day, hour, lang, name, detail)] = counts.get((day, hour, lang, name, detail), 0) + n
            batches.append((int(item["batch"]), counts))
        except (ValueError, TypeError, KeyError) as err:
            log.error("Statistics: line %d of %s cannot be read (%s); it is skipped.", number, path.name, type(err).__name__)
    return batches
