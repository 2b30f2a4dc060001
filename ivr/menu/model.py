"""The frozen menu model: what the validator produces and the renderer reads.

Nothing here touches YAML or HTTP. Once built, a `Menu` never changes, so a
reload can swap a whole new one in with a single assignment while calls in
progress keep reading the old one safely.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

# What a key does. `goto` and `transfer` carry a target; the rest act on the call itself.
GOTO = "goto"
TRANSFER = "transfer"
BACK = "back"
REPEAT = "repeat"
NEXT = "next"
LANGUAGE = "language"
SLOWER = "slower"  # say it again, slowly, and stay slow for the rest of the call
ACTIONS = (GOTO, TRANSFER, BACK, REPEAT, NEXT, LANGUAGE, SLOWER)

# The keys of a phone keypad: the only things a menu can bind.
PHONE_KEYS = frozenset("0123456789*#")

MENU = "menu"
CONTENT = "content"

# What a caller may describe, by voice, on any menu (`situations:` in the YAML). The first five
# put the caller through to a person at once, and the line knows built-in phrases for them
# (ivr/speech/floor.yaml) that a menu can add to but not remove.
NEEDS = "needs"  # wanting out, nowhere to go, someone to talk to: also what a caller not understood may need
PERSON_SITUATIONS = ("danger", "control", "forced", "immigration", NEEDS)
SITUATIONS = (*PERSON_SITUATIONS, "report", "police", "cant_talk", "privacy")
# The sentence the line writes into a node's text where it says `{hotlines_see}`: which number
# each hotline is shown on a transfer, from the hotlines' own settings (so it is always true).
HOTLINES_SEE = "hotlines_see"

# A text written once per language: {"en": "...", "es": "..."}.
Text = Mapping[str, str]
# What a caller may say for something, per language: {"en": ("colorado", ...), "es": (...)}.
Phrases = Mapping[str, tuple[str, ...]]


EMPTY: Mapping = MappingProxyType({})


def frozen_map(data: dict) -> Mapping:
    """A read-only copy; every empty one is the same object (most nodes have no title or audio)."""
    return MappingProxyType(dict(data)) if data else EMPTY


# Where something was written, (file, line, column), so lint can point back at the file. A plain
# tuple: a big menu has tens of thousands, and the garbage collector stops watching plain tuples.
Location = tuple[str, int, int]


@dataclass(frozen=True, slots=True)
class Language:
    code: str
    name: str
    voice: str
    say_language: str
    switch_key: str
    switch_label: str
    press: str  # template: "{label}, press {key}."
    key_names: Mapping[str, str]
    say: Phrases = field(default_factory=dict, compare=False)  # what switches a call to this language

    def key_name(self, key: str) -> str:
        return self.key_names.get(key, key)

    def press_sentence(self, label: str, key: str) -> str:
        return self.press.format(label=label.rstrip(" ,."), key=self.key_name(key))


@dataclass(frozen=True, slots=True)
class Hotline:
    id: str
    number: str  # E.164
    name: Text
    sms: str | None = None
    fallback: str | None = None  # hotline to try when this one fails
    show_caller_number: bool = False  # else the hotline sees the number the caller dialled
    say: Phrases = field(default_factory=dict, compare=False)  # said anywhere: put me through to this hotline


@dataclass(frozen=True, slots=True)
class Action:
    kind: str
    target: str | None = None

    def __str__(self) -> str:
        return f"{self.kind}: {self.target}" if self.target else self.kind


@dataclass(frozen=True, slots=True)
class Option:
    key: str
    action: Action
    label: Text  # may be empty for keys that are not announced
    announce: bool = True
    sections_only: bool = False  # announced on content nodes only (`announce: sections`)
    where: Location | None = field(default=None, compare=False)
    say: Phrases = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class Situation:
    """Something a caller may describe (danger, wanting to report, asking about privacy...),
    where it leads, and the menu's own phrases for it (the built-in floor is added by the line)."""

    name: str
    action: Action  # a transfer (a person), or goto a node (the 911 sentence, the privacy section...)
    say: Phrases = field(default_factory=dict, compare=False)
    where: Location | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Speech:
    """How Twilio listens for speech in one language (`<Gather input="dtmf speech">`)."""

    language: str  # BCP-47, e.g. en-US
    timeout: str  # "auto" or whole seconds of silence that end an utterance
    model: str | None = None


