"""``akn-mail member``: the organisations of the alliance, their joining and leaving."""

from __future__ import annotations

import datetime
import json

import click

from akn_mail.cli.app import App
from akn_mail.cli.meeting import send_updates
from akn_mail.cli.output import DRY_RUN, echo_report, table

KIND_CHOICE = click.Choice(["municipality", "county", "advisor"], case_sensitive=False)



def _date(value: str | None) -> datetime.date | None:
    if value is None:
        return None
    from akn_mail.roster.quarter import parse_date

    return parse_date(value)


@click.group()
def member() -> None:
    """List, add and change members (municipalities, the county, the advisor).

    \b
        akn-mail member list
        akn-mail member add "Jüchen" --kind municipality
        akn-mail member leave "Kaarst" --on 2026-12-31
    """


@member.command("list", short_help="List members with their contacts.")
@click.option("--current", is_flag=True, help="Only members of today (leave out former members).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object (fields in the README).")
@click.pass_obj
def list_members(app: App, current: bool, as_json: bool) -> None:
    """Members with kind, hosts yes/no, joined/left dates and contacts.

    \b
        akn-mail member list
        akn-mail member list --current --json
    """
    from akn_mail.roster.roster_file import roster_json

    data = roster_json(app.roster)
    if current:
        data["members"] = [item for item in data["members"] if item["current"]]
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    if not data["members"]:
        click.echo("No members yet. Add some with: akn-mail roster import roster.csv")
        return
    rows = [["MEMBER", "KIND", "HOSTS", "JOINED", "LEFT", "CONTACTS"]]
    for item in data["members"]:
        contacts = ", ".join(
            contact["email"] + ("" if contact["delivery_enabled"] else " (disabled)") for contact in item["contacts"]
        )
        rows.append([
            item["name"], item["kind"], "yes" if item["hosts"] else "no", item["joined"] or "-", item["left"] or "-",
            contacts or "-",
        ])
    click.echo(table(rows))


@member.command("add", short_help="Add a member.")
@click.argument("name")
@click.option("--kind", type=KIND_CHOICE, default="municipality", show_default=True, help="What kind of organisation.")
@click.option("--host/--no-host", "hosts", default=None,
              help="Whether it takes turns hosting (default: yes, except for the advisor, who never hosts).")
@click.option("--joined", metavar="YYYY-MM-DD", help="First day of membership (default: today).")
@DRY_RUN
@click.pass_obj
def add_member(app: App, name: str, kind: str, hosts: bool | None, joined: str | None, dry_run: bool) -> None:
    """Add NAME as a member; it takes its alphabetical place in the rotation.

    \b
        akn-mail member add "Jüchen" --kind municipality --joined 2021-03-01
        akn-mail member add "Rhein-Kreis Neuss" --kind county --no-host
    """
    with app.rotation.tracking(dry_run) as report:
        added = app.roster.add_member(name, kind.lower(), hosts, _date(joined) or datetime.date.today())
    click.echo(f"Added {added.name} ({added.kind}, hosts: {'yes' if added.hosts else 'no'}, joined {added.joined}).")
    if not dry_run:
        send_updates(app)
    echo_report(report)
    if not dry_run and app.notices.member_joined(added):  # a note to the list (templates/*/member_joined.txt)
        click.echo("Note to the list queued.")


@member.command("leave", short_help="End a membership (history is kept).")
@click.argument("name")
@click.option("--on", "on", metavar="YYYY-MM-DD", help="Last day of membership (default: today).")
@DRY_RUN
@click.pass_obj
def leave_member(app: App, name: str, on: str | None, dry_run: bool) -> None:
    """End the membership of NAME; the history and its contacts are kept.

    From the first quarter it is no longer a member of for the whole quarter, the rotation
    passes it by.

    \b
        akn-mail member leave "Kaarst" --on 2026-12-31
    """
    with app.rotation.tracking(dry_run) as report:
        left = app.roster.leave(name, _date(on))
    click.echo(f"{left.name} is a member until {left.left}.")
    if not dry_run:
        send_updates(app)
    echo_report(report)
    if not dry_run and app.notices.member_left(left):  # a note to the list (templates/*/member_left.txt)
        click.echo("Note to the list queued.")


@member.command("join")
@click.argument("name")
@click.option("--on", "on", metavar="YYYY-MM-DD", help="First day of the new membership (default: today).")
@DRY_RUN
@click.pass_obj
def join_member(app: App, name: str, on: str | None, dry_run: bool) -> None:
    """Re-join NAME, a former member (a new period of membership).

    \b
        akn-mail member join "Kaarst" --on 2027-07-01
    """
    with app.rotation.tracking(dry_run) as report:
        joined = app.roster.join(name, _date(on))
    click.echo(f"{joined.name} is a member again from {joined.joined}.")
    if not dry_run:
        send_updates(app)
    echo_report(report)
    if not dry_run and app.notices.member_joined(joined):  # a note to the list (templates/*/member_joined.txt)
        click.echo("Note to the list queued.")


@member.command("set", short_help="Change the kind or the hosts flag.")
@click.argument("name")
@click.option("--kind", type=KIND_CHOICE, default=None, help="Change the kind of organisation.")
@click.option("--host/--no-host", "hosts", default=None, help="Whether it takes turns hosting.")
@DRY_RUN
@click.pass_obj
def set_member(app: App, name: str, kind: str | None, hosts: bool | None, dry_run: bool) -> None:
    """Change the kind or the hosts flag of NAME (e.g. whether the county hosts).

    \b
        akn-mail member set "Rhein-Kreis Neuss" --host
    """
    if kind is None and hosts is None:
        raise click.UsageError("nothing to change; give --kind or --host/--no-host.")
    with app.rotation.tracking(dry_run) as report:
        changed = app.roster.update_member(name, kind.lower() if kind else None, hosts)
    click.echo(f"{changed.name}: {changed.kind}, hosts: {'yes' if changed.hosts else 'no'}.")
    if not dry_run:
        send_updates(app)
    echo_report(report)


@member.command("remove", short_help="Delete a member added by mistake.")
@click.argument("name")
@click.pass_obj
def remove_member(app: App, name: str) -> None:
    """Delete NAME, a member added by mistake (one with contacts or meetings is kept;
    use 'member leave' for a member that stops).

    \b
        akn-mail member remove "Kaarst-Test"
    """
    found = app.roster.member(name)
    app.roster.remove_member(found.name)
    click.echo(f"Removed {found.name}.")
