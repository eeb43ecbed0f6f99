"""Mail to -request and -owner through the running service: unsubscribe tasks, help, forwarding, no loops."""

from __future__ import annotations

import time

import pytest
from service_support import WAIT, Relay, ThreadedService, configure, send
from test_notices import ADMIN, Setup, text, wait_for_message


@pytest.fixture
def running(tmp_path, monkeypatch):
    relay = Relay().start()
    setup = Setup(tmp_path, relay)
    configure(setup.config, relay)
    service = ThreadedService(setup.config).start()
    setup.port = service.port
    yield setup
    service.stop()
    setup.db.close()
    relay.stop()


def message(sender: str, to: str, subject: str, body: str = "", extra: str = "", number: int = 1) -> bytes:
    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <m{number}-{time.monotonic_ns()}@example.org>\r\n"
        f"{extra}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}"
    ).encode("utf-8")


def processed(setup, route: str, count: int = 1) -> list:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        rows = setup.db.execute("SELECT action, reason FROM received WHERE route = ? ORDER BY id", (route,)).fetchall()
        if len(rows) >= count:
            return rows
        time.sleep(0.05)
    raise AssertionError(f"the service did not process {count} message(s) for -{route}")


def test_unsubscribe_from_a_contact_becomes_an_admin_task_and_an_answer(running):
    contact = "m.schaefer@juechen.example"
    # The List-Unsubscribe address of every post: mailto:akn-request@...?subject=unsubscribe
    send(running.port, contact, ["akn-request@lists.example"], message(f"Markus Schäfer <{contact}>", "akn-request@lists.example", "unsubscribe"))
    _, task_mail = wait_for_message(running, ADMIN, "Aufgabe Nr. 1: Abmeldewunsch")
    assert task_mail["Subject"] == f"Aufgabe Nr. 1: Abmeldewunsch von {contact}"
    assert task_mail["Reply-To"] == contact
    assert "Die Adresse ist als Ansprechperson von Jüchen eingetragen (Markus Schäfer)." in text(task_mail)
    assert f"akn-mail contact remove {contact}" in text(task_mail)
    sender, answer = wait_for_message(running, contact, "Ihr Abmeldewunsch")
    assert sender == "<>"
    assert answer["Auto-Submitted"] == "auto-generated"
    assert "werden von ihrer Verwaltung benannt; Sie sind als Ansprechperson von Jüchen eingetragen" in text(answer)
    task = running.db.execute("SELECT kind, requester, member_name, done_at FROM admin_tasks").fetchall()
    assert [tuple(row) for row in task] == [("unsubscribe", contact, "Jüchen", None)]
    # The contact is still on the roster: only the administration names contacts.
    assert running.db.execute("SELECT count(*) FROM contacts WHERE email = ?", (contact,)).fetchone()[0] == 1


def test_unsubscribe_in_the_body_from_a_stranger(running):
    stranger = "leser@beispiel.example"
    send(running.port, stranger, ["akn-request@lists.example"], message(stranger, "akn-request@lists.example", "Bitte", "Abmelden\r\n"))
    _, answer = wait_for_message(running, stranger, "Ihr Abmeldewunsch")
    assert f"Die Adresse {stranger} ist bei uns nicht als Ansprechperson eingetragen" in text(answer)
    _, task_mail = wait_for_message(running, ADMIN, "Aufgabe Nr. 1")
    assert "Die Adresse ist keine eingetragene Ansprechperson" in text(task_mail)


def test_other_mail_to_request_gets_help(running):
    sender = "klimaschutz@dormagen.example"
    send(running.port, sender, ["akn-request@lists.example"], message(sender, "akn-request@lists.example", "Frage", "Wie melde ich mich an?\r\n"))
    envelope, help_mail = wait_for_message(running, sender, "Hilfe zur Adresse akn-request@lists.example")
    assert envelope == "<>"
    assert "unsubscribe" in text(help_mail) and "akn-owner@lists.example" in text(help_mail)


def test_bounce_or_auto_reply_to_request_is_never_answered(running):
    send(running.port, "", ["akn-request@lists.example"],
         message("MAILER-DAEMON@mx.example", "akn-request@lists.example", "Undelivered Mail Returned to Sender", "unsubscribe\r\n"))
    send(running.port, "urlaub@kaarst.example", ["akn-request@lists.example"],
         message("urlaub@kaarst.example", "akn-request@lists.example", "unsubscribe", "Ich bin nicht da.\r\n",
                 extra="Auto-Submitted: auto-replied\r\n", number=2))
    rows = processed(running, "request", 2)
    assert [row["action"] for row in rows] == ["discard", "discard"]
    assert "null envelope sender" in rows[0]["reason"] and "Auto-Submitted: auto-replied" in rows[1]["reason"]
    assert running.db.execute("SELECT count(*) FROM admin_tasks").fetchone()[0] == 0
    assert running.relay.sink.transactions == []


