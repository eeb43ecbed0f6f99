"""Bounce handling with real reports from many MTAs (tests/data/bounces, from flufl.bounce)."""

from __future__ import annotations

import email
import email.policy
import mailbox
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from akn_mail.delivery import bounces
from akn_mail import config as config_module
from akn_mail import db
from akn_mail.delivery import verp as verp_module
from akn_mail.delivery.bounces import Bounces
from akn_mail import message as message_module
from akn_mail.pipeline.context import Post
from akn_mail.services import Services
from akn_mail.delivery.queue import DeliveryQueue
from akn_mail.roster.members import Roster

from conftest import verp_of

DATA = Path(__file__).resolve().parent / "data" / "bounces"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
CONTACT = "klima@kaarst.example"



def sample(name: str) -> bytes:
    return (DATA / name).read_bytes()


@pytest.fixture
def config(tmp_path, monkeypatch):
    path = tmp_path / "akn-mail.toml"
    path.write_text(
        '[list]\naddress = "akn@lists.example"\nadmins = ["admin@rhein-kreis-neuss.example"]\n'
        '[storage]\ndata_dir = "data"\n[bounces]\nthreshold = 3.0\ndecay_days = 14\n',
        encoding="utf-8",
    )
    return config_module.load(path)


@pytest.fixture
def database(config):
    connection = db.connect(config.database_path)
    roster = Roster(connection)
    roster.add_member("Kaarst")
    roster.add_contact("Kaarst", CONTACT, "Sabine Krüger")
    roster.add_member("Neuss")
    roster.add_contact("Neuss", "f.lorenz@neuss.example")
    yield connection
    connection.close()


@pytest.fixture
def verp(config):
    """The VERP bounce address the list gave the contact (with its check code)."""
    return verp_of(config, CONTACT)


def delivered(database, config, report_or_id: bytes | str, *recipients: str) -> None:
    """Record that the list delivered the mail a report is about (its returned Message-ID)."""
    message_id = report_or_id if isinstance(report_or_id, str) else \
        bounces.original_message_id(bounces.parse(report_or_id))
    assert message_id, "the report returns no Message-ID"
    queue = DeliveryQueue(database, config)
    queue.enqueue(b"Subject: x\r\n\r\nbody\r\n", list(recipients or [CONTACT]), message_id=message_id)
    database.execute("UPDATE deliveries SET status = 'sent'")
    database.commit()


@pytest.fixture
def handler(database, config):
    return Bounces(database, config, Services(config, database).notices)


# flufl.bounce's own verdicts on its real samples, as they reach our events.
SAMPLES = [
    ("postfix37_akn.txt", "permanent", {"bounced@kaarst.example"}),
    ("postfix_01.txt", "permanent", {"xxxxx@local.ie"}),
    ("postfix_04.txt", "permanent", {"userx@mail1.example.com"}),
    ("exim_01.txt", "permanent", {"userx@its.example.nl"}),
    ("sendmail_01.txt", "permanent", {"zzzzz@nfg.nl", "zzzzz@shaft.coal.nl"}),
    ("qmail_01.txt", "permanent", {"userx@example.de"}),
    ("qmail_07.txt", "permanent", {"user@example.net"}),
    ("dsn_01.txt", "permanent", {"userx@example.com"}),
    ("dsn_10.txt", "permanent", {"anne.person@dom.ain"}),
    ("dsn_05.txt", "temporary", {"userx@example.cz"}),
    ("dsn_06.txt", "temporary", {"userx@example.com"}),
    ("dsn_17.txt", "temporary", {"userx@example.fi"}),
    ("microsoft_01.txt", "permanent", {"userx@example.com"}),
    ("microsoft_04.txt", "permanent", {"userx@example.com"}),
    ("groupwise_01.txt", "permanent", {"userx@example.edu"}),
    ("yahoo_01.txt", "permanent", {"userx@example.com"}),
    ("yahoo_12.txt", "permanent", {"user@yahoo.com"}),
    ("aol_01.txt", "permanent", {"screenname@aol.com"}),
    ("smtp32_01.txt", "permanent", {"userx@example.ph"}),
    ("netscape_01.txt", "permanent", {"aaaaa@corel.com", "bbbbb@corel.com"}),
    ("llnl_01.txt", "permanent", {"user1@example.gov"}),
    ("sina_01.txt", "permanent", {"userx@sina.com", "usery@sina.com"}),
    ("hotpop_01.txt", "permanent", {"userx@example.com"}),
    ("yale_01.txt", "permanent", {"userx@cs.yale.edu", "userx@yale.edu"}),
    ("simple_03.txt", "temporary", {"userx@example.za"}),
    ("simple_21.txt", "temporary", {"userx@example.com"}),
    ("simple_40.txt", "temporary", {"user@example.com"}),
    ("simple_45.txt", "permanent", {"subscriber@earthlink.net"}),
]


