"""The Jahresbericht as Markdown, HTML or PDF (fpdf2), in German for the councils."""

from __future__ import annotations

import html
from pathlib import Path

from akn_mail.report.data import YearReport

FORMATS = ("md", "html", "pdf")


def _date(day) -> str:
    return day.strftime("%d.%m.%Y") if day else "–"


def sections(report: YearReport) -> list[tuple[str, list[str] | list[list[str]]]]:
    """(heading, lines or table rows) in the order of the report; tables start with their header row."""
    result: list[tuple[str, list]] = []
    summary = [
        f"Mitglieder zum Jahresende: {report.members}",
        f"Sitzungen: {len(report.meetings)}",
        f"Beschlüsse: {len(report.decisions)}",
        f"Aufgaben: {report.tasks_done + report.tasks_open} ({report.tasks_done} erledigt, {report.tasks_open} offen)",
        f"Beiträge an die Liste: {sum(report.posts.values())}",
    ]
    result.append(("Das Jahr in Zahlen", summary))
    result.append(("Sitzungen und Gastgeber", [["Sitzung", "Datum", "Gastgeber", "Ort", "Protokoll"]] + [
        [m.label, _date(m.date), m.host or "–", m.place or "–", f"#{m.minutes_id}" if m.minutes_id else "fehlt"]
        for m in report.meetings]))
    result.append(("Themen (häufigste TOP)", [["Thema", "Ergebnisse"]] + [[topic, str(count)] for topic, count in report.topics]))
    result.append(("Beschlüsse", [f"{meeting}: {text}" for meeting, text in report.decisions] or ["keine"]))
    result.append(("Aufgaben je Mitglied", [["Mitglied", "erledigt", "offen"]] + [
        [name, str(done), str(still)] for name, (done, still) in report.tasks.items()]))
    changes = [f"beigetreten: {name} ({_date(day)})" for name, day in report.joined]
    changes += [f"ausgetreten: {name} ({_date(day)})" for name, day in report.left]
    result.append(("Mitglieder", changes or ["keine Beitritte oder Austritte"]))
    result.append(("Beiträge je Mitglied", [["Mitglied", "Beiträge"]] + [[name, str(n)] for name, n in report.posts.items()]))
    return result


def title(report: YearReport, list_description: str) -> str:
    return f"Jahresbericht {report.year} – {list_description}"


def markdown(report: YearReport, list_description: str, charts: list[Path]) -> str:
    lines = [f"# {title(report, list_description)}", ""]
    for heading, body in sections(report):
        lines += [f"## {heading}", ""]
        if body and isinstance(body[0], list):
            if len(body) == 1:
                lines += ["keine", ""]
                continue
            lines.append("| " + " | ".join(body[0]) + " |")
            lines.append("| " + " | ".join("---" for _ in body[0]) + " |")
            lines += ["| " + " | ".join(cell.replace("|", "/") for cell in row) + " |" for row in body[1:]]
        else:
            lines += [f"- {line}" for line in body]
        lines.append("")
    for chart in charts:
        if chart.suffix == ".png":
            lines += [f"![{chart.stem}]({chart.name})", ""]
    return "\n".join(lines)


def html_page(report: YearReport, list_description: str, charts: list[Path]) -> str:
    escape = html.escape
    parts = ["<!DOCTYPE html>", '<html lang="de"><head><meta charset="utf-8">',
             f"<title>{escape(title(report, list_description))}</title>",
             "<style>body{font-family:sans-serif;max-width:50em;margin:2em auto}table{border-collapse:collapse}"
             "td,th{border:1px solid #999;padding:.2em .5em;text-align:left}</style></head><body>",
             f"<h1>{escape(title(report, list_description))}</h1>"]
    for heading, body in sections(report):
        parts.append(f"<h2>{escape(heading)}</h2>")
        if body and isinstance(body[0], list):
            if len(body) == 1:
                parts.append("<p>keine</p>")
                continue
            parts.append("<table><tr>" + "".join(f"<th>{escape(c)}</th>" for c in body[0]) + "</tr>")
            parts += ["<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in body[1:]]
            parts.append("</table>")
        else:
            parts.append("<ul>" + "".join(f"<li>{escape(line)}</li>" for line in body) + "</ul>")
    for chart in charts:
        if chart.suffix == ".svg":
            parts.append(f'<p><img src="{escape(chart.name)}" alt="{escape(chart.stem)}"></p>')
    parts.append("</body></html>")
    return "\n".join(parts)


def pdf_bytes(report: YearReport, list_description: str, charts: list[Path]) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    font = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    if font.exists():
        pdf.add_font("dejavu", fname=str(font))
        family, clean = "dejavu", (lambda text: text)
    else:  # the core font knows Latin-1 only (ä, ö, ü, ß are in it)
        family = "helvetica"
        clean = lambda text: text.replace("–", "-").replace("„", '"').replace("“", '"').encode("latin-1", "replace").decode("latin-1")  # noqa: E731
    pdf.set_font(family, size=16)
    pdf.multi_cell(0, 8, clean(title(report, list_description)), new_x="LMARGIN", new_y="NEXT")
    for heading, body in sections(report):
        pdf.ln(3)
        pdf.set_font(family, size=13)
        pdf.multi_cell(0, 7, clean(heading), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(family, size=10)
        if body and isinstance(body[0], list):
            rows = body[1:] or [["keine"]]
            if body[1:]:
                pdf.multi_cell(0, 5, clean("  |  ".join(body[0])), new_x="LMARGIN", new_y="NEXT")
            for row in rows:
                pdf.multi_cell(0, 5, clean("  |  ".join(row)), new_x="LMARGIN", new_y="NEXT")
        else:
            for line in body:
                pdf.multi_cell(0, 5, clean(f"- {line}"), new_x="LMARGIN", new_y="NEXT")
    for chart in charts:
        if chart.suffix == ".png":
            pdf.add_page()
            pdf.image(str(chart), w=180)
    return bytes(pdf.output())
