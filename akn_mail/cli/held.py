"""``akn-mail held``: mail held for a moderator (for example from someone not on the roster)."""

from __future__ import annotations

import sys

import click

from akn_mail.cli.app import App
from akn_mail.cli.output import json_text, safe, safe_bytes


@click.group()
def held() -> None:
    """List, show, approve, reject or discard held mail.

    \b
        akn-mail held list
        akn-mail held approve 3
    """


@held.command("list")
@click.option("--all", "show_all", is_flag=True, help="Also mail already approved, rejected or discarded.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per held message, as a list.")
@click.pass_obj
def list_held(app: App, show_all: bool, as_json: bool) -> None:
    """List held mail waiting for a decision.

    \b
        akn-mail held list
        akn-mail held list --json
    """
    entries = app.held.entries(None if show_all else "held")
    if as_json:
        click.echo(json_text(entries))
        return
    if not entries:
        click.echo("No held mail.")
        return
    for entry in entries:
        status = "" if entry["status"] == "held" else f" [{entry['status']}]"
        click.echo(safe(f"{entry['id']:>4}  {entry['time']}  {entry['from'] or '<>'}  {entry['subject'] or '(no subject)'}{status}"))
        click.echo(safe(f"      reason: {entry['reason']}"))


@held.command("show")
@click.argument("held_id", type=int)
@click.option("--raw", is_flag=True, help="Print the message exactly as it was received (MIME, encoded words; on a terminal with control characters escaped).")
@click.pass_obj
def show(app: App, held_id: int, raw: bool) -> None:
    """Print held message HELD_ID for a person: decoded header fields, the text, the attachments.

    \b
        akn-mail held show 3 | less
        akn-mail held show 3 --raw > held-3.eml
    """
    data = app.held.raw(held_id)
    if raw and not sys.stdout.isatty():  # the bytes as received, for a pipe or a file
        sys.stdout.buffer.write(data if data.endswith(b"\n") else data + b"\n")
        return
    if raw:  # on a terminal the raw message is shown with its control characters escaped
        text = safe_bytes(data)
        click.echo(text if text.endswith("\n") else text + "\n", nl=False)
        return
    click.echo(safe(readable(data)))


def readable(data: bytes) -> str:
    """A message as a person reads it: encoded words decoded (=?utf-8?q?f=C3=BCr?= is "für"),
    the plain text (else the HTML) body, and one line per attachment."""
    import email
    from email import policy

    message = email.message_from_bytes(data, policy=policy.default)
    lines = []
    for name in ("From", "To", "Cc", "Reply-To", "Subject", "Date", "Message-ID"):
        try:
            value = message[name]
        except Exception:  # noqa: BLE001 - a malformed field is shown as it came
            value = None
        if value is not None:
            lines.append(f"{name}: {' '.join(str(value).split())}")
    lines.append("")
    body = message.get_body(preferencelist=("plain", "html")) if message.is_multipart() else message
    try:
        text = body.get_content() if body is not None else ""
    except Exception:  # noqa: BLE001 - an undecodable body: show its bytes as text
        text = (body.get_payload(decode=True) or b"").decode("utf-8", "replace") if body is not None else ""
    lines.append(text.replace("\r\n", "\n").rstrip("\n") if isinstance(text, str) else "(no text)")
    attachments = list(message.iter_attachments()) if message.is_multipart() else []
    if attachments:
        lines.append("")
        for part in attachments:
            size = len(part.get_payload(decode=True) or b"")
            lines.append(f"Attachment: {part.get_filename() or '(no name)'} ({part.get_content_type()}, {size} bytes)")
    return "\n".join(lines)


@held.command("approve")
@click.argument("held_id", type=int)
@click.pass_obj
def approve(app: App, held_id: int) -> None:
    """Approve held message HELD_ID: the running service distributes it.

    The message goes back into the spool; ``akn-mail serve`` continues it after the
    sender check (archive, decoration, fan-out), now or when it next starts.

    \b
        akn-mail held approve 3
    """
    from akn_mail.service import worker_running

    app.held.approve(held_id)
    if worker_running(app.config):
        click.echo(f"Approved {held_id}; the running service distributes it.")
    else:
        click.echo(f"Approved {held_id}; no service is running, so it is distributed when 'akn-mail serve' starts.")


@held.command("reject")
@click.argument("held_id", type=int)
@click.option("--reason", default="", help="Why, for the notice to the sender (default: the reason it was held).")
@click.pass_obj
def reject(app: App, held_id: int, reason: str) -> None:
    """Refuse held message HELD_ID and tell its sender.

    \b
        akn-mail held reject 3 --reason "Bitte über Ihre Ansprechperson senden."
    """
    outcome = app.held.reject(held_id, queue=app.queue, reason=reason)
    if outcome.told:
        click.echo(f"Rejected {held_id}; {outcome.told} is told why.")
    else:
        click.echo(f"Rejected {held_id}; nobody is told: {outcome.not_told}.")


@held.command("discard")
@click.argument("held_id", type=int)
@click.pass_obj
def discard(app: App, held_id: int) -> None:
    """Drop held message HELD_ID without telling anyone (spam, loops).

    \b
        akn-mail held discard 3
    """
    app.held.discard(held_id)
    click.echo(f"Discarded {held_id}.")
