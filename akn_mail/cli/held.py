"""``akn-mail held``: mail held for a moderator (for example from someone not on the roster)."""

from __future__ import annotations

import json
import sys

import click

from akn_mail.cli.app import App


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
        click.echo(json.dumps(entries, ensure_ascii=False, indent=2))
        return
    if not entries:
        click.echo("No held mail.")
        return
    for entry in entries:
        status = "" if entry["status"] == "held" else f" [{entry['status']}]"
        click.echo(f"{entry['id']:>4}  {entry['time']}  {entry['from'] or '<>'}  {entry['subject'] or '(no subject)'}{status}")
        click.echo(f"      reason: {entry['reason']}")


@held.command("show")
@click.argument("held_id", type=int)
@click.pass_obj
def show(app: App, held_id: int) -> None:
    """Print held message HELD_ID as it was received.

    \b
        akn-mail held show 3 | less
    """
    raw = app.held.raw(held_id)
    sys.stdout.buffer.write(raw if raw.endswith(b"\n") else raw + b"\n")


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
    told = app.held.reject(held_id, queue=app.queue, reason=reason)
    click.echo(f"Rejected {held_id}; " + (f"{told} is told why." if told else "there is no sender to tell."))


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
