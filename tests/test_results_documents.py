"""Results from real minutes documents (PDF, DOCX and ODT with tables, plain text), filed
with ``archive import``, listed and corrected with ``akn-mail results``."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ROSTER_CSV

from akn_mail.cli import cli

JUDGED = Path(__file__).resolve().parent.parent / "bench" / "minutes_judged"


def run(config_file: Path, *args: str, code: int = 0):
    result = CliRunner().invoke(cli, ["--config", str(config_file), *args])
    assert result.exit_code == code, result.output
    return result.output


@pytest.fixture
def alliance(config_file, database):
    run(config_file, "roster", "import", str(ROSTER_CSV))
    run(config_file, "rotation", "start", "2027-Q1", "--host", "Kaarst")
    return config_file


def lines_of(name: str) -> list[str]:
    return (JUDGED / name).read_text(encoding="utf-8").splitlines()


def docx_with_tables(lines: list[str]) -> bytes:
    """Lines with " | " become rows of a real Word table, the others paragraphs."""
    import docx

    document = docx.Document()
    rows: list[list[str]] = []

    def flush():
        if rows:
            table = document.add_table(rows=len(rows), cols=len(rows[0]))
            for r, cells in enumerate(rows):
                for c, cell in enumerate(cells):
                    table.cell(r, c).text = cell
            rows.clear()

    for line in lines:
        if " | " in line:
            rows.append([cell.strip() for cell in line.split("|")])
            continue
        flush()
        if line.startswith("TOP "):
            document.add_heading(line, level=2)
        elif line.strip():
            document.add_paragraph(line)
    flush()
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def odt_with_tables(lines: list[str]) -> bytes:
    from odf.opendocument import OpenDocumentText
    from odf.table import Table, TableCell, TableColumn, TableRow
    from odf.text import H, P

    document = OpenDocumentText()
    table = None
    for line in lines:
        if " | " in line:
            cells = [cell.strip() for cell in line.split("|")]
            if table is None:
                table = Table(name=f"Tabelle{len(document.text.childNodes)}")
                table.addElement(TableColumn(numbercolumnsrepeated=len(cells)))
                document.text.addElement(table)
            row = TableRow()
            for cell in cells:
                element = TableCell()
                element.addElement(P(text=cell))
                row.addElement(element)
            table.addElement(row)
            continue
        table = None
        if line[:2].strip().isdigit() and line[1:3].startswith(".") or line[:3].strip().rstrip(".").isdigit():
            document.text.addElement(H(outlinelevel=2, text=line))
        elif line.strip():
            document.text.addElement(P(text=line))
    buffer = io.BytesIO()
    document.write(buffer)
    return buffer.getvalue()


def pdf_of(lines: list[str]) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    font = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
    if Path(font).exists():
        pdf.add_font("dejavu", fname=font)
        pdf.set_font("dejavu", size=10)
    else:
        pdf.set_font("helvetica", size=10)
        lines = [line.replace("–", "-").replace("„", '"').replace("“", '"') for line in lines]
    for line in lines:
        pdf.multi_cell(0, 5, line or " ", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def imported(alliance, tmp_path, name: str, data: bytes, meeting: str) -> list[dict]:
    path = tmp_path / name
    path.write_bytes(data)
    run(alliance, "archive", "import", str(path), "--meeting", meeting)
    return json.loads(run(alliance, "results", "list", "--meeting", meeting, "--json"))


def summary(results: list[dict]) -> list[tuple]:
    return [(r["kind"], r["top"].split(":")[0], r["member"], r["due"]) for r in results]


def test_docx_with_a_result_table(alliance, tmp_path):
    results = imported(alliance, tmp_path, "Protokoll_AKN.docx", docx_with_tables(lines_of("01_table.txt")), "2027-Q1")
    assert summary(results) == [
        ("decision", "TOP 1", None, None),
        ("task", "TOP 3", "Rhein-Kreis Neuss", "2027-06-30"),
        ("decision", "TOP 4", None, None),
        ("task", "TOP 5", "EnergieAgentur.NRW", "2027-03-31"),
    ]
    assert all(r["archive_id"] == results[0]["archive_id"] and r["meeting"] == "2027-Q1" for r in results)
    assert [r["position"] for r in results] == [1, 2, 3, 4]


def test_odt_with_numbered_sections_and_result_tables(alliance, tmp_path):
    results = imported(alliance, tmp_path, "Ergebnisprotokoll.odt", odt_with_tables(lines_of("03_numbered.txt")), "2027-Q3")
    tasks = [(r["top"].split(":")[0], r["member"], r["due"]) for r in results if r["kind"] == "task"]
    assert tasks == [("TOP 2", "Dormagen", "2027-10-31"), ("TOP 3", "Korschenbroich", "2027-12-31"),
                     ("TOP 4", "Rommerskirchen", None)]  # "zur nächsten Sitzung": no later meeting is dated yet
    assert results[-1]["due_text"] == "zur nächsten Sitzung"
    assert {r["text"] for r in results if r["kind"] == "decision"} >= {
        "Die Kommunen tauschen ihre Leistungsverzeichnisse untereinander aus.",
        "Die Allianz empfiehlt, die Indikatoren jährlich zu erheben."}


def test_pdf_with_sachstand_diskussion_beschluss_blocks(alliance, tmp_path):
    run(alliance, "rotation", "plan", "2027-Q2", "--date", "2027-06-16")
    run(alliance, "rotation", "plan", "2027-Q3", "--date", "2027-09-15")
    results = imported(alliance, tmp_path, "Niederschrift.pdf", pdf_of(lines_of("02_blocks.txt")), "2027-Q2")
    assert summary(results) == [
        ("task", "TOP 2", "Grevenbroich", "2027-09-30"),
        ("decision", "TOP 3", None, None),
        ("task", "TOP 5", "Jüchen", "2027-09-15"),  # "zur nächsten Sitzung": the planned Q3 meeting
    ]


def test_plain_text_bullets_with_abbreviations(alliance, tmp_path):
    text = "\n".join(lines_of("04_bullets.txt")).encode("utf-8")
    results = imported(alliance, tmp_path, "Kurzprotokoll_2027-12-08.txt", text, "2027-Q4")
    assert [(r["kind"], r["member"], r["due"]) for r in results if r["kind"] == "task"] == [
        ("task", "Rhein-Kreis Neuss", "2028-01-31"), ("task", None, "2028-01-15"), ("task", "Grevenbroich", "2028-03-31")]
    assert next(r for r in results if r["due"] == "2028-01-15")["responsible"] == "alle"


def test_results_commands_track_a_task_until_done(alliance, tmp_path):
    results = imported(alliance, tmp_path, "Protokoll_AKN.docx", docx_with_tables(lines_of("01_table.txt")), "2027-Q1")
    task = next(r for r in results if r["member"] == "Rhein-Kreis Neuss")
    listed = run(alliance, "results", "list", "--open", "--member", "Rhein-Kreis Neuss")
    assert "Leitfaden" in listed and f"#{task['archive_id']}" in listed
    assert run(alliance, "results", "done", str(task["id"])).startswith(f"Task {task['id']} is done")
    assert "Leitfaden" not in run(alliance, "results", "list", "--open")
    assert run(alliance, "results", "done", str(task["id"]), code=1).startswith(f"Error: task {task['id']} is done already")
    decision = next(r for r in results if r["kind"] == "decision")
    assert run(alliance, "results", "done", str(decision["id"]), code=1).startswith(
        f"Error: result {decision['id']} is a decision; only tasks are done.")
    assert run(alliance, "results", "done", "999", code=1).strip() == (
        "Error: no result with ID 999; see the IDs with: akn-mail results list")
    assert run(alliance, "results", "list", "--member", "Juchen", code=1).strip() == (
        'Error: no member named "Juchen". Did you mean "Jüchen"?')

    added = run(alliance, "results", "add", "Aufgabe Entwurf Förderantrag Zuständig Neuss bis 30.06.2027", "--meeting", "2027-Q1")
    assert added.startswith("Added task")
    new = json.loads(run(alliance, "results", "list", "--member", "Neuss", "--json"))
    assert [(r["text"], r["due"], r["origin"], r["position"]) for r in new] == [("Entwurf Förderantrag", "2027-06-30", "cli", 5)]
    changed = run(alliance, "results", "edit", str(new[0]["id"]), "--member", "Kaarst", "--due", "Ende Q3")
    assert "[Kaarst]" in changed and "due 2027-09-30" in changed
    assert run(alliance, "results", "edit", str(new[0]["id"]), code=1).startswith("Error: nothing to change")
    assert run(alliance, "results", "add", "x", "--meeting", "Q5", code=1).startswith('Error: unknown meeting "Q5"')


def test_a_new_version_of_the_minutes_replaces_the_results_but_keeps_corrections(alliance, tmp_path):
    first = imported(alliance, tmp_path, "v1.docx", docx_with_tables(lines_of("01_table.txt")), "2027-Q1")
    by_top = {r["top"].split(":")[0]: r for r in first}
    run(alliance, "results", "strike", str(by_top["TOP 4"]["id"]))  # the host says this is no result
    run(alliance, "results", "edit", str(by_top["TOP 3"]["id"]), "--due", "31.07.2027")
    run(alliance, "results", "done", str(by_top["TOP 5"]["id"]))
    lines = lines_of("01_table.txt")
    lines.insert(-1, "7 | Mobilität | Gemeinsame Mobilitätsumfrage im Herbst | Meerbusch | 30.11.2027")
    second = imported(alliance, tmp_path, "v2.docx", docx_with_tables(lines), "2027-Q1")
    assert [(r["top"].split(":")[0], r["status"], r["due"]) for r in second] == [
        ("TOP 1", "decided", None), ("TOP 3", "open", "2027-07-31"), ("TOP 5", "done", "2027-03-31"),
        ("TOP 7", "open", "2027-11-30")]
    assert {r["archive_id"] for r in second if r["origin"] == "minutes"} == {second[-1]["archive_id"]}
    assert second[-1]["archive_id"] != first[0]["archive_id"]
