"""Helpers for the list service tests: a capturing relay, a roster, a running service.

Everything here is real: an aiosmtpd server on 127.0.0.1 as the relay, the service's
own SMTP/LMTP server on a free port, SQLite files under tmp_path.
"""

from __future__ import annotations

import asyncio
import csv
import smtplib
import threading
import time
from pathlib import Path

from aiosmtpd.controller import Controller

from akn_mail import db as db_module
from akn_mail.config import Config
from akn_mail.roster.members import Roster
from akn_mail.service import ThreadedService

from conftest import ROSTER_CSV, free_port

WAIT = 30.0  # seconds; a deadline for waiting, never a timing assertion


class Sink:
    """A relay that records every transaction; can refuse chosen recipients."""

    def __init__(self):
        self.transactions: list[tuple[str, list[str], bytes]] = []
        self.refuse: dict[str, str] = {}
        self.delay = 0.0  # seconds before answering DATA (a slow relay)
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.changed:
            self.transactions.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
            self.changed.notify_all()
        return "250 2.0.0 OK"

    def recipients(self) -> list[str]:
        with self.lock:
            return [rcpt for _, rcpts, _ in self.transactions for rcpt in rcpts]

    def messages_to(self, address: str) -> list[bytes]:
        with self.lock:
            return [data for _, rcpts, data in self.transactions if address in rcpts]

    def wait_for(self, count: int, timeout: float = WAIT) -> list[str]:
        """Wait until at least ``count`` recipients arrived (or the deadline passed)."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while sum(len(r) for _, r, _ in self.transactions) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.changed.wait(left)
        return self.recipients()


class Relay:
    """The sink behind a real aiosmtpd server; stop() and start() simulate an outage."""

    def __init__(self, port: int | None = None):
        self.sink = Sink()
        self.port = port or free_port()
        self.controller: Controller | None = None

    def start(self) -> "Relay":
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.port, server_hostname="relay.localhost")
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def load_roster(config: Config) -> list[str]:
    """Fill the roster from tests/data/roster.csv; return every contact address."""
    connection = db_module.connect(config.database_path)
    roster = Roster(connection)
    addresses = []
    with open(ROSTER_CSV, encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            try:
                roster.member(row["member"])
            except Exception:
                roster.add_member(row["member"], row["kind"], hosts=row["hosts"] == "yes")
            roster.add_contact(row["member"], row["contact_email"], row["contact_name"])
            addresses.append(row["contact_email"])
    connection.close()
    return addresses


def configure(config: Config, relay: Relay | None) -> Config:
    config.ingress.port = free_port()
    config.ingress.host = "127.0.0.1"
    config.relay.host = "127.0.0.1" if relay else ""
    config.relay.port = relay.port if relay else 25
    config.relay.timeout = 5
    config.delivery.poll_seconds = 0.1
    config.delivery.first_retry_seconds = 1
    config.delivery.max_retry_seconds = 1
    config.list.dmarc_rewrite = "never"
    return config


class StaticResolver:
    """DMARC policies from a dict; records what was asked (tests send no DNS query)."""

    def __init__(self, policies: dict[str, str] | None = None):
        self.policies = policies or {}
        self.asked: list[str] = []

    def policy(self, domain: str) -> str | None:
        self.asked.append(domain)
        return self.policies.get(domain)


def wait_until(predicate, timeout: float = WAIT):
    """Poll PREDICATE until it is truthy or the deadline passes; its last value (a deadline, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    return predicate()


def send(port: int, sender: str, recipients: list[str], message: bytes | str, lmtp: bool = False):
    client_class = smtplib.LMTP if lmtp else smtplib.SMTP
    client = client_class("127.0.0.1", port, local_hostname="client.localhost", timeout=WAIT)
    try:
        return client.sendmail(sender, recipients, message)
    finally:
        client.quit()


def post(subject: str = "Treffen im Mai", sender: str = "klimaschutz@dormagen.example",
         message_id: str = "<post-1@dormagen.example>", body: str = "Hallo zusammen,\r\nbis bald.\r\n",
         extra: str = "") -> bytes:
    return (
        f"From: Petra Hülsmann <{sender}>\r\n"
        f"To: akn@lists.example\r\n"
        f"Subject: {subject}\r\n"
        f"Message-ID: {message_id}\r\n"
        f"Date: Wed, 25 Nov 2026 10:00:00 +0100\r\n"
        f"{extra}"
        f"MIME-Version: 1.0\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n"
        f"Content-Transfer-Encoding: 8bit\r\n"
        f"\r\n{body}"
    ).encode("utf-8")


__all__ = ["Relay", "Sink", "StaticResolver", "ThreadedService", "configure", "load_roster", "post", "send", "wait_until",
           "WAIT", "Path"]
