"""Health checks for an installation: ``akn-mail doctor``.

Each check looks at one thing an operator can get wrong — the config file, the data
directory's permissions, the database schema, the search index, site template overrides,
whether ``akn-mail serve`` answers on the ingress port, the relay (does it answer, does it
take our envelope sender), mail stuck in the queue, contacts whose delivery is off, what
[retention] keeps and its size, the list domain's DNS — and returns one ``Check``: ok, warn,
fail or skip, a sentence on what was found, and for a failure a fix to try. Nothing here changes the installation: no file, directory, database
or index is created, and the relay sees EHLO, MAIL FROM, RCPT TO and RSET, never DATA.

DNS (MX, SPF, DMARC of the list domain) is skipped, and says so, for names under the
reserved TLDs (.example, .test, .invalid, .localhost), with ``dns=False``, or when no
resolver answers. Settings read: all of them.
"""

from __future__ import annotations

import os
import smtplib
import socket
import ssl
import stat
from dataclasses import asdict, dataclass
from typing import Any

from akn_mail import db as db_module
from akn_mail.config import Config
from akn_mail.domains import reserved_name

OK, WARN, FAIL, SKIP = "ok", "warn", "fail", "skip"
DATA_SUBDIRS = ("spool", "maildir", "outbox", "held", "bounces", "index")


@dataclass
class Check:
    """The outcome of one check, as printed on one line."""

    name: str
    status: str
    detail: str
    fix: str = ""

    def line(self) -> str:
        text = f"{self.status.upper() if self.status == FAIL else self.status:<5} {self.name:<10} {self.detail}"
        if self.fix and self.status in (FAIL, WARN):
            text += f" Fix: {self.fix}"
        return text

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def run_checks(config: Config, *, dns: bool = True, timeout: float = 10.0, resolver: Any = None) -> list[Check]:
    """Every check, in the order a message depends on them."""
    checks = [check_config(config)]
    checks += check_data_dir(config)
    database = check_database(config)
    checks.append(database)
    checks.append(check_index(config, database_ok=database.status == OK))
    checks.append(check_templates(config))
    checks.append(check_ingress(config, timeout=timeout))
    checks.append(check_relay(config, timeout=timeout))
    if database.status == OK:
        checks.append(check_queue(config))
        checks.append(check_contacts(config))
        checks.append(check_retention(config))
    checks.append(check_auth(config))
    checks += check_dns(config, enabled=dns, resolver=resolver, timeout=timeout)
    checks += check_dkim(config, dns_enabled=dns, resolver=resolver, timeout=timeout)
    return checks


# --- config ---------------------------------------------------------------------------------

def check_config(config: Config) -> Check:
    """The file was read (a broken one never gets here); values that work but hurt are warned about."""
    from akn_mail.logs import LEVELS

    source = str(config.path) if config.path else "built-in defaults (no config file found)"
    if config.logging.level.upper() not in LEVELS:
        return Check("config", FAIL, f"{source}: [logging] level {config.logging.level!r} is unknown.",
                     f"set [logging] level to one of {', '.join(LEVELS)}.")
    if not config.list.admins:
        return Check("config", WARN, f"{source}: [list] admins is empty, so nobody is told about held mail and bounces.",
                     "set [list] admins = [\"you@example.org\"].")
    return Check("config", OK, f"{source}; list {config.list.address}, data in {config.data_dir}")


def config_error(message: str) -> Check:
    """The check line for a config file that cannot be loaded at all."""
    return Check("config", FAIL, message, "correct the file (akn-mail init --path NEW writes a fresh commented one).")


# --- data directory -------------------------------------------------------------------------

