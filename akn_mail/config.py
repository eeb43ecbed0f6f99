"""Configuration: one TOML file plus environment overrides.

Reads the file named by ``--config``, else ``$AKN_MAIL_CONFIG``, else ``./akn-mail.toml``
if it exists, else runs on the embedded defaults. Every key can be overridden by an
environment variable ``AKN_MAIL_<SECTION>_<KEY>`` (for example ``AKN_MAIL_RELAY_PORT=2525``).
The schema below is the single source of truth: ``akn-mail init`` writes the commented
example file from it, so a key documented there is a key that exists.
Relative paths are resolved against the directory of the config file (or the current
directory when there is none).
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from akn_mail.errors import AknError
from akn_mail.locate import CONFIG_ENV, DEFAULT_CONFIG_NAME, DEFAULT_DATA_DIR, find_config_path, resolve


class ConfigError(AknError):
    """The configuration file or an override cannot be used."""


def _key(default: Any, doc: str) -> Any:
    """A config key: its default and the sentence that documents it in the example file."""
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata={"doc": doc})
    return field(default=default, metadata={"doc": doc})


@dataclass
class ListSection:
    """The list itself: its address, its name and how posts are decorated."""

    address: str = _key("akn@lists.example", "The list address contacts write to. Its -bounces, -owner and -request addresses are accepted too.")
    name: str = _key("AKN", "Short name, used in \"Name via AKN\" when From is rewritten.")
    description: str = _key("Allianz für Klima und Nachhaltigkeit im Rhein-Kreis Neuss", "Long name, used in List-Id and in the mails the system writes.")
    list_id: str = _key("", "RFC 2919 List-Id; empty derives it from the address (akn@lists.example -> akn.lists.example).")
    subject_prefix: str = _key("[AKN]", "Prefix put before every subject (never twice, also on replies only once). Empty for none.")
    minutes_tag: str = _key("[Protokoll]", "Subject tag that marks the minutes of a meeting (case-insensitive).")
    agenda_tag: str = _key("[TOP]", "Subject tag that marks a post as an item for the agenda (Tagesordnung) of the next meeting, or of the one named after it (\"[TOP] 2027-Q1 ...\").")
    language: str = _key("de", "Language of the mails the system writes: \"de\" or \"en\".")
    admins: list = _key([], "Addresses of the list's administrators (told about held mail, bounces, unsubscribe requests).")
    moderators: list = _key([], "Addresses that may approve or reject held mail by reply; empty means the admins.")
    archive_url: str = _key("", "Web address of the archive (where [archive] html_dir is served) for List-Archive and Archived-At; empty leaves both headers out.")
    dmarc_rewrite: str = _key("auto", "Rewrite From to \"Name via AKN\": \"always\", \"never\" or \"auto\" (when the author's domain publishes DMARC p=quarantine/reject).")
    reply_to: str = _key("list", "Where a reply goes: \"list\" sets Reply-To to the list address, so \"Antworten\" in Outlook or Thunderbird reaches everyone; \"author\" sets none, so \"Antworten\" reaches the author only and \"Allen antworten\" everyone. The welcome mail says which.")
    send_to_author: bool = _key(True, "Send a post back to its author as well.")
    duplicate_window_days: int = _key(7, "A Message-ID seen again within this many days is not distributed twice.")
    footer: bool = _key(False, "Add the footer template to every post.")


@dataclass
class IngressSection:
    """Where the SMTP/LMTP server listens."""

    host: str = _key("127.0.0.1", "Address the server listens on.")
    port: int = _key(8025, "Port the server listens on.")
    protocol: str = _key("smtp", "\"smtp\", or \"lmtp\" when Postfix hands mail over with transport_maps.")
    hostname: str = _key("akn-mail.localhost", "Name the server gives in its greeting (no DNS lookup is made).")
    max_message_size: int = _key(26214400, "Largest message accepted, in bytes (advertised with SIZE; larger ones get 552).")
    max_mime_depth: int = _key(50, "Deepest MIME nesting accepted (multiparts and attached messages); deeper mail is refused at DATA with 554 5.6.0.")


@dataclass
class RelaySection:
    """The smarthost that carries outbound mail. Empty host: write to the outbox Maildir."""

    host: str = _key("", "Smarthost for outbound mail; empty writes every outbound mail to <data_dir>/outbox (a Maildir).")
    port: int = _key(25, "Smarthost port.")
    starttls: bool = _key(False, "Use STARTTLS on the smarthost connection (required with username unless the smarthost is on loopback).")
    username: str = _key("", "User name for SMTP AUTH; empty for none.")
    password_env: str = _key("AKN_MAIL_RELAY_PASSWORD", "Name of the environment variable holding the SMTP AUTH password (never put it in this file).")
    timeout: int = _key(60, "Seconds to wait for the smarthost before a delivery attempt is deferred.")
    helo_name: str = _key("akn-mail.localhost", "Name sent in EHLO to the smarthost (no DNS lookup is made).")


    def unencrypted_auth(self) -> str | None:
        """Why SMTP AUTH would cross the network in clear, or None when it cannot.

        AUTH PLAIN/LOGIN carry the password base64-encoded, readable by anyone on the path.
        Without STARTTLS it is only allowed to a smarthost on this machine (loopback); a
        name other than ``localhost`` counts as remote, since we never resolve it to check.
        ``serve`` refuses to start, ``doctor`` fails and the relay client never logs in then.
        """
        if not self.username or self.starttls or _is_loopback(self.host):
            return None
        return (f"[relay] username is set but starttls is off, so the relay password would go to {self.host} "
                f"in clear; set [relay] starttls = true (or use a relay on 127.0.0.1)")


def _is_loopback(host: str) -> bool:
    import ipaddress

    host = host.strip().strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class DeliverySection:
    """The outbound queue."""

    batch_size: int = _key(100, "Recipients carried by one SMTP transaction.")
    retry_for_hours: int = _key(120, "Keep retrying temporary failures this long (hours) before giving up.")
    first_retry_seconds: int = _key(60, "Wait before the first retry; doubles on every further attempt.")
    max_retry_seconds: int = _key(3600, "Longest wait between two attempts.")
    poll_seconds: float = _key(1.0, "How often the delivery worker looks for due entries when idle.")
    verp: str = _key("auto", "VERP envelope per recipient with a check code (akn-bounces+CODE+anna=example.org@...): \"auto\" uses the relay's XVERP when offered, else one transaction per recipient; \"on\" always one transaction per recipient; \"off\" the plain bounce address, batch_size recipients per transaction.")
    connections: int = _key(4, "Parallel connections to the smarthost (or outbox writers) per delivery round.")


@dataclass
class AuthSection:
    """Sender authentication: whether a post really comes from its From domain (DKIM, DMARC)."""

    verify: str = _key("headers", "Where the verdict comes from: \"headers\" (the Authentication-Results your MTA writes, see authserv_id), \"builtin\" (akn-mail checks DKIM and DMARC itself; cannot check SPF), or \"off\".")
    authserv_id: str = _key("", "The name your MTA writes first in its Authentication-Results headers (Postfix with OpenDKIM/OpenDMARC: its myhostname). Only those headers are trusted; every other one is removed. Empty trusts none.")
    unauthenticated: str = _key("accept", "A contact's post with no verdict (the domain signs nothing, publishes no DMARC): \"accept\" or \"hold\". DMARC failures and unverified new versions of minutes are held either way.")


@dataclass
class DkimSection:
    """DKIM signing of every mail the list sends. Empty domain: no signing."""

    domain: str = _key("", "Domain in the signature (d=), normally the list's domain; empty signs nothing.")
    selector: str = _key("", "Selector (s=): the key is published as TXT at <selector>._domainkey.<domain>.")
    key_file: str = _key("", "PEM file with the RSA private key (akn-mail dkim keygen writes one).")


@dataclass
class StorageSection:
    """Where the data lives."""

    data_dir: str = _key(DEFAULT_DATA_DIR, "Data directory: database, spool, archived messages, index, outbox.")


@dataclass
class ArchiveSection:
    """The minutes archive and its search index."""

    index_dir: str = _key("", "Search index directory; empty means <data_dir>/index.")
    extract_max_bytes: int = _key(20971520, "Attachments larger than this (bytes) are stored but their text is not extracted.")
    extract_max_pages: int = _key(300, "Only this many pages of a PDF are read.")
    extract_timeout_seconds: int = _key(20, "Text extraction of one attachment is stopped after this many seconds.")
    html_dir: str = _key("", "Directory of the static HTML archive, brought up to date after every filing (only changed pages are written); empty for none. 'akn-mail archive html --to DIR' writes it on demand.")
    html_public: bool = _key(False, "true: the HTML archive shows names only, never addresses (for a public web server). false: addresses are shown and every page says the directory belongs behind the web server's authentication.")
    mail_answer_max_bytes: int = _key(15728640, "Archive answers by mail (-request: protokoll, nachricht, ...) attach files up to this size in bytes; larger ones are listed with their size instead.")
    synonyms_file: str = _key("", "Synonyms and abbreviations for search, one group per line (PV, Photovoltaik); empty means the shipped German list.")


@dataclass
class RemindersSection:
    """When the system reminds hosts."""

    host_weeks_before: int = _key(4, "Remind the host this many weeks before the quarter of its meeting begins.")
    invite_weeks: int = _key(6, "Mail the invitation to every contact this many weeks before a planned meeting (akn-mail remind).")
    minutes_after_days: int = _key(14, "Remind the host when a held meeting's minutes have not arrived after this many days.")


@dataclass
class TemplatesSection:
    """Site overrides for the mails the system writes."""

    directory: str = _key("", "Directory with site templates; a file there replaces the shipped one of the same name.")


@dataclass
class BouncesSection:
    """Bounce handling."""

    threshold: float = _key(5.0, "A contact whose bounce score reaches this has its delivery disabled.")
    decay_days: int = _key(14, "Bounces older than this many days no longer count.")


@dataclass
class RetentionSection:
    """How long records of the list's work are kept, in days (0 keeps them for ever). The archive itself is always kept."""

    delivered_bodies_days: int = _key(30, "Copies of sent mail in the delivery queue, once every recipient is done with. The archive keeps the original; the copy only serves retries (at most [delivery] retry_for_hours) and a look at what exactly went out after a complaint.")
    delivery_log_days: int = _key(180, "Delivery log (who received which mail when, every refusal) and the record of processed mail. Two quarters answer \"did Kaarst get the invitation?\" up to the next meeting but one.")
    held_decided_days: int = _key(90, "Held mail a moderator decided on, and its file. Approved posts are in the archive; a quarter lets moderators look back at a decision until the next meeting.")
    bounce_events_days: int = _key(365, "Bounce events; they explain why a contact's delivery was switched off. At least [bounces] decay_days, which scoring needs.")
    done_tasks_days: int = _key(365, "Admin tasks marked done (an unsubscribe request and that it was carried out): a year, to show what was asked and done.")


