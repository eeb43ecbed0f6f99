"""Issue 15, item 3 and the reminders: [TOP] posts collected for the agenda, the agenda
command, invitations invite_weeks before, and a week before the host's briefing (agenda and
answers) and one gentle reminder to members without an acceptance."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import sqlite3

import pytest

from akn_mail.pipeline.context import Post
from akn_mail.pipeline.steps.agenda import collect_agenda
from akn_mail.services import Services
from meeting_support import planned_meeting

NOW = dt.datetime(2027, 2, 1, 9, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def run(config_file):
    return planned_meeting(config_file, end=None)


def post_with_subject(config, subject: str, sender="f.lorenz@neuss.example", message_id="<top-1@neuss.example>"):
    raw = (f"From: Felix Lorenz <{sender}>\r\nTo: {config.list.address}\r\nSubject: {subject}\r\n"
           f"Message-ID: {message_id}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nVorschlag.\r\n").encode()
    services = Services(config)
    post = Post.read(raw, domain=config.list_domain, envelope_sender=sender, recipients=[config.list.address], now=NOW)
    post.sender_member = services.roster.member("Neuss")
    decision = collect_agenda(post, services)
    services.db.close()
    return decision


def test_top_posts_are_collected_and_go_on(run, config):
    assert post_with_subject(config, "[AKN] [TOP] Stadtradeln 2027").is_next
    assert post_with_subject(config, "[TOP] 2027-Q2: Kommunale Wärmeplanung", message_id="<top-2@neuss.example>").is_next
    assert post_with_subject(config, "AW: [TOP] Stadtradeln 2027", message_id="<top-3@neuss.example>").is_next
    assert post_with_subject(config, "[top]   Hitzeschutz  ", message_id="<top-4@neuss.example>").is_next
    # The same post again (a re-run after a crash) adds nothing.
    post_with_subject(config, "[AKN] [TOP] Stadtradeln 2027")
    items = json.loads(run("meeting", "agenda", "2027-Q1", "--json").output)
    assert [(i["position"], i["title"], i["author"]) for i in items] == [
        (1, "Stadtradeln 2027", "Neuss"), (2, "Hitzeschutz", "Neuss")]
    assert [i["title"] for i in json.loads(run("meeting", "agenda", "2027-Q2", "--json").output)] == ["Kommunale Wärmeplanung"]


def test_agenda_add_remove_move(run):
    assert run("meeting", "agenda", "2027-Q1").output == "The agenda of 2027-Q1 has no items yet.\n"
    run("meeting", "agenda", "2027-Q1", "--add", "Begrüßung")
    run("meeting", "agenda", "2027-Q1", "--add", "Stadtradeln 2027")
    run("meeting", "agenda", "2027-Q1", "--add", "Verschiedenes")
    assert run("meeting", "agenda", "2027-Q1", "--move", "3", "1").output == "Moved to TOP 1: Verschiedenes\n"
    assert run("meeting", "agenda", "2027-Q1", "--remove", "2").output == "Removed TOP 2: Begrüßung\n"
    output = run("meeting", "agenda", "2027-Q1").output
    assert output.splitlines()[1:] == ["1    Verschiedenes", "2    Stadtradeln 2027"]
    bad = run("meeting", "agenda", "2027-Q1", "--remove", "7", code=1)
    assert bad.output == "Error: the agenda has no item 7 (it has 1 to 2); see the numbers with: akn-mail meeting agenda QUARTER\n"


def queued(config_file, kind):
    db = sqlite3.connect(config_file.parent / "data" / "akn-mail.sqlite3")
    rows = db.execute("SELECT o.body, group_concat(d.recipient) FROM outbound o JOIN deliveries d ON d.outbound_id = o.id "
                      "WHERE o.kind = ? GROUP BY o.id ORDER BY o.id", (kind,)).fetchall()
    db.close()
    return [(email.message_from_bytes(body, policy=email.policy.default), recipients.split(",")) for body, recipients in rows]


def test_remind_invites_six_weeks_before_then_briefs_the_host_and_reminds_gently(run, config, config_file):
    run("meeting", "agenda", "2027-Q1", "--add", "Stadtradeln 2027")
    assert "invitation to" not in run("remind", "--today", "2027-01-27").output
    result = run("remind", "--today", "2027-01-28")
    assert "sent: invitation to 2027-Q1 -> 12 contact(s)" in result.output
    [(invitation, _)] = queued(config_file, "meeting_invitation")
    assert "TOP 1: Stadtradeln 2027" in invitation.get_body(("plain",)).get_content()
    assert "invitation to" not in run("remind", "--today", "2027-01-29").output  # once


def test_week_before(run, config, config_file):
    run("meeting", "agenda", "2027-Q1", "--add", "Stadtradeln 2027")
    run("meeting", "invite", "2027-Q1")
    services = Services(config)
    services.db.execute("UPDATE meeting_attendees SET partstat = 'ACCEPTED' WHERE email = 'f.lorenz@neuss.example'")
    services.db.execute("UPDATE meeting_attendees SET partstat = 'DECLINED' WHERE email = 'klima@kaarst.example'")
    services.db.close()
    data = json.loads(run("remind", "--today", "2027-03-04", "--json").output)
    kinds = [(m["kind"], m["recipients"]) for m in data["meetings"]]
    assert ("briefing", ["klimaschutz@dormagen.example"]) in kinds
    answered = sorted(r[0] for kind, r in kinds if kind == "answer")
    assert "f.lorenz@neuss.example" not in answered and "klimaanpassung@neuss.example" not in answered  # Neuss accepted
    assert "klima@kaarst.example" not in answered  # declined: answered
    assert "klimaschutz@dormagen.example" not in answered  # the host gets the briefing
    assert "m.schaefer@juechen.example" in answered and len(answered) == 8
    [(briefing, _)] = queued(config_file, "meeting_briefing")
    text = briefing.get_body(("plain",)).get_content()
    assert "TOP 1: Stadtradeln 2027" in text and "Neuss: zugesagt" in text and "Kaarst: abgesagt" in text
    assert "Jüchen: noch keine Antwort" in text
    gentle = queued(config_file, "rsvp_reminder")
    message, [recipient] = gentle[0]
    assert message["Subject"].strip().startswith("Kurze Erinnerung: Sitzung im 1. Quartal 2027")
    part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    assert part.get_param("method") == "REQUEST" and "UID:2027-Q1@lists.example" in part.get_content()
    again = json.loads(run("remind", "--today", "2027-03-05", "--json").output)
    assert again["meetings"] == []


def test_minutes_receipt_lists_the_agenda(run, config, config_file):
    run("meeting", "agenda", "2027-Q1", "--add", "Stadtradeln 2027")
    run("meeting", "agenda", "2027-Q1", "--add", "Kommunale Wärmeplanung")
    services = Services(config)
    meeting_id = services.rotation.ensure_meeting("2027-Q1")
    cursor = services.db.execute(
        "INSERT INTO archived_messages (message_id, maildir_key, date, from_address, from_name, subject, is_minutes, meeting_id) "
        "VALUES ('minutes-1@dormagen.example', 'k1', '2027-03-12T10:00:00+01:00', 'klimaschutz@dormagen.example', "
        "'Petra Hülsmann', '[Protokoll] Sitzung 1. Quartal 2027', 1, ?)", (meeting_id,))
    services.notices.minutes_receipt(cursor.lastrowid)
    services.db.close()
    [(receipt, _)] = queued(config_file, "minutes_receipt")
    text = receipt.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert "TOP 1: Stadtradeln 2027\n  TOP 2: Kommunale Wärmeplanung" in text
