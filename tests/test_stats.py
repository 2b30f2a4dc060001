"""Anonymous statistics: whole signed calls in, exact figures out through `ivr stats`, on SQLite
and on a real PostgreSQL server; nothing that identifies a caller in the database; calls
unaffected when the database is down or slow."""

from __future__ import annotations

import json
import re
import threading
import time
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from ivr import ConfigError, create_app
from ivr.cli import main
from ivr.sim.caller import Call
from ivr.sim.transports import AppTransport

from .conftest import CALLER_NUMBER, MAIN_MENU, TOKEN

LINE_NUMBER = "+17205550123"
SPOKEN = "please help me my name is Zelda Quixote"  # a safety phrase, with words that must never be kept
CITY, ZIP = "QUIXOTEVILLE", "80999"


@pytest.fixture(params=["sqlite", "postgresql"])
def stats_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'stats.sqlite3'}"
    return request.getfixturevalue("postgres_server").new_database()


def line(url: str, **config) -> object:
    return create_app({"IVR_MENU": str(MAIN_MENU), "TWILIO_AUTH_TOKEN": TOKEN, "IVR_STATS_URL": url, **config})


def call(app, path: str = "voice") -> Call:
    """A signed call as Twilio makes it, carrying everything Twilio sends about the caller."""
    c = Call(AppTransport(app), auth_token=TOKEN, caller_number=CALLER_NUMBER, line_number=LINE_NUMBER)
    c.base_params.update(FromCity=CITY, FromZip=ZIP, FromState="CO", CallerCity=CITY, CallerZip=ZIP)
    return c.start(path)


def report(url: str, *args: str) -> dict:
    result = CliRunner().invoke(main, ["stats", "--format", "json", *args], env={"IVR_STATS_URL": url, "IVR_MENU": str(MAIN_MENU)})
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def five_calls(app) -> list[Call]:
    calls = [
        # English: two sections, a person; the national hotline is busy, CoNEHT answers.
        call(app).press("3").press("1").press("0").dial_outcome("busy").dial_outcome("completed").hangup().call_ended(45),
        # Switches to Spanish, asks for help by voice; nobody answers, then CoNEHT fails too.
        call(app).press("9").say(SPOKEN, 0.9).dial_outcome("no-answer").dial_outcome("failed").hangup().call_ended(200),
        # Silent on the front door: put through to a person.
        call(app).silence().dial_outcome("completed"),
        # Three wrong keys: put through to a person; hangs up while it rings.
        call(app).press("7").press("7").press("7").hangup(),
        # Starts in Spanish, chooses CoNEHT; the transfer is canceled, so the line tries the national one.
        call(app, "voice?lang=es").press("2").dial_outcome("canceled"),
    ]
    app.extensions["ivr_count"].save()
    return calls


def test_whole_calls_give_exact_figures(stats_url):
    app = line(stats_url)
    calls = five_calls(app)
    assert [c.dialled for c in calls][:2] == [["+18883737888", "+18664555075"], ["+18883737888", "+18664555075"]]
    figures = report(stats_url)
    assert list(figures)[:4] == ["calls", "by_language", "transfers", "sections"]  # the documented shape first
    assert figures["calls"] == 5
    assert figures["by_language"] == {"en": 3, "es": 2}  # the switch moved call 2 to Spanish
    assert figures["transfers"] == {
        "national": {"completed": 1, "busy": 1, "no-answer": 1, "failed": 0, "canceled": 0},
        "coneht": {"completed": 1, "busy": 0, "no-answer": 0, "failed": 1, "canceled": 1},
    }
    assert figures["transfer_attempts"] == {"national": 5, "coneht": 3}
    assert figures["failover_used"] == {"national": 1, "coneht": 2}
    assert figures["both_hotlines_failed"] == 1
    assert figures["escalations"] == {"silence": 1, "wrong_keys": 1, "not_understood": 0}
    assert figures["safety_phrases"] == 1
    assert figures["situations"] == {
        **dict.fromkeys(("danger", "control", "forced", "immigration", "needs", "report", "police", "cant_talk", "privacy"), 0),
        "danger": 1,
    }
    assert figures["input"] == {"keys": 8, "speech": 1}
    assert figures["call_length"] == {"under 1 min": 1, "1-3 min": 0, "3-10 min": 1, "10 min or more": 0}
    sections = figures["sections"]
    assert (sections["learn"], sections["what_is"], sections["victims"]) == (1, 1, 0)  # unheard sections are listed too
    # 5 calls start there, call 2 hears it again in Spanish and once more after both hotlines failed
    assert sections["welcome"] == 7
    assert sum(sum(hours) for hours in figures["calls_by_hour_of_week"].values()) == 5


