"""The Atom feeds of the HTML archive (RFC 4287): one of the minutes, one of all posts.

Built with ``xml.etree.ElementTree``, which escapes every text and attribute, so a subject
or name from mail can never break the XML. Entry IDs are ``urn:`` forms of the Message-ID
(stable, and unique without a web address); links are relative to the feed when no
``[list] archive_url`` is set (feed readers resolve them against the feed's address).
"""

from __future__ import annotations

import datetime
import hashlib
import re
import xml.etree.ElementTree as ET

ATOM = "http://www.w3.org/2005/Atom"
FEED_ENTRIES = 50


# Characters XML 1.0 does not allow at all (a subject may carry them, encoded).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: str) -> str:
    return _NOT_XML.sub("", text or "")


def _atom_time(value: str) -> str:
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        return "1970-01-01T00:00:00Z"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def entry_id(message_id: str) -> str:
    return "urn:sha256:" + hashlib.sha256(message_id.encode("utf-8", "replace")).hexdigest()


def atom_feed(*, title: str, feed_id: str, self_href: str, site_href: str, entries: list[dict]) -> bytes:
    """ENTRIES: dicts with message_id, title, author, date, href, summary (newest first)."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed", {"xml:lang": "de"})
    ET.SubElement(feed, f"{{{ATOM}}}title").text = _clean(title)
    ET.SubElement(feed, f"{{{ATOM}}}id").text = feed_id
    ET.SubElement(feed, f"{{{ATOM}}}link", {"rel": "self", "href": self_href})
    ET.SubElement(feed, f"{{{ATOM}}}link", {"rel": "alternate", "type": "text/html", "href": site_href})
    updated = max((_atom_time(entry["date"]) for entry in entries), default="1970-01-01T00:00:00Z")
    ET.SubElement(feed, f"{{{ATOM}}}updated").text = updated
    for item in entries:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        ET.SubElement(entry, f"{{{ATOM}}}title").text = _clean(item["title"]) or "(ohne Betreff)"
        ET.SubElement(entry, f"{{{ATOM}}}id").text = entry_id(item["message_id"])
        ET.SubElement(entry, f"{{{ATOM}}}link", {"rel": "alternate", "type": "text/html", "href": _clean(item["href"])})
        ET.SubElement(entry, f"{{{ATOM}}}updated").text = _atom_time(item["date"])
        author = ET.SubElement(entry, f"{{{ATOM}}}author")
        ET.SubElement(author, f"{{{ATOM}}}name").text = _clean(item["author"]) or "Unbekannt"
        ET.SubElement(entry, f"{{{ATOM}}}summary").text = _clean(item["summary"])
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="utf-8", xml_declaration=False) + b"\n"
