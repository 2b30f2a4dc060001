"""The live menu, and safe hot reload.

The server holds one `Renderer` (one frozen menu) at a time. A request checks
the file's mtime at most once a second; SIGHUP forces a check. A changed file is
loaded, validated and pre-rendered by a child process (see `rebuild`) while requests
keep being answered from the live menu; a background thread adopts the result and
swaps it in with a single assignment, and frees the replaced menu later. That thread
is paced (see `pacing`): it works in the gaps between requests, so a reload of even a
huge menu does not slow the calls in progress. An invalid file is never served: the
last good menu stays live and the error is logged.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .errors import MenuInvalid
from .model import Menu
from .pacing import Pacer
from .rebuild import RebuildFailed, build_in_child
from .render import Renderer
from .validate import load_menu, release_gradually

log = logging.getLogger("ivr.reload")
RETIRE_AFTER = 20.0  # seconds a replaced menu is kept for requests already holding it (Twilio waits 15 s)


@dataclass(frozen=True)
class Live:
    renderer: Renderer
    signature: tuple[int, int]  # (mtime_ns, size) of the file it came from
    loaded_at: float


class MenuStore:
    def __init__(self, path: str | os.PathLike[str], check_interval: float = 1.0, background: bool = True):
        self.path = Path(path)
        self.check_interval = check_interval
        self.background = background
        self.last_error: str | None = None
        self._next_check = time.monotonic() + check_interval
        self._lock = threading.Lock()
        self._force = False
        self._started = False
        self.pacer = Pacer()  # create_app counts requests through it; reloads give way to them
        self._live = self._load()  # raises MenuInvalid: the server must not start on a bad menu
        self._started = True

    @property
    def menu(self) -> Menu:
        return self.renderer.menu

    @property
    def renderer(self) -> Renderer:
        """The renderer to answer this request with; checks the file now and then."""
        now = time.monotonic()
        if now >= self._next_check or self._force:
            self._next_check = now + self.check_interval
            if self._changed():
                if self.background:
                    if not self._lock.locked():
                        threading.Thread(target=self.check, name="menu-reload", daemon=True).start()
                else:
                    self.check()
        return self._live.renderer

    def _changed(self) -> bool:
        return self._force or self._signature() != self._live.signature

    @property
    def current(self) -> Renderer:
        """The live renderer without a file check (for the error path)."""
        return self._live.renderer

    def request_reload(self) -> None:
        """For SIGHUP: the next request re-reads the file whatever its mtime says."""
        self._force = True

    def check(self) -> bool:
        """Reload if the file changed (or a reload was requested). Returns True if a new menu is live."""
        signature = self._signature()
        if signature == self._live.signature and not self._force:
            return False
        if not self._lock.acquire(blocking=False):
            return False  # another thread is already loading; keep answering with the live menu
        try:
            self._force = False
            if not self.path.is_file():
                self._refuse(signature, f"{self.path}: the menu file is missing; still serving the last good menu.")
                return False
            try:
                live = self._reload()
            except MenuInvalid as err:
                self._refuse(signature, f"Menu reload refused; still serving the last good menu.\n{err}")
                return False
            if live.renderer.menu.digest != self._live.renderer.menu.digest:
                log.info("Menu reloaded from %s (sha256 %s)", self.path, live.renderer.menu.digest[:12])
            old, self._live = self._live, live
            self.last_error = None
            if old.renderer is not live.renderer:
                self._retire(old.renderer)
            return True
        finally:
            self._lock.release()

    def _retire(self, renderer: Renderer) -> None:
        """Free a replaced menu gently, after calls still using it have had time to finish."""
        if not self.background:
            return  # tests and tools: let it go the ordinary way

        last_reference = [renderer]  # release_gradually takes apart only what nobody else holds
        del renderer

        def release() -> None:
            with self.pacer.background():
                release_gradually(last_reference)

        timer = threading.Timer(RETIRE_AFTER, release)
        timer.daemon = True
        timer.start()

    def status(self) -> dict[str, object]:
        live = self._live
        return {
            "status": "ok" if self.last_error is None else "degraded",
            "menu": str(self.path),
            "sha256": live.renderer.menu.digest,
            "loaded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(live.loaded_at)),
            "nodes": len(live.renderer.menu.nodes),
            "last_reload_error": self.last_error,
        }

    def _reload(self) -> Live:
        """A new menu for a running server. Inline (background=False) it runs inside a request,
        with nothing to give way to; in the background it is built in a child process."""
        if not self.background:
            return self._load()
        with self.pacer.background(freeze=True):
            try:
                return self._load(build_in_child)
            except RebuildFailed as err:
                log.warning("Building the menu in a child process failed (%s); building it here instead.", err)
                return self._load()

    def _load(self, build: Callable[[Path], Renderer] | None = None) -> Live:
        signature = self._signature()
        # The new menu is a few hundred thousand objects that live until the next reload, in
        # no cycles. The cyclic GC would walk them again and again while they are made: built
        # here, it is paused; adopted from a child, the paced job sweeps and freezes as it
        # goes (see rebuild._adopt). Either way they end frozen: no later collection walks them.
        if build is not None:
            return Live(build(self.path), signature, time.time())
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            live = Live(Renderer(load_menu(self.path, gentle=self._started)).warm(), signature, time.time())
            gc.freeze()
        finally:
            if was_enabled:
                gc.enable()
        return live

    def _signature(self) -> tuple[int, int]:
        """(mtime, size): a half-written file (same mtime, other size) still counts as changed."""
        try:
            stat = self.path.stat()
        except OSError:
            return (0, 0)
        return (stat.st_mtime_ns, stat.st_size)

    def _refuse(self, signature: tuple[int, int], message: str) -> None:
        """Keep the live menu, say why once, and wait for the file to change again."""
        self._live = Live(self._live.renderer, signature, self._live.loaded_at)
        self.last_error = message
        log.error("%s", message)