def test_public_report_hides_counts_under_three(tmp_path):
    url = f"sqlite:///{tmp_path / 'stats.sqlite3'}"
    five_calls(line(url))
    figures = report(url, "--public")
    assert figures["calls"] == 5 and figures["by_language"] == {"en": 3, "es": "<3"}
    assert figures["transfers"]["national"]["busy"] == "<3" and figures["transfers"]["national"]["failed"] == 0
    env = {"IVR_STATS_URL": url, "IVR_MENU": str(MAIN_MENU)}
    csv = CliRunner().invoke(main, ["stats", "--public", "--format", "csv"], env=env).output
    assert csv.splitlines()[0] == "measure,name,detail,count"
    assert "calls,,,5" in csv and "by_language,es,,<3" in csv and "transfers,national,busy,<3" in csv
    assert not re.search(r",[12]$", csv, re.MULTILINE)  # no 1 or 2 anywhere
    today = datetime.now(ZoneInfo("America/Denver")).date().isoformat()
    assert csv.splitlines()[1] == f"period,{today},{today},"  # the real first and last day, not an empty row
    table = CliRunner().invoke(main, ["stats", "--public"], env=env).output
    assert "counts under 3 shown as <3" in table and re.search(r"in Español\s+<3", table)
    assert re.search(r"What is human trafficking\?\s+<3", table) and "what_is" not in table  # sections by their names


def test_days_and_hours_are_denver_time_and_prune_deletes_old_days(tmp_path):
    url = f"sqlite:///{tmp_path / 'stats.sqlite3'}"
    app = line(url)
    counter = app.extensions["ivr_count"]
    # 03:30 UTC on 2 December is 20:30 on Tuesday 1 December in Denver (UTC-7 in winter).
    counter.clock = lambda: datetime(2026, 12, 2, 3, 30, tzinfo=timezone.utc).timestamp()
    call(app).hangup()
    counter.save()
    counter.clock, counter._slot_until = (lambda: datetime(2026, 12, 3, 18, 0, tzinfo=timezone.utc).timestamp()), 0.0
    call(app).hangup()
    call(app).hangup()
    counter.save()
    first = report(url, "--from", "2026-12-01", "--to", "2026-12-01")
    assert first["calls"] == 1 and first["calls_by_day"] == {"2026-12-01": 1}
    assert first["calls_by_hour_of_week"]["Tue"][20] == 1
    assert report(url, "--from", "2026-12-02")["calls"] == 2
    assert report(url)["calls"] == 3
    env = {"IVR_STATS_URL": url, "IVR_MENU": str(MAIN_MENU)}
    result = CliRunner().invoke(main, ["stats", "prune", "--before", "2026-12-02", "--yes"], env=env)
    assert result.exit_code == 0 and "Deleted" in result.output, result.output
    assert report(url)["calls"] == 2 and report(url)["calls_by_day"] == {"2026-12-03": 2}
    bad = CliRunner().invoke(main, ["stats", "--from", "2026-12-05", "--to", "2026-12-01"], env=env)
    assert bad.exit_code != 0 and "--from" in bad.output


