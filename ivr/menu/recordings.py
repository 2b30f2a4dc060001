"""The recordings on disk: every WAV and MP3 under a menu's audio folder, checked, and the
manifest of the ones staff accepted (`accepted.yaml`: file -> digest of the words it says).

A sentence's recording is found by its stable name (`en/welcome.prompt` -> `en/welcome.prompt.mp3`
or `.wav`; ivr/line/voice.py names them), so nobody writes `audio:` entries by hand. The
manifest is what makes an edit visible: a recording accepted for other words than the ones
the menu says now is stale, and the line speaks the new words instead of playing the old ones.
A recording never accepted is played (staff listen to it on the browser phone before they
accept it), and `ivr recordings status` says it waits to be checked.

Read when a menu is loaded (and again when the folder changes: store.py watches it), never
while a call is answered.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import yaml

from . import model as m
from .audio import AudioProblem, advice, probe
from .model import Library, Recording, digest

__all__ = ["Library", "Recording", "digest", "load_library", "read_manifest", "write_manifest", "signature", "stem"]

MANIFEST = "accepted.yaml"
EXTENSIONS = m.RECORDING_EXTENSIONS
MAX_FILES = 5000  # a line has a few hundred sentences; a folder with far more is a mistake
MANIFEST_HEADER = (
    "# Recordings checked by staff: file -> digest of the words it was accepted for.\n"
    "# Written by `ivr recordings accept FILE...`; a recording whose words changed since is stale.\n"
)


def stem(file: str) -> str:
    """`en/welcome.prompt.mp3` -> `en/welcome.prompt`: the name of the sentence a file records."""
    return file.rsplit(".", 1)[0]


def load_library(folder: Path) -> Library:
    """Every recording under `folder` (links that lead outside it are left out), checked."""
    folder = folder.resolve()
    manifest, problem = read_manifest(folder)
    files: dict[str, Recording] = {}
    for file in recording_files(folder):
        accepted = manifest.get(file)
        try:
            info = probe(folder / file)
        except AudioProblem as err:
            files[file] = Recording(file, problem=str(err), accepted=accepted)
            continue
        files[file] = Recording(file, info.seconds, None, accepted, tuple(advice(info)))
    if len(files) >= MAX_FILES:
        problem = f"the folder holds more than {MAX_FILES} recordings; only the first {MAX_FILES} are used"
    return Library(str(folder), m.frozen_map(files), m.frozen_map(manifest), problem)


def recording_files(folder: Path) -> list[str]:
    """The .mp3 and .wav files under `folder`, as names relative to it, sorted; at most MAX_FILES."""
    found: list[str] = []
    for top, dirs, names in os.walk(folder):  # links to folders are not followed
        dirs.sort()
        for name in sorted(names):
            if not name.lower().endswith(EXTENSIONS) or name.startswith("."):
                continue
            path = Path(top) / name
            try:
                if not path.resolve().is_relative_to(folder) or not path.is_file():
                    continue  # a link out of the folder is never served, so never played
            except OSError:
                continue
            found.append(path.relative_to(folder).as_posix())
            if len(found) >= MAX_FILES:
                return found
    return found


def read_manifest(folder: Path) -> tuple[dict[str, str], str | None]:
    """The accepted recordings, and a problem in words if the manifest cannot be read."""
    path = folder / MANIFEST
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}, None
    except (OSError, UnicodeDecodeError) as err:
        return {}, f"{MANIFEST} cannot be read ({err})"
    try:
        data = yaml.safe_load(raw) or {}
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        return {}, f"{MANIFEST} is not valid YAML{where}; accept the recordings again to rewrite it"
    if not isinstance(data, dict):
        return {}, f"{MANIFEST} must map each file to a digest; accept the recordings again to rewrite it"
    return {str(k): str(v) for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}, None


def write_manifest(folder: Path, entries: Mapping[str, str]) -> Path:
    """Write the manifest, sorted, atomically (a server may be reading it)."""
    path = folder / MANIFEST
    body = MANIFEST_HEADER + yaml.safe_dump(dict(sorted(entries.items())), default_flow_style=False, allow_unicode=True, width=1000)
    scratch = path.with_name(f".{MANIFEST}.{os.getpid()}")
    scratch.write_text(body, encoding="utf-8")
    os.replace(scratch, path)
    return path


def signature(folder: str | Path) -> tuple:
    """What changes when a recording or the manifest is added, replaced, edited or removed
    (names, sizes, times): the store compares it to notice a new recording without a menu edit."""
    root = Path(folder)
    seen = []
    for file in [*recording_files(root), MANIFEST]:
        try:
            stat = (root / file).stat()
        except OSError:
            continue
        seen.append((file, stat.st_size, stat.st_mtime_ns))
    return tuple(seen)