def check_data_dir(config: Config) -> list[Check]:
    """The data directory exists, we may write it, strangers may not, and nothing in it has another owner."""
    path = config.data_dir
    if not path.exists():
        return [Check("data dir", FAIL, f"{path} does not exist.",
                      f"run 'akn-mail init' as the service user, or: install -d -o akn-mail -g akn-mail -m 750 {path}")]
    if not path.is_dir():
        return [Check("data dir", FAIL, f"{path} is not a directory.", "set [storage] data_dir to a directory.")]
    info = path.stat()
    if not os.access(path, os.W_OK | os.X_OK):
        owner = _user(info.st_uid)
        return [Check("data dir", FAIL, f"{path} is not writable by {_user(os.geteuid())} (owner {owner}).",
                      f"run akn-mail as {owner}, or: chown -R {_user(os.geteuid())}: {path}")]
    checks = []
    if info.st_mode & stat.S_IWOTH:
        checks.append(Check("data dir", FAIL, f"{path} is writable by every user (mode {stat.filemode(info.st_mode)}).",
                            f"chmod o-rwx {path}"))
    strangers = []
    for entry in [path / "akn-mail.sqlite3", path / "akn-mail.sqlite3-wal", path / "akn-mail.sqlite3-shm"] + [
        path / name for name in DATA_SUBDIRS
    ]:
        try:
            entry_info = entry.lstat()
        except FileNotFoundError:
            continue
        if entry_info.st_uid != info.st_uid or not os.access(entry, os.W_OK):
            strangers.append(f"{entry.name} (owner {_user(entry_info.st_uid)})")
    if strangers:
        checks.append(Check(
            "data dir", FAIL, f"in {path}, not writable by the service or owned by another user: {', '.join(strangers)}.",
            f"chown -R {_user(info.st_uid)}: {path} (a command run as root may have created them)",
        ))
    if info.st_mode & stat.S_IROTH:
        checks.append(Check("data dir", WARN, f"{path} is readable by every user (mode {stat.filemode(info.st_mode)}); "
                            "it holds the archive and the roster.", f"chmod o-rwx {path}"))
    if not checks:
        checks.append(Check("data dir", OK, f"{path} (owner {_user(info.st_uid)}, mode {stat.filemode(info.st_mode)})"))
    return checks


def _user(uid: int) -> str:
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (KeyError, ImportError):
        return str(uid)


# --- database -------------------------------------------------------------------------------

def check_database(config: Config) -> Check:
    """Schema version against this program's migrations, and SQLite's own quick_check."""
    path = config.database_path
    if not path.exists():
        return Check("database", FAIL, f"{path} does not exist.", "run 'akn-mail init' as the service user.")
    latest = db_module.latest_version()
    try:
        connection = db_module.connect(path, migrate=False)
    except db_module.DatabaseError as error:
        return Check("database", FAIL, str(error), "check the permissions of the data directory.")
    try:
        version = db_module.schema_version(connection)
        integrity = connection.execute("PRAGMA quick_check").fetchone()[0]
    except Exception as error:  # noqa: BLE001 - a damaged file raises many kinds of errors
        return Check("database", FAIL, f"{path} cannot be read: {error}.", "restore the data directory from a backup.")
    finally:
        connection.close()
    if integrity != "ok":
        return Check("database", FAIL, f"{path} is damaged: {integrity}.", "restore the data directory from a backup.")
    if version < latest:
        return Check("database", FAIL, f"{path} has schema version {version}; this akn-mail needs {latest}.",
                     "take a backup, then restart the service (systemctl restart akn-mail) or run 'akn-mail init'; "
                     "either upgrades the schema.")
    if version > latest:
        return Check("database", FAIL, f"{path} has schema version {version}, newer than this akn-mail ({latest}).",
                     "install the akn-mail version that wrote it, or restore a matching backup.")
    return Check("database", OK, f"{path}, schema version {version} (current)")


# --- queue and contacts ---------------------------------------------------------------------

STUCK_SECONDS = 3600


def check_queue(config: Config, now: float | None = None) -> Check:
    """Mail waiting for the relay for more than an hour, and held posts, are worth a look."""
    import time

    now = time.time() if now is None else now
    connection = db_module.connect(config.database_path, migrate=False)
    try:
        counts = dict(connection.execute("SELECT status, count(*) FROM deliveries GROUP BY status").fetchall())
        oldest = connection.execute(
            "SELECT min(created_at) FROM deliveries WHERE status IN ('pending', 'deferred')").fetchone()[0]
        held = connection.execute("SELECT count(*) FROM held WHERE status = 'held'").fetchone()[0]
    except Exception as error:  # noqa: BLE001 - tables of an older schema
        return Check("queue", SKIP, f"the delivery queue cannot be read: {error}.")
    finally:
        connection.close()
    waiting = counts.get("pending", 0) + counts.get("deferred", 0)
    summary = (f"{waiting} waiting ({counts.get('deferred', 0)} deferred), {counts.get('failed', 0)} failed, "
               f"{counts.get('expired', 0)} expired, {held} held for moderation")
    if oldest is not None and now - oldest > STUCK_SECONDS:
        hours = (now - oldest) / 3600
        return Check("queue", WARN, f"{summary}; the oldest has waited {hours:.1f} hours.",
                     "see why with 'akn-mail queue list' (the relay's answer is shown) and the relay's log.")
    return Check("queue", OK, summary)


