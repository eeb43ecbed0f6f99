"""`akn-mail queue` and `akn-mail held`: output, --json fields, exact error lines."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from akn_mail import db as db_module
from akn_mail.cli import cli
from akn_mail.delivery.queue import DeliveryQueue
from akn_mail.edge.spool import Spool
from akn_mail.notices.held import HeldStore

from service_support import load_roster, post


@pytest.fixture
def run(config_file, config, monkeypatch):
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(cli, ["--config", str(config_file), *args], catch_exceptions=False)

    return invoke


@pytest.fixture
def held_post(config):
    load_roster(config)
    connection = db_module.connect(config.database_path)
    raw = post(sender="offer@shop.example", message_id="<spam-1@shop.example>", subject="Angebot")
    held_id = HeldStore(connection, config).hold(
        raw, reason="offer@shop.example is not a contact on the roster", message_id="spam-1@shop.example",
        envelope_sender="offer@shop.example", from_address="offer@shop.example", subject="Angebot", key="spool-1",
    )
    connection.close()
    return held_id, raw


def test_queue_list_json_has_the_documented_fields(run, config):
    connection = db_module.connect(config.database_path)
    DeliveryQueue(connection, config).enqueue(post(), ["anna@dormagen.example"], message_id="<q1@dormagen.example>",
                                              subject="[AKN] Treffen")
    connection.close()
    result = run("queue", "list", "--json")
    assert result.exit_code == 0
    [entry] = json.loads(result.output)
    assert {"id", "message_id", "from", "to", "subject", "status", "attempts", "last_code", "last_error", "time",
            "next_attempt"} <= set(entry)
    assert entry["message_id"] == "q1@dormagen.example"
    assert entry["from"] == "akn-bounces@lists.example"
    assert entry["to"] == "anna@dormagen.example"
    assert entry["status"] == "pending"
    text = run("queue", "list")
    assert "pending" in text.output and "anna@dormagen.example" in text.output
    assert run("queue", "list", "--status", "failed").output == "No deliveries with status failed.\n"


def test_queue_retry_of_an_unknown_id_is_one_error_line(run):
    result = run("queue", "retry", "999")
    assert result.exit_code == 1
    assert result.output == "Error: no delivery with id 999; see 'akn-mail queue list'.\n"
    result = run("queue", "retry")
    assert (result.exit_code, result.output) == (0, "0 waiting deliveries are due now.\n")


def test_held_list_json_show_and_approve(run, config, held_post):
    held_id, raw = held_post
    result = run("held", "list", "--json")
    [entry] = json.loads(result.output)
    assert entry["id"] == held_id
    assert entry["message_id"] == "spam-1@shop.example"
    assert entry["from"] == "offer@shop.example"
    assert entry["subject"] == "Angebot"
    assert entry["reason"] == "offer@shop.example is not a contact on the roster"
    assert entry["status"] == "held" and entry["time"].endswith("Z")
    assert "reason: offer@shop.example is not a contact on the roster" in run("held", "list").output
    shown = CliRunner().invoke(cli, ["--config", str(config.path), "held", "show", str(held_id), "--raw"])
    assert shown.stdout_bytes == raw
    result = run("held", "approve", str(held_id))
    assert (result.exit_code, result.output) == (
        0, f"Approved {held_id}; no service is running, so it is distributed when 'akn-mail serve' starts.\n")
    assert run("held", "list").output == "No held mail.\n"
    # Handed back through the spool, marked as approved: the next serve continues it.
    [segment] = Spool(config.spool_dir).segments()
    [entry] = Spool(config.spool_dir).read(segment)
    assert (entry.held_id, entry.route, entry.data, entry.mail_from) == (held_id, "post", raw, "offer@shop.example")
    assert entry.rcpt_tos == ["akn@lists.example"]
    again = run("held", "approve", str(held_id))
    assert (again.exit_code, again.output) == (1, f"Error: held message {held_id} is already decided (approved); nothing to do.\n")


def test_held_reject_tells_the_sender_through_the_queue(run, config, held_post):
    held_id, _ = held_post
    result = run("held", "reject", str(held_id), "--reason", "Bitte über Ihre Ansprechperson senden.")
    assert (result.exit_code, result.output) == (0, f"Rejected {held_id}; offer@shop.example is told why.\n")
    [notice] = json.loads(run("queue", "list", "--json").output)
    assert notice["to"] == "offer@shop.example" and notice["kind"] == "post_rejected"
    connection = db_module.connect(config.database_path)
    body = bytes(connection.execute("SELECT body FROM outbound").fetchone()[0])
    connection.close()
    assert b"Auto-Submitted: auto-generated" in body


def test_held_discard_and_unknown_id(run, held_post):
    held_id, _ = held_post
    assert run("held", "discard", str(held_id)).output == f"Discarded {held_id}.\n"
    statuses = [entry["status"] for entry in json.loads(run("held", "list", "--all", "--json").output)]
    assert statuses == ["discarded"]
    result = run("held", "show", "77")
    assert (result.exit_code, result.output) == (1, "Error: no held message with id 77; see 'akn-mail held list'.\n")


def test_serve_with_an_unusable_data_directory_is_one_error_line(run, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    monkeypatch.setenv("AKN_MAIL_STORAGE_DATA_DIR", str(blocker / "data"))
    result = run("serve", "--port", "0")
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == (
        f"Error: cannot create the spool directory {blocker / 'data' / 'spool'}: Not a directory. "
        "Set [storage] data_dir to a writable place."
    )


def test_held_reject_never_writes_to_a_noreply_address(run, config):
    load_roster(config)
    connection = db_module.connect(config.database_path)
    held_id = HeldStore(connection, config).hold(
        post(sender="noreply@portal.example"), reason="noreply@portal.example is not a contact on the roster",
        message_id="portal-1@portal.example", envelope_sender="noreply@portal.example",
        from_address="noreply@portal.example", subject="Newsletter", key="spool-9",
    )
    connection.close()
    result = run("held", "reject", str(held_id))
    assert (result.exit_code, result.output) == (
        0, f"Rejected {held_id}; nobody is told: noreply@portal.example is a reserved address that reads no mail.\n")
    assert run("queue", "list", "--json").output.strip() == "[]"


def test_held_show_decodes_header_fields_for_a_person(run, config):
    """Issue 12, item 11: no raw encoded words (=?utf-8?q?f=C3=BCr?=) in held show."""
    load_roster(config)
    connection = db_module.connect(config.database_path)
    raw = (b"From: =?utf-8?q?J=C3=B6rg_M=C3=BCller?= <j.mueller@stadtwerke.example>\r\n"
           b"To: akn@lists.example\r\nSubject: =?utf-8?q?F=C3=B6rderprogramm_f=C3=BCr_W=C3=A4rme?=\r\n"
           b"Message-ID: <h1@stadtwerke.example>\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
           b"Die Frist wurde verl=C3=A4ngert.\r\n")
    held_id = HeldStore(connection, config).hold(
        raw, reason="j.mueller@stadtwerke.example is not a contact on the roster", message_id="h1@stadtwerke.example",
        envelope_sender="j.mueller@stadtwerke.example", from_address="j.mueller@stadtwerke.example",
        subject="Förderprogramm für Wärme", key="spool-h1",
    )
    connection.close()
    result = run("held", "show", str(held_id))
    assert result.exit_code == 0
    assert result.output == (
        "From: Jörg Müller <j.mueller@stadtwerke.example>\n"
        "To: akn@lists.example\n"
        "Subject: Förderprogramm für Wärme\n"
        "Message-ID: <h1@stadtwerke.example>\n"
        "\n"
        "Die Frist wurde verlängert.\n"
    )
