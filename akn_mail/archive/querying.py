"""One search as ``akn-mail search`` answers it: options in, the printed text out.

The command line and the warm search server (``search_server``) both call ``answer``, so a
search answered by ``serve`` prints exactly what the same search in-process prints. Errors
are ``AknError`` subclasses with the one-line message the CLI shows after ``Error:``.
"""

from __future__ import annotations

from dataclasses import dataclass

from akn_mail.archive.index import ArchiveIndex
from akn_mail.archive.search import MARK_END, MARK_START, ArchiveSearch, Hit, render_snippet
from akn_mail.archive.store import ArchiveError
from akn_mail.archive.synonyms import Synonyms
from akn_mail.roster.quarter import parse_date
from akn_mail.text import json_text, safe

BOLD, PLAIN = "\x1b[1m", "\x1b[0m"


@dataclass
class Request:
    """The options of ``akn-mail search`` (see cli/search.py)."""

    query: str
    minutes: bool = False
    host: str | None = None
    sender: str | None = None
    since: str | None = None
    until: str | None = None
    limit: int = 10
    as_json: bool = False
    explain: bool = False


def hits_for(request: Request, config, db, roster=None, search: ArchiveSearch | None = None) -> list[Hit]:
    """Run the request; ``search`` is a warm searcher to reuse (the server's), else one is
    opened; ``roster`` reads ``--host`` (one is made from ``db`` when needed)."""
    since_day = parse_date(request.since, "--since date") if request.since else None
    until_day = parse_date(request.until, "--until date") if request.until else None
    host = request.host
    if host:
        # Any spelling of a member's name (Juechen, jüchen) is that member; a misspelt one
        # ("Dormagn") is an error with a suggestion, not "No messages found". The roster's
        # one member-name matcher decides, as for every other --host and --member.
        if roster is None:
            from akn_mail.roster.members import Roster

            roster = Roster(db)
        host = roster.member(host).name
    if search is None:
        index = ArchiveIndex(config.index_dir)
        if not index.exists():
            archived = db.execute("SELECT count(*) FROM archived_messages").fetchone()[0]
            if archived:
                raise ArchiveError(f"there is no search index in {config.index_dir}; rebuild it with: akn-mail archive reindex")
            return []
        search = ArchiveSearch(index, db, Synonyms.load(config.synonyms_path))
    return search.search(request.query, minutes=request.minutes, host=host, sender=request.sender,
                         since=since_day, until=until_day, limit=request.limit)


def render(hits: list[Hit], as_json: bool = False, explain: bool = False) -> str:
    """The text the command prints (bold as ANSI codes; the caller strips them off a pipe).

    Text from mail is made safe for a terminal (``text.safe``: control characters shown as
    ``\\xNN``); only our own bold codes remain."""
    if as_json:
        rows = [hit.as_json() | ({"found_by": hit.found_by} if explain else {}) for hit in hits]
        return json_text(rows) + "\n"
    if not hits:
        return "No messages found.\n"
    lines = []
    for hit in hits:
        kind = "minutes" if hit.minutes else "post"
        meeting = f"{hit.meeting} ({hit.host})" if hit.meeting and hit.host else (hit.meeting or "-")
        lines.append(BOLD + safe(f"{hit.id:>6}  {hit.date[:10]}  {kind:<7}  {meeting}") + PLAIN)
        lines.append(safe(f"        {hit.subject}"))
        lines.append(safe(f"        {hit.sender}"))
        if hit.snippet:
            # Escape the mail's text, not our own match markers; then make the markers bold.
            pieces = hit.snippet.split(MARK_START)
            text = MARK_START.join(MARK_END.join(safe(part) for part in piece.split(MARK_END)) for piece in pieces)
            lines.append("        " + render_snippet(text, BOLD, PLAIN))
        if explain:
            lines.append(f"        found by: {hit.found_by}")
        lines.append("")
    return "\n".join(lines) + "\n"


def strip_styles(text: str) -> str:
    return text.replace(BOLD, "").replace(PLAIN, "")
