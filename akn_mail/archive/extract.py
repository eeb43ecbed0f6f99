"""Text of attachments and HTML bodies, extracted with limits so hostile files do no harm.

PDF (pypdf), DOCX (python-docx), ODT (odfpy), HTML (the standard library's html.parser)
and plain text. PDF/DOCX/ODT are read in a separate worker process (started from a multiprocessing
forkserver, memory capped) that is killed when it runs past the time limit and replaced
for the next document, so a PDF that loops or explodes costs the server one child
process, never its own life.
DOCX/ODT are zip files: their directory is checked before anything is inflated, so a zip
bomb is refused without expanding it. Every failure becomes a note on the attachment;
none is fatal. Settings: [archive] extract_max_bytes, extract_max_pages,
extract_timeout_seconds.
"""

from __future__ import annotations

import io
import multiprocessing
import re
import threading
import time
import zipfile
from dataclasses import dataclass, field
from html.parser import HTMLParser

# Text kept per attachment; the rest of a huge document adds little to search.
MAX_TEXT_CHARS = 2_000_000
# A zip (DOCX/ODT) may claim at most this many uncompressed bytes in all, and no member may
# inflate more than this many times its compressed size (real documents stay far below).
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024
MAX_ZIP_RATIO = 200
# Memory a child extractor may use (address space).
CHILD_MEMORY_BYTES = 1536 * 1024 * 1024
# All attachments of one message together get this many times the per-attachment time.
MESSAGE_BUDGET_FACTOR = 3

HEADING_ELEMENTS = {"h1", "h2", "h3", "h4", "h5", "h6", "title"}
# A line that reads like an agenda heading in plain text ("TOP 3: Starkregen", "2. Radverkehr").
HEADING_LINE = re.compile(r"^\s*(?:TOP\s*\d+|§\s*\d+|\d{1,2}(?:\.\d{1,2})*[.)])\s*[:.\-–]?\s*\S.{0,80}$")


@dataclass
class Limits:
    max_bytes: int = 20 * 1024 * 1024
    max_pages: int = 300
    timeout: float = 20.0

    @classmethod
    def from_config(cls, config) -> "Limits":
        section = config.archive
        return cls(section.extract_max_bytes, section.extract_max_pages, float(section.extract_timeout_seconds))


@dataclass
class Extraction:
    """The outcome for one attachment: status ok/skipped/failed/none, text, headings, note."""

    status: str
    text: str = ""
    headings: list[str] = field(default_factory=list)
    note: str = ""


class ExtractionFailed(Exception):
    """Raised inside an extractor with the sentence recorded on the attachment."""


# --- which extractor ------------------------------------------------------------------

def kind_of(content_type: str, filename: str, data: bytes) -> str | None:
    """pdf, docx, odt, html, text or None, from the content type, the name and the bytes."""
    content_type = (content_type or "").lower()
    name = (filename or "").lower()
    if data[:5] == b"%PDF-" or content_type == "application/pdf" or name.endswith(".pdf"):
        return "pdf"
    if "wordprocessingml" in content_type or name.endswith(".docx"):
        return "docx"
    if content_type == "application/vnd.oasis.opendocument.text" or name.endswith(".odt"):
        return "odt"
    if content_type == "text/html" or name.endswith((".html", ".htm")):
        return "html"
    if content_type.startswith("text/") or name.endswith((".txt", ".md", ".csv")):
        return "text"
    return None


def extract(data: bytes, content_type: str = "", filename: str = "", limits: Limits | None = None,
            charset: str | None = None, deadline: float | None = None) -> Extraction:
    """Extract the text of one attachment within the limits; never raises."""
    limits = limits or Limits()
    kind = kind_of(content_type, filename, data)
    if kind is None:
        return Extraction("none", note=f"no text extracted from {content_type or 'this type'}")
    if len(data) > limits.max_bytes:
        return Extraction("skipped", note=f"{len(data)} bytes is more than the extraction limit of {limits.max_bytes} bytes ([archive] extract_max_bytes)")
    if kind == "text":
        return _finish(Extraction("ok", decode(data, charset)))
    if kind == "html":
        text, headings = html_text(decode(data, charset))
        return _finish(Extraction("ok", text, headings))
    if kind in ("docx", "odt"):
        problem = zip_problem(data)
        if problem:
            return Extraction("failed", note=problem)
    timeout = limits.timeout
    if deadline is not None:
        timeout = min(timeout, deadline - time.monotonic())
        if timeout <= 0:
            return Extraction("skipped", note="the message's time for text extraction was used up by its other attachments")
    return _finish(_in_child(kind, data, limits.max_pages, timeout, limits.timeout))


