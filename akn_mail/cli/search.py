"""``akn-mail search``: full-text search of the archive (German-aware), for people and scripts."""

from __future__ import annotations

import click

from akn_mail.cli.app import App
from akn_mail.cli.output import json_text, safe


@click.command()
@click.argument("query", nargs=-1, required=True)
@click.option("--minutes", is_flag=True, help="Only minutes.")
@click.option("--host", metavar="MEMBER", help="Only posts whose effective host is MEMBER: minutes of meetings MEMBER hosted, replies to them, MEMBER's own posts.")
@click.option("--from", "sender", metavar="ADDRESS|NAME", help="Only messages from this sender (address, name or member).")
@click.option("--since", metavar="YYYY-MM-DD", help="Only messages dated on or after this day.")
@click.option("--until", metavar="YYYY-MM-DD", help="Only messages dated on or before this day.")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 10000), help="How many hits to show.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array of hits in rank order (fields in the README).")
@click.option("--explain", is_flag=True, help="Say which reading of the query found each hit (tier, compound parts, synonym).")
@click.pass_obj
def search(app: App, query: tuple[str, ...], minutes: bool, host: str | None, sender: str | None,
           since: str | None, until: str | None, limit: int, as_json: bool, explain: bool) -> None:
    """Search the archive: words, "phrases", AND/OR/NOT, prefix*, host: from: subject: date:.

    Words are matched in German: Förderprogramme finds Förderprogramm, Waerme finds Wärme,
    Wärmeplanung finds Wärmeplanungsgesetz, Schulhofbegrünung also "Begrünung der Schulhöfe"
    (ranked below). Minutes come first with --minutes, Protokoll or TOP in the query.

    \b
        akn-mail search Wärmeplanung
        akn-mail search 'Starkregen host:Jüchen' --minutes
        akn-mail search '"kommunale Wärmeplanung"' --json
        akn-mail search 'Radverkehr date:[2025-01-01 to 2025-06-30]' --limit 20
        akn-mail search PV --explain
    """
    from akn_mail.archive.index import ArchiveIndex
    from akn_mail.archive.search import MARK_END, MARK_START, ArchiveSearch, render_snippet
    from akn_mail.archive.synonyms import Synonyms
    from akn_mail.roster.quarter import parse_date

    since_day = parse_date(since, "--since date") if since else None
    until_day = parse_date(until, "--until date") if until else None
    if host:
        # Any spelling of a member's name (Juechen, jüchen) is that member; a misspelt one
        # ("Dormagn") is an error with a suggestion, not "No messages found". The roster's
        # one member-name matcher decides, as for every other --host and --member.
        host = app.roster.member(host).name
    index = ArchiveIndex(app.config.index_dir)
    if not index.exists():
        archived = app.db.execute("SELECT count(*) FROM archived_messages").fetchone()[0]
        if archived:
            raise click.ClickException(
                f"there is no search index in {app.config.index_dir}; rebuild it with: akn-mail archive reindex"
            )
        hits = []
    else:
        synonyms = Synonyms.load(app.config.synonyms_path)
        hits = ArchiveSearch(index, app.db, synonyms).search(
            " ".join(query), minutes=minutes, host=host, sender=sender, since=since_day, until=until_day, limit=limit
        )
    if as_json:
        rows = [hit.as_json() | ({"found_by": hit.found_by} if explain else {}) for hit in hits]
        click.echo(json_text(rows))
        return
    if not hits:
        click.echo("No messages found.")
        return
    bold_start, bold_end = "\x1b[1m", "\x1b[0m"
    for hit in hits:
        kind = "minutes" if hit.minutes else "post"
        meeting = f"{hit.meeting} ({hit.host})" if hit.meeting and hit.host else (hit.meeting or "-")
        click.echo(click.style(safe(f"{hit.id:>6}  {hit.date[:10]}  {kind:<7}  {meeting}"), bold=True))
        click.echo(safe(f"        {hit.subject}"))
        click.echo(safe(f"        {hit.sender}"))
        if hit.snippet:
            # Escape the mail's text, not our own match markers; then make the markers bold.
            pieces = hit.snippet.split(MARK_START)
            text = MARK_START.join(MARK_END.join(safe(part) for part in piece.split(MARK_END)) for piece in pieces)
            click.echo("        " + render_snippet(text, bold_start, bold_end))
        if explain:
            click.echo(f"        found by: {hit.found_by}")
        click.echo()
