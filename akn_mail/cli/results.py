"""``akn-mail results``: the decisions and tasks of the meetings, tracked until done."""

from __future__ import annotations

import datetime as dt
import json

import click

from akn_mail.cli.app import App
from akn_mail.cli.output import table


def _service(app: App):
    from akn_mail.results.service import Results

    return Results(app.db, roster=app.roster)


def _due(service, text: str | None, meeting_day: dt.date) -> tuple[str | None, str]:
    """(ISO date or None, words) of a --due value: a date ("30.06.2027", "2027-06-30", "Ende Q2") or "none"."""
    from akn_mail.results.dates import parse_due
    from akn_mail.results.store import ResultError

    if text is None:
        return None, ""
    if text.strip().lower() in ("none", "keine", "-", ""):
        return None, ""
    value, words = parse_due(text, meeting_day, service.next_meeting_day(meeting_day))
    if value is None:
        raise ResultError(f"cannot read the due date \"{text}\"; give a date like 2027-06-30 or 30.06.2027, or \"Ende Q2\".")
    return value.isoformat(), words


def _show(result) -> str:
    due = result.due_date.isoformat() if result.due_date else (result.due_text or "")
    return f"{result.id}  {result.kind}  {result.text}" + (f"  [{result.who}]" if result.who else "") + (f"  due {due}" if due else "")


@click.group()
def results() -> None:
    """Decisions and tasks from the minutes, tracked until done.

    \b
        akn-mail results list --open
        akn-mail results done 12
    """


@results.command("list")
@click.option("--open", "open_only", is_flag=True, help="Only tasks not done yet.")
@click.option("--member", help="Only results this member is responsible for.")
@click.option("--meeting", help="Only results of this meeting (quarter like 2027-Q1, or the date of an extra meeting).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list (fields in the README).")
@click.pass_obj
def list_results(app: App, open_only: bool, member: str | None, meeting: str | None, as_json: bool) -> None:
    """List decisions and tasks, by meeting; each names the minutes it comes from (archive ID).

    \b
        akn-mail results list --open --member Kaarst
        akn-mail results list --meeting 2027-Q1 --json
    """
    service = _service(app)
    member_id = app.roster.member(member).id if member else None
    meeting_id = service.meeting_id(meeting) if meeting else None
    found = service.store.list(open_only=open_only, member_id=member_id, meeting_id=meeting_id)
    if as_json:
        click.echo(json.dumps([result.as_json() for result in found], ensure_ascii=False, indent=2))
        return
    if not found:
        click.echo("No open tasks." if open_only else "No results.")
        return
    rows = [("ID", "Meeting", "Kind", "TOP", "Result", "Responsible", "Due", "Status", "Archive")]
    for result in found:
        due = result.due_date.isoformat() if result.due_date else (result.due_text or "")
        text = result.text if len(result.text) <= 60 else result.text[:59] + "…"
        top = result.top if len(result.top) <= 24 else result.top[:23] + "…"
        rows.append((result.id, result.meeting or "-", result.kind, top or "-", text, result.who or "-", due or "-",
                     result.status, f"#{result.archived_id}" if result.archived_id else "-"))
    click.echo(table(rows))


@results.command("done")
@click.argument("result_id")
@click.pass_obj
def done(app: App, result_id: str) -> None:
    """Mark task RESULT_ID done.

    \b
        akn-mail results done 12
    """
    result = _service(app).store.set_status(result_id, "done")
    click.echo(f"Task {result.id} is done: {result.text}")


@results.command("reopen")
@click.argument("result_id")
@click.pass_obj
def reopen(app: App, result_id: str) -> None:
    """Mark task RESULT_ID open again.

    \b
        akn-mail results reopen 12
    """
    result = _service(app).store.set_status(result_id, "open")
    click.echo(f"Task {result.id} is open again: {result.text}")


@results.command("strike")
@click.argument("result_id")
@click.pass_obj
def strike(app: App, result_id: str) -> None:
    """Strike RESULT_ID: it was read from the minutes but is no result (it stays struck in new versions).

    \b
        akn-mail results strike 12
    """
    result = _service(app).store.set_status(result_id, "struck")
    click.echo(f"Struck result {result.id}: {result.text}")


@results.command("add")
@click.argument("text")
@click.option("--meeting", required=True, help="The meeting it was decided at (quarter like 2027-Q1, or the date of an extra meeting).")
@click.option("--kind", type=click.Choice(["decision", "task"]), help="decision or task (default: read from TEXT; a task if it names someone responsible or a due date).")
@click.option("--member", help="The member responsible (a task).")
@click.option("--due", help="Due date: 2027-06-30, 30.06.2027, \"Ende Q2\", \"zur nächsten Sitzung\".")
@click.option("--top", help="The TOP heading, e.g. \"TOP 3: Wärmeplanung\".")
@click.pass_obj
def add(app: App, text: str, meeting: str, kind: str | None, member: str | None, due: str | None, top: str | None) -> None:
    """Add a decision or task the minutes do not show (as the host writes it, or with options).

    \b
        akn-mail results add "Aufgabe Entwurf Förderantrag Zuständig Neuss bis 30.06.2027" --meeting 2027-Q1
        akn-mail results add "Die Allianz tritt dem Klima-Bündnis bei" --meeting 2027-Q1 --kind decision
    """
    service = _service(app)
    meeting_id = service.meeting_id(meeting, create=True)
    day = service.meeting_day(meeting_id, dt.date.today())
    found = service.parse(text, day, kind)
    if member:
        found.member = app.roster.member(member).name
        found.responsible = found.member
    if due:
        iso, words = _due(service, due, day)
        found.due = dt.date.fromisoformat(iso) if iso else None
        found.due_text = words
    if top:
        found.top = top
    if kind:
        found.kind = kind
    archived = app.db.execute("SELECT archived_id FROM meeting_minutes WHERE meeting_id = ?", (meeting_id,)).fetchone()
    result = service.store.add(found, meeting_id=meeting_id, archived_id=archived["archived_id"] if archived else None,
                               origin="cli", members=service.member_ids())
    click.echo(f"Added {result.kind} {result.id}: {_show(result)}")


@results.command("edit")
@click.argument("result_id")
@click.option("--text", help="The new wording.")
@click.option("--kind", type=click.Choice(["decision", "task"]), help="decision or task.")
@click.option("--member", help="The member responsible; \"none\" for nobody.")
@click.option("--due", help="Due date (2027-06-30, 30.06.2027, \"Ende Q2\"); \"none\" for no date.")
@click.option("--top", help="The TOP heading.")
@click.pass_obj
def edit(app: App, result_id: str, text: str | None, kind: str | None, member: str | None, due: str | None,
         top: str | None) -> None:
    """Correct RESULT_ID; a corrected result is kept when a new version of the minutes arrives.

    \b
        akn-mail results edit 12 --member Kaarst --due 31.03.2027
    """
    service = _service(app)
    current = service.store.get(result_id)
    fields: dict = {}
    if text is not None:
        fields["text"] = " ".join(text.split())
    if kind is not None:
        fields["kind"] = kind
    if top is not None:
        fields["top"] = top
    if member is not None:
        if member.strip().lower() in ("none", "-", ""):
            fields.update(member_id=None, member_name="", responsible="")
        else:
            found = app.roster.member(member)
            fields.update(member_id=found.id, member_name=found.name, responsible=found.name)
    if due is not None:
        iso, words = _due(service, due, current.meeting_date or dt.date.today())
        fields.update(due_date=iso, due_text=words)
    result = service.store.update(current.id, **fields)
    click.echo(f"Changed {_show(result)}")
