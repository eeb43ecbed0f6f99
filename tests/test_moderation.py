"""Moderation by mail, through the running service and a real relay on 127.0.0.1.

A post from an unknown sender is held; the moderators get a notice with a token; a reply
to the -request address acts on it. A wrong token changes nothing, the right one fans the
post out, a spent one is refused, and automatic replies are never acted on or answered.
"""

from __future__ import annotations

import re
import time

import pytest
from service_support import WAIT, configure, post, send
from test_notices import Setup, text, wait_for_message

from akn_mail.notices.moderation import find_action, find_tokens, hash_token
from service_support import Relay, ThreadedService

MODERATOR = "moderation@rhein-kreis-neuss.example"
STRANGER = "j.mueller@stadtwerke-grevenbroich.example"


@pytest.fixture
def running(tmp_path, monkeypatch):
    relay = Relay().start()
    setup = Setup(tmp_path, relay)
    configure(setup.config, relay)
    setup.config.list.moderators = [MODERATOR]
    service = ThreadedService(setup.config).start()
    setup.port = service.port
    yield setup
    service.stop()
    setup.db.close()
    relay.stop()


def held_post(setup, number: int = 1, subject: str = "Förderprogramm Wärmeplanung – Fristverlängerung") -> str:
    """Send a post from a non-member; return the token from the moderators' notice."""
    body = "Sehr geehrte Damen und Herren,\r\n\r\ndie Frist wurde bis zum 30. Juni verlängert.\r\n"
    send(setup.port, STRANGER, [setup.config.list.address],
         post(subject=subject, sender=STRANGER, message_id=f"<held-{number}@stadtwerke.example>", body=body))
    _, notice = wait_for_message(setup, MODERATOR, f"Freigabe nötig: {subject}")
    token = re.search(r"confirm (\S+)\)$", str(notice["Subject"])).group(1)
    return token, notice


def reply(setup, subject: str, body: str, *, sender: str = MODERATOR, extra: str = "", number: int = 1) -> None:
    message = (
        f"From: Moderation <{sender}>\r\nTo: akn-request@lists.example\r\nSubject: {subject}\r\n"
        f"Message-ID: <reply-{number}-{time.monotonic_ns()}@rhein-kreis-neuss.example>\r\n{extra}"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        f"{body}"
    ).encode("utf-8")
    send(setup.port, sender, ["akn-request@lists.example"], message)


def held_status(setup) -> list[str]:
    return [row["status"] for row in setup.db.execute("SELECT status FROM held ORDER BY id")]


def contacts_with_post(setup, subject: str) -> list[str]:
    return sorted(
        address for address in setup.addresses
        if any(str(m["Subject"]) == f"[AKN] {subject}" for _, m in setup.received(address))
    )


def test_notice_tells_moderators_reason_sender_subject_and_first_lines(running):
    token, notice = held_post(running)
    assert notice["From"] == "AKN <akn-request@lists.example>"
    assert notice["Reply-To"] == "akn-request@lists.example"
    assert notice["Auto-Submitted"] == "auto-generated"
    body = text(notice)
    assert f"Absender: {STRANGER}" in body
    assert "Betreff:  Förderprogramm Wärmeplanung – Fristverlängerung" in body
    assert "| die Frist wurde bis zum 30. Juni verlängert." in body
    assert f"confirm {token}" in body
    assert len(token) >= 32
    # Only the hash is stored: a copy of the database cannot approve anything.
    stored = [row[0] for row in running.db.execute("SELECT token_hash FROM moderation_tokens")]
    assert stored == [hash_token(token)] and token not in stored


def test_wrong_token_changes_nothing_and_says_so(running):
    token, notice = held_post(running)
    wrong = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    reply(running, f"Re: {notice['Subject']}".replace(token, wrong), "ok\r\n\r\n> Eine Nachricht wurde zurückgehalten\r\n")
    _, answer = wait_for_message(running, MODERATOR, "Nicht ausgeführt")
    assert answer["Subject"] == "Nicht ausgeführt: unbekannter Code"
    assert f"Der Code „{wrong}“ gehört zu keiner zurückgehaltenen Nachricht. Es wurde nichts geändert." in text(answer)
    assert held_status(running) == ["held"]
    assert running.db.execute("SELECT used_at FROM moderation_tokens").fetchone()[0] is None
    assert contacts_with_post(running, "Förderprogramm Wärmeplanung – Fristverlängerung") == []


def test_right_token_approves_and_the_post_is_fanned_out(running):
    token, notice = held_post(running)
    reply(running, f"Re: {notice['Subject']}", "OK, bitte verteilen.\r\n\r\n> Eine Nachricht wurde zurückgehalten\r\n")
    _, answer = wait_for_message(running, MODERATOR, "Erledigt")
    assert "wurde freigegeben und an die Liste akn@lists.example verteilt" in text(answer)
    assert held_status(running) == ["approved"]
    running.relay.sink.wait_for(len(running.addresses) + 2)
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline and len(contacts_with_post(running, "Förderprogramm Wärmeplanung – Fristverlängerung")) < len(running.addresses):
        time.sleep(0.05)
    assert contacts_with_post(running, "Förderprogramm Wärmeplanung – Fristverlängerung") == sorted(running.addresses)
    # The token is spent: the same reply again changes nothing.
    reply(running, f"Re: {notice['Subject']}", "ok\r\n", number=2)
    _, again = wait_for_message(running, MODERATOR, "Nicht ausgeführt: bereits entschieden")
    assert "Es wurde nichts geändert." in text(again)
    assert held_status(running) == ["approved"]


