"""What a worker killed outright (kill -9, the kernel's out-of-memory killer) loses of the counts.

    python3 bench/crash.py [--runs 5] [--callers 8]

Starts the line under gunicorn (production settings, statistics on, in SQLite), drives it
with whole random calls from several threads, kills one worker with SIGKILL at a random
moment after a few save rounds, keeps calling for a few seconds (gunicorn boots a new
worker), then stops the server gracefully and compares the calls answered with the calls
counted. A killed worker cannot save anything: it loses what it counted since its last save
(every 5 s). The loss is also given as seconds of one worker's calls (the calls lost over
the rate at which one worker took calls). Target: at most the last few seconds of one
worker (<= 5 s, the save interval).
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import TOKEN, free_port, start, stop  # noqa: E402
from ivr.sim.caller import Call  # noqa: E402
from ivr.sim.load import random_call  # noqa: E402
from ivr.sim.transports import HttpTransport  # noqa: E402
from ivr.stats.database import Database  # noqa: E402
from tests.processes import children  # noqa: E402


def run(callers: int, seed: int) -> tuple[int, int, float, int]:
    """(calls answered, calls counted, calls per second, workers) for one server with one worker killed."""
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        process = start("server:app", port, Path(tmp) / "access.log")
        base = f"http://127.0.0.1:{port}"
        made, lock, done = [0], threading.Lock(), threading.Event()

        def caller(index: int) -> None:
            call_rng = random.Random(seed * 100 + index)
            while not done.is_set():
                call = Call(HttpTransport(base, timeout=15), auth_token=TOKEN)
                try:
                    random_call(call, call_rng, think=0.05)
                except Exception:  # noqa: BLE001, S110 - a call cut by the kill: answered or not, as seen below
                    pass
                if call.latencies:  # POST /voice was answered: the call was counted somewhere
                    with lock:
                        made[0] += 1

        threads = [threading.Thread(target=caller, args=(i,)) for i in range(callers)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        time.sleep(7 + rng.uniform(0, 5))  # past a save round or two, at a random moment within one
        pool = children(process.pid)
        os.kill(rng.choice(pool), signal.SIGKILL)
        time.sleep(6)
        done.set()
        for thread in threads:
            thread.join(30)
        seconds = time.monotonic() - started
        stop(process)  # SIGTERM: the other workers save what they hold
        counted = Database(f"sqlite:///{tmp}/state/stats.sqlite3").totals().by_key.get(("", "call", ""), 0)
        return made[0], counted, made[0] / seconds, len(pool)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--callers", type=int, default=8)
    args = parser.parse_args()
    print(f"{'run':>4}{'answered':>10}{'counted':>9}{'lost':>6}{'calls/s':>9}{'workers':>9}{'lost, s of one worker':>23}")
    lost_seconds = []
    for index in range(args.runs):
        made, counted, rate, pool = run(args.callers, index + 1)
        lost = made - counted
        lost_seconds.append(lost / (rate / pool))
        print(f"{index + 1:>4}{made:>10}{counted:>9}{lost:>6}{rate:>9.1f}{pool:>9}{lost_seconds[-1]:>23.1f}")
    worst = max(lost_seconds)
    print(f"\nlost per kill -9: median {statistics.median(lost_seconds):.1f} s, worst {worst:.1f} s of one worker's calls")
    print(f"target <= 5 s (the save interval): {'met' if worst <= 5 else 'MISSED'}")


if __name__ == "__main__":
    main()
