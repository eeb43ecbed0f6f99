"""``akn-mail rotation``: who hosts which quarter, and the decisions that shape it."""

from __future__ import annotations

import datetime
import json

import click

from akn_mail.cli.app import App
from akn_mail.cli.meeting import send_updates
from akn_mail.cli.output import DRY_RUN, echo_report, table


def _day(value: str | None) -> datetime.date | None:
    if value is None:
        return None
    from akn_mail.roster.quarter import parse_date

    return parse_date(value, "date")


def _host(member) -> str:
    return member.name if member is not None else "nobody"





@click.group()
def rotation() -> None:
    """Show and shape the host rotation of the regular quarterly meetings.

    The rule is in the README ("Host rotation"): hosting members take turns in German
    alphabetical order, one regular meeting per quarter.

    \b
        akn-mail rotation show
        akn-mail rotation record 2027-Q1 --host Dormagen --date 2027-03-11
    """


@rotation.command("show", short_help="List the upcoming meetings and hosts.")
@click.option("--quarters", default=8, show_default=True, type=click.IntRange(1, 400), help="How many quarters to list.")
@click.option("--from", "first", metavar="YYYY-Qn", default=None, help="First quarter to list (default: the current one).")
@click.option("--today", metavar="YYYY-MM-DD", default=None, help="Take this day as today (default: the real date).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array (fields in the README).")
@click.pass_obj
def show(app: App, quarters: int, first: str | None, today: str | None, as_json: bool) -> None:
    """Upcoming regular meetings (and extra ones): quarter, host, status, date, place.

    \b
        akn-mail rotation show
        akn-mail rotation show --quarters 12 --json
        akn-mail rotation show --from 2026-Q1
    """
    entries = app.rotation.schedule(quarters, first, today=_day(today), store_start=False)
    if as_json:
        click.echo(json.dumps([entry.as_json() for entry in entries], ensure_ascii=False, indent=2))
        return
    rows = [["QUARTER", "HOST", "STATUS", "DATE", "PLACE"]]
    for entry in entries:
        when = entry.date.isoformat() if entry.date else "-"
        if entry.date and entry.start_time:
            when += f" {entry.start_time}" + (f"-{entry.end_time}" if entry.end_time else "")
        rows.append([entry.quarter, _host(entry.host), entry.status_text, when, entry.place or entry.online_url or "-"])
    click.echo(table(rows))
    if app.rotation.start()[0] is None and app.rotation.anchor(create=False) is None:
        click.echo("Note: the rotation has no start yet; it is shown from the current quarter. "
                   "Fix it with: akn-mail rotation start QUARTER", err=True)


@rotation.command("start", short_help="Set where the rotation starts.")
@click.argument("quarter")
@click.option("--host", default=None, help="Who hosts that quarter (default: the alphabetically first hosting member).")
@DRY_RUN
@click.pass_obj
def start(app: App, quarter: str, host: str | None, dry_run: bool) -> None:
    """Start (or restart) the rotation at QUARTER; the turns go on from there.

    \b
        akn-mail rotation start 2026-Q4
        akn-mail rotation start 2026-Q4 --host Dormagen
    """
    with app.rotation.tracking(dry_run, [quarter]) as report:
        first, member = app.rotation.set_start(quarter, host)
    click.echo(f"The rotation starts in {first} with {_host(member)}.")
    if not dry_run:
        send_updates(app)
    echo_report(report)


@rotation.command("record", short_help="Record the meeting of a quarter as held.")
@click.argument("quarter")
@click.option("--host", required=True, help="The member that hosted the meeting.")
@click.option("--date", "date", required=True, metavar="YYYY-MM-DD", help="The day of the meeting (in QUARTER).")
@click.option("--place", default="", help="Where it took place.")
@click.option("--note", default="", help="A short note (e.g. why another member hosted).")
@DRY_RUN
@click.pass_obj
def record(app: App, quarter: str, host: str, date: str, place: str, note: str, dry_run: bool) -> None:
    """Record the regular meeting of QUARTER as held (run again to correct it).

    If another member than the scheduled one hosted, the turns go on after that member. A
    meeting before the start of the rotation is history and moves nothing after the start.
    Every quarter whose host changes is printed.

    \b
        akn-mail rotation record 2027-Q1 --host Dormagen --date 2027-03-11 --place "Rathaus Dormagen"
    """
    with app.rotation.tracking(dry_run, [quarter]) as report:
        entry = app.rotation.record(quarter, host, date, place, note)
    click.echo(f"Recorded {entry.quarter}: held by {_host(entry.host)} on {entry.date}.")
    if not dry_run:
        send_updates(app)
    echo_report(report)


