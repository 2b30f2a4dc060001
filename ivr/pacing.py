"""Background work that gives way to calls in progress.

Reloading a big menu is seconds of pure-Python work (parse, validate, pre-render, and
later freeing the old menu) in a thread of the serving process. Threads share one
interpreter lock, so a request arriving meanwhile would share the CPU with the reload
and take several times longer. Instead the long loops call `give_way()` every few
dozen microseconds of work; inside a reload thread that waits while any request is
being answered, so the reload runs in the gaps between webhooks and a request is
delayed by at most one short slice. Anywhere else (the CLI, tests, the first load at
start-up) `give_way()` does nothing.
"""

from __future__ import annotations

import gc
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

T = TypeVar("T")
_ACTIVE: ContextVar[_Job | None] = ContextVar("ivr_paced_job", default=None)
SWITCH_INTERVAL = 0.0001  # while paced work runs, a woken request thread gets the interpreter within 0.1 ms
CONTENDED = 0.00002  # a slice that took this much longer than its own CPU time was interrupted by another thread
MIN_REST = 0.002  # seconds: the shortest rest while a request is being answered
SWEEP_EVERY = 0.002  # seconds between young-generation passes
RECENT = 0.001  # seconds after a request during which the server still counts as busy
BURST = 0.0001  # seconds of work, when idle, between short pauses...
BREATHER = 0.00005  # ...of this long


def give_way() -> None:
    """A safe point in a long loop: yield to calls in progress if this thread's work is paced."""
    job = _ACTIVE.get()
    if job is not None:
        job.give_way()


def paced(items: Iterable[T], every: int = 64) -> Iterator[T]:
    """`items`, with a safe point every `every` items (unwrapped when nothing is paced)."""
    if _ACTIVE.get() is None:
        return iter(items)
    return _with_safe_points(items, every)


def _with_safe_points(items: Iterable[T], every: int) -> Iterator[T]:
    for n, item in enumerate(items, 1):
        yield item
        if n % every == 0:
            give_way()


class Pacer:
    """Counts requests in progress; lets background work wait for them to finish.

    At a safe point, background work carries straight on while the server is idle (with a
    short real pause every `BURST` of work); while the server is busy it rests `REST` times
    as long as its last slice took, at least `MIN_REST` and at most `max_wait`, so a request
    is held up by one slice at most. It still advances (slowly) on a server never idle.
    """

    REST = 4

    def __init__(self, max_wait: float = 0.005):
        self.max_wait = max_wait
        self.in_progress = 0
        self.last_answered = 0.0  # perf_counter() when the last request was answered
        self._count_lock = threading.Lock()
        self._switch_lock = threading.Lock()
        self._running = 0
        self._saved_switch = sys.getswitchinterval()
        # For benchmarks: the most CPU time background work spent between two safe points.
        self.longest_slice = 0.0

    # --- the request side ----------------------------------------------------------------
    def wrap(self, wsgi_app: Callable[..., Any]) -> Callable[..., Any]:
        """WSGI middleware: counts a request as in progress while the app answers it."""

        def counted(environ: dict, start_response: Callable[..., Any]) -> Any:
            with self._count_lock:
                self.in_progress += 1
            try:
                return wsgi_app(environ, start_response)
            finally:
                with self._count_lock:
                    self.in_progress -= 1
                self.last_answered = time.perf_counter()

        return counted

    # --- the background side -------------------------------------------------------------
    @property
    def working(self) -> bool:
        """True while paced background work is running (for benchmarks and tests)."""
        return self._running > 0

    @contextmanager
    def background(self, freeze: bool = False) -> Iterator[None]:
        """Run the block as paced work: its safe points give way to requests.

        `freeze`: what the block makes is long-lived; freeze it (`gc.freeze`) as it goes.
        """
        token = _ACTIVE.set(_Job(self, freeze))
        with self._switch_lock:
            if self._running == 0:
                self._saved_switch = sys.getswitchinterval()
                sys.setswitchinterval(min(self._saved_switch, SWITCH_INTERVAL))
            self._running += 1
        try:
            yield
        finally:
            _ACTIVE.reset(token)
            with self._switch_lock:
                self._running -= 1
                if self._running == 0:
                    sys.setswitchinterval(self._saved_switch)


class _Job:
    """One thread's paced work: times its slices and decides how long to rest at each safe point."""

    def __init__(self, pacer: Pacer, freeze: bool):
        self.pacer = pacer
        self.freeze = freeze
        self.wall = time.perf_counter()
        self.cpu = time.thread_time()
        self.swept = self.breathed = self.wall

    def give_way(self) -> None:
        pacer = self.pacer
        now = time.perf_counter()
        wall = now - self.wall
        cpu = time.thread_time() - self.cpu
        pacer.longest_slice = max(pacer.longest_slice, cpu)
        if now - self.swept > SWEEP_EVERY:
            # A small pass over the young objects every few milliseconds. Requests go on
            # making short-lived garbage, and the collector's own passes are paused (while a
            # menu is adopted) or held off (freeing a big menu deallocates far more than it
            # allocates). If this job makes objects that will live on (a menu being adopted),
            # then between requests: sweep the two young generations (little, since the last
            # freeze) and freeze what is left, so that no collection walks it again. Never
            # while a request is being answered: what another thread holds at that moment is
            # frozen too, and should it later become cyclic garbage, it is never collected.
            if self.freeze and not pacer.in_progress:
                gc.collect(1)
                gc.freeze()
            else:
                gc.collect(0)
            self.swept = now
        # Busy: a request is being answered, one was answered a moment ago (another is likely
        # on its way in), or another thread ran in the middle of our slice.
        if pacer.in_progress or now - pacer.last_answered < RECENT or wall - cpu > CONTENDED:
            time.sleep(min(pacer.max_wait, max(pacer.REST * wall, MIN_REST)))
            self.breathed = time.perf_counter()
        elif now - self.breathed > BURST:
            # Idle as far as we can tell, but a request may have just arrived and not yet
            # reached the app: a real pause hands it the interpreter at once, where it would
            # otherwise wait out the switch interval and then share the CPU with us.
            time.sleep(BREATHER)
            self.breathed = time.perf_counter()
        self.wall = time.perf_counter()
        self.cpu = time.thread_time()
