"""Issue 15, item 2: answers of Outlook, Thunderbird, Apple Calendar and Google are recorded
per contact, never distributed; a reply from someone not invited is ignored (logged).

The samples in tests/data/itip/ have the shapes those clients send: Outlook a base64
calendar in multipart/alternative with a Windows time zone and capitals in the address,
Thunderbird the calendar twice (inline and invite.ics), Apple a quoted-printable attachment
with MAILTO: in capitals from a private From address, Google the reply inside
multipart/alternative plus invite.ics, times in UTC."""

from __future__ import annotations

import email
import email.policy
import json
from email.message import EmailMessage
import logging
from pathlib import Path

import pytest

from akn_mail.pipeline import chain as pipeline
from akn_mail.notices.requests import handle_request
from akn_mail.pipeline.context import Post
from akn_mail.services import Services
from meeting_support import planned_meeting

SAMPLES = Path(__file__).resolve().parent / "data" / "itip"


@pytest.fixture
def run(config_file):
    invoke = planned_meeting(config_file, end="16:00")
    invoke("meeting", "invite", "2027-Q1")
    return invoke


def deliver(config, name: str, *, envelope_sender: str = "", route: str = "post", replace=None):
    raw = (SAMPLES / name).read_bytes()
    for old, new in (replace or {}).items():
        raw = raw.replace(old, new)
    services = Services(config)
    recipient = config.list.address if route == "post" else config.list_alias("request")
    post = Post.read(raw, domain=config.list_domain, envelope_sender=envelope_sender, recipients=[recipient])
    decision = pipeline.run(post, services) if route == "post" else handle_request(post, services)
    queued = services.db.execute("SELECT count(*) FROM outbound WHERE kind = 'post'").fetchone()[0]
    services.db.close()
    return decision, queued


def test_each_client_shape_is_counted(run, config):
    results = {
        "outlook_accept.eml": deliver(config, "outlook_accept.eml", envelope_sender="Klimaschutz@Dormagen.example"),
        "thunderbird_tentative.eml": deliver(config, "thunderbird_tentative.eml", envelope_sender="klima@kaarst.example"),
        "apple_decline.eml": deliver(config, "apple_decline.eml", envelope_sender="jonas.weber@me.example"),
        "google_accept.eml": deliver(config, "google_accept.eml",
                                     envelope_sender="3abc-calendar@calendar-server.bounces.google.com",
                                     route="request"),
    }
    for name, (decision, queued) in results.items():
        assert decision.action == "discard", name
        assert decision.reason.startswith("meeting reply recorded"), (name, decision.reason)
        assert queued == 0, f"{name} was distributed"
    data = json.loads(run("meeting", "attendance", "2027-Q1", "--json").output)
    status = {member["member"]: member["status"] for member in data["members"]}
    assert status["Dormagen"] == "accepted"
    assert status["Kaarst"] == "tentative"
    assert status["Neuss"] == "accepted"          # Miriam Koch accepted, Felix Lorenz has not answered
    assert status["Grevenbroich"] == "no answer"  # Jonas Weber declined, Aylin Demir has not answered
    grevenbroich = next(m for m in data["members"] if m["member"] == "Grevenbroich")
    assert {c["email"]: c["answer"] for c in grevenbroich["contacts"]} == {
        "umwelt@grevenbroich.example": "declined", "a.demir@grevenbroich.example": "no answer"}
    assert status["Meerbusch"] == "no answer"
    table = run("meeting", "attendance", "2027-Q1").output
    assert "Dormagen" in table and "klimaschutz@dormagen.example accepted" in table
    assert table.strip().endswith("2 accepted, 1 tentative, 0 declined, 7 no answer")


