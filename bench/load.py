"""The line under gunicorn against the secure floor under the same gunicorn settings.

    python3 bench/load.py [--calls 2000] [--concurrency 200] [--processes 4]

Starts `gunicorn -c gunicorn.conf.py server:app` and `gunicorn -c gunicorn.conf.py
bench.floors:secure` on loopback ports, one at a time, and drives each with the
simulators' load mode: whole random calls (start, keys, silences, transfers), every
request signed, 200 calls in progress at once.

Phase 1, saturation: callers act the moment they hear an answer. Throughput (webhook
requests per second) against the floor: target >= 0.85.
Phase 2, paced: the same 200 concurrent calls, but each caller listens about a second
before acting (real callers listen for many), and the callers start over that first
second rather than all in the same millisecond. p99 webhook latency, as the client saw
it and as gunicorn's worker timed it: target < 20 ms.
Each phase runs line, floor, line, floor; the medians are reported.

The client is the simulators' load mode over plain http.client; it shares the machine's
two cores with the server, so its own overhead is inside the latencies it reports.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ivr.sim.load import LoadReport, run_load  # noqa: E402
from ivr.sim.transports import HttpTransport  # noqa: E402
from ivr.stats.database import Database  # noqa: E402

TOKEN = "bench-token-0123456789abcdef0123"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(target: str, port: int, access_log: Path) -> subprocess.Popen:
    env = {
        "IVR_STATE_DIR": str(access_log.parent / "state"),  # the line's statistics (on, as in production) and last good menu
        **os.environ,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "IVR_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "IVR_MENU": str(ROOT / "menus" / "main.yaml"),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_ACCESS_LOG": str(access_log),
        "GUNICORN_ACCESS_FORMAT": "%(D)s",  # microseconds the worker spent on the request
        "GUNICORN_LOG_LEVEL": "warning",
        "IVR_SIMULATOR": "off",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", target], cwd=ROOT, env=env, start_new_session=True
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                time.sleep(0.5)  # let every worker boot
                return process
        except OSError:
            time.sleep(0.1)
    stop(process)
    raise RuntimeError(f"{target} did not start")


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=30)


def _client(args: tuple[str, int, int, float, int]) -> tuple[int, int, float, list[float], dict[str, int]]:
    url, calls, concurrency, think, seed = args
    sys.setswitchinterval(0.0002)  # many threads per client: hand the GIL over quickly, or the client adds the latency
    report = run_load(lambda: HttpTransport(url), calls, concurrency, auth_token=TOKEN, seed=seed, progress=False, think=think)
    return report.calls, report.requests, report.seconds, report.latencies, dict(report.errors)


def drive(url: str, calls: int, concurrency: int, processes: int, think: float) -> LoadReport:
    """Several client processes (one Python process cannot keep 200 calls busy alone)."""
    jobs = [(url, calls // processes, concurrency // processes, think, seed) for seed in range(processes)]
    with multiprocessing.Pool(processes) as pool:
        parts = pool.map(_client, jobs)
    report = LoadReport()
    for n_calls, n_requests, seconds, latencies, errors in parts:
        report.calls += n_calls
        report.requests += n_requests
        report.seconds = max(report.seconds, seconds)
        report.latencies.extend(latencies)
        report.errors.update(errors)
    return report


def server_p99(access_log: Path, skip: int) -> float:
    """p99 of the time gunicorn's worker spent per request (seconds), after the warm-up requests."""
    times = sorted(int(line) / 1e6 for line in access_log.read_text().split()[skip:] if line.isdigit())
    return times[min(len(times) - 1, int(0.99 * len(times)))] if times else 0.0


