"""Bounces count only for mail the list sent to that recipient (issue 10, item 4).

Five forged DSNs to a contact's VERP address, naming Message-IDs the list never sent,
used to disable that contact in five seconds. Now the VERP address carries a check code
only the list can make (refused at RCPT otherwise), a report must return the headers of a
mail the list delivered to that recipient, and at most one bounce per contact per day counts.
"""

from __future__ import annotations

import json
import smtplib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from akn_mail import db as db_module
from akn_mail.cli import cli
from akn_mail.delivery.bounces import Bounces
from akn_mail.delivery.queue import DeliveryQueue, normalize_line_endings
from akn_mail.roster.members import Roster
from akn_mail.services import Services

from conftest import verp_of
from service_support import WAIT, StaticResolver, ThreadedService, configure, load_roster

HOSTILE = Path(__file__).resolve().parent / "data" / "hostile"
CONTACT = "klima@kaarst.example"
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=timezone.utc)


def forged(number: int, config) -> bytes:
    """The hostile report, naming the n-th Message-ID the list never sent, to the contact's real VERP address."""
    raw = (HOSTILE / "forged-dsn-unknown-message-id.eml").read_bytes()
    raw = raw.replace(b"never-sent-1@", f"never-sent-{number}@".encode()).replace(b"forged-dsn-1@", f"forged-dsn-{number}@".encode())
    return raw.replace(b"akn-bounces+klima=kaarst.example@lists.example", verp_of(config, CONTACT).encode())


@pytest.fixture
def roster_db(config):
    load_roster(config)
    connection = db_module.connect(config.database_path)
    Roster(connection).add_contact("Kaarst", CONTACT, "Sabine Krüger") if Roster(connection).find_contact(CONTACT) is None else None
    yield connection
    connection.close()


def deliver(connection, config, message_id: str) -> None:
    DeliveryQueue(connection, config).enqueue(b"Subject: x\r\n\r\nbody\r\n", [CONTACT], message_id=message_id)
    connection.execute("UPDATE deliveries SET status = 'sent'")
    connection.commit()


def test_forged_dsns_naming_mail_never_sent_do_not_count(config, roster_db):
    config.bounces.threshold = 3.0
    handler = Bounces(roster_db, config, Services(config, roster_db).notices)
    verp = verp_of(config, CONTACT)
    for number in range(5):
        result = handler.process(forged(number, config), recipients=[verp], now=NOW + timedelta(seconds=number))
        assert [(event.email, event.counted) for event in result.events] == [(CONTACT, False)]
    without_headers = (HOSTILE / "forged-dsn-without-returned-headers.eml").read_bytes()
    assert not handler.process(without_headers, recipients=[verp], now=NOW).events[0].counted
    assert handler.score(CONTACT, NOW + timedelta(minutes=1)) == 0.0
    assert Roster(roster_db).find_contact(CONTACT).delivery_enabled is True


def test_at_most_one_bounce_per_contact_per_day_counts(config, roster_db):
    config.bounces.threshold = 3.0
    handler = Bounces(roster_db, config, Services(config, roster_db).notices)
    verp = verp_of(config, CONTACT)
    for number in range(5):
        deliver(roster_db, config, f"never-sent-{number}@lists.example")  # now the list did send them
        handler.process(forged(number, config), recipients=[verp], now=NOW + timedelta(seconds=number))
    assert handler.score(CONTACT, NOW + timedelta(minutes=1)) == 1.0
    assert Roster(roster_db).find_contact(CONTACT).delivery_enabled is True
    disabled = []
    for day in (1, 2):
        deliver(roster_db, config, f"next-{day}@lists.example")
        report = forged(9, config).replace(b"never-sent-9@", f"next-{day}@".encode())
        disabled.append(handler.process(report, recipients=[verp], now=NOW + timedelta(days=day)).disabled)
    assert disabled == [[], [CONTACT]]  # scores 2, then 3: the threshold
    assert Roster(roster_db).find_contact(CONTACT).delivery_enabled is False


def test_contact_list_json_shows_bounce_score_and_last_bounce(config, config_file, roster_db):
    deliver(roster_db, config, "never-sent-1@lists.example")
    Bounces(roster_db, config, Services(config, roster_db).notices).process(forged(1, config), recipients=[verp_of(config, CONTACT)],
                                       now=datetime.now(timezone.utc))
    result = CliRunner().invoke(cli, ["--config", str(config_file), "contact", "list", "--json"])
    assert result.exit_code == 0, result.output
    contacts = {item["email"]: item for item in json.loads(result.output)}
    assert contacts[CONTACT]["bounce_score"] == 1.0
    assert contacts[CONTACT]["last_bounce"] == datetime.now(timezone.utc).date().isoformat()
    other = contacts["f.lorenz@neuss.example"] if "f.lorenz@neuss.example" in contacts else \
        next(item for email, item in contacts.items() if email != CONTACT)
    assert (other["bounce_score"], other["last_bounce"]) == (0, None)


def test_a_forged_verp_address_is_refused_at_rcpt_with_a_reason(config):
    load_roster(config)
    configure(config, None)
    service = ThreadedService(config, resolver=StaticResolver()).start()
    try:
        with smtplib.SMTP("127.0.0.1", service.port, local_hostname="mx.evil.localhost", timeout=WAIT) as client:
            client.ehlo()
            client.mail("<>")
            for address in ("akn-bounces+klima=kaarst.example@lists.example",
                            "akn-bounces+0123456789+klima=kaarst.example@lists.example"):
                code, text = client.rcpt(address)
                assert code == 550, (address, text)
                assert text.decode().startswith(f"5.7.1 <{address}>: this list never sent mail with this bounce address")
                assert text.decode().endswith("forged delivery reports are refused")
            assert client.rcpt(verp_of(config, CONTACT))[0] == 250
            assert client.rcpt("akn-bounces@lists.example")[0] == 250
            client.rset()
            # The attacker's own report, as written, never gets past RCPT.
            raw = normalize_line_endings((HOSTILE / "forged-dsn-unknown-message-id.eml").read_bytes())
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                client.sendmail("", ["akn-bounces+klima=kaarst.example@lists.example"], raw)
    finally:
        service.stop()
