"""The host corrects the results of the minutes by replying to the receipt.

The minutes receipt lists the decisions and tasks found, numbered, with "Kennung:
ergebnisse <token>". A reply that carries the token and, in its own lines (above any
quote), one or more commands acts on them; the host gets an answer with what was done
and the list as it now stands:

    ok                    the list is right (the results count as checked)
    streichen 3[, 4]      result 3 is none (struck; a new version will not bring it back)
    erledigt 2            task 2 is done
    neu: Aufgabe Entwurf Förderantrag Zuständig Neuss bis 30.06.2027

Numbers are those of the receipt. A reply with the token but no command (a host writing
that the meeting is wrong) is left to the normal path: mail to -owner reaches the admins.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import sqlite3
from dataclasses import dataclass, field
from email.message import EmailMessage

from akn_mail.notices.answers import Incoming
from akn_mail.notices.notices import Notices
from akn_mail.results import tokens as result_tokens
from akn_mail.results.service import Results
from akn_mail.results.store import ResultError

log = logging.getLogger("akn_mail.results")

_ATTRIBUTION = re.compile(r"\b(schrieb|wrote)\b.*:$|^-{2,}\s*(Original|Ursprüngliche)|^(Von|From|Gesendet|Sent):", re.IGNORECASE)
_OK = re.compile(r"^(ok|okay|passt|stimmt|richtig|einverstanden|bestätigt)\b[.!]?$", re.IGNORECASE)
_STRIKE = re.compile(r"^(?:streichen|streiche|löschen|lösche|entfernen|strike|delete)\s*:?\s*(?P<numbers>[\d\s,;und&]+)$", re.IGNORECASE)
_DONE = re.compile(r"^(?:erledigt|done|fertig)\s*:?\s*(?P<numbers>[\d\s,;und&]+)$", re.IGNORECASE)
_NEW = re.compile(r"^(?:neu|new|hinzufügen|ergänzen)\s*:?\s+(?P<text>.+)$", re.IGNORECASE)


@dataclass
class ReplyOutcome:
    archived_id: int | None = None
    done: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"results reply for minutes {self.archived_id}: {len(self.done)} change(s), {len(self.problems)} problem(s)"


def own_lines(body: str) -> list[str]:
    """The lines the replier wrote: above the first quote or attribution line."""
    lines = []
    for line in (body or "").splitlines():
        stripped = line.strip()
        if stripped.startswith(">") or _ATTRIBUTION.search(stripped) or stripped.lower().startswith("kennung:"):
            break
        if stripped:
            lines.append(stripped)
    return lines


def commands(body: str) -> list[tuple[str, str]]:
    """(command, argument) for every line that is one; other lines as ("unknown", line)."""
    found = []
    for line in own_lines(body):
        if _OK.match(line):
            found.append(("ok", ""))
        elif match := _STRIKE.match(line):
            found.append(("strike", match["numbers"]))
        elif match := _DONE.match(line):
            found.append(("done", match["numbers"]))
        elif match := _NEW.match(line):
            found.append(("new", match["text"]))
        else:
            found.append(("unknown", line))
    return found


def _numbers(text: str) -> list[int]:
    return [int(number) for number in re.findall(r"\d+", text)]


class ResultReplies:
    def __init__(self, config, db: sqlite3.Connection, *, notices: Notices):
        self.config = config
        self.db = db
        self.notices = notices
        self.results = Results(db, roster=self.notices.roster)

    def handle(self, message: EmailMessage, replier: str, subject: str, body: str,
               incoming: Incoming | None = None) -> ReplyOutcome | None:
        """Act on a reply to a minutes receipt; None when it holds no token or no command."""
        tokens = result_tokens.find(subject, body)
        if not tokens:
            return None
        wanted = commands(body)
        if not any(kind != "unknown" for kind, _ in wanted):
            return None
        row = next((found for found in (result_tokens.lookup(self.db, token) for token in tokens) if found), None)
        outcome = ReplyOutcome()
        if row is None:
            outcome.problems.append("Die Kennung gehört zu keiner Eingangsbestätigung; es wurde nichts geändert.")
            return self._answer(replier, incoming, message, outcome, None, None)
        outcome.archived_id = row["archived_id"]
        meeting_id, archived_id = row["meeting_id"], row["archived_id"]
        store = self.results.store
        # Numbers refer to the list the host saw: resolve them all before changing anything.
        current = {result.position: result for result in store.for_meeting(meeting_id, archived_id)}
        day = self._meeting_day(meeting_id, archived_id)
        for kind, argument in wanted:
            try:
                if kind == "ok":
                    for result in current.values():
                        if not result.corrected:
                            store.update(result.id, text=result.text)
                    outcome.done.append("Liste bestätigt.")
                elif kind in ("strike", "done"):
                    for number in _numbers(argument):
                        result = current.get(number)
                        if result is None:
                            outcome.problems.append(f"Es gibt kein Ergebnis {number} in der Liste.")
                            continue
                        if kind == "strike":
                            store.set_status(result.id, "struck")
                            outcome.done.append(f"{number} gestrichen: {result.text}")
                        else:
                            store.set_status(result.id, "done")
                            outcome.done.append(f"{number} als erledigt vermerkt: {result.text}")
                elif kind == "new":
                    found = self.results.parse(argument, day)
                    added = store.add(found, meeting_id=meeting_id, archived_id=archived_id, origin="host",
                                      members=self.results.member_ids())
                    outcome.done.append(f"{added.position} neu: {added.kind_de}: {added.text}")
                else:
                    outcome.problems.append(f"Nicht verstanden: „{argument[:120]}“")
            except ResultError as error:
                outcome.problems.append(f"{argument or kind}: {error}")
        log.info("results corrected by mail archived=%s by=%s changes=%s problems=%s", archived_id, replier,
                 len(outcome.done), len(outcome.problems))
        return self._answer(replier, incoming, message, outcome, meeting_id, archived_id)

    def _meeting_day(self, meeting_id: int | None, archived_id: int) -> dt.date:
        row = self.db.execute("SELECT date FROM archived_messages WHERE id = ?", (archived_id,)).fetchone()
        fallback = dt.date.fromisoformat(row["date"][:10]) if row else dt.date.today()
        return self.results.meeting_day(meeting_id, fallback)

    def _answer(self, replier: str, incoming: Incoming | None, message: EmailMessage, outcome: ReplyOutcome,
                meeting_id, archived_id) -> ReplyOutcome:
        message_id = str(message.get("Message-ID", "")).strip() or None
        results = self.results.store.for_meeting(meeting_id, archived_id) if archived_id is not None else []
        # An automatic answer: through the AnswerGate (notices/answers.py), like every other.
        self.notices.answer(
            "results_corrected", replier, incoming or Incoming(replier, replier), sender_alias="owner",
            in_reply_to=message_id,
            key=f"results-reply:{message_id}" if message_id else None,
            done=outcome.done, problems=outcome.problems, results=results,
        )
        return outcome
