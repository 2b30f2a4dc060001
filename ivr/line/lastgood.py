"""The last menu a server accepted, kept on disk in its state folder.

A process that starts while the menu file is broken (a restarted worker, a rebooted server)
serves this copy instead of refusing to answer (store.py). It lives in the state folder,
never beside the menus staff edit.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path

log = logging.getLogger("ivr.reload")


class LastGood:
    """The last menu this server accepted, kept in the state folder (never in menus/)."""

    def __init__(self, state_dir: Path, menu_path: Path):
        tag = hashlib.sha256(str(menu_path.resolve()).encode()).hexdigest()[:8]  # one copy per menu file
        self.path = state_dir / f"{menu_path.stem}.last-good.{tag}.yaml"
        self._warned = False

    def read(self) -> bytes | None:
        try:
            return self.path.read_bytes()
        except OSError:
            return None

    def save(self, raw: bytes) -> None:
        """Write beside, then rename over: a reader never sees half a file, even with many workers."""
        if self.read() == raw:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.path.parent, prefix=".last-good-", delete=False) as out:
                out.write(raw)
                out.flush()
                os.fsync(out.fileno())
            os.replace(out.name, self.path)
        except OSError as err:
            if not self._warned:  # once: the disk will not become writable by itself
                self._warned = True
                log.warning("Cannot keep a last good copy of the menu in %s (%s).", self.path.parent, err.strerror)