def test_the_database_holds_no_caller_number_call_id_or_spoken_words(stats_url, request):
    app = line(stats_url)
    calls = five_calls(app)
    if stats_url.startswith("sqlite"):
        path = stats_url.removeprefix("sqlite:///")
        stored = b"".join(open(p, "rb").read() for p in (path, path + "-wal", path + "-shm") if __import__("os").path.exists(p))
        text = stored.decode("latin-1")
    else:
        text = request.getfixturevalue("postgres_server").dump(stats_url)
    assert "welcome" in text  # the check reads real data
    digits = re.sub(r"\D", "", CALLER_NUMBER)
    needles = [CALLER_NUMBER, digits, digits[1:], digits[-7:], LINE_NUMBER, LINE_NUMBER[2:], CITY, ZIP, "Zelda", "Quixote", "please help"]
    needles += [c.call_sid for c in calls] + [c.call_sid[2:] for c in calls]
    for needle in needles:
        assert needle not in text and needle.lower() not in text.lower(), needle


def test_postgres_stopped_mid_run_leaves_calls_unaffected_and_loses_no_counts(postgres_server, caplog, tmp_path):
    url = postgres_server.new_database()
    app = line(url, IVR_STATE_DIR=str(tmp_path))
    counter = app.extensions["ivr_count"]
    for _ in range(3):
        call(app).press("3").hangup()
    assert counter.save()
    postgres_server.stop()
    try:
        during = [call(app).press("3").press("1").press("0") for _ in range(4)]  # CallError on any bad answer
        assert all(c.dialled == ["+18883737888"] for c in during)
        assert not counter.save()  # the database is down: the counts go to disk
        waiting = list((tmp_path / "stats-waiting").glob("*.jsonl"))
        assert len(waiting) == 1 and '"what_is"' in waiting[0].read_text()
        health = app.test_client().get("/healthz").get_json()
        assert health["status"] == "ok" and health["statistics"]["status"] == "degraded" and health["statistics"]["on_disk"] == 1
        assert "Statistics database unavailable" in caplog.text
    finally:
        postgres_server.start()
    assert counter.save()  # what waited on disk first, then anything new
    assert not list((tmp_path / "stats-waiting").glob("*.jsonl"))
    assert app.test_client().get("/healthz").get_json()["statistics"]["status"] == "ok"
    figures = report(url)
    assert figures["calls"] == 7 and figures["sections"]["what_is"] == 4 and figures["transfers"]["national"] == {
        "completed": 0, "busy": 0, "no-answer": 0, "failed": 0, "canceled": 0
    }  # fmt: skip
    assert figures["transfer_attempts"]["national"] == 4


def test_a_hung_postgres_is_cut_off_in_time_and_its_counts_saved_once_when_it_is_back(postgres_server, tmp_path):
    """Every process of the server stopped (SIGSTOP): no error comes back, nothing is refused, a
    statement just never ends. The save gives up within its bound, the counts go to disk, calls
    and /healthz are answered meanwhile, and once the server runs again every count is there once."""
    url = postgres_server.new_database()
    app = line(url, IVR_STATE_DIR=str(tmp_path))
    counter = app.extensions["ivr_count"]
    call(app).press("3").hangup()
    assert counter.save()  # a pooled connection is open: the hang hits a statement, not a connect
    call(app).press("3").press("2").hangup()
    stopped = postgres_server.pause()
    try:
        outcome: list[bool] = []
        saver = threading.Thread(target=lambda: outcome.append(counter.save()))
        started = time.monotonic()
        saver.start()
        answered = [call(app).press("3").press("1") for _ in range(5)]  # while the save hangs
        assert all(c.node == "what_is" for c in answered)
        assert app.test_client().get("/healthz").status_code == 200
        saver.join(counter.database.longest + 5)
        took = time.monotonic() - started
        assert outcome == [False], "the save never gave up"
        assert took < counter.database.longest + 1, took  # bounded by our own watchdog, not the server
        assert counter.status()["on_disk"] == 1
        assert not counter.save()  # new counts join them on disk; a connect gives up after its timeout
        assert counter.status()["on_disk"] == 2
    finally:
        postgres_server.resume(stopped)
    assert counter.save()
    figures = report(url)
    assert figures["calls"] == 7 and figures["sections"]["victims"] == 1 and figures["sections"]["what_is"] == 5


