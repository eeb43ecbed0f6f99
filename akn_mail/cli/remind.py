"""``akn-mail remind``: send the host, minutes and task reminders due today (safe to run daily)."""

from __future__ import annotations

import json

import click

from akn_mail.roster.quarter import parse_date
from akn_mail.cli.app import App


@click.command()
@click.option("--dry-run", is_flag=True, help="Only show what would be sent; send nothing, remember nothing.")
@click.option("--today", "today", metavar="YYYY-MM-DD", help="Act as if today were this day (see what a day would send).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object (fields in the README).")
@click.pass_obj
def remind(app: App, dry_run: bool, today: str | None, as_json: bool) -> None:
    """Send the reminders due today: next host, missing minutes, tasks due. Never sends one twice.

    \b
        akn-mail remind --dry-run
        akn-mail remind --today 2027-03-04 --dry-run
        akn-mail remind
    """
    from akn_mail.notices.reminders import Reminders

    day = parse_date(today, "--today") if today else None
    from akn_mail.meetings.reminders import MeetingReminders

    reminders = Reminders(app.config, app.db, notices=app.notices).run(today=day, dry_run=dry_run)
    meetings = MeetingReminders(app.services.invitations).run(today=day, dry_run=dry_run)
    if as_json:
        click.echo(json.dumps({"dry_run": dry_run, "reminders": [r.as_json() for r in reminders],
                               "meetings": [m.as_json() for m in meetings]}, ensure_ascii=False, indent=2))
        return
    if not reminders and not meetings:
        click.echo("No reminders due.")
        return
    for item in meetings:
        what = {"invitation": "invitation to", "update": "update of", "cancel": "cancellation of",
                "briefing": "agenda and answers for the host of", "answer": "reminder to answer the invitation to"}[item.kind]
        click.echo(f"{item.status}: {what} {item.meeting} -> {len(item.recipients)} contact(s)"
                   + (f" ({item.recipients[0]})" if len(item.recipients) == 1 else ""))
    for reminder in reminders:
        what = {"host": "host of", "minutes": "minutes missing for", "task": "task due",
                "summary": "results summary"}[reminder.kind]
        to = reminder.recipient or "nobody: the host has no contact with delivery on"
        click.echo(f"{reminder.status}: {what} {reminder.meeting} ({reminder.member}) -> {to}")
    sent = sum(1 for r in reminders if r.status == "sent")
    would = sum(1 for r in reminders if r.status == "would send")
    if dry_run:
        click.echo(f"{would} reminder(s) would be sent (dry run, nothing sent).")
    else:
        click.echo(f"{sent} reminder(s) queued for delivery.")
