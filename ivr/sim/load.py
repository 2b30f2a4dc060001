"""Load mode: many whole simulated calls, concurrently, against a running server.

Each worker thread places calls one after another, scripted (round-robin over the
given scripts) or random (random keys, silences and dial outcomes, a bounded number
of steps). It reports calls per second, webhook latency percentiles and errors by
kind. Only loopback targets are allowed unless the operator says otherwise.
"""

from __future__ import annotations

import ipaddress
import random
import socket
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ..menu import Menu
from .caller import DIAL_OUTCOMES, Call, CallError
from .scripts import Script, run_script
from .transports import HttpTransport, Transport

KEYS = "0123456789*#"
# What random callers say: a spread of what the line must understand, and what it must not act on.
SAID = (
    "who are the victims", "Colorado hotline", "national hotline", "go back", "repeat", "press two", "español",
    "quienes son los tratantes", "línea nacional", "what's the weather", "um", "I need help", "ayuda", "main menu",
)  # fmt: skip


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except socket.gaierror:
        return False
    return bool(addresses) and all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses)


@dataclass
class LoadReport:
    calls: int = 0
    requests: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    spoken: int = 0  # turns where the caller spoke rather than pressed

    @property
    def calls_per_second(self) -> float:
        return self.calls / self.seconds if self.seconds else 0.0

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(round(p / 100.0 * (len(ordered) - 1))))]

    def summary(self) -> str:
        lines = [
            f"calls: {self.calls} in {self.seconds:.2f}s = {self.calls_per_second:.1f} calls/s",
            f"webhook requests: {self.requests} = {self.requests_per_second:.0f} req/s ({self.spoken} spoken turns)",
            "webhook latency: p50 {:.1f} ms, p95 {:.1f} ms, p99 {:.1f} ms, max {:.1f} ms".format(
                *(1000 * x for x in (self.percentile(50), self.percentile(95), self.percentile(99), max(self.latencies, default=0)))
            ),
        ]
        if self.errors:
            lines.append("errors: " + ", ".join(f"{kind} x{n}" for kind, n in self.errors.most_common()))
        else:
            lines.append("errors: none")
        return "\n".join(lines)


def random_call(call: Call, rng: random.Random, max_steps: int = 12, think: float = 0.0) -> None:
    """A caller who presses random keys, says things now and then (on topic, off topic, asking for
    help), falls silent now and then, and gets random dial outcomes.

    `think` is the mean pause (seconds) before each action: a real caller listens first.
    """
    call.start()
    for _ in range(max_steps):
        if think:
            time.sleep(rng.uniform(0.5, 1.5) * think)
        if call.waiting_for == "gather":
            roll = rng.random()
            if roll < 0.15:
                call.silence()
            elif roll < 0.4:
                call.say(rng.choice(SAID), round(rng.uniform(0.3, 0.95), 2))  # keys-only menus hear nothing
            else:
                call.press(rng.choice(KEYS))
        elif call.waiting_for == "dial":
            call.dial_outcome(rng.choice(DIAL_OUTCOMES))
        else:
            break
    if call.waiting_for != "ended":
        call.hangup()
    call.call_ended(rng.randint(5, 900))  # Twilio's status callback, as the number is configured


def run_load(
    make_transport,  # noqa: ANN001 - () -> Transport, one per worker (connections are not shared)
    calls: int,
    concurrency: int,
    *,
    scripts: list[Script] | None = None,
    menu: Menu | None = None,
    auth_token: str | None = None,
    seed: int = 1,
    progress: bool = True,
    think: float = 0.0,
    ramp: float | None = None,
) -> LoadReport:
    """Place `calls` whole calls, `concurrency` at a time.

    `think`: mean seconds a caller listens before each action. `ramp`: seconds over which
    the concurrent callers start (default: one think time). Real calls do not all begin in
    the same millisecond; a burst of 200 simultaneous first requests would only measure
    the queue it makes.
    """
    report = LoadReport()
    ramp = think if ramp is None else ramp
    lock = threading.Lock()
    counter = iter(range(calls))
    done = [0]

    def take() -> int | None:
        with lock:
            return next(counter, None)

    def worker(index: int) -> None:
        transport: Transport = make_transport()
        rng = random.Random(seed * 1000 + index)
        if ramp:
            time.sleep(ramp * index / concurrency)
        while (n := take()) is not None:
            latencies: list[float] = []
            error = None
            call = Call(transport, auth_token=auth_token)
            try:
                if scripts:
                    result = run_script(scripts[n % len(scripts)], transport, menu, auth_token)  # type: ignore[arg-type]
                    call = result.call or call
                    if result.failure:
                        error = result.error_kind or "script-failed"
                else:
                    random_call(call, rng, think=think)
            except CallError as err:
                error = err.kind
            except Exception as err:  # noqa: BLE001 - connection errors and the like, counted by kind
                error = type(err).__name__
            latencies = call.latencies
            with lock:
                report.calls += 1
                report.requests += len(latencies)
                report.latencies.extend(latencies)
                report.spoken += sum(1 for e in call.events if e.kind == "speech")
                if error:
                    report.errors[error] += 1
                done[0] += 1

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    while any(t.is_alive() for t in threads):
        if progress:
            _progress(done[0], calls, time.perf_counter() - started)
        time.sleep(0.1)
    report.seconds = time.perf_counter() - started
    if progress:
        _progress(calls, calls, report.seconds)
        sys.stderr.write("\n")
    return report


def _progress(done: int, total: int, elapsed: float) -> None:
    width = 30
    filled = int(width * done / max(total, 1))
    rate = done / elapsed if elapsed else 0.0
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} calls  {rate:.0f} calls/s")
    sys.stderr.flush()


def http_transport_factory(url: str):  # noqa: ANN201
    return lambda: HttpTransport(url)