def test_counts_a_killed_process_left_on_disk_are_saved_once_by_the_next_start(tmp_path, caplog):
    """A file no live process holds is an orphan: the next start saves it, oldest batch first,
    skipping a line torn by the crash; saved again (a crash after the commit, before the file
    was deleted), nothing is counted twice; a file that cannot be read stops nothing."""
    from ivr.stats.database import database_url
    from ivr.stats.spool import FOLDER, folder_key

    url = f"sqlite:///{tmp_path / 'stats.sqlite3'}"
    waiting = tmp_path / FOLDER
    waiting.mkdir()
    prefix = folder_key(database_url(url, tmp_path))
    lines = [
        '{"batch":1,"counts":[["2026-11-02",9,"","call","",2],["2026-11-02",9,"en","section","victims",2]]}',
        '{"batch":2,"counts":[["2026-11-02",10,"","call","",3]]}',
        '{"batch":3,"counts":[["2026-11-02",11,"","ca',  # torn by kill -9 in the middle of a write
    ]
    orphan = waiting / f"{prefix}-0123456789abcdef.jsonl"
    orphan.write_text("\n".join(lines))
    (waiting / f"{prefix}-unreadable.jsonl").mkdir()  # not a file: logged, left alone
    (waiting / "0000000000-fedcba9876543210.jsonl").write_text(lines[1])  # another database's: not ours to save
    line(url, IVR_STATE_DIR=str(tmp_path))
    assert not orphan.exists() and "line 3 of" in caplog.text and "cannot read or delete" in caplog.text
    figures = report(url, "--from", "2026-11-02", "--to", "2026-11-02")
    assert figures["calls"] == 5 and figures["sections"]["victims"] == 2
    orphan.write_text("\n".join(lines[:2]))  # the same batches again
    app = line(url, IVR_STATE_DIR=str(tmp_path))
    assert not orphan.exists() and report(url, "--from", "2026-11-02", "--to", "2026-11-02")["calls"] == 5
    call(app).hangup()
    assert app.extensions["ivr_count"].save()  # the unreadable one never blocks saving
    assert (waiting / "0000000000-fedcba9876543210.jsonl").exists()


def test_unreachable_database_and_disk_cap_the_counts_in_memory_and_count_drops(tmp_path, caplog):
    (tmp_path / "a-file").write_text("not a folder")
    nowhere = tmp_path / "a-file"
    app = line(f"sqlite:///{nowhere / 'stats.sqlite3'}", IVR_STATE_DIR=str(nowhere / "state"))  # neither can be made
    assert "Statistics database unavailable at start" in caplog.text
    counter = app.extensions["ivr_count"]
    counter.cap = 5
    for _ in range(3):
        call(app).press("3").press("1").press("0").dial_outcome("completed")  # every answer still right
    assert not counter.save()
    status = app.test_client().get("/healthz").get_json()["statistics"]
    assert status["status"] == "degraded" and status["dropped"] > 0 and status["on_disk"] == 0  # the cap, and the count of drops
    assert caplog.text.count("Statistics database unavailable (") == 1  # logged once, not per save
    assert caplog.text.count("cannot keep the waiting counts on disk") == 1
    kept = sum(len(counts) for _, counts in counter._batches)
    assert kept <= 5 + 1  # the cap, plus the one count of what was dropped
    assert not counter.save()
    assert caplog.text.count("Statistics database unavailable (") == 1


def test_counting_off_and_bad_settings(tmp_path):
    app = line("off")
    assert "ivr_count" not in app.extensions
    call(app).press("3")
    assert app.test_client().get("/healthz").get_json()["statistics"] == {"status": "off"}
    with pytest.raises(ConfigError, match="IVR_STATS_URL"):
        line("mysql://somewhere/db")
    result = CliRunner().invoke(main, ["stats"], env={"IVR_STATS_URL": "off"})
    assert result.exit_code == 1 and "Counting is off" in result.output
    down = CliRunner().invoke(main, ["stats"], env={"IVR_STATS_URL": "postgresql://ivr@127.0.0.1:9/nothing"})
    assert down.exit_code == 1 and "Cannot read the statistics database (OperationalError" in down.output
    assert "Traceback" not in down.output


