"""The archive and search commands as a user types them (click's runner and a real process)."""

from __future__ import annotations

import datetime
import json
import mailbox
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from akn_mail.archive.filing import Archive
from akn_mail.cli import cli
from akn_mail.roster.members import Roster

from archive_support import mail, odt_bytes, pdf_bytes, setup_roster

PDF = "application/pdf"


def run(config_file: Path, *args: str):
    return CliRunner().invoke(cli, ["--config", str(config_file), *args], catch_exceptions=False)


@pytest.fixture
def filed(config, config_file, database):
    setup_roster(database, start="2024-Q1")
    archive = Archive(config, database)
    minutes = archive.file(mail(
        "[Protokoll] Sitzung 2024-Q3", "TOP 1 Kommunale Wärmeplanung\nDie kommunale Wärmeplanung wird vorgestellt.",
        sender="clara@juechen.example", date="2024-09-12", message_id="protokoll-2024-q3@juechen.example",
        attachments=[("../../etc/passwd", b"root:x:0:0\n", "text/plain"),
                     ("protokoll.pdf", pdf_bytes(["Anlage Radverkehr"]), PDF)],
    )).message
    post = archive.file(mail("Radverkehr", "Wer kommt zur Radtour?", sender="anna@dormagen.example", date="2024-10-01",
                             message_id="post-1@dormagen.example")).message
    return {"minutes": minutes.id, "post": post.id}


def test_search_prints_ranked_hits(filed, config_file):
    result = run(config_file, "search", "Wärmeplanung")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].split() == [str(filed["minutes"]), "2024-09-12", "minutes", "2024-Q3", "(Jüchen)"]
    assert lines[1].strip() == "[Protokoll] Sitzung 2024-Q3"
    assert "kommunale Wärmeplanung" in result.output


def test_search_json_fields(filed, config_file):
    result = run(config_file, "search", '"kommunale Wärmeplanung"', "--json")
    assert result.exit_code == 0
    hits = json.loads(result.output)
    assert len(hits) == 1
    hit = hits[0]
    assert set(hit) >= {"id", "message_id", "date", "from", "subject", "minutes", "meeting", "host", "score", "snippet"}
    assert (hit["id"], hit["message_id"], hit["minutes"], hit["meeting"], hit["host"]) == (
        filed["minutes"], "protokoll-2024-q3@juechen.example", True, "2024-Q3", "Jüchen")
    assert hit["date"] == "2024-09-12T09:00:00+00:00"
    assert hit["from"] == "Kontakt <clara@juechen.example>"
    assert "**kommunale** **Wärmeplanung**" in hit["snippet"]


def test_search_limit_and_filters(filed, config_file):
    result = run(config_file, "search", "Radverkehr", "--json", "--limit", "1")
    assert len(json.loads(result.output)) == 1
    result = run(config_file, "search", "Radverkehr", "--minutes", "--host", "Jüchen", "--json")
    assert [hit["id"] for hit in json.loads(result.output)] == [filed["minutes"]]
    result = run(config_file, "search", "Radverkehr", "--from", "anna@dormagen.example", "--since", "2024-10-01", "--json")
    assert [hit["id"] for hit in json.loads(result.output)] == [filed["post"]]


def test_search_host_option_takes_any_spelling_of_a_member_and_refuses_an_unknown_one(filed, config_file):
    for spelling in ("jüchen", "Juechen"):
        result = run(config_file, "search", "Radverkehr", "--host", spelling, "--json")
        assert [hit["id"] for hit in json.loads(result.output)] == [filed["minutes"]]
    result = run(config_file, "search", "Radverkehr", "--host", "Juchen")
    assert result.exit_code == 1
    assert result.output == 'Error: no member named "Juchen". Did you mean "Jüchen"?\n'