def check_contacts(config: Config) -> Check:
    """Contacts whose delivery is off get no list mail: bounces or an admin switched them off."""
    connection = db_module.connect(config.database_path, migrate=False)
    try:
        rows = connection.execute(
            "SELECT email FROM contacts WHERE delivery_enabled = 0 ORDER BY lower(email)").fetchall()
        total = connection.execute("SELECT count(*) FROM contacts").fetchone()[0]
    except Exception as error:  # noqa: BLE001 - tables of an older schema
        return Check("contacts", SKIP, f"the roster cannot be read: {error}.")
    finally:
        connection.close()
    if total == 0:
        return Check("contacts", WARN, "the roster has no contacts, so posts reach nobody.",
                     "akn-mail roster import roster.csv (or akn-mail member add / contact add).")
    if rows:
        addresses = ", ".join(row[0] for row in rows)
        return Check("contacts", WARN, f"{len(rows)} of {total} contacts get no list mail (delivery off): {addresses}.",
                     "akn-mail contact list shows why; akn-mail contact enable ADDRESS once the address works.")
    return Check("contacts", OK, f"{total} contacts, delivery on for all")


# --- search index ---------------------------------------------------------------------------

def check_retention(config: Config) -> Check:
    """What the list keeps under [retention], how much space it takes, and whether anything outlived its lifetime."""
    from akn_mail.records import retention

    connection = db_module.connect(config.database_path, migrate=False)
    try:
        kept = retention.kept(config, connection)
        archived, archive_size = connection.execute(
            "SELECT count(*), coalesce(sum(size), 0) FROM archived_messages").fetchone()
    finally:
        connection.close()
    parts = []
    for entry in kept:
        lifetime = f"{entry.lifetime_days} days" if entry.lifetime_days else "for ever"
        parts.append(f"{entry.count} {entry.description} ({retention.human_size(entry.size)}, {lifetime})")
    detail = "kept: " + ", ".join(parts) + f"; archive {archived} messages ({retention.human_size(archive_size)}, for ever)"
    overdue = sum(entry.overdue for entry in kept)
    if overdue:
        return Check("retention", WARN, f"{overdue} records are older than their [retention] lifetime; {detail}.",
                     "start akn-mail serve: its worker removes them daily (journalctl -u akn-mail -g retention).")
    return Check("retention", OK, detail)


def check_index(config: Config, database_ok: bool = True) -> Check:
    """The index directory opens and holds as many documents as the archive has messages."""
    from akn_mail.archive.index import ArchiveIndex

    index = ArchiveIndex(config.index_dir)
    archived = None
    if database_ok:
        connection = db_module.connect(config.database_path, migrate=False)
        try:
            archived = connection.execute("SELECT count(*) FROM archived_messages").fetchone()[0]
        except Exception:  # noqa: BLE001 - an older schema has no archive table yet
            archived = None
        finally:
            connection.close()
    try:
        exists = index.exists()
    except Exception as error:  # noqa: BLE001 - whoosh raises many kinds on a damaged index
        return Check("index", FAIL, f"the search index in {config.index_dir} does not open: {error}.",
                     "akn-mail archive reindex (rebuilds it from the Maildir)")
    if not exists:
        if archived:
            return Check("index", FAIL, f"no search index in {config.index_dir}, but {archived} archived messages.",
                         "akn-mail archive reindex")
        return Check("index", OK, f"no search index yet in {config.index_dir} (nothing archived); it is built with the first post")
    try:
        with index.searcher() as searcher:
            documents = searcher.doc_count()
    except Exception as error:  # noqa: BLE001 - whoosh raises many kinds on a damaged index
        error = error.__cause__ or error  # whoosh's own error, not our IndexDamaged sentence around it
        return Check("index", FAIL, f"the search index in {config.index_dir} does not open: {error}.",
                     "akn-mail archive reindex (rebuilds it from the Maildir)")
    if archived is not None and documents != archived:
        return Check("index", WARN, f"{config.index_dir}: {documents} documents for {archived} archived messages.",
                     "akn-mail archive reindex")
    return Check("index", OK, f"{config.index_dir}, {documents} documents")


