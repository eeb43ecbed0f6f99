"""Log lines: one greppable key=value line per event, written where [logging] says."""

from __future__ import annotations

import io
import logging
import re

import pytest

from akn_mail import config as config_module
from akn_mail import logs
from akn_mail.config import ConfigError


def test_fields_quote_what_would_split_a_field():
    line = logs.fields(message_id="4711@dormagen.example", reason='not a "contact" here', count=3, ok=True)
    assert line == 'message_id=<4711@dormagen.example> reason="not a \\"contact\\" here" count=3 ok=yes'


def test_message_id_keeps_one_pair_of_brackets():
    assert logs.message_id_field("<a@b>") == "<a@b>"
    assert logs.message_id_field("a@b") == "<a@b>"
    assert logs.message_id_field(None) == "<>"


def test_newlines_in_values_stay_on_one_line():
    assert logs.quote("550 5.1.1 no\r\nsuch user") == '"550 5.1.1 no\\r\\nsuch user"'


def test_event_puts_message_id_first(caplog):
    logger = logging.getLogger("akn_mail.test")
    with caplog.at_level(logging.INFO, logger="akn_mail"):
        logs.event(logger, "delivery", recipient="b@kaarst.example", status="sent", message_id="x@y")
    assert caplog.messages == ["delivery message_id=<x@y> recipient=b@kaarst.example status=sent"]


def test_setup_writes_to_the_configured_file(tmp_path):
    path = tmp_path / "akn.toml"
    path.write_text('[logging]\nlevel = "DEBUG"\nfile = "log/akn-mail.log"\n', encoding="utf-8")
    config = config_module.load(path, environ={})
    handler = logs.setup(config)
    try:
        logs.event(logging.getLogger("akn_mail.x"), "accepted", message_id="m1@x", recipients=2)
        logging.getLogger("akn_mail.x").debug("debug line")
        handler.flush()
        text = (tmp_path / "log" / "akn-mail.log").read_text(encoding="utf-8")
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()
    assert "INFO akn_mail.x: accepted message_id=<m1@x> recipients=2" in text
    assert "DEBUG akn_mail.x: debug line" in text


def test_setup_twice_keeps_one_handler(tmp_path):
    config = config_module.load(None, environ={})
    first = logs.setup(config, stream=io.StringIO())
    second = logs.setup(config, stream=io.StringIO())
    try:
        ours = [h for h in logging.getLogger().handlers if getattr(h, "_akn_mail_handler", False)]
        assert ours == [second]
        assert first not in logging.getLogger().handlers
    finally:
        logging.getLogger().removeHandler(second)


def test_unknown_level_is_a_config_error():
    config = config_module.load(None, environ={"AKN_MAIL_LOGGING_LEVEL": "LOUD"})
    with pytest.raises(ConfigError, match=r"\[logging\] level must be one of DEBUG, INFO, WARNING, ERROR, not 'LOUD'."):
        logs.setup(config)


def test_under_systemd_the_journal_stamps_the_time(monkeypatch):
    monkeypatch.setenv("JOURNAL_STREAM", "8:12345")
    stream = io.StringIO()
    handler = logs.setup(config_module.load(None, environ={}), stream=stream)
    try:
        logs.event(logging.getLogger("akn_mail.ingress"), "accepted", message_id="j@x", size=10)
    finally:
        logging.getLogger().removeHandler(handler)
    assert stream.getvalue() == "<6>INFO akn_mail.ingress: accepted message_id=<j@x> size=10\n"


def journald_read(line: str) -> tuple[int, str]:
    """What journald does with a line on a service's stderr (SyslogLevelPrefix=yes):
    a leading <N> with 0 <= N <= 7 is the priority and is removed; otherwise priority 6."""
    match = re.match(r"<([0-7])>", line)
    if match:
        return int(match.group(1)), line[match.end():]
    return 6, line


def test_under_systemd_warnings_and_errors_carry_their_journal_priority(monkeypatch):
    monkeypatch.setenv("JOURNAL_STREAM", "8:12345")
    stream = io.StringIO()
    handler = logs.setup(config_module.load(None, environ={}), stream=stream)
    logger = logging.getLogger("akn_mail.delivery")
    try:
        logger.info("delivery message_id=<a@x> status=sent")
        logger.warning("relay slow")
        logger.error("relay refused our sender")
        try:
            raise ValueError("broken")
        except ValueError:
            logger.exception("round failed")
    finally:
        logging.getLogger().removeHandler(handler)
    entries = [journald_read(line) for line in stream.getvalue().splitlines()]
    # journalctl -p warning shows priority 0..4.
    shown = [text for priority, text in entries if priority <= 4]
    assert shown[0] == "WARNING akn_mail.delivery: relay slow"
    assert shown[1] == "ERROR akn_mail.delivery: relay refused our sender"
    assert shown[2] == "ERROR akn_mail.delivery: round failed"
    assert any("ValueError: broken" in text for text in shown[3:])  # the traceback keeps its priority
    assert [text for priority, text in entries if priority == 6] == ["INFO akn_mail.delivery: delivery message_id=<a@x> status=sent"]


def test_outside_systemd_lines_carry_no_priority_prefix(monkeypatch):
    monkeypatch.delenv("JOURNAL_STREAM", raising=False)
    stream = io.StringIO()
    handler = logs.setup(config_module.load(None, environ={}), stream=stream)
    try:
        logging.getLogger("akn_mail.x").warning("careful")
    finally:
        logging.getLogger().removeHandler(handler)
    assert " WARNING akn_mail.x: careful" in stream.getvalue()
    assert not stream.getvalue().startswith("<")
