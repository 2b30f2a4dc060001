"""The browser phone in a real browser: Playwright driving Debian's Chromium."""

from __future__ import annotations

import re
import shutil

import pytest
from playwright.sync_api import expect, sync_playwright

from ivr import create_app, load_menu

from .conftest import MAIN_MENU, ROOT, need

ARTIFACTS = ROOT / "build" / "screenshots"
ARTIFACTS.mkdir(parents=True, exist_ok=True)

ARGS = [
    "--no-sandbox",
    "--headless=new",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    chromium = need("chromium", "chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    app = create_app({"IVR_MENU": str(MAIN_MENU), "TWILIO_AUTH_TOKEN": ""})
    url = live_server(app)
    context = browser.new_context()
    page = context.new_page()
    page.goto(url + "/simulator")
    yield page
    context.close()


def key(page, k):
    page.locator(f'#keypad button[data-key="{k}"]').click()


def test_call_press_keys_and_reach_the_national_hotline(page):
    page.click("#call")
    transcript = page.locator("#transcript")
    expect(transcript).to_contain_text("If you are in immediate danger, hang up and call 9 1 1")
    expect(page.locator("#where")).to_have_text("welcome")
    key(page, "3")
    expect(page.locator("#where")).to_have_text("learn")
    expect(transcript).to_contain_text("You pressed 3")
    expect(transcript).to_contain_text("Choose a topic.")
    key(page, "1")
    expect(transcript).to_contain_text("What is human trafficking?")
    page.click("#silence")
    expect(transcript).to_contain_text("Sorry, I did not hear a choice.")
    key(page, "0")
    expect(transcript).to_contain_text("the line is dialling +18883737888")
    expect(page.locator("#status")).to_contain_text("Transferring to the National Human Trafficking Hotline (1-888-373-7888)")
    expect(page.locator("#legend")).to_be_visible()
    expect(page.locator('#outcomes button[data-outcome="no-answer"]')).to_have_text("No answer")
    expect(page.locator('#keypad button[data-key="1"]')).to_be_disabled()
    page.click('#outcomes button[data-outcome="busy"]')
    expect(transcript).to_contain_text("the line is dialling +18664555075")
    page.click('#outcomes button[data-outcome="completed"]')
    expect(transcript).to_contain_text("Thank you for calling.")
    expect(page.locator("#status")).to_have_text("Call ended.")


def test_switch_to_spanish_and_reach_the_colorado_hotline(page):
    page.click("#call")
    transcript = page.locator("#transcript")
    expect(transcript).to_contain_text("Para español, oprima 9.")
    key(page, "9")
    expect(transcript).to_contain_text("[es-US]Si está en peligro inmediato")
    key(page, "2")
    expect(transcript).to_contain_text("Le comunicamos con la línea de la Red de Colorado")
    expect(transcript).to_contain_text("the line is dialling +18664555075")
    page.click("#hangup")
    expect(page.locator("#status")).to_have_text("Call ended.")


def test_keyboard_keys_and_speech_language(page):
    # Record what the page asks the browser to speak, in which language.
    page.evaluate("""() => { window.spoken = []; window.speechSynthesis.speak = (u) => window.spoken.push([u.lang, u.text]); }""")
    page.click("#call-es")
    expect(page.locator("#transcript")).to_contain_text("Si está en peligro inmediato")
    # A key stops what is being read: wait until the whole front door was handed to speech.
    page.wait_for_function("() => window.spoken.some(([lang, text]) => text === 'For English, press 9.')")
    page.keyboard.press("3")
    expect(page.locator("#where")).to_have_text("learn")
    spoken = page.evaluate("window.spoken")
    assert ["es-US", "Si está en peligro inmediato, cuelgue y llame al 9 1 1."] in spoken
    assert ["en-US", "For English, press 9."] in spoken
    assert any(lang == "es-US" and text.startswith("Elija un tema") for lang, text in spoken)


def test_quick_presses_come_back_in_order(page):
    page.click("#call")
    expect(page.locator("#where")).to_have_text("welcome")
    # three presses in the same instant, as a caller who knows the menu types them
    page.evaluate("""() => ['3', '1', '1'].forEach((k) => document.querySelector(`#keypad button[data-key="${k}"]`).click())""")
    expect(page.locator("#where")).to_have_text("where")
    texts = page.locator("#transcript p").all_inner_texts()
    order = [
        texts.index(next(t for t in texts if t.startswith(s)))
        for s in (
            "You pressed 3",
            "[en-US]Choose a topic.",
            "[en-US]What is human trafficking?",
            "[en-US]Where does human trafficking happen?",
        )
    ]
    assert order == sorted(order), texts
    assert [t for t in texts if t.startswith("You pressed")] == ["You pressed 3", "You pressed 1", "You pressed 1"]


def test_at_phone_width_what_the_line_says_stays_in_view(browser, live_server):
    app = create_app({"IVR_MENU": str(MAIN_MENU), "TWILIO_AUTH_TOKEN": ""})
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(live_server(app) + "/")  # the server's root leads to the browser phone
    assert page.url.endswith("/simulator")
    page.click("#call")
    heard = page.locator("#heard")
    expect(heard).to_contain_text("To talk to someone now, stay on the line, or press 0.")
    key(page, "9")  # Spanish: the change must be visible without scrolling
    expect(heard).to_contain_text("Para hablar con")
    expect(page.locator("#lang")).to_have_text("(es-US)")
    box = heard.bounding_box()
    assert box["y"] + box["height"] <= 844 and box["x"] + box["width"] <= 390
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
    page.screenshot(path=str(ARTIFACTS / "phone-390.png"))
    context.close()


def in_view(locator, width: int, height: int) -> bool:
    box = locator.bounding_box()
    return box is not None and box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= width and box["y"] + box["height"] <= height


@pytest.fixture
def phone_at(browser, live_server):
    """A page of the browser phone at a given viewport size, recording console errors and failed loads."""
    contexts = []

    def open_page(width: int, height: int, app=None):
        app = app or create_app({"IVR_MENU": str(MAIN_MENU), "TWILIO_AUTH_TOKEN": ""})
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        page = context.new_page()
        page.problems = []
        page.on("console", lambda m: page.problems.append(m.text) if m.type == "error" else None)
        page.on("response", lambda r: page.problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        page.goto(live_server(app) + "/simulator")
        return page

    yield open_page
    for context in contexts:
        context.close()


def test_keys_pressed_while_a_transfer_is_dialled_do_nothing_but_a_short_note(phone_at):
    """Keys pressed as the line starts dialling once answered 409 and appended the whole call again."""
    page = phone_at(1280, 800)
    page.click("#call")
    expect(page.locator("#where")).to_have_text("welcome")
    # 0 asks for a person; three more keys follow before the answer comes back, as impatient fingers do
    page.evaluate(
        """() => { document.querySelector('#keypad button[data-key="0"]').click();
                   ['5', '6', '7'].forEach((k) => document.dispatchEvent(new KeyboardEvent('keydown', {key: k}))); }"""
    )
    notice = page.locator("#notice")
    expect(notice).to_have_text("Key 7 does nothing while the line dials a hotline: choose what happens to the transfer.")
    expect(page.locator("#status")).to_contain_text("Transferring to the National Human Trafficking Hotline")
    texts = page.locator("#transcript p").all_inner_texts()
    assert sum("If you are in immediate danger" in t for t in texts) == 1, texts  # the call is not replayed
    assert [t for t in texts if "does nothing" in t] == [
        f"Key {k} does nothing while the line dials a hotline: choose what happens to the transfer." for k in "567"
    ]
    assert not [t for t in texts if t.startswith("Error")], texts
    page.click('#outcomes button[data-outcome="busy"]')  # the call goes on as if the keys had never been pressed
    expect(page.locator("#transcript")).to_contain_text("the line is dialling +18664555075")
    expect(notice).to_be_hidden()
    page.click('#outcomes button[data-outcome="completed"]')
    expect(page.locator("#transcript")).to_contain_text("Thank you for calling.")


def test_a_spanish_call_names_the_hotline_in_spanish(phone_at):
    page = phone_at(390, 844)
    page.click("#call-es")
    expect(page.locator("#where")).to_have_text("welcome")
    key(page, "1")
    status = page.locator("#status")
    expect(status).to_have_text(
        "Transferring to la Línea Nacional contra la Trata de Personas (1-888-373-7888). What happens to the transfer?"
    )
    expect(page.locator("#transcript")).to_contain_text("the line is dialling +18883737888, la Línea Nacional contra la Trata de Personas")
    assert in_view(status, 390, 844)


def test_the_action_limit_is_said_in_view_at_phone_width_and_never_asks_for_a_disabled_button(phone_at, monkeypatch):
    monkeypatch.setattr("ivr.sim.browser.MAX_ACTIONS", 22)  # the real limit is 200: the same code, sooner
    page = phone_at(390, 844)
    page.click("#call")
    expect(page.locator("#where")).to_have_text("welcome")
    left = page.locator("#left")
    for press in range(1, 22):
        key(page, "#")  # hear the menu again
        if press >= 2:
            expect(left).to_have_text(
                f"{22 - press} actions left in this simulated call." if press < 21 else "1 action left in this simulated call."
            )
    assert in_view(left, 390, 844)
    page.screenshot(path=str(ARTIFACTS / "phone-390-one-action-left.png"))
    key(page, "#")  # the last one
    expect(left).to_have_text("This simulated call has used all 22 of its actions: press Call to start a new one.")
    expect(page.locator("#status")).to_have_text("Call ended.")
    assert in_view(left, 390, 844) and in_view(page.locator("#status"), 390, 844)
    expect(page.locator("#hangup")).to_be_disabled()
    expect(page.locator("#call")).to_be_enabled()
    expect(page.locator('#keypad button[data-key="1"]')).to_be_disabled()
    page.screenshot(path=str(ARTIFACTS / "phone-390-no-actions-left.png"))
    page.click("#call")  # and a new call starts afresh
    expect(page.locator("#where")).to_have_text("welcome")
    expect(left).to_be_hidden()


def test_at_desktop_width_a_long_section_never_pushes_the_keypad_off_screen(phone_at):
    page = phone_at(1280, 800)
    page.click("#call")
    expect(page.locator("#where")).to_have_text("welcome")
    for k in "31":  # the longest section a caller can open in two keys
        key(page, k)
    expect(page.locator("#where")).to_have_text("what_is")
    heard = page.locator("#heard")
    expect(heard).to_contain_text("What is human trafficking?")
    assert heard.evaluate("(e) => e.scrollHeight > e.clientHeight")  # longer than the box: it scrolls inside it
    assert in_view(page.locator("#keypad"), 1280, 800) and in_view(page.locator("#silence"), 1280, 800)
    page.screenshot(path=str(ARTIFACTS / "phone-1280-long-section.png"))
    key(page, "0")
    expect(page.locator("#legend")).to_be_visible()
    assert in_view(page.locator(".phone"), 1280, 800)  # the whole phone, legend included
    page.screenshot(path=str(ARTIFACTS / "phone-1280-dialling.png"))


@pytest.mark.parametrize("width, height", [(390, 844), (1280, 800)])
def test_the_page_has_a_heading_and_loads_without_a_console_error(phone_at, width, height):
    page = phone_at(width, height)
    heading = page.locator("h1")
    expect(heading).to_have_text("Line simulator")
    assert in_view(heading, width, height)
    page.click("#call")
    expect(page.locator("#where")).to_have_text("welcome")
    page.reload()
    expect(heading).to_be_visible()
    assert page.problems == [], page.problems  # no favicon 404, nothing else
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_no_voice_is_said_and_a_broken_answer_never_breaks_the_page(page):
    expect(page.locator("#voice-note")).to_contain_text("no voice")  # headless Chromium has none
    page.click("#call")
    expect(page.locator("#where")).to_have_text("welcome")
    page.route("**/simulator/api/call", lambda route: route.fulfill(status=502, body="<html>Bad gateway</html>", content_type="text/html"))
    key(page, "3")
    expect(page.locator("#transcript")).to_contain_text("Error: The server answered HTTP 502.")
    expect(page.locator("#notice")).to_have_text("Error: The server answered HTTP 502.")  # in the phone too
    expect(page.locator("#hangup")).to_be_enabled()  # still a phone: hang up and call again


def test_say_something_in_the_browser_phone(page):
    page.click("#call")
    expect(page.locator("#where")).to_have_text("welcome")
    page.fill("#say-text", "who are the victims")
    page.keyboard.press("Enter")
    expect(page.locator("#transcript")).to_contain_text("You said: who are the victims")
    expect(page.locator("#where")).to_have_text("victims")
    page.fill("#say-text", "ayuda")  # typing digits or words here never presses keys
    page.click("#say")
    expect(page.locator("#status")).to_contain_text("Transferring to the National Human Trafficking Hotline")
    expect(page.locator("#say-text")).to_be_disabled()


# Every visible text node's colour against what is painted behind it (the element's and its
# ancestors' backgrounds, composited), after opacity: WCAG's contrast ratio, measured on what
# Chromium actually rendered. Disabled controls are exempt (WCAG 1.4.3).
CONTRAST = """() => {
  const parse = (c) => { const m = /rgba?\\(([^)]+)\\)/.exec(c || ""); if (!m) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  const over = (top, under) => [0, 1, 2].map((i) => top[i] * top[3] + under[i] * (1 - top[3])).concat([1]);
  const lum = (c) => { const [r, g, b] = c.slice(0, 3).map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  const behind = (el) => { const chain = []; for (let e = el; e; e = e.parentElement) chain.unshift(e);
    return chain.reduce((bg, e) => { const c = parse(getComputedStyle(e).backgroundColor); return c && c[3] > 0 ? over(c, bg) : bg; }, [255, 255, 255, 1]); };
  const measure = (el, colour, text) => { let alpha = 1; for (let e = el; e; e = e.parentElement) alpha *= Number(getComputedStyle(e).opacity);
    const bg = behind(el), fg = parse(colour); return {text: text.slice(0, 50), colour, ratio: ratio(over([fg[0], fg[1], fg[2], fg[3] * alpha], bg), bg)}; };
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement, text = node.textContent.trim();
    if (!text || el.closest("[disabled], title, script, style")) continue;
    const box = el.getBoundingClientRect(), style = getComputedStyle(el);
    if (!box.width || !box.height || style.visibility !== "visible") continue;
    found.push(measure(el, el instanceof SVGElement ? style.fill : style.color, text));
  }
  for (const input of document.querySelectorAll("input[placeholder]:not([disabled])"))
    if (!input.value) found.push(measure(input, getComputedStyle(input, "::placeholder").color, "placeholder: " + input.placeholder));
  return found;
}"""


def low_contrast(page) -> list[dict]:
    measured = page.evaluate(CONTRAST)
    assert len(measured) >= 5  # the check saw the page's text
    return [m for m in measured if m["ratio"] < 4.5]


def test_the_browser_phone_text_reaches_wcag_aa_contrast(page):
    assert low_contrast(page) == []
    page.click("#call")
    expect(page.locator("#where")).to_have_text("welcome")
    page.locator("#say-text").fill("")  # the placeholder shows, on an enabled field
    key(page, "0")
    expect(page.locator("#legend")).to_be_visible()  # the transfer: dialling line, outcome buttons, legend
    assert low_contrast(page) == []
    page.route("**/simulator/api/call", lambda route: route.fulfill(status=502, body="<html>Bad gateway</html>", content_type="text/html"))
    page.click('#outcomes button[data-outcome="busy"]')
    expect(page.locator("#transcript")).to_contain_text("Error: The server answered HTTP 502.")
    page.unroute("**/simulator/api/call")
    page.click("#hangup")
    expect(page.locator("#transcript .sys")).to_contain_text("Call ended")
    assert low_contrast(page) == []


def stats_app(tmp_path):
    """A line with real calls counted and saved, its statistics in a scratch SQLite file."""
    from ivr.sim.caller import Call
    from ivr.sim.transports import AppTransport

    app = create_app({"IVR_MENU": str(MAIN_MENU), "TWILIO_AUTH_TOKEN": "", "IVR_STATS_URL": f"sqlite:///{tmp_path / 's.sqlite3'}"})
    for keys in ("31", "9", "0", "32", "3"):
        call = Call(AppTransport(app)).start()
        for k in keys:
            call.press(k)
    app.extensions["ivr_count"].save()
    return app


@pytest.mark.parametrize("width", [390, 1280])
def test_statistics_dashboard_offline_at_phone_and_desktop_width(browser, live_server, tmp_path, width):
    """/stats in real Chromium: the figures of real calls, charts drawn with no network beyond our
    own server, nothing wider than the screen, every chart also a table, every text readable
    (WCAG AA contrast), and the public CSV downloads."""
    url = live_server(stats_app(tmp_path))
    context = browser.new_context(viewport={"width": width, "height": 844}, accept_downloads=True)
    page = context.new_page()
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(url) else outside.append(r.url))
    page.goto(url + "/stats")
    expect(page.locator("#calls")).to_have_text("5")
    expect(page.locator("#languages")).to_contain_text("Español")
    expect(page.locator("#sections")).to_contain_text("Choose a topic.")  # the section's own words, not its id
    expect(page.locator("#sections")).not_to_contain_text("learn")
    for section in ("languages", "sections", "transfers", "how", "length"):  # lists of figures are tables
        assert page.locator(f"#{section}").get_by_role("table").count() >= 1, section
    languages = page.locator("#languages").get_by_role("table")
    expect(languages.get_by_role("row", name="Español")).to_contain_text("1")
    expect(page.locator("#transfers")).to_contain_text("no answer")
    assert page.locator("#week svg rect").count() == 7 * 24
    for section in ("per-day", "week"):  # the charts drawn in SVG come with their figures as a table
        page.locator(f"#{section} summary").click()
        expect(page.locator(f"#{section}").get_by_role("table")).to_be_visible()
    day_rows = page.locator("#per-day table tbody tr")  # counting started today: the period starts there
    assert day_rows.count() == 1 and sum(int(t) for t in page.locator("#per-day table tbody td").all_inner_texts()) == 5
    hours = page.locator("#week table tbody td").all_inner_texts()
    assert len(hours) == 7 * 24 and sum(int(t) for t in hours) == 5
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "wider than the screen"
    assert low_contrast(page) == []
    page.screenshot(path=str(ARTIFACTS / f"stats-{width}.png"), full_page=True)
    with page.expect_download() as download:
        page.click("#csv")
    text = open(download.value.path(), encoding="utf-8").read()
    assert text.startswith("measure,name,detail,count") and "calls,,,5" in text and "by_language,es,,<3" in text
    assert outside == [], outside  # no CDN, no fonts, no scripts from elsewhere
    context.close()


def test_statistics_dates_are_checked_beside_their_fields(browser, live_server, tmp_path):
    url = live_server(stats_app(tmp_path))
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(url + "/stats?from=2026-02-30&to=yesterday")
    start, end = page.locator("#from"), page.locator("#to")
    expect(start).to_have_attribute("aria-invalid", "true")
    expect(start).to_have_accessible_description("2026-02-30 is not a day of the calendar.")
    expect(end).to_have_accessible_description("“yesterday” is not a date: write the day as YYYY-MM-DD, for example 2026-12-01.")
    assert low_contrast(page) == []
    page.screenshot(path=str(ARTIFACTS / "stats-dates-390.png"), full_page=True)
    page.goto(url + "/stats?from=0001-01-01&to=9999-12-31")  # limited to what the data holds, and said so
    expect(page.locator("#calls")).to_have_text("5")
    expect(end).to_have_accessible_description(re.compile(r"Counts go up to today"))
    expect(start).to_have_accessible_description(re.compile(r"Counting started on"))
    assert start.input_value() == end.input_value() == start.get_attribute("max")  # every count is from today
    context.close()


def test_a_recording_plays_on_the_browser_phone_and_says_so(phone_at, menu_dir, tmp_path):
    """Operators hear what callers hear: the recording itself, named, with its words, marked as played."""
    from examples.make_recordings import make

    from .recordings import spoken_tools

    spoken_tools()
    make(load_menu(menu_dir / "menus" / "main.yaml"), tmp_path / "made", ("greeting", "welcome.prompt"))  # never into audio/ itself
    shutil.copytree(tmp_path / "made", menu_dir / "audio", dirs_exist_ok=True)
    page = phone_at(390, 844, create_app({"IVR_MENU": str(menu_dir / "menus" / "main.yaml"), "TWILIO_AUTH_TOKEN": ""}))
    page.click("#call")
    greeting = page.locator("#transcript p.recording").first
    expect(greeting.locator(".file")).to_have_text("en/greeting.wav")
    expect(greeting).to_contain_text("If you are in immediate danger, hang up and call 9 1 1.")
    expect(greeting.locator(".played")).to_have_text(re.compile(r"✓ played \d\.\d s"), timeout=15000)  # heard to its end
    second = page.locator("#transcript p.recording").nth(1)
    expect(second.locator(".file")).to_have_text("en/welcome.prompt.wav")
    expect(second.locator(".played")).to_contain_text("played", timeout=15000)
    expect(page.locator("#heard")).to_contain_text("If you are in immediate danger")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(ARTIFACTS / "phone-390-recording.png"))
    assert page.problems == []
