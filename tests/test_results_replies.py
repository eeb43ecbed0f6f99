"""The host checks the results: the minutes receipt lists them, a reply corrects them (real server)."""

from __future__ import annotations

import datetime as dt
import json
import re
import time

import pytest
from archive_support import mail
from click.testing import CliRunner
from service_support import WAIT, Relay, ThreadedService, configure, send
from test_notices import Setup, text, wait_for_message
from test_results_documents import docx_with_tables, lines_of

from akn_mail.cli import cli
from akn_mail.notices.result_replies import commands, own_lines

HOST = "klimaschutz@dormagen.example"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.fixture
def running(tmp_path):
    relay = Relay().start()
    setup = Setup(tmp_path, relay)
    configure(setup.config, relay)
    service = ThreadedService(setup.config).start()
    setup.port = service.port
    yield setup
    service.stop()
    setup.db.close()
    relay.stop()


def results_json(setup) -> list[dict]:
    result = CliRunner().invoke(cli, ["--config", str(setup.path), "results", "list", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def wait_for(setup, address: str, subject_start: str, count: int):
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        found = [m for _, m in setup.received(address) if str(m["Subject"]).startswith(subject_start)]
        if len(found) >= count:
            return found
        time.sleep(0.05)
    raise AssertionError(f"fewer than {count} mails {subject_start!r} to {address}")


def reply(receipt, body: str, number: int) -> bytes:
    quoted = "\r\n".join("> " + line for line in text(receipt).splitlines())
    return (
        f"From: Petra Hülsmann <{HOST}>\r\nTo: {receipt['From']}\r\nSubject: AW: {receipt['Subject']}\r\n"
        f"Message-ID: <reply-{number}@dormagen.example>\r\nIn-Reply-To: {receipt['Message-ID']}\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        f"{body}\r\n\r\nAm 01.12.2026 schrieb AKN:\r\n{quoted}\r\n"
    ).encode("utf-8")


def test_the_receipt_lists_the_results_and_the_host_corrects_them_by_reply(running):
    today = dt.date.today()
    minutes = mail("[Protokoll] Sitzung in Dormagen", "Anbei das Protokoll.", sender=HOST, date=today.isoformat(),
                   message_id="minutes-1@dormagen.example",
                   attachments=[("Protokoll.docx", docx_with_tables(lines_of("01_table.txt")), DOCX)])
    send(running.port, HOST, [running.config.list.address], minutes)
    _, receipt = wait_for_message(running, HOST, "Eingangsbestätigung")
    body = text(receipt)
    assert "Diese Ergebnisse wurden im Protokoll gefunden:" in body
    assert "2. Aufgabe (TOP 3: Kommunale Wärmeplanung): Ein gemeinsamer Leitfaden" in body
    assert "   Zuständig: Rhein-Kreis Neuss\n   bis 30. Juni 2027" in body
    assert re.search(r"Kennung: ergebnisse [A-Za-z0-9_-]{20,}", body)
    assert receipt["From"] == "AKN <akn-owner@lists.example>"

    send(running.port, HOST, ["akn-owner@lists.example"], reply(
        receipt, "streichen 3\r\nerledigt 4\r\nneu: Aufgabe Entwurf Förderantrag Zuständig Neuss bis 30.06.2027\r\n"
                 "streichen 9", 1))
    answer = wait_for(running, HOST, "Ergebnisse des Protokolls korrigiert", 1)[0]
    answered = text(answer)
    assert "3 gestrichen: Alle Kommunen nehmen am Stadtradeln 2027 teil" in answered
    assert "4 als erledigt vermerkt: Übersicht der aktuellen Förderaufrufe" in answered
    assert "5 neu: Aufgabe: Entwurf Förderantrag" in answered
    assert "Es gibt kein Ergebnis 9 in der Liste." in answered
    assert answer["Auto-Submitted"] == "auto-generated"

    results = results_json(running)
    assert [(r["position"], r["kind"], r["status"], r["member"], r["due"], r["origin"]) for r in results] == [
        (1, "decision", "decided", None, None, "minutes"),
        (2, "task", "open", "Rhein-Kreis Neuss", "2027-06-30", "minutes"),
        (4, "task", "done", "EnergieAgentur.NRW", "2027-03-31", "minutes"),
        (5, "task", "open", "Neuss", "2027-06-30", "host"),
    ]
    # The reply was acted on, not forwarded to the admins like other mail to -owner.
    assert not any(m["X-AKN-Owner-Forward"] for _, m in running.received("admin@rhein-kreis-neuss.example"))

    # A reply with the token but no command (the meeting is wrong) still reaches the admins.
    send(running.port, HOST, ["akn-owner@lists.example"], reply(receipt, "Das war die Sitzung im 3. Quartal.", 2))
    wait_for(running, "admin@rhein-kreis-neuss.example", "AW: Eingangsbestätigung", 1)


def test_reply_commands_are_read_above_the_quote_only():
    body = "OK\n\nstreichen 2, 3\nneu: Beschluss Wir machen mit\nDanke!\n\nAm 1.12. schrieb AKN:\n> streichen 1\n"
    assert own_lines(body) == ["OK", "streichen 2, 3", "neu: Beschluss Wir machen mit", "Danke!"]
    assert commands(body) == [("ok", ""), ("strike", "2, 3"), ("new", "Beschluss Wir machen mit"), ("unknown", "Danke!")]