# --- templates ------------------------------------------------------------------------------

def check_templates(config: Config) -> Check:
    """Every template (shipped or a site override) renders with sample values."""
    try:
        from akn_mail.notices import templating

        problems = templating.check_all(config)
        overrides = templating.Templates(config).overrides()
    except Exception as error:  # noqa: BLE001 - a bad [templates] directory, a broken override
        return Check("templates", FAIL, f"templates cannot be checked: {error}.",
                     "correct [templates] directory, then run 'akn-mail templates check'.")
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        return Check("templates", FAIL, f"broken template {problems[0]}{more}.",
                     "fix or remove the override; 'akn-mail templates check' lists them all.")
    where = f" from {config.resolve(config.templates.directory)}" if config.templates.directory else ""
    return Check("templates", OK, f"all render; {len(overrides)} site override(s){where}")


# --- ingress --------------------------------------------------------------------------------

def check_ingress(config: Config, timeout: float = 10.0) -> Check:
    """Is ``akn-mail serve`` answering where Postfix hands mail over? (A greeting and QUIT.)"""
    ingress = config.ingress
    where = f"{ingress.host}:{ingress.port}"
    try:
        with socket.create_connection((ingress.host, ingress.port), timeout=min(timeout, 5.0)) as connection:
            connection.settimeout(min(timeout, 5.0))
            greeting = connection.recv(512).decode("utf-8", "replace").strip()
            connection.sendall(b"QUIT\r\n")
    except OSError as error:
        return Check("ingress", WARN, f"nothing answers on {where} ({_reason(error)}): mail for the list waits at "
                     "the MTA until akn-mail serve runs.", "systemctl start akn-mail (journalctl -u akn-mail says why it stopped).")
    if not greeting.startswith("220"):
        return Check("ingress", FAIL, f"{where} answers, but not as a mail server: {greeting[:80]!r}.",
                     "another program uses [ingress] port; stop it or choose another port (and change transport_maps).")
    return Check("ingress", OK, f"{ingress.protocol.upper()} on {where}: {greeting[:80]}")


# --- relay ----------------------------------------------------------------------------------

def check_relay(config: Config, timeout: float = 10.0) -> Check:
    """EHLO, (STARTTLS, AUTH,) MAIL FROM:<bounce address>, RCPT TO:<first admin>, RSET: no mail is sent."""
    relay = config.relay
    if not relay.host:
        return Check("relay", WARN, f"no relay configured: outbound mail is written to the Maildir {config.outbox_path}.",
                     "set [relay] host (and port) to the smarthost, e.g. the local Postfix.")
    where = f"{relay.host}:{relay.port}"
    refusal = relay.unencrypted_auth()
    if refusal is not None:  # checked before connecting: doctor must not send the password either
        message, _, fix = refusal.partition("; ")
        return Check("relay", FAIL, message + ".", fix + ".")
    sender = config.bounce_address
    timeout = min(float(relay.timeout), timeout)
    try:
        client = smtplib.SMTP(relay.host, relay.port, local_hostname=relay.helo_name, timeout=timeout)
    except (OSError, smtplib.SMTPException) as error:
        return Check("relay", FAIL, f"cannot connect to {where}: {_reason(error)}.",
                     "start the relay (systemctl status postfix) or correct [relay] host and port.")
    try:
        code, text = client.ehlo()
        if code != 250:
            return Check("relay", FAIL, f"{where} refused EHLO {relay.helo_name}: {code} {_text(text)}.",
                         "let the relay accept the list host (Postfix: mynetworks).")
        if relay.starttls:
            client.starttls(context=ssl.create_default_context())
            client.ehlo()
        if relay.username:
            password = os.environ.get(relay.password_env)
            if password is None:
                return Check("relay", FAIL, f"${relay.password_env} is not set, so SMTP AUTH as {relay.username} cannot work.",
                             f"set {relay.password_env} in the service's environment (systemctl edit akn-mail).")
            client.login(relay.username, password)
        verp = " and offers XVERP" if client.has_extn("xverp") else ""
        code, text = client.mail(sender)
        if code != 250:
            return Check("relay", FAIL, f"{where} refused our envelope sender {sender}: {code} {_text(text)}.",
                         "allow the list host to send with this sender (Postfix: mynetworks, smtpd_sender_restrictions).")
        accepted = ""
        if config.list.admins:
            admin = config.list.admins[0]
            code, text = client.rcpt(admin)
            if code not in (250, 251):
                return Check("relay", FAIL, f"{where} accepts {sender} but refused the recipient {admin}: {code} {_text(text)}.",
                             "let the relay relay for the list host (Postfix: mynetworks / smtpd_relay_restrictions).")
            accepted = f", relays to {admin}"
        client.rset()
    except (OSError, smtplib.SMTPException) as error:
        return Check("relay", FAIL, f"talking to {where} failed: {_reason(error)}.",
                     "check the relay's log; for STARTTLS/AUTH check [relay] starttls, username and the password variable.")
    finally:
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            client.close()
    return Check("relay", OK, f"{where} accepts MAIL FROM:<{sender}>{accepted}{verp}")