@rotation.command("plan", short_help="Set date, time and place of an upcoming meeting.")
@click.argument("quarter")
@click.option("--date", "date", default=None, metavar="YYYY-MM-DD", help="The planned day (in QUARTER).")
@click.option("--time", "time", default=None, metavar="HH:MM", help="Start time, Europe/Berlin (without: an all-day event).")
@click.option("--end", "end", default=None, metavar="HH:MM", help="End time (default: two hours after the start).")
@click.option("--place", default=None, help="The planned place.")
@click.option("--online", default=None, metavar="URL", help="Link of a video meeting (alone or besides a place).")
@DRY_RUN
@click.pass_obj
def plan(app: App, quarter: str, date: str | None, time: str | None, end: str | None, place: str | None,
         online: str | None, dry_run: bool) -> None:
    """Set the date, time and place of an upcoming regular meeting (the host stays as
    scheduled). The plan belongs to the host: if the host of QUARTER changes later, the plan
    is dropped and the command that changed it says so.

    \b
        akn-mail rotation plan 2027-Q2 --date 2027-05-12 --time 14:00 --end 16:00 --place "Rathaus Jüchen"
        akn-mail rotation plan 2027-Q3 --date 2027-08-11 --time 10:00 --online https://meet.example/akn
    """
    if all(value is None for value in (date, time, end, place, online)):
        raise click.UsageError("nothing to plan; give --date, --time, --end, --place and/or --online.")
    with app.rotation.tracking(dry_run, [quarter]) as report:
        entry = app.rotation.plan(quarter, date, place, time, end, online)
    when = entry.date.isoformat() if entry.date else "date open"
    if entry.date and entry.start_time:
        when += f" {entry.start_time}-{entry.end_time}" if entry.end_time else f" {entry.start_time}"
    where = ", ".join(part for part in (entry.place, entry.online_url) if part)
    click.echo(f"Planned {entry.quarter}: {_host(entry.host)}, {when}{', ' + where if where else ''}.")
    if not dry_run:
        send_updates(app)
    if dry_run:
        echo_report(report)


@rotation.command("skip", short_help="Pass over the host due in a quarter.")
@click.argument("quarter")
@click.option("--reason", default="", help="Why the due host cannot host (kept with the schedule).")
@DRY_RUN
@click.pass_obj
def skip(app: App, quarter: str, reason: str, dry_run: bool) -> None:
    """Pass over the member due to host QUARTER; the next in order hosts instead.

    The skipped member comes again in the next round; the command says when.

    \b
        akn-mail rotation skip 2027-Q2 --reason "Rathaus wird saniert"
    """
    from akn_mail.roster.quarter import Quarter

    with app.rotation.tracking(dry_run, [quarter]) as report:
        skipped, host = app.rotation.skip(quarter, reason)
        following = app.rotation.next_turn(skipped, quarter)
    line = f"{skipped.name} is skipped in {Quarter.parse(quarter)}; {_host(host)} hosts instead."
    if following is not None:
        line += f" {skipped.name} hosts next in {following}."
    click.echo(line)
    if not dry_run:
        send_updates(app)
    echo_report(report)


@rotation.command("swap", short_help="Let two quarters trade hosts.")
@click.argument("first")
@click.argument("second")
@DRY_RUN
@click.pass_obj
def swap(app: App, first: str, second: str, dry_run: bool) -> None:
    """Let two quarters trade hosts; the rotation after them is unchanged.

    \b
        akn-mail rotation swap 2027-Q2 2027-Q3
        akn-mail rotation swap 2027-Q4 2028-Q1
    """
    from akn_mail.roster.quarter import Quarter

    one, two = sorted((Quarter.parse(first), Quarter.parse(second)))
    with app.rotation.tracking(dry_run, [one, two]) as report:
        host_one, host_two = app.rotation.swap(one, two)
    click.echo(f"Swapped: {one} is hosted by {_host(host_one)}, {two} by {_host(host_two)}.")
    if not dry_run:
        send_updates(app)
    echo_report(report)


@rotation.command("clear")
@click.argument("quarter")
@DRY_RUN
@click.pass_obj
def clear(app: App, quarter: str, dry_run: bool) -> None:
    """Undo the skips and the swap of QUARTER.

    \b
        akn-mail rotation clear 2027-Q2
    """
    with app.rotation.tracking(dry_run, [quarter]) as report:
        undone = app.rotation.clear(quarter)
    click.echo(f"Undone: {'; '.join(undone)}.")
    if not dry_run:
        send_updates(app)
    echo_report(report)


