"""The static HTML archive: pages, escaping, privacy, incremental rendering, feeds, headers.

Real SQLite, a real Maildir, real PDFs; the hostile-mail test goes through the running
service (smtplib -> aiosmtpd -> pipeline) with [archive] html_dir set.
"""

from __future__ import annotations

import datetime
import re
from html.parser import HTMLParser
from pathlib import Path

import feedparser
import pytest
from click.testing import CliRunner

from akn_mail import db as db_module
from akn_mail import message as message_module
from akn_mail.cli import cli
from akn_mail.web.site import Site
from akn_mail.web.texts import search_words

from archive_support import archive_for, mail, pdf_bytes, setup_roster
from service_support import Relay, StaticResolver, ThreadedService, configure, load_roster, send

TODAY = datetime.date(2027, 8, 1)


@pytest.fixture
def filled(config, database):
    """Minutes of 2027-Q1 (a PDF) in a second version, a thread of two posts, a Q2 post."""
    setup_roster(database, "2027-Q1")
    archive = archive_for(config, database)
    archive.file(mail("Wärmeplanung in Dormagen", "Wir besprechen die kommunale Wärmeplanung.", message_id="w1@x",
                      date="2027-02-10"))
    archive.file(mail("Re: Wärmeplanung in Dormagen", "Förderprogramme gibt es genug.", message_id="w2@x",
                      sender="bernd@grevenbroich.example", in_reply_to="w1@x", date="2027-02-11"))
    archive.file(mail("[Protokoll] Sitzung 2027-Q1", "Das Protokoll der Sitzung im Anhang.", message_id="p1@x",
                      date="2027-03-25", attachments=[("Protokoll Q1.pdf", pdf_bytes(["Radverkehr in Dormagen"]), "application/pdf")]))
    archive.file(mail("[Protokoll] Sitzung 2027-Q1 (korrigiert)", "Korrigierte Fassung.", message_id="p2@x",
                      date="2027-03-28", attachments=[("Protokoll Q1 v2.pdf", pdf_bytes(["Radverkehr, korrigiert"]), "application/pdf")]))
    archive.file(mail("Stadtbäume im Sommer", "Gießen der Stadtbäume.", message_id="s1@x",
                      sender="clara@juechen.example", date="2027-05-03"))
    return archive


def site(config, database, archive) -> Site:
    return Site(config, database, archive=archive, today=TODAY)