@dataclass
class LoggingSection:
    """Log output."""

    level: str = _key("INFO", "Log level: DEBUG, INFO, WARNING, ERROR.")
    file: str = _key("", "Log file; empty logs to standard error (journald under systemd).")


SECTIONS: dict[str, type] = {
    "list": ListSection,
    "ingress": IngressSection,
    "relay": RelaySection,
    "delivery": DeliverySection,
    "auth": AuthSection,
    "dkim": DkimSection,
    "storage": StorageSection,
    "archive": ArchiveSection,
    "reminders": RemindersSection,
    "templates": TemplatesSection,
    "bounces": BouncesSection,
    "retention": RetentionSection,
    "logging": LoggingSection,
}


@dataclass
class Config:
    """The whole configuration, one attribute per TOML section."""

    list: ListSection = field(default_factory=ListSection)
    ingress: IngressSection = field(default_factory=IngressSection)
    relay: RelaySection = field(default_factory=RelaySection)
    delivery: DeliverySection = field(default_factory=DeliverySection)
    auth: AuthSection = field(default_factory=AuthSection)
    dkim: DkimSection = field(default_factory=DkimSection)
    storage: StorageSection = field(default_factory=StorageSection)
    archive: ArchiveSection = field(default_factory=ArchiveSection)
    reminders: RemindersSection = field(default_factory=RemindersSection)
    templates: TemplatesSection = field(default_factory=TemplatesSection)
    bounces: BouncesSection = field(default_factory=BouncesSection)
    retention: RetentionSection = field(default_factory=RetentionSection)
    logging: LoggingSection = field(default_factory=LoggingSection)
    path: Path | None = None  # the file this was read from, if any
    base_dir: Path = field(default_factory=Path.cwd)

    # Derived locations. Every part of the program asks here, so the layout of the
    # data directory is written down once.
    @property
    def data_dir(self) -> Path:
        return self.resolve(self.storage.data_dir)

    @property
    def database_path(self) -> Path:
        return self.data_dir / "akn-mail.sqlite3"

    @property
    def spool_dir(self) -> Path:
        return self.data_dir / "spool"

    @property
    def maildir_path(self) -> Path:
        return self.data_dir / "maildir"

    @property
    def outbox_path(self) -> Path:
        return self.data_dir / "outbox"

    @property
    def index_dir(self) -> Path:
        return self.resolve(self.archive.index_dir) if self.archive.index_dir else self.data_dir / "index"

    @property
    def synonyms_path(self) -> Path | None:
        """A site's synonyms list, or None for the shipped one."""
        return self.resolve(self.archive.synonyms_file) if self.archive.synonyms_file else None

    @property
    def list_id(self) -> str:
        if self.list.list_id:
            return self.list.list_id
        local, _, domain = self.list.address.partition("@")
        return f"{local}.{domain}"

    @property
    def list_domain(self) -> str:
        return self.list.address.rpartition("@")[2]

    @property
    def list_local_part(self) -> str:
        return self.list.address.rpartition("@")[0]

    def list_alias(self, suffix: str) -> str:
        """The list's -bounces/-owner/-request address."""
        return f"{self.list_local_part}-{suffix}@{self.list_domain}"

    @property
    def bounce_address(self) -> str:
        return self.list_alias("bounces")

    @property
    def moderators(self) -> list[str]:
        return list(self.list.moderators or self.list.admins)

    def resolve(self, value: str) -> Path:
        return resolve(value, self.base_dir)


