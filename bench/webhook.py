"""Webhook cost against two floors measured in the same process and run.

    python3 bench/webhook.py [--rounds 15] [--requests 400]

Each webhook kind is driven through Flask's test client with signature validation on,
exactly as Twilio would post it, interleaved round by round with the floors so that
machine noise hits all of them alike. Prints microseconds per request (median of the
rounds) and the ratio to each floor. Targets: every webhook without speech <= 1.15x the
secure floor, and a speech turn <= 1.5x (understanding comes first, microseconds second),
with the anonymous statistics on (the default: counted in memory, saved to a SQLite file
in a scratch state folder by the background thread while the bench runs). The line with
statistics off is measured too, to show what counting costs.

Then the understanding alone, per utterance, in the process (no HTTP): every sentence of
the tuning set and of the held-out sets, and sentences as long as the line reads
(MAX_SPEECH, about a minute of speech) made of the tuning set's words, fresh each time
(nothing remembered from one to the next). Target: none takes more than 2 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from twilio.request_validator import RequestValidator  # noqa: E402

from bench.floors import bare_app, secure_app  # noqa: E402
from ivr import create_app  # noqa: E402

TOKEN = "bench-token-0123456789abcdef0123"
TARGET = {"keys": 1.15, "speech": 1.5}  # x the secure floor
TRIES = 5  # runs of each utterance in the understanding table
FORM = {
    "CallSid": "CA" + "5" * 32,
    "AccountSid": "AC" + "0" * 32,
    "From": "+15555550100",
    "To": "+17205550123",
    "CallStatus": "in-progress",
    "Direction": "inbound",
    "ApiVersion": "2010-04-01",
}
KINDS = {
    "entry (POST /voice)": ("/voice", {}),
    "menu choice (welcome, key 3)": ("/choose?node=welcome&lang=en", {"Digits": "3"}),
    "content (learn, key 1)": ("/choose?node=learn&lang=es", {"Digits": "1"}),
    "transfer outcome (busy)": ("/dial-result?to=national&lang=en&node=welcome&tried=national", {"DialCallStatus": "busy"}),
    "speech, clear match": (
        "/choose?node=welcome&lang=en",
        {"SpeechResult": "I'd like the Colorado hotline please", "Confidence": "0.87"},
    ),
    "speech, no match": ("/choose?node=learn&lang=en", {"SpeechResult": "what's the weather like tomorrow", "Confidence": "0.62"}),
    "speech, a situation described": (
        "/choose?node=victims&lang=es",
        {"SpeechResult": "El patrón me quitó los papeles y no nos deja salir de la casa.", "Confidence": "0.71"},
    ),
    "speech, a question in own words": (
        "/choose?node=welcome&lang=en",
        {"SpeechResult": "Do they use fake job offers to get people?", "Confidence": "0.8"},
    ),
    "call status callback": ("/call-status", {"CallStatus": "completed", "CallDuration": "95"}),
}


def signed(path: str, extra: dict[str, str]) -> tuple[str, dict[str, str], dict[str, str]]:
    form = {**FORM, **extra}
    return path, form, {"X-Twilio-Signature": RequestValidator(TOKEN).compute_signature("http://localhost" + path, form)}


def make_runner(app, path: str, form: dict[str, str], headers: dict[str, str]):  # noqa: ANN001, ANN201
    client = app.test_client()

    def run(n: int) -> float:
        started = time.perf_counter()
        for _ in range(n):
            response = client.post(path, data=form, headers=headers)
        elapsed = time.perf_counter() - started
        assert response.status_code in (200, 204), (path, response.status_code)
        return elapsed / n

    return run


def main() -> None:
    """Every webhook against its floors, then the understanding alone (`--understanding` only that)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--requests", type=int, default=400, help="requests per case per round")
    parser.add_argument("--understanding", action="store_true", help="only the time to understand one utterance")
    args = parser.parse_args()

    settings = {
        "IVR_MENU": str(Path(__file__).resolve().parent.parent / "menus" / "main.yaml"),
        "TWILIO_AUTH_TOKEN": TOKEN,
        "IVR_PUBLIC_URL": "http://localhost",
        "IVR_STATE_DIR": tempfile.mkdtemp(prefix="ivr-bench-"),  # the statistics' SQLite file goes here
    }
    line = create_app(settings)
    if args.understanding:
        understanding(line)
        return
    uncounted = create_app({**settings, "IVR_STATS_URL": "off"})
    bare, secure = bare_app(), secure_app(TOKEN)
    # Each floor gets the very request the webhook gets (same URL, query string, form and
    # signature), so the only difference measured is the menu logic.
    cases = {}
    for kind, (path, extra) in KINDS.items():
        request = signed(path, extra)
        cases[(kind, "a")] = make_runner(bare, *request)
        cases[(kind, "b")] = make_runner(secure, *request)
        cases[(kind, "line")] = make_runner(line, *request)
        cases[(kind, "off")] = make_runner(uncounted, *request)
    for run in cases.values():  # warm up: caches, imports, branch predictors
        run(200)
    samples: dict[tuple[str, str], list[float]] = {name: [] for name in cases}
    for _ in range(args.rounds):
        for name, run in cases.items():
            samples[name].append(run(args.requests))
    median = {name: statistics.median(values) for name, values in samples.items()}
    print(f"Webhook cost, Flask test client, signatures on; median of {args.rounds} rounds x {args.requests} requests")
    print("floor (a): bare Flask route, constant TwiML; floor (b): + form parse + RequestValidator check\n")
    print("line: statistics on (the default); stats off: the same line with IVR_STATS_URL=off\n")
    print(f"{'webhook':<34}{'floor a us':>11}{'floor b us':>11}{'line us':>9}{'x a':>7}{'x b':>7}{'stats off x b':>15}  target (x b)")
    worst = {"keys": 0.0, "speech": 0.0}
    for kind in KINDS:
        a, b, line_cost, off = median[(kind, "a")], median[(kind, "b")], median[(kind, "line")], median[(kind, "off")]
        group = "speech" if kind.startswith("speech") else "keys"
        worst[group] = max(worst[group], line_cost / b)
        verdict = "met" if line_cost / b <= TARGET[group] else "MISSED"
        print(
            f"{kind:<34}{a * 1e6:>11.1f}{b * 1e6:>11.1f}{line_cost * 1e6:>9.1f}{line_cost / a:>7.2f}{line_cost / b:>7.2f}{off / b:>15.2f}  <= {TARGET[group]}: {verdict}"
        )
    saved = line.extensions["ivr_count"]
    saved.save()
    print(
        f"\nstatistics saved by the bench: {saved.database.totals().by_key.get(('', 'call', ''), 0)} calls counted, {saved.dropped_total} dropped"
    )
    print(f"floor b / floor a: {statistics.median(median[(k, 'b')] / median[(k, 'a')] for k in KINDS):.2f}x")
    for group, ratio in worst.items():
        print(
            f"worst {group} webhook: {ratio:.2f}x the secure floor ({'met' if ratio <= TARGET[group] else 'missed'}: target {TARGET[group]}x)"
        )
    understanding(line)


