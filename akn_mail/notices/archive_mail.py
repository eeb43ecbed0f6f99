"""The archive by mail: commands to the -request address, answered with queued notices.

A contact without a shell mails ``akn-request@…``; the command is the subject (after
"Re:"/"AW:") or the first non-empty, unquoted line of the body, in German or English:

    suche WÖRTER       / search WORDS      the 10 best hits, as ``akn-mail search`` ranks them
    protokoll 2025-Q3  / minutes …         the current minutes of a meeting (also 11.03.2027, letztes)
    nachricht ID       / message ID        one archived post as .eml
    sitzungen [JAHR]   / meetings [YEAR]   the meetings with their minutes, missing ones marked
    termine            / dates             the next four meetings, with an .ics file
    hilfe              / help              all of this

The answer is in the language of the command word. Answers go only to contacts whose post
would pass the pipeline's sender check (``check_sender``); anyone else gets the help text
at most once a day (backscatter: the From of a stranger may be forged). A contact gets at
most ``ANSWERS_PER_HOUR`` answers an hour; further commands are logged, not answered.
Every answer is a template (``archive_*``) rendered to a plain text part plus a simple HTML
part, queued like every notice (null envelope sender, ``Auto-Submitted``), so it survives a
relay outage and is logged. Attachments larger than ``[archive] mail_answer_max_bytes`` are
listed with their size instead of attached.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import re
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from types import SimpleNamespace
from typing import Any

from akn_mail.notices.templating import Templates
from akn_mail.subject import strip_reply_markers

log = logging.getLogger("akn_mail.archive_mail")

ANSWERS_PER_HOUR = 20
HELP_TO_STRANGERS_PER_DAY = 1
SEARCH_HITS = 10
DATES_AHEAD = 4

# Command word -> (command, language of the answer).
COMMANDS = {
    "suche": ("search", "de"), "suchen": ("search", "de"), "search": ("search", "en"),
    "protokoll": ("minutes", "de"), "minutes": ("minutes", "en"),
    "nachricht": ("message", "de"), "message": ("message", "en"),
    "sitzungen": ("meetings", "de"), "meetings": ("meetings", "en"),
    "termine": ("dates", "de"), "dates": ("dates", "en"),
    "hilfe": ("help", "de"), "help": ("help", "en"),
}
TEMPLATE_OF = {
    "search": "archive_search", "minutes": "archive_minutes", "message": "archive_message",
    "meetings": "archive_meetings", "dates": "archive_dates", "help": "archive_help",
}
ANSWER_KINDS = tuple(TEMPLATE_OF.values())
LATEST_WORDS = ("letztes", "letzte", "neuestes", "aktuelles", "latest", "last", "newest")


@dataclass
class Command:
    name: str          # search | minutes | message | meetings | dates | help
    language: str      # de | en
    argument: str


@dataclass
class Answer:
    """What one command produces: template variables and the files to attach."""

    template: str
    variables: dict[str, Any]
    attachments: list[tuple[str, str, bytes]] = field(default_factory=list)   # (name, content type, data)


def find_command(subject: str, body: str) -> Command | None:
    """The archive command in the subject, else in the first non-empty unquoted body line."""
    candidates = [strip_reply_markers(subject or "")]
    for line in (body or "").splitlines():
        if line.strip() and not line.lstrip().startswith(">"):
            candidates.append(line)
            break
    for text in candidates:
        words = text.strip().split(None, 1)
        if not words:
            continue
        found = COMMANDS.get(words[0].lower().strip(".,:;!"))
        if found:
            return Command(found[0], found[1], words[1].strip() if len(words) > 1 else "")
    return None


def html_part(text: str, language: str) -> str:
    """The simple HTML twin of a plain-text answer: the same text, escaped, in a readable font."""
    return (
        f'<!DOCTYPE html>\n<html lang="{language}"><head><meta charset="utf-8"></head>\n'
        '<body><div style="font-family: Arial, Helvetica, sans-serif; font-size: 14px; white-space: pre-wrap">'
        f"{html.escape(text)}</div></body></html>\n"
    )


class ArchiveMail:
    """Answers archive commands for one -request mail (see the module docstring)."""

    def __init__(self, config, db, notices, archive_factory, rotation):
        self.config = config
        self.db = db
        self.notices = notices
        self._archive_factory = archive_factory
        self.rotation = rotation

    @property
    def archive(self):
        return self._archive_factory()

    # -- limits ------------------------------------------------------------------------------

    def answers_since(self, address: str, seconds: float, kinds: tuple[str, ...] = ANSWER_KINDS) -> int:
        """How many archive answers went to ADDRESS in the last SECONDS (from the queue's own rows)."""
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - seconds))
        return self.db.execute(
            f"""SELECT count(DISTINCT o.id) FROM outbound o JOIN deliveries d ON d.outbound_id = o.id
                WHERE o.kind IN ({', '.join('?' * len(kinds))}) AND lower(d.recipient) = lower(?) AND o.created_at >= ?""",
            (*kinds, address, since),
        ).fetchone()[0]

    # -- answering ---------------------------------------------------------------------------

    def handle(self, command: Command, replier: str, is_contact: bool, in_reply_to: str | None, key: str | None) -> str:
        """Answer COMMAND from REPLIER; returns what happened, for the log and the decision."""
        if not is_contact:
            if self.answers_since(replier, 86400, ("archive_help",)) >= HELP_TO_STRANGERS_PER_DAY:
                log.info("archive command not answered sender=%s reason=stranger-help-limit", replier)
                return f"{replier} is not a contact; help already sent today, not answered"
            self._send(Answer("archive_help", {"contact": False, "refused": command.name}), command.language,
                       replier, in_reply_to, key)
            return f"{replier} is not a contact: help sent instead of {command.name}"
        if self.answers_since(replier, 3600) >= ANSWERS_PER_HOUR:
            log.warning("archive command not answered sender=%s reason=rate-limit limit=%d/h", replier, ANSWERS_PER_HOUR)
            return f"{replier} had {ANSWERS_PER_HOUR} archive answers in the last hour; not answered"
        answer = getattr(self, f"_{command.name}")(command)
        self._send(answer, command.language, replier, in_reply_to, key)
        return f"archive {command.name} answered to {replier}"

    def _send(self, answer: Answer, language: str, replier: str, in_reply_to: str | None, key: str | None) -> int:
        templates = Templates(self.config, language)
        variables = dict(answer.variables)
        variables.setdefault("contact", True)
        variables.setdefault("refused", "")
        variables.setdefault("max_size", _size(self.config.archive.mail_answer_max_bytes))
        message = templates.message(answer.template, [replier], sender_alias="request", in_reply_to=in_reply_to,
                                    **variables)
        text = message.get_content()
        message.add_alternative(html_part(text, language), subtype="html", charset="utf-8")
        for name, content_type, data in answer.attachments:
            attach(message, name, content_type, data)
        outbound_id = self.notices.queue.enqueue(
            message.as_bytes(), [replier], message_id=str(message["Message-ID"]), sender="",
            kind=answer.template, key=key, subject=str(message["Subject"]),
        )
        log.info("archive answer queued template=%s outbound=%s recipient=%s attachments=%d", answer.template,
                 outbound_id, replier, len(answer.attachments))
        return outbound_id

    def _fits(self, size: int) -> bool:
        return size <= self.config.archive.mail_answer_max_bytes

    # -- the commands --------------------------------------------------------------------------

    def _help(self, command: Command) -> Answer:
        return Answer("archive_help", {})

    def _search(self, command: Command) -> Answer:
        from akn_mail.archive.search import ArchiveSearch

        if not command.argument:
            return Answer("archive_search", {"query": "", "hits": [], "problem": "empty"})
        problem = ""
        hits = []
        try:
            search = ArchiveSearch(self.archive.index, self.db)
            try:
                hits = search.search(command.argument, limit=SEARCH_HITS)
            finally:
                search.close()
        except Exception as error:  # a query error or a missing index: the answer says so
            problem = str(error)
        from akn_mail.archive.search import render_snippet

        return Answer("archive_search", {
            "query": command.argument, "problem": problem,
            "hits": [SimpleNamespace(id=hit.id, date=_day(hit.date), meeting=hit.meeting or "", host=hit.host or "",
                                     subject=hit.subject, sender=hit.sender, minutes=hit.minutes,
                                     snippet=" ".join(render_snippet(hit.snippet, "*", "*").split()))
                     for hit in hits],
        })

    def _minutes(self, command: Command) -> Answer:
        meeting_id, label = self._meeting_for(command.argument)
        variables: dict[str, Any] = {"query": command.argument, "meeting": label if meeting_id else "",
                                     "minutes": None, "listed": []}
        if meeting_id is None:
            return Answer("archive_minutes", variables)
        row = self.db.execute("SELECT archived_id FROM meeting_minutes WHERE meeting_id = ?", (meeting_id,)).fetchone()
        if row is None:
            return Answer("archive_minutes", variables)
        from akn_mail.archive.mime import read

        archive = self.archive
        stored = archive.meta.message(row[0])
        parsed = read(archive.maildir.get(stored.maildir_key))
        attachments, listed = [], []
        for part in parsed.attachments:
            if self._fits(len(part.data)):
                attachments.append((part.filename, part.content_type, part.data))
            else:
                listed.append(SimpleNamespace(name=part.filename, size=_size(len(part.data))))
        variables.update(minutes=SimpleNamespace(
            id=stored.id, subject=stored.subject, date=_day(stored.date), sender=stored.from_name or stored.from_address,
            host=stored.host or "", version=stored.minutes_version or 1, body=parsed.body.strip(),
            attached=[name for name, _, _ in attachments],
        ), listed=listed)
        return Answer("archive_minutes", variables, attachments)

    def _meeting_for(self, text: str) -> tuple[int | None, str]:
        """The meeting a `protokoll` argument names: a quarter, a date, or the latest minutes."""
        from akn_mail.archive.meetings import subject_reference
        from akn_mail.archive.store import meeting_label

        text = text.strip()
        if not text or text.lower().strip(".") in LATEST_WORDS:
            row = self.db.execute(
                """SELECT mt.id, mt.kind, mt.quarter, mt.date FROM meeting_minutes mm JOIN meetings mt ON mt.id = mm.meeting_id
                   ORDER BY mt.quarter DESC, coalesce(mt.date, '') DESC, mt.id DESC LIMIT 1""").fetchone()
            return (row["id"], meeting_label(row["kind"], row["quarter"], row["date"])) if row else (None, text)
        reference = subject_reference(text)
        if reference is None:
            return None, text
        row = None
        if reference.date is not None:
            row = self.db.execute(
                "SELECT id, kind, quarter, date FROM meetings WHERE date = ? AND status != 'cancelled' "
                "ORDER BY kind = 'regular' DESC, id LIMIT 1", (reference.date.isoformat(),)).fetchone()
        if row is None:
            row = self.db.execute("SELECT id, kind, quarter, date FROM meetings WHERE kind = 'regular' AND quarter = ?",
                                  (str(reference.quarter),)).fetchone()
        if row is None:
            return None, str(reference.date.isoformat() if reference.date else reference.quarter)
        return row["id"], meeting_label(row["kind"], row["quarter"], row["date"])

    def _message(self, command: Command) -> Answer:
        from akn_mail.archive.store import ArchiveError

        ident = command.argument.split()[0].strip("#") if command.argument else ""
        variables: dict[str, Any] = {"ident": ident, "message": None, "listed": None}
        if not ident:
            return Answer("archive_message", variables)
        archive = self.archive
        try:
            stored = archive.meta.message(ident)
            raw = archive.maildir.get(stored.maildir_key)
        except ArchiveError:
            return Answer("archive_message", variables)
        name = f"nachricht-{stored.id}.eml"
        variables["message"] = SimpleNamespace(id=stored.id, subject=stored.subject, date=_day(stored.date),
                                               sender=stored.from_name or stored.from_address, file=name)
        if not self._fits(len(raw)):
            variables["listed"] = SimpleNamespace(name=name, size=_size(len(raw)))
            return Answer("archive_message", variables)
        return Answer("archive_message", variables, [(name, "message/rfc822", raw)])

    def _meetings(self, command: Command) -> Answer:
        from akn_mail.archive.listing import meeting_overview

        year = None
        match = re.fullmatch(r"\s*(\d{4})\s*", command.argument or "")
        if match:
            year = int(match.group(1))
        entries = meeting_overview(self.db, self.rotation, year=year)
        return Answer("archive_meetings", {"year": year, "meetings": [
            SimpleNamespace(meeting=entry.meeting, date=entry.date or "", host=entry.host or "", flags=entry.flags,
                            minutes_id=entry.archived_id, subject=entry.minutes_subject, versions=entry.versions,
                            missing="missing" in entry.flags, cancelled="cancelled" in entry.flags)
            for entry in entries
        ]})

    def _dates(self, command: Command) -> Answer:
        from akn_mail.roster.ics import to_ics

        today = dt.date.today()
        try:
            schedule = self.rotation.schedule(DATES_AHEAD + 4, today=today, store_start=False)
        except Exception:  # no roster or rotation yet
            schedule = []
        upcoming = [entry for entry in schedule if entry.status != "cancelled" and entry.host is not None
                    and (entry.date is None or entry.date >= today)][:DATES_AHEAD]
        attachments = []
        if any(entry.date for entry in upcoming):
            attachments.append(("termine.ics", "text/calendar", to_ics(upcoming, self.config.list_domain,
                                                                         self.config.list.name)))
        return Answer("archive_dates", {"meetings": [
            SimpleNamespace(quarter=entry.quarter, kind=entry.kind, date=entry.date, host=entry.host.name,
                            place=entry.place or "", time=getattr(entry, "start_time", None) or "")
            for entry in upcoming
        ], "ics": bool(attachments)}, attachments)


def attach(message: EmailMessage, name: str, content_type: str, data: bytes) -> None:
    """Attach DATA under NAME; an .eml goes as message/rfc822."""
    maintype, _, subtype = content_type.partition("/")
    if maintype == "message":
        import email

        from akn_mail.message import SMTP_POLICY

        # message/rfc822: mail programs open it as a mail of its own (Outlook and Thunderbird
        # by a double click); the archived bytes are parsed and written out again.
        message.add_attachment(email.message_from_bytes(data, policy=SMTP_POLICY), filename=name)
        return
    if maintype == "text" and subtype == "calendar":
        message.add_attachment(data.decode("utf-8"), subtype="calendar", filename=name, charset="utf-8")
        return
    message.add_attachment(data, maintype=maintype or "application", subtype=subtype or "octet-stream", filename=name)


def _day(value: str) -> dt.date | str:
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return value


def _size(size: int) -> str:
    """1 KB, 39 KB, 15 MB, 38,2 MB."""
    if size < 1024 * 1024:
        return f"{max(1, size // 1024)} KB"
    megabytes = size / 1024 / 1024
    return f"{megabytes:.0f} MB" if megabytes == int(megabytes) else f"{megabytes:.1f} MB".replace(".", ",")
