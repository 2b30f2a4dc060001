"""The live menu of one server process, its hot reload, and the last good copy on disk.

Staff edit the menu file while calls are in progress. A watcher thread, started in the
process that answers calls, looks at the file every `interval` seconds (at once on SIGHUP);
a changed file is read (only a regular file, refused above a size limit), validated and
pre-rendered, then swapped in with one assignment. Calls in progress keep the renderer they
hold; Python frees the old one when the last of them is done. In a gunicorn sync worker,
which answers one call at a time, a busy worker builds the edit the watcher has read right
after a response has gone out (`apply_between_requests`), so no call waits on a build.
Building the shipped menu takes a few milliseconds, a 1,000-node one about a fifth of a
second (bench/bigmenu.py measures it).

Only the watcher thread looks at the menu file (stat, open, read), never a thread that
answers calls: a file system that hangs (a network mount) or a named pipe put in the file's
place can stall the watcher, never a call, and /healthz says so. (With `interval` 0, for
tools and tests, each request reloads the file itself; a named pipe cannot block it even
then, since the file is opened without blocking and refused unless regular.)

An invalid edit is never served. Every menu that is accepted is also copied, atomically,
to the state folder; a process that starts while the file is broken (a restarted worker,
a rebooted server) serves that last good copy instead of refusing to answer, and says so
loudly in the log and at /healthz.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..menu import MAX_BYTES, Menu, MenuInvalid, load_menu_bytes, read_menu_file, recordings
from .lastgood import LastGood
from .render import Renderer

log = logging.getLogger("ivr.reload")
QUIET = 1.0  # seconds without a request after which a worker's watcher applies edits itself
# Looking at the menu file takes milliseconds (building a 10,000-node menu, about a second, is
# not part of the look). A look this long means the file system is stuck: /healthz says so, and
# a booting worker stops waiting for the look and answers with the menu it has.
SLOW_LOOK = 2.0


@dataclass(frozen=True)
class Live:
    renderer: Renderer
    loaded_at: float
    from_copy: bool = False  # served from the last good copy because the file is broken


@dataclass(frozen=True)
class Read:
    """The menu file as the watcher found it: its bytes, or why it is refused."""

    raw: bytes = b""
    error: Exception | None = None


class MenuStore:
    """The live menu. Raises `MenuInvalid` at start only when neither the file nor a last good copy is valid."""

    def __init__(
        self, path: str | os.PathLike[str], *, state_dir: str | os.PathLike[str], interval: float = 1.0, max_bytes: int = MAX_BYTES
    ):
        self.path = Path(path)
        self.interval = interval
        self.max_bytes = max_bytes
        self.last_good = LastGood(Path(state_dir), self.path)
        self.problem: MenuInvalid | Exception | None = None  # why the file is not what is served
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._force = False
        self._watching = False  # this process has a watcher thread (a fork clears it in the child)
        self.between_requests = False  # a gunicorn sync worker applies edits after a response
        self._pending: Read | None = None  # read by the watcher, waiting for the end of a response
        self._looking_since = 0.0  # when the watcher began its look at the file; 0 between looks
        self._last_request = 0.0
        self._audio_dir = ""  # the live menu's recordings folder, watched with the file
        self._seen = self._signature()  # of the file last read, and of the recordings
        self._live = self._start()
        self._audio_dir = self.menu.audio_dir
        self._seen = (self._seen[0], recordings.signature(self._audio_dir))

    # --- what requests use -----------------------------------------------------------------
    @property
    def renderer(self) -> Renderer:
        """The renderer to answer this request with. Never looks at the file: the watcher does."""
        if self.interval <= 0:
            self.check()  # tools and tests: reload inside the request, deterministically
        elif not self._watching:
            self.start_watching()  # the first request in this process (a server without a start hook)
        self._last_request = time.monotonic()
        return self._live.renderer

    @property
    def current(self) -> Renderer:
        """The live renderer without looking at the file (for the error path)."""
        return self._live.renderer

    @property
    def menu(self) -> Menu:
        return self._live.renderer.menu

    def request_reload(self) -> None:
        """SIGHUP: re-read the file now, whatever its timestamp says."""
        self._force = True
        self._wake.set()

    def status(self) -> dict[str, object]:
        """For the public /healthz: no path, no file contents, bounded in size."""
        live, problem = self._live, self.problem
        status: dict[str, object] = {
            "status": "ok" if problem is None else "degraded",
            "menu": self.path.name,
            "sha256": live.renderer.menu.digest,
            "loaded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(live.loaded_at)),
            "serving": "last good copy" if live.from_copy else "menu file",
        }
        looking = time.monotonic() - self._looking_since if self._looking_since else 0.0
        if looking > SLOW_LOOK:
            status["status"] = "degraded"
            status["problem"] = {"file": self.path.name, "kind": "not-responding", "seconds": int(looking)}
        elif isinstance(problem, MenuInvalid):
            first = problem.problems[0] if problem.problems else None
            status["problem"] = {
                "file": Path(first.file).name if first else self.path.name,
                "line": first.line if first else 0,
                "kind": first.code if first else "invalid",
                "errors": len(problem.problems),
            }
        elif problem is not None:
            status["problem"] = {"file": self.path.name, "kind": type(problem).__name__}
        return status

    # --- reloading ---------------------------------------------------------------------------
    def check(self) -> bool:
        """Look at the file and apply it if it changed. Returns True if a new menu went live. Never
        raises. It reads the file: the watcher's job (or a request's, with `interval` 0)."""
        read = self._look()
        return read is not None and self._apply(read)

    def _look(self) -> Read | None:
        """The file, read if it changed since it was last read (a read is applied once, even while
        it waits for a gap between calls or is being built)."""
        self._looking_since = time.monotonic()
        try:
            signature = self._signature()
            if signature == self._seen and not self._force:
                return None
            self._seen, self._force = signature, False
            try:
                return Read(read_menu_file(self.path, self.max_bytes))
            except Exception as err:  # noqa: BLE001 - a failed reload must never stop the next one
                return Read(error=err)
        finally:
            self._looking_since = 0.0

    def _apply(self, read: Read) -> bool:
        """Build what was read and swap it in, or refuse it. True if a new menu went live."""
        if not self._lock.acquire(blocking=False):
            self._pending = self._pending or read  # the other thread is applying an edit: this one comes next
            return False
        try:
            try:
                if read.error is not None:
                    raise read.error
                renderer = self._render(read.raw)
            except Exception as err:  # noqa: BLE001 - a failed reload must never stop the next one
                self._refuse(err)
                return False
            self._accept(renderer, read.raw)
            return True
        finally:
            self._lock.release()

    def _start(self) -> Live:
        try:
            raw = read_menu_file(self.path, self.max_bytes)
            renderer = self._render(raw)
        except MenuInvalid as err:
            copy = self._from_last_good()
            if copy is None:
                raise
            self.problem = err
            log.error("%s\nTHE MENU FILE HAS ERRORS. Serving the last good copy (%s) until it is fixed.", err, self.last_good.path)
            return Live(copy, time.time(), from_copy=True)
        self.last_good.save(raw)
        return Live(renderer, time.time())

    def _render(self, raw: bytes) -> Renderer:
        return Renderer(load_menu_bytes(raw, str(self.path), self.path)).warm()

    def _from_last_good(self, unless: str = "") -> Renderer | None:
        """The last good copy, ready to serve; None if there is none, or it is the menu `unless`
        (by digest: no need to parse and render again the menu that is already live)."""
        raw = self.last_good.read()
        if raw is None or hashlib.sha256(raw).hexdigest() == unless:
            return None
        try:
            return self._render(raw)
        except MenuInvalid:
            return None

    def _accept(self, renderer: Renderer, raw: bytes) -> None:
        if renderer.menu.digest != self._live.renderer.menu.digest:
            log.info("Menu reloaded from %s (sha256 %s)", self.path.name, renderer.menu.digest[:12])
        elif self.problem is not None:
            log.info("Menu file %s is valid again.", self.path.name)
        self._live = Live(renderer, time.time())  # the swap: one assignment
        self._audio_dir = renderer.menu.audio_dir
        self.problem = None
        self.last_good.save(raw)

    def _refuse(self, err: Exception) -> None:
        """Keep serving, say why once (until the file changes again), and show it at /healthz."""
        self.problem = err
        copy = self._from_last_good(unless=self._live.renderer.menu.digest) if isinstance(err, MenuInvalid) else None
        if copy is not None:
            self._live = Live(copy, time.time(), from_copy=True)  # e.g. a worker forked from an older menu
        if isinstance(err, MenuInvalid):
            log.error("Menu reload refused: the line keeps serving the last good menu until the file is fixed.\n%s", err)
        else:
            log.error("Menu reload failed; the line keeps serving the last good menu.", exc_info=err)

    def _signature(self) -> tuple[tuple[int, int, int], tuple]:
        """The file's (mtime, size, inode): a half-written or replaced file counts as changed; and
        the recordings folder's names, sizes and times: a recording added, replaced or accepted
        is rendered into the answers without an edit of the menu."""
        try:
            stat = self.path.stat()
            file = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        except OSError:
            file = (0, 0, 0)
        return file, recordings.signature(self._audio_dir) if self._audio_dir else ()

    def apply_between_requests(self) -> None:
        """After a response has gone out (gunicorn's post_request in a sync worker, which answers
        one call at a time): build the edit the watcher has read now, so no call is answered while
        a new menu is built and the garbage collector's pass over it runs. The file itself is not
        touched here. A quiet worker is updated by its watcher instead."""
        read, self._pending = self._pending, None
        if read is not None:
            if self._apply(read):
                # The old menu's objects are garbage now and the new one's are many new survivors:
                # the collector's next full pass (tens of ms for a big menu) is due. Run it here,
                # between calls, rather than in the middle of a later one.
                gc.collect()

    def _watch(self) -> None:
        """One round of the watcher: look at the file; apply what it read, unless calls are flowing
        through a sync worker (then it waits for apply_between_requests)."""
        read = self._look() or self._pending
        if read is None:
            return
        if self.between_requests and time.monotonic() - self._last_request < QUIET:
            self._pending = read
        else:
            self._pending = None
            self._apply(read)

    def start_watching(self) -> None:
        """In the process that answers calls (a gunicorn worker: its post_worker_init): start the
        watcher thread, which brings the menu up to date at once (the file may have changed since
        this process's menu was loaded), then looks every `interval` s. Waits for that first look,
        so a restarted worker does not answer with a stale menu, but not beyond SLOW_LOOK: a stuck
        file system must not keep a worker from booting.

        Not at start-up: gunicorn's master loads the app and only forks workers, which do not
        inherit threads; a watcher there would reload every edit once more for nothing.
        """
        if self._watching or self.interval <= 0:
            return
        self._watching = True
        os.register_at_fork(after_in_child=_after_fork(weakref.ref(self)))
        self._lock = threading.Lock()  # fresh: a fork may have copied a held one
        self._wake = threading.Event()
        store, wake, interval, looked = weakref.ref(self), self._wake, self.interval, threading.Event()

        def run() -> None:
            while True:
                live = store()
                if live is None:
                    return
                live._watch()
                del live
                looked.set()
                wake.wait(interval)
                wake.clear()

        threading.Thread(target=run, name="menu-watch", daemon=True).start()
        looked.wait(SLOW_LOOK)


def _after_fork(ref: weakref.ref[MenuStore]) -> Callable[[], None]:
    def forked() -> None:
        store = ref()
        if store is not None:
            store._watching = False  # the child has no watcher thread: its first request starts one

    return forked