def _text(text: bytes | str) -> str:
    return " ".join((text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)).split())


def _reason(error: BaseException) -> str:
    if isinstance(error, socket.timeout):
        return "no answer (timed out)"
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{error.smtp_code} {_text(error.smtp_error)}"
    return getattr(error, "strerror", None) or str(error) or type(error).__name__


# --- DNS ------------------------------------------------------------------------------------

def check_dns(config: Config, enabled: bool = True, resolver: Any = None, timeout: float = 10.0) -> list[Check]:
    """MX, SPF and DMARC of the list domain, or one line saying why they were skipped."""
    domain = config.list_domain
    reserved = reserved_name(domain)
    if reserved:
        return [Check("dns", SKIP, f"{domain} is under the reserved name {reserved}; DNS checks skipped.")]
    if not enabled:
        return [Check("dns", SKIP, f"DNS checks of {domain} skipped (--no-dns).")]
    import dns.exception
    import dns.resolver

    if resolver is None:
        try:
            resolver = dns.resolver.Resolver()
        except dns.resolver.NoResolverConfiguration:
            return [Check("dns", SKIP, f"no DNS resolver configured on this machine; DNS checks of {domain} skipped.")]
        resolver.lifetime = min(timeout, 5.0)

    def lookup(name: str, kind: str) -> list[Any] | None:
        """Answers, [] for no record, None if the name does not exist."""
        try:
            return list(resolver.resolve(name, kind))
        except dns.resolver.NXDOMAIN:
            return None
        except dns.resolver.NoAnswer:
            return []

    try:
        mx = lookup(domain, "MX")
    except (dns.exception.Timeout, dns.resolver.NoNameservers) as error:
        return [Check("dns", SKIP, f"no DNS resolver answered for {domain} ({type(error).__name__}); DNS checks skipped.")]
    checks = []
    if mx is None:
        return [Check("dns mx", FAIL, f"{domain} does not exist in DNS, so nobody can write to {config.list.address}.",
                      f"publish {domain} with an MX record pointing to the mail server in front of akn-mail.")]
    if mx:
        hosts = ", ".join(sorted(str(record.exchange).rstrip(".") for record in mx))
        checks.append(Check("dns mx", OK, f"{domain} MX {hosts}"))
    else:
        checks.append(Check("dns mx", FAIL, f"{domain} has no MX record; mail for {config.list.address} depends on an A record.",
                            f"add an MX record for {domain} pointing to the mail server in front of akn-mail."))
    try:
        spf = [_txt(record) for record in lookup(domain, "TXT") or []]
        spf = [text for text in spf if text.lower().startswith("v=spf1")]
        dmarc = [_txt(record) for record in lookup(f"_dmarc.{domain}", "TXT") or []]
        dmarc = [text for text in dmarc if text.lower().startswith("v=dmarc1")]
    except (dns.exception.Timeout, dns.resolver.NoNameservers) as error:
        checks.append(Check("dns", SKIP, f"the resolver stopped answering ({type(error).__name__}); SPF and DMARC not checked."))
        return checks
    if len(spf) == 1:
        checks.append(Check("dns spf", OK, f"{domain} {spf[0]}"))
    elif not spf:
        checks.append(Check("dns spf", FAIL, f"{domain} publishes no SPF record, so receivers may reject the list's mail "
                            f"(envelope sender {config.bounce_address}).",
                            f"add TXT \"v=spf1 mx -all\" to {domain} (include the relay's addresses if it sends)."))
    else:
        checks.append(Check("dns spf", FAIL, f"{domain} publishes {len(spf)} SPF records; receivers treat that as an error.",
                            "merge them into one TXT record."))
    if dmarc:
        checks.append(Check("dns dmarc", OK, f"_dmarc.{domain} {dmarc[0]}"))
    else:
        checks.append(Check("dns dmarc", WARN, f"_dmarc.{domain} publishes no DMARC policy.",
                            f"add TXT \"v=DMARC1; p=none; rua=mailto:postmaster@{domain}\" at _dmarc.{domain}."))
    return checks


