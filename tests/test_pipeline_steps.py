"""Each pipeline step alone, with a literal message and a real SQLite database."""

from __future__ import annotations

import datetime

import pytest

from akn_mail import message as message_module
from akn_mail.delivery.queue import DeliveryQueue
from akn_mail.pipeline.chain import STEPS, run, steps_after, steps_from
from akn_mail.pipeline.context import Decision, Post
from akn_mail.roster.members import Roster
from akn_mail.services import Services
from akn_mail.pipeline.steps.decorate import decorate, prefixed_subject
from akn_mail.pipeline.steps.duplicate import drop_duplicate
from akn_mail.pipeline.steps.enqueue import enqueue
from akn_mail.pipeline.steps.loop import check_loop
from akn_mail.pipeline.steps.minutes import detect_minutes
from akn_mail.pipeline.steps.sender import check_sender

BODY = b"Hallo zusammen,\r\n\r\nanbei die Termine.\r\n-- \r\nPetra\r\n"


def literal(headers: str, body: bytes = BODY) -> bytes:
    return headers.replace("\n", "\r\n").encode("utf-8") + b"\r\n" + body


def make_post(config, database, raw: bytes, *, envelope_sender="klimaschutz@dormagen.example", resolver=None,
              spool_id="") -> tuple:
    """The facts about one literal message, and the services a step may use (a real database)."""
    parsed = message_module.parse(raw)
    post = Post(raw=raw, parsed=parsed, envelope_sender=envelope_sender, recipients=[config.list.address],
                spool_id=spool_id, message_id=parsed.message_id)
    return post, Services(config, database, resolver=resolver)


@pytest.fixture
def roster(database):
    roster = Roster(database)
    roster.add_member("Dormagen")
    roster.add_contact("Dormagen", "klimaschutz@dormagen.example", "Petra Hülsmann")
    roster.add_member("Kaarst")
    roster.add_contact("Kaarst", "klima@kaarst.example", "Sabine Krüger")
    roster.add_member("EnergieAgentur.NRW", "advisor")
    roster.add_contact("EnergieAgentur.NRW", "brenner@energieagentur-nrw.example")
    roster.add_member("Jüchen")
    roster.add_contact("Jüchen", "m.schaefer@juechen.example")
    roster.leave("Jüchen", datetime.date.today() - datetime.timedelta(days=10))
    return roster


POST = literal(
    "From: Petra Hülsmann <klimaschutz@dormagen.example>\n"
    "To: akn@lists.example\n"
    "Subject: Treffen im Mai\n"
    "Message-ID: <p1@dormagen.example>\n"
)


def test_steps_run_in_the_documented_order():
    assert [step.__name__ for step in STEPS] == [
        "record_meeting_reply", "check_loop", "authenticate", "check_sender", "drop_duplicate", "detect_minutes",
        "hold_unverified_new_version", "collect_agenda", "file_in_archive", "decorate", "enqueue",
    ]
    assert [step.__name__ for step in steps_after("check_sender")][0] == "drop_duplicate"
    assert [step.__name__ for step in steps_from("authenticate")][:2] == ["authenticate", "check_sender"]


# --- loop -----------------------------------------------------------------------------

@pytest.mark.parametrize("extra, envelope, reason", [
    ("List-Id: Allianz <akn.lists.example>\n", "a@b.example", "loop: already distributed by this list"),
    ("X-Loop: akn@lists.example\n", "a@b.example", "loop: X-Loop"),
    ("Auto-Submitted: auto-replied\n", "a@b.example", "automatic mail: Auto-Submitted: auto-replied"),
    ("Precedence: bulk\n", "a@b.example", "automatic mail: Precedence: bulk"),
    ("Precedence: junk\n", "a@b.example", "automatic mail: Precedence: junk"),
    ("Precedence: list\n", "a@b.example", "automatic mail: Precedence: list"),
    ("List-Id: Other <other.lists.example>\n", "a@b.example", "automatic mail: List-Id of another list"),
    ("", "", "automatic mail: null envelope sender"),
    ("", "MAILER-DAEMON@mx.kaarst.example", "automatic mail: sent by MAILER-DAEMON@mx.kaarst.example"),
    ("", "noreply@portal.example", "automatic mail: sent by noreply@portal.example"),
])
def test_check_loop_discards_loops_bounces_and_auto_replies(config, database, extra, envelope, reason):
    raw = literal("From: a@b.example\nSubject: Abwesend\n" + extra)
    post, services = make_post(config, database, raw, envelope_sender=envelope)
    decision = check_loop(post, services)
    assert decision.action == Decision.DISCARD
    assert decision.reason.startswith(reason)


