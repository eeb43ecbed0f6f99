"""Templates of every mail the system writes, and the messages built from them.

Each mail is one jinja2 text file in ``templates/<language>/NAME.txt`` (shipped inside the
package as ``akn_mail/templates``). A template starts with its ``Subject:`` line, then a
blank line, then the body, so that it reads like the mail it produces. The footer
(``footer.txt``) is the one template without a subject.

A site overrides a template by putting a file of the same name into ``[templates]
directory``: ``<directory>/<language>/NAME.txt`` wins over ``<directory>/NAME.txt``, which
wins over the shipped file. Templates render with ``StrictUndefined``, so a misspelt
variable is an error; ``check()`` renders every template with sample values so that a broken
override is found by ``akn-mail templates check`` and at ``serve`` start-up, not in the
middle of a delivery. Settings: [list] language, [templates] directory.
"""

from __future__ import annotations

import datetime as dt
import traceback
from dataclasses import dataclass
from email.message import EmailMessage
from email.headerregistry import Address
from email.utils import format_datetime, make_msgid
from importlib import resources
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from akn_mail.config import Config
from akn_mail.notices.reasons import bounce_kind, hold_reason
from akn_mail.errors import AknError
from akn_mail.message import SMTP_POLICY

LANGUAGES = ("de", "en")

_MONTHS = {
    "de": ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
           "Oktober", "November", "Dezember"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"),
}
_WEEKDAYS = {
    "de": ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}


class TemplateError(AknError):
    """A template is missing, does not parse, or does not render with its variables."""


@dataclass(frozen=True)
class TemplateInfo:
    """What a template is for and which variables it gets (besides ``list``)."""

    name: str
    purpose: str
    variables: tuple[str, ...]
    has_subject: bool = True


# Every template the system uses, in the order the README lists them.
TEMPLATES: dict[str, TemplateInfo] = {
    info.name: info
    for info in (
        TemplateInfo("welcome", "to a new contact: what the list is, how to post, how minutes work, who hosts next",
                     ("contact", "member", "members", "next_meeting")),
        TemplateInfo("farewell", "to a contact who was removed", ("contact", "member")),
        TemplateInfo("member_joined", "to the list when a member joins", ("member", "joined", "members")),
        TemplateInfo("member_left", "to the list when a member leaves", ("member", "left", "members")),
        TemplateInfo("host_reminder", "to the contacts of the next host, [reminders] host_weeks_before weeks before the quarter",
                     ("contact", "member", "meeting", "quarter_start", "open_tasks")),
        TemplateInfo("meeting_invitation", "to every contact: the invitation (or its update) to a meeting, with the calendar part (iTIP REQUEST)",
                     ("meeting", "kind", "agenda", "agenda_tag", "open_tasks")),
        TemplateInfo("meeting_cancel", "to every invited contact: the meeting is cancelled (iTIP CANCEL)",
                     ("meeting", "kind", "agenda", "agenda_tag")),
        TemplateInfo("meeting_briefing", "to the host's contacts a week before an invited meeting: the agenda and who accepted",
                     ("contact", "meeting", "kind", "agenda", "agenda_tag", "attendance")),
        TemplateInfo("rsvp_reminder", "once, a week before, to contacts of members without an acceptance: the invitation again",
                     ("contact", "meeting", "kind", "agenda", "agenda_tag", "open_tasks")),
        TemplateInfo("minutes_reminder", "to the host's contacts when the minutes of a held meeting are missing after [reminders] minutes_after_days days",
                     ("contact", "member", "meeting", "days")),
        TemplateInfo("task_reminder", "to the contacts of the member responsible for an open task, a week before it is due",
                     ("contact", "member", "result", "days", "open_tasks")),
        TemplateInfo("minutes_forward", "to a member's read-only recipients: the minutes with a cover note and the results",
                     ("recipient", "meeting", "version", "results", "minutes_text", "contacts", "attachment_names")),
        TemplateInfo("results_summary", "to a member's read-only recipients (gets results), monthly: open and done results",
                     ("recipient", "month_end", "month_name", "own", "others", "done", "decisions")),
        TemplateInfo("minutes_receipt", "to the sender of minutes: which meeting they were filed under, the results found, how to correct both",
                     ("sender", "subject", "meeting", "version", "attachments", "received", "results", "results_token", "agenda")),
        TemplateInfo("results_corrected", "to the host who corrected the results of the minutes by reply: what was done, the list now",
                     ("done", "problems", "results")),
        TemplateInfo("moderation_notice", "to the moderators when a post is held: reason, sender, subject, first lines, token",
                     ("held", "token")),
        TemplateInfo("moderation_done", "to the moderator whose reply approved, rejected or discarded a held post",
                     ("action", "held")),
        TemplateInfo("moderation_failed", "to a reply to the -request address that could not act (unknown token, already decided, no action word)",
                     ("problem", "held", "token")),
        TemplateInfo("post_held", "to the author of a held post: it waits for a moderator (an automatic answer, within the AnswerGate's limits)", ("held",)),
        TemplateInfo("post_rejected", "to the author of a held post that a moderator rejected", ("held",)),
        TemplateInfo("unsubscribe_task", "to the admins: a contact asked to leave (stored as a task)",
                     ("requester", "contact", "task_id", "subject")),
        TemplateInfo("unsubscribe_answer", "to whoever asked to unsubscribe: contacts are named by their administration",
                     ("requester", "contact")),
        TemplateInfo("request_help", "to other mail to the -request address: what that address understands", ("requester",)),
        TemplateInfo("archive_help", "to 'hilfe'/'help' at the -request address: the archive commands (strangers get it with a note)",
                     ("contact", "refused", "max_size")),
        TemplateInfo("archive_search", "to 'suche WÖRTER'/'search WORDS': the 10 best hits (date, meeting, host, subject, snippet, ID)",
                     ("query", "hits", "problem", "max_size")),
        TemplateInfo("archive_minutes", "to 'protokoll 2025-Q3'/'minutes …': the current minutes, attachments attached or listed",
                     ("query", "meeting", "minutes", "listed", "max_size")),
        TemplateInfo("archive_message", "to 'nachricht ID'/'message ID': one archived post as .eml",
                     ("ident", "message", "listed", "max_size")),
        TemplateInfo("archive_meetings", "to 'sitzungen [JAHR]'/'meetings [YEAR]': the meetings, missing minutes marked",
                     ("year", "meetings", "max_size")),
        TemplateInfo("archive_dates", "to 'termine'/'dates': the next four meetings, with termine.ics attached",
                     ("meetings", "ics", "max_size")),
        TemplateInfo("bounce_disabled", "to the admins when a contact's delivery was disabled after repeated bounces",
                     ("contact", "score", "threshold", "days", "last", "last_kind", "last_status", "last_diagnostic")),
        TemplateInfo("footer", "added to every post when [list] footer = true", (), has_subject=False),
    )
}


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


