"""Which meeting minutes belong to: the filing rule as tables of cases, on a real database."""

from __future__ import annotations

import datetime

import pytest

from akn_mail.archive.meetings import subject_reference
from akn_mail.roster.quarter import Quarter

from archive_support import archive_for, mail, setup_roster

# The rotation in these tests starts 2027-Q1: Q1 Dormagen, Q2 Grevenbroich, Q3 Jüchen, Q4 Kaarst.

SUBJECTS = [
    ("[Protokoll] Sitzung 2027-Q1", "2027-Q1", None),
    ("[Protokoll] Sitzung Q3/2027", "2027-Q3", None),
    ("[Protokoll] 2. Quartal 2027", "2027-Q2", None),
    ("[Protokoll] Sitzung vom 11.03.2027", "2027-Q1", "2027-03-11"),
    ("[Protokoll] AKN-Treffen 11. März 2027 in Dormagen", "2027-Q1", "2027-03-11"),
    ("[Protokoll] Treffen am 5. Okt. 2027", "2027-Q4", "2027-10-05"),
    ("[Protokoll] Treffen 2027-06-30", "2027-Q2", "2027-06-30"),
    ("[Protokoll] Sitzung vom 31.02.2027", None, None),  # no such day: no date
    ("[Protokoll] Treffen im Rathaus", None, None),
    # file names of imported documents: the date follows an underscore
    ("[Protokoll] Protokoll_2025-03-05.pdf", "2025-Q1", "2025-03-05"),
    ("[Protokoll] Protokoll_05.03.2025.docx", "2025-Q1", "2025-03-05"),
    ("[Protokoll] AKN_2024_Q3.odt", "2024-Q3", None),
    ("[Protokoll] AKN_Q3_2024.odt", "2024-Q3", None),
    ("[Protokoll] Aktenzeichen 12024-Q3", None, None),  # part of a longer number
]


@pytest.mark.parametrize("subject, quarter, day", SUBJECTS)
def test_subject_reference_reads_quarters_and_german_dates(subject, quarter, day):
    reference = subject_reference(subject)
    if quarter is None:
        assert reference is None
    else:
        assert str(reference.quarter) == quarter
        assert (reference.date.isoformat() if reference.date else None) == day


# (earlier minutes to file first as (subject, sender, date), the minutes under test,
#  expected meeting label, expected rule, expected extra flags)
CASES = [
    # 1. explicit quarter wins, even from a non-host (flagged)
    ([], ("[Protokoll] Sitzung 2027-Q2", "anna@dormagen.example", "2027-07-01"), "2027-Q2", "subject-quarter", {"not-host"}),
    # 2. explicit date: the regular meeting of that quarter, from its host: no flag
    ([], ("[Protokoll] Sitzung vom 11.03.2027", "anna@dormagen.example", "2027-03-12"), "2027-Q1", "subject-date", set()),
    # 3. German month name
    ([], ("[Protokoll] 11. März 2027", "anna@dormagen.example", "2027-03-20"), "2027-Q1", "subject-date", set()),
    # 4. no reference: the latest meeting the sender's member hosts
    ([], ("[Protokoll] Treffen", "clara@juechen.example", "2027-09-20"), "2027-Q3", "sender-hosted", set()),
    # 5. ... even when a later quarter (another host) has no minutes either
    ([], ("[Protokoll] Treffen", "clara@juechen.example", "2028-01-15"), "2027-Q3", "sender-hosted", set()),
    # 6. the sender hosts nothing yet: the latest past meeting without minutes, flagged
    ([], ("[Protokoll] Treffen", "dirk@kaarst.example", "2027-05-10"), "2027-Q2", "latest-without-minutes", {"not-host"}),
    # 7. every past meeting has minutes: a new extra meeting dated by the message
    ([("[Protokoll] 2027-Q1", "anna@dormagen.example", "2027-03-20"),
      ("[Protokoll] 2027-Q2", "bernd@grevenbroich.example", "2027-05-20")],
     ("[Protokoll] Sondersitzung", "dirk@kaarst.example", "2027-05-25"), "extra 2027-05-25", "new-extra-meeting", set()),
    # 8. the sender's own meeting has minutes already: falls to the latest open one
    ([("[Protokoll] Treffen", "anna@dormagen.example", "2027-03-20")],
     ("[Protokoll] Nachtrag", "anna@dormagen.example", "2027-05-02"), "2027-Q2", "latest-without-minutes", {"not-host"}),
    # 9. an explicit reference to a meeting with minutes: a new version
    ([("[Protokoll] Sitzung 2027-Q1", "anna@dormagen.example", "2027-03-20")],
     ("[Protokoll] Sitzung 2027-Q1 (korrigiert)", "anna@dormagen.example", "2027-03-25"), "2027-Q1", "subject-quarter", {"new-version"}),
    # 10. a sender who is no contact at all: filed, flagged
    ([], ("[Protokoll] Sitzung 2027-Q1", "fremd@example.org", "2027-03-20"), "2027-Q1", "subject-quarter", {"not-host"}),
]


