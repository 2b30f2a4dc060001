"""`python -m ivr fallback`: static TwiML for Twilio's Fallback URL ("Primary handler fails").

Twilio fetches it when our server errors or does not answer, so it must work with no
server of ours: no action URLs, no Redirects. The greeting ("if you are in immediate danger,
hang up and call 911") and an apology in every language, both
hotline numbers read slowly, a <Dial> to the final-transfer hotline (the national one),
then the numbers once more. A static document cannot tell a finished call from a failed
one, so it does not dial a second hotline: that would ring it after every good call.
"""

from __future__ import annotations

from twilio.twiml.voice_response import VoiceResponse

from ..menu import model as m
from .twiml import DIAL_TIMEOUT, Line, Voice, message, read_numbers


def fallback_twiml(menu: m.Menu, caller_id: str | None = None) -> str:
    """`caller_id`: the line's own number, shown to the hotline instead of the caller's."""
    response = VoiceResponse()
    first = menu.hotlines[menu.nodes[menu.start].retry.final.target]
    order = [first] + [h for h in menu.hotlines.values() if h.id != first.id]
    # Spoken, never played: Twilio fetches this document when our server cannot answer, and
    # our server is where the recordings are.
    voices = [Voice(language) for language in menu.languages.values()]
    for voice in voices:  # safety first: the 911 sentence, then the apology
        voice.say(response, Line("greeting", menu.greeting[voice.code]))
    for voice in voices:
        voice.say(response, message(menu, "error", voice.code))
    for voice in voices:
        read_numbers(response, menu, voice, order)
    for voice in voices:
        voice.say(response, message(menu, "connecting", voice.code, first.id, hotline=first.name[voice.code]))
    # No action URL: when the leg ends, however it ends, Twilio goes on to the next verb.
    response.dial(first.number, timeout=DIAL_TIMEOUT, answer_on_bridge=True, caller_id=caller_id)
    for voice in voices:
        read_numbers(response, menu, voice, order)
    return response.to_xml()