def test_check_loop_lets_auto_submitted_no_pass(config, database):
    raw = literal("From: a@b.example\nSubject: x\nAuto-Submitted: no\n")
    post, services = make_post(config, database, raw)
    assert check_loop(post, services).is_next


# --- sender ---------------------------------------------------------------------------

def test_check_sender_lets_a_contact_post(config, database, roster):
    post, services = make_post(config, database, POST)
    assert check_sender(post, services).is_next
    assert post.sender_member.name == "Dormagen"


def test_check_sender_is_case_insensitive_and_lets_the_advisor_post(config, database, roster):
    raw = literal("From: Dr. Brenner <Brenner@EnergieAgentur-NRW.example>\nSubject: Förderung\n")
    post, services = make_post(config, database, raw)
    assert check_sender(post, services).is_next


def test_check_sender_holds_a_stranger_with_the_reason(config, database, roster):
    raw = literal("From: Spam <offer@shop.example>\nSubject: Angebot\n")
    post, services = make_post(config, database, raw)
    assert check_sender(post, services) == Decision.hold("offer@shop.example is not a contact on the roster")


def test_check_sender_holds_a_contact_of_a_former_member(config, database, roster):
    raw = literal("From: m.schaefer@juechen.example\nSubject: Hallo\n")
    post, services = make_post(config, database, raw)
    assert check_sender(post, services) == Decision.hold(
        "m.schaefer@juechen.example is a contact of Jüchen, which is not a member now")


def test_check_sender_holds_mail_without_from(config, database, roster):
    post, services = make_post(config, database, literal("Subject: anonym\n"))
    assert check_sender(post, services) == Decision.hold("no usable From address")


# --- duplicate ------------------------------------------------------------------------

def test_drop_duplicate_discards_a_message_id_seen_within_the_window(config, database, roster):
    queue = DeliveryQueue(database, config)
    post, services = make_post(config, database, POST, spool_id="s1")
    assert drop_duplicate(post, services).is_next
    assert enqueue(post, services).is_next
    again, services = make_post(config, database, POST, spool_id="s2")
    decision = drop_duplicate(again, services)
    assert decision.action == Decision.DISCARD
    assert decision.reason.startswith("duplicate: Message-ID <p1@dormagen.example> was already distributed")
    # The same spool entry run again after a crash is not its own duplicate.
    rerun, services = make_post(config, database, POST, spool_id="s1")
    assert drop_duplicate(rerun, services).is_next


def test_drop_duplicate_forgets_after_the_window(config, database, roster):
    queue = DeliveryQueue(database, config)
    post, services = make_post(config, database, POST, spool_id="s1")
    post.now = post.now - datetime.timedelta(days=config.list.duplicate_window_days + 1)
    enqueue(post, services)
    again, services = make_post(config, database, POST, spool_id="s2")
    assert drop_duplicate(again, services).is_next


# --- minutes --------------------------------------------------------------------------

@pytest.mark.parametrize("subject, expected", [
    ("[Protokoll] Sitzung Q2 in Kaarst", True),
    ("[protokoll] Sitzung Q2", True),
    ("[AKN] [Protokoll] Sitzung Q2", True),
    ("=?utf-8?q?=5BProtokoll=5D_Sitzung_in_J=C3=BCchen?=", True),
    ("Re: [Protokoll] Sitzung Q2", False),
    ("AW: [AKN] [Protokoll] Sitzung Q2", False),
    ("[AKN] WG: [Protokoll] Sitzung Q2", False),
    ("Fwd: [Protokoll] Sitzung", False),
    ("Protokoll folgt", False),
])
def test_detect_minutes_by_subject_tag(config, database, subject, expected):
    post, services = make_post(config, database, literal(f"From: a@b.example\nSubject: {subject}\n"))
    assert detect_minutes(post, services).is_next
    assert post.is_minutes is expected


# --- decorate -------------------------------------------------------------------------

@pytest.mark.parametrize("subject, expected", [
    ("Treffen", "[AKN] Treffen"),
    ("[AKN] Treffen", None),
    ("Re: [AKN] Treffen", None),
    ("AW: Re: [akn] Treffen", None),
    ("Re: [AKN] Re: [AKN] Treffen", "Re: [AKN] Re: Treffen"),
    ("", "[AKN]"),
])
def test_subject_prefix_is_never_doubled(subject, expected):
    assert prefixed_subject(subject, "[AKN]") == expected