@pytest.mark.parametrize("damage, error", [
    ("posting lists deleted", "FileNotFoundError"),
    ("table of contents cut short", "EOFError"),  # click would print a bare "Aborted!" for it
])
def test_damaged_index_is_one_error_line_naming_reindex(filed, config, config_file, tmp_path, damage, error):
    index_dir = Path(config.index_dir)
    if damage == "posting lists deleted":
        for damaged in sorted(index_dir.glob("*.pst")):
            damaged.unlink()
    else:
        for toc in index_dir.glob("*.toc"):
            toc.write_bytes(toc.read_bytes()[:50])
    result = run(config_file, "search", "Radverkehr")
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: the search index in {index_dir} cannot be read ({error}: ")
    assert result.output.endswith("); rebuild it with: akn-mail archive reindex\n")
    assert len(result.output.splitlines()) == 1
    expected = 2
    if damage == "table of contents cut short":
        # Importing files the message, then says the same instead of click's "Aborted!".
        eml = tmp_path / "neu.eml"
        eml.write_bytes(mail("Radverkehr im Winter", message_id="neu@dormagen.example", date="2024-12-01"))
        result = run(config_file, "archive", "import", str(eml))
        assert result.exit_code == 1
        assert result.stderr.splitlines()[-1].startswith(f"Error: the search index in {index_dir} cannot be read (EOFError: ")
        expected = 3
    assert run(config_file, "archive", "reindex").exit_code == 0
    assert len(json.loads(run(config_file, "search", "Radverkehr", "--json").output)) == expected


def test_search_host_option_means_that_member_not_every_name_containing_it(config, config_file, database):
    roster = Roster(database)
    for name, kind, address in (("Neuss", "municipality", "felix@neuss.example"),
                                ("Rhein-Kreis Neuss", "county", "andrea@rhein-kreis-neuss.example")):
        roster.add_member(name, kind, joined=datetime.date(2020, 1, 1))
        roster.add_contact(name, address)
    archive = Archive(config, database)
    # No rotation: each set of minutes makes an extra meeting hosted by its sender's member.
    city = archive.file(mail("[Protokoll] Treffen", "Radverkehr in Neuss", sender="felix@neuss.example",
                             date="2027-03-20", message_id="stadt@neuss.example")).message
    county = archive.file(mail("[Protokoll] Kreistreffen", "Radverkehr im Kreis", sender="andrea@rhein-kreis-neuss.example",
                               date="2027-04-20", message_id="kreis@rhein-kreis-neuss.example")).message
    for host, expected in (("Neuss", [city.id]), ("Rhein-Kreis Neuss", [county.id])):
        result = run(config_file, "search", "Radverkehr", "--host", host, "--json")
        assert [hit["id"] for hit in json.loads(result.output)] == expected, host


def test_search_syntax_error_is_one_line_with_the_column(filed, config_file):
    result = run(config_file, "search", "Wärme AND (Hitze")
    assert result.exit_code == 1
    assert result.output == "Error: query syntax error at column 11: '(' is never closed.\n"


def test_search_bad_date_option(filed, config_file):
    result = run(config_file, "search", "Wärme", "--since", "12/09/2024")
    assert result.exit_code == 1
    assert result.output == 'Error: invalid --since date "12/09/2024"; write it as YYYY-MM-DD or DD.MM.YYYY, e.g. 2027-03-11.\n'


def test_search_on_an_empty_archive_finds_nothing(config_file):
    result = run(config_file, "search", "Wärme")
    assert (result.exit_code, result.output) == (0, "No messages found.\n")


def test_show_lists_attachments_with_safe_names(filed, config_file):
    result = run(config_file, "archive", "show", str(filed["minutes"]))
    assert result.exit_code == 0
    assert "Minutes of:  2024-Q3, host Jüchen, version 1" in result.output
    assert "    1. passwd (text/plain, 11 bytes, text: ok)" in result.output
    assert "    2. protokoll.pdf (application/pdf" in result.output
    assert result.output.rstrip().endswith("Die kommunale Wärmeplanung wird vorgestellt.")
    by_message_id = run(config_file, "archive", "show", "<protokoll-2024-q3@juechen.example>")
    assert by_message_id.output == result.output


def test_unknown_id_is_a_clear_error(filed, config_file):
    result = run(config_file, "archive", "show", "999")
    assert result.exit_code == 1
    assert result.output == "Error: no archived message with ID 999; find IDs with: akn-mail search WORDS (or akn-mail archive list)\n"


def test_export_writes_eml_and_attachments_and_refuses_a_non_empty_dir(filed, config_file, tmp_path):
    target = tmp_path / "export"
    result = run(config_file, "archive", "export", str(filed["minutes"]), "--to", str(target))
    assert result.exit_code == 0, result.output
    assert sorted(os.listdir(target)) == [f"message-{filed['minutes']}.eml", "passwd", "protokoll.pdf"]
    assert (target / "passwd").read_bytes() == b"root:x:0:0\n"
    assert not (tmp_path / "etc").exists()
    again = run(config_file, "archive", "export", str(filed["minutes"]), "--to", str(target))
    assert again.exit_code == 1
    assert again.output == f"Error: {target} is not empty; give a new or empty directory with --to (export never overwrites files).\n"


def test_export_mbox_and_import_it_elsewhere(filed, config_file, tmp_path):
    box = tmp_path / "archiv.mbox"
    result = run(config_file, "archive", "export", "--mbox", str(box), "--minutes")
    assert (result.exit_code, result.output) == (0, f"Wrote 1 message to {box}.\n")
    assert len(mailbox.mbox(str(box))) == 1
    other = tmp_path / "other"
    other.mkdir()
    (other / "akn-mail.toml").write_text('[storage]\ndata_dir = "data"\n', encoding="utf-8")
    result = run(other / "akn-mail.toml", "archive", "import", str(box))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "Imported 1 message (1 minutes)."
    result = run(other / "akn-mail.toml", "search", "Wärmeplanung", "--json")
    assert [hit["message_id"] for hit in json.loads(result.output)] == ["protokoll-2024-q3@juechen.example"]
    again = run(other / "akn-mail.toml", "archive", "import", str(box))
    assert again.stdout.splitlines()[0] == "Imported 0 messages (0 minutes); skipped 1 already archived."


def test_import_a_maildir(config_file, tmp_path):
    source = mailbox.Maildir(str(tmp_path / "alt"), create=True)
    source.add(mail("Altes Thema Lärmschutz", message_id="alt-1@x", date="2023-05-01"))
    source.add(mail("Noch ein altes Thema", message_id="alt-2@x", date="2023-06-01"))
    result = run(config_file, "archive", "import", str(tmp_path / "alt"))
    assert result.stdout.splitlines()[0] == "Imported 2 messages (0 minutes)."
    assert json.loads(run(config_file, "search", "Lärmschutz", "--json").output)[0]["message_id"] == "alt-1@x"


def test_import_a_document_as_minutes_of_a_meeting(config, config_file, database, tmp_path):
    setup_roster(database, start="2024-Q1")
    document = tmp_path / "Protokoll_Kaarst.odt"
    document.write_bytes(odt_bytes("Klimaanpassung", ["Das Klimaanpassungskonzept wurde vorgestellt."]))
    result = run(config_file, "archive", "import", str(document), "--meeting", "2024-Q3")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "Imported 1 message (1 minutes)."
    assert lines[1].endswith("minutes of 2024-Q3 ([Protokoll] Sitzung 2024-Q3: Protokoll_Kaarst.odt)")
    listed = json.loads(run(config_file, "archive", "list", "--year", "2024", "--json").output)
    q3 = next(entry for entry in listed if entry["meeting"] == "2024-Q3")
    assert q3["minutes"].startswith("document-") and q3["host"] == "Jüchen"
    hit = json.loads(run(config_file, "search", "Klimaanpassung", "--json").output)[0]
    assert (hit["meeting"], hit["minutes"]) == ("2024-Q3", True)
    # The stored message names its meeting: imported elsewhere, it is filed under 2024-Q3 again.
    box = tmp_path / "archiv.mbox"
    assert run(config_file, "archive", "export", "--mbox", str(box)).exit_code == 0
    other = tmp_path / "other"
    other.mkdir()
    (other / "akn-mail.toml").write_text('[storage]\ndata_dir = "data"\n', encoding="utf-8")
    result = run(other / "akn-mail.toml", "archive", "import", str(box))
    assert result.stdout.splitlines()[1].endswith("minutes of 2024-Q3 ([Protokoll] Sitzung 2024-Q3: Protokoll_Kaarst.odt)")


def test_import_refuses_unknown_files_and_bad_meetings(config_file, tmp_path):
    strange = tmp_path / "notes.xyz"
    strange.write_text("hello")
    result = run(config_file, "archive", "import", str(strange))
    assert result.exit_code == 1
    assert result.output == f"Error: cannot import {strange}: give an mbox file, a Maildir directory, a .eml file, or a PDF/DOCX/ODT document.\n"
    document = tmp_path / "p.pdf"
    document.write_bytes(pdf_bytes(["x"]))
    result = run(config_file, "archive", "import", str(document), "--meeting", "Herbst")
    assert result.output == 'Error: unknown meeting "Herbst"; give a quarter like 2024-Q3 or a date like 2024-09-12.\n'


def test_list_shows_meetings_with_minutes_and_missing_ones(filed, config_file):
    result = run(config_file, "archive", "list", "--year", "2024", "--json")
    entries = {entry["meeting"]: entry for entry in json.loads(result.output)}
    assert entries["2024-Q3"]["minutes"] == "protokoll-2024-q3@juechen.example"
    assert entries["2024-Q3"]["host"] == "Jüchen"
    assert entries["2024-Q1"]["minutes"] is None and entries["2024-Q1"]["flags"] == ["missing"]
    assert set(entries["2024-Q1"]) >= {"meeting", "date", "host", "minutes", "flags"}
    text = run(config_file, "archive", "list", "--year", "2024").output
    assert "2024-Q1" in text and "MISSING" in text
    only = json.loads(run(config_file, "archive", "list", "--minutes", "--json").output)
    assert [entry["meeting"] for entry in only] == ["2024-Q3"]


def test_reindex_rebuilds_with_a_progress_bar(filed, config_file, config):
    import shutil

    before = run(config_file, "search", "Radverkehr", "--json").output
    shutil.rmtree(config.index_dir)
    missing = run(config_file, "search", "Radverkehr")
    assert missing.exit_code == 1
    assert missing.output == f"Error: there is no search index in {config.index_dir}; rebuild it with: akn-mail archive reindex\n"
    result = run(config_file, "archive", "reindex")
    assert result.exit_code == 0
    assert result.stdout == f"Indexed 2 messages into {config.index_dir}.\n"
    assert run(config_file, "search", "Radverkehr", "--json").output == before


def test_search_as_a_real_process(filed, config_file):
    completed = subprocess.run(
        [sys.executable, "-m", "akn_mail", "--config", str(config_file), "search", "Waerme", "--json"],
        capture_output=True, text=True, timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    assert [hit["id"] for hit in json.loads(completed.stdout)] == [filed["minutes"]]


def test_export_needs_either_an_id_and_a_directory_or_an_mbox(filed, config_file, tmp_path):
    result = run(config_file, "archive", "export", str(filed["post"]))
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == "Error: give ID --to DIR (one message) or --mbox FILE (the whole archive)."
    result = run(config_file, "archive", "export", str(filed["post"]), "--mbox", str(tmp_path / "x.mbox"))
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == "Error: give either ID --to DIR or --mbox FILE, not both."
    (tmp_path / "exists.mbox").write_text("From x\n")
    result = run(config_file, "archive", "export", "--mbox", str(tmp_path / "exists.mbox"))
    assert (result.exit_code, result.output) == (
        1, f"Error: {tmp_path / 'exists.mbox'} exists already; give a new file name with --mbox (export never overwrites files).\n")


def test_imported_minutes_keep_their_history(config, config_file, database, tmp_path):
    """Issue 12, item 8: old minutes are dated by their meeting and sent by their author, so
    --since/--until, date: and --host find them without a reindex."""
    rotation = setup_roster(database, start="2026-Q1")
    rotation.record("2026-Q3", "Jüchen", "2026-09-10", today=datetime.date(2026, 10, 1))
    document = tmp_path / "Protokoll_Jüchen.pdf"
    document.write_bytes(pdf_bytes(["Photovoltaik auf kommunalen Dächern"]))
    result = run(config_file, "archive", "import", str(document), "--meeting", "2026-Q3", "--from", "clara@juechen.example")
    assert result.exit_code == 0, result.output
    found = json.loads(run(config_file, "search", "Photovoltaik", "--until", "2026-10-01", "--json").output)
    assert [(hit["date"][:10], hit["from"], hit["meeting"], hit["host"]) for hit in found] == [
        ("2026-09-10", "Kontakt Jüchen <clara@juechen.example>", "2026-Q3", "Jüchen")
    ]
    assert json.loads(run(config_file, "search", "Photovoltaik", "--since", "2026-10-02", "--json").output) == []
    assert len(json.loads(run(config_file, "search", "Photovoltaik date:2026-09-10", "--json").output)) == 1
    assert len(json.loads(run(config_file, "search", "Photovoltaik", "--host", "Juechen", "--json").output)) == 1
    # A quarter without a recorded or planned date: its last day; --date wins over both.
    other = tmp_path / "Protokoll_alt.odt"
    other.write_bytes(odt_bytes("Radverkehr", ["Radverkehrskonzept beschlossen."]))
    run(config_file, "archive", "import", str(other), "--meeting", "2026-Q2")
    assert json.loads(run(config_file, "search", "Radverkehrskonzept", "--json").output)[0]["date"][:10] == "2026-06-30"
    third = tmp_path / "Protokoll_drei.odt"
    third.write_bytes(odt_bytes("Wärme", ["Wärmepumpen im Bestand."]))
    run(config_file, "archive", "import", str(third), "--meeting", "10.02.2026", "--date", "12.02.2026")
    assert json.loads(run(config_file, "search", "Wärmepumpen", "--json").output)[0]["date"][:10] == "2026-02-12"


@pytest.mark.parametrize("query", ["NOT NOT x", "NOT NOT NOT Radverkehr", "Radverkehr NOT NOT", "x^^2", "subject:(", "a~~b",
                                   "Wärme* NOT NOT *", "((NOT x))", "[a TO", "x AND NOT NOT y"])
def test_every_query_parser_failure_is_one_error_line(filed, config_file, query):
    result = run(config_file, "search", query)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code in (0, 1), result.output
    if result.exit_code == 1:
        assert result.output.startswith("Error: ") and result.output.count("\n") == 1, result.output


def test_not_not_is_a_one_line_error(filed, config_file):
    result = run(config_file, "search", "NOT NOT x")
    assert result.exit_code == 1
    assert result.output.startswith("Error: query syntax error: cannot read the query"), result.output