@pytest.mark.parametrize("name, kind, addresses", SAMPLES, ids=[name for name, _, _ in SAMPLES])
def test_real_reports_are_read_without_verp(handler, name, kind, addresses):
    result = handler.process(sample(name), recipients=["akn-bounces@lists.example"], now=NOW)
    assert {event.email for event in result.events} == addresses
    assert {event.kind for event in result.events} == {kind}
    assert result.disabled == []


def test_every_sample_is_covered():
    assert {name for name, _, _ in SAMPLES} | {"dumbass_01.txt"} == {path.name for path in DATA.glob("*.txt")}


def test_verp_names_our_contact_even_when_the_report_names_another_address(handler, database, config, verp):
    # dsn_01 names userx@example.com (a forwarding target, say); the VERP address is ours.
    delivered(database, config, sample("dsn_01.txt"))
    result = handler.process(sample("dsn_01.txt"), recipients=[verp], now=NOW)
    assert [(event.email, event.kind) for event in result.events] == [(CONTACT, "permanent")]
    row = database.execute("SELECT email, contact_id, kind, weight FROM bounce_events").fetchone()
    assert (row["email"], row["kind"], row["weight"]) == (CONTACT, "permanent", 1.0)
    assert row["contact_id"] == Roster(database).find_contact(CONTACT).id
    assert handler.score(CONTACT, NOW) == 1.0


def test_todays_postfix_report_to_the_verp_address(handler, database, config):
    # Postfix 3.7 bounced a post that akn-mail sent with XVERP; the report names its VERP address in To.
    Roster(database).add_contact("Neuss", "bounced@kaarst.example")
    delivered(database, config, "post-42@dormagen.example", "bounced@kaarst.example")
    report = sample("postfix37_akn.txt").replace(
        b"akn-bounces+bounced=kaarst.example@lists.example", verp_of(config, "bounced@kaarst.example").encode())
    result = handler.process(report, recipients=[], now=NOW)
    [event] = result.events
    assert (event.email, event.kind, event.status) == ("bounced@kaarst.example", "permanent", "5.2.1")
    assert event.diagnostic == "mailbox disabled, not accepting messages"
    row = database.execute("SELECT original_message_id, contact_id FROM bounce_events").fetchone()
    assert row["original_message_id"] == "post-42@dormagen.example"
    assert row["contact_id"] is not None
    assert handler.score("bounced@kaarst.example", NOW) == 1.0


def test_delayed_dsn_is_temporary_and_scores_nothing(handler, verp):
    result = handler.process(sample("dsn_05.txt"), recipients=[verp], now=NOW)
    assert [(event.kind, event.status) for event in result.events] == [("temporary", "4.4.1")]
    assert handler.score(CONTACT, NOW) == 0.0


def test_failed_with_a_4xx_status_is_temporary(handler, verp):
    # dsn_17: "Action: failed" but "Status: 4.3.0" (quota exceeded): the cause is temporary.
    result = handler.process(sample("dsn_17.txt"), recipients=[verp], now=NOW)
    assert [(event.kind, event.status) for event in result.events] == [("temporary", "4.3.0")]
    assert "Quota exceeded" in result.events[0].diagnostic


def test_dsn_status_and_diagnostic_are_recorded(handler, database, verp):
    handler.process(sample("dsn_10.txt"), recipients=[verp], now=NOW)
    row = database.execute("SELECT status, diagnostic, original_message_id FROM bounce_events").fetchone()
    assert row["status"] == "5.0.0"
    assert row["diagnostic"].startswith("host mx.dom.ain[192.168.1.100]")
    assert row["original_message_id"] == "200210211625.12753.b.a.dude@example.com"