def phase(name: str, calls: int, concurrency: int, processes: int, think: float) -> dict[str, list[LoadReport]]:
    results: dict[str, list[LoadReport]] = {"line": [], "floor": []}
    for _ in range(2):
        for label, target in (("line", "server:app"), ("floor", "bench.floors:secure")):
            port = free_port()
            with tempfile.TemporaryDirectory() as tmp:
                access_log = Path(tmp) / "access.log"
                process = start(target, port, access_log)
                try:
                    warm = drive(f"http://127.0.0.1:{port}", max(processes * 4, calls // 10), concurrency, processes, 0.0)
                    report = drive(f"http://127.0.0.1:{port}", calls, concurrency, processes, think)
                finally:
                    stop(process)
                report.server_p99 = server_p99(access_log, warm.requests)  # type: ignore[attr-defined]
                if label == "line":  # every call made, counted once by the workers' statistics
                    counted = Database(f"sqlite:///{tmp}/state/stats.sqlite3").totals().by_key.get(("", "call", ""), 0)
                    report.counted = (counted, warm.calls + report.calls)  # type: ignore[attr-defined]
            results[label].append(report)
            print(
                f"  {name} {label:<5}: {report.requests / report.seconds:7.0f} req/s, {report.calls / report.seconds:6.1f} calls/s, "
                f"client p50 {report.percentile(50) * 1e3:6.2f} ms, p99 {report.percentile(99) * 1e3:7.2f} ms; "
                f"server p99 {report.server_p99 * 1e3:5.2f} ms; errors {dict(report.errors) or 'none'}"  # type: ignore[attr-defined]
            )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--think", type=float, default=1.0, help="phase 2: mean seconds a caller listens before acting")
    parser.add_argument("--paced-calls", type=int, default=600)
    args = parser.parse_args()
    print(
        f"gunicorn workers: {os.environ.get('WEB_CONCURRENCY', multiprocessing.cpu_count() * 2 + 1)}; {args.concurrency} concurrent calls from {args.processes} client processes; CPUs: {multiprocessing.cpu_count()}\n"
    )
    print("Phase 1: saturation (no think time)")
    sat = phase("saturated", args.calls, args.concurrency, args.processes, 0.0)
    print(f"\nPhase 2: paced ({args.think:.1f} s mean think time)")
    paced = phase("paced", args.paced_calls, args.concurrency, args.processes, args.think)

    def rps(reports: list[LoadReport]) -> float:
        return statistics.median(r.requests / r.seconds for r in reports)

    def p99(reports: list[LoadReport]) -> float:
        return statistics.median(r.percentile(99) for r in reports)

    ratio = rps(sat["line"]) / rps(sat["floor"])
    print("\nSummary (medians of two runs each)")
    print(f"{'':<36}{'line':>10}{'floor':>10}{'ratio':>8}  target")
    print(
        f"{'saturated req/s':<36}{rps(sat['line']):>10.0f}{rps(sat['floor']):>10.0f}{ratio:>8.2f}  >= 0.85: {'met' if ratio >= 0.85 else 'MISSED'}"
    )
    print(
        f"{'saturated p99 ms, as the client saw it':<36}{p99(sat['line']) * 1e3:>10.2f}{p99(sat['floor']) * 1e3:>10.2f}{p99(sat['line']) / p99(sat['floor']):>8.2f}"
    )

    def server(reports: list[LoadReport]) -> float:
        return statistics.median(r.server_p99 for r in reports)  # type: ignore[attr-defined]

    line_p99 = p99(paced["line"]) * 1e3
    line_server = server(paced["line"]) * 1e3
    print(
        f"{'paced p99 ms, as the client saw it':<36}{line_p99:>10.2f}{p99(paced['floor']) * 1e3:>10.2f}{p99(paced['line']) / p99(paced['floor']):>8.2f}  < 20 ms: {'met' if line_p99 < 20 else 'MISSED'}"
    )
    print(
        f"{'paced p99 ms, in the worker':<36}{line_server:>10.2f}{server(paced['floor']) * 1e3:>10.2f}{server(paced['line']) / max(server(paced['floor']), 1e-9):>8.2f}  < 20 ms: {'met' if line_server < 20 else 'MISSED'}"
    )
    print(f"{'saturated p99 ms, in the worker':<36}{server(sat['line']) * 1e3:>10.2f}{server(sat['floor']) * 1e3:>10.2f}")
    errors = sum(sum(r.errors.values()) for reports in (sat, paced) for rs in reports.values() for r in rs)
    print(f"errors across all runs: {errors}")
    counted = [r.counted for reports in (sat, paced) for r in reports["line"]]  # type: ignore[attr-defined]
    print(f"statistics (SQLite, on): calls counted / made per line run: {', '.join(f'{c}/{m}' for c, m in counted)}")


if __name__ == "__main__":
    main()
