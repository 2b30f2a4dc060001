"""The awareness content of menus/main.yaml: every seed section, written for the ear, in both languages."""

from __future__ import annotations

import re

import pytest

from ivr import load_menu
from ivr.menu.spoken import seconds

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
            "anonymous",
            "1, 8 8 8, 3 7 3, 7 8 8 8",
            "1, 8 6 6, 4 5 5, 5 0 7 5",
            "7 1 1",
        ],
        "es": ["24 horas", "2 3 3 7 3 3", "200", "anonimato", "1, 8 8 8, 3 7 3, 7 8 8 8", "1, 8 6 6, 4 5 5, 5 0 7 5", "7 1 1"],
    }.items():
        text = all_text(lang)
        for fact in facts:
            assert fact in text, (lang, fact)
    assert MENU.hotlines["national"].sms == "233733"