def stranger_reply(config) -> bytes:
    """A colleague the invitation was forwarded to answers from Thunderbird: not invited."""
    sample = email.message_from_bytes((SAMPLES / "thunderbird_tentative.eml").read_bytes(), policy=email.policy.default)
    calendar = next(part for part in sample.walk() if part.get_content_type() == "text/calendar").get_content()
    message = EmailMessage()
    message["From"] = "Kollegin <kollegin@kaarst.example>"
    message["To"] = config.list.address
    message["Subject"] = "Zugesagt: AKN-Sitzung im 1. Quartal 2027"
    message["Message-ID"] = "<stranger-1@kaarst.example>"
    message.set_content(calendar.replace("klima@kaarst.example", "kollegin@kaarst.example").replace("TENTATIVE", "ACCEPTED"),
                        subtype="calendar", params={"method": "REPLY"})
    return message.as_bytes()


def test_reply_from_someone_not_invited_is_ignored_and_logged(run, config, caplog, tmp_path):
    caplog.set_level(logging.WARNING, logger="akn_mail.meetings")
    (SAMPLES_OUT := tmp_path / "stranger.eml").write_bytes(stranger_reply(config))
    services = Services(config)
    post = Post.read(SAMPLES_OUT.read_bytes(), domain=config.list_domain, envelope_sender="kollegin@kaarst.example",
                     recipients=[config.list.address])
    decision = pipeline.run(post, services)
    assert decision.action == "discard" and "not invited, ignored" in decision.reason
    assert services.db.execute("SELECT count(*) FROM outbound WHERE kind = 'post'").fetchone()[0] == 0
    services.db.close()
    assert any("reason=not-invited" in record.getMessage() for record in caplog.records)
    data = json.loads(run("meeting", "attendance", "2027-Q1", "--json").output)
    assert all(member["status"] == "no answer" for member in data["members"])


def test_answer_to_an_older_version_is_ignored_after_an_update(run, config):
    run("rotation", "plan", "2027-Q1", "--time", "15:00")  # SEQUENCE 2; the samples answer SEQUENCE 1
    decision, _ = deliver(config, "google_accept.eml", envelope_sender="bounce@calendar-server.bounces.google.com")
    assert decision.action == "discard" and "older version" in decision.reason
    data = json.loads(run("meeting", "attendance", "2027-Q1", "--json").output)
    assert all(member["status"] == "no answer" for member in data["members"])


def test_ordinary_post_is_not_taken_for_a_reply(run, config):
    services = Services(config)
    raw = (b"From: Petra <klimaschutz@dormagen.example>\r\nTo: akn@lists.example\r\nSubject: Hallo\r\n"
           b"Message-ID: <p1@dormagen.example>\r\n\r\nText\r\n")
    post = Post.read(raw, domain=config.list_domain, envelope_sender="klimaschutz@dormagen.example",
                     recipients=[config.list.address])
    from akn_mail.pipeline.steps.meeting_reply import record_meeting_reply

    assert record_meeting_reply(post, services).is_next
    services.db.close()


@pytest.mark.parametrize("route", ["post", "request"])
def test_a_reply_that_fails_authentication_is_not_counted(run, config, route):
    # A forged "Accept" in a contact's name: the front MTA found DMARC failing for the From
    # domain. It must neither be counted nor distributed, to the list or to -request.
    config.auth.authserv_id = "mx.lists.example"
    forged = b"Authentication-Results: mx.lists.example; dmarc=fail header.from=dormagen.example\r\n"
    raw = forged + (SAMPLES / "outlook_accept.eml").read_bytes()
    services = Services(config)
    recipient = config.list.address if route == "post" else config.list_alias("request")
    post = Post.read(raw, domain=config.list_domain, envelope_sender="attacker@evil.example", recipients=[recipient])
    decision = pipeline.run(post, services) if route == "post" else handle_request(post, services)
    services.db.close()
    assert decision.action == "discard"
    assert "authentication" in decision.reason or "DMARC" in decision.reason
    data = json.loads(run("meeting", "attendance", "2027-Q1", "--json").output)
    status = {member["member"]: member["status"] for member in data["members"]}
    assert status["Dormagen"] == "no answer"
