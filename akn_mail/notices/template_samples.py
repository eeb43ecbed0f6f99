"""Realistic sample values for every template, used by ``templates check``/``show`` and the tests.

They have the same shape as the values the notices pass (see notices.py), so a template
that renders here renders in production too.
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

MEMBERS = ["Dormagen", "EnergieAgentur.NRW", "Grevenbroich", "Jüchen", "Kaarst", "Korschenbroich",
           "Meerbusch", "Neuss", "Rhein-Kreis Neuss", "Rommerskirchen"]


def sample_results() -> list[SimpleNamespace]:
    """Two results as ``akn_mail.results.store.Result`` shows them to templates."""
    return [
        SimpleNamespace(position=1, kind="decision", kind_de="Beschluss", top="TOP 2: Stadtradeln",
                        text="Alle Mitglieder nehmen am Stadtradeln 2027 teil.", who="", member_name="", due_date=None, due_text="",
                        meeting="2027-Q2", archived_id=12, id=31, status="decided"),
        SimpleNamespace(position=2, kind="task", kind_de="Aufgabe", top="TOP 3: Photovoltaik",
                        text="Dachflächenkataster als Muster für die anderen Kommunen bereitstellen", who="Jüchen", member_name="Jüchen",
                        due_date=dt.date(2027, 6, 30), due_text="30.06.2027", meeting="2027-Q2", archived_id=12, id=32,
                        status="open"),
    ]


def sample_variables(name: str, language: str = "de") -> dict[str, Any]:
    """Variables for template NAME (without ``list``, which comes from the config)."""
    contact = SimpleNamespace(name="Markus Schäfer", email="m.schaefer@juechen.example")
    member = SimpleNamespace(name="Jüchen", kind="municipality")
    meeting = SimpleNamespace(quarter="2027-Q2", date=dt.date(2027, 5, 12), place="Rathaus Jüchen, Großer Sitzungssaal",
                              host="Jüchen", id=17, kind="regular")
    invitation_meeting = SimpleNamespace(
        quarter="2027-Q2", date=dt.date(2027, 5, 12), place="Rathaus Jüchen, Großer Sitzungssaal", host="Jüchen", id=17,
        kind="regular", time="14:00", end="16:00", online="", title="AKN-Sitzung im 2. Quartal 2027, ausgerichtet von Jüchen")
    agenda = [SimpleNamespace(position=1, title="Kommunale Wärmeplanung: Stand in den Kommunen", author="Dormagen"),
              SimpleNamespace(position=2, title="Stadtradeln 2027", author="Neuss")]
    held = SimpleNamespace(
        id=42,
        reason="j.mueller@stadtwerke-grevenbroich.example is not a contact on the roster",  # as the pipeline writes it
        note="",
        sender="Jörg Müller <j.mueller@stadtwerke-grevenbroich.example>",
        subject="Förderprogramm Wärmeplanung – Fristverlängerung",
        excerpt="Sehr geehrte Damen und Herren,\n\ndie Frist für Anträge im Förderprogramm\n„Kommunale Wärmeplanung“ wurde bis zum 30. Juni verlängert.",
        received=dt.datetime(2027, 3, 3, 9, 41, tzinfo=dt.timezone.utc),
    )
    samples: dict[str, dict[str, Any]] = {
        "welcome": dict(contact=contact, member=member, members=MEMBERS, next_meeting=meeting),
        "farewell": dict(contact=contact, member=member),
        "member_joined": dict(member=SimpleNamespace(name="Rommerskirchen", kind="municipality"),
                              joined=dt.date(2027, 1, 1), members=MEMBERS),
        "member_left": dict(member=SimpleNamespace(name="Korschenbroich", kind="municipality"),
                            left=dt.date(2026, 12, 31), members=[m for m in MEMBERS if m != "Korschenbroich"]),
        "host_reminder": dict(contact=contact, member=member, meeting=meeting, quarter_start=dt.date(2027, 4, 1),
                              open_tasks=sample_results()[1:]),
        "task_reminder": dict(contact=contact, member=SimpleNamespace(name="Jüchen"), result=sample_results()[1],
                              days=7, open_tasks=sample_results()[1:]),
        "meeting_invitation": dict(meeting=invitation_meeting, kind="invitation", agenda=agenda, agenda_tag="[TOP]",
                                   open_tasks=sample_results()[1:]),
        "meeting_cancel": dict(meeting=invitation_meeting, kind="cancel", agenda=agenda, agenda_tag="[TOP]"),
        "meeting_briefing": dict(contact=contact, meeting=invitation_meeting, kind="briefing", agenda=agenda, agenda_tag="[TOP]",
                                 attendance=[SimpleNamespace(member="Dormagen", status="accepted"),
                                             SimpleNamespace(member="Grevenbroich", status="tentative"),
                                             SimpleNamespace(member="Kaarst", status="declined"),
                                             SimpleNamespace(member="Neuss", status="no answer")]),
        "rsvp_reminder": dict(contact=SimpleNamespace(name="Markus Schäfer", email="m.schaefer@juechen.example",
                                                                member_name="Jüchen"),
                                        meeting=invitation_meeting, kind="invitation", agenda=agenda, agenda_tag="[TOP]",
                                        open_tasks=sample_results()[1:]),
        "minutes_reminder": dict(contact=contact, member=member, meeting=meeting, days=14),
        "minutes_receipt": dict(
            sender=contact, subject="[Protokoll] Sitzung 2. Quartal 2027 in Jüchen", meeting=meeting, version=2,
            attachments=["Protokoll_AKN_2027-05-12.pdf", "Anlage_Wärmeplanung.docx"],
            received=dt.datetime(2027, 5, 19, 14, 5, tzinfo=dt.timezone.utc),
            results=sample_results(), results_token="Xy7kQ2mN9pLr4sT6vW8zA1bC3dE5fG0h", agenda=agenda,
        ),
        "minutes_forward": dict(recipient=SimpleNamespace(email="buergermeisterbuero@juechen.example",
                                                          name="Bürgermeisterbüro", member_name="Jüchen", gets="all"),
                                meeting=meeting, version=1, results=sample_results(), minutes_text="",
                                contacts=["Markus Schäfer"], attachment_names=["Protokoll_AKN_2027-05-12.pdf"]),
        "results_summary": dict(recipient=SimpleNamespace(email="buergermeisterbuero@juechen.example",
                                                          name="Bürgermeisterbüro", member_name="Jüchen", gets="results"),
                                month_end=dt.date(2027, 5, 31), month_name="Mai 2027" if language == "de" else "May 2027",
                                own=sample_results()[1:], others=[], done=[], decisions=sample_results()[:1]),
        "results_corrected": dict(done=["3 gestrichen: Nächste Sitzung in Kaarst", "5 neu: Aufgabe: Entwurf Förderantrag"],
                                  problems=["Es gibt kein Ergebnis 9 in der Liste."], results=sample_results()),
        "moderation_notice": dict(held=held, token="q3Vd9xN2kLp0aZ7wYt4sRb1c"),
        "moderation_done": dict(action="approve", held=held),
        "moderation_failed": dict(problem="unknown_token", held=None, token="q3Vd9xN2kLp0aZ7wYt4sRb1c"),
        "post_held": dict(held=held),
        "post_rejected": dict(held=held),
        "unsubscribe_task": dict(requester="m.schaefer@juechen.example", contact=SimpleNamespace(
            name="Markus Schäfer", email="m.schaefer@juechen.example", member_name="Jüchen"), task_id=3,
            subject="unsubscribe"),
        "unsubscribe_answer": dict(requester="m.schaefer@juechen.example", contact=SimpleNamespace(
            name="Markus Schäfer", email="m.schaefer@juechen.example", member_name="Jüchen")),
        "request_help": dict(requester="m.schaefer@juechen.example"),
        "bounce_disabled": dict(
            contact=SimpleNamespace(name="Sabine Krüger", email="klima@kaarst.example", member_name="Kaarst"),
            score=5.0, threshold=5.0, days=14,
            last="hard 5.1.1 550 5.1.1 <klima@kaarst.example>: Recipient address rejected: User unknown",
            last_kind="hard", last_status="5.1.1",
            last_diagnostic="550 5.1.1 <klima@kaarst.example>: Recipient address rejected: User unknown",
        ),
        "archive_help": dict(contact=True, refused="", max_size="15 MB"),
        "archive_search": dict(query="Wärmeplanung Jüchen", problem="", max_size="15 MB", hits=[
            SimpleNamespace(id=42, date=dt.date(2027, 5, 19), meeting="2027-Q2", host="Jüchen", minutes=True,
                            subject="[Protokoll] Sitzung 2. Quartal 2027 in Jüchen", sender="Markus Schäfer <m.schaefer@juechen.example>",
                            snippet="… die kommunale *Wärmeplanung* in *Jüchen* beginnt im Frühjahr …"),
        ]),
        "archive_minutes": dict(query="2027-Q2", meeting="2027-Q2", max_size="15 MB", minutes=SimpleNamespace(
            id=42, subject="[Protokoll] Sitzung 2. Quartal 2027 in Jüchen", date=dt.date(2027, 5, 19), sender="Markus Schäfer",
            host="Jüchen", version=1, body="Protokoll im Anhang.", attached=["Protokoll_AKN_2027-05-12.pdf"]),
            listed=[SimpleNamespace(name="Fotos_Begehung.zip", size="38,2 MB")]),
        "archive_message": dict(ident="42", listed=None, max_size="15 MB", message=SimpleNamespace(
            id=42, subject="Förderprogramm Wärmeplanung in Jüchen", date=dt.date(2027, 3, 3), sender="Markus Schäfer",
            file="nachricht-42.eml")),
        "archive_meetings": dict(year=2027, max_size="15 MB", meetings=[
            SimpleNamespace(meeting="2027-Q1", date="2027-03-11", host="Grevenbroich", flags=[], minutes_id=40,
                            subject="[Protokoll] 2027-Q1", versions=1, missing=False, cancelled=False),
            SimpleNamespace(meeting="2027-Q2", date="", host="Jüchen", flags=["missing"], minutes_id=None, subject="",
                            versions=0, missing=True, cancelled=False),
        ]),
        "archive_dates": dict(ics=True, max_size="15 MB", meetings=[
            SimpleNamespace(quarter="2027-Q2", kind="regular", date=dt.date(2027, 5, 12), host="Jüchen",
                            place="Rathaus Jüchen, Großer Sitzungssaal", time="14:00"),
            SimpleNamespace(quarter="2027-Q3", kind="regular", date=None, host="Kaarst", place="", time=""),
        ]),
        "footer": dict(),
    }
    return samples[name]