def test_reject_tells_the_author_and_distributes_nothing(running):
    token, notice = held_post(running, subject="Werbung")
    reply(running, f"AW: {notice['Subject']}", "reject\r\n")
    _, answer = wait_for_message(running, MODERATOR, "Erledigt")
    assert "wurde abgelehnt" in text(answer)
    _, told = wait_for_message(running, STRANGER, "Ihre Nachricht an AKN wurde nicht verteilt")
    assert "Die Moderation hat sie abgelehnt; sie wurde nicht an die Liste verteilt." in text(told)
    assert held_status(running) == ["rejected"]
    assert contacts_with_post(running, "Werbung") == []


def test_reply_without_a_decision_changes_nothing(running):
    token, notice = held_post(running)
    reply(running, f"Re: {notice['Subject']}", "Wer ist das?\r\n")
    _, answer = wait_for_message(running, MODERATOR, "Nicht ausgeführt: keine Entscheidung gefunden")
    assert "„freigeben“, „ablehnen“ oder „verwerfen“ (auch „ok“, „reject“, „discard“)" in text(answer)
    assert held_status(running) == ["held"]


def test_vacation_reply_with_the_token_is_neither_acted_on_nor_answered(running):
    token, notice = held_post(running)
    reply(running, f"Abwesend: {notice['Subject']}", "ok, ich bin bis Montag nicht im Büro.\r\n",
          extra="Auto-Submitted: auto-replied\r\n")
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:  # give the service the chance to (wrongly) act
        row = running.db.execute("SELECT count(*) FROM received WHERE route = 'request'").fetchone()
        if row[0]:
            break
        time.sleep(0.05)
    assert running.db.execute("SELECT action, reason FROM received WHERE route = 'request'").fetchone()["action"] == "discard"
    assert held_status(running) == ["held"]
    assert [str(m["Subject"]) for _, m in running.received(MODERATOR)] == [str(notice["Subject"])]


@pytest.mark.parametrize("subject, body, action", [
    ("Re: Freigabe nötig: Termin ok? (confirm abc)", "ok\n\n> Termin ok?", "approve"),
    ("Re: Freigabe nötig: Termin ok? (confirm abc)", "\n\n> ok\nreject\n", "reject"),
    ("Re: Freigabe nötig: Termin ok? (confirm abc)", "> quoted only", None),
    ("Re: Freigabe nötig: Termin ok? (confirm abc)", "Freigeben!", "approve"),
    ("Re: x", "Am 3. März 2027 um 09:41 schrieb AKN <akn-request@lists.example>:\n> Eine Nachricht\n\nreject\n", "reject"),
    ("Re: x", "On Wed, 3 Mar 2027, AKN wrote:\n> text\nok\n", "approve"),
    ("discard confirm abc", "", "discard"),
    ("Re: ok", "Danke", None),
])
def test_the_first_own_line_decides(subject, body, action):
    assert find_action(subject, body) == action


def test_tokens_are_found_in_subject_or_quoted_body():
    token = "q3Vd9xN2kLp0aZ7wYt4sRb1cXyZ"
    assert find_tokens(f"Re: Freigabe nötig: x (confirm {token})", "") == [token]
    assert find_tokens("Re: Freigabe", f"ok\n> Der Betreff muss „confirm {token}“ behalten.") == [token]
    assert find_tokens("Re: x", "confirm short") == []


def test_the_author_of_a_held_post_is_told_once_in_german(running):
    """Issue 12, item 13: the author learns that the post waits for a moderator."""
    held_post(running)
    _, notice = wait_for_message(running, STRANGER, "Ihre Nachricht an AKN wartet auf Freigabe")
    body = text(notice)
    assert ("Grund: Die Absenderadresse j.mueller@stadtwerke-grevenbroich.example ist nicht als Ansprechperson "
            "eingetragen.") in body
    assert "Die Moderation entscheidet nun, ob die Nachricht verteilt wird." in body
    assert notice["Auto-Submitted"] == "auto-generated"
    rows = running.db.execute("SELECT count(*) FROM outbound WHERE kind = 'post_held'").fetchone()[0]
    assert rows == 1


def test_a_forged_or_automatic_author_of_a_held_post_is_not_told(running):
    """Backscatter limits: envelope sender unlike From, or automatic mail, gets no notice."""
    body = "Hallo,\r\ndas ist ein Test.\r\n"
    send(running.port, "bounce-target@elsewhere.example", [running.config.list.address],
         post(subject="Gefälscht", sender=STRANGER, message_id="<forged-1@stadtwerke.example>", body=body))
    wait_for_message(running, MODERATOR, "Freigabe nötig: Gefälscht")
    assert running.db.execute("SELECT count(*) FROM outbound WHERE kind = 'post_held'").fetchone()[0] == 0
