"""``akn-mail report YEAR``: the Jahresbericht of the alliance (Markdown, HTML or PDF, with charts)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from akn_mail.cli.app import App


@click.command()
@click.argument("year", type=int)
@click.option("--format", "file_format", type=click.Choice(["md", "html", "pdf"]), default=None,
              help="md, html or pdf (default: from the -o file's suffix, else md).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the report to FILE; the charts go beside it as FILE-*.png/.svg.")
@click.pass_obj
def report(app: App, year: int, file_format: str | None, output: str | None) -> None:
    """Write the Jahresbericht of YEAR: meetings and hosts, topics, decisions, tasks, members, posts.

    \b
        akn-mail report 2026 -o jahresbericht-2026.pdf
        akn-mail report 2026 --format md -o jahresbericht-2026.md
    """
    from akn_mail.report.charts import draw
    from akn_mail.report.data import year_report
    from akn_mail.report.render import html_page, markdown, pdf_bytes

    if not 2000 <= year <= dt.date.today().year + 1:
        raise click.ClickException(f"{year} is not a year of the alliance; give a year like {dt.date.today().year}.")
    path = Path(output) if output else None
    if file_format is None:
        suffix = path.suffix.lower().lstrip(".") if path else ""
        file_format = {"md": "md", "markdown": "md", "html": "html", "htm": "html", "pdf": "pdf"}.get(suffix, "md")
    if file_format == "pdf" and path is None:
        raise click.ClickException("a PDF needs a file: add -o jahresbericht.pdf")
    if path is not None and not path.parent.is_dir():
        raise click.ClickException(f"the directory {path.parent} does not exist; create it or write elsewhere.")
    data = year_report(app.db, year)
    description = app.config.list.description
    charts = draw(data, path.with_suffix("")) if path is not None else []
    if file_format == "md":
        text = markdown(data, description, charts)
    elif file_format == "html":
        text = html_page(data, description, charts)
    else:
        path.write_bytes(pdf_bytes(data, description, charts))
        click.echo(f"Wrote {path} ({len(data.meetings)} meetings, {len(charts) // 2} charts).")
        return
    if path is None:
        click.echo(text)
        return
    path.write_text(text, encoding="utf-8")
    click.echo(f"Wrote {path} ({len(data.meetings)} meetings, {len(charts) // 2} charts).")
