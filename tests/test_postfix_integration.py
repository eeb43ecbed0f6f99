"""akn-mail behind a real Postfix: in front over LMTP, behind as the relay into Maildirs.

A private Postfix instance (its own config, queue and data directories, loopback ports, no
DNS, nothing delivered off the machine; see ../shared/notes/postfix-on-loopback.md) hands
the list's addresses to ``akn-mail serve`` with ``transport_maps`` -> ``lmtp:inet:…`` and
takes the fan-out back on its smtpd, delivering into one Maildir per contact. One contact's
mailbox is "gone" (a pipe transport that fails permanently), so Postfix itself sends a real
DSN to the VERP bounce address, which travels back over LMTP into bounce handling.

The instance lives in a directory from ``tempfile.mkdtemp`` rather than pytest's tmp_path:
tmp_path sits below a mode-0700 directory that Postfix's unprivileged daemons (virtual(8)
writes Maildirs as uid 65534) cannot enter. It is removed at the end. ``.ci/run`` installs
Debian's postfix and swaks; without them, or without root, the tests skip and say why.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import pytest

from conftest import free_port

POSTFIX = Path("/usr/sbin/postfix")
DEPLOY = Path(__file__).resolve().parent.parent / "deploy" / "postfix"
SWAKS = shutil.which("swaks")
LIST = "akn@lists.example"
AUTHOR = "klimaschutz@dormagen.example"
ADMIN = "admin@rhein-kreis-neuss.example"
GONE = "alt@kaarst.example"  # its mailbox fails permanently: Postfix bounces to the VERP address
UNKNOWN = "nachhaltigkeit@meerbusch.example"  # no such mailbox: Postfix refuses it at RCPT (550 5.1.1)
CONTACTS = {
    "Dormagen": [AUTHOR],
    "Kaarst": ["klima@kaarst.example", GONE],
    "Meerbusch": [UNKNOWN],
    "Neuss": ["f.lorenz@neuss.example", "klimaanpassung@neuss.example"],
}
RECEIVING = [AUTHOR, "klima@kaarst.example", "f.lorenz@neuss.example", "klimaanpassung@neuss.example"]
DOMAINS = ["dormagen.example", "kaarst.example", "meerbusch.example", "neuss.example", "rhein-kreis-neuss.example"]
TIMEOUT = 60.0


def _skip_reason() -> str | None:
    if not POSTFIX.exists():
        return "Postfix is not installed (/usr/sbin/postfix missing); .ci/run installs it with apt-get where it can"
    if os.geteuid() != 0:
        return "a private Postfix instance needs root: its master starts daemons as the postfix user"
    try:
        import grp
        import pwd

        pwd.getpwnam("postfix")
        grp.getgrnam("postdrop")
    except KeyError:
        return "the postfix user or the postdrop group is missing (an incomplete Postfix installation)"
    return None


pytestmark = pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or "")


def wait_for(condition, what: str, timeout: float = TIMEOUT, interval: float = 0.2, diagnose=None):
    """Poll ``condition`` until it returns something true; fail naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            details = diagnose() if diagnose else ""
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}\n{details}")
        time.sleep(interval)


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class PrivatePostfix:
    """A throwaway Postfix: ``start()``, ``stop()``; config, queue and Maildirs under ``root``."""

    def __init__(self, root: Path, smtp_port: int, lmtp_port: int, relay_port: int):
        self.root = root
        self.etc = root / "etc"
        self.queue = root / "queue"
        self.mail = root / "mail"
        self.maillog = root / "maillog"
        self.smtp_port = smtp_port
        self.lmtp_port = lmtp_port
        self.relay_port = relay_port

    def write_config(self) -> None:
        self.root.chmod(0o755)
        self.etc.mkdir()
        self.queue.mkdir()  # data_directory must not exist beforehand: postfix creates it
        self.mail.mkdir()
        os.chown(self.mail, 65534, 65534)
        # The deploy/postfix examples, as an operator installs them (paths and ports adjusted).
        example = (DEPLOY / "main.cf.example").read_text(encoding="utf-8").replace("/etc/postfix/", f"{self.etc}/")
        (self.etc / "main.cf").write_text(f"""\
compatibility_level = 3.6
queue_directory = {self.queue}
data_directory = {self.root}/data
meta_directory = /etc/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.akn-test.invalid
mydomain = akn-test.invalid
myorigin = $myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
maillog_file = {self.maillog}
maillog_file_prefixes = {self.root}
disable_dns_lookups = yes
smtp_dns_support_level = disabled
lmtp_dns_support_level = disabled
smtp_host_lookup = native
lmtp_host_lookup = native
smtpd_peername_lookup = no
default_transport = error:5.7.1 nothing leaves this test machine
relay_transport = error:5.1.1 no such list address here
local_transport = error:5.1.1 no local delivery here
alias_maps =
alias_database =
biff = no
# The contacts' domains: one Maildir per address.
virtual_mailbox_domains = {" ".join(DOMAINS)}
virtual_mailbox_base = {self.mail}
virtual_mailbox_maps = texthash:{self.etc}/mailboxes
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
queue_run_delay = 2s
minimal_backoff_time = 2s
maximal_backoff_time = 4s
{example}""", encoding="utf-8")
        (self.etc / "akn-mail-recipients.regexp").write_text(
            (DEPLOY / "akn-mail-recipients.regexp").read_text(encoding="utf-8"), encoding="utf-8")
        (self.etc / "akn-mail-transport.regexp").write_text(
            (DEPLOY / "akn-mail-transport.regexp").read_text(encoding="utf-8").replace(
                "127.0.0.1:8025", f"127.0.0.1:{self.lmtp_port}")
            + f"/^{GONE.replace('.', chr(92) + '.')}$/ mailboxgone:\n",
            encoding="utf-8",
        )
        # The loopback smtpd akn-mail relays through, from master.cf.example (no chroot here).
        relay_service = re.sub(
            r"^127\.0\.0\.1:10025(\s+inet\s+n\s+-\s+)y", rf"127.0.0.1:{self.relay_port}\g<1>n",
            (DEPLOY / "master.cf.example").read_text(encoding="utf-8"), flags=re.MULTILINE,
        )
        assert f"127.0.0.1:{self.relay_port}" in relay_service
        addresses = [address for group in CONTACTS.values() for address in group if address != UNKNOWN] + [ADMIN]
        (self.etc / "mailboxes").write_text(
            "".join(f"{address} {address.partition('@')[2]}/{address.partition('@')[0]}/\n" for address in addresses),
            encoding="utf-8",
        )
        script = self.etc / "mailbox-gone"
        script.write_text("#!/bin/sh\necho '5.2.1 mailbox disabled, not accepting messages'\nexit 67\n", encoding="utf-8")
        script.chmod(0o755)
        # No smtp/relay services and no chroot: nothing can leave, nothing needs DNS.
        (self.etc / "master.cf").write_text(f"""\
127.0.0.1:{self.smtp_port} inet n - n - - smtpd
pickup     unix  n - n 60 1 pickup
cleanup    unix  n - n -  0 cleanup
qmgr       unix  n - n 300 1 qmgr
rewrite    unix  - - n -  - trivial-rewrite
bounce     unix  - - n -  0 bounce
defer      unix  - - n -  0 bounce
trace      unix  - - n -  0 bounce
verify     unix  - - n -  1 verify
flush      unix  n - n 1000? 0 flush
proxymap   unix  - - n -  - proxymap
proxywrite unix  - - n -  1 proxymap
showq      unix  n - n -  - showq
error      unix  - - n -  - error
retry      unix  - - n -  - error
discard    unix  - - n -  - discard
lmtp       unix  - - n -  - lmtp
anvil      unix  - - n -  1 anvil
scache     unix  - - n -  1 scache
postlog    unix-dgram n - n - 1 postlogd
virtual    unix  - n n -  - virtual
mailboxgone unix - n n -  - pipe flags=q user=nobody argv={script}
{relay_service}""", encoding="utf-8")

    def postfix(self, *args: str) -> subprocess.CompletedProcess:
        # -c needs an absolute path, or postfix silently acts on nothing.
        return subprocess.run([str(POSTFIX), "-c", str(self.etc.resolve()), *args],
                              capture_output=True, text=True, timeout=60)

    def start(self) -> None:
        self.write_config()
        for step in ("check", "start"):
            result = self.postfix(step)
            if result.returncode != 0:
                pytest.fail(f"postfix {step} failed ({result.returncode}): {result.stdout}{result.stderr}\n{self.log()}")
        wait_for(lambda: port_open(self.smtp_port) and port_open(self.relay_port), "Postfix's smtpd on 127.0.0.1",
                 diagnose=self.log)

    def master_pid(self) -> int | None:
        try:
            return int((self.queue / "pid" / "master.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self) -> None:
        pid = self.master_pid()
        self.postfix("stop")
        if pid is None:
            return
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
        try:
            os.kill(pid, signal.SIGKILL)  # the master we started, by its pid
        except ProcessLookupError:
            pass

    def log(self) -> str:
        try:
            return "--- Postfix maillog ---\n" + self.maillog.read_text(errors="replace")[-6000:]
        except OSError:
            return "(no Postfix maillog)"

    def maildir(self, address: str) -> Path:
        local, _, domain = address.partition("@")
        return self.mail / domain / local

    def messages(self, address: str) -> list[email.message.EmailMessage]:
        path = self.maildir(address) / "new"
        if not path.is_dir():
            return []
        return [email.message_from_bytes(file.read_bytes(), policy=email.policy.default) for file in sorted(path.iterdir())]

    def message_with(self, address: str, message_id: str):
        for message in self.messages(address):
            if message_id in str(message.get("Message-ID", "")):
                return message
        return None


class AknMail:
    """``akn-mail serve`` as a child process, and the CLI against the same config."""

    def __init__(self, workdir: Path, lmtp_port: int, relay_port: int):
        self.workdir = workdir
        self.lmtp_port = lmtp_port
        self.config = workdir / "akn-mail.toml"
        self.output = workdir / "serve.out"
        self.logfile = workdir / "akn-mail.log"
        self.process: subprocess.Popen | None = None
        self.config.write_text(f"""\
[list]
address = "{LIST}"
admins = ["{ADMIN}"]
[ingress]
host = "127.0.0.1"
port = {lmtp_port}
protocol = "lmtp"
hostname = "akn-mail.localhost"
[relay]
host = "127.0.0.1"
port = {relay_port}
helo_name = "akn-mail.localhost"
timeout = 20
[delivery]
poll_seconds = 0.2
first_retry_seconds = 1
[storage]
data_dir = "data"
[bounces]
threshold = 1.0
[logging]
level = "INFO"
file = "akn-mail.log"
""", encoding="utf-8")

    def environment(self) -> dict[str, str]:
        environment = {key: value for key, value in os.environ.items() if not key.startswith("AKN_MAIL_")}
        environment["AKN_MAIL_CONFIG"] = str(self.config)
        return environment

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "akn_mail", *args], capture_output=True, text=True,
                              env=self.environment(), cwd=self.workdir, timeout=120)

    def set_up_roster(self) -> None:
        from akn_mail import config as config_module
        from akn_mail import db
        from akn_mail.roster.members import Roster

        config = config_module.load(self.config, environ={})
        connection = db.connect(config.database_path)
        roster = Roster(connection)
        for member, addresses in CONTACTS.items():
            roster.add_member(member, joined=date(2020, 1, 1))
            for address in addresses:
                roster.add_contact(member, address)
        connection.close()

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "akn_mail", "serve"], stdout=self.output.open("wb"), stderr=subprocess.STDOUT,
            env=self.environment(), cwd=self.workdir,
        )
        wait_for(lambda: self.process.poll() is not None or port_open(self.lmtp_port), "akn-mail serve to listen",
                 diagnose=self.log)
        if self.process.poll() is not None:
            pytest.fail(f"akn-mail serve exited with {self.process.returncode}\n{self.log()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def log(self) -> str:
        parts = []
        for path in (self.output, self.logfile):
            try:
                parts.append(f"--- {path.name} ---\n" + path.read_text(errors="replace")[-6000:])
            except OSError:
                pass
        return "\n".join(parts)


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    """Postfix in front and behind, akn-mail serve in the middle; everything stopped afterwards."""
    smtp_port, lmtp_port, relay_port = free_port(), free_port(), free_port()
    root = Path(tempfile.mkdtemp(prefix="akn-postfix-"))
    postfix = PrivatePostfix(root, smtp_port, lmtp_port, relay_port)
    service = AknMail(tmp_path_factory.mktemp("akn-mail"), lmtp_port, relay_port)
    try:
        postfix.start()
        service.set_up_roster()
        service.start()
        yield postfix, service
    finally:
        service.stop()
        postfix.stop()
        shutil.rmtree(root, ignore_errors=True)


def send_with_swaks(port: int, sender: str, recipient: str, message_id: str, subject: str, body: str) -> str:
    if SWAKS is None:
        message = (f"From: {sender}\r\nTo: {recipient}\r\nSubject: {subject}\r\nMessage-ID: <{message_id}>\r\n"
                   f"Date: {email.utils.formatdate()}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n")
        with smtplib.SMTP("127.0.0.1", port, local_hostname="client.localhost", timeout=30) as client:
            client.sendmail(sender, [recipient], message.encode("utf-8"))
        return "smtplib"
    result = subprocess.run(
        [SWAKS, "--server", f"127.0.0.1:{port}", "--helo", "client.localhost", "--from", sender, "--to", recipient,
         "--header", f"Subject: {subject}", "--header", f"Message-Id: <{message_id}>",
         "--header", "Content-Type: text/plain; charset=utf-8", "--body", body, "--timeout", "30"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "250 2.0.0 Ok: queued" in result.stdout
    return "swaks"


def diagnose(postfix: PrivatePostfix, service: AknMail):
    return lambda: postfix.log() + "\n" + service.log()


FIRST_POST = "post-1@dormagen.example"


def send_first_post(postfix: PrivatePostfix, service: AknMail) -> str:
    """The post the first tests look at, sent once per chain (so each test also runs alone)."""
    if not getattr(service, "first_post_sent", False):
        send_with_swaks(postfix.smtp_port, AUTHOR, LIST, FIRST_POST, "Radverkehrskonzept Dormagen",
                        "Liebe Kolleginnen und Kollegen, anbei unser Radverkehrskonzept.")
        service.first_post_sent = True
    return FIRST_POST


def test_post_reaches_every_contacts_maildir(chain):
    postfix, service = chain
    message_id = send_first_post(postfix, service)
    for address in RECEIVING:
        received = wait_for(lambda: postfix.message_with(address, message_id), f"the post in {address}'s Maildir",
                            diagnose=diagnose(postfix, service))
        assert received["List-Id"] and "akn.lists.example" in received["List-Id"]
        # Postfix's virtual(8) records the envelope sender: VERP, naming this recipient.
        local, _, domain = address.partition("@")
        # Postfix's XVERP appends +local=domain to our MAIL FROM, which carries the signed outbound id.
        assert re.fullmatch(rf"<akn-bounces\+m\d+\.[0-9a-f]{{10}}\+{re.escape(local)}={re.escape(domain)}@lists\.example>",
                            received["Return-Path"]), received["Return-Path"]
    # One log line per step carries the Message-ID: grep follows the mail.
    trail = [line for line in service.logfile.read_text().splitlines() if f"<{message_id}>" in line]
    assert any(": accepted message_id=" in line for line in trail), service.log()
    for address in RECEIVING:
        assert any(": delivery message_id=" in line and f"recipient={address} " in line and "status=sent" in line
                   for line in trail), service.log()


def test_post_from_a_stranger_is_held_and_the_log_says_so(chain):
    postfix, service = chain
    message_id = "stranger-1@stadtwerke.example"
    send_with_swaks(postfix.smtp_port, "info@stadtwerke.example", LIST, message_id, "Angebot", "Sehr geehrte Damen und Herren")

    def held_line():
        lines = service.logfile.read_text().splitlines() if service.logfile.exists() else []
        return [line for line in lines if f"message_id=<{message_id}>" in line and ": decision " in line
                and "action=hold" in line]

    wait_for(held_line, "the held decision in the log", diagnose=diagnose(postfix, service))
    assert postfix.message_with("klima@kaarst.example", message_id) is None


def test_post_to_an_unknown_list_domain_address_is_refused(chain):
    postfix, _ = chain
    with smtplib.SMTP("127.0.0.1", postfix.smtp_port, local_hostname="client.localhost", timeout=30) as client:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            client.sendmail(AUTHOR, ["akn-typo@lists.example"], b"Subject: x\r\n\r\nx\r\n")
    code, text = refused.value.recipients["akn-typo@lists.example"]
    assert code == 550
    assert b"5.1.1" in text


def test_permanent_bounce_from_postfix_disables_the_contact_and_tells_the_admin(chain):
    postfix, service = chain
    # The first post went to GONE too; Postfix bounced it to the VERP address, over LMTP to us.
    send_first_post(postfix, service)
    notice = wait_for(
        lambda: next((m for m in postfix.messages(ADMIN) if GONE in str(m["Subject"])), None),
        "the bounce_disabled notice in the admin's Maildir", diagnose=diagnose(postfix, service),
    )
    assert "abgeschaltet" in str(notice["Subject"])
    assert f"akn-mail contact enable {GONE}" in notice.get_body().get_content()
    listing = service.cli("contact", "list", "--json")
    assert listing.returncode == 0, listing.stderr
    contacts = {row["email"]: row for row in json.loads(listing.stdout)}
    assert contacts[GONE]["delivery_enabled"] is False
    assert contacts[GONE]["disabled_reason"].startswith("bounces: score 1 reached 1 within 14 days (last: permanent 5.")
    assert all(contacts[address]["delivery_enabled"] for address in RECEIVING)
    # The bounce is logged with the Message-ID of the post it is about, so grep finds it too.
    assert any(": bounce " in line and "original_message_id=<post-1@dormagen.example>" in line
               for line in service.logfile.read_text().splitlines()), service.log()


def test_recipient_refused_by_postfix_at_delivery_counts_as_a_bounce(chain):
    postfix, service = chain
    send_first_post(postfix, service)

    def disabled():
        listing = service.cli("contact", "list", "--json")
        contacts = {row["email"]: row for row in json.loads(listing.stdout)} if listing.returncode == 0 else {}
        return contacts.get(UNKNOWN) if contacts.get(UNKNOWN, {}).get("delivery_enabled") is False else None

    contact = wait_for(disabled, f"{UNKNOWN} to be disabled", diagnose=diagnose(postfix, service))
    assert contact["disabled_reason"].startswith("bounces: score 1 reached 1 within 14 days (last: delivery 550 5.1.1")
    assert "User unknown in virtual mailbox table" in contact["disabled_reason"]
    wait_for(lambda: any(UNKNOWN in str(m["Subject"]) for m in postfix.messages(ADMIN)),
             f"the admin's notice about {UNKNOWN}", diagnose=diagnose(postfix, service))


def test_doctor_sees_postfix_as_a_working_relay(chain):
    postfix, service = chain
    result = service.cli("doctor", "--no-dns")
    ingress = [line for line in result.stdout.splitlines() if line[6:].startswith("ingress")]
    assert ingress[0].startswith(f"ok    ingress    LMTP on 127.0.0.1:{postfix.lmtp_port}: 220 "), result.stdout
    relay = [line for line in result.stdout.splitlines() if line.startswith(("ok    relay", "FAIL  relay"))]
    assert relay == [
        f"ok    relay      127.0.0.1:{postfix.relay_port} accepts MAIL FROM:<akn-bounces@lists.example>, "
        f"relays to {ADMIN} and offers XVERP"
    ], result.stdout


def test_minutes_sent_through_postfix_are_found_by_search(chain):
    postfix, service = chain
    message_id = "minutes-1@kaarst.example"
    send_with_swaks(postfix.smtp_port, "klima@kaarst.example", LIST, message_id,
                    "[Protokoll] Sitzung in Kaarst",
                    "Protokoll der Sitzung. TOP 1: Kommunale Waermeplanung und Foerderprogramme. TOP 2: Radverkehr.")
    wait_for(lambda: postfix.message_with("f.lorenz@neuss.example", message_id), "the minutes in a contact's Maildir",
             diagnose=diagnose(postfix, service))

    def found():
        result = service.cli("search", "Radverkehr", "--minutes", "--json")
        if result.returncode != 0:
            return None
        hits = json.loads(result.stdout)
        return [hit for hit in hits if hit["message_id"].strip("<>") == message_id] or None

    hits = wait_for(found, "the minutes in akn-mail search", diagnose=diagnose(postfix, service))
    assert hits[0]["minutes"] is True