def test_unreadable_report_with_verp_counts_half_and_is_kept(handler, config, database, verp):
    delivered(database, config, sample("dumbass_01.txt"))
    result = handler.process(sample("dumbass_01.txt"), recipients=[verp], now=NOW)
    assert [(event.email, event.kind) for event in result.events] == [(CONTACT, "unrecognised")]
    assert handler.score(CONTACT, NOW) == 0.5
    kept = mailbox.Maildir(config.data_dir / "bounces", create=False)
    assert len(kept) == 1 and result.kept_in in kept.keys()


def test_report_without_any_recipient_is_kept_for_an_admin(handler, config, database):
    result = handler.process(sample("dumbass_01.txt"), recipients=["akn-bounces@lists.example"], now=NOW)
    assert result.events == []
    assert result.kept_in
    assert result.summary() == f"no recipient found; kept for an admin as bounces/new/{result.kept_in}"
    assert database.execute("SELECT count(*) FROM bounce_events").fetchone()[0] == 0
    assert len(mailbox.Maildir(config.data_dir / "bounces", create=False)) == 1


def test_garbage_bytes_do_not_crash(handler, verp):
    result = handler.process(b"\xff\xfe\x00garbage without headers\r\n\r\n\x80\x81", recipients=[verp], now=NOW)
    assert [event.email for event in result.events] == [CONTACT]


VACATION = b"""\
From: Sabine Kr\xc3\xbcger <klima@kaarst.example>
To: akn-bounces+klima=kaarst.example@lists.example
Subject: Abwesenheitsnotiz: [AKN] Termin
Auto-Submitted: auto-replied
Message-ID: <vacation-1@kaarst.example>
Content-Type: text/plain; charset=utf-8

Ich bin bis zum 10. M\xc3\xa4rz nicht im B\xc3\xbcro.
"""


def test_auto_reply_to_the_bounce_address_is_ignored(handler, database, config, verp):
    result = handler.process(VACATION, recipients=[verp], now=NOW)
    assert [(event.kind, event.source) for event in result.events] == [("ignored", "auto-reply")]
    assert handler.score(CONTACT, NOW) == 0.0
    assert not (config.data_dir / "bounces").exists()


def test_a_person_writing_to_the_bounce_address_is_kept_not_counted(handler, config, verp):
    person = VACATION.replace(b"Auto-Submitted: auto-replied\n", b"").replace(b"Abwesenheitsnotiz", b"Frage")
    result = handler.process(person, recipients=[verp], now=NOW)
    assert [(event.kind, event.source) for event in result.events] == [("ignored", "person")]
    assert result.kept_in


def test_verp_from_the_headers_when_the_envelope_lost_it(tmp_path):
    # simple_45 is a real report addressed to a VERP bounce address in its To header.
    config = config_module.load(None, environ={"AKN_MAIL_LIST_ADDRESS": "listname@example.com",
                                               "AKN_MAIL_STORAGE_DATA_DIR": str(tmp_path)})
    raw = sample("simple_45.txt")
    message = bounces.parse(raw)
    assert Bounces(None, config).verp_recipient(message, []) is None  # an address without our check code
    message = bounces.parse(raw.replace(b"listname-bounces+subscriber=earthlink.net@example.com",
                                        verp_of(config, "subscriber@earthlink.net").encode()))
    assert Bounces(None, config).verp_recipient(message, []) == "subscriber@earthlink.net"


KEY = bytes(32)


@pytest.mark.parametrize(
    "recipient",
    ["klima@kaarst.example", "a.b+tag@x.example", "we=ird@x.example", "Klima@Kaarst.Example"],
)
def test_verp_decode_reverses_the_delivery_encoding(recipient):
    address = verp_module.recipient_address(KEY, "akn-bounces@lists.example", recipient)
    assert bounces.verp_decode("akn-bounces@lists.example", address, KEY) == verp_module.Verp(recipient.lower())
    assert bounces.verp_decode("akn-bounces@lists.example", f"<{address.upper()}>", KEY) == \
        verp_module.Verp(recipient.lower())


@pytest.mark.parametrize(
    "address",
    [
        "akn-bounces+klima=kaarst.example@lists.example",             # before the check codes
        "akn-bounces+0123456789+klima=kaarst.example@lists.example",  # a guessed code
        "akn-bounces+nodomain@lists.example",
        "akn-bounces+m7.0123456789+klima=kaarst.example@lists.example",
    ],
)
def test_verp_decode_refuses_addresses_the_list_did_not_make(address):
    assert bounces.verp_decode("akn-bounces@lists.example", address, KEY) is None
    with pytest.raises(verp_module.ForgedAddress):
        verp_module.check(KEY, "akn-bounces@lists.example", address)