class Outline(HTMLParser):
    """What a screen reader lists: headings, landmarks, link texts; and every tag/attribute."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.headings: list[str] = []
        self.links: list[str] = []
        self._stack: list[str] = []
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("h1", "h2", "h3", "a"):
            self._stack.append(tag)
            self._text = []

    def handle_endtag(self, tag):
        if self._stack and self._stack[-1] == tag:
            self._stack.pop()
            text = " ".join("".join(self._text).split())
            (self.links if tag == "a" else self.headings).append(text)

    def handle_data(self, data):
        if self._stack:
            self._text.append(data)


def outline(path: Path) -> Outline:
    parser = Outline()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def test_full_render_writes_start_meeting_thread_year_search_and_feed_pages(config, database, filled, tmp_path):
    target = tmp_path / "site"
    result = site(config, database, filled).render(target)
    for name in ("index.html", "sitzungen/2027-Q1.html", "sitzungen/2027-Q2.html", "monat/2027-02.html",
                 "monat/2027-05.html", "suche.html", "suche.js", "suche/teil-0.js", "stil.css", "protokolle.atom", "beitraege.atom"):
        assert (target / name).is_file(), name
    assert len(list((target / "faden").glob("*.html"))) == 4  # Wärmeplanung, two minutes, Stadtbäume
    assert sorted(result.written) == sorted(str(path.relative_to(target)) for path in target.rglob("*") if path.is_file())

    start = outline(target / "index.html")
    assert ("html", {"lang": "de"}) in start.tags
    assert {"header", "nav", "main", "footer"} <= {tag for tag, _ in start.tags}
    assert start.headings[0] == "Archiv der Allianz für Klima und Nachhaltigkeit im Rhein-Kreis Neuss"
    assert {"Nächste Sitzung", "Neueste Protokolle", "Sitzungen nach Jahr", "Beiträge nach Monat"} <= set(start.headings)
    assert "[Protokoll] Sitzung 2027-Q1 (korrigiert)" in start.links  # latest minutes
    assert "Sitzung 1. Quartal 2027" in start.links
    text = (target / "index.html").read_text(encoding="utf-8")
    assert "ausgerichtet von <strong>Jüchen</strong>" in text  # next meeting: 2027-Q3 (rotation Dormagen, Grevenbroich, Jüchen, Kaarst)
    # Q2 is over without minutes: marked missing
    assert re.search(r'<tr class="missing">\s*<th scope="row"><a href="sitzungen/2027-Q2.html">', text)

    meeting = (target / "sitzungen/2027-Q1.html").read_text(encoding="utf-8")
    assert "<h3>[Protokoll] Sitzung 2027-Q1 (korrigiert)</h3>" in meeting
    assert "Korrigierte Fassung." in meeting
    assert 'href="../dateien/4/1-Protokoll_Q1_v2.pdf" download>Protokoll Q1 v2.pdf</a>' in meeting
    assert "Frühere Fassungen" in meeting and "Fassung 1: [Protokoll] Sitzung 2027-Q1</a>" in meeting
    assert "Wärmeplanung in Dormagen</a>" in meeting  # the posts of the quarter
    assert (target / "dateien/4/1-Protokoll_Q1_v2.pdf").read_bytes().startswith(b"%PDF")
    assert "Das Protokoll fehlt noch." in (target / "sitzungen/2027-Q2.html").read_text(encoding="utf-8")


def test_thread_page_shows_every_post_with_an_anchor(config, database, filled, tmp_path):
    target = tmp_path / "site"
    site(config, database, filled).render(target)
    first = filled.meta.message("w1@x")
    page = [path for path in (target / "faden").glob("*.html") if 'id="m1"' in path.read_text(encoding="utf-8")][0]
    text = page.read_text(encoding="utf-8")
    assert 'id="m2"' in text and "Förderprogramme gibt es genug." in text
    assert outline(page).headings[:1] == ["Wärmeplanung in Dormagen"]
    from akn_mail.web.addresses import message_path

    assert message_path(first) == f"faden/{page.name}#m1"


def test_search_index_uses_the_archives_german_folding(config, database, filled, tmp_path):
    assert search_words("Wärme Waerme WÄRME Straße") == ["warme", "strasse"]
    target = tmp_path / "site"
    site(config, database, filled).render(target)
    shard = (target / "suche/teil-0.js").read_text(encoding="utf-8")
    assert '"warmeplanung":[0,1]' in shard
    assert '"stadtbaume":[4]' in shard
    search = (target / "suche.html").read_text(encoding="utf-8")
    assert '<script src="suche/teil-0.js" defer></script>' in search
    # Without JavaScript the page says how to search by mail.
    noscript = search[search.index("<noscript>"):search.index("</noscript>")]
    assert "akn-request@lists.example" in noscript and "suche WÖRTER" in noscript


def test_rendering_again_writes_nothing_and_a_new_post_rewrites_only_its_pages(config, database, filled, tmp_path):
    target = tmp_path / "site"
    renderer = site(config, database, filled)
    renderer.render(target)
    before = {path: path.stat().st_mtime_ns for path in target.rglob("*") if path.is_file()}
    again = renderer.render(target)
    assert again.written == []
    assert again.unchanged == len(before)

    filed = filled.file(mail("Re: Stadtbäume im Sommer", "Auch in Kaarst.", message_id="s2@x",
                             sender="dirk@kaarst.example", in_reply_to="s1@x", date="2027-05-04"))
    thread = filled.meta.message("s1@x")
    from akn_mail.web.addresses import thread_slug

    incremental = renderer.render(target, changed=[filed.message.id])
    assert sorted(incremental.written) == sorted([
        "index.html",                               # post count of May 2027
        "sitzungen/2027-Q2.html",                   # the posts of the quarter
        f"faden/{thread_slug(thread.thread_id)}.html",
        "monat/2027-05.html", "suche/teil-0.js", "beitraege.atom",
    ])
    # Pages the post does not touch were not even rewritten.
    assert (target / "sitzungen/2027-Q1.html").stat().st_mtime_ns == before[target / "sitzungen/2027-Q1.html"]
    # ... and a full render afterwards agrees with the incremental one.
    assert renderer.render(target).written == []


def test_both_atom_feeds_parse_with_feedparser(config, database, filled, tmp_path):
    config.list.archive_url = "https://akn.example/archiv/"
    target = tmp_path / "site"
    site(config, database, filled).render(target)
    minutes = feedparser.parse((target / "protokolle.atom").read_bytes())
    assert not minutes.bozo, minutes.bozo_exception
    assert [entry.title for entry in minutes.entries] == ["[Protokoll] Sitzung 2027-Q1 (korrigiert)", "[Protokoll] Sitzung 2027-Q1"]
    assert minutes.entries[0].link.startswith("https://akn.example/archiv/faden/")
    assert minutes.feed.title == "AKN: Protokolle"
    posts = feedparser.parse((target / "beitraege.atom").read_bytes())
    assert not posts.bozo, posts.bozo_exception
    assert len(posts.entries) == 5
    assert posts.entries[0].title == "Stadtbäume im Sommer"
    assert posts.entries[0].author == "Kontakt"


def test_private_archive_shows_addresses_and_says_it_belongs_behind_authentication(config, database, filled, tmp_path):
    target = tmp_path / "site"
    site(config, database, filled).render(target)
    page = next(path for path in (target / "faden").glob("*.html") if "Wärmeplanung" in path.read_text(encoding="utf-8"))
    text = page.read_text(encoding="utf-8")
    assert "anna@dormagen.example" in text
    assert "gehört hinter die Anmeldung des Webservers" in text
    assert "gehört hinter die Anmeldung des Webservers" in (target / "index.html").read_text(encoding="utf-8")


def test_public_archive_shows_names_only(config, database, filled, tmp_path):
    config.archive.html_public = True
    filled.file(mail("Kontaktdaten", "Schreiben Sie an anna@dormagen.example oder bernd@grevenbroich.example.",
                     message_id="k1@x", date="2027-05-05"))
    target = tmp_path / "site"
    site(config, database, filled).render(target)
    for path in target.rglob("*"):
        if path.is_file() and path.suffix in (".html", ".js", ".atom"):
            text = path.read_text(encoding="utf-8")
            assert "@dormagen.example" not in text and "@grevenbroich.example" not in text, path
    assert "[Adresse verborgen]" in "".join(path.read_text(encoding="utf-8") for path in (target / "faden").glob("*.html"))
    assert "gehört hinter die Anmeldung" not in (target / "index.html").read_text(encoding="utf-8")


HOSTILE_SUBJECT = '<script>alert("s")</script> "onerror=alert(1) x=" ../../etc'
HOSTILE_NAME = '<img src=x onerror=alert(2)>'
HOSTILE_FILE = '../../<script>alert(3)</script>" onerror="alert(4).pdf'


def hostile_post() -> bytes:
    from email.message import EmailMessage
    from email.policy import SMTP
    from email.headerregistry import Address

    message = EmailMessage()
    message["From"] = Address(HOSTILE_NAME, "klimaschutz", "dormagen.example")
    message["To"] = "akn@lists.example"
    message["Subject"] = HOSTILE_SUBJECT
    message["Message-ID"] = "<hostile@dormagen.example>"
    message["Date"] = "Wed, 25 Nov 2026 10:00:00 +0100"
    message.set_content('Body with <script>alert(5)</script> and <a href="javascript:alert(6)">link</a>.')
    message.add_attachment(b"%PDF-1.4 not really", maintype="application", subtype="pdf", filename=HOSTILE_FILE)
    return message.as_bytes(policy=SMTP)


def test_hostile_subjects_names_and_attachment_names_mailed_to_the_list_are_escaped_everywhere(config, tmp_path):
    relay = Relay().start()
    load_roster(config)
    configure(config, relay)
    config.archive.html_dir = str(tmp_path / "www")
    config.list.archive_url = "https://akn.example/archiv"
    service = ThreadedService(config, resolver=StaticResolver()).start()
    try:
        contacts = 0
        connection = db_module.connect(config.database_path)
        contacts = connection.execute("SELECT count(*) FROM contacts").fetchone()[0]
        connection.close()
        send(service.port, "klimaschutz@dormagen.example", ["akn@lists.example"], hostile_post())
        relay.sink.wait_for(contacts)
    finally:
        service.stop()
        relay.stop()
    target = tmp_path / "www"
    pages = [path for path in target.rglob("*.html")]
    assert pages, "the filing rendered the site"
    for path in pages:
        parsed = outline(path)
        for tag, attributes in parsed.tags:
            assert tag not in ("script", "img") or path.name == "suche.html" and tag == "script" and \
                attributes.get("src", "").startswith("suche"), (path, tag, attributes)
            assert not any(name.startswith("on") for name in attributes), (path, tag, attributes)
            assert not any("javascript:" in (value or "") for value in attributes.values()), (path, tag, attributes)
    thread = next(path for path in (target / "faden").glob("*.html"))
    text = thread.read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(&#34;s&#34;)&lt;/script&gt; &#34;onerror=alert(1) x=&#34; ../../etc" in text
    assert "&lt;img src=x onerror=alert(2)&gt;" in text
    # The attachment: its shown name escaped, its file inside dateien/ under a harmless name.
    files = [path for path in (target / "dateien").rglob("*") if path.is_file()]
    assert len(files) == 1 and files[0].resolve().is_relative_to(target.resolve())
    assert re.fullmatch(r"[A-Za-z0-9._-]+", files[0].name)
    # (the archive's safe name: no directories, no quotes or angle brackets)
    assert " download>script__ onerror=_alert(4).pdf</a>" in text
    # The feed and the search index stay well-formed.
    assert not feedparser.parse((target / "beitraege.atom").read_bytes()).bozo
    shard = next((target / "suche").glob("teil-*.js")).read_text(encoding="utf-8")
    assert "</script>" not in shard and "<img" not in shard
    # The distributed post says where it is archived.
    post = message_module.parse(relay.sink.transactions[0][2]).message
    assert post["List-Archive"] == "<https://akn.example/archiv>"
    assert re.fullmatch(r"<https://akn\.example/archiv/faden/[0-9a-f]{16}\.html#m1>", post["Archived-At"])
    assert (target / post["Archived-At"].split("/archiv/")[1].split("#")[0].rstrip(">")).is_file()


def test_cli_writes_the_site_and_says_so(config_file, config, database, filled, tmp_path):
    target = tmp_path / "out"
    runner = CliRunner()
    result = runner.invoke(cli, ["--config", str(config_file), "archive", "html", "--to", str(target)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Wrote the HTML archive to {target}: ")
    assert "serve the directory only behind the web server's authentication" in result.output
    again = runner.invoke(cli, ["--config", str(config_file), "archive", "html", "--to", str(target)])
    assert ": 0 written, " in again.output


def test_cli_without_a_directory_names_the_fix(config_file, config, database):
    result = CliRunner().invoke(cli, ["--config", str(config_file), "archive", "html"])
    assert result.exit_code == 2
    assert "give --to DIR, or set [archive] html_dir in the config file." in result.output
