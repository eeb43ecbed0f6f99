"""No backscatter (issue 10, item 6): every automatic answer passes one gate.

20 mails to -request with a Reply-To naming a third party used to make 16 answers to that
third party. Now an answer to someone not on the roster goes only to an envelope sender
equal to the From address, never to the list's own or reserved addresses, and at most
three times per address and hour.
"""

from __future__ import annotations

import pytest

from akn_mail import db as db_module
from akn_mail import message as message_module
from akn_mail.delivery.queue import DeliveryQueue
from akn_mail.notices.answers import ANSWERS_PER_HOUR, AnswerGate, Incoming
from akn_mail.notices.held import HeldStore
from akn_mail.notices.requests import Requests
from akn_mail.services import Services

from service_support import load_roster

CONTACT = "klimaschutz@dormagen.example"
STRANGER = "leser@beispiel.example"
VICTIM = "opfer@dritte.example"


@pytest.fixture
def database(config):
    load_roster(config)
    connection = db_module.connect(config.database_path)
    yield connection
    connection.close()


def request(sender: str, number: int, reply_to: str = "", subject: str = "Frage", body: str = "Wie geht das?") -> bytes:
    extra = f"Reply-To: {reply_to}\r\n" if reply_to else ""
    return (f"From: {sender}\r\nTo: akn-request@lists.example\r\nSubject: {subject}\r\n{extra}"
            f"Message-ID: <req-{number}@beispiel.example>\r\n\r\n{body}\r\n").encode("utf-8")


def answers_to(database, address: str) -> int:
    return database.execute(
        "SELECT count(*) FROM deliveries d JOIN outbound o ON o.id = d.outbound_id WHERE lower(d.recipient) = ?",
        (address,),
    ).fetchone()[0]


def handle(config, database, raw: bytes, envelope_sender: str):
    services = Services(config, database)
    requests = Requests(config, database, notices=services.notices, moderation=services.moderation)
    return requests.handle(raw, message_module.parse(raw).message, envelope_sender, ["akn-request@lists.example"])


def test_reply_to_a_third_party_gets_no_answer(config, database):
    for number in range(20):
        handle(config, database, request(STRANGER, number, reply_to=VICTIM), STRANGER)
    assert answers_to(database, VICTIM) == 0
    # Unsubscribe requests naming the third party still become admin tasks, but answer nobody.
    handle(config, database, request(STRANGER, 99, reply_to=VICTIM, subject="unsubscribe"), STRANGER)
    assert answers_to(database, VICTIM) == 0
    assert database.execute("SELECT count(*) FROM admin_tasks").fetchone()[0] == 1


def test_a_forged_from_gets_no_answer(config, database):
    decision = handle(config, database, request(VICTIM, 1), "attacker@evil.example")
    assert decision.action == "discard" and "answer limiter" in decision.reason
    assert answers_to(database, VICTIM) == 0


def test_at_most_three_answers_per_address_and_hour(config, database):
    for number in range(20):
        handle(config, database, request(STRANGER, number), STRANGER)
    assert answers_to(database, STRANGER) == ANSWERS_PER_HOUR == 3
    for number in range(20, 30):
        handle(config, database, request(f"Petra <{CONTACT}>", number), CONTACT)
    assert answers_to(database, CONTACT) == 3
    # An hour later the address may be answered again.
    gate = AnswerGate(config, database)
    later = database.execute("SELECT max(created_at) FROM deliveries").fetchone()[0] + 3601
    assert gate.refusal(STRANGER, Incoming(STRANGER, STRANGER), now=later) is None


def test_a_contact_is_answered_even_behind_a_forwarder(config, database):
    # A contact's mail through a forwarder (SRS envelope): the contact is on the roster.
    handle(config, database, request(CONTACT, 1), "SRS0=abc=dormagen.example=klimaschutz@forward.example")
    assert answers_to(database, CONTACT) == 1


@pytest.mark.parametrize("address, reason", [
    ("akn@lists.example", "one of the list's own addresses"),
    ("akn-bounces+x=y.example@lists.example", "one of the list's own addresses"),
    ("AKN-Request@Lists.Example", "one of the list's own addresses"),
    ("MAILER-DAEMON@mx.beispiel.example", "a reserved address"),
    ("postmaster@beispiel.example", "a reserved address"),
    ("no-reply@beispiel.example", "a reserved address"),
    ("someone@host.invalid", "a reserved address"),
])
def test_never_to_own_or_reserved_addresses(config, database, address, reason):
    refusal = AnswerGate(config, database).refusal(address, Incoming(address, address))
    assert refusal is not None and reason in refusal


def test_held_post_rejection_is_an_answer_through_the_gate(config, database):
    store = HeldStore(database, config)
    queue = DeliveryQueue(database, config)
    raw = request(VICTIM, 1, subject="Angebot")
    forged = store.hold(raw, reason="not a contact", message_id="req-1@beispiel.example",
                        envelope_sender="attacker@evil.example", from_address=VICTIM, subject="Angebot", key="s1")
    assert store.reject(forged, queue=queue).told is None
    assert answers_to(database, VICTIM) == 0
    told = []
    for number in range(5):
        held_id = store.hold(request(STRANGER, number), reason="not a contact", message_id=f"h{number}@beispiel.example",
                             envelope_sender=STRANGER, from_address=STRANGER, subject="Frage", key=f"h{number}")
        told.append(store.reject(held_id, queue=queue).told)
    assert told == [STRANGER] * 3 + [None] * 2


def test_archive_command_from_a_forged_stranger_gets_no_help(config, database):
    from akn_mail.notices.requests import handle_request
    from akn_mail.pipeline.context import Post

    def archive_request(envelope: str, number: int):
        raw = request(VICTIM, 100 + number, subject="suche Wärmeplanung")
        post = Post(raw=raw, parsed=message_module.parse(raw), envelope_sender=envelope,
                    recipients=["akn-request@lists.example"], message_id=f"req-{100 + number}@beispiel.example")
        return handle_request(post, Services(config, database))

    decision = archive_request("attacker@evil.example", 1)
    assert decision.action == "discard" and "not a contact" in decision.reason
    assert answers_to(database, VICTIM) == 0
    archive_request(VICTIM, 2)  # the stranger writing from their own address gets the help text
    assert answers_to(database, VICTIM) == 1