def headers_of(raw: bytes):
    return message_module.parse(raw).message


def test_decorate_adds_list_headers_and_keeps_the_body_byte_identical(config, database):
    config.list.archive_url = "https://akn.example/archiv"
    post, services = make_post(config, database, POST)
    assert decorate(post, services).is_next
    out = post.outgoing
    assert out.endswith(b"\r\n\r\n" + BODY)
    assert out.split(b"\r\n\r\n", 1)[1] == POST.split(b"\r\n\r\n", 1)[1]
    headers = headers_of(out)
    assert headers["Subject"] == "[AKN] Treffen im Mai"
    assert headers["List-Id"] == "Allianz für Klima und Nachhaltigkeit im Rhein-Kreis Neuss <akn.lists.example>"
    assert headers["List-Post"] == "<mailto:akn@lists.example>"
    assert headers["List-Help"] == "<mailto:akn-request@lists.example?subject=help>"
    assert headers["List-Owner"] == "<mailto:akn-owner@lists.example>"
    assert headers["List-Unsubscribe"] == "<mailto:akn-request@lists.example?subject=unsubscribe>"
    assert headers["List-Archive"] == "<https://akn.example/archiv>"
    assert headers["Precedence"] == "list"
    assert headers["X-Loop"] == "akn@lists.example"
    assert headers["From"] == "Petra Hülsmann <klimaschutz@dormagen.example>"
    # Untouched fields keep their bytes.
    assert b"\r\nMessage-ID: <p1@dormagen.example>\r\n" in out


def test_decorate_keeps_a_reply_subject_and_replaces_foreign_list_headers(config, database):
    raw = literal(
        "From: klima@kaarst.example\nSubject: Re: [AKN] Treffen im Mai\nList-Id: Other <other.example>\n"
        "Precedence: bulk\nMessage-ID: <r1@kaarst.example>\n"
    )
    post, services = make_post(config, database, raw)
    decorate(post, services)
    headers = headers_of(post.outgoing)
    assert b"Subject: Re: [AKN] Treffen im Mai\r\n" in post.outgoing
    assert headers.get_all("List-Id") == ["Allianz für Klima und Nachhaltigkeit im Rhein-Kreis Neuss <akn.lists.example>"]
    assert headers.get_all("Precedence") == ["list"]


def test_decorate_rewrites_from_when_the_author_domain_publishes_dmarc_reject(config, database):
    class Resolver:
        asked = []

        def policy(self, domain):
            self.asked.append(domain)
            return {"strict.example": "reject"}.get(domain)

    config.list.dmarc_rewrite = "auto"
    config.list.reply_to = "author"
    raw = literal("From: Anna Strict <anna@strict.example>\nSubject: Hallo\nMessage-ID: <d1@strict.example>\n")
    post, services = make_post(config, database, raw, resolver=Resolver())
    decorate(post, services)
    headers = headers_of(post.outgoing)
    assert headers["From"] == "Anna Strict via AKN <akn@lists.example>"
    assert headers["Reply-To"] == "anna@strict.example"
    assert Resolver.asked == ["strict.example"]
    # A domain without a strict policy keeps its From.
    raw = literal("From: Petra <klimaschutz@dormagen.example>\nSubject: Hallo\n")
    post, services = make_post(config, database, raw, resolver=Resolver())
    decorate(post, services)
    assert headers_of(post.outgoing)["From"] == "Petra <klimaschutz@dormagen.example>"


def test_decorate_from_rewrite_always_and_never(config, database):
    config.list.dmarc_rewrite = "always"
    post, services = make_post(config, database, POST)
    decorate(post, services)
    assert headers_of(post.outgoing)["From"] == "Petra Hülsmann via AKN <akn@lists.example>"
    config.list.dmarc_rewrite = "never"
    post, services = make_post(config, database, POST)
    decorate(post, services)
    assert headers_of(post.outgoing)["From"] == "Petra Hülsmann <klimaschutz@dormagen.example>"


def test_default_resolver_never_looks_up_reserved_names():
    from akn_mail.pipeline.dmarc import DmarcResolver

    asked = []
    resolver = DmarcResolver(lambda name: asked.append(name) or [])
    for domain in ("dormagen.example", "x.test", "y.invalid", "localhost", "a.b.localhost", "example.org", "mail.example.com"):
        assert resolver.policy(domain) is None
    assert asked == [] and resolver.cache == {}


