"""Attachment text: real PDF/DOCX/ODT files made here, and hostile ones that must not hurt."""

from __future__ import annotations

import os
import signal

import pytest

from akn_mail.archive import extract as extract_module
from akn_mail.archive.extract import Limits, extract, html_text
from akn_mail.archive.mime import safe_filename

from archive_support import docx_bytes, odt_bytes, pdf_bytes, zip_bomb_docx

LIMITS = Limits(max_bytes=20 * 1024 * 1024, max_pages=300, timeout=20)


def test_pdf_text_is_extracted():
    data = pdf_bytes(["TOP 1 Kommunale Waermeplanung", "Der Kreis stellt das Waermeplanungsgesetz vor."])
    result = extract(data, "application/pdf", "protokoll.pdf", LIMITS)
    assert result.status == "ok", result.note
    assert "Waermeplanungsgesetz" in result.text
    assert "TOP 1 Kommunale Waermeplanung" in result.headings


def test_docx_text_and_headings_are_extracted():
    data = docx_bytes("Starkregen", ["Die Starkregengefahrenkarte für Jüchen liegt vor."])
    result = extract(data, "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "p.docx", LIMITS)
    assert result.status == "ok", result.note
    assert "Starkregengefahrenkarte für Jüchen" in result.text
    assert result.headings == ["Starkregen"]


def test_odt_text_and_headings_are_extracted():
    data = odt_bytes("Radverkehr", ["Das Radverkehrskonzept für Kaarst wurde beschlossen."])
    result = extract(data, "application/vnd.oasis.opendocument.text", "p.odt", LIMITS)
    assert result.status == "ok", result.note
    assert "Radverkehrskonzept für Kaarst" in result.text
    assert result.headings == ["Radverkehr"]


def test_html_text_skips_scripts_and_keeps_headings():
    text, headings = html_text("<html><head><style>p{}</style></head><body><h2>Förderprogramme</h2>"
                               "<script>alert(1)</script><p>Neue &amp; alte Mittel</p></body></html>")
    assert text == "Förderprogramme\nNeue & alte Mittel"
    assert headings == ["Förderprogramme"]


def test_encrypted_pdf_is_a_recorded_failure():
    data = pdf_bytes(["Geheim"], password="s3cret")
    result = extract(data, "application/pdf", "geheim.pdf", LIMITS)
    assert result.status == "failed"
    assert result.note == "the PDF is encrypted (password protected); its text was not extracted"


def test_zip_bomb_disguised_as_docx_is_refused_without_expanding():
    data = zip_bomb_docx()
    result = extract(data, "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "bericht.docx", LIMITS)
    assert result.status == "failed"
    assert result.note.startswith("refused as a zip bomb: 'word/document.xml' would expand")


def test_pdf_over_the_size_limit_is_skipped():
    # A real 50 MB PDF: one page plus a 50 MB stream (cheap to make: zeros).
    data = pdf_bytes(["klein"]) .replace(b"%%EOF", b"% " + b"0" * (50 * 1024 * 1024) + b"\n%%EOF")
    result = extract(data, "application/pdf", "riesig.pdf", LIMITS)
    assert result.status == "skipped"
    assert result.note == f"{len(data)} bytes is more than the extraction limit of {LIMITS.max_bytes} bytes ([archive] extract_max_bytes)"


def test_pdf_page_limit_reads_only_the_first_pages():
    data = pdf_bytes(["Seite mit Text"], pages=5)
    result = extract(data, "application/pdf", "lang.pdf", Limits(max_pages=2, timeout=20))
    assert result.status == "ok"
    assert result.text.count("Seite mit Text") == 2
    assert result.note == "only the first 2 of 5 pages read ([archive] extract_max_pages)"


def test_slow_extraction_is_stopped_at_the_time_limit():
    # A reader that never answers, made real by stopping the worker process (SIGSTOP): the
    # outcome does not depend on how fast this machine reads a PDF (40 pages "not read in a
    # millisecond" once were, under load). The document is small so that sending it fits the
    # pipe's buffer even though nobody reads it.
    data = pdf_bytes(["Viel Text"])
    assert extract(data, "application/pdf", "warm.pdf", LIMITS).status == "ok"  # the worker runs
    hung = extract_module._worker.process
    os.kill(hung.pid, signal.SIGSTOP)
    try:
        result = extract(data, "application/pdf", "langsam.pdf", Limits(timeout=0.2))
    finally:
        if hung.is_alive():
            os.kill(hung.pid, signal.SIGCONT)
    assert result.status == "failed"
    assert result.note == "text extraction stopped after 0.2 seconds ([archive] extract_timeout_seconds)"
    assert not hung.is_alive()  # the hung reader was killed ...
    assert extract(data, "application/pdf", "danach.pdf", LIMITS).status == "ok"  # ... and a fresh one reads on


def test_garbage_pdf_is_a_recorded_failure():
    result = extract(b"%PDF-1.7\n this is not a pdf", "application/pdf", "kaputt.pdf", LIMITS)
    assert result.status == "failed"
    assert result.note.startswith("cannot read this PDF")


def test_images_get_no_text():
    assert extract(b"\x89PNG....", "image/png", "foto.png", LIMITS).status == "none"


@pytest.mark.parametrize("name, safe", [
    ("../../etc/passwd", "passwd"),
    ("..\\..\\windows\\system.ini", "system.ini"),
    ("bericht\x1b[31m\r\n.pdf", "bericht[31m.pdf"),
    ("..", "attachment-3.pdf"),
    ("", "attachment-3.pdf"),
    ("Protokoll: 11.03.2027?.pdf", "Protokoll_ 11.03.2027_.pdf"),
    (".bashrc", "bashrc"),
])
def test_attachment_names_are_made_safe(name, safe):
    assert safe_filename(name, 3, "application/pdf") == safe
