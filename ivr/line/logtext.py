"""What a request may put into a log line: its own text, with every unprintable character escaped.

A request's path arrives percent-decoded (`/x%0aFORGED` is `/x` and a new line), and its query
and form fields are whatever the sender wrote. Written into a log as they are, a newline
forges a log line of the sender's choosing and an escape sequence rewrites a staff member's
terminal. Everything a request supplies is therefore logged through `printable`: the line's
own loggers escape their arguments (`EscapeArguments`), the app's error log passes the path as
an argument, and gunicorn's access and error logs do the same (gunicorn.conf.py).
"""

from __future__ import annotations

import logging


def printable(text: str) -> str:
    """`text` with each character str.isprintable() refuses (controls such as newline, carriage
    return and escape; Unicode line separators; bidirectional and other format characters) written
    as its Python escape: `/x\\nFORGED`, `\\x1b[2J`, `\\u2028`. Printable text is returned as it is."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)


class EscapeArguments(logging.Filter):
    """Escapes the text arguments of every record of the logger it is added to; the message itself
    is ours (staff messages may span lines on purpose). Filters run only for records that are
    emitted, so a debug line that is switched off costs nothing."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and args:
            record.args = tuple(printable(a) if isinstance(a, str) else a for a in args)
        return True


ESCAPE_ARGUMENTS = EscapeArguments()  # one instance: adding it to a logger twice is a no-op


def escape_arguments(*loggers: logging.Logger) -> None:
    for logger in loggers:
        logger.addFilter(ESCAPE_ARGUMENTS)
