"""Issue 12, items 13-15: the German of the mails, as a careful Kreisverwaltung writes it.

Reasons and statuses come from the template language, never from English code strings;
a held post's reason and the moderator's note each have their place; an extra meeting is
named by its date; the note about a leaving member lists the members after it left. And
every German template, rendered with realistic samples, is spell-checked with Debian's
German hunspell dictionary (hunspell-de-de, installed by .ci/run) read by spylls."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from akn_mail.notices.reasons import hold_reason
from akn_mail.notices.template_samples import sample_variables
from akn_mail.notices.templating import TEMPLATES, Templates, list_variables

DICTIONARY = Path("/usr/share/hunspell/de_DE")
# Words of the mails that no German dictionary has: file types, the answer words the
# -request address understands, an abbreviation, one compound and the Stadtradeln campaign.
ALLOWED = {"DOCX", "ODT", "PDF", "Nr", "Absenderadresse", "Stadtradeln", "Outlook", "confirm", "ok", "reject", "discard", "unsubscribe"}
# The archive by mail (archive_* templates): file types, the English commands and the search
# syntax a person types, and the member names its examples use.
ALLOWED |= {"ID", "Outlook", "eml", "ics", "search", "minutes", "message", "meetings", "dates", "help",
            "AND", "OR", "NOT", "host", "from", "subject", "date", "Jüchen", "Kaarst"}


@pytest.mark.parametrize("reason, german", [
    ("j.mueller@stadtwerke.example is not a contact on the roster",
     "die Absenderadresse j.mueller@stadtwerke.example ist nicht als Ansprechperson eingetragen"),
    ("no usable From address", "die Nachricht hat keine verwendbare Absenderadresse"),
    ("klima@kaarst.example is a contact of Kaarst, which is not a member now",
     "klima@kaarst.example ist als Ansprechperson von Kaarst eingetragen, und Kaarst ist derzeit kein Mitglied"),
    ("internal error while processing (ValueError: x)", "bei der Verarbeitung ist ein technischer Fehler aufgetreten"),
    ("something new", "aus einem technischen Grund („something new“)"),
])
def test_hold_reasons_are_german_sentences(reason, german):
    assert hold_reason(reason, "de") == german


def test_every_hold_reason_of_the_sender_step_has_a_german_sentence():
    import akn_mail.pipeline.steps.sender as sender

    source = Path(sender.__file__).read_text(encoding="utf-8")
    reasons = re.findall(r'Decision\.hold\(f?"([^"]+)"\)', source)
    assert reasons
    for reason in reasons:
        example = reason.replace("{post.from_address}", "a@b.example").replace("{contact.member_name}", "Kaarst")
        assert not hold_reason(example, "de").startswith("aus einem technischen Grund"), reason


def test_post_rejected_names_the_hold_reason_and_the_moderators_note(config):
    held = SimpleNamespace(**{**vars(sample_variables("post_rejected")["held"]), "note": "Bitte über Ihre Verwaltung senden."})
    body = Templates(config, "de").render("post_rejected", held=held).body
    assert ("wurde aus folgendem Grund zurückgehalten: Die Absenderadresse j.mueller@stadtwerke-grevenbroich.example "
            "ist nicht als Ansprechperson eingetragen. Die Moderation hat sie abgelehnt;") in body
    assert "Begründung der Moderation: Bitte über Ihre Verwaltung senden." in body
    assert "is not a contact" not in body


def test_a_reminder_about_an_extra_meeting_names_its_date(config):
    meeting = SimpleNamespace(quarter="2027-Q1", date=dt.date(2027, 3, 20), place="", host="Neuss", id=9, kind="extra")
    variables = {**sample_variables("minutes_reminder"), "meeting": meeting}
    rendered = Templates(config, "de").render("minutes_reminder", **variables)
    assert rendered.subject == "Protokoll fehlt noch: Sondersitzung am 20. März 2027"
    assert "die Sondersitzung der Allianz für Klima und Nachhaltigkeit im Rhein-Kreis Neuss am Samstag, 20. März 2027 liegt" in rendered.body
    assert "Quartal" not in rendered.body


def test_member_left_lists_the_members_after_the_last_day(config):
    body = Templates(config, "de").render("member_left", **sample_variables("member_left")).body
    assert "endet am 31. Dezember 2026." in body
    assert "Mitglieder ab dem 1. Januar 2027: Dormagen," in body


def _strings(value) -> list[str]:
    """Every text in a sample value (names, addresses, tokens): not the template's own words."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [text for item in value for text in _strings(item)]
    if isinstance(value, SimpleNamespace):
        return _strings(list(vars(value).values()))
    return []


def test_every_german_template_is_spelt_right(config):
    if not DICTIONARY.with_suffix(".dic").exists():
        pytest.skip(f"{DICTIONARY}.dic is missing: install Debian's hunspell-de-de (.ci/run does)")
    hunspell = pytest.importorskip("spylls.hunspell", reason="spylls (the Python hunspell reader) is in the test extras")
    dictionary = hunspell.Dictionary.from_files(str(DICTIONARY))
    templates = Templates(config, "de")
    misspelt: dict[str, set[str]] = {}
    for name in TEMPLATES:
        variables = sample_variables(name, "de")
        rendered = templates.render(name, **variables)
        text = rendered.subject + "\n" + rendered.body
        given = _strings(list(variables.values())) + _strings(list(vars(list_variables(config)).values()))
        for value in sorted(given, key=len, reverse=True):
            if len(value) > 1:
                text = text.replace(value, " ")
        # Addresses, links and command lines are not German prose.
        text = re.sub(r"\S+@\S+|https?://\S+|akn-mail [^\n]*", " ", text)
        for word in re.findall(r"[A-Za-zÄÖÜäöüß]+", text):
            if word in ALLOWED or any(dictionary.lookup(form) for form in (word, word.lower(), word.capitalize())):
                continue
            misspelt.setdefault(word, set()).add(name)
    assert misspelt == {}
