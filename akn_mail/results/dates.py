"""Due dates as minutes write them: "31.03.2027", "bis 15.2.", "15. März 2027", "Ende Q2",
"Ende des 3. Quartals", "Ende 2027", "März 2027", "zur nächsten Sitzung".

``parse_due`` reads the first such expression in a phrase, relative to the meeting's day
(a date without a year is the next such day on or after it; "Ende Q2" the end of the next
second quarter). "zur nächsten Sitzung" is the date of the meeting after this one, which
the caller knows from the rotation; without it the due date stays empty rather than guessed.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re

MONTHS = {
    "januar": 1, "jan": 1, "jänner": 1, "februar": 2, "feb": 2, "märz": 3, "maerz": 3, "mär": 3, "mrz": 3,
    "april": 4, "apr": 4, "mai": 5, "juni": 6, "jun": 6, "juli": 7, "jul": 7, "august": 8, "aug": 8,
    "september": 9, "sep": 9, "sept": 9, "oktober": 10, "okt": 10, "november": 11, "nov": 11,
    "dezember": 12, "dez": 12,
}
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))

NUMERIC = re.compile(r"(?<![\d.])(\d{1,2})\.\s?(\d{1,2})\.(?:\s?(\d{4}|\d{2})(?!\d))?")
ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
WRITTEN = re.compile(rf"(?<!\d)(\d{{1,2}})\.\s*({_MONTH})\.?\s*(\d{{4}})?", re.IGNORECASE)
MONTH_YEAR = re.compile(rf"\b(?:(?:ende|anfang|mitte)\s+)?({_MONTH})\.?\s+(\d{{4}})\b", re.IGNORECASE)
QUARTER = re.compile(r"\bende\s+(?:des\s+)?(?:Q\s?([1-4])|([1-4])\.\s*(?:quartals?|quartal|q\.?))(?:\s*/?\s*(\d{4}))?", re.IGNORECASE)
QUARTER_PLAIN = re.compile(r"\b(?:im\s+)?Q([1-4])\s*/?\s*(\d{4})\b", re.IGNORECASE)
YEAR_END = re.compile(r"\b(?:ende|jahresende)\s*(\d{4})?\b", re.IGNORECASE)
NEXT_MEETING = re.compile(r"\b(?:zur|bis\s+zur|vor\s+der|in\s+der|zu\s+der)?\s*n(?:ä|ae)chsten\s+(?:AKN-?)?(?:Sitzung|Treffen|Forum|Forumssitzung)\b", re.IGNORECASE)


def _year(day: int, month: int, after: dt.date) -> dt.date | None:
    for year in (after.year, after.year + 1):
        try:
            candidate = dt.date(year, month, day)
        except ValueError:
            return None
        if candidate >= after:
            return candidate
    return None


def _date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _quarter_end(quarter: int, year: int | None, after: dt.date) -> dt.date:
    month = quarter * 3
    if year is None:
        year = after.year
        if dt.date(year, month, calendar.monthrange(year, month)[1]) < after:
            year += 1
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def parse_due(phrase: str, meeting_day: dt.date, next_meeting: dt.date | None = None) -> tuple[dt.date | None, str]:
    """(due date or None, the words that gave it) for the first due expression in PHRASE."""
    if not phrase:
        return None, ""
    found: list[tuple[int, dt.date | None, str]] = []
    for match in ISO.finditer(phrase):
        found.append((match.start(), _date(int(match[1]), int(match[2]), int(match[3])), match[0]))
    for match in WRITTEN.finditer(phrase):
        month = MONTHS[match[2].lower()]
        day = int(match[1])
        value = _date(int(match[3]), month, day) if match[3] else _year(day, month, meeting_day)
        found.append((match.start(), value, match[0]))
    for match in NUMERIC.finditer(phrase):
        day, month = int(match[1]), int(match[2])
        if not 1 <= month <= 12:
            continue
        if match[3]:
            year = int(match[3])
            year += 2000 if year < 100 else 0
            value = _date(year, month, day)
        else:
            value = _year(day, month, meeting_day)
        found.append((match.start(), value, match[0].strip()))
    for match in QUARTER.finditer(phrase):
        quarter = int(match[1] or match[2])
        found.append((match.start(), _quarter_end(quarter, int(match[3]) if match[3] else None, meeting_day), match[0]))
    for match in QUARTER_PLAIN.finditer(phrase):
        found.append((match.start(), _quarter_end(int(match[1]), int(match[2]), meeting_day), match[0]))
    for match in MONTH_YEAR.finditer(phrase):
        month, year = MONTHS[match[1].lower()], int(match[2])
        if match[0].lower().startswith("anfang"):
            value = dt.date(year, month, 1)
        elif match[0].lower().startswith("mitte"):
            value = dt.date(year, month, 15)
        else:
            value = dt.date(year, month, calendar.monthrange(year, month)[1])
        found.append((match.start(), value, match[0]))
    for match in NEXT_MEETING.finditer(phrase):
        found.append((match.start(), next_meeting, match[0].strip()))
    for match in YEAR_END.finditer(phrase):
        if match[1] or match[0].lower().startswith("jahresende"):
            year = int(match[1]) if match[1] else meeting_day.year
            found.append((match.start(), dt.date(year, 12, 31), match[0]))
    if not found:
        return None, ""
    found.sort(key=lambda item: (item[0], -len(item[2])))
    start, value, words = found[0]
    return value, words