def understanding(app) -> None:  # noqa: ANN001
    """The time to understand one utterance, alone, for every sentence we have and for the longest."""
    import gc
    import random

    from ivr.line.hearing import hear
    from ivr.line.webhooks import MAX_SPEECH
    from ivr.sim.utterances import keys_to, load_suite

    root = Path(__file__).resolve().parent.parent
    renderer = app.extensions["ivr_store"].current
    menu = renderer.menu
    sentences = [u for path in sorted((root / "calls").glob("utterances*.yaml")) for u in load_suite(str(path))]
    node_at = {}
    for u in sentences:  # the node each is said at (its keys from the start)
        node = menu.start
        for key in keys_to(menu, u.at):
            option = menu.nodes[node].keys.get(key)
            node = option.action.target if option and option.action.kind == "goto" else menu.nodes[node].next or node
        node_at[u] = node
    renderer.understanding()  # built once per menu, when a caller first speaks: not part of a turn
    for node in menu.nodes:  # built once per node when a caller first speaks there: not part of a turn
        for lang in menu.languages:
            renderer.phrasebook(menu.nodes[node], lang)

    def cost(said: str, confidence: float, book) -> float:  # noqa: ANN001
        """ms to understand one utterance: the least of TRIES runs, as timeit does (the machine's
        noise only ever adds time); the collector runs before each (it runs between calls too)."""
        best = float("inf")
        for _ in range(TRIES):
            gc.collect()
            started = time.perf_counter()
            hear(said, confidence, book, renderer.understanding())
            best = min(best, time.perf_counter() - started)
        return best * 1e3

    timed = [cost(u.say, u.confidence, renderer.phrasebook(menu.nodes[node_at[u]], u.lang)) for u in sentences]
    rng = random.Random(20)

    def longest(make) -> list[float]:  # noqa: ANN001
        times = []
        for _ in range(200):
            lang = rng.choice(list(menu.languages))
            text = make(lang)[:MAX_SPEECH]
            times.append(cost(text, 0.7, renderer.phrasebook(menu.nodes[rng.choice(list(menu.nodes))], lang)))
        return sorted(times)

    def spoken(lang: str) -> str:  # a minute of one caller: their sentences, in their language, one after another
        pool = [u.say for u in sentences if u.lang == lang]
        text = ""
        while len(text) < MAX_SPEECH:
            text += rng.choice(pool) + " "
        return text

    every_word = [w for u in sentences for w in u.say.split()]

    def salad(lang: str) -> str:  # words of both languages in any order: no recogniser sends this
        text = ""
        while len(text) < MAX_SPEECH:
            text += rng.choice(every_word) + " "
        return text

    rows = {
        f"{MAX_SPEECH} characters of sentences, one language": longest(spoken),
        f"{MAX_SPEECH} characters of both languages' words": longest(salad),
    }
    timed.sort()
    print(f"\nUnderstanding one utterance, in the process (ms, the least of {TRIES} runs each); target: none over 2 ms")
    print(f"{'utterances':<52}{'count':>7}{'median':>9}{'p99':>9}{'max':>9}")
    for name, times in {"every sentence of the suites": timed, **rows}.items():
        print(f"{name:<52}{len(times):>7}{statistics.median(times):>9.3f}{times[int(len(times) * 0.99)]:>9.3f}{times[-1]:>9.3f}")
    worst = max(timed[-1], rows[f"{MAX_SPEECH} characters of sentences, one language"][-1])
    print(f"slowest sentence said: {worst:.3f} ms ({'met' if worst <= 2.0 else 'missed'}: target 2 ms; the word salad is a stress case)")


if __name__ == "__main__":
    main()
