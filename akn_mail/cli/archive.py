"""``akn-mail archive``: the minutes per meeting, one message, export, import, reindex."""

from __future__ import annotations

import json
from pathlib import Path

import click

from akn_mail.cli.app import App
from akn_mail.cli.output import progress, safe, table


@click.group()
def archive() -> None:
    """The archive of every post and the minutes of every meeting.

    \b
        akn-mail archive list --year 2025
        akn-mail archive show 42
        akn-mail archive export 42 --to ./protokoll-2025-q1
        akn-mail archive import alt-protokolle.mbox
        akn-mail archive reindex
        akn-mail archive html --to /var/www/akn-archiv
    """


@archive.command("list")
@click.option("--minutes", "with_minutes", is_flag=True, help="Only meetings whose minutes arrived.")
@click.option("--year", type=click.IntRange(1900, 9999), help="Only meetings of this year.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of meetings (fields in the README).")
@click.pass_obj
def list_meetings(app: App, with_minutes: bool, year: int | None, as_json: bool) -> None:
    """Meetings with their host and minutes; past meetings without minutes say "missing".

    \b
        akn-mail archive list
        akn-mail archive list --year 2025 --json
        akn-mail archive list --minutes
    """
    from akn_mail.archive.listing import meeting_overview

    entries = meeting_overview(app.db, app.rotation, year=year)
    if with_minutes:
        entries = [entry for entry in entries if entry.minutes]
    if as_json:
        click.echo(json.dumps([entry.as_json() for entry in entries], ensure_ascii=False, indent=2))
        return
    if not entries:
        click.echo("No meetings yet." if year is None else f"No meetings in {year}.")
        return
    rows = [("MEETING", "DATE", "HOST", "MINUTES", "FLAGS")]
    for entry in entries:
        minutes = f"#{entry.archived_id} {entry.minutes_subject}" if entry.minutes else "MISSING" if "missing" in entry.flags else "-"
        rows.append((entry.meeting, entry.date or "-", entry.host or "-", minutes, " ".join(entry.flags)))
    click.echo(table(rows))


@archive.command("show")
@click.argument("ident", metavar="ID")
@click.pass_obj
def show(app: App, ident: str) -> None:
    """Show one archived message as a person reads it, with its attachments listed.

    ID is the number search and list print, or the Message-ID.

    \b
        akn-mail archive show 42
        akn-mail archive show '<protokoll-2025-q1@juechen.example>'
    """
    from akn_mail.archive.mime import read

    message = app.archive.meta.message(ident)
    parsed = read(app.archive.maildir.get(message.maildir_key))
    click.echo(safe(f"ID:          {message.id}"))
    click.echo(safe(f"Message-ID:  <{message.message_id}>"))
    click.echo(safe(f"Date:        {message.date}"))
    click.echo(safe(f"From:        {message.sender}" + (f" ({message.member_name})" if message.member_name else "")))
    click.echo(safe(f"Subject:     {message.subject}"))
    click.echo(safe(f"Auth:        {message.auth}"))
    if message.is_minutes:
        version = f", version {message.minutes_version}" + ("" if message.current else " (superseded by a newer version)")
        click.echo(safe(f"Minutes of:  {message.meeting or '-'}" + (f", host {message.host}" if message.host else "") + version))
    if message.flags:
        click.echo(safe(f"Flags:       {' '.join(message.flags)}"))
    if message.in_reply_to:
        click.echo(safe(f"In reply to: <{message.in_reply_to}>"))
    attachments = app.archive.meta.attachments(message.id)
    if attachments:
        click.echo(safe(f"Attachments: {len(attachments)}"))
        for row in attachments:
            note = f" - {row['extraction_note']}" if row["extraction_note"] and row["extraction"] != "ok" else ""
            click.echo(safe(f"  {row['position']:>3}. {row['filename']} ({row['content_type']}, {row['size']} bytes, text: {row['extraction']}{note})"))
    click.echo()
    click.echo(safe(parsed.body.rstrip() or "(no text body)"))


@archive.command("export")
@click.argument("ident", metavar="[ID]", required=False)
@click.option("--to", "target", type=click.Path(file_okay=False, path_type=Path), help="Directory for the .eml and the attachments (new or empty).")
@click.option("--mbox", "mbox_path", type=click.Path(dir_okay=False, path_type=Path), help="Write the whole archive to this mbox file (must not exist).")
@click.option("--minutes", "minutes_only", is_flag=True, help="With --mbox: only minutes.")
@click.pass_obj
def export(app: App, ident: str | None, target: Path | None, mbox_path: Path | None, minutes_only: bool) -> None:
    """Export one message (original .eml + attachments) or the whole archive as mbox.

    \b
        akn-mail archive export 42 --to ./protokoll-2025-q1
        akn-mail archive export --mbox akn-archiv.mbox
        akn-mail archive export --mbox protokolle.mbox --minutes
    """
    from akn_mail.archive import exporting

    if mbox_path is not None:
        if ident is not None or target is not None:
            raise click.UsageError("give either ID --to DIR or --mbox FILE, not both.")
        count = exporting.export_mbox(app.archive, mbox_path, minutes_only=minutes_only)
        click.echo(f"Wrote {count} message{'s' if count != 1 else ''} to {mbox_path}.")
        return
    if ident is None or target is None:
        raise click.UsageError("give ID --to DIR (one message) or --mbox FILE (the whole archive).")
    written = exporting.export_message(app.archive, ident, target)
    click.echo(f"Wrote {len(written)} file{'s' if len(written) != 1 else ''} to {target}:")
    for path in written:
        click.echo(f"  {path.name}")


