"""A throwaway PostgreSQL server for the statistics tests, from Debian's packages.

PostgreSQL refuses to run as root (CI runs as root), so there the cluster is made and
started as the `postgres` user the Debian package creates. It listens on a free loopback
port with trust authentication, keeps its data in a temporary folder, and is removed at
the end of the session.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path


class PostgresUnavailable(Exception):
    """No server can be started here; the message says why."""


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise PostgresUnavailable(f"no PostgreSQL server programs ({name}) here (apt-get install postgresql)")
    return found[-1]


class PostgresServer:
    def __init__(self) -> None:
        self.initdb, self.pg_ctl = _bin("initdb"), _bin("pg_ctl")
        self.as_user: list[str] = []
        self.root = Path(tempfile.mkdtemp(prefix="ivr-postgres-"))
        if os.geteuid() == 0:
            if shutil.which("runuser") is None:
                raise PostgresUnavailable("running as root without runuser to start PostgreSQL as its own user")
            try:
                shutil.chown(self.root, "postgres", "postgres")
            except LookupError:
                raise PostgresUnavailable("running as root and there is no postgres user to run the server as") from None
            self.as_user = ["runuser", "-u", "postgres", "--"]
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.data = self.root / "data"
        self._run(self.initdb, "-D", str(self.data), "-U", "ivr", "--auth=trust", "-E", "UTF8", "--no-sync")
        self.start()

    def _run(self, *args: str) -> None:
        done = subprocess.run([*self.as_user, *args], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise PostgresUnavailable(f"{Path(args[0]).name} failed: {(done.stderr or done.stdout).strip()[-500:]}")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        self._run(self.pg_ctl, "-D", str(self.data), "-o", options, "-l", str(self.root / "server.log"), "-w", "start")

    def stop(self) -> None:
        self._run(self.pg_ctl, "-D", str(self.data), "-m", "fast", "-w", "stop")

    def processes(self) -> list[int]:
        """The postmaster and every process it started (backends, checkpointer, WAL writer...)."""
        from .processes import children

        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        return [postmaster, *children(postmaster)]

    def pause(self) -> list[int]:
        """Hang the server as a stalled disk or network would: SIGSTOP to all its processes.
        Connections stay open and new ones are accepted by the kernel, but nothing answers."""
        stopped = self.processes()
        os.kill(stopped[0], signal.SIGSTOP)  # the postmaster first: it starts every other process
        stopped = self.processes()
        for pid in stopped:
            os.kill(pid, signal.SIGSTOP)
        return stopped

    def resume(self, stopped: list[int]) -> None:
        for pid in stopped:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://ivr@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database on this server: its URL, as staff would set IVR_STATS_URL."""
        import psycopg

        name = "stats_" + uuid.uuid4().hex[:12]
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=ivr dbname=postgres", autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def dump(self, url: str) -> str:
        """Every row of every table in a database, as text (what a privacy check must search)."""
        import psycopg

        database = url.rsplit("/", 1)[1]
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=ivr dbname={database}") as conn:
            tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
            return "\n".join(f"{t}: {row}" for t in tables for row in conn.execute(f'SELECT * FROM "{t}"'))

    def destroy(self) -> None:
        try:
            self.resume(self.processes())
        except (OSError, ValueError):
            pass
        try:
            self._run(self.pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop")
        except PostgresUnavailable:
            pass
        shutil.rmtree(self.root, ignore_errors=True)
