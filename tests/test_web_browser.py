"""The HTML archive as a person sees it: Debian's chromium, headless, no network.

Chromium is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``: JSON
messages ending in a NUL byte on file descriptors 3 and 4), so no driver package is needed.
The site is loaded from ``file://``. Checks: the start and a meeting page render, their
title and the minutes' subject are visible on screen (laid out, not hidden), the search
page finds a word typed into its query, and a screenshot is written. .ci/run installs
chromium; where it is missing the test skips and says so.
"""

from __future__ import annotations

import base64
import datetime
import fcntl
import json
import os
import select
import shutil
import signal
import time
from pathlib import Path

import pytest

from akn_mail.web.site import Site

from archive_support import archive_for, mail, pdf_bytes, setup_roster

WAIT = 60.0  # seconds; a deadline for waiting, never a timing assertion
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOT_DIR = os.environ.get("AKN_MAIL_SCREENSHOT_DIR")  # set to keep the pictures (docs/)

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Debian's chromium is not installed (.ci/run installs it with apt-get; without root or network it cannot)",
)


class Browser:
    """Headless chromium with the DevTools protocol on a pipe; one page (target) at a time."""

    def __init__(self, profile: Path, log: Path):
        # Pipe ends at descriptors >= 5 (close-on-exec), so that moving them to 3 and 4 in
        # the child cannot overwrite one another; posix_spawn's dup2 clears close-on-exec.
        read_end, self._to_chrome = os.pipe()
        self._from_chrome, write_end = os.pipe()
        chrome_reads = fcntl.fcntl(read_end, fcntl.F_DUPFD_CLOEXEC, 5)
        chrome_writes = fcntl.fcntl(write_end, fcntl.F_DUPFD_CLOEXEC, 5)
        os.close(read_end)
        os.close(write_end)
        arguments = [
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
            "--no-default-browser-check", "--disable-extensions", "--disable-sync", "--disable-component-update",
            "--proxy-server=127.0.0.1:9", f"--user-data-dir={profile}", "--remote-debugging-pipe",
            "--window-size=1024,1400", "about:blank",
        ]
        self.pid = os.posix_spawn(CHROMIUM, arguments, os.environ, file_actions=[
            (os.POSIX_SPAWN_DUP2, chrome_reads, 3),
            (os.POSIX_SPAWN_DUP2, chrome_writes, 4),
            (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, str(log), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644),
            (os.POSIX_SPAWN_OPEN, 2, str(log), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644),
        ])
        os.close(chrome_reads)
        os.close(chrome_writes)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []
        self.session: str | None = None

    def close(self) -> None:
        try:
            self.call("Browser.close", session=False)
        except Exception:
            pass
        deadline = time.monotonic() + 10
        while os.waitpid(self.pid, os.WNOHANG) == (0, 0):
            if time.monotonic() > deadline:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
                break
            time.sleep(0.1)
        os.close(self._to_chrome)
        os.close(self._from_chrome)

    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_chrome], [], [], left)[0]:
                raise TimeoutError("chromium did not answer")
            chunk = os.read(self._from_chrome, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method: str, session: bool = True, **params) -> dict:
        self._next_id += 1
        request = {"id": self._next_id, "method": method, "params": params}
        if session and self.session:
            request["sessionId"] = self.session
        os.write(self._to_chrome, json.dumps(request).encode() + b"\0")
        deadline = time.monotonic() + WAIT
        while True:
            message = self._read_message(deadline)
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_event(self, method: str) -> dict:
        deadline = time.monotonic() + WAIT
        while True:
            for index, event in enumerate(self.events):
                if event.get("method") == method:
                    return self.events.pop(index)
            self.events.append(self._read_message(deadline))

    def open(self, url: str) -> None:
        target = self.call("Target.createTarget", session=False, url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", session=False, targetId=target, flatten=True)["sessionId"]
        self.call("Page.enable")
        self.events.clear()
        self.call("Page.navigate", url=url)
        self.wait_event("Page.loadEventFired")

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path: Path) -> None:
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        path.write_bytes(base64.b64decode(data))


# Is there an element whose own text contains TEXT, with a size on screen and not hidden?
VISIBLE = """(() => {
  const wanted = %s;
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (!node.textContent.includes(wanted)) continue;
    const element = node.parentElement, box = element.getBoundingClientRect(), style = getComputedStyle(element);
    if (box.width > 0 && box.height > 0 && style.visibility === "visible" && style.display !== "none"
        && parseFloat(style.opacity) > 0) return true;
  }
  return false;
})()"""


def visible(browser: Browser, text: str) -> bool:
    return browser.evaluate(VISIBLE % json.dumps(text))


