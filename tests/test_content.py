"""The awareness content of menus/main.yaml: every seed section, written for the ear, in both languages."""

from __future__ import annotations

import re

import pytest

from ivr import load_menu
from ivr.menu.spoken import seconds, spoken_digits

from .conftest import MAIN_MENU

MENU = load_menu(MAIN_MENU)
CONTENT = {node_id: node for node_id, node in MENU.nodes.items() if node.kind == "content"}

# Each seed section and a phrase that shows it is there, in English and in Spanish.
SECTIONS = {
    "what is trafficking": ("force, fraud, or coercion", "la fuerza, el fraude o"),
    "where it happens": ("can happen anywhere", "cualquier lugar"),
    "how it happens": ("false promises of well-paying jobs", "falsas promesas"),
    "who the victims are": ("easy targets", "blancos fáciles"),
    "who the traffickers are": ("the victim knows the trafficker", "la víctima conozca al"),
    "victim vs survivor and the VRA": ("Colorado Victim Rights Act", "Ley de Derechos de las Víctimas de Colorado"),
    "law enforcement": ("District Attorney's Office", "Fiscal de Distrito de Denver"),
    "victim services": ("trauma-informed", "tenga en cuenta el trauma"),
}
WEB_LEFTOVERS = re.compile(r"(?i)skip to content|click|visit|website|here\b.*directory|https?://|www\.|\.gov|\.org|sitio web")


def all_text(lang: str) -> str:
    return " ".join(node.prompt[lang] for node in CONTENT.values())


@pytest.mark.parametrize("section", SECTIONS)
def test_every_seed_section_in_both_languages(section):
    english, spanish = SECTIONS[section]
    assert english in all_text("en")
    assert spanish in all_text("es")


@pytest.mark.parametrize("node_id", CONTENT)
@pytest.mark.parametrize("lang", ["en", "es"])
def test_each_section_under_a_minute_and_no_web_leftovers(node_id, lang):
    text = CONTENT[node_id].prompt[lang]
    assert seconds(text, lang) < 60, f"{node_id}/{lang}: {seconds(text, lang):.0f}s"
    assert not WEB_LEFTOVERS.search(text), WEB_LEFTOVERS.search(text)
    # short sentences: nothing over 40 words between full stops
    for sentence in re.split(r"[.?!]", text):
        assert len(sentence.split()) <= 40, sentence


@pytest.mark.parametrize("node_id", CONTENT)
def test_spanish_is_translated(node_id):
    node = CONTENT[node_id]
    assert node.prompt["es"] != node.prompt["en"]


def test_justice_department_credited():
    assert "adapted from the United States Department of Justice" in all_text("en")
    assert "Departamento de Justicia" in all_text("es")


def test_hotlines_described_as_the_seed_does():
    for lang, facts in {
        "en": [
            "24 hours a day, 7 days a week",
            "2 3 3 7 3 3",
            "200 languages",
            "anonymously",
            "1, 8 8 8, 3 7 3, 7 8 8 8",
            "1, 8 6 6, 4 5 5, 5 0 7 5",
            "7 1 1",
        ],
        "es": [
            "24 horas",
            "2 3 3 7 3 3",
            "200",
            "No tiene que dar su nombre",
            "1, 8 8 8, 3 7 3, 7 8 8 8",
            "1, 8 6 6, 4 5 5, 5 0 7 5",
            "7 1 1",
        ],
    }.items():
        text = all_text(lang)
        for fact in facts:
            assert fact in text, (lang, fact)
    assert MENU.hotlines["national"].sms == "233733"


# --- fidelity to the seed page, heard as a caller hears it ---------------------------------


def keys_to(node_id: str) -> list[str]:
    """The fewest key presses from the front door to a node, following the menu's own options
    (goto and "next"), so the tests keep working when the front door gains or moves a choice."""
    paths = {MENU.start: []}
    frontier = [MENU.start]
    while frontier:
        here = MENU.nodes[frontier.pop(0)]
        for key, option in here.keys.items():
            action = option.action
            target = action.target if action.kind == "goto" else here.next if action.kind == "next" else None
            if target and target not in paths:
                paths[target] = [*paths[here.id], key]
                frontier.append(target)
    return paths[node_id]


def hear(dial, node_id: str, lang: str) -> str:
    """What a caller hears on arriving at a node, pressing keys on a signed call in a language."""
    call = dial()
    if lang != "en":
        call.press(MENU.languages[lang].switch_key)
    for key in keys_to(node_id):
        call.press(key)
    assert call.node == node_id
    return call.last_heard


