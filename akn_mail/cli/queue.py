"""``akn-mail queue``: the outbound deliveries, one row per message and recipient."""

from __future__ import annotations

import click

from akn_mail.delivery.queue import STATUSES
from akn_mail.cli.app import App
from akn_mail.cli.output import json_text, safe


@click.group()
def queue() -> None:
    """Show waiting and failed deliveries; retry them now.

    \b
        akn-mail queue list
        akn-mail queue retry
    """


@queue.command("list")
@click.option("--status", type=click.Choice(STATUSES), default=None,
              help="Only deliveries with this status (default: all but sent).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per delivery, as a list.")
@click.pass_obj
def list_queue(app: App, status: str | None, as_json: bool) -> None:
    """List pending, deferred, failed and expired deliveries with the last error.

    \b
        akn-mail queue list
        akn-mail queue list --status failed --json
    """
    entries = app.queue.entries(status)
    if as_json:
        click.echo(json_text(entries))
        return
    if not entries:
        click.echo("The queue is empty." if status is None else f"No deliveries with status {status}.")
        return
    for entry in entries:
        line = f"{entry['id']:>6}  {entry['status']:<8} {entry['to']:<34} <{entry['message_id']}>"
        if entry["status"] in ("pending", "deferred"):
            line += f"  next {entry['next_attempt']}"
        if entry["last_error"]:
            line += f"  last: {entry['last_code'] or ''} {entry['last_error']}".rstrip()
        click.echo(safe(line))


@queue.command("retry")
@click.argument("delivery_id", type=int, required=False)
@click.pass_obj
def retry(app: App, delivery_id: int | None) -> None:
    """Make deliveries due now: DELIVERY_ID (also a failed one), or every waiting one.

    The running server sends them within [delivery] poll_seconds.

    \b
        akn-mail queue retry
        akn-mail queue retry 42
    """
    count = app.queue.retry(delivery_id)
    if delivery_id is None:
        click.echo(f"{count} waiting deliveries are due now.")
    else:
        click.echo(f"Delivery {delivery_id} is due now.")