@pytest.mark.parametrize("address", ["akn-bounces@lists.example", "akn-owner+x=y.example@lists.example",
                                     "akn-bounces+x=y.example@elsewhere.example"])
def test_verp_decode_of_other_addresses_is_none(address):
    assert verp_module.check(KEY, "akn-bounces@lists.example", address) is None


def _bounce_for(original_id: str) -> bytes:
    """A real Postfix report (postfix_04) about a given original message."""
    raw = sample("dsn_01.txt")
    message = email.message_from_bytes(raw)
    old = bounces.original_message_id(message)
    return raw.replace(old.encode(), original_id.encode())


def test_threshold_disables_delivery_and_tells_the_admins(handler, database, config, verp):
    for number in range(3):
        delivered(database, config, f"post-{number}@lists.example")
        result = handler.process(_bounce_for(f"post-{number}@lists.example"), recipients=[verp],
                                 now=NOW + timedelta(days=number))
    assert result.disabled == [CONTACT]
    contact = Roster(database).find_contact(CONTACT)
    assert contact.delivery_enabled is False
    assert contact.disabled_reason.startswith("bounces: score 3 reached 3 within 14 days")
    notice = database.execute("SELECT subject, body FROM outbound WHERE kind = 'bounce_disabled'").fetchone()
    assert notice is not None
    recipients = [row[0] for row in database.execute(
        "SELECT recipient FROM deliveries d JOIN outbound o ON o.id = d.outbound_id WHERE o.kind = 'bounce_disabled'")]
    assert recipients == ["admin@rhein-kreis-neuss.example"]
    assert "Zustellung an klima@kaarst.example abgeschaltet" in notice["subject"]
    text = email.message_from_bytes(notice["body"], policy=email.policy.default).get_body().get_content()
    assert "akn-mail contact enable klima@kaarst.example" in text
    assert "(Kaarst, Sabine Krüger)" in text
    assert "Letzte Rückmeldung des empfangenden Servers: dauerhaft unzustellbar (Status 5.0.0)." in text


def test_one_mail_bouncing_twice_counts_once(handler, database, config, verp):
    delivered(database, config, "same-post@lists.example")
    for _ in range(4):
        result = handler.process(_bounce_for("same-post@lists.example"), recipients=[verp], now=NOW)
    assert handler.score(CONTACT, NOW) == 1.0
    assert result.disabled == []


def test_old_bounces_decay(handler, database, config, verp):
    for name in ("old-1", "old-2", "new-1"):
        delivered(database, config, f"{name}@lists.example")
    handler.process(_bounce_for("old-1@lists.example"), recipients=[verp], now=NOW - timedelta(days=20))
    handler.process(_bounce_for("old-2@lists.example"), recipients=[verp], now=NOW - timedelta(days=15))
    handler.process(_bounce_for("new-1@lists.example"), recipients=[verp], now=NOW)
    assert handler.score(CONTACT, NOW) == 1.0
    assert handler.score(CONTACT, NOW - timedelta(days=10)) == 2.0


def test_enabling_again_starts_the_count_afresh(handler, database, config, verp):
    for number in (0, 1, 2, 9):
        delivered(database, config, f"p{number}@lists.example")
    for number in range(3):
        handler.process(_bounce_for(f"p{number}@lists.example"), recipients=[verp], now=NOW + timedelta(days=number))
    assert Roster(database).find_contact(CONTACT).delivery_enabled is False
    Roster(database).set_delivery(CONTACT, True)
    later = NOW + timedelta(days=2, hours=1)
    result = handler.process(_bounce_for("p9@lists.example"), recipients=[verp], now=later)
    assert handler.score(CONTACT, later) == 1.0
    assert result.disabled == []
    assert Roster(database).find_contact(CONTACT).delivery_enabled is True


def test_unknown_recipient_is_recorded_without_a_contact(handler, database, config):
    result = handler.process(sample("exim_01.txt"), recipients=[verp_of(config, "x@nowhere.example")], now=NOW)
    assert [event.email for event in result.events] == ["x@nowhere.example"]
    assert database.execute("SELECT contact_id FROM bounce_events").fetchone()[0] is None


