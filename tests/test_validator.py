"""The validator's messages: exact file:line:column and what to change, for a set of broken menus."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ivr import MenuInvalid, create_app, load_menu

from .conftest import MAIN_MENU, ROOT

BASE = MAIN_MENU.read_text(encoding="utf-8")


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """1-based line of the nth line containing `needle` (found independently of the validator)."""
    hits = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    return hits[nth - 1]


def broken(tmp_path, old: str, new: str, count: int = 1):
    assert old in BASE, old
    text = BASE.replace(old, new, count)
    path = tmp_path / "menus" / "main.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(MenuInvalid) as err:
        load_menu(path)
    return text, str(path), err.value.problems


def only(problems, code=None):
    chosen = [p for p in problems if code is None or p.code == code]
    assert len(chosen) == 1, [str(p) for p in problems]
    return chosen[0]


def test_main_menu_is_valid():
    menu = load_menu(MAIN_MENU)
    assert set(menu.languages) == {"en", "es"}
    assert menu.hotlines["national"].number == "+18883737888"
    assert menu.hotlines["coneht"].number == "+18664555075"


def test_unquoted_phone_number(tmp_path):
    text, path, problems = broken(tmp_path, 'number: "+18883737888"', "number: +18883737888")
    p = only(problems)
    assert (p.file, p.line, p.column) == (path, line_of(text, "number: +18883737888"), 13)
    assert str(p).startswith(f"{path}:{p.line}:13: error:")
    assert "+18883737888 must be quoted" in p.message and '"+18883737888"' in p.message


def test_unquoted_key_and_boolean_language_code(tmp_path):
    text, path, problems = broken(tmp_path, '- key: "3"\n        goto: learn', "- key: 3\n        goto: learn")
    p = only(problems)
    line = text.splitlines()[p.line - 1]
    assert p.line == line_of(text, "- key: 3") and p.column == line.index("3") + 1
    assert 'write "3", not 3' in p.message


def test_yes_no_keys_are_booleans(tmp_path):
    text, path, problems = broken(tmp_path, "  es:\n    name: Español", "  no:\n    name: Español")
    assert any(p.line == line_of(text, "  no:") and "true/false" in p.message and '"no"' in p.message for p in problems), problems


def test_unknown_field_with_suggestion(tmp_path):
    text, path, problems = broken(tmp_path, "    type: content\n    text:", "    type: content\n    txet:")
    messages = [str(p) for p in problems]
    hit = [p for p in problems if p.code == "unknown-field"]
    assert hit and hit[0].line == line_of(text, "txet:") and "Did you mean 'text'?" in hit[0].message, messages


def test_wrong_type(tmp_path):
    text, path, problems = broken(tmp_path, "  timeout: 8 ", "  timeout: ten ")
    p = only(problems)
    assert p.line == line_of(text, "timeout: ten") and "whole number from 8 to 30" in p.message


def test_timeout_below_eight_seconds_is_refused(tmp_path):
    text, path, problems = broken(tmp_path, "  timeout: 8 ", "  timeout: 5 ")
    assert only(problems).line == line_of(text, "timeout: 5")


def test_key_bound_twice(tmp_path):
    text, path, problems = broken(tmp_path, '- key: "2"\n        transfer: coneht', '- key: "1"\n        transfer: coneht')
    p = only(problems, "key-twice")
    assert p.line == line_of(text, '- key: "1"', 2) and "bound twice" in p.message
    assert f"first at line {line_of(text, '- key: ' + chr(34) + '1' + chr(34))}" in p.message


def test_duplicate_yaml_key(tmp_path):
    text, path, problems = broken(tmp_path, "  invalid: 3 ", "  invalid: 3\n  invalid: 4 ")
    p = only(problems, "duplicate")
    assert p.line == line_of(text, "invalid: 4") and "written twice" in p.message


def test_reference_to_missing_node_and_hotline(tmp_path):
    text, path, problems = broken(tmp_path, "goto: victims", "goto: victim")
    p = only(problems)
    assert p.line == line_of(text, "goto: victim") and "no node named 'victim'" in p.message and "Did you mean 'victims'?" in p.message
    text, path, problems = broken(tmp_path, "transfer: coneht", "transfer: conet")
    p = only(problems)
    assert p.line == line_of(text, "transfer: conet") and "Did you mean 'coneht'?" in p.message


@pytest.mark.parametrize("odd", ["²³³⁷³³", "２３３７３３", "٢٣٣٧٣٣"])
def test_a_text_number_in_other_scripts_digits_is_refused(tmp_path, odd):
    """str.isdigit() is true for all of these; a voice would read them as anything but 2 3 3 7 3 3."""
    text, path, problems = broken(tmp_path, 'sms: "233733"', f'sms: "{odd}"')
    p = only(problems)
    assert p.line == line_of(text, f'sms: "{odd}"') and "must be digits only" in p.message


def test_missing_translation(tmp_path):
    text, path, problems = broken(tmp_path, "      es: Elija un tema.\n", "")
    p = only(problems)
    assert p.line == line_of(text, "en: Choose a topic.") and "no es translation" in p.message


def test_emergency_number_refused(tmp_path):
    for number in ('"911"', '"+1911"', '"112"', '"933"'):
        text, path, problems = broken(tmp_path, '"+18664555075"', number)
        p = only(problems)
        assert p.line == line_of(text, f"number: {number}") and "emergency number" in p.message


def test_non_e164_number(tmp_path):
    text, path, problems = broken(tmp_path, '"+18664555075"', '"866-455-5075"')
    p = only(problems)
    assert p.line == line_of(text, "866-455-5075") and "E.164" in p.message and '"+18664555075"' in p.message


def test_say_text_over_twilio_limit(tmp_path):
    long_text = "word " * 700  # 3,500 characters: over Polly's 3,000
    text, path, problems = broken(tmp_path, "      en: Choose a topic.", f"      en: {long_text}")
    p = only(problems)
    assert p.line == line_of(text, "word word") and "at most 3000" in p.message


def test_zero_must_reach_a_person(tmp_path):
    text, path, problems = broken(tmp_path, "  learn:\n    type: menu\n", '  learn:\n    type: menu\n    keys:\n      "0": repeat\n')
    p = only(problems, "safety")
    assert "Key 0 must reach a person" in p.message and "node 'learn'" in p.message
    assert p.line == line_of(text, "    type: menu", 2)


def test_language_key_reused(tmp_path):
    text, path, problems = broken(tmp_path, '- key: "3"\n        goto: learn', '- key: "9"\n        goto: learn')
    assert any("switches to" in p.message for p in problems)


def test_unknown_placeholder(tmp_path):
    text, path, problems = broken(tmp_path, "Connecting you to {hotline}.", "Connecting you to {hotlin}.")
    p = only(problems)
    assert p.line == line_of(text, "{hotlin}") and "Did you mean 'hotline'?" in p.message


def test_unclosed_bracket_is_reported_on_the_line_that_opened_it(tmp_path):
    text, path, problems = broken(tmp_path, "  timeout: 8 ", "  timeout: [8 ")
    p = only(problems)
    assert p.code == "syntax" and p.line == line_of(text, "timeout: [8")  # not where PyYAML gave up
    assert f"opens with '[' on line {p.line} is never closed" in p.message and "add the missing ']'" in p.message
    assert p.snippet.splitlines()[1].index("^") == p.snippet.splitlines()[0].index("[")


def test_unclosed_quote_is_reported_on_the_line_that_opened_it(tmp_path):
    text, path, problems = broken(tmp_path, "      en: Choose a topic.", '      en: "Choose a topic.')
    p = only(problems)
    assert p.line == line_of(text, '"Choose a topic.')
    assert f'starts with " on line {p.line} has no closing "' in p.message


def test_a_tab_is_named_in_plain_words(tmp_path):
    text, path, problems = broken(
        tmp_path, "    type: content\n    text:\n      en: >-\n        What is", "\ttype: content\n    text:\n      en: >-\n        What is"
    )
    p = only(problems)
    assert p.line == line_of(text, "\ttype: content")
    assert p.message == f"Line {p.line} starts with a tab: indent with spaces instead (YAML does not allow tabs)."


@pytest.mark.parametrize(
    "old, new", [("    prompt:\n      en: Choose", "    prompt:\n       en: Choose"), ("  silences: 2", "   silences: 2")]
)
def test_wrong_indentation_names_the_line_in_plain_words(tmp_path, old, new):
    text, path, problems = broken(tmp_path, old, new)
    p = only(problems)
    assert p.message.startswith(f"Line {p.line} is indented differently from the lines above it (line {p.line - 1}).")
    changed = line_of(text, new.splitlines()[-1])
    assert p.line in (changed, changed + 1)  # the edited line, or the next one that no longer lines up with it


def test_all_errors_reported_not_just_the_first(tmp_path):
    path = tmp_path / "many.yaml"
    text = BASE.replace('"+18883737888"', "+18883737888").replace("goto: victims", "goto: victim").replace("  timeout: 8 ", "  timeout: 2 ")
    path.write_text(text)
    with pytest.raises(MenuInvalid) as err:
        load_menu(path)
    lines = sorted(p.line for p in err.value.problems)
    assert lines == sorted([line_of(text, "number: +18883737888"), line_of(text, "goto: victim"), line_of(text, "timeout: 2")])


def run_cli(*args: str):
    return subprocess.run([sys.executable, "-m", "ivr", *args], capture_output=True, text=True, cwd=ROOT, timeout=60)


def test_cli_validate_exit_codes(tmp_path):
    good = run_cli("validate")
    assert good.returncode == 0 and good.stdout.count("\n") == 1 and "valid" in good.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(BASE.replace('"+18883737888"', "+18883737888"))
    result = run_cli("validate", str(bad))
    assert result.returncode == 1
    expected_line = line_of(bad.read_text(), "number: +18883737888")
    assert f"{bad}:{expected_line}:13:" in result.stdout
    as_json = run_cli("validate", str(bad), "--format", "json")
    assert as_json.returncode == 1 and '"line"' in as_json.stdout


def test_server_refuses_to_start_on_invalid_menu(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(BASE.replace("goto: victims", "goto: victim"))
    with pytest.raises(MenuInvalid):
        create_app({"IVR_MENU": str(bad)})
    result = subprocess.run(
        [sys.executable, "server.py"], cwd=ROOT, env={"IVR_MENU": str(bad), "PATH": ""}, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert f"{bad}:{line_of(bad.read_text(), 'goto: victim')}:" in result.stderr


def test_complete_example_in_the_docs_is_valid(tmp_path):
    doc = (ROOT / "docs" / "menu-format.md").read_text(encoding="utf-8")
    example = doc.split("## A complete example", 1)[1].split("```yaml", 1)[1].split("```", 1)[0]
    path = tmp_path / "example.yaml"
    path.write_text(example, encoding="utf-8")
    menu = load_menu(path)
    assert set(menu.nodes) == {"welcome", "about"}


def test_a_missing_space_after_a_colon_is_named_on_its_line(tmp_path):
    text, path, problems = broken(tmp_path, "  silences: 2 ", "  silences:2 ")
    p = only(problems)
    assert p.line == line_of(text, "silences:2")
    assert p.message == f"Line {p.line} needs a space after the ':': write 'silences: 2'."