@dataclass(frozen=True, slots=True)
class Retry:
    timeout: int
    silence_limit: int
    invalid_limit: int
    final: Action


@dataclass(frozen=True, slots=True)
class Node:
    id: str
    kind: str  # MENU or CONTENT
    prompt: Text  # spoken on the first attempt (menus) or as the section (content)
    options: tuple[Option, ...]  # this node's own options, in spoken order
    keys: Mapping[str, Option]  # every key that works here: own options plus global keys
    retry: Retry
    audio: Mapping[str, str]  # language -> file name under audio/ (only files that exist)
    audio_declared: Mapping[str, str]  # language -> file name as written (may be missing)
    title: Text
    parent: str | None  # where `back` goes
    next: str | None
    where: Location | None = field(default=None, compare=False)
    text_at: Mapping[str, Location] = field(default_factory=dict, compare=False)  # prompt/text per language
    audio_at: Mapping[str, Location] = field(default_factory=dict, compare=False)
    say: Phrases = field(default_factory=dict, compare=False)  # said anywhere: take me to this node
    quiet: bool = False  # for a caller who cannot talk: the prompt once, then silence (no choices, no "sorry")

    @property
    def spoken_options(self) -> tuple[Option, ...]:
        """Options in the order they are read: own options first, then announced global keys."""
        own = {o.key for o in self.options}
        extra = tuple(o for k, o in self.keys.items() if k not in own and self.announces(o))
        return tuple(o for o in self.options if self.announces(o)) + extra

    def announces(self, option: Option) -> bool:
        return option.announce and (self.kind == CONTENT or not option.sections_only)


def digest(text: str) -> str:
    """Words' fingerprint, as the recordings manifest keeps it: the same however YAML wraps them."""
    return hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()[:16]


RECORDING_EXTENSIONS = (".mp3", ".wav")  # in order of preference when a sentence has both


@dataclass(frozen=True, slots=True)
class Recording:
    """One file of the audio folder (ivr/menu/recordings.py reads them)."""

    file: str  # under the audio folder, with '/': "en/welcome.prompt.mp3"
    seconds: float = 0.0
    problem: str | None = None  # why callers are not played it (damaged, not audio, too big...)
    accepted: str | None = None  # digest of the words it was accepted for; None: not accepted yet
    advice: tuple[str, ...] = ()  # playable, but worth fixing at the next export

    def plays_for(self, text: str) -> bool:
        """A sound file, and not accepted for other words than these (then it is stale)."""
        return self.problem is None and (self.accepted is None or self.accepted == digest(text))


@dataclass(frozen=True, slots=True)
class Library:
    """The recordings of a menu's audio folder, and the manifest of the accepted ones."""

    folder: str = ""
    files: Mapping[str, Recording] = field(default_factory=dict)  # by file name under the folder
    manifest: Mapping[str, str] = field(default_factory=dict)  # file -> digest, as accepted
    problem: str | None = None  # the manifest could not be read, or the folder holds too much

    def find(self, name: str) -> Recording | None:
        """The recording of the sentence `name` ("en/welcome.prompt"), MP3 before WAV."""
        for extension in RECORDING_EXTENSIONS:
            recording = self.files.get(name + extension)
            if recording is not None:
                return recording
        return None


NO_RECORDINGS = Library()


@dataclass(frozen=True, slots=True)
class Menu:
    path: str
    languages: Mapping[str, Language]
    default_language: str
    hotlines: Mapping[str, Hotline]
    nodes: Mapping[str, Node]
    start: str
    greeting: Text
    messages: Mapping[str, Text]
    digest: str  # sha256 of the file's bytes
    audio_dir: str
    speech: Mapping[str, Speech] = field(default_factory=dict)  # empty: keys only
    situations: Mapping[str, Situation] = field(default_factory=dict)  # what a caller may describe, by name
    keys: Mapping[str, Option] = field(default_factory=dict)  # the keys of every menu (top-level `keys:`)
    recordings: Library = NO_RECORDINGS  # the audio folder, as it was when the menu was loaded

    def message(self, name: str, lang: str, **values: str) -> str:
        return self.messages[name][lang].format(**values)

    def language(self, code: str | None) -> Language:
        """The caller's language, falling back to the default for anything unknown."""
        return self.languages.get(code or "", self.languages[self.default_language])