@pytest.mark.parametrize("earlier, minutes, meeting, rule, flags", CASES)
def test_minutes_are_linked_by_the_filing_rule(config, database, earlier, minutes, meeting, rule, flags):
    setup_roster(database)
    archive = archive_for(config, database)
    for subject, sender, day in earlier:
        archive.file(mail(subject, sender=sender, date=day), index=False)
    subject, sender, day = minutes
    filed = archive.file(mail(subject, sender=sender, date=day), index=False).message
    assert filed.is_minutes
    assert filed.meeting == meeting
    assert f"matched-by-{rule}" in filed.flags
    assert set(filed.flags) - {f"matched-by-{rule}"} == flags


def test_explicit_date_of_an_extra_meeting_links_to_it(config, database):
    rotation = setup_roster(database)
    rotation.extra("2027-02-10", "Kaarst")
    archive = archive_for(config, database)
    filed = archive.file(mail("[Protokoll] Sondertreffen vom 10.02.2027", sender="dirk@kaarst.example", date="2027-02-11"), index=False)
    assert filed.message.meeting == "extra 2027-02-10"
    assert filed.message.host == "Kaarst"
    assert "not-host" not in filed.message.flags


def test_second_minutes_are_a_new_version_and_the_newest_is_current(config, database):
    setup_roster(database)
    archive = archive_for(config, database)
    first = archive.file(mail("[Protokoll] Sitzung 2027-Q1", "Erste Fassung Radweg", date="2027-03-20")).message
    second = archive.file(mail("[Protokoll] Sitzung 2027-Q1 v2", "Zweite Fassung Radweg", date="2027-03-27")).message
    assert (first.minutes_version, second.minutes_version) == (1, 2)
    assert archive.meta.message(first.id).current is False
    assert archive.meta.message(second.id).current is True
    row = database.execute("SELECT archived_id, versions FROM meeting_minutes WHERE meeting_id = ?", (second.meeting_id,)).fetchone()
    assert (row["archived_id"], row["versions"]) == (second.id, 2)
    from akn_mail.archive.search import ArchiveSearch

    hits = ArchiveSearch(archive.index, database).search("Radweg")
    assert [hit.id for hit in hits] == [second.id]


def test_a_reply_about_minutes_is_not_minutes(config, database):
    setup_roster(database)
    archive = archive_for(config, database)
    filed = archive.file(mail("Re: Termin", sender="anna@dormagen.example"), is_minutes=False, index=False).message
    assert not filed.is_minutes and filed.meeting is None


def test_archive_list_shows_missing_minutes(config, database):
    from akn_mail.archive.listing import meeting_overview

    rotation = setup_roster(database, start="2027-Q1")
    archive = archive_for(config, database)
    archive.file(mail("[Protokoll] Sitzung 2027-Q2", sender="bernd@grevenbroich.example", date="2027-06-20"), index=False)
    entries = meeting_overview(database, rotation, today=datetime.date(2027, 8, 1))
    by_meeting = {entry.meeting: entry for entry in entries}
    assert by_meeting["2027-Q1"].flags == ["missing"] and by_meeting["2027-Q1"].minutes is None
    assert by_meeting["2027-Q2"].minutes is not None and by_meeting["2027-Q2"].host == "Grevenbroich"
    assert by_meeting["2027-Q3"].flags == ["pending"]
    assert Quarter.parse(entries[0].quarter) == Quarter(2027, 1)