def require_data(config: Config) -> Config:
    """Refuse to work on a data directory that nobody set up: without a config file (the
    built-in defaults) and without the default data directory, a command run in the wrong
    directory would silently open a new, empty archive there. Only ``akn-mail init``
    creates one from nothing."""
    if config.path is None and not config.data_dir.exists():
        raise ConfigError(
            f"no {DEFAULT_CONFIG_NAME} here and no data directory {config.data_dir}; "
            "run akn-mail init or pass --config FILE"
        )
    return config


def load(path: str | os.PathLike | None = None, environ: dict[str, str] | None = None) -> Config:
    """Read the configuration (see the module docstring for where from)."""
    environ = os.environ if environ is None else environ
    config_path = find_config_path(path)
    data: dict[str, Any] = {}
    config = Config()
    if config_path is not None:
        data = _read_toml(config_path)
        config.path = config_path.resolve()
        config.base_dir = config.path.parent
    for section_name, section_data in data.items():
        if section_name not in SECTIONS:
            raise ConfigError(
                f"{config_path}: unknown section [{section_name}]; known sections are "
                + ", ".join(f"[{name}]" for name in SECTIONS) + "."
            )
        if not isinstance(section_data, dict):
            raise ConfigError(f"{config_path}: '{section_name}' must be a section ([{section_name}]), not a value.")
        section = getattr(config, section_name)
        for key, value in section_data.items():
            _set(section, section_name, key, value, origin=str(config_path))
    _apply_environment(config, environ)
    _check(config)
    return config


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist; create it with 'akn-mail init' or fix --config/{CONFIG_ENV}.") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read config file {path}: {error}.") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        # tomllib's message already carries "(at line N, column M)".
        raise ConfigError(f"{path}: TOML syntax error: {error}. Fix that line and run again.") from None


