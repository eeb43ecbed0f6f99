"""Hold reasons and bounce results for people, in the language of the mails.

The pipeline records why it held a message as an English sentence for the log and for
``held list`` ("anna@example.org is not a contact on the roster"). Mails to people must
not carry those code strings: the ``hold_reason`` filter turns each reason the pipeline
writes into a sentence of the template language. The patterns below are the reasons of
``pipeline/steps/sender.py``, ``pipeline/processor.py`` (failure_reason), ``notices/requests.py``
and the sender authentication steps (``authenticate``, ``new_version``: recorded in German,
as issue 10 asks, so ``held list`` shows them in German too); a test
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
    (re.compile(r"^die DMARC-Prüfung für (?P<domain>\S+) ist fehlgeschlagen \((?P<detail>.*)\): "
                r"die Nachricht stammt wahrscheinlich nicht von (?P<address>\S+)$"),
     "die DMARC-Prüfung für {domain} ist fehlgeschlagen ({detail}): die Nachricht stammt wahrscheinlich nicht von {address}",
     "DMARC failed for {domain} ({detail}): the message probably does not come from {address}"),
    (re.compile(r"^die DKIM-Signatur von (?P<domain>\S+) ist ungültig \((?P<detail>.*)\): "
                r"die Nachricht stammt möglicherweise nicht von (?P<address>\S+)$"),
     "die DKIM-Signatur von {domain} ist ungültig ({detail}): die Nachricht stammt möglicherweise nicht von {address}",
     "the DKIM signature of {domain} is broken ({detail}): the message may not come from {address}"),
    (re.compile(r"^(?P<address>\S+) ist als Ansprechperson eingetragen, aber die Nachricht trägt weder eine gültige "
                r"DKIM-Signatur noch ein DMARC-Ergebnis"),
     "{address} ist als Ansprechperson eingetragen, aber die Nachricht trägt weder eine gültige DKIM-Signatur noch "
     "ein DMARC-Ergebnis, und unbestätigte Nachrichten werden zurückgehalten",
     "{address} is a registered contact, but the message has neither a valid DKIM signature nor a DMARC result, "
     "and unauthenticated posts are held"),
    (re.compile(r"^die Nachricht würde als Fassung (?P<version>\d+) das vorhandene Protokoll einer Sitzung ersetzen, "
                r"doch ihr Absender ist nicht bestätigt \(Prüfergebnis: (?P<auth>\w+)\)$"),
     "die Nachricht würde als Fassung {version} das vorhandene Protokoll einer Sitzung ersetzen, doch ihr Absender "
     "ist nicht bestätigt (Prüfergebnis: {auth})",
     "as version {version} it would replace the existing minutes of a meeting, but its sender is not "
     "authenticated (verdict: {auth})"),
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