def test_tables_are_created_once_and_kept_across_restarts(tmp_path):
    url = f"sqlite:///{tmp_path / 'stats.sqlite3'}"
    five_calls(line(url))
    five_calls(line(url))  # a restart: same tables, counts added
    assert report(url)["calls"] == 10


def test_browser_phone_test_calls_are_not_counted(tmp_path):
    url = f"sqlite:///{tmp_path / 'stats.sqlite3'}"
    app = create_app({"IVR_MENU": str(MAIN_MENU), "TWILIO_AUTH_TOKEN": "", "IVR_STATS_URL": url})
    client = app.test_client()
    for actions in ([], [["press", "3"]], [["press", "3"], ["press", "1"]]):  # the page replays the call each time
        assert client.post("/simulator/api/call", json={"actions": actions}).status_code == 200
    Call(AppTransport(app)).start().press("3")  # and a call as Twilio would make it
    app.extensions["ivr_count"].save()
    assert report(url)["calls"] == 1


def test_dashboard_needs_its_password_in_production(tmp_path):
    url = f"sqlite:///{tmp_path / 'stats.sqlite3'}"
    assert line(url).test_client().get("/stats").status_code == 404  # production, no password: no page
    with pytest.raises(ConfigError, match="IVR_STATS_PASSWORD"):
        line(url, IVR_STATS_PASSWORD="short")
    app = line(url, IVR_STATS_PASSWORD="a long stats password", IVR_STATE_DIR=str(tmp_path))
    five_calls(app)
    client = app.test_client()
    assert client.get("/stats").status_code == 401
    page = client.get("/stats", auth=("staff", "a long stats password"))
    assert page.status_code == 200 and b"calls answered" in page.data and b"<svg" in page.data
    assert page.headers["Cache-Control"] == "no-store"
    today = datetime.now().date().isoformat()
    download = client.get(f"/stats/report.csv?from=2020-01-01&to={today}", auth=("staff", "a long stats password"))
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert "attachment" in download.headers["Content-Disposition"] and "by_language,es,,<3" in download.text
    assert client.get("/stats?from=yesterday", auth=("staff", "a long stats password")).status_code == 400
    for _ in range(5):
        client.get("/stats", auth=("staff", "wrong password!!"))
    assert client.get("/stats", auth=("staff", "a long stats password")).status_code == 429  # locked out


def test_status_callback_is_signed_and_counts_only_a_length_bucket(tmp_path):
    url = f"sqlite:///{tmp_path / 'stats.sqlite3'}"
    app = line(url)
    client = app.test_client()
    assert client.post("/call-status", data={"CallStatus": "completed", "CallDuration": "30"}).status_code == 403
    c = call(app).hangup()
    c.call_ended(700)
    c.call_ended(9_999_999)
    app.extensions["ivr_count"].save()
    assert report(url)["call_length"]["10 min or more"] == 2


def test_load_under_gunicorn_two_workers_counts_every_call(stats_url, menu_dir):
    """Two worker processes count into one database; after a graceful stop, every call is there."""
    from ivr.sim.load import run_load
    from ivr.sim.transports import HttpTransport

    from .test_gunicorn import free_port, start_gunicorn, stop

    port = free_port()
    process = start_gunicorn(menu_dir, port, menu_dir / "access.log", IVR_STATS_URL=stats_url)
    try:
        base = f"http://127.0.0.1:{port}"
        load = run_load(lambda: HttpTransport(base), calls=120, concurrency=8, auth_token=TOKEN, progress=False)
        assert load.calls == 120 and not load.errors, load.errors
    finally:
        output = stop(process)  # SIGTERM: each worker saves what it holds as it exits
    assert "could not be saved" not in output and "Traceback" not in output, output[-2000:]
    assert len(set(re.findall(r"Booting worker with pid: (\d+)", output))) == 2
    figures = report(stats_url)
    assert figures["calls"] == 120
    assert sum(figures["by_language"].values()) == 120  # each call once, in the language it ended in
    assert sum(figures["call_length"].values()) == 120  # one status callback per call
    assert figures["input"]["keys"] > 0 and figures["input"]["speech"] > 0


