"""Property-based hardening: whatever arrives, the line answers valid TwiML or a clean 4xx;
whatever staff type, the loader answers a menu or located errors, never an exception."""

from __future__ import annotations

import random
import xml.etree.ElementTree as ET
from urllib.parse import quote, urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from ivr import MenuInvalid, create_app, load_menu

from .conftest import MAIN_MENU, TOKEN

APP = create_app({"IVR_MENU": str(MAIN_MENU), "TWILIO_AUTH_TOKEN": TOKEN})
DEV = create_app({"IVR_MENU": str(MAIN_MENU), "TWILIO_AUTH_TOKEN": ""})
VALIDATOR = RequestValidator(TOKEN)
ROUTES = ["/voice", "/menu", "/choose", "/dial-result", "/audio/x.mp3", "/healthz", "/nope", "/", "/simulator"]
NODES = list(load_menu(MAIN_MENU).nodes)

text = st.text(max_size=300)
field_names = st.sampled_from(
    ["Digits", "DialCallStatus", "CallSid", "From", "To", "Caller", "SpeechResult", "x", "Digits[]", ""]
) | st.text(max_size=20)
forms = st.dictionaries(field_names, text, max_size=8)
queries = st.dictionaries(
    st.sampled_from(["node", "lang", "s", "i", "n", "to", "tried", "junk"]) | st.text(max_size=10),
    st.sampled_from(NODES + ["en", "es", "-1", "999999999999"]) | text,
    max_size=6,
)
settings_ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check_answer(response) -> None:
    assert response.status_code != 500
    if response.status_code >= 400:
        assert response.status_code < 500
        assert b"Traceback" not in response.data
        return
    if response.content_type.startswith("text/xml"):
        assert len(response.data) <= 64 * 1024
        assert response.data.startswith(b"<?xml")
        root = ET.fromstring(response.data)
        assert root.tag == "Response"
        assert len(root), "an empty <Response> hangs up on the caller"


@settings_
@given(route=st.sampled_from(ROUTES), query=queries, form=forms, signed=st.booleans())
def test_any_request_gets_twiml_or_a_clean_4xx(route, query, form, signed):
    path = route + ("?" + urlencode(query) if query else "")
    headers = {"X-Twilio-Signature": VALIDATOR.compute_signature("http://localhost" + path, form)} if signed else {}
    check_answer(APP.test_client().post(path, data=form, headers=headers))


@settings_
@given(raw_path=st.text(max_size=200), digits=text)
def test_any_path_and_digits_in_development_mode(raw_path, digits):
    client = DEV.test_client()
    raw_path = raw_path.lstrip("/")  # a leading "//" would name another host, not a path of ours
    check_answer(client.post("/" + quote(raw_path, safe="/?&="), data={"Digits": digits}))
    check_answer(client.post(f"/choose?node={random.choice(NODES)}&lang=es&s=0&i=0", data={"Digits": digits}))
    check_answer(client.get("/" + quote(raw_path, safe="/?&=")))


def test_request_over_the_body_limit_is_413():
    response = APP.test_client().post("/voice", data={"Digits": "1" * 40_000})
    assert response.status_code == 413


# --- menu mutations ---------------------------------------------------------------------
BASE_LINES = MAIN_MENU.read_text(encoding="utf-8").splitlines()


def mutate(lines: list[str], rng: random.Random, kind: str) -> list[str]:
    lines = list(lines)
    i = rng.randrange(len(lines))
    line = lines[i]
    if kind == "delete":
        del lines[i]
    elif kind == "indent":
        lines[i] = " " * rng.choice([1, 3, 5]) + line
    elif kind == "dedent":
        lines[i] = line.lstrip()
    elif kind == "unquote":
        lines[i] = line.replace('"', "")
    elif kind == "type":
        if ":" in line:
            key = line.split(":", 1)[0]
            lines[i] = key + ": " + rng.choice(["123", "yes", "no", "[1, 2]", "{a: 1}", "~", "3.5", '"+18883737888"', "+1911"])
    elif kind == "huge":
        if ":" in line:
            lines[i] = line.split(":", 1)[0] + ": " + "word " * 2000
    elif kind == "garbage":
        lines[i] = rng.choice(["- - -", ": :", "{", "[", "&a *b", "!!python/object:os.system x", "\t\tkey: v", "%YAML 9.9", "---"])
    elif kind == "duplicate":
        lines.insert(i, line)
    return lines


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10**9),
    kinds=st.lists(
        st.sampled_from(["delete", "indent", "dedent", "unquote", "type", "huge", "garbage", "duplicate"]), min_size=1, max_size=4
    ),
)
def test_menu_mutations_give_a_menu_or_located_errors(tmp_path_factory, seed, kinds):
    rng = random.Random(seed)
    lines = BASE_LINES
    for kind in kinds:
        lines = mutate(lines, rng, kind)
    path = tmp_path_factory.mktemp("m") / "main.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        menu = load_menu(path)
    except MenuInvalid as err:
        assert err.problems
        for problem in err.problems:
            assert problem.file == str(path)
            assert 1 <= problem.line <= len(lines) + 1, problem
            assert problem.column >= 1
            assert problem.message and (problem.message[0].isupper() or problem.message[0] in "'\"")
        return
    assert menu.nodes and menu.start in menu.nodes


