"""The interactive terminal phone: `python -m ivr call`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from urllib.parse import unquote, urlsplit

import click

from .caller import DIAL_OUTCOMES, Call, CallError, Event

HELP = (
    "Type a key (0-9, *, #) and Enter to press it; several keys are pressed one by one.\n"
    "  say WORDS        speak, as Twilio would hear it (e.g. say I need help; say Colorado)\n"
    "  s / silence      let the menu time out      busy / no-answer / failed / completed  dial outcome\n"
    "  h / hangup / q   hang up                    ? / help  this text"
)


def recording_file(url: str) -> str:
    """`http://host/prefix/audio/en/welcome.prompt.mp3` -> `en/welcome.prompt.mp3`."""
    path = unquote(urlsplit(url).path)
    return path.split("/audio/", 1)[1] if "/audio/" in path else path.rsplit("/", 1)[-1]


def show(event: Event, words: Mapping[str, str] | None = None) -> None:
    """One thing the caller hears or the line does. A recording is shown by its file, and the
    words it stands for (from the menu) where they are known."""
    if event.kind == "say":
        click.secho(f"  [{event.language or 'en-US'}] ", fg="cyan", nl=False)
        click.echo(event.text)
    elif event.kind == "play":
        file = recording_file(event.text)
        said = (words or {}).get(file.rsplit(".", 1)[0])
        click.secho(f"  [recording {file}] ", fg="magenta", nl=False)
        click.echo(said or "")
    elif event.kind == "dial":
        click.secho(f"  [transfer] the line is dialling {event.text}", fg="yellow", bold=True)
    elif event.kind == "hangup":
        click.secho(f"  [call ended: {event.text}]", fg="red")


def interactive_call(
    call: Call, lang: str | None = None, read: Callable[[str], str] = input, words: Mapping[str, str] | None = None
) -> None:
    """Run one call, reading the caller's actions from `read` (the keyboard, or a test); `words`
    says what each recording says (ivr.line.sentences.words)."""
    click.echo(HELP)
    call.on_event = lambda event: show(event, words)
    call.start(f"voice?lang={lang}" if lang else "voice")
    while call.waiting_for != "ended":
        where = f"{call.node} " if call.node else ""
        prompt = f"{where}dial outcome> " if call.waiting_for == "dial" else f"{where}key> "
        try:
            typed = read(prompt).strip()
            command = typed.lower()
        except (EOFError, KeyboardInterrupt):
            call.hangup()
            break
        try:
            if command in ("?", "help"):
                click.echo(HELP)
            elif command in ("h", "hangup", "q", "quit"):
                call.hangup()
            elif call.waiting_for == "dial":
                outcome = {"c": "completed", "b": "busy", "n": "no-answer", "f": "failed"}.get(command, command)
                if outcome in DIAL_OUTCOMES:
                    call.dial_outcome(outcome)
                else:
                    click.echo(f"The line is dialling; answer with one of {', '.join(DIAL_OUTCOMES)} (or h to hang up).")
            elif command.startswith("say ") and call.waiting_for == "gather":
                call.say(typed[4:].strip())
            elif command in ("s", "silence", ""):
                call.silence()
            elif all(ch in "0123456789*#" for ch in command):
                for key in command:
                    if call.waiting_for == "gather":
                        call.press(key)
            else:
                click.echo("Not a key or a command; type ? for help.")
        except CallError as err:
            click.secho(f"  [error] {err}", fg="red", bold=True)
            break