@dataclass(frozen=True)
class Problem:
    """One template that does not render: where, and why, in one line."""

    name: str
    language: str
    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"


def shipped_directory() -> Path:
    """The templates that come with the package (a symlink to the top-level templates/ in a checkout)."""
    return Path(str(resources.files("akn_mail") / "templates"))


def list_variables(config: Config) -> SimpleNamespace:
    """The ``list`` variable every template gets: addresses and names of this list."""
    return SimpleNamespace(
        name=config.list.name,
        address=config.list.address,
        description=config.list.description,
        owner_address=config.list_alias("owner"),
        request_address=config.list_alias("request"),
        archive_url=config.list.archive_url,
        minutes_tag=config.list.minutes_tag,
        subject_prefix=config.list.subject_prefix,
        list_id=config.list_id,
        reply_to=config.list.reply_to,
    )


def _as_date(value: Any) -> dt.date | None:
    """A date from what templates get: a date, a datetime or an ISO text; None for nothing."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    if isinstance(value, dt.datetime):
        return value.date()
    return value


def format_date(value: Any, language: str) -> str:
    """A date as a person writes it: "12. Mai 2027" / "12 May 2027"."""
    day = _as_date(value)
    if day is None:
        return ""
    month = _MONTHS[language][day.month - 1]
    if language == "de":
        return f"{day.day}. {month} {day.year}"
    return f"{day.day} {month} {day.year}"


def format_long_date(value: Any, language: str) -> str:
    """With the weekday: "Mittwoch, 12. Mai 2027"."""
    day = _as_date(value)
    if day is None:
        return ""
    return f"{_WEEKDAYS[language][day.weekday()]}, {format_date(day, language)}"


def format_quarter(value: Any, language: str) -> str:
    """'2027-Q2' as a person says it: "2. Quartal 2027" / "Q2 2027"."""
    text = str(value)
    year, _, number = text.partition("-Q")
    if not (year.isdigit() and number.isdigit()):
        return text
    if language == "de":
        return f"{number}. Quartal {year}"
    return f"Q{number} {year}"


class Templates:
    """Renders the templates of one language, with the site directory taking precedence."""

    def __init__(self, config: Config, language: str | None = None):
        self.config = config
        self.language = language or config.list.language
        if self.language not in LANGUAGES:
            raise TemplateError(f"no templates for language {self.language!r}; use one of {', '.join(LANGUAGES)}.")
        self.site_directory = config.resolve(config.templates.directory) if config.templates.directory else None
        self.environment = make_environment(self.search_path(), self.language)

    def search_path(self) -> list[Path]:
        path = []
        if self.site_directory is not None:
            path += [self.site_directory / self.language, self.site_directory]
        path.append(shipped_directory() / self.language)
        return path

    def source_of(self, name: str) -> Path:
        """The file that will be used for template NAME."""
        for directory in self.search_path():
            candidate = directory / f"{name}.txt"
            if candidate.is_file():
                return candidate
        raise TemplateError(f"template {name}.txt not found in {', '.join(str(p) for p in self.search_path())}.")

    def render(self, name: str, **variables: Any) -> Rendered:
        """Render template NAME; the ``list`` variable is filled in from the config."""
        variables.setdefault("list", list_variables(self.config))
        info = TEMPLATES.get(name)
        try:
            template = self.environment.get_template(f"{name}.txt")
            text = template.render(**variables)
        except jinja2.TemplateNotFound:
            raise TemplateError(f"template {name}.txt not found in {', '.join(str(p) for p in self.search_path())}.") from None
        except jinja2.TemplateError as error:
            problem = _problem(name, self.language, self.source_of(name), error)
            raise TemplateError(f"template {problem}") from None
        return split_subject(text, has_subject=info.has_subject if info else True, name=f"{name}.txt")

    def message(
        self,
        name: str,
        to: list[str] | str,
        *,
        sender_alias: str = "owner",
        reply_to: str | None = None,
        in_reply_to: str | None = None,
        **variables: Any,
    ) -> EmailMessage:
        """Render NAME and wrap it in a complete, loop-safe notice (see ``build_message``)."""
        rendered = self.render(name, **variables)
        return build_message(self.config, rendered, to, sender_alias=sender_alias, reply_to=reply_to,
                             in_reply_to=in_reply_to, kind=name)

    def check(self) -> list[Problem]:
        """Render every known template with sample values; return what failed."""
        from akn_mail.notices.template_samples import sample_variables

        problems = []
        if self.site_directory is not None and not self.site_directory.is_dir():
            problems.append(Problem("", self.language, str(self.site_directory), None,
                                    "[templates] directory does not exist; create it or fix the path"))
        for name, info in TEMPLATES.items():
            try:
                path = self.source_of(name)
            except TemplateError as error:
                problems.append(Problem(name, self.language, f"{name}.txt", None, str(error)))
                continue
            try:
                template = self.environment.get_template(f"{name}.txt")
                text = template.render(list=list_variables(self.config), **sample_variables(name, self.language))
                split_subject(text, has_subject=info.has_subject, name=f"{name}.txt")
            except jinja2.TemplateError as error:
                problems.append(_problem(name, self.language, path, error))
            except TemplateError as error:
                problems.append(Problem(name, self.language, str(path), 1, str(error).split(": ", 1)[-1]))
            except UnicodeDecodeError as error:
                problems.append(Problem(name, self.language, str(path), None, f"not UTF-8 text ({error.reason} at byte {error.start}); save it as UTF-8"))
            except Exception as error:  # noqa: BLE001 - any failure of a site template is reported, not raised
                problems.append(_problem(name, self.language, path, error))
        return problems

    def overrides(self) -> dict[str, Path]:
        """Template name -> site file, for templates the site replaces in this language."""
        found = {}
        for name in TEMPLATES:
            path = self.source_of(name)
            if self.site_directory is not None and self.site_directory in path.parents:
                found[name] = path
        return found


def make_environment(search_path: list[Path], language: str) -> jinja2.Environment:
    """The jinja2 environment of the templates: sandboxed, since a site's template is data, not code.

    ``SandboxedEnvironment`` refuses ``{{ ''.__class__.__mro__ }}`` and the like, so whoever
    can write a template file cannot run Python in the service through it.
    """
    environment = SandboxedEnvironment(
        loader=jinja2.FileSystemLoader([str(path) for path in search_path], encoding="utf-8"),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # plain-text mail, not HTML
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    environment.filters["date"] = lambda value: format_date(value, language)
    environment.filters["longdate"] = lambda value: format_long_date(value, language)
    environment.filters["quarter"] = lambda value: format_quarter(value, language)
    environment.filters["meeting_name"] = lambda value: meeting_name(value, language)
    environment.filters["hold_reason"] = lambda value: hold_reason(value, language)
    environment.filters["bounce_kind"] = lambda value: bounce_kind(value, language)
    environment.filters["sentence"] = lambda value: str(value)[:1].upper() + str(value)[1:]
    environment.filters["next_day"] = lambda value: _as_date(value) + dt.timedelta(days=1)
    environment.filters["is_future"] = lambda value: _as_date(value) > dt.date.today()
    return environment


def meeting_name(meeting: Any, language: str) -> str:
    """A meeting as a person names it: "Sitzung im 2. Quartal 2027", and an extra meeting by
    its date, "Sondersitzung am 20. März 2027" (not as the regular one of its quarter)."""
    if getattr(meeting, "kind", "regular") == "extra" and getattr(meeting, "date", None):
        if language == "de":
            return f"Sondersitzung am {format_date(meeting.date, language)}"
        return f"extra meeting on {format_date(meeting.date, language)}"
    quarter = format_quarter(getattr(meeting, "quarter", ""), language)
    return f"Sitzung im {quarter}" if language == "de" else f"meeting of {quarter}"


def split_subject(text: str, *, has_subject: bool, name: str) -> Rendered:
    """Split rendered text into the ``Subject:`` header block and the body."""
    text = text.replace("\r\n", "\n")
    if not has_subject:
        return Rendered("", text.strip("\n") + "\n")
    head, separator, body = text.lstrip("\n").partition("\n\n")
    subject = None
    for line in head.split("\n"):
        key, colon, value = line.partition(":")
        if colon and key.strip().lower() == "subject":
            subject = " ".join(value.split())
        else:
            raise TemplateError(f"{name}: the header block may only hold 'Subject: …', found {line!r}; put a blank line between subject and body.")
    if not separator or subject is None:
        raise TemplateError(f"{name}: must start with a 'Subject: …' line and a blank line before the body.")
    if not subject:
        raise TemplateError(f"{name}: the subject renders empty.")
    body = body.strip("\n")
    if not body.strip():
        raise TemplateError(f"{name}: the body renders empty.")
    return Rendered(subject, body + "\n")


def _problem(name: str, language: str, path: Path, error: Exception) -> Problem:
    """Locate a jinja2 error in the template file (syntax errors carry it; render errors are in the traceback)."""
    line = getattr(error, "lineno", None)
    filename = getattr(error, "filename", None) or str(path)
    if line is None:
        # jinja2 rewrites tracebacks so that template frames carry the template's file and line.
        for frame in reversed(traceback.extract_tb(error.__traceback__)):
            if frame.filename == str(path) or frame.filename.endswith(f"{name}.txt"):
                line, filename = frame.lineno, frame.filename
                break
    message = getattr(error, "message", None) or f"{error.__class__.__name__}: {error}"
    if isinstance(error, jinja2.UndefinedError):
        message = f"{message} (variables of {name}: list, {', '.join(TEMPLATES[name].variables) or 'none other'})" if name in TEMPLATES else message
    return Problem(name, language, filename, line, message)


NOTICE_POLICY = SMTP_POLICY


def build_message(
    config: Config,
    rendered: Rendered,
    to: list[str] | str,
    *,
    sender_alias: str = "owner",
    reply_to: str | None = None,
    in_reply_to: str | None = None,
    kind: str = "notice",
) -> EmailMessage:
    """A notice the list writes: utf-8 text, From the list's -owner (or -request) address.

    ``Auto-Submitted: auto-generated`` (RFC 3834) and ``X-Auto-Response-Suppress`` keep
    vacation replies away, and our List-Id lets the loop check discard anything that comes back.
    """
    recipients = [to] if isinstance(to, str) else list(to)
    message = EmailMessage(policy=NOTICE_POLICY)
    message["From"] = Address(display_name=config.list.name, addr_spec=config.list_alias(sender_alias))
    message["To"] = ", ".join(recipients) if recipients else "undisclosed-recipients:;"
    message["Subject"] = rendered.subject
    message["Date"] = format_datetime(dt.datetime.now(dt.timezone.utc))
    message["Message-ID"] = make_msgid(idstring=kind.replace("_", "-"), domain=config.list_domain)
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    if reply_to:
        message["Reply-To"] = reply_to
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    message["Precedence"] = "bulk"
    message["List-Id"] = f"{config.list.description} <{config.list_id}>"
    message["X-AKN-Notice"] = kind
    message.set_content(rendered.body, subtype="plain", charset="utf-8", cte="quoted-printable")
    return message


def render(name: str, language: str, config: Config | None = None, **variables: Any) -> tuple[str, str]:
    """Render template NAME in LANGUAGE: (subject, body). Without config: shipped templates, default list."""
    templates = Templates(config or Config(), language)
    rendered = templates.render(name, **variables)
    return rendered.subject, rendered.body


def check_all(config: Config) -> list[Problem]:
    """Check the configured language first (the one in use), then the other shipped sets."""
    problems = []
    for language in sorted(LANGUAGES, key=lambda code: code != config.list.language):
        problems += Templates(config, language).check()
    return problems


def require_valid(config: Config) -> None:
    """Raise TemplateError naming the first broken template (used at ``serve`` start-up)."""
    problems = Templates(config).check()
    if problems:
        more = f" (and {len(problems) - 1} more; run 'akn-mail templates check')" if len(problems) > 1 else ""
        raise TemplateError(f"broken template {problems[0]}{more}. Fix or remove the override.")
