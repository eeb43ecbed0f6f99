"""``akn-mail search``: full-text search of the archive (German-aware), for people and scripts."""

from __future__ import annotations

import click

from akn_mail.cli.app import App


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
    from akn_mail import db as db_module
    from akn_mail.archive.querying import Request, hits_for, render

    request = Request(" ".join(query), minutes=minutes, host=host, sender=sender, since=since, until=until,
                      limit=limit, as_json=as_json, explain=explain)
    # Only the database and the index: the other services (mail, calendars) cost a third of
    # a second to import and a search needs none of them.
    config = app.data_config
    connection = db_module.connect(config.database_path)
    try:
        # click.echo drops the bold when the output is not a terminal.
        click.echo(render(hits_for(request, config, connection), as_json, explain), nl=False)
    finally:
        connection.close()