# node, language, phrases the caller must hear, phrases they must not (the old, unfaithful text)
FIDELITY = {
    "how: traffickers *might use* these methods, not lure with violence": (
        "how",
        {
            "en": (
                ["traffickers might use violence, manipulation, false promises of well-paying jobs, or romantic relationships"],
                ["lure", "with violence"],
            ),
            "es": (
                [
                    "los tratantes pueden usar la violencia, la manipulación, falsas promesas de trabajos bien pagados o relaciones románticas"
                ],
                ["atraen a las personas con violencia"],
            ),
        },
    ),
    "how: Spanish 'se le llama un delito oculto'": (
        "how",
        {"es": (["a la trata de personas se le llama un delito oculto"], ["personas se llama"])},
    ),
    "victims: lack of a social safety net, not only family and friends": (
        "victims",
        {
            "en": (["someone who lacks a social safety net"], ["family and friends"]),
            "es": (["alguien sin una red de apoyo social"], ["familia y amistades"]),
        },
    ),
    "victim or survivor: rights according to the Colorado Victim Rights Act": (
        "victim_survivor",
        {
            "en": (["certain rights under the Colorado Victim Rights Act"], []),
            "es": (["ciertos derechos según la Ley de Derechos de las Víctimas de Colorado"], ["bajo la Ley"]),
        },
    ),
    "law enforcement: victim-centred practice is what investigators follow; other options": (
        "law_enforcement",
        {
            "en": (
                [
                    "investigators and prosecutors follow victim-centered best practices",
                    "does not want to be involved in the criminal justice process, there are other options",
                    "ways to investigate and prosecute traffickers that do not rely on the victim",
                ],
                ["Investigators and prosecutors put the victim's needs"],
            ),
            "es": (
                [
                    "fiscales de Denver siguen buenas prácticas centradas en la víctima",
                    "no quiere participar en el proceso penal, hay otras opciones",
                    "procesan los casos de trata",
                ],
                ["llevan los casos", "fiscales ponen primero"],
            ),
        },
    ),
    "victim services: prosecution, not trial; referrals as best practice": (
        "victim_services",
        {
            "en": (
                [
                    "during the investigation and the prosecution",
                    "Best practice is for service providers to work together and refer victims to one another",
                ],
                ["trial"],
            ),
            "es": (
                [
                    "durante la investigación y el proceso penal",
                    "Las buenas prácticas piden que los proveedores de servicios trabajen juntos y se remitan a las personas entre sí",
                ],
                ["juicio", "se refieren"],
            ),
        },
    ),
    "get help: BeFree, the Colorado service directory, anonymous information": (
        "get_help",
        {
            "en": (
                [
                    "send a text message to 2 3 3 7 3 3, which spells BeFree",
                    "You can give information anonymously",
                    "To find services in Colorado, call",
                ],
                ["stay anonymous"],
            ),
            "es": (
                [
                    "mensaje de texto al 2 3 3 7 3 3, que en el teclado se escribe BeFree",
                    "No tiene que dar su nombre",
                    "Para buscar servicios en Colorado, llame",
                ],
                ["anonimato"],
            ),
        },
    ),
}


@pytest.mark.parametrize("point", FIDELITY)
def test_sections_say_what_the_seed_says_in_both_languages(dial, point):
    node_id, by_language = FIDELITY[point]
    for lang, (wanted, unwanted) in by_language.items():
        heard = hear(dial, node_id, lang)
        for phrase in wanted:
            assert phrase in heard, (lang, phrase, heard)
        for phrase in unwanted:
            assert not re.search(rf"(?i)\b{re.escape(phrase)}\b", heard), (lang, phrase, heard)


@pytest.mark.parametrize(
    ("lang", "label", "first_sentence"),
    [
        ("en", "For the difference between a victim and a survivor, press 3.", "What is the difference between a victim and a survivor?"),
        (
            "es",
            "Para saber la diferencia entre víctima y sobreviviente, oprima 3.",
            "¿Cuál es la diferencia entre víctima y sobreviviente?",
        ),
    ],
)
def test_topic_three_is_named_for_what_the_section_says(dial, lang, label, first_sentence):
    """The section names the Victim Rights Act but does not list rights: the topic must not promise them."""
    call = dial()
    if lang != "en":
        call.press(MENU.languages[lang].switch_key)
    for key in keys_to("learn"):
        call.press(key)
    menu = call.last_heard
    assert label in menu
    assert not re.search(r"(?i)\byour rights\b|\bsus derechos\b", menu)
    call.press("3")
    assert call.node == "victim_survivor" and call.last_heard.startswith(first_sentence)


def test_befree_is_what_the_text_number_spells_on_a_keypad(dial):
    """The section reads the hotline's text number digit by digit and names it BeFree: both must
    stay true of the number in `hotlines:`."""
    keypad = {letter: digit for digit, letters in {"2": "ABC", "3": "DEF", "7": "PQRS"}.items() for letter in letters}
    sms = MENU.hotlines["national"].sms
    assert "".join(keypad[letter] for letter in "BEFREE") == sms
    for lang in ("en", "es"):
        heard = hear(dial, "get_help", lang)
        assert f"{spoken_digits(sms)}, " in heard and "BeFree" in heard


# Facts the sections give that the seed page does not, and what the YAML comment must name.
NOT_IN_SEED = {
    "interpreters in 200+ languages": (re.compile(r"200 (languages|idiomas)"), "200 languages"),
    "TTY through 711": (re.compile(r"\b7 1 1\b"), "711"),
}


def comments_of(node_id: str) -> str:
    """The comment lines inside one node's block of menus/main.yaml."""
    lines = MAIN_MENU.read_text(encoding="utf-8").splitlines()
    start = lines.index(f"  {node_id}:")
    end = next((i for i in range(start + 1, len(lines)) if re.match(r"  \S", lines[i])), len(lines))
    return " ".join(line.strip().lstrip("#").strip() for line in lines[start:end] if line.strip().startswith("#"))


@pytest.mark.parametrize("fact", NOT_IN_SEED)
def test_facts_not_in_the_seed_are_marked_with_their_source(fact):
    pattern, named = NOT_IN_SEED[fact]
    nodes = [node_id for node_id, node in CONTENT.items() if any(pattern.search(text) for text in node.prompt.values())]
    assert nodes, f"no section gives {fact}: drop it from NOT_IN_SEED"
    for node_id in nodes:
        comments = comments_of(node_id)
        assert "Not in the seed" in comments and named in comments, (node_id, fact)
        assert "humantraffickinghotline.org" in comments, (node_id, "the comment must name the source")
