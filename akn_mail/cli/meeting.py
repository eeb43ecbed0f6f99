"""``akn-mail meeting``: invitations to the meetings, their agenda, and who comes."""

from __future__ import annotations

import json

import click

from akn_mail.cli.app import App
from akn_mail.cli.output import table


@click.group()
def meeting() -> None:
    """Invite every contact to a meeting, collect its agenda, and see who comes.

    A meeting is named by its quarter (the regular meeting) or by its date (an extra one).

    \b
        akn-mail meeting invite 2027-Q1
        akn-mail meeting agenda 2027-Q1 --add "Kommunale Wärmeplanung"
        akn-mail meeting attendance 2027-Q1
    """


def _describe(sent) -> str:
    what = {"invitation": "Invitation", "update": "Update", "cancel": "Cancellation"}[sent.kind]
    verb = "would be sent" if sent.status == "would send" else "queued"
    return (f"{what} of {sent.meeting} (UID {sent.uid}, SEQUENCE {sent.sequence}) {verb} "
            f"to {len(sent.recipients)} contact{'s' if len(sent.recipients) != 1 else ''}.")


def send_updates(app: App, dry_run: bool = False) -> None:
    """After a change of the rotation or the roster: mail the updates (or cancels) of meetings
    already invited. Called by the rotation and member commands."""
    for sent in app.services.invitations.send_updates(dry_run=dry_run):
        click.echo(_describe(sent))


@meeting.command("invite", short_help="Mail the invitation of a meeting to every contact.")
@click.argument("reference", metavar="QUARTER|DATE")
@click.option("--dry-run", is_flag=True, help="Say who would get the invitation; send nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print what was sent as JSON.")
@click.pass_obj
def invite(app: App, reference: str, dry_run: bool, as_json: bool) -> None:
    """Mail every contact the invitation to the meeting of QUARTER (or the extra meeting on DATE),
    with a calendar part Outlook, Thunderbird, Apple Calendar and Google show with
    Accept/Decline. Later changes of date, time, place or host send updates by themselves.

    \b
        akn-mail meeting invite 2027-Q1
        akn-mail meeting invite 2027-05-20 --dry-run
    """
    sent = app.services.invitations.invite(reference, dry_run=dry_run)
    if as_json:
        click.echo(json.dumps(sent.as_json(), ensure_ascii=False, indent=2))
        return
    click.echo(_describe(sent))
    if dry_run:
        click.echo("Dry run: nothing was sent.")


@meeting.command("agenda", short_help="Show or edit the agenda (Tagesordnung) of a meeting.")
@click.argument("reference", metavar="QUARTER|DATE")
@click.option("--add", "add", metavar="TITLE", default=None, help="Add an item at the end.")
@click.option("--remove", "remove", metavar="N", type=int, default=None, help="Remove item N.")
@click.option("--move", "move", nargs=2, type=int, metavar="N TO", default=None, help="Move item N to position TO.")
@click.option("--json", "as_json", is_flag=True, help="Print the items as JSON.")
@click.pass_obj
def agenda(app: App, reference: str, add: str | None, remove: int | None, move: tuple[int, int] | None,
           as_json: bool) -> None:
    """List the agenda items of the meeting (from [TOP] posts and --add), or edit them.

    \b
        akn-mail meeting agenda 2027-Q1
        akn-mail meeting agenda 2027-Q1 --add "Stadtradeln 2027"
        akn-mail meeting agenda 2027-Q1 --move 3 1
        akn-mail meeting agenda 2027-Q1 --remove 2
    """
    if sum(value is not None for value in (add, remove, move)) > 1:
        raise click.UsageError("give one of --add, --remove and --move at a time.")
    invitations = app.services.invitations
    entry = invitations.find(reference)
    meeting_id = entry.meeting_id
    if add is not None or remove is not None or move is not None:
        if meeting_id is None:
            meeting_id = app.rotation.ensure_meeting(entry.quarter)
        if add is not None:
            item = invitations.agenda.add(meeting_id, add)
            click.echo(f"Added TOP {item.position}: {item.title}")
        elif remove is not None:
            item = invitations.agenda.remove(meeting_id, remove)
            click.echo(f"Removed TOP {remove}: {item.title}")
        else:
            item = invitations.agenda.move(meeting_id, move[0], move[1])
            click.echo(f"Moved to TOP {item.position}: {item.title}")
        return
    items = invitations.agenda.items(meeting_id)
    if as_json:
        click.echo(json.dumps([item.as_json() for item in items], ensure_ascii=False, indent=2))
        return
    if not items:
        click.echo(f"The agenda of {entry.quarter if entry.kind == 'regular' else reference} has no items yet.")
        return
    click.echo(table([("TOP", "TITLE", "FROM")] + [(str(i.position), i.title, i.author) for i in items]))


@meeting.command("attendance", short_help="Who accepted, declined, is tentative or has not answered.")
@click.argument("reference", metavar="QUARTER|DATE")
@click.option("--json", "as_json", is_flag=True, help="Print the answers as JSON.")
@click.pass_obj
def attendance(app: App, reference: str, as_json: bool) -> None:
    """List per member who accepted, declined, is tentative or has not answered the invitation
    (the answers of Outlook, Thunderbird, Apple Calendar and Google that came to the list).

    \b
        akn-mail meeting attendance 2027-Q1
        akn-mail meeting attendance 2027-Q1 --json
    """
    from akn_mail.meetings.replies import attendance as attendance_of

    invitations = app.services.invitations
    entry = invitations.find(reference)
    invited = invitations.invitation(entry.meeting_id)
    members = [member.name for member in app.roster.members(include_former=False, on=entry.date)]
    answers = attendance_of(app.db, entry.meeting_id if invited else None, members)
    if as_json:
        click.echo(json.dumps({
            "meeting": entry.quarter if entry.kind == "regular" else f"extra-{entry.meeting_id}",
            "date": entry.date.isoformat() if entry.date else None,
            "invited": invited is not None,
            "sequence": invited["sequence"] if invited else None,
            "members": [answer.as_json() for answer in answers],
        }, ensure_ascii=False, indent=2))
        return
    if invited is None:
        raise click.ClickException(f"{reference} has not been invited yet; invite it with: akn-mail meeting invite {reference}")
    rows = [("MEMBER", "ANSWER", "CONTACTS")]
    for answer in answers:
        contacts = ", ".join(f"{c['email']} {c['answer']}" for c in answer.contacts) or "-"
        rows.append((answer.member, answer.status, contacts))
    click.echo(table(rows))
    counts = {}
    for answer in answers:
        counts[answer.status] = counts.get(answer.status, 0) + 1
    click.echo(", ".join(f"{counts.get(key, 0)} {key}" for key in ("accepted", "tentative", "declined", "no answer")))
