"""The processes of a server under test, read from /proc: gunicorn's workers, PostgreSQL's backends."""

from __future__ import annotations

import os


def children(parent: int) -> list[int]:
    """Every process whose parent is `parent` (read from /proc): gunicorn's workers, PostgreSQL's backends."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    if int(stat.read().rsplit(")", 1)[1].split()[1]) == parent:
                        found.append(int(entry))
            except (OSError, ValueError, IndexError):
                continue
    return found
