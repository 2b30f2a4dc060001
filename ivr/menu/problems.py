"""Errors a staff member can act on.

Every problem found in a menu file becomes one `MenuProblem`: where it is
(file, line, column) and a full sentence saying what to change. Problems are
collected, not raised one by one, so an editor sees every mistake in one run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_MESSAGE = 400  # a message quotes what was written; a pasted novel must not flood the log
MAX_SNIPPET = 160


@dataclass(frozen=True, order=True)
class MenuProblem:
    """One error or warning at a place in a menu file (line and column are 1-based)."""

    file: str
    line: int
    column: int
    message: str
    severity: str = "error"
    code: str = field(default="invalid", compare=False)
    snippet: str = field(default="", compare=False)
    node: str = field(default="", compare=False)  # the node a lint warning is about, for the diagram

    def __str__(self) -> str:
        message = self.message if len(self.message) <= MAX_MESSAGE else self.message[:MAX_MESSAGE] + " [...]"
        text = f"{self.file}:{self.line}:{self.column}: {self.severity}: {message}"
        if self.snippet:
            text += "\n" + "\n".join(line[:MAX_SNIPPET] for line in self.snippet.splitlines())
        return text

    def as_dict(self) -> dict[str, object]:
        """For `--format json`: the place, the severity, the code and the message."""
        return {name: getattr(self, name) for name in ("file", "line", "column", "severity", "code", "message")}


SHOWN = 50  # problems listed anywhere (CLI, log, /healthz); the rest are counted


class MenuInvalid(Exception):
    """Raised when a menu file has errors; carries all of them, shows the first `SHOWN`."""

    def __init__(self, problems: list[MenuProblem]):
        self.problems = sorted(problems)
        super().__init__(self.report())

    @property
    def shown(self) -> list[MenuProblem]:
        return self.problems[:SHOWN]

    @property
    def more(self) -> int:
        """How many problems are not listed."""
        return max(0, len(self.problems) - SHOWN)

    def report(self) -> str:
        lines = [str(p) for p in self.shown]
        if self.more:
            lines.append(f"... and {self.more} more error(s) not shown; fix these first, then check again.")
        return "\n".join(lines)