# --- sender authentication and DKIM -------------------------------------------------------

def check_auth(config: Config) -> Check:
    """[auth]: a verify mode that can give a verdict at all."""
    settings = config.auth
    if settings.verify == "off":
        return Check("auth", WARN, "[auth] verify = \"off\": no post is authenticated, so anyone can post as a contact "
                     "and every new version of minutes is held.",
                     "run OpenDKIM/OpenDMARC in the MTA in front and set verify = \"headers\" (see deploy/postfix/).")
    if settings.verify == "headers" and not settings.authserv_id:
        return Check("auth", WARN, "[auth] verify = \"headers\" but authserv_id is empty, so no Authentication-Results "
                     "header is trusted and every verdict is 'none'.",
                     "set [auth] authserv_id to the name your MTA writes in Authentication-Results (Postfix: myhostname).")
    source = f"Authentication-Results of {settings.authserv_id}" if settings.verify == "headers" else "builtin DKIM/DMARC check"
    return Check("auth", OK, f"verdict from {source}; posts without one: {settings.unauthenticated}")


def check_dkim(config: Config, dns_enabled: bool = True, resolver: Any = None, timeout: float = 10.0) -> list[Check]:
    """[dkim]: the key reads, parses and fits the selector; with DNS, the published record matches."""
    from akn_mail.delivery.signing import DkimError, DkimSigner, published_key, public_key_base64, zone_line

    settings = config.dkim
    if not settings.domain:
        return [Check("dkim", SKIP, "[dkim] domain is empty, so the list's mail goes out unsigned; "
                      "create a key with: akn-mail dkim keygen --selector SELECTOR --out FILE")]
    try:
        signer = DkimSigner.from_config(config)
    except DkimError as error:
        return [Check("dkim", FAIL, str(error), "fix [dkim] or write a key with akn-mail dkim keygen.")]
    name = f"{signer.selector}._domainkey.{signer.domain}"
    checks = [Check("dkim", OK, f"{config.resolve(settings.key_file)}: RSA key for {name}")]
    reserved = reserved_name(signer.domain)
    if reserved:
        checks.append(Check("dns dkim", SKIP, f"{signer.domain} is under the reserved name {reserved}; {name} not looked up."))
        return checks
    if not dns_enabled:
        checks.append(Check("dns dkim", SKIP, f"{name} not looked up (--no-dns)."))
        return checks
    import dns.exception
    import dns.resolver

    if resolver is None:
        try:
            resolver = dns.resolver.Resolver()
        except dns.resolver.NoResolverConfiguration:
            checks.append(Check("dns dkim", SKIP, f"no DNS resolver configured on this machine; {name} not looked up."))
            return checks
        resolver.lifetime = min(timeout, 5.0)
    try:
        records = [_txt(record) for record in resolver.resolve(name, "TXT")]
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        records = []
    except dns.exception.DNSException as error:
        checks.append(Check("dns dkim", SKIP, f"no DNS answer for {name} ({type(error).__name__}); not checked."))
        return checks
    published = published_key(records)
    expected = public_key_base64(signer.key)
    fix = f"publish: {zone_line(signer.selector, signer.domain, signer.key)}"
    if published is None:
        checks.append(Check("dns dkim", FAIL, f"{name} publishes no DKIM key, so receivers cannot verify the list's signature.", fix))
    elif published != expected:
        checks.append(Check("dns dkim", FAIL, f"{name} publishes a different key than {settings.key_file}; "
                            "receivers will see the list's signature as broken.", fix))
    else:
        checks.append(Check("dns dkim", OK, f"{name} publishes the key of {settings.key_file}"))
    return checks


def _txt(record: Any) -> str:
    return b"".join(record.strings).decode("utf-8", "replace")


def exit_code(checks: list[Check]) -> int:
    return 1 if any(check.status == FAIL for check in checks) else 0