def test_delivery_time_5xx_rows_are_scored_once(handler, database, config):
    queue = DeliveryQueue(database, config)
    queue.enqueue(b"Subject: x\r\n\r\nbody\r\n", [CONTACT, "f.lorenz@neuss.example"], message_id="post-1@lists.example")
    rows = database.execute("SELECT id, recipient FROM deliveries ORDER BY id").fetchall()
    database.execute(
        "INSERT INTO delivery_failures (delivery_id, recipient, message_id, kind, code, error) VALUES (?, ?, ?, 'hard', 550, ?)",
        (rows[0]["id"], CONTACT, "post-1@lists.example", "5.1.1 <klima@kaarst.example>: Recipient address rejected"),
    )
    database.execute(
        "INSERT INTO delivery_failures (delivery_id, recipient, message_id, kind, code, error) VALUES (?, ?, ?, 'expired', 451, ?)",
        (rows[1]["id"], "f.lorenz@neuss.example", "post-1@lists.example", "4.4.1 no answer"),
    )
    assert bounces.score_delivery_failures(Services(config, database)) == 2
    assert bounces.score_delivery_failures(Services(config, database)) == 0
    kinds = dict(database.execute("SELECT email, kind FROM bounce_events").fetchall())
    assert kinds == {CONTACT: "delivery", "f.lorenz@neuss.example": "temporary"}
    assert handler.score(CONTACT) == 1.0
    assert handler.score("f.lorenz@neuss.example") == 0.0


def test_handle_bounce_takes_the_post_and_the_services(database, config, verp):
    services = Services(config, database)
    delivered(database, config, "r0@lists.example")
    raw = _bounce_for("r0@lists.example")
    report = Post(raw=raw, parsed=message_module.parse(raw), recipients=[verp], message_id="r1@mx.example")
    decision = bounces.handle_bounce(report, services)
    assert decision.action == "accept"
    assert decision.reason == "bounce recorded: permanent for klima@kaarst.example"
    vacation = Post(raw=VACATION, parsed=message_module.parse(VACATION), recipients=[verp])
    assert bounces.handle_bounce(vacation, services).action == "discard"


class RefusingRelay:
    """An aiosmtpd relay that refuses one recipient with 550 and takes the rest."""

    def __init__(self, refused: str):
        self.refused = refused
        self.delivered: list[str] = []

    async def handle_RCPT(self, server, session, envelope, address, options):
        if address.lower() == self.refused:
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.delivered.extend(envelope.rcpt_tos)
        return "250 OK"


def test_recipient_refused_by_the_relay_is_scored_from_the_delivery_queue(tmp_path, monkeypatch):
    from aiosmtpd.controller import Controller

    from akn_mail.delivery.deliverer import Deliverer
    from conftest import free_port

    handler = RefusingRelay(CONTACT)
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), server_hostname="relay.localhost")
    controller.start()
    try:
        path = tmp_path / "akn-mail.toml"
        path.write_text(
            '[list]\nadmins = ["admin@rhein-kreis-neuss.example"]\n[storage]\ndata_dir = "data"\n'
            f'[relay]\nhost = "127.0.0.1"\nport = {controller.port}\n[bounces]\nthreshold = 1.0\n',
            encoding="utf-8",
        )
        config = config_module.load(path)
        connection = db.connect(config.database_path)
        roster = Roster(connection)
        roster.add_member("Kaarst")
        roster.add_contact("Kaarst", CONTACT)
        roster.add_member("Neuss")
        roster.add_contact("Neuss", "f.lorenz@neuss.example")
        queue = DeliveryQueue(connection, config)
        queue.enqueue(b"From: akn@lists.example\r\nSubject: x\r\nMessage-ID: <post-7@lists.example>\r\n\r\nbody\r\n",
                      [CONTACT, "f.lorenz@neuss.example"], message_id="post-7@lists.example")
        Deliverer(queue, config).deliver_due()
        assert bounces.score_delivery_failures(Services(config, connection)) == 1
        contact = roster.find_contact(CONTACT)
        assert contact.delivery_enabled is False
        assert contact.disabled_reason == (
            "bounces: score 1 reached 1 within 14 days (last: delivery 550 5.1.1 <klima@kaarst.example>: "
            "Recipient address rejected: User unknown)"
        )
        assert roster.find_contact("f.lorenz@neuss.example").delivery_enabled is True
        # The admins' notice is queued; the next round takes it to the relay.
        Deliverer(queue, config).deliver_due()
        assert "admin@rhein-kreis-neuss.example" in handler.delivered
        connection.close()
    finally:
        controller.stop()
