"""What a subject line says: reply markers, the list prefix and the minutes tag.

One rule for every reader: the pipeline's minutes step, ``archive import``, moderation
replies and -request mail all decide here whether a subject is a reply and whether it
marks minutes, so an imported ``AW: [Protokoll] …`` is filed exactly as the same mail
arriving live would be (as a reply about minutes, not as minutes).
Settings: [list] minutes_tag, subject_prefix.
"""

from __future__ import annotations

import re

# Reply and forward markers of common mail programs (English, German, Nordic, Dutch, Italian).
REPLY_PREFIX = re.compile(r"^\s*(re|aw|antw|wg|fw|fwd|sv|vs|tr|rif|r)\s*(\[\d+\])?\s*:", re.IGNORECASE)
# The same markers, repeated ("Re: AW: Fwd: …"), for stripping them off.
_REPLY_MARKERS = re.compile(r"^\s*((re|aw|antw|wg|fw|fwd|sv|vs|tr|rif)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)


def strip_list_prefix(subject: str, prefix: str) -> str:
    """The subject without any copy of the list prefix (case-insensitive)."""
    if not prefix:
        return (subject or "").strip()
    return re.sub(re.escape(prefix), " ", subject or "", flags=re.IGNORECASE).strip()


def is_reply(subject: str, prefix: str = "") -> bool:
    """Whether the subject starts with a reply or forward marker (after the list prefix)."""
    return bool(REPLY_PREFIX.match(strip_list_prefix(subject, prefix)))


def strip_reply_markers(subject: str | None) -> str:
    """The subject without the "Re:"/"AW:"/"Fwd:" markers a reply or forward puts in front."""
    return _REPLY_MARKERS.sub("", subject or "")


def is_minutes(subject: str, tag: str, prefix: str = "") -> bool:
    """The subject carries the minutes tag and is not a reply or forward (which only talk about minutes)."""
    return bool(tag) and tag.casefold() in (subject or "").casefold() and not is_reply(subject, prefix)
