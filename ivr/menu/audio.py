"""Recordings: where they may live, and whether a file is one Twilio can play (read with mutagen).

Recordings are served only from the project's `audio/` folder. A menu's `audio_dir` may
name a folder inside it, and a file that is a link to somewhere outside it is refused,
both by the validator and when Twilio fetches it: a menu edit must never be a way to
publish other files of the server.

What Twilio plays (its `<Play>` reference): MP3 (`audio/mpeg`) and WAV (`audio/wav`),
among a few older kinds we do not accept; every file is transcoded to the telephone's
8 kHz mono, so anything finer only costs download time, and Twilio fetches the file while
the caller waits the first time it is played after a change.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import mutagen
from mutagen.mp3 import MP3
from mutagen.wave import WAVE

MIME = {".mp3": "audio/mpeg", ".wav": "audio/wav"}  # what /audio/ serves each kind as (Twilio error 13420 otherwise)
MIN_SAMPLE_RATE = 8000  # the telephone's own rate: below it a recording sounds worse than the synthetic voice
MAX_BYTES = 10_000_000  # a sentence, not an album: beyond this the first caller waits for Twilio's download
ADVISED_BYTES = 1_000_000  # about a minute of 16 kHz mono MP3; larger only costs download time
WAV_ENCODINGS = {1: "PCM", 6: "A-law", 7: "mu-law"}  # what a telephone WAV holds (format tags)


class AudioProblem(Exception):
    """A file that is not a recording Twilio can play: callers hear the words spoken instead."""


class AudioOutside(Exception):
    """A recording (or the folder of recordings) that resolves outside the project's audio/."""


class AudioInfo(NamedTuple):
    kind: str  # "mp3" or "wav"
    seconds: float
    sample_rate: int
    channels: int
    size: int  # bytes


def project_audio_root(menu_file: Path) -> Path:
    """The project's audio/ folder: beside the folder that holds the menu file (menus/../audio)."""
    return (menu_file.parent / ".." / "audio").resolve()


def find_recording(audio_dir: Path, name: str, root: Path | None = None) -> Path | None:
    """The file `name` under `audio_dir`, resolved (links followed), or None if there is none.

    Raises AudioOutside when it exists but resolves outside `root` (default: `audio_dir`). A
    name no file can have (a NUL byte, a name too long for the file system) is no recording.
    """
    try:
        path = (audio_dir / name).resolve()
        if not path.is_relative_to((root or audio_dir).resolve()):
            if path.exists():
                raise AudioOutside(name)
            return None
        return path if path.is_file() else None
    except (OSError, ValueError):  # ValueError: "embedded null byte"; OSError: ENAMETOOLONG, EACCES...
        return None


def probe(path: Path) -> AudioInfo:
    """What a recording is, checked against what Twilio plays; raises AudioProblem, in words
    staff can act on, for anything a caller should not be played."""
    named = kind = path.suffix.lower().lstrip(".")
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise AudioProblem(f"is {size / 1e6:.0f} MB, more than the {MAX_BYTES // 1_000_000} MB a recording may be")
        with path.open("rb") as handle:
            head = handle.read(12)
        if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
            kind, read = "wav", WAVE
        elif head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):  # a tag, or a frame
            kind, read = "mp3", MP3
        else:
            raise AudioProblem("is not a WAV or MP3 recording")
        if kind != named:  # served as what its name says: Twilio would be told the wrong kind
            raise AudioProblem(f"is a {kind.upper()} recording named .{named}; rename it to .{kind}")
        info = read(path).info
    except OSError as err:
        raise AudioProblem(f"cannot be read ({err.strerror})") from None
    except (mutagen.MutagenError, ValueError, EOFError, ZeroDivisionError, IndexError) as err:
        raise AudioProblem(f"is a damaged {kind.upper()} file ({err})") from None
    if kind == "wav" and info.audio_format not in WAV_ENCODINGS:
        raise AudioProblem(f"is a WAV file in an encoding telephones do not use (format {info.audio_format}); export it as 16-bit PCM")
    if kind == "mp3" and getattr(info, "sketchy", False):
        raise AudioProblem("is a damaged MP3 file (its frames do not follow each other)")
    seconds, rate = float(info.length or 0.0), int(info.sample_rate or 0)
    if seconds <= 0.05:
        raise AudioProblem("holds no sound (it lasts no time at all)")
    if rate < MIN_SAMPLE_RATE:
        raise AudioProblem(f"is sampled at {rate} Hz, below the telephone's {MIN_SAMPLE_RATE} Hz")
    # A cut-off file still has the header that promised all of it: compare the bytes with the promise.
    promised = seconds * (info.bitrate or 0) / 8
    if promised and size < 0.8 * promised:
        raise AudioProblem(f"is cut off: it holds {size:,} bytes of the {promised:,.0f} its header promises")
    return AudioInfo(kind, seconds, rate, int(info.channels or 1), size)


def advice(info: AudioInfo) -> list[str]:
    """What is fine to play but worth fixing at the next export."""
    said = []
    if info.channels > 1:
        said.append("is stereo; telephones are mono (export it as mono: half the size)")
    if info.size > ADVISED_BYTES:
        said.append(f"is {info.size / 1e6:.1f} MB; export it as 8 or 16 kHz mono so Twilio fetches it quickly")
    return said


def duration(path: Path) -> float:
    """Seconds of audio in a WAV or MP3 file; raises AudioProblem for anything else."""
    return probe(path).seconds
