"""A worked example of recording the line: a few of its sentences recorded by espeak-ng.

    python3 examples/make_recordings.py build/example-audio            # a few sentences, WAV
    python3 examples/make_recordings.py build/example-audio --all      # every sentence
    python3 examples/make_recordings.py OUT --name welcome.prompt --name greeting --mp3

Each file gets the sentence's stable name in its language's folder (`OUT/en/welcome.prompt.wav`)
and is made the way docs/recording.md asks a person to: mono, 8 kHz, 16-bit, its level
brought up to just under full scale. Everything is made on this machine (apt-get install
espeak-ng sox, and lame for --mp3); nothing is downloaded. A synthetic voice is no reason to
record a line: these files exist for the tests and to try the workflow (`ivr recordings
status --audio OUT`). The script refuses to write into the line's own audio/ folder.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):  # run as a script from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ivr.line.sentences import Sentence, catalogue  # noqa: E402
from ivr.menu import Menu, load_menu  # noqa: E402
from ivr.menu.audio import project_audio_root  # noqa: E402

VOICES = {"en": "en-us", "es": "es-419"}  # espeak-ng's voices for the line's languages
WORDS_PER_MINUTE = {"en": 150, "es": 160}  # the rate lint's estimates assume
EXAMPLE = ("greeting", "language.switch", "welcome.prompt", "welcome.choice.1", "welcome.choice.2", "message.connecting.national")
TOOLS = {"espeak-ng": "espeak-ng", "sox": "sox", "lame": "lame"}


class ToolMissing(Exception):
    pass


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ToolMissing(f"{name} is not installed (apt-get install {TOOLS[name]})")
    return path


def record(text: str, lang: str, path: Path) -> Path:
    """Speak `text` into `path` (.wav or .mp3) at telephone quality."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        raw, wav = Path(scratch) / "raw.wav", Path(scratch) / "phone.wav"
        voice, rate = VOICES.get(lang, lang), str(WORDS_PER_MINUTE.get(lang, 150))
        subprocess.run([tool("espeak-ng"), "-v", voice, "-s", rate, "-w", str(raw), text], check=True, capture_output=True)
        # Mono, 8 kHz, 16-bit, normalised to -1 dBFS: what docs/recording.md asks of a person.
        subprocess.run(
            [tool("sox"), str(raw), "-r", "8000", "-c", "1", "-b", "16", str(wav), "gain", "-n", "-1"], check=True, capture_output=True
        )
        if path.suffix.lower() == ".mp3":
            subprocess.run([tool("lame"), "--quiet", "-m", "m", "-b", "32", str(wav), str(path)], check=True, capture_output=True)
        else:
            shutil.copyfile(wav, path)
    return path


def chosen(menu: Menu, names: tuple[str, ...] | None) -> list[Sentence]:
    """The sentences to record: those named (in every language), or all of them."""
    every = catalogue(menu)
    return every if names is None else [s for s in every if s.name in names and s.file is None]


def make(menu: Menu, folder: Path, names: tuple[str, ...] | None = EXAMPLE, extension: str = ".wav") -> list[Path]:
    """Record the chosen sentences into `folder`; the line's own audio/ folder is refused."""
    folder = folder.resolve()
    if folder == project_audio_root(Path(menu.path)) or folder == Path(menu.recordings.folder or "/nonexistent"):
        raise SystemExit(f"{folder} is the line's own audio folder: example recordings never go there.")
    return [record(s.text, s.code, folder / s.file_name(extension)) for s in chosen(menu, names)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="where to write the recordings (never the line's audio/)")
    parser.add_argument("--menu", default="menus/main.yaml")
    parser.add_argument("--name", action="append", help="a sentence's name (repeatable); default: a few of the front door's")
    parser.add_argument("--all", action="store_true", help="every sentence of the menu")
    parser.add_argument("--mp3", action="store_true", help="MP3 (needs lame) instead of WAV")
    args = parser.parse_args(argv)
    menu = load_menu(args.menu)
    names = None if args.all else tuple(args.name or EXAMPLE)
    try:
        written = make(menu, args.folder, names, ".mp3" if args.mp3 else ".wav")
    except ToolMissing as err:
        print(err, file=sys.stderr)
        return 1
    for path in written:
        print(path)
    print(f"{len(written)} recording(s) in {args.folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