def _set(section: Any, section_name: str, key: str, value: Any, origin: str) -> None:
    fields = {f.name: f for f in dataclasses.fields(section)}
    if key not in fields:
        raise ConfigError(
            f"{origin}: unknown key '{key}' in [{section_name}]; known keys are {', '.join(fields)}."
        )
    expected = type(getattr(section, key))
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise ConfigError(
            f"{origin}: [{section_name}] {key} must be a {_type_name(expected)}, not {value!r}."
        )
    setattr(section, key, value)


def _type_name(kind: type) -> str:
    return {str: "string", int: "whole number", float: "number", bool: "true/false", list: "list"}[kind]


def _apply_environment(config: Config, environ: dict[str, str]) -> None:
    """AKN_MAIL_<SECTION>_<KEY> overrides a key; the text is converted to the key's type."""
    for section_name in SECTIONS:
        section = getattr(config, section_name)
        for f in dataclasses.fields(section):
            variable = f"AKN_MAIL_{section_name.upper()}_{f.name.upper()}"
            if variable not in environ:
                continue
            raw = environ[variable]
            _set(section, section_name, f.name, _parse_env(raw, type(getattr(section, f.name)), variable), origin=variable)


def _parse_env(raw: str, kind: type, variable: str) -> Any:
    try:
        if kind is bool:
            lowered = raw.strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off", ""):
                return False
            raise ValueError
        if kind is int:
            return int(raw)
        if kind is float:
            return float(raw)
        if kind is list:
            return [item.strip() for item in raw.split(",") if item.strip()]
        return raw
    except ValueError:
        raise ConfigError(f"{variable}={raw!r} is not a valid {_type_name(kind)}.") from None


