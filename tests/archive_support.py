"""Helpers for the archive tests: a roster with a rotation, literal messages, real documents."""

from __future__ import annotations

import datetime
import email.utils
import io
import zipfile
from email import policy
from email.message import EmailMessage

from akn_mail.archive.filing import Archive
from akn_mail.roster.members import Roster
from akn_mail.roster.rotation import Rotation

MEMBERS = ("Dormagen", "Grevenbroich", "Jüchen", "Kaarst")
CONTACTS = {
    "Dormagen": "anna@dormagen.example",
    "Grevenbroich": "bernd@grevenbroich.example",
    "Jüchen": "clara@juechen.example",
    "Kaarst": "dirk@kaarst.example",
}


def setup_roster(db, start: str = "2027-Q1") -> Rotation:
    """Four hosting members; the rotation starts at `start` with Dormagen, then in order."""
    roster = Roster(db)
    for name in MEMBERS:
        roster.add_member(name, "municipality", joined=datetime.date(2020, 1, 1))
        roster.add_contact(name, CONTACTS[name], name=f"Kontakt {name}")
    rotation = Rotation(db, roster)
    rotation.set_start(start)
    return rotation


def mail(subject: str, body: str = "Text.", *, sender: str = "anna@dormagen.example", date: str | datetime.datetime = "2027-03-20",
         message_id: str | None = None, attachments: list[tuple[str, bytes, str]] = (), html: str | None = None,
         in_reply_to: str | None = None) -> bytes:
    message = EmailMessage()
    message["From"] = f"Kontakt <{sender}>"
    message["To"] = "akn@lists.example"
    message["Subject"] = subject
    if isinstance(date, str):
        date = datetime.datetime.fromisoformat(date + "T10:00:00+01:00") if len(date) == 10 else datetime.datetime.fromisoformat(date)
    message["Date"] = email.utils.format_datetime(date)
    message["Message-ID"] = f"<{message_id or email.utils.make_msgid().strip('<>')}>"
    if in_reply_to:
        message["In-Reply-To"] = f"<{in_reply_to}>"
        message["References"] = f"<{in_reply_to}>"
    message.set_content(body)
    if html is not None:
        message.add_alternative(html, subtype="html")
    for name, data, content_type in attachments:
        maintype, _, subtype = content_type.partition("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes(policy=policy.SMTP)  # CRLF, as on the wire


def archive_for(config, db) -> Archive:
    return Archive(config, db)


def pdf_bytes(lines: list[str], pages: int = 1, password: str | None = None) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    for page in range(pages):
        pdf.add_page()
        for line in lines:
            pdf.multi_cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    if password:
        pdf.set_encryption(owner_password="owner-" + password, user_password=password)
    return bytes(pdf.output())


def docx_bytes(heading: str, paragraphs: list[str]) -> bytes:
    import docx

    document = docx.Document()
    document.add_heading(heading, level=1)
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def odt_bytes(heading: str, paragraphs: list[str]) -> bytes:
    from odf.opendocument import OpenDocumentText
    from odf.text import H, P

    document = OpenDocumentText()
    document.text.addElement(H(outlinelevel=1, text=heading))
    for paragraph in paragraphs:
        document.text.addElement(P(text=paragraph))
    buffer = io.BytesIO()
    document.write(buffer)
    return buffer.getvalue()


def zip_bomb_docx(expanded_bytes: int = 2 * 1024**3) -> bytes:
    """A file named like a DOCX whose zip directory claims gigabytes (made in memory cheaply)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        # 64 MB of zeros compresses to ~64 KB; the directory says so, the check reads only that.
        chunk = b"\0" * (64 * 1024 * 1024)
        archive.writestr("word/document.xml", chunk)
    return buffer.getvalue()