def test_dmarc_answers_are_kept_an_hour_and_failures_a_few_minutes():
    from akn_mail.pipeline.dmarc import DmarcResolver, NoRecord

    clock = [0.0]
    answers = {"_dmarc.strict.de": ["v=DMARC1; p=reject"]}
    asked = []

    def lookup(name):
        asked.append(name)
        if name == "_dmarc.flaky.de":
            raise TimeoutError(name)
        if name not in answers:
            raise NoRecord(name)
        return answers[name]

    resolver = DmarcResolver(lookup, clock=lambda: clock[0])
    assert resolver.policy("strict.de") == "reject"
    assert resolver.policy("flaky.de") == "unknown"
    assert resolver.policy("open.de") is None
    clock[0] = 299.0  # everything still cached
    assert [resolver.policy(d) for d in ("strict.de", "flaky.de", "open.de")] == ["reject", "unknown", None]
    assert len(asked) == 3
    clock[0] = 301.0  # the failure has expired, the answers have not
    answers["_dmarc.flaky.de"] = ["v=DMARC1; p=none"]
    resolver.lookup = lambda name: asked.append(name) or answers.get(name) or (_ for _ in ()).throw(NoRecord(name))
    assert resolver.policy("flaky.de") == "none"
    assert resolver.policy("strict.de") == "reject" and len(asked) == 4
    clock[0] = 3601.0  # an hour later the answer is asked again
    resolver.policy("strict.de")
    assert asked[-1] == "_dmarc.strict.de" and len(asked) == 5


def test_decorate_gives_a_message_without_message_id_one(config, database):
    post, services = make_post(config, database, literal("From: klima@kaarst.example\nSubject: ohne ID\n"))
    decorate(post, services)
    assert post.message_id.endswith("@lists.example")
    assert headers_of(post.outgoing)["Message-ID"] == f"<{post.message_id}>"


# --- enqueue --------------------------------------------------------------------------

def test_enqueue_queues_one_delivery_per_current_contact(config, database, roster):
    queue = DeliveryQueue(database, config)
    post, services = make_post(config, database, POST, spool_id="s1")
    post.outgoing = POST
    assert enqueue(post, services).is_next
    recipients = sorted(entry["to"] for entry in queue.entries())
    assert recipients == ["brenner@energieagentur-nrw.example", "klima@kaarst.example", "klimaschutz@dormagen.example"]
    # Running the same spool entry again (after a crash) queues nothing new.
    enqueue(post, services)
    assert len(queue.entries()) == 3


def test_enqueue_leaves_out_the_author_when_configured(config, database, roster):
    config.list.send_to_author = False
    queue = DeliveryQueue(database, config)
    post, services = make_post(config, database, POST)
    enqueue(post, services)
    assert "klimaschutz@dormagen.example" not in [entry["to"] for entry in queue.entries()]


def test_enqueue_skips_contacts_with_delivery_disabled(config, database, roster):
    roster.set_delivery("klima@kaarst.example", False, "bounces")
    queue = DeliveryQueue(database, config)
    post, services = make_post(config, database, POST)
    enqueue(post, services)
    assert "klima@kaarst.example" not in [entry["to"] for entry in queue.entries()]


def test_run_stops_at_the_first_decision(config, database, roster):
    queue = DeliveryQueue(database, config)
    raw = literal("From: offer@shop.example\nSubject: Angebot\nMessage-ID: <s@shop.example>\n")
    post, services = make_post(config, database, raw)
    decision = run(post, services)
    assert decision.action == Decision.HOLD
    assert queue.entries() == []


@pytest.mark.parametrize("setting, expected", [("list", "AKN <akn@lists.example>"), ("author", None)])
def test_reply_to_follows_the_list_setting(config, database, setting, expected):
    """Issue 12, item 6: [list] reply_to = "list" makes "Antworten" reach the whole list."""
    config.list.dmarc_rewrite = "never"
    config.list.reply_to = setting
    raw = literal("From: Petra <klimaschutz@dormagen.example>\nSubject: Hallo\nMessage-ID: <r1@dormagen.example>\n")
    post, services = make_post(config, database, raw)
    decorate(post, services)
    assert headers_of(post.outgoing).get("Reply-To") == expected
