"""The host of a planned regular meeting (a `meetings` row without host_member_id) is the
rotation's derived host everywhere in the archive: search results, --host, host:, the
"sender-hosted" rule and the not-host flag."""

from __future__ import annotations

import datetime
import json
from email import message_from_bytes, policy
from pathlib import Path

from click.testing import CliRunner

from akn_mail.archive.indexer import BackgroundIndexer
from akn_mail.cli import cli
from akn_mail.pipeline.context import Post
from akn_mail.services import Services
from akn_mail.message import parse
from akn_mail.roster.members import Roster
from akn_mail.pipeline.steps.archive import file_in_archive

from archive_support import mail
from conftest import ROSTER_CSV


def run(config_file: Path, *args: str):
    result = CliRunner().invoke(cli, ["--config", str(config_file), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def file_through_step(config, db, raw: bytes, sender: str) -> int:
    """File a post as the server does: the pipeline's archive step, then the background indexer."""
    parsed = parse(raw)
    roster = Roster(db)
    contact = roster.find_contact(sender)
    post = Post(raw=raw, parsed=parsed, message_id=parsed.message_id,
               sender_member=roster.member_by_id(contact.member_id) if contact else None, is_minutes=True,
               now=datetime.datetime(2027, 6, 12, 9, 0, tzinfo=datetime.timezone.utc))
    assert file_in_archive(post, Services(config, db)).is_next
    assert BackgroundIndexer.for_config(config).flush()
    return post.archive_id


def test_minutes_of_a_planned_meeting_carry_the_derived_host(config, config_file, database):
    run(config_file, "roster", "import", str(ROSTER_CSV))
    # Grevenbroich hosts 2027-Q1, so 2027-Q2 is Jüchen's turn and 2027-Q3 Kaarst's.
    run(config_file, "rotation", "start", "2027-Q1", "--host", "Grevenbroich")
    run(config_file, "rotation", "plan", "2027-Q2", "--date", "2027-06-10")
    run(config_file, "rotation", "plan", "2027-Q3", "--date", "2027-09-09")
    assert database.execute("SELECT host_member_id FROM meetings WHERE quarter = '2027-Q2'").fetchone()[0] is None

    minutes_id = file_through_step(config, database, mail(
        "[Protokoll] AKN-Treffen in Jüchen", "TOP 2 Radverkehr\nDas Radverkehrskonzept wird vorgestellt.",
        sender="m.schaefer@juechen.example", date="2027-06-11", message_id="q2@juechen.example",
    ), "m.schaefer@juechen.example")
    # Minutes for Kaarst's planned meeting, sent by Dormagen: flagged as not from the host.
    other_id = file_through_step(config, database, mail(
        "[Protokoll] Sitzung 2027-Q3", "TOP 1 Radverkehr in Kaarst.",
        sender="klimaschutz@dormagen.example", date="2027-06-12", message_id="q3@dormagen.example",
    ), "klimaschutz@dormagen.example")

    hits = json.loads(run(config_file, "search", "--json", "Radverkehr", "--host", "Jüchen").output)
    assert [(hit["message_id"], hit["meeting"], hit["host"]) for hit in hits] == [("q2@juechen.example", "2027-Q2", "Jüchen")]
    hits = json.loads(run(config_file, "search", "--json", "host:Juchen Radverkehr").output)
    assert [hit["message_id"] for hit in hits] == ["q2@juechen.example"]
    hits = json.loads(run(config_file, "search", "--json", "Radverkehr", "--host", "Kaarst").output)
    assert [(hit["message_id"], hit["host"]) for hit in hits] == [("q3@dormagen.example", "Kaarst")]

    shown = run(config_file, "archive", "show", str(minutes_id)).output
    flags = next(line for line in shown.splitlines() if line.startswith("Flags:")).split()[1:]
    assert flags == ["matched-by-sender-hosted"]
    shown = run(config_file, "archive", "show", str(other_id)).output
    flags = next(line for line in shown.splitlines() if line.startswith("Flags:")).split()[1:]
    assert flags == ["matched-by-subject-quarter", "not-host"]

    # The receipt the author gets names the host too.
    receipt = database.execute("SELECT body FROM outbound WHERE kind = 'minutes_receipt' ORDER BY id").fetchall()
    bodies = [message_from_bytes(bytes(row["body"]), policy=policy.default).get_body(("plain",)).get_content() for row in receipt]
    assert any("ausgerichtet von Jüchen" in body for body in bodies), bodies

    entries = {entry["meeting"]: entry for entry in json.loads(run(config_file, "archive", "list", "--year", "2027", "--json").output)}
    assert (entries["2027-Q2"]["host"], entries["2027-Q2"]["minutes"], entries["2027-Q2"]["flags"]) == ("Jüchen", "q2@juechen.example", [])
    assert (entries["2027-Q3"]["host"], entries["2027-Q3"]["flags"]) == ("Kaarst", ["not-host"])
