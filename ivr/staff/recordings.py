"""The recording workflow: the script to record from, each sentence's state, and accepting.

A sentence's recording is missing, new (there, not yet checked), present (checked: accepted
for the words the menu says now), stale (accepted for other words: callers hear the new
words spoken until it is re-recorded or accepted again) or damaged (not a sound Twilio can
play: spoken instead). A file no sentence is named after is unused. Lint shows the same.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from ..line.sentences import Sentence, catalogue
from ..menu import model as m
from ..menu.recordings import stem
from ..menu.spoken import seconds

MISSING, NEW, PRESENT, STALE, DAMAGED = "missing", "new", "present", "stale", "damaged"
AUDIO_RATIO = (0.5, 2.0)  # a recording this much shorter or longer than its words is probably the wrong one
DIGITS = re.compile(r"(?<!\d)\d(?!\d)(?:[ ,]+\d(?!\d))+")  # "9 1 1", "1, 8 8 8, 3 7 3": one digit at a time
NUMBER = re.compile(r"\d{2,}")  # "24", "200": said as numbers (once the digit groups are taken out)


@dataclass(frozen=True)
class Row:
    sentence: Sentence
    state: str
    recording: m.Recording | None

    @property
    def file(self) -> str:
        return self.recording.file if self.recording else self.sentence.file_name()

    def why(self) -> str:
        """What this state means for callers, and what to do, in a few words."""
        r = self.recording
        if self.state == MISSING:
            return "not recorded: callers hear it spoken"
        if self.state == DAMAGED:
            return f"{r.problem}: callers hear it spoken. Export it again (docs/recording.md)"
        if self.state == STALE:
            return "recorded for other words: callers hear the new words spoken. Record it again, or accept it if it still says them"
        if self.state == NEW:
            return f"not checked yet: listen to it, then `ivr recordings accept audio/{r.file}`"
        return "checked"

    def length_warning(self) -> str | None:
        """A recording far longer or shorter than its words: probably another sentence's."""
        if self.recording is None or self.state == DAMAGED:
            return None
        expected = seconds(self.sentence.text, self.sentence.code)
        length = self.recording.seconds
        if expected and not (AUDIO_RATIO[0] <= length / expected <= AUDIO_RATIO[1]):
            return f"lasts {length:.1f} s but its words take about {expected:.0f} s to say; is it the right recording?"
        return None


def state_of(recording: m.Recording | None, text: str) -> str:
    if recording is None:
        return MISSING
    if recording.problem is not None:
        return DAMAGED
    if recording.accepted is None:
        return NEW
    return PRESENT if recording.accepted == m.digest(text) else STALE


def rows(menu: m.Menu) -> list[Row]:
    """Every sentence with its recording's state, in call order."""
    library, found = menu.recordings, []
    for sentence in catalogue(menu):
        recording = library.files.get(sentence.file) if sentence.file else library.find(sentence.stem)
        found.append(Row(sentence, state_of(recording, sentence.text), recording))
    return found


def unused(menu: m.Menu, every: list[Row] | None = None) -> list[str]:
    """Recordings no sentence plays (an old name, a typo, a removed node, a .wav beside an .mp3)."""
    used = {row.recording.file for row in every or rows(menu) if row.recording is not None}
    return [file for file in menu.recordings.files if file not in used]


def notes(text: str) -> str:
    """What the person recording must know about the numbers in the words."""
    said = []
    digits = DIGITS.findall(text)
    if digits:
        said.append("digit by digit: " + "; ".join(digits))
    numbers = NUMBER.findall(DIGITS.sub(" ", text))
    if numbers:
        said.append("as numbers: " + ", ".join(numbers))
    return "Read " + ", and ".join(said) + "." if said else ""


# --- the script ------------------------------------------------------------------------
def script_rows(menu: m.Menu, lang: str | None = None) -> list[Row]:
    return [row for row in rows(menu) if lang is None or row.sentence.code == lang]


