"""Results from the text of minutes: decisions and tasks, each under its TOP heading.

Pure text in, results out (no database): ``extract_results(text, members, meeting_day,
next_meeting)``. What it reads, in the ways hosts write minutes:

* tables (DOCX/ODT tables arrive as rows with cells joined by " | ", Markdown tables too)
  whose header names columns such as TOP / Thema / Ergebnis / Beschluss / Aufgabe /
  Zuständig / Verantwortlich / Frist / Termin / Art (B, A, E, I);
* labelled lines and blocks: "Beschluss:", "Ergebnis:", "Empfehlung:", "Aufgabe:",
  "To-do:", followed by "Zuständig:", "Verantwortlich:", "Frist:", "Termin:";
* bullet lists with abbreviations: "Beschl.:", "ToDo RKN: …", "GV → Bericht bis Ende Q1";
* sentences in running text: "Die Teilnehmenden beschließen …", "Kaarst legt bis zum
  30.04. … vor".

The rule it follows: a result with a responsible member or a due date is a task, one
without is a decision. Reports, "zur Kenntnis genommen", postponed decisions and decisions
only reported from an earlier meeting are not results. Where a reading is doubtful the
result is left out: a missed decision can be added by the host, an invented one misleads.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Callable, Iterable

from akn_mail.results.dates import parse_due
from akn_mail.results.matching import match_member


@dataclass
class Found:
    """One result read from minutes."""

    kind: str  # decision | task
    text: str
    top: str = ""
    responsible: str = ""  # as written ("RKN", "alle")
    member: str | None = None  # the member's name when the phrase names exactly one
    due: dt.date | None = None
    due_text: str = ""

    def as_dict(self) -> dict:
        return {"kind": self.kind, "text": self.text, "top": self.top, "responsible": self.responsible,
                "member": self.member, "due": self.due.isoformat() if self.due else None, "due_text": self.due_text}


# --- headings -----------------------------------------------------------------------------

TOP_LINE = re.compile(r"^(?:zu\s+)?(?:TOP|Top|Tagesordnungspunkt)\s*(\d{1,2}[a-z]?(?:\.\d{1,2})*)\s*[:.\-–)]?\s*(.*)$", re.IGNORECASE)
NUMBERED_LINE = re.compile(r"^(\d{1,2})(?:\.(\d{1,2}))?[.)]?\s+([A-ZÄÖÜ][^|]{2,90})$")
THEMA_LINE = re.compile(r"^(?:Thema|§)\s*(\d{0,2})\s*:?\s*(.{3,90})$")

# --- labels -------------------------------------------------------------------------------

BULLET = re.compile(r"^\s*(?:[-–—•*·▪►]|\d{1,2}[.)](?!\d)|[a-z]\))\s*")
DECISION_LABEL = r"Beschl(?:uss|üsse|\.)|Beschlossen|Ergebnis(?:se)?|Erg\.|Empfehlung|Empf\.|Entscheidung|B"
TASK_LABEL = r"Aufgaben?|Aufg\.|To-?[Dd]o|TODO|TO-DO|Maßnahme|Arbeitsauftrag|Auftrag|A"
WHO_LABEL = r"Zuständig(?:keit)?|Zust\.|Verantwortlich(?:e|keit)?|Verantw\.|Federführung|Wer"
DUE_LABEL = r"Frist|Termin|Bis|Fällig(?:keit)?|Deadline|Erledigung\s+bis|Bis\s+wann|Wann"
OTHER_LABEL = r"Sachstand|Diskussion|Bericht|Information|Info|Hinweis|Anmerkung|Ort|Datum|Gastgeber|Teilnehmende|Anwesend|Protokoll|Beratung|Aussprache|Vortrag"

LABEL = re.compile(
    rf"^(?:(?P<decision>{DECISION_LABEL})|(?P<task>{TASK_LABEL})|(?P<who>{WHO_LABEL})|(?P<due>{DUE_LABEL})|(?P<other>{OTHER_LABEL}))"
    r"(?P<owner>\s+[^:]{1,30}?)?\s*:\s*(?P<rest>.*)$",
    re.IGNORECASE,
)
# "GV → Bericht bis Ende Q1", "RKN: Vorlage ..." is read only with an arrow (a colon after a
# name is too often just a speaker).
ARROW_LINE = re.compile(r"^(?P<who>[^\s→>]{2,40}(?:\s[^\s→>]{2,20})?)\s*(?:→|->|=>)\s*(?P<rest>.+)$")

INLINE_WHO = re.compile(rf"[(\[,;–-]?\s*\b(?:{WHO_LABEL})\b\s*:?\s*(?P<who>[^,;()\[\]\n–]+?)\s*(?=[,;)\]\n–]|\s+bis\b|$)", re.IGNORECASE)
INLINE_DUE = re.compile(rf"[(\[,;–-]?\s*\b(?:{DUE_LABEL}|spätestens)\b\s*:?\s*(?:zum\b|spätestens\b)?", re.IGNORECASE)

# Verbs of a decision in running text.
DECIDING = re.compile(
    r"\b(beschlie(?:ß|ss)(?:t|en)|beschlossen|einig(?:t|en)\s+sich|verständig(?:t|en)\s+sich|empfiehlt|empfehlen)\b"
    r"|\b(?:Protokoll|Niederschrift|Tagesordnung)\b.*\b(?:genehmigt|angenommen|beschlossen)\b",
    re.IGNORECASE,
)
# What makes such a sentence no decision of this meeting.
NOT_DECIDED = re.compile(
    r"\b(nicht|kein(?:e|en)?|vertagt|zurückgestellt|soll(?:en)?|werden\s*\.?$|letzten|vorigen|vergangenen|"
    r"bereits|damals|früher|noch)\b",
    re.IGNORECASE,
)
NO_RESULT = re.compile(
    r"^\s*(?:[-–—]+|keine?r?|keine\s+beschlüsse|entfällt|entfallen|kenntnisnahme|zur\s+kenntnis(?:\s+genommen)?|"
    r"wird\s+zur\s+kenntnis\s+genommen|n\.\s*a\.|offen|vertagt|\?)?\s*\.?\s*$",
    re.IGNORECASE,
)
# "Das Protokoll der letzten Sitzung wird genehmigt" decides today, whatever "letzten" says.
LAST_MINUTES = re.compile(r"\b(?:Protokoll|Niederschrift)\s+(?:der|des)\s+(?:letzten|vorigen|vergangenen)\s+(?:Sitzung|Treffens)\b", re.IGNORECASE)
INFO_ONLY = re.compile(r"\b(zur\s+kenntnis|kenntnisnahme|wird\s+geprüft|keine\s+wortmeldungen)\b", re.IGNORECASE)
EVERYONE = re.compile(r"^\s*(?:alle(?:\s+(?:mitglieder|kommunen|teilnehmenden))?|jede\s+kommune|jedes\s+mitglied)\s*$", re.IGNORECASE)
EMPTY_CELL = re.compile(r"^\s*(?:[-–—/]+|n\.\s*a\.|\.{1,3})?\s*$")

# --- table columns --------------------------------------------------------------------

COLUMN_WORDS = {
    "top": ("top", "nr", "nr.", "punkt", "tagesordnungspunkt", "lfd. nr.", "lfd nr", "#"),
    "topic": ("thema", "gegenstand", "betreff", "titel", "tagesordnung"),
    "result": ("ergebnis", "ergebnisse", "beschluss", "beschlüsse", "empfehlung", "entscheidung", "ergebnis / aufgabe",
               "ergebnis/aufgabe", "beschluss / aufgabe", "ergebnis / maßnahme"),
    "task": ("aufgabe", "aufgaben", "maßnahme", "maßnahmen", "to-do", "todo", "was"),
    "who": ("zuständig", "zuständigkeit", "verantwortlich", "wer", "zust.", "verantw.", "federführung"),
    "due": ("frist", "termin", "bis", "bis wann", "wann", "fällig", "erledigung bis", "erledigung", "deadline"),
    "type": ("art", "typ"),
}
TYPE_CODES = {"b": "decision", "e": "decision", "beschluss": "decision", "empfehlung": "decision",
              "a": "task", "aufgabe": "task", "t": "task", "i": None, "info": None, "information": None}


def _column_role(cell: str) -> str | None:
    key = " ".join(cell.lower().split()).rstrip(":")
    for role, words in COLUMN_WORDS.items():
        if key in words:
            return role
    return None


def split_row(line: str) -> list[str] | None:
    """The cells of a table row ("a | b | c", "| a | b |", tab-separated), else None."""
    if "|" in line:
        stripped = line.strip()
        if stripped.startswith("|"):
            stripped = stripped[1:]
        if stripped.endswith("|"):
            stripped = stripped[:-1]
        return [cell.strip() for cell in stripped.split("|")]
    if "\t" in line:
        return [cell.strip() for cell in line.split("\t")]
    return None


def _is_separator(cells: list[str]) -> bool:
    return all(re.fullmatch(r":?-{2,}:?", cell or "") or not cell for cell in cells)


def _sentences(text: str) -> list[str]:
    # A full stop ends a sentence unless it belongs to a date ("30.04.") or an abbreviation.
    parts = re.split(r"(?<![0-9])(?<!\b[A-Za-zÄÖÜäöü]{1})(?<!\bDr)(?<!\bca)(?<!\bz\.B)(?<!\bbzw)(?<!\bggf)(?<!\bNr)(?<=[.!?])\s+(?=[A-ZÄÖÜ„\"])", text)
    return [part.strip() for part in parts if part.strip()]


# --- the reader ---------------------------------------------------------------------------

class _Reader:
    def __init__(self, members: list[str], meeting_day: dt.date, next_meeting: dt.date | None):
        self.members = members
        self.meeting_day = meeting_day
        self.next_meeting = next_meeting
        self.found: list[Found] = []
        self.top = ""
        self.columns: list[str | None] | None = None
        self.current: Found | None = None  # the result the next Zuständig/Frist line belongs to
        self.open_label: Found | None = None  # a labelled result whose text continues on the next lines

    # -- helpers ---------------------------------------------------------------------

    def who(self, phrase: str) -> tuple[str, str | None]:
        phrase = " ".join(phrase.split()).strip(" ,;:–-()")
        if phrase.endswith(".") and match_member(phrase, self.members) is None:
            phrase = phrase.rstrip(".")
        if not phrase or EMPTY_CELL.match(phrase):
            return "", None
        if EVERYONE.match(phrase):
            return "alle", None
        return phrase, match_member(phrase, self.members)

    def due(self, phrase: str) -> tuple[dt.date | None, str]:
        return parse_due(phrase, self.meeting_day, self.next_meeting)

    def add(self, found: Found) -> Found | None:
        found.text = " ".join(found.text.split()).strip(" ;,–-")
        if not found.text or NO_RESULT.match(found.text) or len(found.text) < 4:
            return None
        if found.responsible or found.due or found.due_text:
            found.kind = "task"
        found.top = found.top or self.top
        self.found.append(found)
        return found

    def set_task_fields(self, found: Found, who_phrase: str = "", due_phrase: str = "") -> None:
        if who_phrase:
            found.responsible, found.member = self.who(who_phrase)
        if due_phrase:
            value, words = self.due(due_phrase)
            if words:
                found.due, found.due_text = value, words
        if found.responsible or found.due_text:
            found.kind = "task"

    def inline(self, text: str) -> tuple[str, str, str]:
        """(text without them, responsible phrase, due phrase) from "… (Zuständig: X, bis Y)"."""
        who_phrase = due_phrase = ""
        match = INLINE_WHO.search(text)
        if match:
            who_phrase = match["who"]
            text = text[: match.start()] + " " + text[match.end():]
        for match in INLINE_DUE.finditer(text):
            value, words = self.due(text[match.end(): match.end() + 40])
            if words:
                due_phrase = text[match.end(): match.end() + 40]
                cut_end = text.find(words, match.end()) + len(words)
                text = text[: match.start()] + " " + text[cut_end:]
                break
        text = re.sub(r"\(\s*[,;]?\s*\)|\[\s*\]", " ", text)
        text = re.sub(r"\s*[–-]\s*$", "", " ".join(text.split())).strip(" ,;(")
        return text, who_phrase, due_phrase

    # -- lines -----------------------------------------------------------------------

    def heading(self, line: str) -> bool:
        match = TOP_LINE.match(line)
        if match:
            number, title = match[1], match[2].strip(" :.-–")
            self.top = f"TOP {number}: {title}" if title else f"TOP {number}"
            return True
        match = NUMBERED_LINE.match(line)
        if match and not LABEL.match(match[3]) and not re.search(r"[.:;]$", match[3]) and len(match[3].split()) <= 12:
            number = match[1] + (f".{match[2]}" if match[2] else "")
            self.top = f"TOP {number}: {match[3].strip()}"
            return True
        return False

    def table_row(self, cells: list[str]) -> None:
        roles = [_column_role(cell) for cell in cells]
        useful = {role for role in roles if role}
        if len(useful) >= 2 and useful & {"result", "task", "who", "due"}:
            self.columns = roles
            return
        if self.columns is None or _is_separator(cells):
            return
        row: dict[str, str] = {}
        for role, cell in zip(self.columns, cells):
            if role and role not in row:
                row[role] = cell.strip()
        top_number = re.match(r"\d{1,2}", row.get("top", ""))
        topic = row.get("topic", "")
        if top_number and not re.match(rf"TOP {top_number[0]}\b", self.top):
            self.top = f"TOP {top_number[0]}" + (f": {topic}" if topic else "")
        kind = None
        if "type" in row:
            code = row["type"].strip().lower().rstrip(".")
            if code in TYPE_CODES:
                kind = TYPE_CODES[code]
                if kind is None:
                    return
        result, task = row.get("result", ""), row.get("task", "")
        if result and (NO_RESULT.match(result) or INFO_ONLY.search(result) or "?" in result):
            result = ""
        who_phrase, due_phrase = row.get("who", ""), row.get("due", "")
        if task and not EMPTY_CELL.match(task):
            if result:
                self.add(Found("decision", result))
            found = Found("task", task)
            self.set_task_fields(found, who_phrase, due_phrase)
            self.add(found)
        elif result:
            found = Found(kind or "decision", result)
            self.set_task_fields(found, who_phrase, due_phrase)
            self.add(found)

    def labelled(self, line: str) -> bool:
        match = LABEL.match(line)
        if not match:
            return False
        rest = match["rest"].strip()
        owner = (match["owner"] or "").strip()
        if owner and not (match["task"] or match["decision"]):
            return False  # "Bericht der Kreisverwaltung:" is a speaker, not a label
        if match["other"]:
            self.current = self.open_label = None
            if match["other"].lower() in ("info", "information", "hinweis", "bericht"):
                return True
            self.sentences(rest)
            return True
        if match["who"]:
            if self.current is not None:
                self.set_task_fields(self.current, who_phrase=rest)
            self.open_label = None
            return True
        if match["due"]:
            if self.current is not None:
                self.set_task_fields(self.current, due_phrase=rest)
            self.open_label = None
            return True
        kind = "decision" if match["decision"] else "task"
        label = match["decision"] or match["task"]
        if len(label) == 1 and not label.isupper():
            return False
        text, who_phrase, due_phrase = self.inline(rest)
        found = Found(kind, text)
        if owner:
            who_phrase = who_phrase or owner
        self.set_task_fields(found, who_phrase, due_phrase)
        if not text:
            self.current = self.open_label = found
            return True
        added = self.add(found)
        self.current = added
        self.open_label = added
        return True

    def continuation(self, line: str) -> bool:
        """A line that continues the text of the result labelled just before."""
        found = self.open_label
        if found is None:
            return False
        text, who_phrase, due_phrase = self.inline(line)
        if found in self.found:
            found.text = f"{found.text} {text}".strip()
        else:
            found.text = text
            if not self.add(found):
                self.open_label = self.current = None
                return True
        self.set_task_fields(found, who_phrase or "", due_phrase or "")
        return True

    def arrow(self, line: str) -> bool:
        match = ARROW_LINE.match(line)
        if not match:
            return False
        responsible, member = self.who(match["who"])
        if member is None and responsible != "alle":
            return False
        text, who_phrase, due_phrase = self.inline(match["rest"])
        found = Found("task", text, responsible=responsible, member=member)
        self.set_task_fields(found, due_phrase=due_phrase)
        self.current = self.add(found)
        return True

    def sentences(self, text: str) -> None:
        for sentence in _sentences(text):
            if "?" in sentence:
                continue
            if DECIDING.search(sentence):
                if NOT_DECIDED.search(LAST_MINUTES.sub(" ", sentence)):
                    continue
                self.current = self.add(Found("decision", sentence))
                continue
            match = re.match(r"^(?:Die\s+|Der\s+|Das\s+)?(?:Stadt\s+|Gemeinde\s+)?(\S+(?:\s\S+)?)\s", sentence)
            if match and re.search(r"\bbis\b", sentence):
                responsible, member = self.who(match[1].split()[0])
                if member is None:
                    responsible, member = self.who(match[1])
                if member is None:
                    continue
                cut = re.search(r"\bbis\b", sentence)
                value, words = self.due(sentence[cut.start():])
                if not words or value is None:
                    continue
                found = Found("task", sentence, responsible=responsible, member=member, due=value, due_text=words)
                self.current = self.add(found)

    def line(self, raw: str) -> None:
        line = " ".join(raw.split())
        if not line:
            self.open_label = None
            return
        cells = split_row(line)
        if cells is not None and len(cells) >= 2:
            self.open_label = None
            self.table_row(cells)
            return
        self.columns = None
        if self.heading(line):
            self.current = self.open_label = None
            return
        body = BULLET.sub("", line, count=1) if BULLET.match(line) else line
        bulleted = body != line
        if bulleted:
            self.open_label = None
        if self.labelled(body):
            return
        if bulleted and self.arrow(body):
            return
        if not bulleted and self.open_label is not None and not DECIDING.search(body):
            self.continuation(body)
            return
        if bulleted and re.search(r"\bgenehmigt\b", body) and not NOT_DECIDED.search(body):
            self.current = self.add(Found("decision", body))
            return
        self.open_label = None
        self.sentences(body)


def extract_results(text: str, members: Iterable[str], meeting_day: dt.date,
                    next_meeting: dt.date | None = None) -> list[Found]:
    """The decisions and tasks in the text of minutes, in the order they appear."""
    reader = _Reader(list(members), meeting_day, next_meeting)
    for line in (text or "").splitlines():
        reader.line(line)
    unique: list[Found] = []
    seen = set()
    for found in reader.found:
        key = (found.kind, found.top, found.text.casefold())
        if key not in seen:
            seen.add(key)
            unique.append(found)
    return unique
