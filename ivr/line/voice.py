"""How the line speaks: every sentence a caller hears, by its stable name, recorded or spoken.

Each sentence has a name derived from what it is (`welcome.prompt`, `welcome.choice.1`,
`message.connecting.coneht`, `greeting`); its recording, if staff made one, is the file of
that name in the language's folder (`audio/en/welcome.prompt.mp3`). A sentence is played from
its recording when the file is a sound Twilio can play and was not accepted for other words;
otherwise it is spoken, as it always was: a call is never silent for a missing, damaged or
out-of-date recording.

A caller who asked the line to speak more slowly hears every sentence spoken, at the slower
rate: a recording cannot be slowed down.
"""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import quote

from twilio.twiml.voice_response import Gather, VoiceResponse

from ..menu import model as m

SLOW_RATE = "80%"  # SSML prosody for a caller who asked for it ("slower", "más despacio")
KEY_WORDS = {"*": "star", "#": "pound"}  # in file names: '#' ends a URL and '*' is a shell pattern


class Line(NamedTuple):
    """One sentence: its stable name (without language or extension) and its words."""

    name: str
    text: str


class Heard(NamedTuple):
    """A sentence as the script lists it: in which language, and from which file if a node names one."""

    code: str
    line: Line
    file: str | None = None  # an explicit `audio:` file; None: the stable name's own file


def key_word(key: str) -> str:
    return KEY_WORDS.get(key, key)


def audio_url(file: str) -> str:
    """Relative, like every URL of ours: Twilio resolves it against the webhook it fetched."""
    return f"audio/{quote(file)}"


class Voice(NamedTuple):
    """How the line speaks on this call: in the caller's language, slowly if they asked, with
    the menu's recordings. `heard`, when given, collects every sentence (the recording script)."""

    language: m.Language
    slow: bool = False
    recordings: m.Library = m.NO_RECORDINGS
    heard: list[Heard] | None = None

    @property
    def code(self) -> str:
        return self.language.code

    def other(self, language: m.Language) -> Voice:
        return self._replace(language=language)

    def recording(self, line: Line) -> m.Recording | None:
        """The recording to play for a sentence, or None to speak it."""
        if self.slow or not self.recordings.files:
            return None
        recording = self.recordings.find(f"{self.code}/{line.name}")
        return recording if recording is not None and recording.plays_for(line.text) else None

    def say(self, parent: VoiceResponse | Gather, *lines: Line | None) -> None:
        """Each sentence from its recording where there is one; the others spoken, those next to
        each other in one <Say> (so a line with no recordings writes what it always wrote)."""
        lines = tuple(line for line in lines if line is not None and line.text)
        if self.heard is not None:
            self.heard.extend(Heard(self.code, line) for line in lines)
        spoken: list[str] = []
        for line in lines:
            recording = self.recording(line)
            if recording is None:
                spoken.append(line.text)
                continue
            self.speak(parent, " ".join(spoken))
            spoken = []
            parent.play(audio_url(recording.file))
        self.speak(parent, " ".join(spoken))

    def say_from(self, parent: VoiceResponse | Gather, file: str, lines: list[Line]) -> None:
        """A node's own `audio:` file in place of these sentences, when it can be played for them."""
        text = " ".join(line.text for line in lines if line.text)
        if self.heard is not None:
            self.heard.append(Heard(self.code, Line(file.rsplit(".", 1)[0], text), file))
        recording = self.recordings.files.get(file)
        if not self.slow and recording is not None and recording.plays_for(text):
            parent.play(audio_url(file))
        else:
            self.speak(parent, text)

    def speak(self, parent: VoiceResponse | Gather, text: str) -> None:
        """Speak text in the language's own voice; nothing for empty text (Twilio error 13520)."""
        if not text:
            return
        language = self.language
        if self.slow:
            parent.say(voice=language.voice, language=language.say_language).prosody(text, rate=SLOW_RATE)
        else:
            parent.say(text, voice=language.voice, language=language.say_language)

    def state(self, **params: object) -> dict[str, object]:
        """The call state our URLs carry: these values, the language, and whether to speak slowly."""
        return {**params, "lang": self.code, "slow": int(self.slow)}