def test_a_counter_that_fails_never_changes_what_the_caller_hears(tmp_path, caplog):
    app = line(f"sqlite:///{tmp_path / 'stats.sqlite3'}")

    def broken(events):
        raise RuntimeError("a bug in counting")

    app.extensions["ivr_count"].add = broken
    c = call(app).press("3").press("1").say(SPOKEN)
    assert c.nodes_seen[:3] == ["welcome", "learn", "what_is"] and c.dialled == ["+18883737888"]  # menu, section, safety
    assert "Counting failed (RuntimeError); the call goes on." in caplog.text


def test_python_server_py_saves_its_counts_when_stopped(tmp_path):
    """`python server.py` killed with SIGTERM right after a call (before the 5 s save) keeps it."""
    import os
    import signal
    import subprocess
    import sys
    import time

    import requests

    from .conftest import ROOT
    from .test_gunicorn import free_port

    port, url = free_port(), f"sqlite:///{tmp_path / 'stats.sqlite3'}"
    env = {**os.environ, "PORT": str(port), "IVR_STATS_URL": url, "TWILIO_AUTH_TOKEN": "", "IVR_STATE_DIR": str(tmp_path)}
    server = subprocess.Popen([sys.executable, "server.py"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        for _ in range(100):
            try:
                answer = requests.post(f"http://127.0.0.1:{port}/voice", data={"To": LINE_NUMBER}, timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        assert answer.status_code == 200
    finally:
        server.send_signal(signal.SIGTERM)
        output = server.communicate(timeout=20)[0].decode()
    assert server.returncode == 0, output
    assert report(url)["calls"] == 1


def test_two_servers_share_one_postgresql_database(postgres_server):
    """Several instances behind a load balancer: one set of figures, the same rows added to."""
    url = postgres_server.new_database()
    first, second = line(url), line(url)  # each creates (or finds) the tables at start
    for app in (first, second, first):
        call(app).press("3").press("2").hangup()
    for app in (first, second):
        assert app.extensions["ivr_count"].save()
    figures = report(url)
    assert figures["calls"] == 3 and figures["sections"]["victims"] == 3 and figures["input"]["keys"] == 6
    dump = postgres_server.dump(url).splitlines()
    for table in ("ivr_counts", "ivr_days"):  # one counter row per hour (and per day), language and event, whoever added to it
        assert sum(line.startswith(table + ":") and "'section', 'victims'" in line for line in dump) == 1, table


def test_tables_of_the_previous_version_are_upgraded_when_the_server_starts(stats_url):
    """Version 1 had the hourly counts only: the per-day sums reports read are made from them."""
    from sqlalchemy import create_engine, text

    engine = create_engine(stats_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE ivr_counts (day DATE, hour SMALLINT, lang VARCHAR(8), event VARCHAR(32), detail VARCHAR(64), n BIGINT NOT NULL, PRIMARY KEY (day, hour, lang, event, detail))"
            )
        )
        conn.execute(text("CREATE TABLE ivr_schema (version INTEGER NOT NULL)"))
        conn.execute(text("INSERT INTO ivr_schema VALUES (1)"))
        for hour, n in ((9, 2), (15, 3)):
            conn.execute(text(f"INSERT INTO ivr_counts VALUES ('2026-11-02', {hour}, '', 'call', '', {n})"))
            conn.execute(text(f"INSERT INTO ivr_counts VALUES ('2026-11-02', {hour}, 'en', 'section', 'victims', {n})"))
    engine.dispose()
    app = line(stats_url)
    call(app).press("3").press("2").hangup()
    assert app.extensions["ivr_count"].save()
    old = report(stats_url, "--from", "2026-11-02", "--to", "2026-11-02")
    assert old["calls"] == 5 and old["sections"]["victims"] == 5 and old["calls_by_hour_of_week"]["Mon"][15] == 3
    assert report(stats_url)["calls"] == 6
