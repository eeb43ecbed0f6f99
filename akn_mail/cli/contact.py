"""``akn-mail contact``: the people who speak for a member (one or two per member)."""

from __future__ import annotations

import json

import click

from akn_mail.cli.app import App
from akn_mail.cli.output import table


def _warn_if_no_contact(app: App, member_name: str) -> None:
    """A member names one or two contacts; say so when one is left without any."""
    if not app.roster.contacts(member_name):
        click.echo(
            f"Note: {member_name} has no contact now; add one with: akn-mail contact add EMAIL --member \"{member_name}\"",
            err=True,
        )


@click.group()
def contact() -> None:
    """Add, remove, move and list contacts; switch their delivery on or off.

    \b
        akn-mail contact add m.schaefer@juechen.example --member "Jüchen" --name "Markus Schäfer"
        akn-mail contact list
    """


@contact.command("add")
@click.argument("email")
@click.option("--member", "member_name", required=True, help="The member (administration) the contact speaks for.")
@click.option("--name", default="", help="The person's name, as shown in mails.")
@click.pass_obj
def add_contact(app: App, email: str, member_name: str, name: str) -> None:
    """Add EMAIL as a contact of a member (one or two per member).

    \b
        akn-mail contact add m.schaefer@juechen.example --member "Jüchen" --name "Markus Schäfer"
    """
    added = app.roster.add_contact(member_name, email, name)
    click.echo(f"Added {added.email} to {added.member_name}.")
    if app.notices.welcome(added):  # the welcome mail (templates/*/welcome.txt), through the delivery queue
        click.echo(f"Welcome mail to {added.email} queued.")


@contact.command("remove")
@click.argument("email")
@click.pass_obj
def remove_contact(app: App, email: str) -> None:
    """Remove the contact EMAIL from the roster.

    \b
        akn-mail contact remove klima@kaarst.example
    """
    removed = app.roster.remove_contact(email)
    click.echo(f"Removed {removed.email} from {removed.member_name}.")
    _warn_if_no_contact(app, removed.member_name)
    if app.notices.farewell(removed):  # the farewell mail (templates/*/farewell.txt)
        click.echo(f"Farewell mail to {removed.email} queued.")


@contact.command("move")
@click.argument("email")
@click.option("--to", "member_name", required=True, help="The member the contact speaks for from now on.")
@click.pass_obj
def move_contact(app: App, email: str, member_name: str) -> None:
    """Move the contact EMAIL to another member.

    \b
        akn-mail contact move a.demir@grevenbroich.example --to "Jüchen"
    """
    before = app.roster.contact(email).member_name
    moved = app.roster.move_contact(email, member_name)
    click.echo(f"Moved {moved.email} to {moved.member_name}.")
    _warn_if_no_contact(app, before)


@contact.command("set")
@click.argument("email")
@click.option("--name", required=True, help="The person's name, as shown in mails.")
@click.pass_obj
def set_contact(app: App, email: str, name: str) -> None:
    """Change the name of the contact EMAIL.

    \b
        akn-mail contact set klima@kaarst.example --name "Sabine Krüger"
    """
    changed = app.roster.update_contact(email, name)
    click.echo(f"{changed.email} is now named \"{changed.name}\".")


@contact.command("list")
@click.option("--member", "member_name", default=None, help="Only the contacts of this member.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array (fields in the README).")
@click.pass_obj
def list_contacts(app: App, member_name: str | None, as_json: bool) -> None:
    """Contacts with their member and delivery state.

    \b
        akn-mail contact list
        akn-mail contact list --member Neuss --json
    """
    from akn_mail.delivery.bounces import Bounces
    from akn_mail.roster.roster_file import contact_json

    contacts = app.roster.contacts(member_name)
    if as_json:
        bounces = Bounces(app.db, app.config, app.notices)
        items = [contact_json(item) | {"bounce_score": bounces.score(item.email),
                                       "last_bounce": bounces.last_bounce(item.email)} for item in contacts]
        click.echo(json.dumps(items, ensure_ascii=False, indent=2))
        return
    if not contacts:
        click.echo("No contacts yet. Add one with: akn-mail contact add EMAIL --member NAME")
        return
    rows = [["EMAIL", "NAME", "MEMBER", "DELIVERY"]]
    for item in contacts:
        delivery = "on" if item.delivery_enabled else "off" + (f" ({item.disabled_reason})" if item.disabled_reason else "")
        rows.append([item.email, item.name or "-", item.member_name, delivery])
    click.echo(table(rows))


@contact.command("enable", short_help="Switch list delivery back on.")
@click.argument("email")
@click.pass_obj
def enable_contact(app: App, email: str) -> None:
    """Switch list delivery to EMAIL back on (e.g. after bounces were fixed).

    \b
        akn-mail contact enable klima@kaarst.example
    """
    changed = app.roster.set_delivery(email, True)
    click.echo(f"Delivery to {changed.email} is on.")


@contact.command("disable", short_help="Stop list delivery to a contact.")
@click.argument("email")
@click.option("--reason", default="", help="Why (shown in 'contact list').")
@click.pass_obj
def disable_contact(app: App, email: str, reason: str) -> None:
    """Stop list delivery to EMAIL; it stays on the roster and may still post.

    \b
        akn-mail contact disable klima@kaarst.example --reason "mailbox full for weeks"
    """
    changed = app.roster.set_delivery(email, False, reason)
    click.echo(f"Delivery to {changed.email} is off.")
