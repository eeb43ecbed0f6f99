"""``akn-mail person``: what is stored about one person, and erasing it (DSGVO Art. 15, 17)."""

from __future__ import annotations

import json

import click

from akn_mail.cli.app import App


@click.group()
def person() -> None:
    """Export or erase what is stored about one person (DSGVO).

    \b
        akn-mail person export anna@dormagen.example > anna.json
        akn-mail person erase anna@dormagen.example
        akn-mail person erase anna@dormagen.example --archive redact
    """


@person.command("export")
@click.argument("address")
@click.pass_obj
def export(app: App, address: str) -> None:
    """Print as JSON everything stored about ADDRESS (roster, deliveries, bounces, held mail, tasks, posts).

    \b
        akn-mail person export anna@dormagen.example > auskunft-anna.json
    """
    from akn_mail.records import person as persons

    click.echo(json.dumps(persons.export(app.db, persons.parse_address(address)), ensure_ascii=False, indent=2))


@person.command("erase")
@click.argument("address")
@click.option("--archive", "archive_mode", type=click.Choice(["keep", "redact"]), default="keep", show_default=True,
              help="keep: the archived posts stay as received (the record of a public body); "
                   "redact: replace the person's name and address in their headers.")
@click.pass_obj
def erase(app: App, address: str, archive_mode: str) -> None:
    """Remove ADDRESS from the roster, queue, bounce events, held mail and tasks; log the erasure.

    The erasure log (<data_dir>/erasure.log) names the person only by a salted hash.

    \b
        akn-mail person erase anna@dormagen.example
        akn-mail person erase anna@dormagen.example --archive redact
    """
    from akn_mail.records import person as persons

    archive = app.archive if archive_mode == "redact" else None
    result = persons.erase(app.config, app.db, persons.parse_address(address), archive_mode, archive=archive)
    click.echo(f"Erased {persons.parse_address(address).lower()} (logged as {result.address_hash}):")
    lines = result.lines()
    for line in lines:
        click.echo(line)
    if not any(result.removed.values()) and not result.archived_posts:
        click.echo("  nothing was stored about this address")