def script_markdown(menu: m.Menu, lang: str | None = None) -> str:
    """The script to print: per language, every sentence in call order, grouped by when it is heard."""
    out = [f"# Recording script for {Path(menu.path).name}", ""]
    out += [
        "Record each sentence as its own file, named as shown, mono, in a quiet room (docs/recording.md).",
        "Put the files in the line's audio/ folder, then run `ivr recordings status` and `ivr recordings accept`.",
        "",
    ]
    every = script_rows(menu, lang)
    for code, language in menu.languages.items():
        mine = [row for row in every if row.sentence.code == code]
        if not mine:
            continue
        total = sum(seconds(row.sentence.text, code) for row in mine)
        out += [f"## {language.name} ({code}): {len(mine)} sentences, about {total / 60:.0f} minutes", ""]
        when = None
        for number, row in enumerate(mine, 1):
            if row.sentence.when != when:
                when = row.sentence.when
                out += ["", f"### Heard {when}", "", "| # | File | Words | Seconds | Note | Now |", "|---|---|---|---|---|---|"]
            s = row.sentence
            words = s.text.replace("|", "\\|")
            out.append(f"| {number} | `{row.file}` | {words} | {seconds(s.text, code):.1f} | {notes(s.text)} | {row.state} |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def script_csv(menu: m.Menu, lang: str | None = None) -> str:
    """The script for a spreadsheet: one row per sentence."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["language", "order", "file", "words", "estimated_seconds", "note", "heard", "state"])
    for number, row in enumerate(script_rows(menu, lang), 1):
        s = row.sentence
        writer.writerow([s.code, number, row.file, s.text, f"{seconds(s.text, s.code):.1f}", notes(s.text), s.when, row.state])
    return buffer.getvalue()


# --- status ----------------------------------------------------------------------------
def status_text(menu: m.Menu, every: list[Row], show_all: bool = False) -> str:
    library = menu.recordings
    lines = [f"Recordings for {menu.path} in {library.folder}/:"]
    if library.problem:
        lines.append(f"  problem: {library.problem}")
    for row in every:
        if row.state != MISSING or show_all:
            lines.append(f"  {row.state:<8} {row.file:<44} {row.why()}")
            if row.length_warning():
                lines.append(f"  {'':<8} {'':<44} it {row.length_warning()}")
            for advice in row.recording.advice if row.recording else ():
                lines.append(f"  {'':<8} {'':<44} it {advice}")
    missing = [row for row in every if row.state == MISSING]
    if missing and not show_all:
        per = ", ".join(f"{code} {sum(1 for r in missing if r.sentence.code == code)}" for code in menu.languages)
        lines.append(f"  {len(missing)} sentences have no recording ({per}): callers hear them spoken. `ivr recordings script` lists them.")
    for file in unused(menu, every):
        lines.append(f"  unused   {file:<44} no sentence has this name: rename it (see the script) or remove it")
    counts = {state: sum(1 for row in every if row.state == state) for state in (PRESENT, NEW, STALE, DAMAGED, MISSING)}
    lines.append(
        f"{len(every)} sentences: " + ", ".join(f"{n} {state}" for state, n in counts.items()) + f"; {len(unused(menu, every))} unused."
    )
    return "\n".join(lines)


def status_json(menu: m.Menu, every: list[Row]) -> dict[str, object]:
    return {
        "folder": menu.recordings.folder,
        "problem": menu.recordings.problem,
        "sentences": [
            {
                "language": row.sentence.code,
                "name": row.sentence.name,
                "file": row.file,
                "state": row.state,
                "words": row.sentence.text,
                "seconds": round(row.recording.seconds, 2) if row.recording and row.state != DAMAGED else None,
                "estimated_seconds": round(seconds(row.sentence.text, row.sentence.code), 1),
                "problem": row.recording.problem if row.recording else None,
            }
            for row in every
        ],
        "unused": unused(menu, every),
    }


def failing(every: list[Row]) -> bool:
    """What `status` exits 1 for: a stale recording (or one callers cannot be played)."""
    return any(row.state in (STALE, DAMAGED) for row in every)


# --- accepting -------------------------------------------------------------------------
class NotAccepted(Exception):
    pass


def file_name(menu: m.Menu, given: str) -> str:
    """A file as staff type it (audio/en/x.mp3, a full path, or en/x.mp3) -> its name under the folder."""
    folder = Path(menu.recordings.folder)
    path = Path(given)
    try:
        return path.resolve().relative_to(folder).as_posix()
    except ValueError:
        return path.as_posix()


def accept(menu: m.Menu, given: list[str]) -> dict[str, tuple[str, Sentence]]:
    """The manifest entries for these files (file -> (digest, its sentence)); raises NotAccepted,
    saying why, for a file that is not a playable recording of a sentence of this menu."""
    by_file = {row.file: row for row in rows(menu) if row.recording is not None}
    accepted: dict[str, tuple[str, Sentence]] = {}
    for name in given:
        file = file_name(menu, name)
        recording = menu.recordings.files.get(file)
        if recording is None:
            raise NotAccepted(f"{name}: there is no such recording in {menu.recordings.folder}/.")
        if recording.problem:
            raise NotAccepted(f"{name} {recording.problem}; it cannot be accepted. Export it again (docs/recording.md).")
        row = by_file.get(file)
        if row is None:
            raise NotAccepted(f"{name}: no sentence of {menu.path} is named {stem(file)}; see `ivr recordings script` for the names.")
        accepted[file] = (m.digest(row.sentence.text), row.sentence)
    return accepted