@archive.command("import")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--meeting", metavar="YYYY-Qn|YYYY-MM-DD", help="File the imported minutes under this meeting.")
@click.option("--date", "date", metavar="YYYY-MM-DD", default=None,
              help="Date of a document (default: the meeting's recorded or planned date, else the quarter's last day).")
@click.option("--from", "sender", metavar="ADDR", default=None,
              help="Author of a document, e.g. \"Clara Jansen <clara@juechen.example>\" (default: a contact's name for the address).")
@click.pass_obj
def import_(app: App, source: Path, meeting: str | None, date: str | None, sender: str | None) -> None:
    """Bring in messages or minutes kept before akn-mail: mbox, Maildir, .eml, PDF/DOCX/ODT.

    A document file becomes minutes; give --meeting unless its name carries the date. It is
    dated by its meeting (so --since/--until and date: find it as of the meeting), or by
    --date, and --from names its author. Messages (mbox, Maildir, .eml) keep their own.

    \b
        akn-mail archive import alte-liste.mbox
        akn-mail archive import ~/Mail/AKN/
        akn-mail archive import Protokoll_Kaarst.pdf --meeting 2024-Q3 --from klima@kaarst.example
    """
    from akn_mail.archive import importing
    from akn_mail.archive.meetings import parse_meeting_option
    from akn_mail.roster.quarter import parse_date

    reference = parse_meeting_option(meeting) if meeting else None
    day = parse_date(date, "--date") if date else None
    if day is None and reference is not None:
        day = reference.date or app.rotation.meeting_date(reference.quarter) or reference.quarter.last_day
    author = _author(app, sender) if sender else ""
    if (date or sender) and source.suffix.lower() not in importing.DOCUMENT_SUFFIXES:
        raise click.UsageError("--date and --from are for a document (PDF, DOCX, ODT); messages keep their own Date and From.")
    sources = importing.open_source(source, reference, day, author)
    result = importing.ImportResult()
    with progress(sources.count, "Importing") as bar:
        for raw in sources.messages():
            importing.import_one(app.archive, raw, reference, result, document=sources.is_document)
            bar.update(1)
    click.echo(result.summary())
    if app.config.archive.html_dir:
        from akn_mail.web.site import update_after_filing

        update_after_filing(app.config, app.db, app.archive, None)


def _author(app: App, sender: str) -> str:
    """'Name <addr>' for --from: the address checked, the name given or the contact's."""
    from email.utils import formataddr

    from akn_mail.roster.members import check_email, split_address

    address, name = split_address(sender)
    address = check_email(address)
    if not name:
        contact = app.roster.find_contact(address)
        name = contact.name if contact else ""
    return formataddr((name, address)) if name else address


@archive.command("reindex")
@click.option("--workers", type=click.IntRange(0, 16), default=None,
              help="Processes that read and index messages (default: one per core; 0: none, all in this process).")
@click.pass_obj
def reindex(app: App, workers: int | None) -> None:
    """Rebuild the search index from the stored messages (the Maildir).

    Safe while the server runs: the new index is built beside the old one and swapped in.
    Messages are read, their attachments extracted and their text indexed on every core.

    \b
        akn-mail archive reindex
        akn-mail archive reindex --workers 1
    """
    count = len(app.archive.maildir)
    with progress(count, "Indexing") as bar:
        indexed = app.archive.reindex(progress=bar.update, workers=workers)
    click.echo(f"Indexed {indexed} message{'s' if indexed != 1 else ''} into {app.config.index_dir}.")


@archive.command("html")
@click.option("--to", "target", type=click.Path(file_okay=False, path_type=Path),
              help="Directory for the site (default: [archive] html_dir).")
@click.pass_obj
def html(app: App, target: Path | None) -> None:
    """Write the static HTML archive: start page, meetings, threads, feeds, search.

    Only pages whose content changed are written, so running it again is cheap. With
    [archive] html_dir set, the server does this after every filing by itself.

    \b
        akn-mail archive html --to /var/www/akn-archiv
    """
    from akn_mail.web.site import Site

    if target is None:
        if not app.config.archive.html_dir:
            raise click.UsageError("give --to DIR, or set [archive] html_dir in the config file.")
        target = app.config.resolve(app.config.archive.html_dir)
    if target.exists() and not target.is_dir():
        raise click.ClickException(f"{target} is not a directory; give --to a directory (new or the site's).")
    try:
        result = Site(app.config, app.db, archive=app.archive).render(target)
    except OSError as error:
        raise click.ClickException(f"cannot write the site into {target}: {error.strerror or error}; check the path and its permissions.") from None
    click.echo(f"Wrote the HTML archive to {target}: {result.summary} ({result.seconds:.1f} s).")
    if not app.config.archive.html_public:
        click.echo("Note: the pages show e-mail addresses; serve the directory only behind the web server's authentication "
                   "(or set [archive] html_public = true).")