def _finish(extraction: Extraction) -> Extraction:
    if len(extraction.text) > MAX_TEXT_CHARS:
        extraction.text = extraction.text[:MAX_TEXT_CHARS]
        extraction.note = (extraction.note + "; " if extraction.note else "") + f"text cut after {MAX_TEXT_CHARS} characters"
    return extraction


def decode(data: bytes, charset: str | None = None) -> str:
    for encoding in (charset, "utf-8"):
        if encoding:
            try:
                return data.decode(encoding)
            except (LookupError, UnicodeDecodeError):
                continue
    return data.decode("cp1252", errors="replace")


def zip_problem(data: bytes) -> str | None:
    """Why a DOCX/ODT zip must not be opened (zip bomb, not a zip), or None."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            total = 0
            for info in archive.infolist():
                total += info.file_size
                if info.file_size > 1024 * 1024 and info.file_size > MAX_ZIP_RATIO * max(info.compress_size, 1):
                    return (f"refused as a zip bomb: {info.filename!r} would expand {info.compress_size} bytes "
                            f"to {info.file_size} bytes")
            if total > MAX_UNZIPPED_BYTES:
                return f"refused as a zip bomb: its files would expand to {total} bytes (limit {MAX_UNZIPPED_BYTES})"
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        return f"not a valid document (zip): {error}"
    return None


# --- the child process ------------------------------------------------------------------

_context = None


def _mp_context():
    """A forkserver context: forking the threaded server directly is unsafe, spawning is slow."""
    global _context
    if _context is None:
        try:
            _context = multiprocessing.get_context("forkserver")
            _context.set_forkserver_preload(["akn_mail.archive.extract", "pypdf", "docx", "odf.opendocument"])
        except ValueError:  # platforms without forkserver
            _context = multiprocessing.get_context("spawn")
    return _context


class _Worker:
    """One long-lived child process that reads documents, replaced when it hangs or dies.

    Starting a process per attachment would pay the interpreter's start-up each time; a
    worker that is killed on a timeout and started afresh keeps the protection at the
    price of one start per hostile file.
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.process = None
        self.connection = None

    def _start(self) -> None:
        context = _mp_context()
        parent, child = context.Pipe(duplex=True)
        process = context.Process(target=_worker_main, args=(child,), daemon=True, name="akn-extract")
        process.start()
        child.close()
        self.process, self.connection = process, parent

    def _stop(self) -> None:
        if self.process is not None:
            if self.process.is_alive():
                self.process.kill()
            self.process.join(5)
        if self.connection is not None:
            self.connection.close()
        self.process = self.connection = None

    def run(self, kind: str, data: bytes, max_pages: int, timeout: float, configured: float) -> Extraction:
        with self.lock:
            if self.process is None or not self.process.is_alive():
                self._stop()
                self._start()
            try:
                self.connection.send((kind, data, max_pages))
                if self.connection.poll(max(timeout, 0.001)):
                    status, text, headings, note = self.connection.recv()
                    return Extraction(status, text, headings, note)
            except (EOFError, OSError, BrokenPipeError):
                exit_code = self.process.exitcode if self.process is not None else None
                self._stop()
                return Extraction("failed", note=f"the {kind.upper()} reader crashed (exit code {exit_code})")
            self._stop()  # still working: kill it, the next document gets a fresh worker
            return Extraction("failed", note=f"text extraction stopped after {configured:g} seconds ([archive] extract_timeout_seconds)")


_worker = _Worker()


def _in_child(kind: str, data: bytes, max_pages: int, timeout: float, configured: float) -> Extraction:
    return _worker.run(kind, data, max_pages, timeout, configured)


def _worker_main(connection) -> None:
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY_BYTES, CHILD_MEMORY_BYTES))
    except (ImportError, ValueError, OSError):
        pass
    while True:
        try:
            kind, data, max_pages = connection.recv()
        except (EOFError, OSError):
            return
        fatal = False
        try:
            text, headings, note = EXTRACTORS[kind](data, max_pages)
            result = ("ok", text[:MAX_TEXT_CHARS], headings[:200], note)
        except ExtractionFailed as failure:
            result = ("failed", "", [], str(failure))
        except MemoryError:
            result, fatal = ("failed", "", [], f"the {kind.upper()} needs more memory than allowed to read"), True
        except Exception as error:  # a broken file may raise anything from the parser
            result = ("failed", "", [], f"cannot read this {kind.upper()}: {type(error).__name__}: {error}"[:500])
        try:
            connection.send(result)
        except (OSError, ValueError):
            return
        if fatal:
            return  # start clean after running out of memory


