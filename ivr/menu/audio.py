"""Recordings: where they may live, and just enough of WAV and MP3 to tell a real one and its length.

Recordings are served only from the project's `audio/` folder. A menu's `audio_dir` may
name a folder inside it, and a file that is a link to somewhere outside it is refused,
both by the validator and when Twilio fetches it: a menu edit must never be a way to
publish other files of the server.
"""

from __future__ import annotations

import wave
from pathlib import Path

# MPEG-1 Layer III bitrates (kbit/s) and sample rates; enough for a duration estimate.
_MP3_BITRATES = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0]
_MP3_V2_BITRATES = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0]


class AudioProblem(Exception):
    pass


class AudioOutside(Exception):
    """A recording (or the folder of recordings) that resolves outside the project's audio/."""


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


def duration(path: Path) -> float:
    """Seconds of audio in a WAV or MP3 file; raises AudioProblem for anything else."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise AudioProblem(f"cannot be read ({err.strerror})") from None
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        try:
            with wave.open(str(path)) as wav:
                return wav.getnframes() / float(wav.getframerate())
        except (wave.Error, EOFError, ZeroDivisionError) as err:
            raise AudioProblem(f"is a damaged WAV file ({err})") from None
    return _mp3_duration(data)


def _mp3_duration(data: bytes) -> float:
    offset = 0
    if data[:3] == b"ID3" and len(data) >= 10:
        size = (data[6] << 21) | (data[7] << 14) | (data[8] << 7) | data[9]
        offset = 10 + size
    for i in range(offset, min(len(data) - 4, offset + 4096)):
        if data[i] == 0xFF and data[i + 1] & 0xE0 == 0xE0:
            version = (data[i + 1] >> 3) & 0x3
            layer = (data[i + 1] >> 1) & 0x3
            bitrate_index = data[i + 2] >> 4
            if layer != 0x1 or version == 0x1 or bitrate_index in (0, 15):
                continue
            table = _MP3_BITRATES if version == 0x3 else _MP3_V2_BITRATES
            bitrate = table[bitrate_index] * 1000
            return (len(data) - i) * 8 / bitrate
    raise AudioProblem("is not a WAV or MP3 recording")
