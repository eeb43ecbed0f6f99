"""``akn-mail recipient``: read-only recipients of a member (minutes, results), not contacts."""

from __future__ import annotations

import json

import click

from akn_mail.cli.app import App
from akn_mail.cli.output import table


def _recipients(app: App):
    from akn_mail.roster.recipients import Recipients

    return Recipients(app.db, app.roster)


@click.group()
def recipient() -> None:
    """Read-only recipients of a member: they get the minutes and results, never post.

    \b
        akn-mail recipient add buergermeister@kaarst.example --member Kaarst --gets minutes
        akn-mail recipient list
    """


@recipient.command("add")
@click.argument("address")
@click.option("--member", required=True, help="The administration the recipient belongs to.")
@click.option("--name", default="", help="Who it is, e.g. \"Bürgermeisterbüro\".")
@click.option("--gets", type=click.Choice(["minutes", "results", "all"]), default="all", show_default=True,
              help="minutes: the minutes when filed; results: a monthly summary of results; all: both.")
@click.pass_obj
def add(app: App, address: str, member: str, name: str, gets: str) -> None:
    """Add ADDRESS as a read-only recipient of MEMBER (not a contact; not counted against the two).

    \b
        akn-mail recipient add fb-umwelt@kaarst.example --member Kaarst --name "Fachbereich Umwelt" --gets all
    """
    found = _recipients(app).add(address, member, name, gets)
    click.echo(f"Added {found.email} as a recipient of {found.member_name} (gets {found.gets}).")


@recipient.command("remove")
@click.argument("address")
@click.pass_obj
def remove(app: App, address: str) -> None:
    """Remove the recipient ADDRESS.

    \b
        akn-mail recipient remove fb-umwelt@kaarst.example
    """
    found = _recipients(app).remove(address)
    click.echo(f"Removed {found.email} (recipient of {found.member_name}).")


@recipient.command("list")
@click.option("--member", help="Only this member's recipients.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list (fields in the README).")
@click.pass_obj
def list_recipients(app: App, member: str | None, as_json: bool) -> None:
    """List the recipients, by member in German alphabetical order.

    \b
        akn-mail recipient list --json
    """
    found = _recipients(app).list(member)
    if as_json:
        click.echo(json.dumps([r.as_json() for r in found], ensure_ascii=False, indent=2))
        return
    if not found:
        click.echo("No recipients.")
        return
    click.echo(table([("Member", "Address", "Name", "Gets")] + [(r.member_name, r.email, r.name or "-", r.gets) for r in found]))