@pytest.fixture
def site_dir(config, database, tmp_path) -> Path:
    setup_roster(database, "2027-Q1")
    archive = archive_for(config, database)
    archive.file(mail("Kommunale Wärmeplanung: Stand in Dormagen", "Die Bestandsanalyse ist fertig.", message_id="w1@x",
                      date="2027-02-10"))
    archive.file(mail("Re: Kommunale Wärmeplanung: Stand in Dormagen", "Förderprogramme des Landes helfen.",
                      sender="bernd@grevenbroich.example", message_id="w2@x", in_reply_to="w1@x", date="2027-02-11"))
    archive.file(mail("[Protokoll] Sitzung 2027-Q1 in Dormagen", "TOP 1 Wärmeplanung\nTOP 2 Radverkehr", message_id="p1@x",
                      date="2027-03-25", attachments=[("Protokoll 2027-Q1.pdf", pdf_bytes(["TOP 1 Waermeplanung"]), "application/pdf")]))
    archive.file(mail("Stadtbäume und Hitze", "Gießpatenschaften in Jüchen.", sender="clara@juechen.example",
                      message_id="s1@x", date="2027-05-03"))
    target = tmp_path / "site"
    Site(config, database, archive=archive, today=datetime.date(2027, 8, 1)).render(target)
    return target


@pytest.fixture
def browser(tmp_path):
    browser = Browser(tmp_path / "chromium-profile", tmp_path / "chromium.log")
    yield browser
    browser.close()


def keep(path: Path, name: str) -> None:
    if SCREENSHOT_DIR:
        Path(SCREENSHOT_DIR).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, Path(SCREENSHOT_DIR) / name)


def test_start_page_shows_title_and_latest_minutes_and_is_captured(site_dir, browser, tmp_path):
    browser.open((site_dir / "index.html").as_uri())
    assert browser.evaluate("document.title") == "Start – Archiv AKN"
    assert browser.evaluate("document.documentElement.lang") == "de"
    assert visible(browser, "Archiv der Allianz für Klima und Nachhaltigkeit im Rhein-Kreis Neuss")
    assert visible(browser, "[Protokoll] Sitzung 2027-Q1 in Dormagen")
    assert visible(browser, "Nächste Sitzung")
    # The stylesheet was loaded from the relative path (file:// too).
    assert browser.evaluate("getComputedStyle(document.querySelector('header')).borderBottomStyle") == "solid"
    shot = tmp_path / "start.png"
    browser.screenshot(shot)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    keep(shot, "html-archive-start.png")


def test_meeting_page_shows_the_minutes_and_their_attachment(site_dir, browser, tmp_path):
    browser.open((site_dir / "sitzungen" / "2027-Q1.html").as_uri())
    assert browser.evaluate("document.title") == "Sitzung 1. Quartal 2027 – Archiv AKN"
    assert visible(browser, "[Protokoll] Sitzung 2027-Q1 in Dormagen")
    assert visible(browser, "Protokoll 2027-Q1.pdf")
    assert visible(browser, "Kommunale Wärmeplanung: Stand in Dormagen")  # a post of the quarter
    link = browser.evaluate("document.querySelector('a[download]').href")
    assert Path(link.removeprefix("file://")).is_file()
    shot = tmp_path / "meeting.png"
    browser.screenshot(shot)
    assert shot.stat().st_size > 10_000
    keep(shot, "html-archive-meeting.png")


def test_search_page_finds_a_word_with_german_folding(site_dir, browser):
    browser.open((site_dir / "suche.html").as_uri() + "?q=Waermeplanung")
    titles = browser.evaluate("Array.from(document.querySelectorAll('#treffer li a')).map(a => a.textContent)")
    assert sorted(titles) == sorted([
        "[Protokoll] Sitzung 2027-Q1 in Dormagen",  # minutes first
        "Kommunale Wärmeplanung: Stand in Dormagen",
        "Re: Kommunale Wärmeplanung: Stand in Dormagen",
    ])
    assert titles[0] == "[Protokoll] Sitzung 2027-Q1 in Dormagen"
    assert visible(browser, "3 Treffer für „Waermeplanung“.")
    # A result leads to its post.
    href = browser.evaluate("document.querySelector('#treffer li a').href")
    assert (site_dir / href.split("/site/", 1)[1].split("#")[0]).is_file()
    # A compound part and an inflected form; nothing for a word that is not there.
    browser.open((site_dir / "suche.html").as_uri() + "?q=Stadtbaum")
    assert browser.evaluate("document.querySelectorAll('#treffer li').length") == 1
    browser.open((site_dir / "suche.html").as_uri() + "?q=Förderprogramm")
    assert browser.evaluate("document.querySelectorAll('#treffer li').length") == 1
    browser.open((site_dir / "suche.html").as_uri() + "?q=Windkraft")
    assert browser.evaluate("document.querySelectorAll('#treffer li').length") == 0
    assert visible(browser, "Keine Treffer für „Windkraft“.")


def test_pages_fit_a_phone_screen_without_sideways_scrolling(site_dir, browser, tmp_path):
    for page in ("index.html", "sitzungen/2027-Q1.html"):
        browser.open((site_dir / page).as_uri())
        browser.call("Emulation.setDeviceMetricsOverride", width=360, height=740, deviceScaleFactor=2, mobile=True)
        browser.evaluate("new Promise(resolve => requestAnimationFrame(() => requestAnimationFrame(resolve)))")
        assert browser.evaluate("document.documentElement.scrollWidth") <= 360, page
        assert visible(browser, "[Protokoll] Sitzung 2027-Q1 in Dormagen")
    shot = tmp_path / "phone.png"
    browser.screenshot(shot)
    keep(shot, "html-archive-phone.png")