def pdf_text(data: bytes, max_pages: int) -> tuple[str, list[str], str]:
    import logging

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")
            except Exception:
                opened = 0
            if not opened:
                raise ExtractionFailed("the PDF is encrypted (password protected); its text was not extracted")
        pages = reader.pages
        count = len(pages)
        texts = []
        for number in range(min(count, max_pages)):
            texts.append(pages[number].extract_text() or "")
    except PdfReadError as error:
        raise ExtractionFailed(f"cannot read this PDF: {error}") from None
    note = f"only the first {max_pages} of {count} pages read ([archive] extract_max_pages)" if count > max_pages else ""
    text = "\n\n".join(texts)
    return text, text_headings(text), note


def docx_text(data: bytes, max_pages: int) -> tuple[str, list[str], str]:
    """Paragraphs and tables in document order; a table row is one line, its cells joined
    by " | " (empty cells kept, so columns stay aligned for the results reader)."""
    import docx
    from docx.table import Table

    document = docx.Document(io.BytesIO(data))
    lines, headings = [], []
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            lines.extend(_docx_table_lines(block))
            continue
        line = block.text.strip()
        if not line:
            continue
        lines.append(line)
        style = (block.style.name if block.style is not None else "") or ""
        if style.startswith(("Heading", "Überschrift", "Title", "Titel")):
            headings.append(line)
    text = "\n".join(lines)
    return text, headings or text_headings(text), ""


def _docx_table_lines(table) -> list[str]:
    lines = []
    for row in table.rows:
        cells, seen = [], set()
        for cell in row.cells:
            if id(cell._tc) in seen:  # a merged cell is listed once per grid column it spans
                continue
            seen.add(id(cell._tc))
            cells.append(" ".join(cell.text.split()))
        if any(cells):
            lines.append(" | ".join(cells))
    return lines


def odt_text(data: bytes, max_pages: int) -> tuple[str, list[str], str]:
    """Paragraphs, headings and tables in document order; a table row is one line, its
    cells joined by " | "."""
    from odf import teletype
    from odf.namespaces import TABLENS, TEXTNS
    from odf.opendocument import load

    document = load(io.BytesIO(data))
    lines, headings = [], []

    def cell_text(cell) -> str:
        parts = []

        def collect(node):
            for child in node.childNodes:
                if getattr(child, "qname", None) in ((TEXTNS, "p"), (TEXTNS, "h")):
                    parts.append(teletype.extractText(child))
                elif getattr(child, "childNodes", None):
                    collect(child)

        collect(cell)
        return " ".join(" ".join(parts).split())

    def walk(node):
        for child in node.childNodes:
            qname = getattr(child, "qname", None)
            if qname == (TABLENS, "table-row"):
                cells = [cell_text(cell) for cell in child.childNodes
                         if getattr(cell, "qname", None) == (TABLENS, "table-cell")]
                if any(cells):
                    lines.append(" | ".join(cells))
            elif qname == (TEXTNS, "h") or qname == (TEXTNS, "p"):
                line = teletype.extractText(child).strip()
                if line:
                    lines.append(line)
                    if qname == (TEXTNS, "h"):
                        headings.append(line)
            elif getattr(child, "childNodes", None):
                walk(child)

    walk(document.text)
    text = "\n".join(lines)
    return text, headings or text_headings(text), ""


EXTRACTORS = {"pdf": pdf_text, "docx": docx_text, "odt": odt_text}


# --- HTML and plain text ----------------------------------------------------------------

class _HTMLText(HTMLParser):
    SKIP = {"script", "style", "head", "noscript", "template"}
    BLOCK = {"p", "div", "br", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "section", "article", "blockquote", "pre", "hr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.headings: list[str] = []
        self.skipping = 0
        self.heading: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP and tag != "head":
            self.skipping += 1
        if tag in HEADING_ELEMENTS and tag != "title":
            self.heading = []
        if tag in self.BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self.SKIP and tag != "head" and self.skipping:
            self.skipping -= 1
        if tag in HEADING_ELEMENTS and self.heading is not None:
            heading = " ".join("".join(self.heading).split())
            if heading:
                self.headings.append(heading)
            self.heading = None
        if tag in self.BLOCK:
            self.parts.append("\n")

    def handle_data(self, data):
        if self.skipping:
            return
        self.parts.append(data)
        if self.heading is not None:
            self.heading.append(data)


def html_text(html: str) -> tuple[str, list[str]]:
    """The readable text of an HTML document and its headings."""
    parser = _HTMLText()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # html.parser is lenient; keep what was read
        pass
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line), parser.headings


def text_headings(text: str) -> list[str]:
    """Lines of plain text that read like agenda headings (TOP 1, 2., § 3)."""
    found = []
    for line in text.splitlines():
        if len(line) <= 100 and HEADING_LINE.match(line):
            found.append(line.strip())
            if len(found) >= 200:
                break
    return found