_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+$")


def _check(config: Config) -> None:
    if not _ADDRESS.match(config.list.address):
        raise ConfigError(f"[list] address {config.list.address!r} is not an e-mail address (expected name@domain).")
    if config.ingress.protocol not in ("smtp", "lmtp"):
        raise ConfigError(f"[ingress] protocol must be \"smtp\" or \"lmtp\", not {config.ingress.protocol!r}.")
    if config.list.language not in ("de", "en"):
        raise ConfigError(f"[list] language must be \"de\" or \"en\", not {config.list.language!r}.")
    if config.list.dmarc_rewrite not in ("always", "never", "auto"):
        raise ConfigError(f"[list] dmarc_rewrite must be \"always\", \"never\" or \"auto\", not {config.list.dmarc_rewrite!r}.")
    if config.list.reply_to not in ("list", "author"):
        raise ConfigError(f"[list] reply_to must be \"list\" or \"author\", not {config.list.reply_to!r}.")
    if config.delivery.verp not in ("auto", "on", "off"):
        raise ConfigError(f"[delivery] verp must be \"auto\", \"on\" or \"off\", not {config.delivery.verp!r}.")
    if config.delivery.connections < 1 or config.delivery.batch_size < 1:
        raise ConfigError("[delivery] connections and batch_size must be at least 1.")
    for f in dataclasses.fields(RetentionSection):
        if getattr(config.retention, f.name) < 0:
            raise ConfigError(f"[retention] {f.name} must be 0 (keep for ever) or a number of days, not {getattr(config.retention, f.name)}.")
    if 0 < config.retention.bounce_events_days < config.bounces.decay_days:
        raise ConfigError(
            f"[retention] bounce_events_days ({config.retention.bounce_events_days}) must be at least [bounces] decay_days "
            f"({config.bounces.decay_days}): bounce scoring reads the events of that many days."
        )
    if config.auth.verify not in ("headers", "builtin", "off"):
        raise ConfigError(f"[auth] verify must be \"headers\", \"builtin\" or \"off\", not {config.auth.verify!r}.")
    if config.auth.unauthenticated not in ("accept", "hold"):
        raise ConfigError(f"[auth] unauthenticated must be \"accept\" or \"hold\", not {config.auth.unauthenticated!r}.")
    dkim_keys = {"domain": config.dkim.domain, "selector": config.dkim.selector, "key_file": config.dkim.key_file}
    if any(dkim_keys.values()) and not all(dkim_keys.values()):
        missing = ", ".join(name for name, value in dkim_keys.items() if not value)
        raise ConfigError(f"[dkim] needs domain, selector and key_file together; {missing} missing (or leave all three empty to not sign).")
    for name, port in (("ingress", config.ingress.port), ("relay", config.relay.port)):
        if not 0 <= port <= 65535:
            raise ConfigError(f"[{name}] port must be between 0 and 65535, not {port}.")


def example_text() -> str:
    """The commented config file that ``akn-mail init`` writes: every key, its default, its meaning."""
    lines = [
        "# akn-mail configuration (TOML).",
        "# Every key is shown with its default. Any key can also be set from the environment as",
        "# AKN_MAIL_<SECTION>_<KEY>, e.g. AKN_MAIL_RELAY_HOST=smtp.example.org.",
        "# Relative paths are relative to this file's directory.",
    ]
    for section_name, section_type in SECTIONS.items():
        lines.append("")
        lines.append(f"# {section_type.__doc__.strip()}")
        lines.append(f"[{section_name}]")
        defaults = section_type()
        for f in dataclasses.fields(section_type):
            lines.append(f"# {f.metadata['doc']}")
            lines.append(f"{f.name} = {_toml_value(getattr(defaults, f.name))}")
    return "\n".join(lines) + "\n"


def toml_text(sections: dict[str, dict[str, Any]]) -> str:
    """A config file with these sections and keys (strings, numbers, booleans, lists)."""
    lines: list[str] = []
    for section_name, values in sections.items():
        if lines:
            lines.append("")
        lines.append(f"[{section_name}]")
        lines.extend(f"{key} = {_toml_value(value)}" for key, value in values.items())
    return "\n".join(lines) + "\n"


def read_toml(path: Path) -> dict[str, Any]:
    """The sections of a config file as written (no defaults, no environment)."""
    return _read_toml(Path(path))


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