# --- the speech matcher's fast paths answer exactly what the plain ones do -------------------
def _slow_normalise(text: str) -> str:
    import unicodedata

    from ivr.speech.words import FILLERS, PUNCTUATION

    text = "".join(ch for ch in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(ch))
    return " ".join(w for w in PUNCTUATION.sub(" ", text.replace("'", "").replace("’", "")).split() if w not in FILLERS)


SPEECH_WORDS = st.sampled_from(
    ["help", "me", "i", "need", "in", "danger", "press", "two", "el", "dos", "number", "marque", "cant", "leave", "*", "#", "help*",
     "#2", "no", "estoy", "segura", "colorado", "hotline", "x", "uno", "-", "'", ".", "línea", "¿Qué", "sáquenme", "niño", "¡AYÚDENME!",
     "it’s", "pingüino", "ÑANDÚ", "«sí»", "Ø", "ß", "½", "×"]
)  # fmt: skip


@given(st.text(max_size=60) | st.lists(SPEECH_WORDS, max_size=8).map(" ".join))
@settings(max_examples=400, deadline=None)
def test_fast_speech_paths_agree_with_the_plain_ones(transcript):
    from ivr.line.keys_said import PRESS, spoken_key
    from ivr.speech.words import normalise

    said = normalise(transcript)
    assert said == _slow_normalise(transcript)  # ASCII translate table == accents + regex
    words = said.split()
    assert spoken_key(said, words) == spoken_key(said)
    assert PRESS.search(said) is None or spoken_key(said, words) == spoken_key(said)


SITUATION_WORDS = st.sampled_from(
    ["they", "won't", "let", "me", "leave", "took", "my", "passport", "no", "dejan", "salir", "boss", "pay", "owe", "the", "police",
     "don't", "want", "ayúdenme", "sáquenme", "de", "aquí", "la", "migra", "pass", "port", "mata", "more", "I", "am", "a", "victim",
     "who", "are", "victims", "nowhere", "to", "go", "scared", "of", "cops", "x"]
)  # fmt: skip


def _every_match(index, tokens, languages):
    """The plain way: every phrase tried at every word, each next word looked for in order."""
    from ivr.speech.phrases import GAP, NEGATION_REACH
    from ivr.speech.words import NOT

    found = set()
    for lang in languages:
        heard = index._heard(tokens, lang, single=len(languages) == 1)
        for pattern in index.patterns:
            if pattern.lang != lang:
                continue
            for start in range(len(heard)):
                if pattern.slots[0].isdisjoint(heard[start]):
                    continue
                position, ok = start, True
                for slot in pattern.slots[1:]:
                    nxt = [i for i in range(position + 1, min(position + 2 + GAP, len(heard))) if not slot.isdisjoint(heard[i])]
                    # a negation between two of its words breaks a phrase that says none itself
                    if not nxt or (not pattern.negative and any(NOT in heard[i] for i in range(position + 1, nxt[0]))):
                        ok = False
                        break
                    position = nxt[0]
                if ok:
                    before = range(max(0, start - NEGATION_REACH), start)
                    found.add((pattern.label, start, position, not pattern.negative and any(NOT in heard[i] for i in before), pattern.text))
    return found


@given(st.lists(SITUATION_WORDS, max_size=12))
@settings(max_examples=300, deadline=None)
def test_phrases_found_by_their_first_word_are_every_phrase_said(words):
    """The index looks up only the phrases that can start at each word; it finds exactly what
    trying every phrase at every word finds."""
    from ivr.line.understanding import Understanding
    from ivr.speech.words import analyse, languages_of, normalise

    index = Understanding(APP.extensions["ivr_store"].current.menu).index
    said = normalise(" ".join(words))
    tokens, languages = analyse(said), languages_of(said.split())
    found = {(m.label, m.start, m.end, m.negated, m.pattern.text) for m in index.find(tokens, languages)}
    assert found == _every_match(index, tokens, languages)


@given(
    st.lists(
        SPEECH_WORDS | st.sampled_from(["national", "hot", "line", "victims", "who", "are", "colorado", "coloradohotline"]), max_size=7
    )
)
@settings(max_examples=300, deadline=None)
def test_matching_only_the_phrases_of_a_possible_length_loses_no_score(words):
    """Phrases too long or too short to score WEAK are skipped: the scores are those of all of them."""
    from rapidfuzz import fuzz, process

    from ivr.line.hearing import WEAK, fuzzy_scores

    renderer = APP.extensions["ivr_store"].current
    joined = "".join(words)
    for node_id in ("welcome", "learn", "victims"):
        book = renderer.phrasebook(renderer.menu.nodes[node_id], "en")
        everything = process.extract(joined, book.joined, scorer=fuzz.ratio, limit=None, score_cutoff=WEAK)
        assert fuzzy_scores(joined, book) == {n: score for _, score, n in everything}
