"""The static HTML archive: which pages exist, what they show, and writing only what changed.

``Site(config, db).render(target)`` writes the whole site; ``render(target, changed=[ids])``
only the pages a newly filed post can change: the start page, the feeds, the pages of its
thread, its meeting, its month, the last part of the search index and its attachments.
Either way a page is written only when its bytes differ from the file on disk (written to
a temporary name and renamed, so a web server never serves half a page). The pages are
jinja2 templates with autoescaping on (``web/templates``; a site may override one by
putting a file of the same name into ``<[templates] directory>/web/``): every subject,
name and file name from mail is escaped.

Layout of the directory:
    index.html                 start page: next meeting, latest minutes, meetings by year
    sitzungen/2027-Q1.html     one page per meeting (extra meetings: extra-2027-02-10-7.html)
    faden/<hash>.html          one page per thread, each post with the anchor #m<archive ID>
    monat/2027-03.html         the threads of a month
    dateien/<ID>/<n>-<name>    the attachments, to download
    suche.html, suche.js, suche/teil-<n>.js       the search page and its prebuilt index (500 posts a part)
    protokolle.atom, beitraege.atom               the feeds
    stil.css

Settings: [archive] html_dir (render after every filing), html_public (names only, no
addresses; false puts a note on every page that the directory belongs behind the web
server's authentication), [list] archive_url (absolute links in the feeds, Archived-At).
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import re
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote

import jinja2

from akn_mail.archive.analysis import STOP_WORDS
from akn_mail.archive.listing import MeetingEntry, meeting_overview
from akn_mail.archive.store import MESSAGE_SELECT, StoredMessage
from akn_mail.roster.quarter import Quarter
from akn_mail.web.addresses import message_path, thread_slug
from akn_mail.web.feeds import FEED_ENTRIES, atom_feed
from akn_mail.web.texts import ADDRESS as _ADDRESS, TextCache

log = logging.getLogger("akn_mail.web")

LATEST_MINUTES = 5
SEARCH_SUMMARY_CHARS = 160
# Posts per part of the search index, by archive ID: a new post changes only the last part.
SHARD_SIZE = 500
_DISK_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
HIDDEN_ADDRESS = "[Adresse verborgen]"
MONTH_NAMES = ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
               "November", "Dezember")
STATIC_FILES = ("stil.css", "suche.js")


def meeting_slug(kind: str, quarter: str, date: str | None, meeting_id: int | None) -> str:
    if kind == "regular":
        return quarter
    return f"extra-{date}-{meeting_id}" if date else f"extra-{meeting_id}"


def german_date(value: str | datetime.date | None) -> str:
    if not value:
        return ""
    if isinstance(value, str):
        try:
            value = datetime.datetime.fromisoformat(value) if "T" in value else datetime.date.fromisoformat(value)
        except ValueError:
            return value
    return value.strftime("%d.%m.%Y")


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} Byte"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB".replace(".", ",")
    return f"{size / 1024 / 1024:.1f} MB".replace(".", ",")


def attachment_path(archived_id: int, position: int, filename: str) -> str:
    """Where an attachment is stored in the site: only harmless characters in the file name."""
    name = _DISK_UNSAFE.sub("_", filename).strip("._") or "anhang"
    return f"dateien/{archived_id}/{position}-{name[:100]}"


class PostLine(NamedTuple):
    """One post in a list (a meeting's posts, the search index)."""

    id: int
    message_id: str
    maildir_key: str
    thread_id: str
    date: str
    subject: str
    from_name: str
    from_address: str
    member_name: str
    is_minutes: int
    meeting_id: int | None


@dataclass
class RenderResult:
    """What a render did: the pages written (changed) and how many were already up to date."""

    written: list[str] = field(default_factory=list)
    unchanged: int = 0
    seconds: float = 0.0

    @property
    def summary(self) -> str:
        return f"{len(self.written)} written, {self.unchanged} unchanged"


class Site:
    """Renders the archive of one list into a directory."""

    def __init__(self, config, db, archive=None, today: datetime.date | None = None):
        self.config = config
        self.db = db
        if archive is None:
            from akn_mail.archive.filing import Archive

            archive = Archive(config, db)
        self.archive = archive
        self.meta = archive.meta
        self.today = today or datetime.date.today()
        self.public = config.archive.html_public
        self.environment = self._environment()

    # -- templates -------------------------------------------------------------------------

    def _environment(self) -> jinja2.Environment:
        loaders: list[jinja2.BaseLoader] = []
        if self.config.templates.directory:
            loaders.append(jinja2.FileSystemLoader(str(self.config.resolve(self.config.templates.directory) / "web")))
        loaders.append(jinja2.PackageLoader("akn_mail.web", "templates"))
        environment = jinja2.Environment(
            loader=jinja2.ChoiceLoader(loaders), autoescape=True, trim_blocks=True, lstrip_blocks=True,
            undefined=jinja2.StrictUndefined,
        )
        environment.filters["datum"] = german_date
        environment.filters["groesse"] = human_size
        environment.filters["url"] = lambda value: quote(str(value), safe="/#.-_~")
        return environment

    def _page(self, template: str, root: str, **values) -> bytes:
        values.setdefault("title", self.config.list.name)
        html = self.environment.get_template(template).render(
            root=root, list_name=self.config.list.name, description=self.config.list.description,
            public=self.public, request_address=self.config.list_alias("request"), **values,
        )
        return html.encode("utf-8")

    # -- what mail says, as a page shows it ------------------------------------------------

    def sender(self, message: StoredMessage) -> str:
        """Name (and member); the address only where the archive is not public."""
        name = message.from_name or ""
        if self.public:
            name = _ADDRESS.sub(HIDDEN_ADDRESS, name) or message.member_name or "Unbekannt"
            if message.member_name and message.member_name != name:
                name = f"{name} ({message.member_name})"
            return name
        text = f"{name} <{message.from_address}>" if name else message.from_address
        if message.member_name:
            text += f" ({message.member_name})"
        return text or "Unbekannt"

    def body(self, text: str) -> str:
        return _ADDRESS.sub(HIDDEN_ADDRESS, text) if self.public else text

    # -- data ------------------------------------------------------------------------------

    def _select(self, where: str, params=(), order: str = " ORDER BY am.date, am.id") -> list[StoredMessage]:
        rows = self.db.execute(MESSAGE_SELECT + where + order, params).fetchall()
        return self.meta._messages(rows)

    def meetings(self) -> list[MeetingEntry]:
        return meeting_overview(self.db, self.meta.rotation, today=self.today)

    def next_meeting(self):
        try:
            schedule = self.meta.rotation.schedule(5, Quarter.of(self.today), today=self.today)
        except Exception:  # no roster or rotation yet
            return None
        for item in schedule:
            if item.status in ("cancelled", "held", "unassigned") or item.host is None:
                continue
            if item.date is not None and item.date < self.today:
                continue
            return item
        return None

    # -- rendering -------------------------------------------------------------------------

    def render(self, target: Path, changed: list[int] | None = None) -> RenderResult:
        """Write the site into TARGET: everything (changed=None) or what posts CHANGED touch."""
        started = time.perf_counter()
        result = RenderResult()
        target = Path(target)
        target.mkdir(parents=True, exist_ok=True)
        texts = TextCache(self.config.data_dir / "web-cache.sqlite3", self.archive)
        try:
            self._render(target, changed, texts, result)
        finally:
            texts.close()
        result.seconds = time.perf_counter() - started
        return result

    def _render(self, target: Path, changed: list[int] | None, texts: TextCache, result: RenderResult) -> None:
        meetings = self._meetings = self.meetings()
        self._links_by_meeting = {entry.meeting_id: self._meeting_link(entry) for entry in meetings
                                  if entry.meeting_id is not None}
        self._minutes_of = None
        months = [row[0] for row in self.db.execute("SELECT DISTINCT substr(date, 1, 7) FROM archived_messages ORDER BY 1")]
        last_id = self.db.execute("SELECT coalesce(max(id), 0) FROM archived_messages").fetchone()[0]
        shards = list(range(last_id // SHARD_SIZE + 1)) if last_id else []
        if changed is None:
            threads = [row[0] for row in self.db.execute("SELECT DISTINCT thread_id FROM archived_messages")]
            render_months, render_shards, render_meetings = months, shards, meetings
            attachments_of = None
        else:
            posts = self._lines(f" WHERE id IN ({', '.join('?' * len(changed))})", changed) if changed else []
            threads = sorted({post.thread_id for post in posts})
            render_months = sorted({post.date[:7] for post in posts})
            render_shards = sorted({post.id // SHARD_SIZE for post in posts})
            quarters = {str(Quarter.of(datetime.date.fromisoformat(post.date[:10]))) for post in posts}
            meeting_ids = {post.meeting_id for post in posts if post.meeting_id is not None}
            render_meetings = [entry for entry in meetings
                               if entry.meeting_id in meeting_ids or (entry.kind == "regular" and entry.quarter in quarters)]
            attachments_of = [post.id for post in posts]
        for name in STATIC_FILES:
            self._write(target, name, resources.files("akn_mail.web").joinpath("static", name).read_bytes(), result)
        self._write(target, "index.html", self._start_page(meetings, months), result)
        self._write(target, "suche.html", self._search_page(shards), result)
        for entry in render_meetings:
            self._write(target, f"sitzungen/{self._slug(entry)}.html", self._meeting_page(entry, meetings, texts), result)
        for thread_id in threads:
            self._write(target, f"faden/{thread_slug(thread_id)}.html", self._thread_page(thread_id, texts), result)
        for month in render_months:
            self._write(target, f"monat/{month}.html", self._month_page(month), result)
        for shard in render_shards:
            self._write(target, f"suche/teil-{shard}.js", self._search_shard(shard, texts), result)
        self._write_attachments(target, attachments_of, result)
        self._write(target, "protokolle.atom", self._feed(True, texts), result)
        self._write(target, "beitraege.atom", self._feed(False, texts), result)

    def _lines(self, where: str, params=(), order: str = " ORDER BY date, id") -> list["PostLine"]:
        """Posts as lists show them: cheaper than StoredMessage (no meeting or host lookup)."""
        rows = self.db.execute(
            "SELECT id, message_id, maildir_key, thread_id, date, subject, from_name, from_address, member_name, is_minutes, meeting_id "
            "FROM archived_messages" + where + order, params,
        ).fetchall()
        return [PostLine(*row) for row in rows]

    def _slug(self, entry: MeetingEntry) -> str:
        return meeting_slug(entry.kind, entry.quarter, entry.date, entry.meeting_id)

    def _write(self, target: Path, name: str, data: bytes, result: RenderResult) -> None:
        path = target / name
        try:
            if path.read_bytes() == data:
                result.unchanged += 1
                return
        except FileNotFoundError:
            pass
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_bytes(data)
        os.replace(temporary, path)
        result.written.append(name)

    # -- pages -----------------------------------------------------------------------------

    def _meeting_link(self, entry: MeetingEntry) -> dict:
        return {
            "entry": entry, "href": f"sitzungen/{self._slug(entry)}.html",
            "title": self._meeting_title(entry),
        }

    @staticmethod
    def _meeting_title(entry: MeetingEntry) -> str:
        if entry.kind == "regular":
            quarter = Quarter.parse(entry.quarter)
            return f"Sitzung {quarter.number}. Quartal {quarter.year}"
        return f"Sondersitzung am {german_date(entry.date)}" if entry.date else "Sondersitzung"

    def _start_page(self, meetings: list[MeetingEntry], months: list[str]) -> bytes:
        by_year: dict[str, list[dict]] = {}
        for entry in meetings:
            by_year.setdefault(entry.quarter[:4], []).append(self._meeting_link(entry))
        latest = self._select(" WHERE am.is_minutes = 1 AND mm.archived_id = am.id", (),
                              " ORDER BY am.date DESC, am.id DESC LIMIT %d" % LATEST_MINUTES)
        links = {entry.meeting_id: self._meeting_link(entry) for entry in meetings}
        latest_minutes = [
            {"message": message, "href": links[message.meeting_id]["href"] if message.meeting_id in links else message_path(message)}
            for message in latest
        ]
        counts = dict(self.db.execute("SELECT substr(date, 1, 7), count(*) FROM archived_messages GROUP BY 1").fetchall())
        post_years: dict[str, list[tuple[str, int]]] = {}
        for month in months:
            post_years.setdefault(month[:4], []).append((month, counts.get(month, 0)))
        upcoming = self.next_meeting()
        upcoming_link = None
        if upcoming is not None:
            upcoming_link = next((link for link in links.values() if link["entry"].meeting_id == upcoming.meeting_id
                                  and upcoming.meeting_id is not None), None)
        return self._page(
            "start.html", "", title="Start", upcoming=upcoming, upcoming_link=upcoming_link,
            latest_minutes=latest_minutes, years=sorted(by_year.items(), reverse=True),
            post_years=sorted(post_years.items(), reverse=True), month_names=MONTH_NAMES,
        )

    def _meeting_page(self, entry: MeetingEntry, meetings: list[MeetingEntry], texts: TextCache) -> bytes:
        versions = []
        if entry.meeting_id is not None:
            versions = self._select(" WHERE am.meeting_id = ? AND am.is_minutes = 1", (entry.meeting_id,),
                                    " ORDER BY am.minutes_version DESC, am.id DESC")
        current = next((message for message in versions if message.id == entry.archived_id), None)
        earlier = [message for message in versions if current is None or message.id != current.id]
        posts = []
        if entry.kind == "regular":
            quarter = Quarter.parse(entry.quarter)
            posts = self._lines(" WHERE date >= ? AND date < ?",
                                (quarter.first_day.isoformat(), (quarter + 1).first_day.isoformat()))
        place = ""
        if entry.meeting_id is not None:
            row = self.db.execute("SELECT place FROM meetings WHERE id = ?", (entry.meeting_id,)).fetchone()
            place = row["place"] if row and row["place"] else ""
        regular_link = None
        if entry.kind == "extra":
            regular_link = next((self._meeting_link(other) for other in meetings
                                 if other.kind == "regular" and other.quarter == entry.quarter), None)
        body = self.body(texts.get([current])[current.id].body) if current else ""
        return self._page(
            "meeting.html", "../", title=self._meeting_title(entry), entry=entry, place=place, current=current,
            body=body, earlier=earlier, posts=posts, regular_link=regular_link,
            attachments={message.id: self._attachments(message) for message in versions},
            sender=self.sender, message_path=message_path,
        )

    def _attachments(self, message: StoredMessage) -> list[dict]:
        return [
            {"name": row["filename"], "href": attachment_path(message.id, row["position"], row["filename"]),
             "size": row["size"], "type": row["content_type"]}
            for row in self.meta.attachments(message.id)
        ]

    def _thread_page(self, thread_id: str, texts: TextCache) -> bytes:
        posts = self._lines(" WHERE thread_id = ?", (thread_id,))
        bodies = texts.get(posts)
        links = self._links_by_meeting
        return self._page(
            "thread.html", "../", title=posts[0].subject if posts else "Faden", posts=[
                {"message": post, "sender": self.sender(post), "body": self.body(bodies[post.id].body),
                 "attachments": self._attachments(post), "meeting": links.get(post.meeting_id)}
                for post in posts
            ],
        )

    def _month_page(self, month: str) -> bytes:
        rows = self.db.execute(
            """SELECT thread_id, count(*) AS posts, max(date) AS last, max(is_minutes) AS minutes,
                      (SELECT subject FROM archived_messages first WHERE first.thread_id = am.thread_id
                       AND substr(first.date, 1, 7) = ? ORDER BY first.date, first.id LIMIT 1) AS subject
               FROM archived_messages am WHERE substr(date, 1, 7) = ?
               GROUP BY thread_id ORDER BY max(date) DESC""",
            (month, month),
        ).fetchall()
        threads = [{"href": f"faden/{thread_slug(row['thread_id'])}.html", "subject": row["subject"],
                    "posts": row["posts"], "last": row["last"], "minutes": row["minutes"]} for row in rows]
        title = f"Beiträge {MONTH_NAMES[int(month[5:7]) - 1]} {month[:4]}"
        return self._page("month.html", "../", title=title, threads=threads)

    def _search_page(self, shards: list[int]) -> bytes:
        return self._page("search.html", "", title="Suche", shards=shards, stop_words=json.dumps(sorted(STOP_WORDS)))

    def _search_shard(self, shard: int, texts: TextCache) -> bytes:
        """One part of the search index: its posts, and per word the posts that have it."""
        posts = self._lines(" WHERE id >= ? AND id < ?", (shard * SHARD_SIZE, (shard + 1) * SHARD_SIZE))
        cached = texts.get(posts)
        minutes = self._minutes_meetings()
        documents = []
        words: dict[str, list[int]] = {}
        for number, post in enumerate(posts):
            text = cached[post.id]
            meeting, host = minutes.get(post.id, ("", ""))
            documents.append([
                post.date[:10], post.subject, self.sender(post), message_path(post), post.is_minutes,
                self.body(text.summary)[:SEARCH_SUMMARY_CHARS], meeting, host, post.id,
            ])
            for word in text.words:
                words.setdefault(word, []).append(number)
        payload = json.dumps({"docs": documents, "words": words}, ensure_ascii=False, separators=(",", ":"))
        payload = payload.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").replace("<", "\\u003c")
        return f"window.AKN_SUCHE = window.AKN_SUCHE || [];\nwindow.AKN_SUCHE.push({payload});\n".encode("utf-8")

    def _minutes_meetings(self) -> dict[int, tuple[str, str]]:
        """Archive ID of each minutes -> (meeting, host), from the meetings of this render."""
        if self._minutes_of is not None:
            return self._minutes_of
        found = self._minutes_of = {}
        for entry in self._meetings:
            if entry.meeting_id is None:
                continue
            for row in self.db.execute("SELECT id FROM archived_messages WHERE meeting_id = ? AND is_minutes = 1",
                                       (entry.meeting_id,)):
                found[row[0]] = (entry.meeting, entry.host or "")
        return found

    def _write_attachments(self, target: Path, archived_ids: list[int] | None, result: RenderResult) -> None:
        """Copy attachments into dateien/ (once: an archived post never changes)."""
        if archived_ids is None:
            archived_ids = [row[0] for row in self.db.execute(
                "SELECT DISTINCT archived_id FROM archived_attachments ORDER BY archived_id")]
        from akn_mail.archive.mime import read

        for archived_id in archived_ids:
            rows = self.meta.attachments(archived_id)
            if not rows:
                continue
            wanted = {row["position"]: attachment_path(archived_id, row["position"], row["filename"]) for row in rows}
            if all((target / path).exists() for path in wanted.values()):
                result.unchanged += len(wanted)
                continue
            message = self.meta.message(archived_id)
            try:
                parsed = read(self.archive.maildir.get(message.maildir_key))
            except Exception:
                continue
            for attachment in parsed.attachments:
                path = wanted.get(attachment.position)
                if path is not None:
                    self._write(target, path, attachment.data, result)

    def _feed(self, minutes_only: bool, texts: TextCache) -> bytes:
        where = " WHERE am.is_minutes = 1" if minutes_only else ""
        posts = self._select(where, (), f" ORDER BY am.date DESC, am.id DESC LIMIT {FEED_ENTRIES}")
        cached = texts.get(posts)
        base = self.config.list.archive_url.rstrip("/")
        prefix = f"{base}/" if base else ""
        name = "protokolle.atom" if minutes_only else "beitraege.atom"
        title = f"{self.config.list.name}: " + ("Protokolle" if minutes_only else "alle Beiträge")
        entries = [
            {"message_id": post.message_id, "title": post.subject, "author": self._feed_author(post), "date": post.date,
             "href": prefix + message_path(post), "summary": self.body(cached[post.id].summary)}
            for post in posts
        ]
        return atom_feed(title=title, feed_id=f"urn:akn-mail:{self.config.list_id}:{name}", self_href=prefix + name,
                         site_href=prefix + "index.html", entries=entries)

    def _feed_author(self, message: StoredMessage) -> str:
        name = message.from_name or message.member_name
        if self.public:
            return _ADDRESS.sub(HIDDEN_ADDRESS, name) or "Unbekannt"
        return name or message.from_address


def update_after_filing(config, db, archive, archived_ids: list[int] | None) -> RenderResult | None:
    """Bring [archive] html_dir up to date after posts were filed (None: check every page).

    A failure is logged, never raised: the HTML archive is derived, and a full ``akn-mail
    archive html`` repairs it; it must never keep a post from being distributed.
    """
    if not config.archive.html_dir:
        return None
    target = config.resolve(config.archive.html_dir)
    try:
        result = Site(config, db, archive=archive).render(target, changed=archived_ids)
    except Exception:
        log.exception("the HTML archive in %s could not be updated; run: akn-mail archive html", target)
        return None
    log.info("html archive updated dir=%s written=%d unchanged=%d seconds=%.3f", target, len(result.written),
             result.unchanged, result.seconds)
    return result
