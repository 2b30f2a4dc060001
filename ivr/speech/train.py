"""`python -m ivr.speech.train`: train the word model (model.py) into model.json.

It learns from the tuning sentences (calls/utterances*.yaml, never the held-out ones: those
only measure) and from the built-in phrases (floor.yaml). `--check` trains in memory and
exits 1 if model.json differs: a test runs it, so the shipped model is never stale.
"""

from __future__ import annotations

import argparse
import glob
import sys
from pathlib import Path

import yaml

from .model import MENU, MODEL, NOISE, WordModel
from .phrases import FEARED, floor
from .words import Token, analyse, normalise

AS_LABEL = {"menu": MENU, "language": MENU, "noise": NOISE}  # the suites' categories that name no situation
# What the model may guess from words no phrase names: the situations that put a caller through
# to a person at once (the menu's PERSON_SITUATIONS and "report": speech sits below the menu, so
# it names them itself). The rest (police, can't talk, privacy) need their words said.
GUESSED = ("danger", "control", "forced", "immigration", "needs", "report")


def tuning_files(root: Path) -> list[Path]:
    """The tuning suites: calls/utterances*.yaml, but never a held-out one."""
    return [Path(p) for p in sorted(glob.glob(str(root / "calls" / "utterances*.yaml"))) if "held-out" not in Path(p).name]


def examples(paths: list[Path]) -> list[tuple[list[Token], str]]:
    """(words, situation, menu or noise) for every tuning sentence and every built-in phrase."""
    found = []
    for path in paths:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for item in data["utterances"]:
            category = item.get("category") or "menu"
            label = AS_LABEL.get(category, category)
            found.append((analyse(normalise(item["say"])), label))
    for name, by_lang in floor().items():
        label = "danger" if name == FEARED else name
        for items in by_lang.values():
            for phrase in items:  # every alternative of every word: the model counts presence
                found.append((analyse(normalise(phrase.replace("|", " "))), label))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ivr.speech.train", description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[2], help="the project folder (calls/ in it)")
    parser.add_argument("--check", action="store_true", help="exit 1 if model.json is not what training gives now")
    args = parser.parse_args(argv)
    paths = tuning_files(args.root)
    if not paths:
        print(f"No tuning sentences under {args.root / 'calls'}.", file=sys.stderr)
        return 1
    text = WordModel.train(examples(paths), GUESSED).as_json()
    if args.check:
        if MODEL.exists() and MODEL.read_text(encoding="utf-8") == text:
            print(f"{MODEL.name} is up to date with {', '.join(p.name for p in paths)} and floor.yaml.")
            return 0
        print(f"{MODEL.name} is stale: run python -m ivr.speech.train and commit it.", file=sys.stderr)
        return 1
    MODEL.write_text(text, encoding="utf-8")
    print(f"Trained {MODEL} from {', '.join(p.name for p in paths)} and floor.yaml.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
