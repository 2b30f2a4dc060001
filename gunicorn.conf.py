"""Production serving: `gunicorn server:app` (this file is read automatically from the working directory).

- Workers from the CPU count; each answers any request (the app keeps no call state).
- Timeouts well under Twilio's 15 s webhook limit, so a stuck worker is replaced before
  Twilio gives up and plays the Fallback URL.
- The access log has the path only: no query string (it carries call state) and no form
  data, so no caller number can reach it. Twilio's own address is not logged either.
  Whatever a request brings (its decoded path, a bad request line) is logged with control
  characters escaped: `GET /x%0aFORGED` is logged as `/x\nFORGED`, never as a second line.
- The app is loaded once in the master (preload). A worker that is (re)started brings its
  menu up to date before its first call: the file, or, if the file is broken, the last good
  copy on disk. An invalid edit can never stop a worker from booting, nor can a stuck file
  system (it waits at most 2 s for the watcher's first look, then answers with what it has).
- A busy worker applies an edit right after a response has gone out, never while it is
  answering a call (a quiet one, from its watcher thread): see ivr/line/store.py.
- Each worker saves its statistics every few seconds and once more as it exits
  (`worker_exit`), within half the graceful timeout: to the database, or to the state folder
  when the database cannot take them, so a restart or a deploy loses no counts: see
  ivr/stats/counters.py.
"""

import logging
import multiprocessing
import os

from gunicorn.glogging import Logger, SafeAtoms

from ivr.line.logtext import printable

bind = os.environ.get("GUNICORN_BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"  # the TLS proxy in front buffers slow clients; webhooks are short
timeout = 10  # Twilio gives up after 15 s
graceful_timeout = 10
keepalive = 5
preload_app = True
max_requests = 20000  # recycle workers now and then; jitter keeps them from restarting together
max_requests_jitter = 2000
limit_request_line = 4094
limit_request_fields = 50
limit_request_field_size = 8190
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
access_log_format = os.environ.get("GUNICORN_ACCESS_FORMAT", '%(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms')
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")


class PrintableAtoms(SafeAtoms):
    """The access log's fields (path, headers...), each escaped as the format asks for it."""

    def __getitem__(self, key: str) -> object:
        value = super().__getitem__(key)
        return printable(value) if isinstance(value, str) else value


class OneLine(logging.Filter):
    """gunicorn's own messages can quote a request ("Invalid request from ip=...: <the line>"):
    each record is one line (a traceback, kept apart in exc_info, still follows it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if not message.isprintable():
            record.msg, record.args = printable(message), ()
        return True


class EscapingLogger(Logger):
    atoms_wrapper_class = PrintableAtoms

    def setup(self, cfg) -> None:  # noqa: ANN001 - gunicorn's Config
        super().setup(cfg)
        self.error_log.addFilter(ONE_LINE)  # the same instance each time: added once


ONE_LINE = OneLine()


logger_class = EscapingLogger


def _store(worker):  # noqa: ANN001, ANN202
    """The line's menu store (None for another app under these settings, e.g. the benchmark's floor)."""
    return getattr(worker.wsgi, "extensions", {}).get("ivr_store")


def post_worker_init(worker):  # noqa: ANN001, ANN201 - gunicorn's hook signature
    """Before a worker answers its first call: bring its menu up to date with the file (or the
    last good copy), start its watcher, and let SIGHUP force a reload (gunicorn resets signal
    handlers in workers)."""
    from ivr.line.app import install_sighup

    store = _store(worker)
    if store is not None:
        store.between_requests = worker_class == "sync"  # one call at a time: edits wait for a gap
        store.start_watching()
        install_sighup(store)


def post_request(worker, req, environ, resp):  # noqa: ANN001, ANN201
    """The response has gone out: the moment to apply an edit the watcher has seen."""
    store = _store(worker)
    if store is not None:
        store.apply_between_requests()


def worker_exit(server, worker):  # noqa: ANN001, ANN201
    """The worker is going (a stop, a restart, max_requests): save the counts it still holds, well
    before the master's graceful timeout runs out and it kills the worker."""
    counter = getattr(getattr(worker, "wsgi", None), "extensions", {}).get("ivr_count")
    if counter is not None:
        counter.close(within=worker.cfg.graceful_timeout / 2)
