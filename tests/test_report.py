"""``akn-mail report YEAR``: the Jahresbericht renders with charts, and its numbers are the database's."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from archive_support import mail
from click.testing import CliRunner
from conftest import ROSTER_CSV
from test_results_documents import docx_with_tables, lines_of

from akn_mail.archive.filing import Archive
from akn_mail.cli import cli

pytest.importorskip("matplotlib")


def run(config_file: Path, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(cli, ["--config", str(config_file), *args])
    assert result.exit_code == code, result.output
    return result.output


@pytest.fixture
def year(config, config_file, database, tmp_path):
    run(config_file, "roster", "import", str(ROSTER_CSV))
    run(config_file, "rotation", "start", "2026-Q1", "--host", "Dormagen")
    run(config_file, "rotation", "record", "2026-Q1", "--host", "Dormagen", "--date", "2026-03-04", "--place", "Rathaus Dormagen")
    run(config_file, "rotation", "record", "2026-Q2", "--host", "Grevenbroich", "--date", "2026-06-10")
    document = tmp_path / "Protokoll_2026-03-04.docx"
    document.write_bytes(docx_with_tables(lines_of("01_table.txt")))
    run(config_file, "archive", "import", str(document), "--meeting", "2026-Q1")
    archive = Archive(config, database)
    for number, (sender, day) in enumerate([("klimaschutz@dormagen.example", "2026-02-01"),
                                            ("klimaschutz@dormagen.example", "2026-05-02"),
                                            ("klima@kaarst.example", "2026-07-03"),
                                            ("klima@kaarst.example", "2025-12-30")]):
        archive.file(mail(f"Beitrag {number}", "Text.", sender=sender, date=day, message_id=f"p{number}@x.example"))
    task = json.loads(run(config_file, "results", "list", "--member", "EnergieAgentur.NRW", "--json"))[0]
    run(config_file, "results", "done", str(task["id"]))
    return config_file


def test_markdown_report_with_charts_and_the_databases_numbers(year, database, tmp_path):
    target = tmp_path / "bericht.md"
    assert run(year, "report", "2026", "-o", str(target)) == f"Wrote {target} (2 meetings, 2 charts).\n"
    for name in ("bericht-beitraege.png", "bericht-beitraege.svg", "bericht-aufgaben.png", "bericht-aufgaben.svg"):
        assert (tmp_path / name).stat().st_size > 1000
    assert (tmp_path / "bericht-beitraege.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = target.read_text(encoding="utf-8")
    decisions = database.execute("SELECT count(*) FROM results WHERE kind = 'decision' AND status != 'struck'").fetchone()[0]
    tasks = database.execute("SELECT count(*), sum(status = 'done') FROM results WHERE kind = 'task'").fetchone()
    posts = dict(database.execute("SELECT member_name, count(*) FROM archived_messages WHERE date LIKE '2026-%' "
                                  "AND source = 'list' GROUP BY member_name").fetchall())
    assert posts == {"Dormagen": 2, "Kaarst": 1}
    assert f"- Beschlüsse: {decisions}\n" in text and decisions == 2
    assert f"- Aufgaben: {tasks[0]} ({tasks[1]} erledigt, {tasks[0] - tasks[1]} offen)\n" in text
    assert "- Beiträge an die Liste: 3\n" in text
    assert "| 2026-Q1 | 04.03.2026 | Dormagen | Rathaus Dormagen | #1 |" in text
    assert "| 2026-Q2 | 10.06.2026 | Grevenbroich | – | fehlt |" in text
    assert "| Dormagen | 2 |" in text and "| Kaarst | 1 |" in text
    assert "| EnergieAgentur.NRW | 1 | 0 |" in text and "| Rhein-Kreis Neuss | 0 | 1 |" in text
    assert "| Kommunale Wärmeplanung | 1 |" in text
    assert "![bericht-beitraege](bericht-beitraege.png)" in text


def test_html_and_pdf(year, tmp_path):
    page = tmp_path / "bericht.html"
    run(year, "report", "2026", "-o", str(page))
    assert '<img src="bericht-aufgaben.svg"' in page.read_text(encoding="utf-8")
    pdf = tmp_path / "bericht.pdf"
    run(year, "report", "2026", "-o", str(pdf))
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf.read_bytes()))
    first = " ".join(reader.pages[0].extract_text().split())
    assert "Jahresbericht 2026" in first and "Sitzungen: 2" in first
    assert len(reader.pages) >= 3  # text, then one page per chart


def test_report_errors(year, tmp_path):
    assert run(year, "report", "2026", "--format", "pdf", code=1).strip() == "Error: a PDF needs a file: add -o jahresbericht.pdf"
    assert run(year, "report", "1999", code=1).startswith("Error: 1999 is not a year of the alliance")
    assert run(year, "report", "2026", "-o", str(tmp_path / "missing" / "x.md"), code=1).startswith(
        "Error: the directory")
