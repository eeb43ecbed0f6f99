"""Text from mail reaches a terminal without its control sequences (issue 10, item 7).

A subject ``ESC]0;…BEL`` would retitle the window, a body ``ESC[2J`` clear the screen, a C1
CSI (U+009B) do the same on many terminals. Every command that prints text from mail shows
them as visible ``\\x1b`` escapes; its --json output escapes them as JSON does.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from akn_mail import db as db_module
from akn_mail.archive.filing import Archive
from akn_mail.cli import cli
from akn_mail.cli.output import json_text, safe, safe_bytes
from akn_mail.delivery.queue import DeliveryQueue
from akn_mail.notices.held import HeldStore

from archive_support import mail, setup_roster

TITLE = "\x1b]0;owned\x07"
CLEAR = "\x1b[2J"
CSI = "\x9b2J"
CONTROLS = ("\x1b", "\x07", "\x9b")


def run(config_file, *args):
    return CliRunner().invoke(cli, ["--config", str(config_file), *args], catch_exceptions=False)


def assert_no_controls(text: str) -> None:
    assert not any(control in text for control in CONTROLS), repr(text)


def test_safe_shows_controls_and_keeps_newline_and_tab():
    assert safe(f"a{TITLE}b\tc\nd{CSI}\x7f") == "a\\x1b]0;owned\\x07b\tc\nd\\x9b2J\\x7f"
    assert safe_bytes(b"Subject: Gr\xfc\xdfe \x1b[2J\r\nx\r\n") == "Subject: Gr\\xfc\\xdfe \\x1b[2J\nx\n"
    assert json.loads(json_text({"s": f"{TITLE}{CSI}ü"})) == {"s": f"{TITLE}{CSI}ü"}
    assert_no_controls(json_text({"s": f"{TITLE}{CSI}"}))


@pytest.fixture
def hostile_archive(config, config_file, database):
    setup_roster(database, start="2024-Q1")
    message = Archive(config, database).file(mail(
        f"Radverkehr {TITLE}{CSI}", f"Radverkehr im Kreis {CLEAR} und mehr",
        sender="anna@dormagen.example", date="2024-10-01", message_id="hostile-1@dormagen.example",
    )).message
    return message.id


def test_archive_show_and_search_escape_terminal_controls(hostile_archive, config_file):
    shown = run(config_file, "archive", "show", str(hostile_archive))
    assert shown.exit_code == 0, shown.output
    assert_no_controls(shown.output)
    # The subject's C0 controls are blanked when the message is read; its C1 CSI is shown escaped.
    assert "\\x9b2J" in shown.output and "\\x1b[2J" in shown.output
    found = run(config_file, "search", "Radverkehr")
    assert found.exit_code == 0, found.output
    assert_no_controls(found.output)
    assert "\\x9b2J" in found.output
    as_json = run(config_file, "search", "Radverkehr", "--json")
    assert_no_controls(as_json.output)
    assert CSI in json.loads(as_json.output)[0]["subject"]


def test_held_show_list_and_queue_list_escape_terminal_controls(config, config_file):
    raw = (f"From: x@shop.example\r\nSubject: {TITLE}Angebot\r\nMessage-ID: <esc-1@shop.example>\r\n"
           f"\r\nText {CLEAR}{CSI}\r\n").encode("utf-8")
    connection = db_module.connect(config.database_path)
    held_id = HeldStore(connection, config).hold(
        raw, reason=f"not a contact {CLEAR}", message_id="esc-1@shop.example", envelope_sender="x@shop.example",
        from_address="x@shop.example", subject=f"{TITLE}Angebot", key="spool-esc",
    )
    DeliveryQueue(connection, config).enqueue(raw, ["anna@dormagen.example"], message_id="<esc-1@shop.example>",
                                              subject=f"{TITLE}Angebot")
    connection.execute("UPDATE deliveries SET last_error = ?, last_code = 451", (f"relay says {CLEAR}",))
    connection.commit()
    connection.close()
    for args in (("held", "show", str(held_id)), ("held", "list"), ("queue", "list")):
        result = run(config_file, *args)
        assert result.exit_code == 0, result.output
        assert_no_controls(result.output)
        assert "\\x1b" in result.output, args
    for args in (("held", "list", "--json"), ("queue", "list", "--json")):
        result = run(config_file, *args)
        assert_no_controls(result.output)
        assert json.loads(result.output)[0]["subject"] == f"{TITLE}Angebot"