@rotation.command("extra", short_help="Add an extra meeting (nach Bedarf).")
@click.option("--date", "date", required=True, metavar="YYYY-MM-DD", help="The day of the extra meeting.")
@click.option("--host", required=True, help="The member that hosts it (any member).")
@click.option("--place", default="", help="Where it takes place.")
@click.option("--counts-as-turn", is_flag=True, help="Let it count as the host's turn: the rotation goes on after it.")
@click.option("--note", default="", help="What it is about.")
@click.option("--time", "time", default=None, metavar="HH:MM", help="Start time, Europe/Berlin (without: an all-day event).")
@click.option("--end", "end", default=None, metavar="HH:MM", help="End time (default: two hours after the start).")
@click.option("--online", default=None, metavar="URL", help="Link of a video meeting.")
@DRY_RUN
@click.pass_obj
def extra(app: App, date: str, host: str, place: str, counts_as_turn: bool, note: str, time: str | None,
          end: str | None, online: str | None, dry_run: bool) -> None:
    """Add an extra meeting ("nach Bedarf"); it does not move the rotation unless asked to.

    \b
        akn-mail rotation extra --date 2027-05-20 --host Neuss --note "Wärmeplanung"
    """
    from akn_mail.roster.quarter import Quarter

    with app.rotation.tracking(dry_run, [Quarter.of(_day(date))]) as report:
        entry = app.rotation.extra(date, host, place, counts_as_turn, note, time, end, online)
    click.echo(f"Added extra meeting {entry.meeting_id} on {entry.date} hosted by {_host(entry.host)}.")
    if not dry_run:
        send_updates(app)
    if counts_as_turn or dry_run:
        echo_report(report)


@rotation.command("cancel")
@click.argument("meeting_id", type=int)
@DRY_RUN
@click.pass_obj
def cancel(app: App, meeting_id: int, dry_run: bool) -> None:
    """Cancel the extra meeting MEETING_ID (see 'rotation meetings').

    \b
        akn-mail rotation cancel 7
    """
    with app.rotation.tracking(dry_run) as report:
        app.rotation.cancel_extra(meeting_id)
    click.echo(f"Cancelled extra meeting {meeting_id}.")
    if not dry_run:
        send_updates(app)
    if report.changes or dry_run:
        echo_report(report)


@rotation.command("meetings")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array (fields in the README).")
@click.pass_obj
def meetings(app: App, as_json: bool) -> None:
    """Every meeting on record (held, planned, extra), oldest first.

    \b
        akn-mail rotation meetings --json
    """
    rows = app.rotation.meetings()
    hosts = app.rotation.meeting_hosts(rows)  # a planned meeting's host is the one the rotation derives
    items = [
        {
            "id": row["id"], "kind": row["kind"], "quarter": row["quarter"], "date": row["date"],
            "host": hosts[row["id"]].name if hosts.get(row["id"]) else None, "place": row["place"], "status": row["status"],
            "counts_as_turn": bool(row["counts_as_turn"]), "note": row["note"],
        }
        for row in rows
    ]
    if as_json:
        click.echo(json.dumps(items, ensure_ascii=False, indent=2))
        return
    if not items:
        click.echo("No meetings on record yet.")
        return
    rows = [["ID", "KIND", "QUARTER", "DATE", "HOST", "STATUS", "PLACE"]]
    for item in items:
        rows.append([
            str(item["id"]), item["kind"], item["quarter"], item["date"] or "-", item["host"] or "-", item["status"],
            item["place"] or "-",
        ])
    click.echo(table(rows))


@rotation.command("ics", short_help="Write the dated meetings as iCalendar.")
@click.option("--quarters", default=8, show_default=True, type=click.IntRange(1, 400), help="How many quarters.")
@click.option("--from", "first", metavar="YYYY-Qn", default=None, help="First quarter (default: the current one).")
@click.option("--today", metavar="YYYY-MM-DD", default=None, help="Take this day as today.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, allow_dash=True), default="-",
              help="Write to this file instead of standard output.")
@click.pass_obj
def ics(app: App, quarters: int, first: str | None, today: str | None, output: str) -> None:
    """The dated meetings of the schedule as an iCalendar file.

    A meeting with a time is an event in Europe/Berlin, one without an all-day event;
    cancelled meetings and plans dropped with their host stay in as STATUS:CANCELLED, and
    every change raises the SEQUENCE. Quarters without a date are left out (set one with
    'rotation plan').

    \b
        akn-mail rotation ics > akn-termine.ics
    """
    from akn_mail.roster.ics import to_ics, undated

    entries = app.rotation.schedule(quarters, first, today=_day(today), store_start=False)
    data = to_ics(entries, app.config.list_domain, app.config.list.name)
    if output == "-":
        click.echo(data, nl=False)  # bytes go to the binary stream unchanged
    else:
        try:
            with open(output, "wb") as handle:
                handle.write(data)
        except OSError as error:
            raise click.ClickException(f"cannot write {output}: {error.strerror}.") from None
    missing = undated(entries)
    if missing:
        click.echo(f"Not in the calendar (no date yet): {', '.join(missing)}; set one with: akn-mail rotation plan QUARTER --date YYYY-MM-DD", err=True)
