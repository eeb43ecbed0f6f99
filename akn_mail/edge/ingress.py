"""The SMTP/LMTP edge: accept mail for the list's addresses, durably, or refuse it clearly.

aiosmtpd speaks SMTP (default) or LMTP (``[ingress] protocol = "lmtp"``, what Postfix uses
to hand mail to a list manager; LMTP answers once per recipient after DATA).

- RCPT TO: only the list address and its ``-bounces``, ``-owner`` and ``-request``
  addresses; anything else gets ``550 5.1.1`` (never a relay). A VERP bounce address
  (``-bounces+…``) must carry a check code this list made (``akn_mail.delivery.verp``),
  else ``550 5.7.1``: forged delivery reports never reach the bounce counter.
- SIZE is advertised; larger messages get ``552 5.3.4``.
- Before ``250`` the message is in the spool and fsynced (``akn_mail.spool``). If that
  fails the answer is ``451 4.3.0`` and the sending MTA retries.
- Input that cannot be handled safely is refused with a 5xx saying why (NUL characters,
  a header larger than ``MAX_HEADER_BYTES``, MIME nested deeper than ``[ingress]
  max_mime_depth`` or header comments nested deeper than ``message.MAX_COMMENT_DEPTH``,
  which would drive a parser into recursion; checked in one pass without a parser);
  everything else is accepted, and what the pipeline cannot place is held for an admin.
Settings: [ingress] host, port, protocol, hostname, max_message_size, max_mime_depth.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session

from akn_mail import logs
from akn_mail.config import Config
from akn_mail.delivery import verp
from akn_mail.edge.spool import Entry, GroupCommitter
from akn_mail.message import normalise_message_id, structure_problem

log = logging.getLogger("akn_mail.ingress")

# A header this large is an attack or a broken program, not a mail to a list.
MAX_HEADER_BYTES = 256 * 1024
MAX_RECIPIENTS = 100


def route_of(address: str, config: Config) -> str | None:
    """Which part handles mail to ``address``: post, bounces, owner, request; None if not ours."""
    local, at, domain = address.strip().strip("<>").rpartition("@")
    if not at or domain.lower() != config.list_domain.lower():
        return None
    local = local.lower()
    base = config.list_local_part.lower()
    if local == base:
        return "post"
    if local == f"{base}-bounces" or local.startswith(f"{base}-bounces+"):
        return "bounces"
    if local in (f"{base}-owner", f"{base}-request"):
        return local[len(base) + 1:]
    return None


def _header_size(data: bytes) -> int:
    for separator in (b"\r\n\r\n", b"\n\n"):
        position = data.find(separator, 0, MAX_HEADER_BYTES + 4)
        if position != -1:
            return position
    return min(len(data), MAX_HEADER_BYTES + 1)


class IngressHandler:
    """aiosmtpd handler: checks recipients, spools the message, answers."""

    def __init__(self, config: Config, committer: GroupCommitter, lmtp: bool = False):
        self.config = config
        self.committer = committer
        self.lmtp = lmtp

    @functools.cached_property
    def verp_key(self) -> bytes:
        return verp.load_key(self.config)

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]) -> str:
        route = route_of(address, self.config)
        if route is None:
            return f"550 5.1.1 <{address}>: no such list here (this server is not a relay; it accepts mail for {self.config.list.address} only)"
        if route == "bounces":
            try:
                verp.check(self.verp_key, self.config.bounce_address, address)
            except verp.ForgedAddress as error:
                logs.event(log, "rejected", sender=envelope.mail_from or "<>", recipient=address, reason=str(error))
                return (f"550 5.7.1 <{address}>: this list never sent mail with this bounce address "
                        f"({error}); forged delivery reports are refused")
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients in one transaction, send the rest separately"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        recipients = list(envelope.rcpt_tos)
        data = envelope.original_content or b""
        message_id = _message_id(data)
        # The structure check walks every line of a multipart mail: not in the event loop.
        refusal = await asyncio.get_running_loop().run_in_executor(None, self._refusal, data)
        if refusal is not None:
            logs.event(log, "rejected", message_id=message_id, sender=envelope.mail_from or "", reason=refusal)
            return self._reply([refusal] * len(recipients))
        entries: dict[str, Entry] = {}
        now = time.time()
        mail_from = (envelope.mail_from or "").strip()
        if mail_from == "<>":  # the null sender of bounces
            mail_from = ""
        for address in recipients:
            route = route_of(address, self.config) or "post"
            entry = entries.get(route)
            if entry is None:
                entries[route] = Entry(mail_from, [address], route, data, now)
            else:
                entry.rcpt_tos.append(address)
        try:
            await self.committer.put(list(entries.values()))
        except Exception as error:
            log.error("spool failed message_id=%s error=%r", logs.message_id_field(message_id), error)
            return self._reply(["451 4.3.0 Temporary local problem (could not store the message), please retry"] * len(recipients))
        ids = {entry.route: entry.id for entry in entries.values()}
        for entry in entries.values():
            logs.event(log, "accepted", message_id=message_id, spool_id=entry.id, sender=entry.mail_from or "<>",
                       recipients=entry.rcpt_tos, route=entry.route, size=len(data))
        if self.lmtp:
            return self._reply([f"250 2.0.0 <{address}> queued as {ids[route_of(address, self.config) or 'post']}"
                                for address in recipients])
        return f"250 2.0.0 Queued as {' '.join(ids.values())}"

    def _refusal(self, data: bytes) -> str | None:
        if b"\x00" in data:
            return "554 5.6.0 Message contains NUL characters, which mail must not contain (RFC 5322); not accepted"
        if _header_size(data) > MAX_HEADER_BYTES:
            return f"554 5.6.0 Message header is larger than {MAX_HEADER_BYTES // 1024} KB; not accepted"
        problem = structure_problem(data, self.config.ingress.max_mime_depth)
        if problem is not None:
            return f"554 5.6.0 Message structure not accepted: {problem}; please send it flatter"
        return None

    def _reply(self, lines: list[str]) -> str:
        # LMTP: one reply per accepted recipient, in RCPT order; SMTP: one reply.
        if self.lmtp and lines:
            return "\r\n".join(lines)
        return lines[0] if lines else "554 5.5.1 No valid recipients"


def _message_id(data: bytes) -> str:
    """The Message-ID for log lines, read cheaply from the raw header (no full parse)."""
    header = data[: min(len(data), 65536)]
    for line in header.splitlines():
        if not line.strip():
            break
        if line[:11].lower() == b"message-id:":
            return normalise_message_id(line[11:].decode("ascii", "replace"))
    return ""


class _EnhancedReplies:
    """aiosmtpd's size and line-length replies, with enhanced status codes and a reason."""

    max_size = 0

    async def push(self, status: str) -> None:
        if status.startswith("552 Error"):
            status = f"552 5.3.4 Message too big for this list (the limit is {self.max_size} bytes)"
        elif status.startswith("500 Line too long"):
            status = "500 5.5.2 Line too long (more than 998 characters; RFC 5321 4.5.3.1.6)"
        await super().push(status)


class AknSMTP(_EnhancedReplies, SMTP):
    pass


class AknLMTP(_EnhancedReplies, LMTP):
    pass


def server_factory(config: Config, handler: IngressHandler):
    """A protocol factory for ``loop.create_server``: SMTP or LMTP as configured."""
    kind = AknLMTP if config.ingress.protocol == "lmtp" else AknSMTP

    def make():
        server = kind(
            handler,
            data_size_limit=config.ingress.max_message_size,
            hostname=config.ingress.hostname,  # never ask the resolver for our name
            ident="akn-mail",
            decode_data=False,
            enable_SMTPUTF8=True,
        )
        server.max_size = config.ingress.max_message_size
        return server

    return make
