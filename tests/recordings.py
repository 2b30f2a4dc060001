"""Recordings for the tests: plain WAV files written with the standard library (no tools needed),
and the worked example's spoken ones (examples/make_recordings.py: espeak-ng and sox)."""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

from .conftest import need


def tone(path: Path, seconds: float = 1.0, rate: int = 8000, channels: int = 1) -> Path:
    """A real WAV recording: a quiet tone, mono 16-bit at the telephone's rate by default."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = b"".join(struct.pack("<h", int(3000 * math.sin(2 * math.pi * 440 * i / rate))) * channels for i in range(int(rate * seconds)))
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(frames)
    return path


def spoken_tools(mp3: bool = False) -> None:
    """The tools the worked example needs: skipped without them, mandatory under IVR_REQUIRE_TOOLS=1."""
    need("espeak-ng", "espeak-ng")
    need("sox", "sox")
    if mp3:
        need("lame", "lame")
