"""Quarters of the year, written ``YYYY-Qn``: the unit of the regular meetings.

The alliance meets once per quarter, so the rotation, the schedule and the archive all
speak of quarters. ``Quarter.parse("2027-Q1")``, ``Quarter.of(date)``, ``q.first_day``,
``q.last_day``, ``q + 1``. An unknown quarter is refused with ``QuarterError``.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from akn_mail.errors import AknError

_PATTERN = re.compile(r"^\s*(\d{4})\s*-?\s*[Qq]([1-4])\s*$")


class QuarterError(AknError):
    """A text that is not a quarter of the form YYYY-Qn."""


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    number: int  # 1..4

    def __post_init__(self) -> None:
        if not 1 <= self.number <= 4 or not 1 <= self.year <= 9999:
            raise QuarterError(f"{self.year}-Q{self.number} is not a quarter; write YYYY-Qn with n from 1 to 4, e.g. 2027-Q1.")

    @classmethod
    def parse(cls, text: "str | Quarter") -> "Quarter":
        """'2027-Q1' (also '2027Q1', '2027-q1') -> Quarter(2027, 1)."""
        if isinstance(text, Quarter):
            return text
        match = _PATTERN.match(str(text))
        if not match:
            raise QuarterError(f"unknown quarter \"{text}\"; write YYYY-Qn with n from 1 to 4, e.g. 2027-Q1.")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, day: datetime.date) -> "Quarter":
        """The quarter a date falls in."""
        return cls(day.year, (day.month - 1) // 3 + 1)

    @classmethod
    def current(cls, today: datetime.date | None = None) -> "Quarter":
        return cls.of(today or datetime.date.today())

    @property
    def first_day(self) -> datetime.date:
        return datetime.date(self.year, 3 * self.number - 2, 1)

    @property
    def last_day(self) -> datetime.date:
        if self.number == 4:
            return datetime.date(self.year, 12, 31)
        return (self + 1).first_day - datetime.timedelta(days=1)

    def contains(self, day: datetime.date) -> bool:
        return self.first_day <= day <= self.last_day

    def __add__(self, quarters: int) -> "Quarter":
        index = self.year * 4 + (self.number - 1) + quarters
        return Quarter(index // 4, index % 4 + 1)

    def __sub__(self, other: "int | Quarter"):
        """q - 1 is the previous quarter; q2 - q1 is the number of quarters between them."""
        if isinstance(other, Quarter):
            return (self.year * 4 + self.number) - (other.year * 4 + other.number)
        return self + (-other)

    def __str__(self) -> str:
        return f"{self.year}-Q{self.number}"


_GERMAN_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")


def parse_date(text: "str | datetime.date", what: str = "date") -> datetime.date:
    """An ISO date YYYY-MM-DD or a German one DD.MM.YYYY (as Excel in Germany writes it:
    01.03.2021), or a clear error naming what was expected."""
    if isinstance(text, datetime.date):
        return text
    value = str(text).strip()
    try:
        german = _GERMAN_DATE.match(value)
        if german:
            return datetime.date(int(german.group(3)), int(german.group(2)), int(german.group(1)))
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise QuarterError(f"invalid {what} \"{text}\"; write it as YYYY-MM-DD or DD.MM.YYYY, e.g. 2027-03-11.") from None
