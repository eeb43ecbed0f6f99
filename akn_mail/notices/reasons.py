"""Hold reasons and bounce results for people, in the language of the mails.

The pipeline records why it held a message as an English sentence for the log and for
``held list`` ("anna@example.org is not a contact on the roster"). Mails to people must
not carry those code strings: the ``hold_reason`` filter turns each reason the pipeline
writes into a sentence of the template language. The patterns below are the reasons of
``pipeline/steps/sender.py``, ``pipeline/processor.py`` (failure_reason) and ``notices/requests.py``; a test
checks that every reason those steps produce has one. An unknown reason is named neutrally
and quoted, never passed off as German.
"""

from __future__ import annotations

import re

# (pattern of the English reason, German sentence, English sentence); groups are named.
HOLD_REASONS: list[tuple[re.Pattern[str], str, str]] = [
    (re.compile(r"^(?P<address>\S+) is not a contact on the roster$"),
     "die Absenderadresse {address} ist nicht als Ansprechperson eingetragen",
     "the sender {address} is not a registered contact"),
    (re.compile(r"^no usable From address$"),
     "die Nachricht hat keine verwendbare Absenderadresse",
     "the message has no usable sender address"),
    (re.compile(r"^(?P<address>\S+) is a contact of (?P<member>.+), which is not a member now$"),
     "{address} ist als Ansprechperson von {member} eingetragen, und {member} ist derzeit kein Mitglied",
     "{address} is a contact of {member}, which is not a member now"),
    (re.compile(r"^(internal error while processing|konnte nicht verarbeitet werden)"),
     "bei der Verarbeitung ist ein technischer Fehler aufgetreten",
     "a technical error occurred while processing it"),
    (re.compile(r"^mail to the -owner address, but \[list\] admins is empty$"),
     "die Nachricht ging an die Adresse der Listenverwaltung, für die niemand eingetragen ist",
     "it was sent to the owner address, for which nobody is registered"),
]

UNKNOWN = {
    "de": "aus einem technischen Grund („{reason}“)",
    "en": "for a technical reason (\"{reason}\")",
}


def hold_reason(reason: str, language: str = "de") -> str:
    """The reason a message was held, as a clause of the mail's language."""
    text = (reason or "").strip()
    for pattern, german, english in HOLD_REASONS:
        match = pattern.match(text)
        if match:
            return (german if language == "de" else english).format(**match.groupdict())
    return UNKNOWN["de" if language == "de" else "en"].format(reason=text)


BOUNCE_KINDS = {
    "de": {"hard": "dauerhaft unzustellbar", "permanent": "dauerhaft unzustellbar",
           "soft": "vorübergehend unzustellbar", "temporary": "vorübergehend unzustellbar"},
    "en": {"hard": "permanent failure", "permanent": "permanent failure",
           "soft": "temporary failure", "temporary": "temporary failure"},
}


def bounce_kind(kind: str, language: str = "de") -> str:
    """'hard' or 'soft' as people say it."""
    names = BOUNCE_KINDS["de" if language == "de" else "en"]
    return names.get(kind, kind)