def test_mail_to_owner_is_forwarded_unchanged_to_the_admins(running):
    sender = "klimaschutz@dormagen.example"
    original = message(f"Petra Hülsmann <{sender}>", "akn-owner@lists.example", "Frage zur Liste", "Können wir ein Archiv bekommen?\r\n")
    send(running.port, sender, ["akn-owner@lists.example"], original)
    envelope, forwarded = wait_for_message(running, ADMIN, "Frage zur Liste")
    assert envelope.startswith("akn-bounces")
    assert forwarded["X-AKN-Owner-Forward"] == "akn-owner@lists.example"
    assert forwarded["From"] == f"Petra Hülsmann <{sender}>"
    assert "Können wir ein Archiv bekommen?" in text(forwarded)
    [(sender_, rcpts, data)] = running.relay.sink.transactions
    assert data.endswith(original.split(b"\r\n\r\n", 1)[1])


def test_tasks_command_lists_and_closes_unsubscribe_tasks(running):
    from click.testing import CliRunner

    from akn_mail.cli import cli

    contact = "m.schaefer@juechen.example"
    send(running.port, contact, ["akn-request@lists.example"], message(contact, "akn-request@lists.example", "unsubscribe"))
    wait_for_message(running, ADMIN, "Aufgabe Nr. 1")
    runner = CliRunner()
    listed = runner.invoke(cli, ["--config", str(running.path), "tasks", "list"])
    assert listed.exit_code == 0
    assert listed.output.endswith(f"unsubscribe: {contact} (contact of Jüchen)  [open]\n")
    done = runner.invoke(cli, ["--config", str(running.path), "tasks", "done", "1"])
    assert done.output == f"Task 1 (unsubscribe from {contact}) is done.\n"
    assert runner.invoke(cli, ["--config", str(running.path), "tasks", "list"]).output == "No open tasks.\n"
    again = runner.invoke(cli, ["--config", str(running.path), "tasks", "done", "1"])
    assert again.exit_code == 1
    assert again.output.startswith("Error: task 1 was already done on ") and again.output.endswith("; nothing to do.\n")
    missing = runner.invoke(cli, ["--config", str(running.path), "tasks", "done", "7"])
    assert (missing.exit_code, missing.output) == (1, "Error: no task with id 7; see 'akn-mail tasks list'.\n")


@pytest.mark.parametrize("headers, envelope, reason", [
    ("", "", "null envelope sender <> (a bounce or an automatic answer)"),
    ("", "MAILER-DAEMON@mx.example", "sent by MAILER-DAEMON@mx.example"),
    ("", "noreply@portal.example", "sent by noreply@portal.example"),
    ("Auto-Submitted: auto-replied\r\n", "anna@dormagen.example", "Auto-Submitted: auto-replied (RFC 3834)"),
    ("List-Id: Andere Liste <andere.example>\r\n", "anna@dormagen.example", "List-Id of another list (Andere Liste <andere.example>)"),
    ("Precedence: bulk\r\n", "anna@dormagen.example", "Precedence: bulk"),
    ("List-Id: AKN <akn.lists.example>\r\n", "anna@dormagen.example", "carries our own List-Id"),
    ("X-AKN-Notice: welcome\r\n", "anna@dormagen.example", "one of our own notices came back"),
    ("", "akn-bounces@lists.example", "sent from one of our own addresses"),
    ("Auto-Submitted: no\r\n", "anna@dormagen.example", None),
])
def test_what_is_never_answered(headers, envelope, reason):
    from email import message_from_bytes
    from email.policy import SMTP

    from akn_mail.config import Config
    from akn_mail.notices.requests import is_automatic

    parsed = message_from_bytes(message("anna@dormagen.example", "akn-request@lists.example", "unsubscribe", extra=headers), policy=SMTP)
    assert is_automatic(parsed, envelope, Config()) == reason


@pytest.mark.parametrize("subject, body, wanted", [
    ("unsubscribe", "", True),
    ("Re: Unsubscribe", "", True),
    ("Bitte", "Abmelden.\n", True),
    ("Frage", "Wie kann ich mich abmelden?\n", False),
    ("Frage", "> unsubscribe\nDanke\n", False),
])
def test_what_counts_as_unsubscribe(subject, body, wanted):
    from akn_mail.notices.requests import wants_unsubscribe

    assert wants_unsubscribe(subject, body) is wanted
